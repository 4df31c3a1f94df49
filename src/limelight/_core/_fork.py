"""What a child made by ``os.fork()`` forgets: its parent's threads.

A forked child has only the thread that forked. Objects that remember the
parent's other threads (the idle threads of a thread cache, the timer
thread) would hand work to threads that do not exist in the child, and their
locks may have been held by them at the fork. Such objects register here and
are reset in the child, so that actors started there run as anywhere else.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["ForgetsThreadsAtFork", "register"]


class ForgetsThreadsAtFork(Protocol):
    def forget_threads_at_fork(self) -> None:
        """In a forked child: drop every thread and lock of the parent's."""


_holders: weakref.WeakSet[ForgetsThreadsAtFork] = weakref.WeakSet()


def register(holder: ForgetsThreadsAtFork) -> None:
    """Reset `holder` in every child forked from now on, while it exists."""
    _holders.add(holder)


def _forget_in_child() -> None:
    for holder in list(_holders):
        holder.forget_threads_at_fork()


os.register_at_fork(after_in_child=_forget_in_child)
