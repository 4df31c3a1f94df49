"""How a caller blocks until a future is done.

The *caller* decides how to wait, not the future: a plain thread blocks on an
OS lock, a greenlet must yield to its hub, and code running on an event loop
must not block at all. A runtime that needs a different way of waiting
registers a :data:`WaiterFactory` with :func:`register_waiter_factory`; the
core asks the factories in turn and falls back to an OS lock.

A waiter is anything lock-like: it is created *held*; ``release()`` wakes the
waiter up (called once, from any thread) and ``acquire(True, timeout)``
blocks until then, returning ``False`` on timeout.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable
from typing import Protocol

from limelight._core._fork import released_at_fork

__all__ = [
    "Waiter",
    "WaiterFactory",
    "context_waiter",
    "new_waiter",
    "register_waiter_factory",
]


class Waiter(Protocol):
    """A one-shot wake-up signal, created held."""

    def acquire(self, blocking: bool = ..., timeout: float = ..., /) -> bool:
        """Block until released or until `timeout` seconds (-1: forever) pass."""
        ...  # pragma: no cover

    def release(self) -> None:
        """Wake the waiter up."""
        ...  # pragma: no cover


WaiterFactory = Callable[[], "Waiter | None"]
"""Return a waiter fit for the calling context, or None if the context is not yours."""

waiter_factories: list[WaiterFactory] = []
"""The registered factories, first asked first. Changed in place only: the
blocking path of a future reads it directly (a call less per wait)."""

allocate_lock: Callable[[], _thread.LockType] = _thread.allocate_lock
"""Return a new, released OS-level lock, even in a monkey-patched program.

``_thread.allocate_lock`` itself, captured at import (so that monkey-patching
``_thread`` later, as gevent and eventlet do, cannot turn the fallback waiter
into one that only works in a hub), and no function of ours around it: a lock
is made for every blocking wait."""


# Guards the state transitions of stopped events, loop inboxes and a derived
# future's count of its sources (a settable future takes no lock: see
# SettableFuture). Its critical sections are a handful of
# attribute writes that never call out, so one lock for all is cheaper than
# allocating one per object, and never held for long.
state_lock = released_at_fork(allocate_lock())


def register_waiter_factory(factory: WaiterFactory) -> None:
    """Let a runtime decide how callers in its own contexts block.

    Factories registered later are asked first.
    """
    waiter_factories.insert(0, factory)


def unregister_waiter_factory(factory: WaiterFactory) -> None:
    """Undo :func:`register_waiter_factory`."""
    waiter_factories.remove(factory)


def context_waiter() -> Waiter | None:
    """Return a held waiter of the runtime whose context this is, or None.

    None means a plain thread, which blocks on an OS lock.
    """
    for factory in waiter_factories:
        waiter = factory()
        if waiter is not None:
            return waiter
    return None


def new_waiter() -> Waiter:
    """Return a held waiter for the calling context."""
    waiter = context_waiter()
    if waiter is None:
        lock = allocate_lock()
        lock.acquire()
        return lock
    return waiter
