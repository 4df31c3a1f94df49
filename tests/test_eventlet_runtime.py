"""The eventlet runtime: what neither the conformance suite nor the shared tests say.

The conformance suite runs every behaviour on `EventletActor` too, and
test_green_runtimes.py what gevent and eventlet promise alike. These tests
cover the rest: the adapter's callbacks (eventlet's hub has only timers and
file descriptors) and socket wake-ups, race-free versions of a conformance
test that eventlet skips, and gevent and eventlet greenlets in one thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

# (eventlet ships no type information: as a plain module, its names are Any.)
eventlet = pytest.importorskip("eventlet", reason="eventlet is not installed")
pytest.importorskip("eventlet.hubs")
from greenlet import getcurrent  # noqa: E402 -- after the skip

import limelight  # noqa: E402
from limelight._core import _waiting  # noqa: E402
from limelight._runtimes.greenlet import eventlet_hub  # noqa: E402
from limelight._runtimes.greenlet.eventlet_hub import RUNTIME  # noqa: E402
from limelight._runtimes.greenlet.hub import GreenHub, GreenInbox, GreenWaiter  # noqa: E402
from limelight._runtimes.greenlet.runtime import BackgroundHub, inbox_of  # noqa: E402
from limelight.eventlet import EventletActor  # noqa: E402
from tests.conformance.actors import TIMEOUT, Blocker, Recorder  # noqa: E402
from tests.runtimes import EVENTLET as _EVENTLET  # noqa: E402
from tests.runtimes import GreenEvent, Runtime  # noqa: E402
from tests.test_green_runtimes import in_thread  # noqa: E402

T = TypeVar("T")

assert _EVENTLET is not None  # eventlet is installed: see the skip above
EVENTLET: Runtime = _EVENTLET


def run_green(function: Callable[[], T]) -> T:
    """Run `function` in a new green thread of this thread's hub; return its result.

    Then stop the actors it left in that hub, from this thread's plain code,
    which waits in the hub meanwhile: nobody else could.
    """
    try:
        with eventlet.Timeout(TIMEOUT):
            return eventlet.spawn(function).wait()  # type: ignore[no-any-return]
    finally:
        hub = RUNTIME.adapter.current_hub()
        for ref in limelight.ActorRegistry.get_all():
            inbox = ref.actor_inbox
            if isinstance(inbox, GreenInbox) and inbox.hub is hub:
                ref.stop(timeout=TIMEOUT)


def in_green_thread(function: Callable[[], T]) -> T:
    """:func:`run_green` in a new thread, whose hub ends with it.

    Never in the tests' main thread: its plain code would then wait in an
    eventlet hub for good, including for gevent actors that gevent's tests
    start in the main thread's gevent hub (a greenlet waits in its own
    library's hub, but a thread's plain code belongs to neither).
    """

    def run() -> T:
        try:
            return run_green(function)
        finally:
            RUNTIME.adapter.destroy_hub(RUNTIME.adapter.make_hub())

    return in_thread(run)


def current_hub() -> GreenHub:
    """This thread's hub, made if need be."""
    return RUNTIME.adapter.make_hub()


class Echo(EventletActor):
    def on_receive(self, message: Any) -> Any:
        return message

    def where(self) -> tuple[GreenHub, str]:
        return inbox_of(self).hub, threading.current_thread().name

    def nap(self, seconds: float) -> float:
        eventlet.sleep(seconds)
        return seconds

    def wait_for(self, future: limelight.Future[Any]) -> Any:
        return future.get(TIMEOUT)


# -- Where an actor lives --------------------------------------------------------------


# -- Waking greenlets ----------------------------------------------------------------


def test_a_callback_that_raises_does_not_hold_up_those_queued_after_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def main() -> list[str]:
        hub = current_hub()
        ran: list[str] = []

        def fails() -> None:
            ran.append("fails")
            raise RuntimeError("a failing callback")

        hub.call_soon(fails)
        hub.call_soon(lambda: ran.append("after it"))
        eventlet.sleep(0.01)
        return ran

    assert in_green_thread(main) == ["fails", "after it"]
    assert "a failing callback" in capsys.readouterr().err  # printed by eventlet


class RacingReader:
    """The reading end of a hub's wake-up socket, with a second thread-safe call
    arriving while the hub reads it: the race of two threads, made certain."""

    def __init__(
        self, scheduler: Any, reader: Any, racing: Callable[[], object]
    ) -> None:
        self.scheduler = scheduler
        self.reader = reader
        self.racing: Callable[[], object] | None = racing

    def recv(self, size: int) -> bytes:
        racing, self.racing = self.racing, None
        if racing is not None:
            self.scheduler.call_soon_threadsafe(racing)
        data: bytes = self.reader.recv(size)
        return data

    def close(self) -> None:
        self.reader.close()


def test_a_thread_safe_call_racing_the_hub_s_read_loses_no_later_wake_up() -> None:
    def main() -> list[str]:
        hub = current_hub()
        scheduler = getattr(hub.native, "_limelight_hub_scheduler")  # noqa: B009
        ran: list[str] = []
        raced, done = eventlet.event.Event(), eventlet.event.Event()

        def racing() -> None:
            ran.append("racing")
            raced.send()

        scheduler._reader = RacingReader(scheduler, scheduler._reader, racing)
        scheduler.call_soon_threadsafe(lambda: ran.append("first"))
        with eventlet.Timeout(TIMEOUT):
            raced.wait()
        # Had the race left the "byte on its way" flag set with no byte in
        # the socket, this would never wake the hub.
        scheduler.call_soon_threadsafe(done.send)
        with eventlet.Timeout(TIMEOUT):
            done.wait()
        return ran

    assert in_green_thread(main) == ["first", "racing"]


def test_a_thread_safe_call_to_an_ended_hub_is_dropped() -> None:
    background = BackgroundHub(RUNTIME.adapter, "limelight-eventlet-test")
    hub = background.acquire("urn:one")
    background.close_when_idle()
    background.release("urn:one")
    assert background.wait_ended(TIMEOUT)

    hub.call_soon_threadsafe(lambda: None)  # its socket is closed: no error


def test_a_hub_that_never_ran_is_destroyed_without_running() -> None:
    def main() -> tuple[bool, bool]:
        hub = current_hub()
        native: Any = hub.native
        ran_before = bool(native.running)
        RUNTIME.adapter.destroy_hub(hub)
        return ran_before, RUNTIME.adapter.current_hub() is None

    assert in_thread(main) == (False, True)


def test_an_actor_can_stop_itself_after_messages_sent_from_its_own_hub() -> None:
    # The conformance test of this, without its race (see tests/runtimes.py):
    # sent from a green thread of the actor's hub, without yielding, both
    # messages are in the inbox before the actor handles the first.
    def main() -> list[Any]:
        log: list[Any] = []
        done = GreenEvent()
        ref = EVENTLET.actor(Recorder).start(log, done)
        ref.tell(("stop",))
        ref.tell("queued before the stop message")
        assert done.wait(TIMEOUT)
        return log

    assert in_green_thread(main) == [
        "on_start",
        "stop",
        "queued before the stop message",
        "on_stop",
    ]


def test_an_actor_can_stop_itself_after_messages_sent_from_another_thread() -> None:
    # The same from this thread: the hub's thread is held up by another actor
    # while both messages are sent, so neither is handled before both are in.
    blocker = EVENTLET.actor(Blocker).start()
    entered, gate = threading.Event(), threading.Event()
    blocked = blocker.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)
    log: list[Any] = []
    done = GreenEvent()

    ref = EVENTLET.actor(Recorder).start(log, done)
    ref.tell(("stop",))
    ref.tell("queued before the stop message")
    gate.set()

    assert blocked.get(TIMEOUT) is True
    assert done.wait(TIMEOUT)
    assert log == ["on_start", "stop", "queued before the stop message", "on_stop"]


# -- Interop -------------------------------------------------------------------------


def test_gevent_and_eventlet_greenlets_of_one_thread_each_park_in_their_own_hub() -> (
    None
):
    gevent = pytest.importorskip("gevent")
    from limelight._runtimes.greenlet import gevent_hub  # noqa: PLC0415 -- with gevent

    ref = Echo.start()

    def in_gevent() -> tuple[GreenHub | None, Any]:
        waiter = _waiting.new_waiter()
        assert isinstance(waiter, GreenWaiter)
        # Not eventlet's hub, though this thread has one: gevent's.
        return waiter._hub, ref.ask("from gevent", timeout=TIMEOUT)

    def in_eventlet() -> GreenHub | None:
        waiter = _waiting.new_waiter()
        assert isinstance(waiter, GreenWaiter)
        return waiter._hub

    def main() -> None:
        eventlet_hub_ = current_hub()
        greenlet = gevent.spawn(in_gevent)
        greenlet.join(TIMEOUT)
        assert greenlet.successful(), greenlet.exception
        gevent_hub_ = gevent_hub.RUNTIME.adapter.current_hub()
        assert greenlet.value == (gevent_hub_, "from gevent")
        assert run_green(in_eventlet) is eventlet_hub_
        # Started from gevent's greenlet, an eventlet actor does not live in
        # this thread's eventlet hub, which is not running: in the background.
        started = gevent.spawn(lambda: Echo.start().proxy().where().get(TIMEOUT))
        started.join(TIMEOUT)
        assert RUNTIME.background.owns(started.value[0])
        RUNTIME.adapter.destroy_hub(eventlet_hub_)
        gevent.get_hub().destroy(destroy_loop=True)

    in_thread(main)


# -- Timers --------------------------------------------------------------------------


# -- Life cycle ----------------------------------------------------------------------


def test_the_eventlet_module_s_hooks_are_its_runtime_s() -> None:
    assert eventlet_hub.EventletActor._limelight_runtime is RUNTIME
    assert RUNTIME.name == "eventlet"
    assert getcurrent().parent is None  # the tests' own thread: plain code
