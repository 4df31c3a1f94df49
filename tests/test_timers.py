"""Timers, runtime by runtime: the shared scheduler thread, and the event loop's timers.

What timers mean is tested for every runtime in ``conformance/test_timers.py``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import types
from collections.abc import Callable
from typing import Any

import pytest

import limelight
from limelight._core import _timers
from limelight._core._scheduler import THREAD_NAME, Scheduler
from limelight._runtimes.threads import RUNTIME as THREADING
from limelight.asyncio import AsyncioActor
from tests.conformance.actors import TIMEOUT

# -- The scheduler -------------------------------------------------------------


def test_the_scheduler_starts_its_thread_with_the_first_call_and_ends_it_idle() -> None:
    scheduler = Scheduler(keep_alive=0.01)
    assert not scheduler.is_running()
    called = threading.Event()

    scheduler.call_later(0, called.set)
    thread = scheduler._thread

    assert thread is not None
    assert thread.name == THREAD_NAME
    assert thread.daemon
    assert called.wait(TIMEOUT)
    thread.join(TIMEOUT)  # idle for keep_alive: it ends
    assert not thread.is_alive()
    assert not scheduler.is_running()

    again = threading.Event()
    scheduler.call_later(0, again.set)  # starts another
    assert again.wait(TIMEOUT)


def test_calls_run_in_the_order_they_are_due() -> None:
    scheduler = Scheduler()
    order: list[int] = []
    done = threading.Event()
    gate = threading.Event()
    scheduler.call_later(0, lambda: gate.wait(TIMEOUT))  # none runs before all are in

    def last() -> None:
        order.append(3)
        done.set()

    scheduler.call_later(0.06, last)
    scheduler.call_later(0.04, lambda: order.append(2))
    scheduler.call_later(0.02, lambda: order.append(1))
    gate.set()

    assert done.wait(TIMEOUT)
    assert order == [1, 2, 3]


def test_cancelling_the_earliest_call_lets_the_thread_wait_for_the_next() -> None:
    scheduler = Scheduler()
    called: list[str] = []
    done = threading.Event()
    earliest = scheduler.call_later(0.1, lambda: called.append("earliest"))

    def then() -> None:
        called.append("next")
        done.set()

    scheduler.call_later(0.12, then)

    earliest.cancel()
    earliest.cancel()  # a second time changes nothing

    assert scheduler.pending() == 1
    assert earliest.callback is None  # no reference kept
    assert done.wait(TIMEOUT)
    assert called == ["next"]
    assert scheduler.pending() == 0


def test_cancelled_calls_do_not_pile_up_in_the_heap() -> None:
    scheduler = Scheduler()
    calls = [scheduler.call_later(3600 + n, lambda: None) for n in range(200)]

    for call in calls[1:]:  # never the earliest, which the thread waits for
        call.cancel()

    assert scheduler.pending() == 1
    assert len(scheduler._heap) < 100
    calls[0].cancel()
    assert scheduler.pending() == 0


def test_a_failing_callback_is_logged_and_the_others_still_run(
    limelight_logs: pytest.LogCaptureFixture,
) -> None:
    scheduler = Scheduler()
    done = threading.Event()

    def fail() -> None:
        raise RuntimeError("callback failed")

    scheduler.call_later(0, fail)
    scheduler.call_later(0.01, done.set)

    assert done.wait(TIMEOUT)
    [record] = [r for r in limelight_logs.records if "callback" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "callback failed"


# -- The threading runtime -----------------------------------------------------


class Timed(limelight.ThreadingActor):
    """Records what its timers send; sets `done` when `expected` arrived."""

    def __init__(self, done: threading.Event | None = None, expected: int = 1) -> None:
        super().__init__()
        self.got: list[Any] = []
        self.done = done
        self.expected = expected

    def on_receive(self, message: Any) -> None:
        self.got.append(message)
        if self.done is not None and len(self.got) >= self.expected:
            self.done.set()

    def received(self) -> list[Any]:
        return self.got

    def cancel_queued(self, interval: float | None) -> tuple[bool, bool]:
        """Set a timer, wait until its message is queued, cancel it."""
        timer = (
            self.send_after(0, "cancelled")
            if interval is None
            else self.send_every(interval, "cancelled", initial_delay=0)
        )
        deadline = time.monotonic() + TIMEOUT
        while self.actor_inbox.empty() and time.monotonic() < deadline:
            time.sleep(0.001)
        queued = not self.actor_inbox.empty()
        return queued, timer.cancel()


def test_thread_actors_share_the_runtime_s_scheduler() -> None:
    ref = Timed.start()
    pending = THREADING.timers.pending()

    timer = ref.proxy().send_after(3600, "later").get(TIMEOUT)

    assert THREADING.timers.pending() == pending + 1
    assert THREADING.timers.is_running()
    assert any(t.name == THREAD_NAME for t in threading.enumerate())
    assert timer.cancel()
    assert THREADING.timers.pending() == pending


@pytest.mark.parametrize("interval", [None, 0.001], ids=["once", "every"])
def test_a_message_queued_before_its_timer_is_cancelled_is_skipped(
    interval: float | None,
) -> None:
    ref = Timed.start()
    proxy = ref.proxy()

    queued, cancelled = proxy.cancel_queued(interval).get(TIMEOUT)

    assert queued
    assert cancelled
    assert "cancelled" not in proxy.received().get(TIMEOUT)


class FakeCalls:
    """Stands in for a runtime's call_later(): records calls, runs them on demand."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.callbacks: list[Callable[[], object]] = []
        self.cancelled = 0
        self.during: Callable[[], object] | None = None  # run inside call_later()

    def call_later(
        self, actor: limelight.Actor, delay: float, callback: Callable[[], object]
    ) -> FakeCalls:
        self.delays.append(round(delay, 6))
        self.callbacks.append(callback)
        if self.during is not None:
            self.during()
        return self

    def cancel(self) -> None:
        self.cancelled += 1

    def fire(self) -> None:
        self.callbacks[-1]()


@pytest.fixture
def fake_calls(monkeypatch: pytest.MonkeyPatch) -> FakeCalls:
    fake = FakeCalls()
    monkeypatch.setattr(THREADING, "call_later", fake.call_later)
    return fake


def test_a_periodic_timer_keeps_its_rate_without_catching_up_in_a_burst(
    fake_calls: FakeCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = types.SimpleNamespace(now=100.0)
    monkeypatch.setattr(
        _timers, "time", types.SimpleNamespace(monotonic=lambda: clock.now)
    )
    done = threading.Event()
    ref = Timed.start(done, expected=3)

    timer = ref.proxy().send_every(1.0, "tick", initial_delay=0.5).get(TIMEOUT)
    clock.now = 100.6  # 0.1 s late: the next is still due at 101.5
    fake_calls.fire()
    clock.now = 105.2  # 3.7 s late: one tick now, none for the missed ones
    fake_calls.fire()
    fake_calls.fire()  # on time

    assert fake_calls.delays == [0.5, 0.9, 0.0, 1.0]
    assert done.wait(TIMEOUT)
    assert ref.proxy().received().get(TIMEOUT) == ["tick"] * 3
    assert timer.cancel()
    assert fake_calls.cancelled == 1


def test_a_timer_cancelled_while_it_fires_is_not_scheduled_again(
    fake_calls: FakeCalls,
) -> None:
    ref = Timed.start()
    timer = ref.proxy().send_every(1.0, "tick").get(TIMEOUT)
    fake_calls.during = timer.cancel  # as if another thread cancelled it

    fake_calls.fire()  # tells, reschedules, finds it cancelled
    fake_calls.fire()  # a call that raced the cancel does nothing

    assert fake_calls.cancelled == 1  # the rescheduled call, withdrawn
    assert len(fake_calls.callbacks) == 2
    assert not timer.active
    assert ref.proxy().received().get(TIMEOUT) == []  # the tick was skipped


def test_a_timer_set_while_its_actor_stops_is_cancelled(fake_calls: FakeCalls) -> None:
    ref = Timed.start()
    actor = _actor_of(ref)
    fake_calls.during = ref.stop  # the actor stops as the timer is scheduled

    with pytest.raises(limelight.ActorDeadError, match="cannot set a timer"):
        actor.send_after(1.0, "too late")

    assert fake_calls.cancelled == 1


class SlowToStop(Timed):
    """Holds its stop up in ``on_stop()``: stopped, but not yet torn down."""

    def __init__(self, entered: threading.Event, gate: threading.Event) -> None:
        super().__init__()
        self.entered = entered
        self.gate = gate

    def on_stop(self) -> None:
        self.entered.set()
        self.gate.wait(TIMEOUT)


def test_a_timer_due_while_its_actor_stops_is_dropped_and_ends(
    fake_calls: FakeCalls,
) -> None:
    entered, gate = threading.Event(), threading.Event()
    ref = SlowToStop.start(entered, gate)
    timer = ref.proxy().send_every(1.0, "tick").get(TIMEOUT)
    stopped = ref.stop(block=False)
    assert entered.wait(TIMEOUT)

    fake_calls.fire()  # the tell fails: the actor has stopped

    assert not timer.active
    assert len(fake_calls.callbacks) == 1  # not scheduled again
    gate.set()
    assert stopped.get(TIMEOUT)


def _actor_of(ref: limelight.ActorRef[Timed]) -> Timed:
    actor = ref._actor_weakref()
    assert actor is not None
    return actor


# -- The asyncio runtime -------------------------------------------------------


class LoopTimed(AsyncioActor):
    """Records what its timers send; sets `done` when something arrived."""

    def __init__(self, done: threading.Event | asyncio.Event | None = None) -> None:
        super().__init__()
        self.got: list[Any] = []
        self.done = done

    def on_receive(self, message: Any) -> None:
        self.got.append(message)
        if self.done is not None:
            self.done.set()

    def received(self) -> list[Any]:
        return self.got

    def hold(self, gate: threading.Event) -> None:
        gate.wait(TIMEOUT)

    async def cancel_queued(self) -> tuple[bool, bool]:
        """Set a timer, let the loop queue its message, cancel it."""
        timer = self.send_after(0, "cancelled")
        deadline = time.monotonic() + TIMEOUT
        while self.actor_inbox.empty() and time.monotonic() < deadline:
            await asyncio.sleep(0.001)  # the loop runs the timer meanwhile
        queued = not self.actor_inbox.empty()
        return queued, timer.cancel()


def test_asyncio_timers_are_the_actor_s_loop_s_timers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scheduled: list[object] = []  # what the callbacks scheduled are bound to

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        call_at = loop.call_at

        def recording_call_at(
            when: float, callback: Callable[..., object], *args: Any, **kwargs: Any
        ) -> Any:
            scheduled.append(getattr(callback, "__self__", None))
            return call_at(when, callback, *args, **kwargs)

        monkeypatch.setattr(loop, "call_at", recording_call_at)
        arrived = asyncio.Event()
        async with LoopTimed.start(arrived) as ref:
            await ref.proxy().send_after(0.01, "ping")
            await asyncio.wait_for(arrived.wait(), TIMEOUT)
            got: list[Any] = await ref.proxy().received()
            return got

    assert asyncio.run(main()) == ["ping"]
    assert [type(owner) for owner in scheduled].count(limelight.Timer) == 1


def test_a_message_queued_before_its_loop_timer_is_cancelled_is_skipped() -> None:
    ref = LoopTimed.start()
    proxy = ref.proxy()

    queued, cancelled = proxy.cancel_queued().get(TIMEOUT)

    assert queued
    assert cancelled
    assert proxy.received().get(TIMEOUT) == []


def test_a_timer_set_and_cancelled_from_another_thread_never_reaches_the_loop() -> None:
    arrived = threading.Event()
    ref = LoopTimed.start(arrived)
    actor = _actor_of_loop(ref)
    gate = threading.Event()
    ref.proxy().hold(gate)  # the loop is busy: nothing scheduled runs yet

    timer = actor.send_after(0, "cancelled")
    assert timer.cancel()
    actor.send_after(0.01, "sentinel")
    gate.set()

    assert arrived.wait(TIMEOUT)
    assert ref.proxy().received().get(TIMEOUT) == ["sentinel"]


def test_a_timer_cannot_be_set_once_the_actor_s_loop_has_closed() -> None:
    async def main() -> tuple[LoopTimed, limelight.Timer]:
        ref = LoopTimed.start()
        actor = _actor_of_loop(ref)
        return actor, actor.send_after(3600, "later")

    actor, timer = asyncio.run(main())  # closes the loop, the actor on it

    assert timer.cancel()  # the closed loop cannot be told; nothing to tell
    with pytest.raises(limelight.ActorDeadError, match="cannot set a timer"):
        actor.send_after(0, "never")
    assert actor.actor_stopped.is_set()


def _actor_of_loop(ref: limelight.ActorRef[LoopTimed]) -> LoopTimed:
    actor = ref._actor_weakref()
    assert actor is not None
    return actor


class BoundedTimed(Timed):
    """A `Timed` with room for one queued message, whose senders would wait."""

    mailbox_capacity = 1
    mailbox_overflow = "block"

    def hold(self, entered: threading.Event, gate: threading.Event) -> None:
        entered.set()
        gate.wait(TIMEOUT)

    def tick_every(self, interval: float) -> limelight.Timer:
        return self.send_every(interval, "tick", initial_delay=0)


def test_a_full_mailbox_refuses_ticks_without_holding_up_other_timers() -> None:
    refused = threading.Event()
    unsubscribe = limelight.DeadLetters.subscribe(
        lambda letter: refused.set() if letter.reason == "full" else None
    )
    try:
        ticks = threading.Event()
        ref = BoundedTimed.start(ticks, expected=2)
        proxy = ref.proxy()
        entered, gate = threading.Event(), threading.Event()
        held = proxy.hold(entered, gate)
        assert entered.wait(TIMEOUT)
        proxy.tick_every(0.001)  # queued behind hold(): set once it is over
        gate.set()
        held.get(TIMEOUT)
        # While the actor is held again, its mailbox fills and ticks are refused.
        entered.clear()
        gate.clear()
        held = proxy.hold(entered, gate)
        assert entered.wait(TIMEOUT)
        assert refused.wait(TIMEOUT)
        # The scheduler thread was not held up: another actor's timer fires.
        other_done = threading.Event()
        other = Timed.start(other_done)
        other.proxy().send_after(0.001, "other").get(TIMEOUT)
        assert other_done.wait(TIMEOUT)
        # And the periodic timer goes on once there is room again.
        gate.set()
        held.get(TIMEOUT)
        assert ticks.wait(TIMEOUT)
    finally:
        unsubscribe()
