"""The eventlet runtime: each actor is a greenlet, scheduled by an eventlet hub.

Like the gevent runtime, this is the greenlet core (``_runtimes/greenlet/hub.py``,
``_runtimes/greenlet/runtime.py``) plus an adapter for one library. eventlet's hub
offers less than gevent's loop, so the adapter builds the rest on top of it:

- *call soon*: eventlet has only timers. Callbacks queue in a deque, and a
  single zero-delay timer runs every callback queued so far; more callbacks
  in the meantime ride on the same timer.
- *call soon from another thread*: eventlet has no thread-safe entry to its
  hub at all. Other threads queue callbacks in a second deque and write a
  byte to a socket pair whose reading end the hub listens to, which wakes
  its poll; at most one byte is on its way at a time.
- *holding the loop*: an eventlet hub runs until it is aborted, whether or
  not anything is left to do, so holds cost nothing.

The OS primitives (thread identity, locks, the socket pair) are eventlet's
saved originals, so that they stay what they are in a monkey-patched program.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from limelight._core._actor import Actor
from limelight._runtimes.greenlet.hub import GreenHub, HubOps
from limelight._runtimes.greenlet.runtime import GreenFuture, GreenRuntime

if TYPE_CHECKING:
    import _thread
    import socket

__all__ = [
    "RUNTIME",
    "EventletActor",
    "EventletAdapter",
    "EventletFuture",
    "EventletRuntime",
]

T = TypeVar("T")

Callback = Callable[[], object]

THREAD_NAME = "limelight-eventlet"
"""The name of the background hub's thread (when threading is not patched)."""

# Where an eventlet hub keeps its GreenHub, made once per hub.
_ATTRIBUTE = "_limelight_hub"

# How much of the wake-up socket one read drains: far more than is ever on
# its way (one byte at a time).
_CHUNK = 512

# eventlet ships no type information: its modules are Any here.
_hubs: Any = importlib.import_module("eventlet.hubs")
_patcher: Any = importlib.import_module("eventlet.patcher")

_original_thread: Any = _patcher.original("_thread")
_original_socket: Any = _patcher.original("socket")


def _nothing(*_args: object) -> None:
    """Holding an eventlet hub's loop: nothing to do (it runs until aborted)."""


def _run_queued(queue: collections.deque[Callback], reschedule: Callback) -> None:
    """Run the callbacks queued in `queue` so far, oldest first.

    Those queued while they run wait for the next round. Should one raise,
    `reschedule()` gets the rest a round of their own before the exception
    goes on to eventlet (which prints it).
    """
    try:
        for _ in range(len(queue)):
            queue.popleft()()
    finally:
        if queue:
            reschedule()


class _Scheduler:
    """A hub's "call soon", in its own thread and from any other one."""

    __slots__ = (
        "_incoming",
        "_listener",
        "_native",
        "_reader",
        "_signalled",
        "_soon",
        "_soon_scheduled",
        "_writer",
    )

    def __init__(self, native: Any) -> None:
        self._native = native
        self._soon: collections.deque[Callback] = collections.deque()
        self._soon_scheduled = False
        # Callbacks from other threads, and whether a byte is on its way to
        # wake the hub for them.
        self._incoming: collections.deque[Callback] = collections.deque()
        self._signalled = False
        pair: tuple[socket.socket, socket.socket] = _original_socket.socketpair()
        self._reader, self._writer = pair
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._listener = native.add(
            native.READ, self._reader.fileno(), self._on_readable, _nothing, _nothing
        )

    def call_soon(self, callback: Callback) -> None:
        """Have the hub call `callback` soon; in the hub's thread only."""
        self._soon.append(callback)
        if not self._soon_scheduled:
            self._soon_scheduled = True
            self._native.schedule_call_global(0, self._run_soon)

    def _run_soon(self) -> None:
        self._soon_scheduled = False
        _run_queued(self._soon, self._schedule_soon)

    def _schedule_soon(self) -> None:
        if not self._soon_scheduled:
            self._soon_scheduled = True
            self._native.schedule_call_global(0, self._run_soon)

    def call_soon_threadsafe(self, callback: Callback) -> None:
        """Have the hub call `callback` soon; from any thread, waking its poll."""
        self._incoming.append(callback)
        if not self._signalled:
            self._signalled = True
            # Full: bytes are on their way, the hub wakes anyway. Closed: the
            # hub has ended, nobody is left to call.
            with contextlib.suppress(OSError):
                self._writer.send(b"\0")

    def _on_readable(self, _fileno: int) -> None:
        # In this order. The bytes are drained first: a byte read here
        # signalled nothing that the queue, read below, does not hold. The
        # flag is cleared next, before the queue is read: a callback queued
        # from then on sends a byte of its own, which stays in the socket.
        # (Cleared before the read, a byte sent in between would be read
        # here with the flag left set: no later callback would send one,
        # and the hub would never wake for them.)
        with contextlib.suppress(BlockingIOError):  # (woken without a byte)
            self._reader.recv(_CHUNK)
        self._signalled = False
        # Run as "soon" callbacks, not here: eventlet drops the descriptor of
        # a listener whose callback raises, and with it every later wake-up.
        incoming = self._incoming
        for _ in range(len(incoming)):
            self.call_soon(incoming.popleft())

    def close(self) -> None:
        """Stop listening and close the socket pair; in the hub's thread."""
        self._native.remove(self._listener)
        self._reader.close()
        self._writer.close()


class _HubTimer:
    """A one-shot timer on an eventlet hub; cancel it in the hub's thread."""

    __slots__ = ("_timer",)

    def __init__(self, native: Any, delay: float, callback: Callback) -> None:
        self._timer = native.schedule_call_global(delay, callback)

    def cancel(self) -> None:
        self._timer.cancel()  # which drops the callback


class EventletAdapter:
    """eventlet's hub, as the greenlet core drives it (see ``HubAdapter``)."""

    def __init__(self) -> None:
        self._get_ident: Callable[[], int] = _original_thread.get_ident
        self._allocate_lock: Callable[[], _thread.LockType] = (
            _original_thread.allocate_lock
        )

    def allocate_lock(self) -> _thread.LockType:
        return self._allocate_lock()

    def start_thread(self, target: Callable[[], object], name: str) -> None:
        # (Only unpatched programs start one: see threads_are_greenlets().) A
        # daemon: the exit hook, not the thread, keeps the program alive.
        threading.Thread(target=target, name=name, daemon=True).start()

    def threads_are_greenlets(self) -> bool:
        return bool(_patcher.is_monkey_patched("thread"))

    def current_hub(self) -> GreenHub | None:
        native: Any = getattr(_hubs._threadlocal, "hub", None)
        if native is None:
            return None
        hub: GreenHub | None = getattr(native, _ATTRIBUTE, None)
        return hub if hub is not None else self._wrap(native)

    def make_hub(self) -> GreenHub:
        _hubs.get_hub()
        hub = self.current_hub()
        assert hub is not None  # just made
        return hub

    def destroy_hub(self, hub: GreenHub) -> None:
        native: Any = hub.native
        scheduler: _Scheduler = getattr(native, _ATTRIBUTE + "_scheduler")
        scheduler.close()
        if native.running:
            # Let the loop finish its round and return to this greenlet, its
            # parent, so that nothing is left suspended in it.
            native.abort(wait=True)
        del _hubs._threadlocal.hub

    def _wrap(self, native: Any) -> GreenHub:
        scheduler = _Scheduler(native)

        def call_later(delay: float, callback: Callback) -> _HubTimer:
            return _HubTimer(native, delay, callback)

        ops = HubOps(
            greenlet=native.greenlet,
            park=native.switch,
            call_soon=scheduler.call_soon,
            call_soon_threadsafe=scheduler.call_soon_threadsafe,
            call_later=call_later,
            hold=_nothing,
            unhold=_nothing,
        )
        hub = GreenHub(native, ops, self._get_ident)
        setattr(native, _ATTRIBUTE, hub)
        setattr(native, _ATTRIBUTE + "_scheduler", scheduler)
        return hub


class EventletFuture(GreenFuture[T]):
    """The future of the eventlet runtime.

    ``get()`` it from any greenlet (the others of its hub go on meanwhile)
    or any thread, and ``await`` it from any event loop. Only the hub's own
    greenlet (an eventlet timer callback) must not wait for an eventlet
    actor's reply: there, ``get()`` would stop the very hub that must
    produce it, so it raises [`DeadlockError`][limelight.DeadlockError] at
    once.
    """

    __slots__ = ()

    spawn_hint = "a green thread (eventlet.spawn)"


class EventletRuntime(GreenRuntime):
    """The runtime of [`EventletActor`][limelight.eventlet.EventletActor]."""

    name = "eventlet"

    def __init__(self) -> None:
        super().__init__(EventletAdapter(), EventletFuture, THREAD_NAME)


RUNTIME = EventletRuntime()
RUNTIME.install()


class EventletActor(Actor):
    """An actor that is a greenlet, scheduled by an eventlet hub.

    Started from a green thread (``eventlet.spawn``, a handler of an eventlet
    server, another eventlet actor), it lives in that green thread's hub, in
    its OS thread; started from anywhere else (plain code, a thread actor),
    in a hub that Limelight runs in a background thread. It costs a
    greenlet, not a thread, and its handlers may block cooperatively:
    ``eventlet.sleep()``, eventlet's green sockets (or patched ones), and
    ``get()`` on any future let the hub's other greenlets run meanwhile. A
    handler that blocks without yielding (unpatched ``time.sleep()``, a
    CPU-bound loop) holds up every actor of its hub.

    Talk to it from anywhere: ``tell()``/``ask()`` from any thread or
    greenlet, and ``await`` its futures from any event loop.
    """

    _limelight_runtime = RUNTIME
