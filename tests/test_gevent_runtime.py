"""The gevent runtime: what the conformance suite cannot say about it.

The conformance suite runs every behaviour on `GeventActor` too, on the
background hub. These tests cover the rest: where an actor lives, waking a
greenlet from other threads, cooperative waiting, interop with threads and
asyncio, timers on the hub, the background hub's life cycle, and
monkey-patched programs (in subprocesses, since patching is for good).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import textwrap
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar, cast

import pytest

gevent = pytest.importorskip("gevent", reason="gevent is not installed")

import limelight  # noqa: E402 -- after the skip
from limelight import ActorRef, DeadlockError, Timeout  # noqa: E402
from limelight._core import _waiting  # noqa: E402
from limelight._core._green import GreenHub, GreenInbox, GreenWaiter  # noqa: E402
from limelight._core._green_runtime import BackgroundHub, inbox_of  # noqa: E402
from limelight._runtimes import gevent_hub  # noqa: E402
from limelight._runtimes.gevent_hub import RUNTIME, THREAD_NAME  # noqa: E402
from limelight.gevent import GeventActor, GeventFuture  # noqa: E402
from limelight.messages import Terminated  # noqa: E402
from tests.conformance.actors import TIMEOUT  # noqa: E402
from tests.runtimes import GreenEvent  # noqa: E402
from tests.test_examples import python  # noqa: E402

T = TypeVar("T")


def in_greenlet(function: Callable[[], T]) -> T:
    """Run `function` in a new greenlet of this thread's hub; return its result."""
    greenlet = gevent.spawn(function)
    greenlet.join(TIMEOUT)
    assert greenlet.successful(), greenlet.exception
    return greenlet.value  # type: ignore[no-any-return]


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
    if errors:
        raise errors[0]
    return result[0]


class Echo(GeventActor):
    def on_receive(self, message: Any) -> Any:
        return message

    def where(self) -> tuple[GreenHub, str]:
        return inbox_of(self).hub, threading.current_thread().name

    def nap(self, seconds: float) -> float:
        gevent.sleep(seconds)
        return seconds

    def wait_for(self, future: limelight.Future[Any]) -> Any:
        return future.get(TIMEOUT)

    def start_child(self) -> ActorRef[Echo]:
        return Echo.start()


class Setter(GeventActor):
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


class AsksThreadActor(GeventActor):
    def ask_through(self, gate: ActorRef[Gate]) -> str:
        passed: str = gate.proxy().pass_gate().get(TIMEOUT)
        return passed


# -- Where an actor lives --------------------------------------------------------------


def test_actors_started_from_plain_code_share_the_background_hub() -> None:
    first, second = Echo.start(), Echo.start()

    hub, thread = first.proxy().where().get(TIMEOUT)

    assert second.proxy().where().get(TIMEOUT) == (hub, thread)
    assert RUNTIME.background.owns(hub)
    assert thread == THREAD_NAME
    assert hub.thread_id != threading.get_ident()
    assert RUNTIME.background.is_running()


def test_an_actor_started_in_a_greenlet_lives_in_that_greenlet_s_hub() -> None:
    def main() -> tuple[Any, tuple[GreenHub, str]]:
        ref = Echo.start()
        try:
            return gevent.get_hub(), ref.proxy().where().get(TIMEOUT)
        finally:
            ref.stop()

    native, (hub, thread) = in_thread(lambda: in_greenlet(main))

    assert hub.native is native
    assert not RUNTIME.background.owns(hub)
    assert thread != THREAD_NAME


def test_an_actor_started_by_a_background_actor_lives_and_counts_there() -> None:
    background = RUNTIME.background
    before = set(background._actors)

    parent = Echo.start()
    child = parent.proxy().start_child().get(TIMEOUT)

    assert child.proxy().where().get(TIMEOUT) == parent.proxy().where().get(TIMEOUT)
    assert background._actors - before == {parent.actor_urn, child.actor_urn}
    child.stop(timeout=TIMEOUT)
    parent.stop(timeout=TIMEOUT)
    assert background._actors == before


def test_an_actor_started_from_a_thread_actor_or_a_coroutine_lives_in_background() -> (
    None
):
    class Starter(limelight.ThreadingActor):
        def start_echo(self) -> ActorRef[Echo]:
            return Echo.start()

    from_thread_actor = Starter.start().proxy().start_echo().get(TIMEOUT)

    async def start_in_loop() -> ActorRef[Echo]:
        return Echo.start()

    from_loop = asyncio.run(start_in_loop())

    for ref in (from_thread_actor, from_loop):
        hub, _thread = ref.proxy().where().get(TIMEOUT)
        assert RUNTIME.background.owns(hub)


class FailsInInit(GeventActor):
    def __init__(self) -> None:
        super().__init__()
        raise ValueError("bad argument")


def test_an_actor_whose_init_raises_does_not_hold_the_background_hub() -> None:
    before = set(RUNTIME.background._actors)

    with pytest.raises(ValueError, match="bad argument"):
        FailsInInit.start()

    assert RUNTIME.background._actors == before
    assert limelight.ActorRegistry.get_all() == []


# -- Waking a greenlet ---------------------------------------------------------------


def test_many_threads_tell_one_actor_and_each_thread_s_order_is_kept() -> None:
    class Collector(GeventActor):
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

    seen = ref.proxy().result().get(TIMEOUT)
    assert seen == {s: list(range(count)) for s in range(4)}


def test_a_greenlet_waiting_for_an_actor_lets_the_other_actors_of_its_hub_run() -> None:
    def main() -> Any:
        waiting, setter = Echo.start(), Setter.start()
        future: GeventFuture[str] = GeventFuture()
        reply = waiting.proxy().wait_for(future)
        # `waiting` is parked in its handler: `setter`, in the same hub, runs.
        setter.proxy().complete(future, "set by a neighbour").get(TIMEOUT)
        return reply.get(TIMEOUT)

    assert in_greenlet(main) == "set by a neighbour"


def test_a_gevent_actor_asking_a_thread_actor_does_not_block_its_hub() -> None:
    gate = threading.Event()
    thread_actor = Gate.start(gate)
    asker, neighbour = AsksThreadActor.start(), Echo.start()

    reply = asker.proxy().ask_through(thread_actor)

    # The asker is parked waiting for the thread actor; its hub goes on.
    assert neighbour.ask("still served", timeout=TIMEOUT) == "still served"
    assert not reply._is_ready()
    gate.set()
    assert reply.get(TIMEOUT) == "passed"


def test_a_greenlet_s_wait_times_out_and_its_hub_goes_on() -> None:
    def main() -> tuple[bool, str]:
        ref = Echo.start()
        with pytest.raises(Timeout):
            ref.proxy().nap(TIMEOUT).get(timeout=0.01)
        other = Echo.start()
        return True, other.ask("after the timeout", timeout=TIMEOUT)

    assert in_greenlet(main) == (True, "after the timeout")


def test_a_thread_s_plain_code_with_a_hub_waits_without_the_loop_ending() -> None:
    # Plain code of a thread that has a hub waits by parking in its hub (as a
    # monkey-patched main thread does); the reply comes from another thread,
    # so the wait holds the loop, which would otherwise end (LoopExit).
    ref = Echo.start()

    def main() -> Any:
        gevent.sleep(0)  # gives this thread a hub
        return ref.proxy().nap(0.01).get(TIMEOUT), ref.ask("hello", timeout=TIMEOUT)

    assert in_thread(main) == (0.01, "hello")


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

    assert "gevent.spawn" in str(outcome.get(TIMEOUT))


def test_a_waiter_released_before_it_waits_does_not_park() -> None:
    def main() -> tuple[bool, bool]:
        hub = RUNTIME.adapter.current_hub()
        assert hub is not None
        waiter = GreenWaiter(hub, gevent.getcurrent())
        early = waiter.acquire(False)
        waiter.release()
        return early, waiter.acquire(True, -1)

    assert in_greenlet(main) == (False, True)


def test_a_waiter_woken_after_its_timeout_stays_where_it_is() -> None:
    def main() -> tuple[bool, str]:
        hub = RUNTIME.adapter.current_hub()
        assert hub is not None
        waiter = GreenWaiter(hub, gevent.getcurrent())
        timed_out = waiter.acquire(True, 0.001)
        # Released late, from another thread: its wake-up finds nobody parked.
        releaser = threading.Thread(target=waiter.release)
        releaser.start()
        releaser.join(TIMEOUT)
        gevent.sleep(0.01)  # the wake-up runs here, and must not switch back
        return timed_out, repr(hub)

    timed_out, hub_repr = in_greenlet(main)

    assert not timed_out
    assert hub_repr.startswith("<GreenHub of thread 0x")


def test_the_waiter_factory_leaves_the_hub_s_greenlet_to_an_os_lock() -> None:
    hub = RUNTIME.background.hub()
    made: limelight.Future[object] = limelight.ThreadingFuture()
    hub.call(lambda: made.set(_waiting.new_waiter()))

    assert not isinstance(made.get(TIMEOUT), GreenWaiter)


def test_a_late_thread_safe_wake_does_not_resume_a_reader_that_is_not_parked() -> None:
    def main() -> list[Any]:
        hub = RUNTIME.adapter.current_hub()
        assert hub is not None
        inbox = GreenInbox(hub)
        inbox._wake()  # nothing parked: nothing to do
        # As another thread sees a parked reader with a wake-up on its way:
        inbox._parked = True
        inbox._wake_pending = True
        sender = threading.Thread(target=inbox.put, args=(("from a thread", None),))
        sender.start()
        sender.join(TIMEOUT)  # (without a second wake-up, or it would switch here)
        inbox._parked = False
        return [inbox.get(), inbox.empty()]

    assert in_greenlet(main) == [("from a thread", None), True]


class EmptyOnce(collections.deque[Any]):
    """A deque that looks empty the first time it is asked: a put racing a get."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def __len__(self) -> int:
        self.asked += 1
        return 0 if self.asked == 1 else super().__len__()


def test_a_reader_about_to_park_sees_an_envelope_that_arrived_meanwhile() -> None:
    def main() -> Any:
        hub = RUNTIME.adapter.current_hub()
        assert hub is not None
        inbox = GreenInbox(hub)
        items = EmptyOnce()
        inbox.use_queue(items)
        items.append(("arrived meanwhile", None))
        return inbox.get()  # would park for ever if it did not look again

    assert in_greenlet(main) == ("arrived meanwhile", None)


@pytest.mark.usefixtures("no_waiter_factories")
def test_without_waiter_factories_threads_wait_on_the_future_s_own_lock() -> None:
    future: GeventFuture[str] = GeventFuture()
    results: list[str] = []
    waiting = [threading.Thread(target=lambda: results.append(future.get(TIMEOUT)))]
    waiting.append(threading.Thread(target=lambda: results.append(future.get(TIMEOUT))))
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + TIMEOUT
    while future._lock is None:  # the first waiter made it
        assert time.monotonic() < deadline
        time.sleep(0.001)

    future.set("to both")
    for thread in waiting:
        thread.join(TIMEOUT)

    assert results == ["to both", "to both"]


# -- Interop -------------------------------------------------------------------------


def test_plain_threads_and_thread_actors_ask_gevent_actors() -> None:
    ref = Echo.start()

    class Asker(limelight.ThreadingActor):
        def ask_echo(self, message: str) -> Any:
            return ref.ask(message, timeout=TIMEOUT)

    assert in_thread(lambda: ref.ask("from a thread", timeout=TIMEOUT)) == (
        "from a thread"
    )
    assert Asker.start().proxy().ask_echo("from an actor").get(TIMEOUT) == (
        "from an actor"
    )


def test_a_gevent_future_is_awaitable_from_asyncio() -> None:
    ref = Echo.start()

    async def main() -> tuple[Any, Any]:
        asked = await ref.ask("awaited", block=False)
        called = await ref.proxy().nap(0.01)
        return asked, called

    assert asyncio.run(asyncio.wait_for(main(), TIMEOUT)) == ("awaited", 0.01)


# -- Timers --------------------------------------------------------------------------


class Ticker(GeventActor):
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


def test_a_hub_call_cancelled_from_another_thread_never_runs() -> None:
    hub = RUNTIME.background.hub()
    ran: list[str] = []
    done: limelight.Future[None] = limelight.ThreadingFuture()

    early = hub.call_later(0, lambda: ran.append("early"))
    early.cancel()  # before its start even reaches the hub
    late = hub.call_later(TIMEOUT, lambda: ran.append("late"))
    late.cancel()
    hub.call_later(0.01, lambda: done.set(None))

    done.get(TIMEOUT)
    assert ran == []


def test_a_hub_call_cancelled_in_the_hub_s_thread_never_runs() -> None:
    def main() -> list[str]:
        hub = RUNTIME.adapter.current_hub()
        assert hub is not None
        ran: list[str] = []
        hub.call_later(0.001, lambda: ran.append("not cancelled"))
        hub.call_later(0.001, lambda: ran.append("cancelled")).cancel()
        gevent.sleep(0.05)
        return ran

    assert in_greenlet(main) == ["not cancelled"]


def test_a_loop_without_ref_counting_is_held_by_a_watcher() -> None:
    # (libuv's loop has no usable ref()/unref(): a referenced watcher does it.)
    def main() -> Any:
        native = gevent.get_hub()
        keepalive = gevent_hub._KeepAlive(native)
        got: list[Any] = []

        def wait_for_other_thread() -> None:
            keepalive.hold()
            keepalive.hold()  # nested: only the first starts the watcher
            waiter = GreenWaiter(RUNTIME.adapter.current_hub(), gevent.getcurrent())  # type: ignore[arg-type]
            threading.Thread(target=waiter.release).start()
            got.append(waiter.acquire(True, TIMEOUT))
            keepalive.unhold()
            keepalive.unhold()

        wait_for_other_thread()
        return got

    assert in_thread(main) == [True]


def test_a_loop_that_cannot_count_references_gets_a_keepalive_watcher() -> None:
    class Watcher:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def start(self, _callback: Callable[[], None]) -> None:
            self.calls.append("start")

        def stop(self) -> None:
            self.calls.append("stop")

    class Loop:  # like libuv's: ref() and unref() do nothing
        def __init__(self) -> None:
            self.watcher = Watcher()

        def async_(self) -> Watcher:
            return self.watcher

    loop = Loop()
    hold, unhold = gevent_hub._holds(cast("Any", SimpleNamespace(loop=loop)))
    hold()
    hold()
    unhold()
    unhold()

    assert loop.watcher.calls == ["start", "stop"]  # by the outermost only


# -- Life cycle ----------------------------------------------------------------------


def test_an_actor_loop_that_fails_is_logged(
    monkeypatch: pytest.MonkeyPatch, limelight_logs: pytest.LogCaptureFixture
) -> None:
    def broken(self: Echo) -> None:
        self._begin_stop()
        raise RuntimeError("a bug in the loop")

    monkeypatch.setattr(Echo, "_actor_loop_start", broken)
    ref = Echo.start()
    assert ref.actor_stopped.wait(TIMEOUT)
    monkeypatch.undo()
    ref.actor_stopped.terminate(Terminated(ref, "normal", None))  # nobody else will
    # Nor will anybody let go of the background hub, which would otherwise
    # keep the test process alive at exit.
    RUNTIME.background.release(ref.actor_urn)

    deadline = time.monotonic() + TIMEOUT
    while not any("a bug" in str(r.exc_info) for r in limelight_logs.records):
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert any(r.levelno == logging.ERROR for r in limelight_logs.records)


def test_a_background_hub_ends_when_idle_at_exit_and_a_new_one_starts_after() -> None:
    background = BackgroundHub(RUNTIME.adapter, "limelight-gevent-test")
    hub = background.acquire("urn:one")
    assert background.owns(hub)
    assert background.is_running()

    background.close_when_idle()  # one actor still runs on it
    assert background.is_running()
    background.release("urn:one")  # the last: the hub ends
    assert background.wait_ended(TIMEOUT)
    assert not background.is_running()

    again = background.acquire("urn:two")  # after exit began: a new hub
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
        mine = hub.native is gevent.get_hub()
        RUNTIME.adapter.destroy_hub(hub)
        return mine, RUNTIME.background.owns(hub), answer

    assert in_thread(main) == (True, False, "served here")


def test_an_unpatched_program_exits_once_its_background_actors_stop() -> None:
    result = python(
        "-c",
        textwrap.dedent(
            """
            import threading, time
            from limelight.gevent import GeventActor

            class Late(GeventActor):
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
    from gevent import monkey
    monkey.patch_all()

    import threading
    import gevent
    import limelight
    from limelight.gevent import GeventActor

    class Echo(GeventActor):
        def on_receive(self, message):
            return message

        def ask_other(self, other, message):
            return other.ask(message)

    class Threaded(limelight.ThreadingActor):
        def on_receive(self, message):
            gevent.sleep(0.001)  # a greenlet, in a patched program
            return ("threaded", message)

        def ask_other(self, other, message):
            return other.ask(message)

    def in_a_greenlet():
        # Lives in the main thread's hub, like the thread actors.
        local = Echo.start()
        return local.proxy().ask_other(threaded, "via a local gevent actor").get()

    echo, threaded = Echo.start(), Threaded.start()
    print(echo.ask("plain"))
    print(echo.proxy().ask_other(threaded, "gevent to thread").get())
    print(threaded.proxy().ask_other(echo, "thread to gevent").get())
    print(gevent.spawn(in_a_greenlet).get())
    limelight.ActorRegistry.stop_all()
    print("left:", limelight.ActorRegistry.get_all())
    """
)


def test_a_monkey_patched_program_mixes_thread_and_gevent_actors() -> None:
    result = python("-c", PATCHED)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "plain",
        "('threaded', 'gevent to thread')",
        "thread to gevent",
        "('threaded', 'via a local gevent actor')",
        "left: []",
    ]


def test_import_limelight_does_not_import_gevent() -> None:
    # (What `import limelight` adds: coverage, measuring the subprocess,
    # imports greenlet itself, to follow greenlets.)
    result = python(
        "-c",
        "import sys\n"
        "before = set(sys.modules)\n"
        "import limelight, limelight.asyncio\n"
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
        "('gevent', 'greenlet')))",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
