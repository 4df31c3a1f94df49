"""The gevent runtime: each actor is a greenlet, scheduled by a gevent hub.

Everything but gevent's own calls is the greenlet core's
(``_runtimes/greenlet/hub.py``, ``_runtimes/greenlet/runtime.py``): this module is the
adapter that lets it drive gevent's hub, and the public classes. The OS
primitives it needs (thread identity, locks, a thread for the background
hub) are gevent's saved originals, so that they stay what they are in a
monkey-patched program.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import gevent
from gevent import monkey
from gevent._hub_local import get_hub_if_exists

from limelight._core._actor import Actor
from limelight._runtimes.greenlet.hub import GreenHub, HubOps
from limelight._runtimes.greenlet.runtime import GreenFuture, GreenRuntime

if TYPE_CHECKING:
    import _thread

    from gevent.hub import Hub

__all__ = ["RUNTIME", "GeventActor", "GeventAdapter", "GeventFuture", "GeventRuntime"]

T = TypeVar("T")

THREAD_NAME = "limelight-gevent"
"""The name of the background hub's thread (when threading is not patched)."""

# Where a gevent hub keeps its GreenHub, made once per hub.
_ATTRIBUTE = "_limelight_hub"


def _nothing() -> None:
    """The keep-alive watcher's callback: it is never sent anything."""


class _KeepAlive:
    """Holds for a loop without ``ref()``/``unref()`` (libuv's): a referenced watcher.

    While it is started, the loop does not end; it is started by the first
    hold and stopped when the last is undone.
    """

    __slots__ = ("_holds", "_watcher")

    def __init__(self, hub: Hub) -> None:
        self._watcher = hub.loop.async_()
        self._holds = 0

    def hold(self) -> None:
        self._holds += 1
        if self._holds == 1:
            self._watcher.start(_nothing)

    def unhold(self) -> None:
        self._holds -= 1
        if self._holds == 0:
            self._watcher.stop()


def _holds(hub: Hub) -> tuple[Callable[[], object], Callable[[], object]]:
    """The hold() and unhold() of a hub's loop (see ``HubOps``)."""
    loop = hub.loop
    if type(loop).__module__.startswith("gevent.libev."):
        # libev counts them itself (ev_ref/ev_unref): the cheapest way. (Other
        # loops have these methods too, but as no-ops.)
        return loop.ref, loop.unref
    keepalive = _KeepAlive(hub)
    return keepalive.hold, keepalive.unhold


class _HubTimer:
    """A one-shot timer on a hub's loop that does not keep the loop running."""

    __slots__ = ("_callback", "_watcher")

    def __init__(self, hub: Hub, delay: float, callback: Callable[[], object]) -> None:
        self._callback = callback
        self._watcher = hub.loop.timer(delay, ref=False)
        self._watcher.start(self._fire)

    def _fire(self) -> None:
        self._watcher.close()
        self._callback()

    def cancel(self) -> None:
        self._watcher.close()  # which stops it and drops the callback


class GeventAdapter:
    """gevent's hub, as the greenlet core drives it (see ``HubAdapter``)."""

    def __init__(self) -> None:
        self._get_ident: Callable[[], int] = monkey.get_original("_thread", "get_ident")
        self._allocate_lock: Callable[[], _thread.LockType] = monkey.get_original(
            "_thread", "allocate_lock"
        )

    def allocate_lock(self) -> _thread.LockType:
        return self._allocate_lock()

    def start_thread(self, target: Callable[[], object], name: str) -> None:
        # (Only unpatched programs start one: see threads_are_greenlets().) A
        # daemon: the exit hook, not the thread, keeps the program alive.
        threading.Thread(target=target, name=name, daemon=True).start()

    def threads_are_greenlets(self) -> bool:
        return monkey.is_module_patched("threading")

    def current_hub(self) -> GreenHub | None:
        native = get_hub_if_exists()
        if native is None:
            return None
        hub: GreenHub | None = getattr(native, _ATTRIBUTE, None)
        return hub if hub is not None else self._wrap(native)

    def make_hub(self) -> GreenHub:
        gevent.get_hub()
        hub = self.current_hub()
        assert hub is not None  # just made
        return hub

    def destroy_hub(self, hub: GreenHub) -> None:
        native: Hub = hub.native  # type: ignore[assignment]
        native.destroy(destroy_loop=True)

    def _wrap(self, native: Hub) -> GreenHub:
        loop = native.loop
        hold, unhold = _holds(native)

        def call_later(delay: float, callback: Callable[[], object]) -> _HubTimer:
            return _HubTimer(native, delay, callback)

        ops = HubOps(
            greenlet=native,
            park=native.switch,
            call_soon=loop.run_callback,
            call_soon_threadsafe=loop.run_callback_threadsafe,
            call_later=call_later,
            hold=hold,
            unhold=unhold,
        )
        hub = GreenHub(native, ops, self._get_ident)
        setattr(native, _ATTRIBUTE, hub)
        return hub


class GeventFuture(GreenFuture[T]):
    """The future of the gevent runtime.

    ``get()`` it from any greenlet (the others of its hub go on meanwhile)
    or any thread, and ``await`` it from any event loop. Only the hub's own
    greenlet (a gevent callback) must not wait for a gevent actor's reply:
    there, ``get()`` would stop the very hub that must produce it, so it
    raises [`DeadlockError`][limelight.DeadlockError] at once.
    """

    __slots__ = ()

    spawn_hint = "a greenlet (gevent.spawn)"


class GeventRuntime(GreenRuntime):
    """The runtime of [`GeventActor`][limelight.gevent.GeventActor]."""

    name = "gevent"

    def __init__(self) -> None:
        super().__init__(GeventAdapter(), GeventFuture, THREAD_NAME)


RUNTIME = GeventRuntime()
RUNTIME.install()


class GeventActor(Actor):
    """An actor that is a greenlet, scheduled by a gevent hub.

    Started from a greenlet (``gevent.spawn``, a gevent server's handler,
    another gevent actor), it lives in that greenlet's hub, in its thread;
    started from anywhere else (plain code, a thread actor), in a hub that
    Limelight runs in a background thread. It costs a greenlet, not a
    thread, and its handlers may block cooperatively: ``gevent.sleep()``,
    gevent's sockets (or patched ones), and ``get()`` on any future let the
    hub's other greenlets run meanwhile. A handler that blocks without
    yielding (unpatched ``time.sleep()``, a CPU-bound loop) holds up every
    actor of its hub.

    Talk to it from anywhere: ``tell()``/``ask()`` from any thread or
    greenlet, and ``await`` its futures from any event loop.
    """

    _limelight_runtime = RUNTIME
