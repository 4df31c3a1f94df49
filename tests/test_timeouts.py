"""Timeouts: the one reading (``_core/_timeouts.py``), and callers off the suite.

The conformance suite (tests/conformance/test_timeouts.py) checks the calls
every runtime offers; these check the rules themselves, and the test
helpers and the manual runtime of `limelight.testing`.
"""

from __future__ import annotations

import math
import threading
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

import limelight
import limelight.observe
from limelight._core import _timeouts
from limelight._core._stopped import StoppedEvent
from limelight.testing import ManualActor, ManualFuture, Probe, no_leaks

NOT_A_NUMBER: Any = "1"
"""A timeout as a caller without type checks may pass it."""

# -- The rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "read"),
    [
        (0, 0),
        (5, 5),  # kept an int, so that a Timeout still says "5 seconds"
        (0.25, 0.25),
        (-1, -1),  # a deadline passed: the waits make it 0
        (-math.inf, -math.inf),
        (Fraction(1, 4), 0.25),  # any other real number, as a float
        (_timeouts.MAX, _timeouts.MAX),
        (math.inf, None),
        (_timeouts.MAX * 2, None),
        (10**400, None),  # too large for a float
        (Fraction(10**400), None),
    ],
)
def test_seconds_reads_real_numbers(given: Any, read: float | None) -> None:
    assert _timeouts.seconds(given) == read
    assert type(_timeouts.seconds(given)) is type(read)


def test_seconds_reads_a_huge_negative_fraction_as_a_deadline_passed() -> None:
    assert _timeouts.seconds(Fraction(-(10**400))) == -math.inf


@pytest.mark.parametrize("bad", ["1", b"1", True, False, 1j, Decimal(1), object()])
def test_seconds_refuses_what_is_not_a_real_number(bad: object) -> None:
    with pytest.raises(TypeError) as raised:
        _timeouts.seconds(bad, "delay")

    assert (
        str(raised.value) == f"delay must be a number of seconds or None, not {bad!r}"
    )


def test_seconds_refuses_nan() -> None:
    with pytest.raises(ValueError, match=r"^timeout must be .* or None, not NaN$"):
        _timeouts.seconds(math.nan)
    with pytest.raises(ValueError, match="not NaN"):
        _timeouts.seconds(Fraction(1, 2) * math.nan)


def test_optional_seconds_reads_none_as_no_limit() -> None:
    assert _timeouts.optional_seconds(None) is None
    assert _timeouts.optional_seconds(2) == 2
    with pytest.raises(TypeError, match="within must be"):
        _timeouts.optional_seconds("x", "within")


def test_deadline_and_remaining() -> None:
    assert _timeouts.deadline(None) is None
    assert _timeouts.remaining(None) is None
    deadline = _timeouts.deadline(60.0)
    assert deadline is not None
    remaining = _timeouts.remaining(deadline)
    assert remaining is not None
    assert 59.0 < remaining <= 60.0
    assert _timeouts.remaining(deadline - 120.0) == 0.0


# -- The core's own waits ------------------------------------------------------------


def test_a_stopped_event_reads_its_timeout() -> None:
    event = StoppedEvent()

    with pytest.raises(TypeError, match=r"^timeout must be a number"):
        event.wait(NOT_A_NUMBER)
    assert event.wait(-1) is False
    threading.Timer(0.01, event.set).start()
    assert event.wait(math.inf) is True
    assert event.wait() is True


def test_a_base_future_with_a_get_hook_reads_its_timeout() -> None:
    class Plain(limelight.Future[int]):
        """The interface itself, with a get hook: no runtime's future."""

    future = Plain()
    seen: list[float | None] = []

    def hook(timeout: float | None) -> int:
        seen.append(timeout)
        return 1

    future.set_get_hook(hook)

    with pytest.raises(TypeError, match=r"^timeout must be a number"):
        future.get(NOT_A_NUMBER)
    assert future.get(math.inf) == 1
    assert seen == [None]  # the hook got "no timeout"


# -- limelight.testing ---------------------------------------------------------------


class Echo(ManualActor):
    def on_receive(self, message: Any) -> Any:
        return message


def test_a_manual_future_reads_its_timeout_before_running_steps() -> None:
    ref = Echo.start()
    future = ref.ask("hello", block=False)

    with pytest.raises(TypeError, match=r"^timeout must be a number"):
        future.get(NOT_A_NUMBER)
    assert not future._is_ready()  # no step ran
    assert future.get(math.inf) == "hello"
    ref.stop()


def test_a_manual_future_with_an_endless_timeout_is_a_deadlock_when_idle() -> None:
    future: ManualFuture[int] = ManualFuture()

    # As with no timeout: nothing could ever complete it.
    with pytest.raises(limelight.DeadlockError):
        future.get(timeout=math.inf)
    with pytest.raises(limelight.Timeout):
        future.get(timeout=-1)


def test_no_leaks_reads_its_timeout() -> None:
    with (
        pytest.raises(TypeError, match=r"^timeout must be a number"),
        no_leaks(NOT_A_NUMBER),
    ):
        pass  # pragma: no cover -- refused on entry


def start_then_fail(started: list[limelight.ActorRef[Any]]) -> None:
    started.append(limelight.ThreadingActor.start())
    raise RuntimeError("boom")


@pytest.mark.parametrize("forever", [None, math.inf])
def test_no_leaks_without_a_time_limit(forever: float | None) -> None:
    with no_leaks(forever):
        ref = limelight.ThreadingActor.start()
    assert not ref.is_alive()

    started: list[limelight.ActorRef[Any]] = []
    with pytest.raises(RuntimeError, match="boom"), no_leaks(forever):
        start_then_fail(started)
    assert not started[0].is_alive()


def test_no_leaks_reports_a_leak_with_its_time_limit() -> None:
    release = threading.Event()
    leaky = threading.Thread(target=release.wait, name="leaky")
    with (
        pytest.raises(AssertionError, match=r"still alive 0\.01 s after"),
        no_leaks(0.01),
    ):
        leaky.start()
    release.set()


def test_a_probe_reads_its_timeouts() -> None:
    with Probe.start() as probe:
        with pytest.raises(TypeError, match=r"^timeout must be a number"):
            probe.expect("x", timeout=NOT_A_NUMBER)
        with pytest.raises(ValueError, match=r"^within must be a number .* NaN"):
            probe.expect_no_message(math.nan)

        threading.Timer(0.01, probe.ref.tell, ["late"]).start()
        assert probe.expect("late", timeout=math.inf) == "late"
        probe.ref.tell("now")
        assert probe.expect("now", timeout=None) == "now"
        probe.expect_no_message(0)
        probe.ref.ask("early")  # (recorded once answered)
        with pytest.raises(AssertionError, match=r"within -1 s, but received"):
            probe.expect_no_message(-1)
        with pytest.raises(AssertionError, match=r"within -1 s, but received"):
            probe.expect("never", timeout=-1)


# -- Settings that are timeouts -------------------------------------------------------


def test_an_endless_mailbox_block_timeout_waits_for_room() -> None:
    gate = threading.Event()

    class Held(limelight.ThreadingActor):
        mailbox_capacity = 1
        mailbox_overflow = "block"
        mailbox_block_timeout = math.inf

        def on_receive(self, message: Any) -> None:
            gate.wait(10.0)

    ref = Held.start()
    ref.tell("handled first")
    ref.tell("fills the mailbox")
    threading.Timer(0.05, gate.set).start()

    ref.tell("waits for room")  # (raised OverflowError)

    assert ref.stop() is True


@pytest.mark.parametrize("bad", ["x", True, float("nan")])
def test_a_snapshot_reads_its_timeout(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="timeout must be"):
        limelight.observe.snapshot(timeout=bad)  # type: ignore[arg-type]


def test_a_snapshot_of_workers_may_wait_without_a_limit() -> None:
    assert limelight.observe.snapshot(include_workers=True, timeout=math.inf) == []
    assert limelight.observe.snapshot(include_workers=True, timeout=None) == []


@pytest.mark.parametrize("bad", ["x", float("nan")])
def test_shutting_down_the_worker_processes_reads_its_timeout(bad: object) -> None:
    import limelight.process  # noqa: PLC0415

    with pytest.raises((TypeError, ValueError), match="timeout must be"):
        limelight.process.shutdown(timeout=bad)  # type: ignore[arg-type]
    limelight.process.shutdown(timeout=math.inf)  # (none running: nothing to wait for)
