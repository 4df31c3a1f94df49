"""Awaiting a Limelight future from an asyncio coroutine without blocking its loop.

Registered with the core (``_core/_awaiting.py``) by ``import limelight``,
so that any future can be awaited, a thread actor's too. It imports
:mod:`asyncio` only once the program has: before that, no loop can run.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from limelight._core import _awaiting

if TYPE_CHECKING:
    import asyncio  # at run time, only if the program imported it (see below)

    from limelight._core._future import Future

__all__ = ["AsyncioLoops", "register"]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    # If asyncio was never imported, no event loop can be running.
    module = sys.modules.get("asyncio")
    if module is None:
        return None
    get_running_loop: Callable[[], asyncio.AbstractEventLoop | None] = (
        module._get_running_loop
    )
    return get_running_loop()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # the awaiting task may have been cancelled
        waiter.set_result(None)


def _wait_until_ready(
    loop: asyncio.AbstractEventLoop, future: Future[Any]
) -> Generator[Any, None, bool]:
    """Suspend the task awaiting on `loop` until `future.get()` would not block."""
    waiter: asyncio.Future[None] = loop.create_future()
    loop_thread = threading.get_ident()

    def wake() -> None:
        if threading.get_ident() == loop_thread:
            _resolve(waiter)  # completed on the loop itself: no thread hop
            return
        # A closed loop raises RuntimeError: its task is gone, nobody to wake.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, waiter)

    if not future._add_done_callback(wake):
        return False
    try:
        yield from waiter
    except BaseException:
        # Cancelled: stop holding a callback for a task that is gone; the
        # future keeps its value for everyone else.
        future._remove_done_callback(wake)
        raise
    return True


class AsyncioLoops:
    """asyncio's event loops, as the core asks about them."""

    def running(self) -> bool:
        """Whether the caller runs on an asyncio loop."""
        return _running_loop() is not None

    def wait_until_ready(
        self, future: Future[Any]
    ) -> Generator[Any, None, bool] | None:
        """How the awaiting task waits for `future`; None off any asyncio loop."""
        loop = _running_loop()
        if loop is None:
            return None
        return _wait_until_ready(loop, future)

    def get_off_loop(self, future: Future[Any]) -> Generator[Any, None, Any]:
        """Run the blocking `future.get()` in the loop's default executor."""
        loop = _running_loop()
        assert loop is not None  # the core asks only where running()
        return (yield from loop.run_in_executor(None, future.get))


def register() -> None:
    """Let the core ask about asyncio's loops; ``import limelight`` calls this."""
    _awaiting.register(AsyncioLoops())
