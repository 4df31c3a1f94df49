"""What the core asks of event loops: awaiting a future, and whether to block.

The core knows no event loop. Two things depend on one all the same: a
coroutine that awaits a future (``Future.__await__``) must be suspended on
the loop that runs it, and a sender that would wait for room in a full
mailbox must never block an event loop's thread. A runtime that runs event
loops registers an :class:`EventLoops` that answers for its own loops;
``import limelight`` registers asyncio's (``_runtimes/event_loop/awaiting.py``),
which imports :mod:`asyncio` only once a program has.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from limelight._core._future import Future

__all__ = [
    "EventLoops",
    "get_off_loop",
    "on_event_loop",
    "register",
    "waiting_for",
]


class EventLoops(Protocol):
    """One kind of event loop, as the core sees it."""

    def running(self) -> bool:
        """Whether the caller runs on such a loop (which it must never block)."""
        ...  # pragma: no cover

    def wait_until_ready(
        self, future: Future[Any]
    ) -> Generator[Any, None, bool] | None:
        """How the awaiting coroutine waits until `future.get()` would not block.

        None if the caller does not run on such a loop. Else a generator to
        ``yield from``, which returns False, without waiting, if the future
        cannot report readiness. (One call, not :meth:`running` first: it is
        on the path of every ``await``.)
        """
        ...  # pragma: no cover

    def get_off_loop(self, future: Future[Any]) -> Generator[Any, None, Any]:
        """Run the blocking `future.get()` off the loop; return its value."""
        ...  # pragma: no cover


_registered: list[EventLoops] = []


def register(loops: EventLoops) -> None:
    """Let the core ask `loops` about callers on its loops (latest asked first)."""
    global waiting_for  # noqa: PLW0603 -- rebound once per kind of loop
    _registered.insert(0, loops)
    # Every await asks this: with one kind of loop, its own method, called
    # directly (a call less per await, some 3% of an asyncio ask).
    waiting_for = loops.wait_until_ready if len(_registered) == 1 else _waiting_for


def _current() -> EventLoops | None:
    for loops in _registered:
        if loops.running():
            return loops
    return None


def on_event_loop() -> bool:
    """Whether the caller runs on an event loop, which it must never block."""
    return _current() is not None


def _waiting_for(future: Future[Any]) -> Generator[Any, None, bool] | None:
    for loops in _registered:
        waiting = loops.wait_until_ready(future)
        if waiting is not None:
            return waiting
    return None


waiting_for: Callable[[Future[Any]], Generator[Any, None, bool] | None] = _waiting_for
"""How the awaiting coroutine waits until `future.get()` would not block.

A generator to ``yield from``, from the caller's event loop (see
``EventLoops.wait_until_ready()``), or None outside any: ``Future.__await__``
then yields once (to a bare ``yield from`` driven by hand) and leaves the
waiting to ``get()``.
"""


def get_off_loop(future: Future[Any]) -> Generator[Any, None, Any]:
    """Run the blocking `future.get()` off the caller's event loop."""
    loops = _current()
    assert loops is not None  # only reached after wait_until_ready() found one
    return (yield from loops.get_off_loop(future))
