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
import threading
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from limelight._core import _timeouts
from limelight._core._actor import Actor
from limelight._core._exceptions import DeadlockError
from limelight._core._future import _PENDING, _UNCLAIMED, SettableFuture
from limelight._core._registry import ActorRegistry
from limelight._core._runtime import Runtime, mark_service_thread
from limelight._core._waiting import allocate_lock
from limelight._runtimes.event_loop.driver import LoopInbox

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from types import TracebackType

    from limelight._core._runtime import Cancellable

__all__ = ["AsyncioActor", "AsyncioFuture", "AsyncioRuntime", "BackgroundLoop"]


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
        # (SettableFuture.__init__() written out: a future is made per ask.)
        self._hook = None
        self._state = _PENDING
        self._callbacks = [_UNCLAIMED]
        self._loop = loop

    def get(self, timeout: float | None = None) -> T:
        if timeout is not None:  # (a bad one is refused before anything else)
            timeout = _timeouts.seconds(timeout)
        if self._state == _PENDING and self._hook is None and self._blocks_its_loop():
            msg = (
                "get() on this future would block the event loop that must "
                "produce its value, forever: use `await future` instead"
            )
            raise DeadlockError(msg)
        return super().get(timeout)

    def _blocks_its_loop(self) -> bool:
        """Whether the caller runs the loop that must produce the value.

        An ask's future is not given its loop (one object less per actor):
        it is the loop of the actor the ask went to.
        """
        loop = self._loop
        if loop is None:
            producer = getattr(self, "_producer", None)
            if producer is None:
                return False  # (made by hand: nobody knows who sets it)
            loop = producer.actor_inbox.loop
        return asyncio._get_running_loop() is loop


class BackgroundLoop:
    """The event loop for actors started outside any running loop.

    It keeps track of the actors *running* on it (from ``acquire()`` at their
    start to ``release()`` at their teardown), not of those merely created:
    an actor whose ``__init__()`` raises never starts, and must not keep the
    loop, and with it the program, alive.
    """

    def __init__(self) -> None:
        self._lock = allocate_lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # The URNs of the actors running on the loop: a set, so that
        # releasing an actor that was never acquired changes nothing.
        self._actors: set[str] = set()
        # Set for good at interpreter exit: from then on the loop ends as
        # soon as no actor runs on it (a loop started later too).
        self._closing = False
        # The ids of the background loops there are (or were, while they
        # exist): ``id(loop) in loop_ids`` costs no Python call, where a
        # WeakSet's ``in`` costs one per actor started and ended. Each id
        # leaves the set when its loop is collected, before it can be reused.
        self.loop_ids: set[int] = set()

    def owns(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether `loop` is (or was) a background loop."""
        return id(loop) in self.loop_ids

    def loop(self) -> asyncio.AbstractEventLoop:
        """Return the background loop, starting it if need be, for a new actor."""
        with self._lock:
            if self._loop is None:
                self._start()
            assert self._loop is not None
            return self._loop

    def acquire(self, actor_urn: str) -> asyncio.AbstractEventLoop:
        """Note that an actor runs on the loop from now on; return the loop.

        That is the loop the actor was created on, unless that one ended
        since (at interpreter exit, with no actor left on it): then a new one.
        """
        with self._lock:
            if self._loop is None:
                self._start()
            assert self._loop is not None
            self._actors.add(actor_urn)
            return self._loop

    def release(self, actor_urn: str) -> None:
        """An actor on the loop has stopped; the loop ends if it was the last."""
        with self._lock:
            self._actors.discard(actor_urn)
            if self._closing and not self._actors and self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None

    def close_when_idle(self) -> None:
        """End the loop as soon as no actor lives on it (at interpreter exit)."""
        with self._lock:
            self._closing = True
            if not self._actors and self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        started = allocate_lock()
        started.acquire()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.release)
            try:
                loop.run_forever()
            finally:
                loop.close()

        thread = threading.Thread(target=run, name="limelight-asyncio", daemon=False)
        mark_service_thread(thread)
        thread.start()
        started.acquire()
        self._loop = loop
        self.loop_ids.add(id(loop))
        weakref.finalize(loop, self.loop_ids.discard, id(loop))


class AsyncioRuntime(Runtime):
    """The runtime of [`AsyncioActor`][limelight.asyncio.AsyncioActor]."""

    name = "asyncio"

    def __init__(self) -> None:
        self.background = BackgroundLoop()

    def future_factory(self, actor: Actor) -> Callable[[], AsyncioFuture[Any]]:
        # The class itself, shared by all actors: see _producing_loop().
        return AsyncioFuture

    def create_inbox(self, actor: Actor) -> LoopInbox:
        loop = asyncio._get_running_loop()
        if loop is None:
            loop = self.background.loop()
        return LoopInbox(actor, loop)

    def start(self, actor: Actor) -> None:
        if actor.actor_stopped._flag:
            # A message found its loop closed already (a background loop that
            # ended at exit, between __init__() and now): it never runs, and
            # was registered after it died.
            ActorRegistry.unregister(actor.actor_ref)
            return
        inbox = actor.actor_inbox  # (_inbox(actor), written out: a call less)
        assert isinstance(inbox, LoopInbox)
        # (Also when started from inside the background loop, by another
        # actor on it.)
        if id(inbox.loop) in self.background.loop_ids:  # (owns(), written out)
            # Rebound only if the loop ended since __init__(), at exit; the
            # ref's futures keep the old loop, which only the check for
            # get() deadlocks reads, and no thread runs it any more.
            inbox.loop = self.background.acquire(actor.actor_urn)
        inbox.start()

    def release(self, actor: Actor) -> None:
        inbox = actor.actor_inbox  # (as in start())
        assert isinstance(inbox, LoopInbox)
        if id(inbox.loop) in self.background.loop_ids:
            self.background.release(actor.actor_urn)

    def call_later(
        self, actor: Actor, delay: float, callback: Callable[[], object]
    ) -> Cancellable:
        return _inbox(actor).call_later(delay, callback)


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

    _limelight_runtime = RUNTIME

    if TYPE_CHECKING:
        # What type checkers see: each hook may be an `async def` too.

        def on_start(self) -> Coroutine[Any, Any, None] | None:
            """Run before the first message; see ``Actor.on_start()``."""

        def on_stop(self) -> Coroutine[Any, Any, None] | None:
            """Run when the actor stops normally; see ``Actor.on_stop()``."""

        def on_failure(
            self,
            exception_type: type[BaseException] | None,
            exception_value: BaseException | None,
            traceback: TracebackType | None,
        ) -> Coroutine[Any, Any, None] | None:
            """Run when a told message raised; see ``Actor.on_failure()``."""
