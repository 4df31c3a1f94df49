"""The eventlet runtime: what the conformance suite cannot say about it.

The conformance suite runs every behaviour on `EventletActor` too, on the
background hub. These tests cover the rest: where an actor lives, the
adapter's callbacks (eventlet's hub has only timers and file descriptors),
cooperative waiting, interop with threads, thread actors, asyncio and gevent,
timers, the background hub's life cycle, and monkey-patched programs (in
subprocesses, since patching is for good).
"""

from __future__ import annotations

import asyncio
import textwrap
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

# (eventlet ships no type information: as a plain module, its names are Any.)
eventlet = pytest.importorskip("eventlet", reason="eventlet is not installed")
pytest.importorskip("eventlet.hubs")
from greenlet import getcurrent  # noqa: E402 -- after the skip

import limelight  # noqa: E402
from limelight import ActorRef, DeadlockError, Timeout  # noqa: E402
from limelight._core import _waiting  # noqa: E402
from limelight._core._green import GreenHub, GreenInbox, GreenWaiter  # noqa: E402
from limelight._core._green_runtime import BackgroundHub, inbox_of  # noqa: E402
from limelight._runtimes import eventlet_hub  # noqa: E402
from limelight._runtimes.eventlet_hub import RUNTIME, THREAD_NAME  # noqa: E402
from limelight.eventlet import EventletActor, EventletFuture  # noqa: E402
from tests.conformance.actors import TIMEOUT, Blocker, Recorder  # noqa: E402
from tests.runtimes import EVENTLET as _EVENTLET  # noqa: E402
from tests.runtimes import GreenEvent, Runtime  # noqa: E402
from tests.test_examples import python  # noqa: E402

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


def in_thread(function: Callable[[], T]) -> T:
    """Run `function` in a new thread; return its result (or raise its exception)."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(function())
        except BaseException as exc:  # noqa: BLE001 -- handed to the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    if errors:
        raise errors[0]
    return result[0]


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


class Setter(EventletActor):
    def complete(self, future: limelight.Future[Any], value: Any) -> None:
        future.set(value)


class Gate(limelight.ThreadingActor):
    """A thread actor that blocks its thread until a test opens the gate."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def pass_gate(self) -> str:
        self.gate.wait(TIMEOUT)
        return "passed"


class AsksThreadActor(EventletActor):
    def ask_through(self, gate: ActorRef[Gate]) -> str:
        passed: str = gate.proxy().pass_gate().get(TIMEOUT)
        return passed


class Counter(EventletActor):
    """Counts in a green thread of its own hub while it lives."""

    def on_start(self) -> None:
        self.count = 0
        self.counting = eventlet.spawn(self._count)

    def _count(self) -> None:
        while True:
            self.count += 1
            eventlet.sleep(0.001)

    def counted(self) -> int:
        return self.count

    def on_stop(self) -> None:
        self.counting.kill()


# -- Where an actor lives --------------------------------------------------------------


def test_actors_started_from_plain_code_share_the_background_hub() -> None:
    first, second = Echo.start(), Echo.start()

    hub, thread = first.proxy().where().get(TIMEOUT)

    assert second.proxy().where().get(TIMEOUT) == (hub, thread)
    assert RUNTIME.background.owns(hub)
    assert thread == THREAD_NAME
    assert hub.thread_id != threading.get_ident()


def test_an_actor_started_in_a_green_thread_lives_in_that_hub() -> None:
    def main() -> tuple[Any, tuple[GreenHub, str]]:
        ref = Echo.start()
        try:
            return eventlet.hubs.get_hub(), ref.proxy().where().get(TIMEOUT)
        finally:
            ref.stop()

    native, (hub, thread) = in_green_thread(main)

    assert hub.native is native
    assert not RUNTIME.background.owns(hub)
    assert thread != THREAD_NAME


# -- Waking greenlets ----------------------------------------------------------------


def test_many_threads_tell_one_actor_and_each_thread_s_order_is_kept() -> None:
    class Collector(EventletActor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: dict[int, list[int]] = {}

        def on_receive(self, message: Any) -> Any:
            sender, i = message
            self.seen.setdefault(sender, []).append(i)

        def result(self) -> dict[int, list[int]]:
            return self.seen

    ref = Collector.start()
    count = 2_000

    def send(sender: int) -> None:
        for i in range(count):
            ref.tell((sender, i))

    threads = [threading.Thread(target=send, args=(s,)) for s in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)

    assert ref.proxy().result().get(TIMEOUT) == {
        s: list(range(count)) for s in range(4)
    }


def test_a_green_thread_waiting_for_an_actor_lets_its_hub_s_other_actors_run() -> None:
    def main() -> Any:
        waiting, setter = Echo.start(), Setter.start()
        future: EventletFuture[str] = EventletFuture()
        reply = waiting.proxy().wait_for(future)
        # `waiting` is parked in its handler: `setter`, in the same hub, runs.
        setter.proxy().complete(future, "set by a neighbour").get(TIMEOUT)
        return reply.get(TIMEOUT)

    assert in_green_thread(main) == "set by a neighbour"


def test_a_green_thread_s_wait_times_out_and_its_hub_goes_on() -> None:
    def main() -> tuple[str, str]:
        ref = Echo.start()
        held: EventletFuture[str] = EventletFuture()
        reply = ref.proxy().wait_for(held)
        with pytest.raises(Timeout):
            reply.get(timeout=0.01)
        answer: str = Echo.start().ask("after the timeout", timeout=TIMEOUT)
        held.set("released")
        return answer, reply.get(TIMEOUT)

    assert in_green_thread(main) == ("after the timeout", "released")


def test_waiting_in_the_hub_s_own_greenlet_for_its_actor_is_a_deadlock() -> None:
    ref = Echo.start()
    hub, _thread = ref.proxy().where().get(TIMEOUT)
    outcome: limelight.Future[BaseException] = limelight.ThreadingFuture()

    def in_hub() -> None:
        try:
            ref.ask("never", timeout=TIMEOUT)
        except DeadlockError as exc:
            outcome.set(exc)

    hub.call(in_hub)

    assert "eventlet.spawn" in str(outcome.get(TIMEOUT))


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


def test_plain_threads_and_thread_actors_ask_eventlet_actors() -> None:
    ref = Echo.start()

    class Asker(limelight.ThreadingActor):
        def ask_echo(self, message: str) -> Any:
            return ref.ask(message, timeout=TIMEOUT), RUNTIME.adapter.current_hub()

    def from_thread() -> tuple[Any, float, GreenHub | None]:
        future = ref.proxy().nap(0.01)
        return (
            ref.ask("from a thread", timeout=TIMEOUT),
            future.get(TIMEOUT),
            (RUNTIME.adapter.current_hub()),
        )

    # A plain thread blocks on its own lock: it never needs a hub of its own.
    assert in_thread(from_thread) == ("from a thread", 0.01, None)
    assert Asker.start().proxy().ask_echo("from an actor").get(TIMEOUT) == (
        "from an actor",
        None,
    )
    ref.tell("told")
    assert ref.ask("after the tell", timeout=TIMEOUT) == "after the tell"


def test_an_eventlet_actor_asking_a_thread_actor_does_not_block_its_hub() -> None:
    gate = threading.Event()
    thread_actor = Gate.start(gate)
    asker, counter = AsksThreadActor.start(), Counter.start()
    before = counter.proxy().counted().get(TIMEOUT)

    reply = asker.proxy().ask_through(thread_actor)

    # The asker is parked waiting for the thread actor; its hub goes on: the
    # counter's green thread keeps counting, and the counter answers.
    counted = before
    while counted < before + 5:
        counted = counter.proxy().counted().get(TIMEOUT)
    assert not reply._is_ready()
    gate.set()
    assert reply.get(TIMEOUT) == "passed"


def test_an_eventlet_future_is_awaitable_from_asyncio() -> None:
    ref = Echo.start()

    async def main() -> tuple[Any, Any]:
        asked = await ref.ask("awaited", block=False)
        called = await ref.proxy().nap(0.01)
        return asked, called

    assert asyncio.run(asyncio.wait_for(main(), TIMEOUT)) == ("awaited", 0.01)


def test_gevent_and_eventlet_greenlets_of_one_thread_each_park_in_their_own_hub() -> (
    None
):
    gevent = pytest.importorskip("gevent")
    from limelight._runtimes import gevent_hub  # noqa: PLC0415 -- with gevent

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


class Ticker(EventletActor):
    def __init__(self, done: GreenEvent) -> None:
        super().__init__()
        self.done = done
        self.ticks: list[tuple[str, str]] = []

    def on_receive(self, message: Any) -> Any:
        self.ticks.append((message, threading.current_thread().name))
        if len(self.ticks) == 3:
            self.done.set()

    def start_timers(self) -> None:
        self.send_after(0.001, "once")
        self.every = self.send_every(0.001, "often")

    def stop_ticking(self) -> list[tuple[str, str]]:
        self.every.cancel()
        return self.ticks


def test_timers_tick_on_the_actor_s_hub() -> None:
    done = GreenEvent()
    ref = Ticker.start(done)
    ref.proxy().start_timers().get(TIMEOUT)
    assert done.wait(TIMEOUT)

    ticks = ref.proxy().stop_ticking().get(TIMEOUT)

    assert {message for message, _thread in ticks} == {"once", "often"}
    assert {thread for _message, thread in ticks} == {THREAD_NAME}


def test_hub_calls_cancelled_from_any_thread_never_run() -> None:
    hub = RUNTIME.background.hub()
    ran: list[str] = []
    done: limelight.Future[None] = limelight.ThreadingFuture()

    hub.call_later(TIMEOUT, lambda: ran.append("late")).cancel()
    hub.call_later(0.01, lambda: done.set(None))
    done.get(TIMEOUT)

    def main() -> list[str]:
        here = current_hub()
        mine: list[str] = []
        here.call_later(0.001, lambda: mine.append("not cancelled"))
        here.call_later(0.001, lambda: mine.append("cancelled")).cancel()
        eventlet.sleep(0.05)
        return mine

    assert in_green_thread(main) == ["not cancelled"]
    assert ran == []


# -- Life cycle ----------------------------------------------------------------------


def test_a_background_hub_ends_when_idle_at_exit_and_a_new_one_starts_after() -> None:
    background = BackgroundHub(RUNTIME.adapter, "limelight-eventlet-test")
    hub = background.acquire("urn:one")
    assert background.is_running()
    background.close_when_idle()
    assert background.is_running()  # one actor still runs on it
    background.release("urn:one")
    assert background.wait_ended(TIMEOUT)
    assert not background.is_running()

    again = background.acquire("urn:two")
    assert again is not hub
    background.release("urn:two")
    background.close_at_exit()
    assert not background.is_running()


def test_in_a_patched_program_plain_code_starts_actors_in_its_own_hub(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RUNTIME.adapter, "threads_are_greenlets", lambda: True)

    def main() -> tuple[bool, bool, str]:
        ref = Echo.start()  # from this thread's plain code, no hub yet
        hub, _thread = ref.proxy().where().get(TIMEOUT)  # runs the hub meanwhile
        answer = ref.ask("served here", timeout=TIMEOUT)
        ref.stop(timeout=TIMEOUT)
        mine = hub.native is eventlet.hubs.get_hub()
        RUNTIME.adapter.destroy_hub(hub)
        return mine, RUNTIME.background.owns(hub), answer

    assert in_thread(main) == (True, False, "served here")


def test_the_eventlet_module_s_hooks_are_its_runtime_s() -> None:
    assert eventlet_hub.EventletActor._runtime is RUNTIME
    assert RUNTIME.name == "eventlet"
    assert getcurrent().parent is None  # the tests' own thread: plain code


def test_an_unpatched_program_exits_once_its_background_actors_stop() -> None:
    result = python(
        "-W",
        "ignore",
        "-c",
        textwrap.dedent(
            """
            import threading
            from limelight.eventlet import EventletActor

            class Late(EventletActor):
                def on_stop(self):
                    print("stopped", threading.current_thread().name, flush=True)

            ref = Late.start()
            threading.Timer(0.2, ref.stop).start()
            print("main done", flush=True)
            """
        ),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["main done", f"stopped {THREAD_NAME}"]


PATCHED = textwrap.dedent(
    """
    import eventlet
    eventlet.monkey_patch()

    import threading
    import limelight
    from limelight.eventlet import EventletActor

    class Echo(EventletActor):
        def on_receive(self, message):
            return message

        def ask_other(self, other, message):
            return other.ask(message)

    class Threaded(limelight.ThreadingActor):
        def on_receive(self, message):
            eventlet.sleep(0.001)  # a green thread, in a patched program
            return ("threaded", message)

        def ask_other(self, other, message):
            return other.ask(message)

    def in_a_green_thread():
        # Lives in the main thread's hub, like the thread actors.
        local = Echo.start()
        return local.proxy().ask_other(threaded, "via a local eventlet actor").get()

    echo, threaded = Echo.start(), Threaded.start()
    print(echo.ask("plain"))
    print(echo.proxy().ask_other(threaded, "eventlet to thread").get())
    print(threaded.proxy().ask_other(echo, "thread to eventlet").get())
    print(eventlet.spawn(in_a_green_thread).wait())
    limelight.ActorRegistry.stop_all()
    print("left:", limelight.ActorRegistry.get_all())
    print("threads:", [t.name for t in threading.enumerate()])
    """
)


def test_a_monkey_patched_program_mixes_thread_and_eventlet_actors() -> None:
    result = python("-W", "ignore", "-c", PATCHED)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:5] == [
        "plain",
        "('threaded', 'eventlet to thread')",
        "thread to eventlet",
        "('threaded', 'via a local eventlet actor')",
        "left: []",
    ]
    assert THREAD_NAME not in result.stdout  # no background hub: all in one


def test_import_limelight_does_not_import_eventlet() -> None:
    # (What `import limelight` adds: coverage, measuring the subprocess,
    # imports greenlet itself, to follow greenlets.)
    result = python(
        "-c",
        "import sys\n"
        "before = set(sys.modules)\n"
        "import limelight, limelight.asyncio\n"
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
        "('eventlet', 'greenlet')))",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
