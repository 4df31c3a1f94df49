"""The asyncio runtime: actors as callbacks (and, when awaiting, tasks) on a loop.

An actor started inside a running event loop lives on that loop. One started
from plain synchronous code lives on a shared background loop, run by a
thread that Limelight starts on first use. Like a non-daemon thread actor,
a background-loop actor keeps the program alive until it stops; once the
main thread has finished and the last such actor has stopped, the loop
closes and its thread ends.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any, TypeVar, cast

from limelight._core._actor import Actor
from limelight._core._async_loop import LoopInbox
from limelight._core._exceptions import DeadlockError
from limelight._core._future import _PENDING, SettableFuture
from limelight._core._waiting import allocate_lock

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["AsyncioActor", "AsyncioFuture", "AsyncioRuntime", "BackgroundLoop"]

logger = logging.getLogger("limelight")

T = TypeVar("T")


class AsyncioFuture(SettableFuture[T]):
    """The future of the asyncio runtime.

    ``await`` it from any event loop, or ``get()`` it from any thread but
    the one running the loop that must produce its value: there, ``get()``
    would block the very loop it waits for, so it raises
    [`DeadlockError`][limelight.DeadlockError] at once. Use ``await``.
    """

    __slots__ = ("_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__()
        self._loop = loop

    def get(self, timeout: float | None = None) -> T:
        if (
            self._state == _PENDING
            and self._loop is not None
            and self._hook is None
            and asyncio._get_running_loop() is self._loop
        ):
            msg = (
                "get() on this future would block the event loop that must "
                "produce its value, forever: use `await future` instead"
            )
            raise DeadlockError(msg)
        return super().get(timeout)


class BackgroundLoop:
    """The event loop for actors started outside any running loop."""

    def __init__(self) -> None:
        self._lock = allocate_lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_id = 0
        self._actors = 0
        self._closing = False
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()

    def owns(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether `loop` is (or was) a background loop."""
        return loop in self._loops

    def acquire(self) -> tuple[asyncio.AbstractEventLoop, int]:
        """Return the running background loop and its thread, for one more actor."""
        with self._lock:
            if self._loop is None or self._closing:
                self._start()
            assert self._loop is not None
            self._actors += 1
            return self._loop, self._thread_id

    def release(self) -> None:
        """One actor on the loop has stopped; the loop ends if it was the last."""
        with self._lock:
            self._actors -= 1
            if self._closing and self._actors == 0 and self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None

    def close_when_idle(self) -> None:
        """End the loop as soon as no actor lives on it (at interpreter exit)."""
        with self._lock:
            self._closing = True
            if self._actors == 0 and self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        started = allocate_lock()
        started.acquire()
        thread_id = [0]

        def run() -> None:
            asyncio.set_event_loop(loop)
            thread_id[0] = threading.get_ident()
            loop.call_soon(started.release)
            try:
                loop.run_forever()
            finally:
                loop.close()

        threading.Thread(target=run, name="limelight-asyncio", daemon=False).start()
        started.acquire()
        self._loop = loop
        self._loops.add(loop)
        self._thread_id = thread_id[0]
        self._closing = False


class AsyncioRuntime:
    """The runtime of [`AsyncioActor`][limelight.asyncio.AsyncioActor]."""

    name = "asyncio"

    def __init__(self) -> None:
        self.background = BackgroundLoop()

    def future_factory(self, actor: Actor) -> Callable[[], AsyncioFuture[Any]]:
        # (Not AsyncioFuture[Any]: calling a subscripted class is 4x slower.)
        return cast(
            "Callable[[], AsyncioFuture[Any]]",
            functools.partial(AsyncioFuture, _inbox(actor).loop),
        )

    def create_inbox(self, actor: Actor) -> LoopInbox:
        loop = asyncio._get_running_loop()
        if loop is not None:
            return LoopInbox(actor, loop, threading.get_ident())
        loop, thread_id = self.background.acquire()
        return LoopInbox(actor, loop, thread_id)

    def start(self, actor: Actor) -> None:
        _inbox(actor).start()

    def release(self, actor: Actor) -> None:
        if self.background.owns(_inbox(actor).loop):
            self.background.release()


def _inbox(actor: Actor) -> LoopInbox:
    inbox = actor.actor_inbox
    assert isinstance(inbox, LoopInbox)
    return inbox


RUNTIME = AsyncioRuntime()

_register_atexit = getattr(threading, "_register_atexit", None)
if _register_atexit is not None:  # pragma: no branch -- present on 3.10-3.13
    _register_atexit(RUNTIME.background.close_when_idle)


class AsyncioActor(Actor):
    """An actor that lives on an asyncio event loop.

    Started inside a running loop, it lives on that loop; started from
    synchronous code, on a shared background loop. Its handlers, proxied
    methods and hooks (``on_start``, ``on_stop``, ``on_failure``) may be
    ``async def`` or plain functions; either way it handles one message at
    a time, in order. A plain handler must not block: it runs on the loop.

    Talk to it from anywhere: ``tell()``/``ask()`` from any thread, and
    ``await`` its futures from any loop.
    """

    _runtime = RUNTIME
