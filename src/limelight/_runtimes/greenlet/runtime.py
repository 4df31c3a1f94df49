"""A runtime for greenlet actors, written once for any greenlet library.

:class:`GreenRuntime` implements the ``Runtime`` protocol with a
:class:`~limelight._runtimes.greenlet.hub.HubAdapter`; a library's runtime (gevent's,
eventlet's) is this class with its adapter and future class.

Where an actor lives: started from a greenlet that a hub schedules, in that
hub (its thread's). Started from anywhere else (a thread's plain code, the
main script, a thread actor, an asyncio loop), in a shared *background hub*,
which Limelight runs in a thread of its own, started on first use. Like a
non-daemon thread actor, an actor there keeps the program alive: at
interpreter exit, Limelight waits for the last one to stop, then ends the
hub and its thread.

In a monkey-patched program, "anywhere else" does not exist: plain code is
scheduled by its thread's hub too (it yields whenever it would block), and
thread actors are greenlets of that hub. An actor started there lives in
that hub, with them: the patched queues of thread actors only work within
their own hub, so an actor in another thread could not talk to them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from greenlet import getcurrent

from limelight._core import _timeouts, _waiting
from limelight._core._exceptions import DeadlockError
from limelight._core._future import _PENDING, _UNCLAIMED, SettableFuture
from limelight._core._log import logger
from limelight._core._stopped import StoppedEvent
from limelight._runtimes import blocking
from limelight._runtimes.greenlet.hub import (
    GreenHub,
    GreenInbox,
    GreenRef,
    GreenWaiter,
    waiter_factory,
)

if TYPE_CHECKING:
    from limelight._core._actor import Actor
    from limelight._core._runtime import Cancellable
    from limelight._runtimes.greenlet.hub import HubAdapter

__all__ = ["BackgroundHub", "GreenFuture", "GreenRuntime"]

T = TypeVar("T")


class BackgroundHub:
    """The hub for greenlet actors started outside any greenlet, in a thread of its own.

    It keeps track of the actors *running* on it (from ``acquire()`` at their
    start to ``release()`` at their teardown), not of those merely created:
    an actor whose ``__init__()`` raises never starts, and must not keep the
    hub, and with it the program, alive.
    """

    def __init__(self, adapter: HubAdapter, thread_name: str) -> None:
        self._adapter = adapter
        self.thread_name = thread_name
        """The name of the hub's thread."""
        self._lock = adapter.allocate_lock()
        self._hub: GreenHub | None = None
        # Ends the running hub's thread: releases its root greenlet.
        self._end: Callable[[], None] | None = None
        # Set when a hub's thread has ended; one per hub started.
        self._ended: list[StoppedEvent] = []
        self.hubs: set[GreenHub] = set()
        """Every background hub there was, for owns() (read directly on the
        hot paths of start and release: a call less each)."""
        self._actors: set[str] = set()
        # Set for good at interpreter exit: from then on the hub ends as soon
        # as no actor runs on it (a hub started later too).
        self._closing = False

    def owns(self, hub: GreenHub) -> bool:
        """Whether `hub` is (or was) a background hub."""
        return hub in self.hubs

    def is_running(self) -> bool:
        """Whether a background hub's thread runs right now."""
        with self._lock:
            return any(not ended.is_set() for ended in self._ended)

    def hub(self) -> GreenHub:
        """Return the background hub, starting it if need be, for a new actor."""
        with self._lock:
            return self._hub or self._start()

    def acquire(self, actor_urn: str) -> GreenHub:
        """Note that an actor runs on the hub from now on; return the hub.

        That is the hub the actor was created for, unless that one ended
        since (at interpreter exit, with no actor left on it): then a new one.
        """
        with self._lock:
            hub = self._hub or self._start()
            self._actors.add(actor_urn)
            return hub

    def release(self, actor_urn: str) -> None:
        """An actor on the hub has stopped; the hub ends if it was the last at exit."""
        with self._lock:
            self._actors.discard(actor_urn)
            if self._closing and not self._actors:
                self._end_hub()

    def close_when_idle(self) -> None:
        """End the hub as soon as no actor lives on it (at interpreter exit)."""
        with self._lock:
            self._closing = True
            if not self._actors:
                self._end_hub()

    def wait_ended(self, timeout: float | None = None) -> bool:
        """Wait until every hub thread started so far has ended; whether they have."""
        with self._lock:
            ended = list(self._ended)
        return all(event.wait(timeout) for event in ended)

    def close_at_exit(self) -> None:
        """At interpreter exit: wait for the actors on the hub to stop, then end it."""
        self.close_when_idle()
        self.wait_ended()

    def _end_hub(self) -> None:
        end, self._end, self._hub = self._end, None, None
        if end is not None:
            end()

    def _start(self) -> GreenHub:
        adapter = self._adapter
        started = adapter.allocate_lock()
        started.acquire()
        ended = StoppedEvent()
        made: list[tuple[GreenHub, GreenWaiter]] = []

        def run() -> None:
            from greenlet import getcurrent  # noqa: PLC0415 -- this thread's

            try:
                hub = adapter.make_hub()
                # The thread's root greenlet waits for the end, parked in the
                # hub, which therefore keeps running its loop.
                end = GreenWaiter(hub, getcurrent())
                made.append((hub, end))
                started.release()
                end.acquire(True, -1)
                adapter.destroy_hub(hub)
            finally:
                ended.set()

        adapter.start_thread(run, self.thread_name)
        started.acquire()
        hub, end = made[0]
        self._hub = hub
        self._end = end.release
        self.hubs.add(hub)
        self._ended.append(ended)
        return hub


class GreenFuture(SettableFuture[T]):
    """The future of a greenlet runtime, which knows the hub that sets it.

    ``get()`` may be called from any greenlet (the others of its hub go on
    meanwhile) or any thread, and the future awaited from any event loop.
    Only the hub's own greenlet must not wait for a reply from an actor of
    that hub: there, ``get()`` would stop the very hub that must produce
    it, so it raises ``DeadlockError`` at once, with `spawn_hint`.
    """

    __slots__ = ("_hub",)

    spawn_hint: ClassVar[str] = "a greenlet"
    """How to get a greenlet of this library, for the error message."""

    def __init__(self, hub: GreenHub | None = None) -> None:
        # (SettableFuture.__init__() written out: a future is made per ask.)
        self._hook = None
        self._state = _PENDING
        self._callbacks = [_UNCLAIMED]
        self._hub = hub

    def get(self, timeout: float | None = None) -> T:
        if timeout is not None:  # (a bad one is refused before anything else)
            timeout = _timeouts.seconds(timeout)
        if (
            self._state == _PENDING
            and self._hook is None
            and self._hub is not None
            and getcurrent() is self._hub.greenlet
        ):
            msg = (
                "get() on this future in its hub's own greenlet would stop the "
                f"hub that must produce its value: call it from {self.spawn_hint} "
                "instead"
            )
            raise DeadlockError(msg)
        return super().get(timeout)


class GreenRuntime:
    """The ``Runtime`` of greenlet actors, given a greenlet library's adapter.

    Each actor is a greenlet of its hub running the blocking driver
    (``_runtimes/blocking.py``); its inbox is a
    :class:`~limelight._runtimes.greenlet.hub.GreenInbox`, its refs are of
    :class:`~limelight._runtimes.greenlet.hub.GreenRef` (whose ``tell()``
    fills that inbox without a call), and its timers are its hub's.
    """

    name: str = "greenlet"

    ref_class: ClassVar[type[GreenRef[Any]]] = GreenRef
    """The class of the refs of its actors (see ``Runtime``)."""

    def __init__(
        self,
        adapter: HubAdapter,
        future_class: Callable[[GreenHub], SettableFuture[Any]],
        thread_name: str,
    ) -> None:
        self.adapter = adapter
        self.background = BackgroundHub(adapter, thread_name)
        self._future_class = future_class

    def install(self) -> None:
        """Make this runtime's greenlets wait cooperatively, and end its hub at exit.

        Called once, by the module that makes the runtime: its greenlets then
        wait for futures (and stopped actors, and room in a bounded mailbox)
        by parking, so that their hub goes on; and at exit, Limelight waits
        for the actors on the background hub to stop, then ends it (Python
        calls this before joining non-daemon threads).
        """
        _waiting.register_waiter_factory(waiter_factory(self.adapter.current_hub))
        register_atexit = getattr(threading, "_register_atexit", None)
        if register_atexit is not None:  # pragma: no branch -- on 3.10-3.13
            register_atexit(self.background.close_at_exit)

    def hub_for_new_actor(self) -> GreenHub:
        """The hub an actor started by the caller lives in (see the module's doc)."""
        adapter = self.adapter
        hub = adapter.current_hub()
        if hub is not None:
            current = getcurrent()
            # (A greenlet the hub spawned, the common case, tested without a call.)
            if current.parent is hub.greenlet or hub.runs(current):
                return hub
        if adapter.threads_are_greenlets():
            # Monkey-patched: plain code is scheduled by its thread's hub
            # like any greenlet (it yields whenever it would block), and the
            # thread actors are greenlets of that hub, whose queues only
            # work within it. So this hub, not another thread's.
            return adapter.make_hub()
        return self.background.hub()

    def future_factory(self, actor: Actor) -> Callable[[], SettableFuture[Any]]:
        inbox = actor.actor_inbox  # (inbox_of(), written out: as in start())
        assert isinstance(inbox, GreenInbox)
        return functools.partial(self._future_class, inbox.hub)

    def create_inbox(self, actor: Actor) -> GreenInbox:
        return GreenInbox(self.hub_for_new_actor())

    def start(self, actor: Actor) -> None:
        # (inbox_of() and owns(), written out: two calls less per actor.)
        inbox = actor.actor_inbox
        assert isinstance(inbox, GreenInbox)
        if inbox.hub in self.background.hubs:
            inbox.hub = self.background.acquire(actor.actor_urn)
        inbox.hub.spawn(functools.partial(_run, actor))

    def release(self, actor: Actor) -> None:
        inbox = actor.actor_inbox  # (as in start())
        assert isinstance(inbox, GreenInbox)
        inbox.forget_reader()
        if inbox.hub in self.background.hubs:
            self.background.release(actor.actor_urn)

    def call_later(
        self, actor: Actor, delay: float, callback: Callable[[], object]
    ) -> Cancellable:
        return inbox_of(actor).hub.call_later(delay, callback)


def inbox_of(actor: Actor) -> GreenInbox:
    """The greenlet inbox of a greenlet actor."""
    inbox = actor.actor_inbox
    assert isinstance(inbox, GreenInbox)
    return inbox


def _run(actor: Actor) -> None:
    """The body of an actor's greenlet: ``blocking.run()``, popping its deque itself.

    ``take()`` is only called to park the greenlet on an empty inbox: a
    burst of queued messages costs no call per message but the handler's.
    """
    # (A new greenlet starts in an empty contextvars context, as a new thread
    # does: no context variable leaks from whoever started the actor.)
    inbox = actor.actor_inbox  # (inbox_of(), written out: as in start())
    assert isinstance(inbox, GreenInbox)
    try:
        if blocking.start(actor):
            items = inbox._items  # pyright: ignore[reportPrivateUsage]
            blocking.handle_messages(actor, items, inbox.take)
        actor._actor_loop_teardown()
    except BaseException:  # the loop handles its own errors; this is a bug
        logger.exception("Actor loop of %s failed", actor)
