"""limelight.testing: leak check, probe, manual runtime; and the pytest plugin."""

from __future__ import annotations

import asyncio
import importlib.metadata
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

import limelight
from limelight.asyncio import AsyncioActor
from limelight.messages import Terminated
from limelight.testing import ManualActor, ManualFuture, Probe, no_leaks, scheduler

pytest_plugins = ["pytester"]

TIMEOUT = 10.0
SHORT = 0.05  # for checks that must fail: how long they wait in vain


class Echo(limelight.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message


class Replier(limelight.ThreadingActor):
    """On ``("work", ref)``, tells `ref` "done"."""

    def on_receive(self, message: Any) -> Any:
        _, reply_to = message
        reply_to.tell("done")


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event that a leaking test's thread waits for; set after the test."""
    event = threading.Event()
    yield event
    event.set()


# -- The leak check --------------------------------------------------------------


def test_a_clean_block_passes_and_its_actors_are_stopped() -> None:
    with no_leaks():
        ref = Echo.start()
        assert ref.ask("hi") == "hi"
    assert not ref.is_alive()


def test_actors_from_before_the_block_are_left_running() -> None:
    older = Echo.start()
    with no_leaks():
        Echo.start()
    assert older.is_alive()
    older.stop()


def test_running_actors_can_count_as_leaks() -> None:
    refs: list[limelight.ActorRef[Any]] = []
    with (
        pytest.raises(AssertionError, match=r"actor Echo .* was still running"),
        no_leaks(running_actors="fail"),
    ):
        refs.append(Echo.start())
    assert not refs[0].is_alive()


def test_running_actors_must_be_stop_or_fail() -> None:
    with (
        pytest.raises(ValueError, match="running_actors"),
        no_leaks(
            running_actors="ignore"  # type: ignore[arg-type]
        ),
    ):
        pass  # pragma: no cover -- never entered


class SlowToStop(limelight.ThreadingActor):
    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def on_stop(self) -> None:
        self.gate.wait(TIMEOUT)


def test_an_actor_that_does_not_stop_is_a_leak(gate: threading.Event) -> None:
    refs: list[limelight.ActorRef[Any]] = []
    with pytest.raises(AssertionError) as caught, no_leaks(timeout=SHORT):
        refs.append(SlowToStop.start(gate))
    (ref,) = refs
    assert f"actor {ref} did not stop within {SHORT:g} s" in str(caught.value)
    gate.set()
    ref.actor_stopped.wait(TIMEOUT)


def test_a_leaked_thread_fails_with_its_name(gate: threading.Event) -> None:
    thread = threading.Thread(target=gate.wait, name="forgotten", daemon=True)
    with pytest.raises(AssertionError) as caught, no_leaks(timeout=SHORT):
        thread.start()
    message = str(caught.value)
    assert message.startswith("leak check failed (1 leak(s)):\n- ")
    assert "thread 'forgotten' (daemon) was still alive" in message
    gate.set()
    thread.join(TIMEOUT)


def test_a_thread_that_ends_soon_after_the_block_is_waited_for() -> None:
    started = threading.Event()

    def work() -> None:
        started.set()
        time.sleep(0.01)

    with no_leaks():
        threading.Thread(target=work, name="brief", daemon=False).start()
        started.wait(TIMEOUT)


class OwnThread(limelight.ThreadingActor):
    reuse_thread = False


def test_actor_threads_timers_and_the_background_loop_are_no_leaks() -> None:
    with no_leaks():
        OwnThread.start()  # its thread ends after it: waited for
        timed = Echo.start()
        timed.proxy().send_after(60.0, "later").get()  # starts the timer thread
        AsyncioEcho.start().ask("x")  # may start the background loop


class AsyncioEcho(AsyncioActor):
    def on_receive(self, message: Any) -> Any:
        return message


class TaskLeaker(AsyncioActor):
    def on_receive(self, message: Any) -> Any:
        loop = asyncio.get_running_loop()
        self.task = loop.create_task(asyncio.sleep(TIMEOUT), name=message)


def test_a_leaked_asyncio_task_fails_and_is_cancelled() -> None:
    AsyncioEcho.start().ask("warm up")  # the background loop runs before the block
    with pytest.raises(AssertionError) as caught, no_leaks(timeout=SHORT):
        TaskLeaker.start().ask("leaky-task")
    message = str(caught.value)
    assert "asyncio task 'leaky-task'" in message
    assert "it was cancelled" in message


def test_a_task_that_ends_soon_after_the_block_is_waited_for() -> None:
    class Brief(AsyncioActor):
        def on_receive(self, message: Any) -> Any:
            asyncio.get_running_loop().create_task(asyncio.sleep(0.01))

    AsyncioEcho.start().ask("warm up")
    with no_leaks():
        Brief.start().ask("go")


class LoopBlocker(AsyncioActor):
    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def on_start(self) -> None:
        self.gate.wait(TIMEOUT)  # a plain hook that waits: blocks the loop


def test_a_blocked_background_loop_is_reported(gate: threading.Event) -> None:
    AsyncioEcho.start().ask("warm up")
    refs: list[limelight.ActorRef[Any]] = []
    with pytest.raises(AssertionError) as caught, no_leaks(timeout=SHORT):
        refs.append(LoopBlocker.start(gate))
    (ref,) = refs
    message = str(caught.value)
    assert "did not stop" in message
    assert "the asyncio background loop did not respond" in message
    gate.set()
    ref.actor_stopped.wait(TIMEOUT)


def test_an_exception_in_the_block_goes_on_and_actors_are_stopped() -> None:
    refs: list[limelight.ActorRef[Any]] = []
    with pytest.raises(KeyError), no_leaks():  # noqa: PT012
        refs.append(Echo.start())
        raise KeyError("mine")
    assert not refs[0].is_alive()


def test_without_the_asyncio_runtime_no_loop_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "limelight._runtimes.event_loop.runtime")
    with no_leaks():
        Echo.start()


def test_no_leaks_is_a_decorator_too() -> None:
    refs: list[limelight.ActorRef[Any]] = []

    @no_leaks(timeout=1)
    def body() -> None:
        refs.append(Echo.start())

    body()
    assert not refs[0].is_alive()


# -- The probe -------------------------------------------------------------------


def test_the_probe_expects_what_the_worker_sends() -> None:
    with Probe.start() as probe:
        worker = Replier.start()
        worker.tell(("work", probe.ref))
        assert probe.expect("done", timeout=TIMEOUT) == "done"
    assert not probe.ref.is_alive()


def test_expect_takes_the_first_match_not_yet_taken() -> None:
    with Probe.start() as probe:
        for message in ("a", 1, "b", 2):
            probe.ref.tell(message)
        assert probe.expect(int, timeout=TIMEOUT) == 1

        def is_two(message: Any) -> bool:
            return bool(message == 2)

        assert probe.expect(is_two, timeout=TIMEOUT) == 2
        assert probe.expect(timeout=TIMEOUT) == "a"
        assert probe.expect("b", timeout=TIMEOUT) == "b"
        assert probe.messages == ["a", 1, "b", 2]


def test_expect_waits_for_a_message_that_comes_later() -> None:
    with Probe.start() as probe:
        timer = threading.Timer(0.02, probe.ref.tell, args=("late",))
        timer.start()
        assert probe.expect("late", timeout=TIMEOUT) == "late"
        timer.join()


def test_expect_timeout_names_what_arrived_instead() -> None:
    with Probe.start() as probe:
        probe.ref.tell("hello")
        probe.ref.tell(42)
        probe.expect(42, timeout=TIMEOUT)
        with pytest.raises(
            AssertionError,
            match=r"probe expected 'done' within 0.05 s, but received only \['hello'\]",
        ):
            probe.expect("done", timeout=SHORT)
        probe.expect("hello", timeout=TIMEOUT)
        with pytest.raises(
            AssertionError, match=r"a Terminated .* received nothing new"
        ):
            probe.expect(Terminated, timeout=SHORT)

        def is_big(message: Any) -> bool:
            return False  # pragma: no cover -- nothing arrives

        with pytest.raises(AssertionError, match=r"for which .*is_big\(\) is true"):
            probe.expect(is_big, timeout=0)


def test_expect_no_message() -> None:
    with Probe.start() as probe:
        probe.expect_no_message(within=0.01)
        probe.ref.tell("surprise")
        with pytest.raises(
            AssertionError, match=r"expected no message within 0.01 s, .*'surprise'"
        ):
            probe.expect_no_message(within=0.01)


def test_a_probe_watches_an_actor() -> None:
    with Probe.start() as probe:
        worker = Echo.start()
        probe.watch(worker)
        worker.stop()
        terminated = probe.expect(Terminated, timeout=TIMEOUT)
        assert terminated == Terminated(worker, "normal", None)


def test_a_probe_answers_asks_as_told() -> None:
    with Probe.start(reply=lambda message: message * 2) as probe:
        assert probe.ref.ask(21) == 42
        assert probe.expect(21, timeout=TIMEOUT) == 21
    with Probe.start() as quiet:
        assert quiet.ref.ask("x") is None
        assert repr(quiet).startswith("<Probe urn:uuid:")


# -- The manual runtime ------------------------------------------------------------


class Relay(ManualActor):
    """Logs each message and passes a countdown on to the next relay."""

    def __init__(self, name: str, log: list[Any]) -> None:
        super().__init__()
        self.name = name
        self.log = log
        self.next: limelight.ActorRef[Any] | None = None

    def on_start(self) -> None:
        self.log.append((self.name, "start"))

    def on_stop(self) -> None:
        self.log.append((self.name, "stop"))

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.log.append((self.name, "failure", str(exception_value)))

    def on_receive(self, message: Any) -> Any:
        self.log.append((self.name, message))
        match message:
            case ("link", ref):
                self.next = ref
            case int(n) if n > 0 and self.next is not None:
                self.next.tell(n - 1)
            case "fail":
                raise RuntimeError("boom")
            case ("ask", ref, question):
                return ref.ask(question)
            case _:
                pass
        return message


def test_interleaved_messages_run_in_the_order_they_were_sent() -> None:
    log: list[Any] = []
    a = Relay.start("a", log)
    b = Relay.start("b", log)
    c = Relay.start("c", log)
    a.tell(("link", b))
    b.tell(("link", a))
    a.tell(3)
    c.tell("x")
    assert log == []  # nothing runs until the test says so
    assert scheduler.step()
    assert log == [("a", "start")]
    scheduler.run_until_idle()
    assert log == [
        ("a", "start"),
        ("b", "start"),
        ("c", "start"),
        ("a", ("link", b)),
        ("b", ("link", a)),
        ("a", 3),
        ("c", "x"),
        ("b", 2),
        ("a", 1),
        ("b", 0),
    ]
    assert not scheduler.step()


def test_ask_from_the_test_runs_the_scheduler() -> None:
    log: list[Any] = []
    a = Relay.start("a", log)
    a.tell("first")
    assert a.ask("second") == "second"
    assert log == [("a", "start"), ("a", "first"), ("a", "second")]
    future = a.ask("third", block=False)
    assert isinstance(future, ManualFuture)
    assert future.get() == "third"


def test_manual_actors_ask_each_other() -> None:
    log: list[Any] = []
    a = Relay.start("a", log)
    b = Relay.start("b", log)
    assert a.ask(("ask", b, "q")) == "q"
    assert log[-2:] == [("a", ("ask", b, "q")), ("b", "q")]


def test_an_ask_back_to_a_busy_asker_is_a_deadlock() -> None:
    log: list[Any] = []
    a = Relay.start("a", log)
    b = Relay.start("b", log)
    with pytest.raises(
        limelight.DeadlockError, match=r"Relay .* cannot run: it is busy"
    ):
        a.ask(("ask", b, ("ask", a, "q")))


def test_get_on_an_idle_scheduler_is_a_deadlock() -> None:
    future: ManualFuture[Any] = ManualFuture()
    with pytest.raises(limelight.DeadlockError, match="would wait forever"):
        future.get()
    with pytest.raises(limelight.Timeout):
        future.get(timeout=0.01)


def test_the_deadlock_message_names_the_actor_and_pending_timers() -> None:
    class Silent(ManualActor):
        def on_start(self) -> None:
            self.send_after(10.0, "wake")

        def on_receive(self, message: Any) -> Any:
            return None

    ref = Silent.start()
    future = ref.ask("hello", block=False)
    # Swallowed: the reply never comes for a message the actor never got.
    future_never: ManualFuture[Any] = ManualFuture()
    future_never._producer = ref
    with pytest.raises(limelight.DeadlockError) as caught:
        future_never.get()
    message = str(caught.value)
    assert f"the reply of {ref}" in message
    assert "1 timer(s) wait for the virtual clock" in message
    assert future.get() is None


def test_get_with_a_timeout_waits_for_a_message_from_another_thread() -> None:
    log: list[Any] = []
    a = Relay.start("a", log)
    scheduler.run_until_idle()
    future: ManualFuture[Any] = ManualFuture()
    sender = threading.Timer(0.02, lambda: a.tell(("done", future)))
    a_future = a.ask("ping", block=False)
    sender.start()
    assert a_future.get(timeout=TIMEOUT) == "ping"
    # A future set by another thread wakes a waiting get() too.
    threading.Timer(0.02, future.set, args=("set",)).start()
    assert future.get(timeout=TIMEOUT) == "set"
    sender.join()
    scheduler.run_until_idle()


def test_timers_run_on_the_virtual_clock() -> None:
    ticks: list[tuple[float, Any]] = []

    class Ticker(ManualActor):
        def on_start(self) -> None:
            self.ticker = self.send_every(1.0, "tick", initial_delay=0.5)
            self.send_after(2.2, "once")

        def on_receive(self, message: Any) -> Any:
            ticks.append((scheduler.time, message))
            if message == "once":
                self.ticker.cancel()

    start = scheduler.time
    ref = Ticker.start()
    scheduler.advance(0.4)
    assert ticks == []
    scheduler.advance(10.0)
    assert [(t - start, m) for t, m in ticks] == [
        (0.5, "tick"),
        (1.5, "tick"),
        (2.2, "once"),
    ]
    assert scheduler.time == pytest.approx(start + 10.4)
    assert scheduler.pending_timers() == 0
    ref.stop()


def test_send_after_zero_runs_with_the_next_step() -> None:
    log: list[Any] = []

    class Soon(ManualActor):
        def on_start(self) -> None:
            self.send_after(0, "now")
            self.send_after(0, "cancelled").cancel()

        def on_receive(self, message: Any) -> Any:
            log.append(message)

    Soon.start()
    assert scheduler.run_until_idle() == 2
    assert log == ["now"]


def test_advance_refuses_bad_durations() -> None:
    with pytest.raises(ValueError, match=r"seconds must be a finite .* >= 0"):
        scheduler.advance(-1)
    with pytest.raises(TypeError, match="seconds must be a number"):
        scheduler.advance("1")  # type: ignore[arg-type]


def test_stop_handles_queued_messages_first() -> None:
    log: list[Any] = []
    a = Relay.start("a", log)
    a.tell("queued")
    assert a.stop() is True
    assert log == [("a", "start"), ("a", "queued"), ("a", "stop")]
    assert a.stop() is False


def test_a_crash_runs_on_failure_and_tells_watchers() -> None:
    log: list[Any] = []
    a = Relay.start("a", log)
    termination = a.termination()
    a.tell("fail")
    a.tell("never")
    terminated = termination.get()
    assert terminated.reason == "failure"
    assert log == [("a", "start"), ("a", "fail"), ("a", "failure", "boom")]


def test_kill_drops_queued_messages() -> None:
    log: list[Any] = []
    a = Relay.start("a", log)
    scheduler.run_until_idle()
    a.tell("dropped")
    asked = a.ask("failed", block=False)
    assert a.kill()
    with pytest.raises(limelight.ActorDeadError):
        asked.get()
    assert a.termination().get().reason == "killed"
    assert log == [("a", "start")]


def test_a_manual_watcher_is_told_of_a_manual_actor_s_end() -> None:
    log: list[Any] = []

    class Watcher(ManualActor):
        def on_receive(self, message: Any) -> Any:
            log.append(message)

    a = Relay.start("a", [])
    watcher = Watcher.start()
    watcher.proxy().watch(a).get()
    a.stop()
    scheduler.run_until_idle()
    assert log == [Terminated(a, "normal", None)]


def test_a_failing_on_start_stops_the_actor() -> None:
    class Broken(ManualActor):
        def on_start(self) -> None:
            raise RuntimeError("no")

    ref = Broken.start()
    assert ref.termination().get().reason == "failure"


def test_run_until_idle_gives_up_on_an_endless_chatter() -> None:
    class Chatter(ManualActor):
        def on_receive(self, message: Any) -> Any:
            self.actor_ref.tell(message)

    ref = Chatter.start()
    ref.tell("again")
    with pytest.raises(RuntimeError, match="still busy after 10 steps"):
        scheduler.run_until_idle(max_steps=10)
    ref.kill()
    scheduler.run_until_idle()


def test_a_manual_inbox_is_not_read_by_blocking() -> None:
    ref = Relay.start("a", [])
    with pytest.raises(TypeError, match="drained by its scheduler"):
        ref.actor_inbox.get()
    assert ref.actor_inbox.empty()
    with pytest.raises(queue.Empty):
        ref.actor_inbox.get_nowait()
    assert scheduler.pending() >= 1


def test_a_bounded_manual_actor_uses_its_mailbox() -> None:
    class Small(ManualActor):
        mailbox_capacity = 1
        mailbox_overflow = "raise"

        def on_receive(self, message: Any) -> Any:
            return message

    ref = Small.start()
    ref.tell(1)
    with pytest.raises(limelight.MailboxFull):
        ref.tell(2)
    scheduler.run_until_idle()
    assert ref.ask(3) == 3


def test_the_leak_check_stops_manual_actors() -> None:
    with no_leaks():
        ref = Relay.start("a", [])
        ref.tell("left")
    assert not ref.is_alive()


# -- The pytest plugin -------------------------------------------------------------


def _plugin_args() -> list[str]:
    """Load the plugin, unless the installed package's entry point loads it."""
    for entry_point in importlib.metadata.entry_points(group="pytest11"):
        if entry_point.value == "limelight.pytest_plugin":  # pragma: no cover
            return []
    return ["-p", "limelight.pytest_plugin"]


LEAKY_TESTS = """
import threading, time
import pytest
import limelight

class Echo(limelight.ThreadingActor):
    def on_receive(self, message):
        return message

def test_leaves_an_actor_running():
    Echo.start()

def test_leaks_a_thread():
    threading.Thread(target=time.sleep, args=(0.3,), name="leaky", daemon=True).start()

@pytest.mark.limelight_no_leaks(enabled=False)
def test_leaks_a_thread_but_opted_out():
    threading.Thread(target=time.sleep, args=(0.3,), name="ok", daemon=True).start()
"""


def test_the_plugin_does_nothing_unless_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LEAKY_TESTS)
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_ini_option_checks_every_test(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nlimelight_no_leaks = true\nlimelight_leak_timeout = 0.05\n"
    )
    pytester.makepyfile(LEAKY_TESTS)
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks_a_thread*",
            "*leak check failed (1 leak(s)):",
            "*- thread 'leaky' (daemon) was still alive 0.05 s after the block",
        ]
    )


def test_the_marker_checks_some_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import limelight

        class Echo(limelight.ThreadingActor):
            pass

        @pytest.mark.limelight_no_leaks(running_actors="fail", timeout=1)
        def test_strict():
            Echo.start()

        def test_unchecked():
            Echo.start()

        def test_requested(limelight_no_leaks):
            Echo.start()
        """
    )
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*actor Echo * was still running*"])


def test_the_probe_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_probe(limelight_probe):
            limelight_probe.ref.tell("hi")
            assert limelight_probe.expect("hi", timeout=5) == "hi"

        def test_probe_times_out(limelight_probe):
            limelight_probe.expect("nothing", timeout=0.01)
        """
    )
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*probe expected 'nothing' within 0.01 s*"])


def test_a_bad_leak_timeout_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nlimelight_leak_timeout = soon\n")
    pytester.makepyfile("def test_x(limelight_no_leaks):\n    pass\n")
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*limelight_leak_timeout must be a number*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_the_entry_point_is_declared() -> None:
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert (
        '[project.entry-points.pytest11]\nlimelight = "limelight.pytest_plugin"\n'
        in pyproject
    )


def test_import_limelight_imports_neither_the_toolkit_nor_pytest() -> None:
    code = (
        "import sys, limelight; "
        "print(sorted({'limelight.testing', 'pytest'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
