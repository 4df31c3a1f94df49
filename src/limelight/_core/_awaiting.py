"""Awaiting a Limelight future from a coroutine without blocking its loop.

Imported lazily by ``Future.__await__`` so that ``import limelight`` does not
import :mod:`asyncio`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio  # at run time, only if the program imported it (see below)

    from limelight._core._future import Future

__all__ = ["get_off_loop", "wait_until_ready"]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    # If asyncio was never imported, no event loop can be running.
    module = sys.modules.get("asyncio")
    if module is None:
        return None
    get_running_loop: Callable[[], asyncio.AbstractEventLoop] = module.get_running_loop
    try:
        return get_running_loop()
    except RuntimeError:
        return None


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # the awaiting task may have been cancelled
        waiter.set_result(None)


def wait_until_ready(future: Future[Any]) -> Generator[Any, None, bool]:
    """Suspend the awaiting coroutine until `future.get()` would not block.

    Returns False, without waiting, if the future cannot report readiness.
    Outside an asyncio event loop (a bare ``yield from`` driven by hand),
    yields once and leaves the waiting to ``get()``.
    """
    loop = _running_loop()
    if loop is None:
        yield None
        return True
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


def get_off_loop(future: Future[Any]) -> Generator[Any, None, Any]:
    """Run the blocking `future.get()` in the loop's default executor."""
    loop = _running_loop()
    assert loop is not None  # only reached after wait_until_ready() found one
    return (yield from loop.run_in_executor(None, future.get))
