"""Timers: messages an actor sends itself later, once or periodically."""

from __future__ import annotations

import gc
import math
import threading
import time
import types
import weakref
from typing import Any

import pytest

import limelight
from limelight.messages import ProxyCall, _ActorStop
from tests.conformance.actors import TIMEOUT
from tests.runtimes import Event, Runtime

TICK = 0.01
"""A short interval: periodic tests see several ticks quickly."""


class Timed(limelight.Actor):
    """Records the messages its timers send; sets `done` once it has `expected`.

    Its methods set and cancel timers from inside the actor.
    """

    def __init__(self, got: list[Any], done: Event, expected: int = 1) -> None:
        super().__init__()
        self.got = got
        self.done = done
        self.expected = expected

    def on_receive(self, message: Any) -> Any:
        if message == "fail":
            raise RuntimeError("failing on purpose")
        self.record(message)

    def record(self, message: Any) -> None:
        self.got.append(message)
        if len(self.got) >= self.expected:
            self.done.set()

    def on_stop(self) -> None:
        self.record("on_stop")

    def after(self, delay: float, message: Any) -> limelight.Timer:
        return self.send_after(delay, message)

    def every(
        self, interval: float, message: Any, initial_delay: float | None = None
    ) -> limelight.Timer:
        return self.send_every(interval, message, initial_delay=initial_delay)

    def cancel(self, timer: limelight.Timer) -> bool:
        return timer.cancel()

    def cancel_then_send_after(
        self, timer: limelight.Timer, delay: float, message: Any, done: Event
    ) -> tuple[bool, int]:
        """Cancel `timer`, set a one-shot one; `done` is set when it arrives."""
        cancelled = timer.cancel()
        self.send_after(delay, message)
        self.done = done
        self.expected = len(self.got) + 1
        return cancelled, len(self.got)

    def hold(self, gate: Event) -> None:
        gate.wait(TIMEOUT)

    def itself(self) -> Timed:
        return self


def start_timed(
    runtime: Runtime, expected: int = 1
) -> tuple[limelight.ActorRef[Timed], list[Any], Event]:
    got = runtime.shared_list()
    done = runtime.event_class()
    return runtime.actor(Timed).start(got, done, expected), got, done


@pytest.mark.needs("local_timers")
def test_send_after_delivers_the_message_once_after_the_delay(
    runtime: Runtime,
) -> None:
    ref, got, done = start_timed(runtime)
    delay = 0.05

    started = time.monotonic()
    timer = ref.proxy().after(delay, "ping").get(TIMEOUT)

    assert done.wait(TIMEOUT)
    assert time.monotonic() - started >= delay
    assert got == ["ping"]
    assert not timer.active  # a one-shot timer ends with its message
    assert not timer.cancel()


@pytest.mark.needs("queued_when_sent")
def test_send_after_zero_sends_behind_the_queued_messages(runtime: Runtime) -> None:
    ref, got, done = start_timed(runtime, expected=2)
    proxy = ref.proxy()
    gate = runtime.event_class()
    proxy.hold(gate)  # so that both messages below are queued before either runs

    proxy.after(0, "timed")
    proxy.record("told")
    gate.set()

    assert done.wait(TIMEOUT)
    assert got == ["told", "timed"]


@pytest.mark.needs("local_timers")
def test_a_timer_message_can_be_a_proxy_call(runtime: Runtime) -> None:
    ref, got, done = start_timed(runtime)
    call = ProxyCall(attr_path=("record",), args=("via proxy",), kwargs={})

    ref.proxy().after(0.01, call).get(TIMEOUT)

    assert done.wait(TIMEOUT)
    assert got == ["via proxy"]


@pytest.mark.needs("local_timers")
def test_send_every_ticks_until_cancelled(runtime: Runtime) -> None:
    ref, got, done = start_timed(runtime, expected=3)
    proxy = ref.proxy()

    timer = proxy.every(TICK, "tick").get(TIMEOUT)
    assert done.wait(TIMEOUT)
    assert timer.active
    # A one-shot timer set after the cancel, due several ticks later, is
    # delivered after any tick the cancel failed to stop would have been.
    sentinel = runtime.event_class()
    cancelled, ticks = proxy.cancel_then_send_after(
        timer, 5 * TICK, "sentinel", sentinel
    ).get(TIMEOUT)

    assert cancelled
    assert sentinel.wait(TIMEOUT)
    assert got == ["tick"] * ticks + ["sentinel"]
    assert not timer.active
    assert not timer.cancel()


@pytest.mark.needs("local_timers")
def test_send_every_waits_initial_delay_first(runtime: Runtime) -> None:
    ref, got, done = start_timed(runtime, expected=2)
    initial = 0.05

    started = time.monotonic()
    timer = ref.proxy().every(TICK, "tick", initial_delay=initial).get(TIMEOUT)

    assert done.wait(TIMEOUT)
    assert time.monotonic() - started >= initial + TICK
    assert got[:2] == ["tick", "tick"]
    assert timer.cancel()


@pytest.mark.needs("local_timers")
def test_a_timer_cancelled_before_it_is_due_sends_nothing(runtime: Runtime) -> None:
    ref, got, _done = start_timed(runtime)
    proxy = ref.proxy()
    timer = proxy.after(0.1, "never").get(TIMEOUT)
    sentinel = runtime.event_class()

    cancelled, _ = proxy.cancel_then_send_after(timer, 0.15, "sentinel", sentinel).get(
        TIMEOUT
    )
    assert cancelled

    assert sentinel.wait(TIMEOUT)
    assert got == ["sentinel"]
    assert not timer.active


@pytest.mark.needs("local_timers")
def test_timers_can_be_set_and_cancelled_from_another_thread(
    runtime: Runtime,
) -> None:
    ref, got, done = start_timed(runtime, expected=3)
    actor = ref.proxy().itself().get(TIMEOUT)

    never = actor.send_after(0.1, "never")
    assert never.cancel()
    # The ticks start after `never` was due: it would have come first.
    ticks = actor.send_every(TICK, "tick", initial_delay=0.15)

    assert done.wait(TIMEOUT)
    assert ticks.cancel()
    assert got[:3] == ["tick"] * 3


@pytest.mark.needs("local_timers")
def test_stopping_an_actor_cancels_its_timers_and_frees_it(runtime: Runtime) -> None:
    ref, _got, done = start_timed(runtime)
    proxy = ref.proxy()
    ticks = proxy.every(TICK, "tick").get(TIMEOUT)
    later = proxy.after(3600, "much later").get(TIMEOUT)
    assert done.wait(TIMEOUT)  # ticking
    actor = weakref.ref(proxy.itself().get(TIMEOUT))

    ref.stop()

    assert not ticks.active
    assert not later.active
    assert not later.cancel()
    # Nothing the runtime keeps for its timers holds on to the dead actor
    # (the timers themselves do: they are dropped too).
    del ref, proxy, ticks, later
    deadline = time.monotonic() + TIMEOUT
    while actor() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.001)  # the actor's context unwinds its last frames
    assert actor() is None, f"still held by: {_holders(actor())}"


def _holders(obj: object) -> list[str]:
    """What refers to `obj`, described (to say what leaks, should one)."""
    described: list[str] = []
    for holder in gc.get_referrers(obj):
        if isinstance(holder, types.FrameType):
            code = holder.f_code
            described.append(f"frame {code.co_name} ({code.co_filename})")
        else:
            described.append(f"{type(holder).__name__}: {repr(holder)[:200]}")
    return described


@pytest.mark.needs("local_timers")
def test_a_crash_cancels_the_actor_s_timers(runtime: Runtime) -> None:
    ref, _got, done = start_timed(runtime)
    proxy = ref.proxy()
    ticks = proxy.every(TICK, "tick").get(TIMEOUT)
    later = proxy.after(3600, "much later").get(TIMEOUT)
    assert done.wait(TIMEOUT)

    ref.tell("fail")

    assert ref.actor_stopped.wait(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT  # the teardown follows the flag
    while later.active and time.monotonic() < deadline:
        time.sleep(0.001)
    assert not later.active
    assert not ticks.active


@pytest.mark.needs("local_timers")
def test_a_timer_can_stop_its_actor(runtime: Runtime) -> None:
    ref, got, done = start_timed(runtime)

    ref.proxy().after(0.01, _ActorStop()).get(TIMEOUT)

    assert done.wait(TIMEOUT)
    assert got == ["on_stop"]
    assert ref.actor_stopped.wait(TIMEOUT)


@pytest.mark.needs("local_timers")
def test_timers_of_many_actors_share_at_most_one_thread(runtime: Runtime) -> None:
    actors = 200
    got = runtime.shared_list()
    all_done = runtime.event_class()
    cls = runtime.actor(Timed)
    refs = [cls.start(got, all_done, actors) for _ in range(actors)]
    threads_before = threading.active_count()

    timers = list(
        limelight.get_all(
            [ref.proxy().after(0.02, "go") for ref in refs]
            + [ref.proxy().every(TICK, "tick", 3600) for ref in refs],
            timeout=TIMEOUT,
        )
    )

    assert all_done.wait(TIMEOUT)
    assert threading.active_count() <= threads_before + 1
    assert all(timer.active for timer in timers[actors:])
    limelight.ActorRegistry.stop_all(timeout=TIMEOUT)
    assert not any(timer.active for timer in timers)


@pytest.mark.parametrize("delay", [-1, -0.001, math.nan, math.inf, -math.inf])
def test_send_after_refuses_a_bad_delay(runtime: Runtime, delay: float) -> None:
    ref, _got, _done = start_timed(runtime)

    with pytest.raises(ValueError, match=r"delay must be a finite number of seconds"):
        ref.proxy().after(delay, "x").get(TIMEOUT)


@pytest.mark.parametrize("interval", [0, -1, math.nan, math.inf])
def test_send_every_refuses_a_bad_interval(runtime: Runtime, interval: float) -> None:
    ref, _got, _done = start_timed(runtime)

    with pytest.raises(ValueError, match=r"interval must be .* seconds > 0"):
        ref.proxy().every(interval, "x").get(TIMEOUT)


@pytest.mark.parametrize("initial_delay", [-1, math.nan, math.inf])
def test_send_every_refuses_a_bad_initial_delay(
    runtime: Runtime, initial_delay: float
) -> None:
    ref, _got, _done = start_timed(runtime)

    with pytest.raises(ValueError, match=r"initial_delay must be .* >= 0"):
        ref.proxy().every(1.0, "x", initial_delay).get(TIMEOUT)


def test_a_delay_must_be_a_number(runtime: Runtime) -> None:
    ref, _got, _done = start_timed(runtime)

    with pytest.raises(TypeError, match=r"delay must be a number of seconds, got '1'"):
        ref.proxy().after("1", "x").get(TIMEOUT)


@pytest.mark.needs("local_timers")
def test_a_stopped_actor_cannot_set_a_timer(runtime: Runtime) -> None:
    ref, _got, _done = start_timed(runtime)
    actor = ref.proxy().itself().get(TIMEOUT)
    ref.stop()

    with pytest.raises(limelight.ActorDeadError, match="cannot set a timer"):
        actor.send_after(0, "x")
    with pytest.raises(limelight.ActorDeadError, match="cannot set a timer"):
        actor.send_every(1, "x")


@pytest.mark.needs("local_timers")
def test_a_timer_says_what_it_is(runtime: Runtime) -> None:
    ref, _got, _done = start_timed(runtime)
    proxy = ref.proxy()

    once = proxy.after(3600, "ping").get(TIMEOUT)
    every = proxy.every(0.5, ("tick", 1)).get(TIMEOUT)

    assert repr(once) == f"<Timer once, 'ping' to {ref}, active>"
    assert repr(every) == f"<Timer every 0.5 s, ('tick', 1) to {ref}, active>"
    assert (once.message, once.interval) == ("ping", None)
    assert (every.message, every.interval) == (("tick", 1), 0.5)
    assert once.cancel()
    assert repr(once).endswith(", inactive>")
