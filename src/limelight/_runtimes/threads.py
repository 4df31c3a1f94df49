"""The threading runtime: each running actor has an OS thread to itself.

Threads are expensive to create (about 100 µs each), and actors are often
short-lived, so a thread whose actor has stopped is not ended at once: it
waits, idle, for a new actor to run (see :class:`ThreadCache`). The actor
still owns its thread exclusively while it runs; only the creation cost is
saved.
"""

from __future__ import annotations

import contextvars
import itertools
import queue
import threading
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from limelight._core import _fork
from limelight._core._actor import Actor
from limelight._core._future import SettableFuture
from limelight._core._log import logger
from limelight._core._runtime import Runtime
from limelight._core._scheduler import Scheduler
from limelight._core._waiting import allocate_lock
from limelight._runtimes import blocking

if TYPE_CHECKING:
    from collections.abc import Callable

    from limelight._core._runtime import Cancellable, Inbox
    from limelight._core._types import Envelope

__all__ = ["ThreadCache", "ThreadingActor", "ThreadingFuture", "ThreadingRuntime"]


T = TypeVar("T")

IDLE_THREAD_NAME = "limelight-idle"
"""The name a cached thread carries while it has no actor."""

_thread_numbers = itertools.count()


class ThreadingFuture(SettableFuture[T]):
    """The future of the threading runtime.

    It can be waited for from any thread, and awaited from any event loop.
    It keeps a reference to the value set on it, not a copy: set immutable
    values, or copies.
    """

    __slots__ = ()


class _IdleThread:
    """A cached thread waiting for an actor; `wake` is released to hand one over."""

    __slots__ = ("actor", "thread", "wake")

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread
        self.actor: Actor | None = None
        self.wake = allocate_lock()
        self.wake.acquire()


class ThreadCache:
    """Threads that run actors, kept for reuse for a while after their actor stops.

    At most `max_idle` threads wait idle, each for at most `keep_alive`
    seconds; at interpreter shutdown idle threads end at once, so they never
    delay exit. Daemon and non-daemon threads are cached apart, since a
    thread's daemon flag cannot change.
    """

    def __init__(
        self, *, daemon: bool, max_idle: int = 32, keep_alive: float = 2.0
    ) -> None:
        self.daemon = daemon
        self.max_idle = max_idle
        self.keep_alive = keep_alive
        self._idle: list[_IdleThread] = []
        self._lock = allocate_lock()
        self._closed = False
        _fork.register(self)

    def forget_threads_at_fork(self) -> None:
        """In a forked child: the parent's idle threads do not exist here."""
        self._idle = []
        self._lock = allocate_lock()

    def run(self, actor: Actor) -> None:
        """Run ``blocking.run(actor)`` in an idle thread, or a new one."""
        name = f"{type(actor).__name__}-{next(_thread_numbers)}"
        with self._lock:
            idle = self._idle.pop() if self._idle else None
        if idle is None:
            threading.Thread(
                # (In a list that _work() empties: a thread keeps its args
                # until it ends, and must not keep a stopped actor alive.)
                target=self._work,
                args=([actor],),
                name=name,
                daemon=self.daemon,
            ).start()
            return
        idle.actor = actor
        idle.thread.name = name
        idle.wake.release()

    def close(self) -> None:
        """End all idle threads now, and stop caching threads."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for waiting in idle:
            waiting.wake.release()  # with no actor: the thread ends

    def reopen(self) -> None:
        """Cache threads again after :meth:`close`."""
        with self._lock:
            self._closed = False

    def idle_count(self) -> int:
        """How many threads wait idle right now."""
        with self._lock:
            return len(self._idle)

    def _work(self, first: list[Actor]) -> None:
        actor: Actor | None = first.pop()
        while actor is not None:
            # (Once per actor, for its stack in limelight top: not per message.)
            actor._limelight_thread_ident = threading.get_ident()
            try:
                # A fresh context per actor, as a fresh thread would have: no
                # context variable leaks from one actor to the next.
                contextvars.Context().run(blocking.run, actor)
            except BaseException:  # the loop handles its own errors; this is a bug
                logger.exception("Actor loop of %s failed", actor)
            if not getattr(actor, "reuse_thread", True):
                return
            actor = None  # a stopped actor must not live on while its thread idles
            actor = self._wait_for_actor()

    def _wait_for_actor(self) -> Actor | None:
        idle = _IdleThread(threading.current_thread())
        with self._lock:
            if self._closed or len(self._idle) >= self.max_idle:
                return None
            self._idle.append(idle)
        if idle.wake.acquire(True, self.keep_alive):
            return idle.actor
        with self._lock:
            if idle in self._idle:
                self._idle.remove(idle)
                return None
        # run() took this thread just as the wait timed out: take its actor.
        idle.wake.acquire()
        return idle.actor


class ThreadingRuntime(Runtime):
    """The runtime of [`ThreadingActor`][limelight.ThreadingActor]."""

    name = "threading"

    def __init__(self) -> None:
        self.threads = ThreadCache(daemon=False)
        self.daemon_threads = ThreadCache(daemon=True)
        # One thread for the timers of all thread actors, started with the first.
        self.timers = Scheduler()

    def future_factory(self, actor: Actor) -> type[ThreadingFuture[Any]]:
        return ThreadingFuture

    def create_inbox(self, actor: Actor) -> Inbox:
        inbox: queue.SimpleQueue[Envelope] = queue.SimpleQueue()
        return inbox

    def start(self, actor: Actor) -> None:
        daemon = getattr(actor, "use_daemon_thread", False)
        (self.daemon_threads if daemon else self.threads).run(actor)

    def release(self, actor: Actor) -> None:
        threading.current_thread().name = IDLE_THREAD_NAME

    def call_later(
        self, actor: Actor, delay: float, callback: Callable[[], object]
    ) -> Cancellable:
        return self.timers.call_later(delay, callback)

    def close_idle_threads(self) -> None:
        """End idle cached threads; used at interpreter shutdown."""
        self.threads.close()
        self.daemon_threads.close()

    def end_idle_threads(self, timeout: float | None = None) -> bool:
        """End the idle cached threads now and wait for them, then cache again.

        For leak checks (tests, benchmarks), which must not mistake the cache
        for a leak. Returns whether every idle thread ended within `timeout`
        seconds (each).
        """
        self.close_idle_threads()
        try:
            idle = [t for t in threading.enumerate() if t.name == IDLE_THREAD_NAME]
            for thread in idle:
                thread.join(timeout)
            return not any(thread.is_alive() for thread in idle)
        finally:
            self.threads.reopen()
            self.daemon_threads.reopen()


RUNTIME = ThreadingRuntime()

# Python joins non-daemon threads at exit *after* running these hooks, so
# idle cached threads end here instead of holding up the exit. It is the hook
# concurrent.futures uses; without it, idle threads end after `keep_alive`.
_register_atexit = getattr(threading, "_register_atexit", None)
if _register_atexit is not None:  # pragma: no branch -- present on 3.10-3.13
    _register_atexit(RUNTIME.close_idle_threads)


class ThreadingActor(Actor):
    """An actor that runs in a thread of its own.

    Blocking calls inside it (I/O, ``time.sleep()``, waiting for a future)
    block only this actor.
    """

    _limelight_runtime = RUNTIME

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # (Before Actor's, which gives the class its runtime's ref class.)
        if "inline_asks" in cls.__dict__:
            from limelight._runtimes import inline  # noqa: PLC0415 -- it imports this module

            if cls._limelight_runtime in (RUNTIME, inline.CALLER_RUNS):
                cls._limelight_runtime = (
                    inline.CALLER_RUNS if cls.inline_asks else RUNTIME
                )
        super().__init_subclass__(**kwargs)

    reuse_thread: ClassVar[bool] = True
    """Let another actor run in this actor's thread after it stops.

    Starting a thread costs more than everything else in starting an actor,
    so Limelight keeps a stopped actor's thread for a while to run the next
    one. Each actor still gets a fresh ``contextvars`` context, but
    ``threading.local`` values an actor leaves behind would be seen by the
    next actor in the thread: an actor that sets thread-local state (itself
    or through a library) should set this to `False`, so that its thread
    ends with it, as in Pykka.
    """

    inline_asks: ClassVar[bool] = False
    """Run a blocking ask to an idle actor in the asking thread.

    ``ref.ask(message)`` (blocking, with no timeout) then costs no thread
    switch: the asking thread takes the actor's turn, runs the handler in
    the actor's context and takes the reply, as the actor's thread would
    have. Messages are still handled one at a time and in order, and
    everything else (tells, proxy calls, asks with a timeout or that find
    the actor busy, timers, ``on_start()``) runs in the actor's own thread.
    So a handler may run in any thread that asks: ``threading.local`` state
    does not carry from one message to the next. Off by default; read when
    the class is defined. See "Asks in the caller's thread" in the
    threading guide.
    """

    use_daemon_thread: ClassVar[bool] = False
    """Run the actor in a daemon thread.

    Python exits when only daemon threads are left, so a daemon actor does
    not keep the program alive, but may be cut off anywhere, without
    ``on_stop()``. Read when the actor starts; not inherited from the actor
    that starts it.
    """
