"""What a child made by ``os.fork()`` forgets: its parent's threads.

A forked child has only the thread that forked. Objects that remember the
parent's other threads (the idle threads of a thread cache, the timer
thread) would hand work to threads that do not exist in the child, and their
locks may have been held by them at the fork. Such objects register here and
are reset in the child, and so are the module-wide locks, which another
thread may have held at the fork: actors started in the child run as
anywhere else.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol, TypeVar

Lock = TypeVar("Lock")

__all__ = ["ForgetsThreadsAtFork", "register", "released_at_fork"]


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


def released_at_fork(lock: Lock) -> Lock:
    """Return `lock`, made to be released in every child forked from now on.

    For a module-wide lock: the thread that held it at a fork does not exist
    in the child, which would wait for it for ever. (CPython's own modules do
    the same with the lock method that this calls.)
    """
    os.register_at_fork(after_in_child=lock._at_fork_reinit)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
    return lock
