"""Awaiting a Limelight future from an asyncio coroutine without blocking its loop.

Registered with the core (``_core/_awaiting.py``) by ``import limelight``,
so that any future can be awaited, a thread actor's too. It imports
:mod:`asyncio` only once the program has: before that, no loop can run.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import sys
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from limelight._core import _awaiting, _wait_graph
from limelight._core._exceptions import DeadlockError
from limelight._core._future import CONFIRM_CYCLE_AFTER, DEADLOCK_CHECK_AFTER

if TYPE_CHECKING:
    import asyncio  # at run time, only if the program imported it (see below)

    from limelight._core._future import Future
    from limelight._core._ref import ActorRef

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


actor_task: contextvars.ContextVar[object] = contextvars.ContextVar(
    "limelight_actor_task", default=None
)
"""The task that runs an event-loop actor's handlers, in that task's context.

Set by the driver (``driver.py``) when it starts the task. A task that a
handler starts copies the actor's context, this too, but is not this task:
an await in it does not keep the actor from handling messages.
"""


def _blocked_actor(
    loop: asyncio.AbstractEventLoop, future: Future[Any]
) -> tuple[ActorRef[Any], ActorRef[Any]] | None:
    """The actor that the awaiting task blocks, and its producer, if it awaits an ask.

    Such an await is a wait of the actor, as a blocking ``get()`` is: an
    edge of the wait-for graph (``_core/_wait_graph.py``).
    """
    producer: ActorRef[Any] | None = getattr(future, "_producer", None)
    if producer is None or actor_task.get() is not sys.modules["asyncio"].current_task(
        loop
    ):
        return None
    waiter = _wait_graph.current_actor()
    return None if waiter is None else (waiter, producer)


def _wait_until_ready(
    loop: asyncio.AbstractEventLoop, future: Future[Any]
) -> Generator[Any, None, bool]:
    """Suspend the task awaiting on `loop` until `future.get()` would not block.

    An actor's handler that awaits an ask's reply records the wait in the
    wait-for graph, as a blocking ``get()`` does (but at once: an await is
    no cheap path to keep free), and is refused with ``DeadlockError`` if
    it closes a cycle.
    """
    waiter: asyncio.Future[None] = loop.create_future()
    loop_thread = threading.get_ident()

    def wake() -> None:
        if threading.get_ident() == loop_thread:
            # Completed on the loop itself: no thread hop. (_resolve(),
            # written out: a call less per await.)
            if not waiter.done():
                waiter.set_result(None)
            return
        # A closed loop raises RuntimeError: its task is gone, nobody to wake.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, waiter)

    # (Outside actors' tasks, one context variable read: every await pays it.)
    blocked = None if actor_task.get() is None else _blocked_actor(loop, future)
    if blocked is not None:
        return (yield from _wait_as_actor(loop, future, waiter, wake, blocked))
    if not future._add_done_callback(wake):
        return False
    # (Not through _suspend(): a generator more per await costs some 4%.)
    try:
        yield from waiter
    except BaseException:
        # Cancelled: stop holding a callback for a task that is gone; the
        # future keeps its value for everyone else.
        future._remove_done_callback(wake)
        raise
    return True


def _wait_as_actor(
    loop: asyncio.AbstractEventLoop,
    future: Future[Any],
    waiter: asyncio.Future[None],
    wake: Callable[[], None],
    blocked: tuple[ActorRef[Any], ActorRef[Any]],
) -> Generator[Any, None, bool]:
    """Wait as `_wait_until_ready()` does, the await recorded as the actor's wait.

    `blocked` is the actor whose handler awaits, and the producer awaited.
    """
    waiting_actor, producer = blocked
    confirm = _wait_graph.begin_wait(waiting_actor, producer, future)
    timer = None
    try:
        if not future._add_done_callback(wake):
            return False
        if confirm is None:
            # (A report costs a round trip: only once the await has lasted.)
            if _wait_graph.reporting():
                timer = loop.call_later(
                    DEADLOCK_CHECK_AFTER,
                    _report,
                    loop,
                    waiter,
                    functools.partial(
                        _wait_graph.report, waiting_actor, producer, future
                    ),
                )
        else:
            timer = loop.call_later(CONFIRM_CYCLE_AFTER, _refuse, waiter, confirm)
        return (yield from _suspend(waiter, future, wake))
    finally:
        if timer is not None:
            timer.cancel()
        _wait_graph.end_wait(waiting_actor, future)


def _suspend(
    waiter: asyncio.Future[None], future: Future[Any], wake: Callable[[], None]
) -> Generator[Any, None, bool]:
    try:
        yield from waiter
    except BaseException:
        # Cancelled (or refused): stop holding a callback for a task that
        # is gone; the future keeps its value for everyone else.
        future._remove_done_callback(wake)
        raise
    return True


def _report(
    loop: asyncio.AbstractEventLoop,
    waiter: asyncio.Future[None],
    report: Callable[[], _wait_graph.Confirm | None],
) -> None:
    """Report the await to the program's graph (``_wait_graph.report()``)."""
    if waiter.done():
        return
    try:
        confirm = report()
    except DeadlockError as error:
        waiter.set_exception(error)
        return
    if confirm is not None:
        # (Not cancelled with the await: _refuse() finds the waiter done.)
        loop.call_later(CONFIRM_CYCLE_AFTER, _refuse, waiter, confirm)


def _refuse(waiter: asyncio.Future[None], confirm: _wait_graph.Confirm) -> None:
    """Refuse the await, if the cycle it closed (through another process) holds."""
    if waiter.done():
        return
    error = confirm()
    if error is not None:
        waiter.set_exception(error)


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
