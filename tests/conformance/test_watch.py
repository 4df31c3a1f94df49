"""Learning of an actor's end: termination futures, watches, kills and links."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from types import TracebackType
from typing import Any

import pytest

import limelight
from limelight.messages import Terminated
from tests.conformance.actors import TIMEOUT, Blocker, Echo, Recorder
from tests.runtimes import Event, Runtime


class Watcher(limelight.Actor):
    """Records the `Terminated` messages (and markers) it receives.

    ``watch(ref)``/``unwatch(ref)``/``link(ref)`` are called through a proxy;
    `arrived`, if given, is set on every `Terminated`.
    """

    def __init__(self, log: list[Any], arrived: Event | None = None) -> None:
        super().__init__()
        self.log = log
        self.arrived = arrived

    def on_receive(self, message: Any) -> Any:
        self.log.append(message)
        if isinstance(message, Terminated) and self.arrived is not None:
            self.arrived.set()
        return "ok"


class TrappingWatcher(Watcher):
    trap_exits = True


class Failer(Recorder):
    """A recorder whose ``on_failure()`` also notes the exception's cause."""

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.log.append(("cause", repr(getattr(exception_value, "__cause__", None))))
        super().on_failure(exception_type, exception_value, traceback)


def end(runtime: Runtime, ref: limelight.ActorRef[Any], how: str) -> None:
    """Make the actor behind `ref` (a Recorder) end normally, by failing, or killed."""
    if how == "normal":
        ref.stop()
    elif how == "failure":
        ref.tell(("fail", "boom"))
    else:
        assert ref.kill()


# -- Termination futures ------------------------------------------------------


@pytest.mark.dedicated_host
def test_termination_says_a_stopped_actor_ended_normally(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    termination = ref.termination()
    assert not termination._is_ready()
    ref.stop()
    assert termination.get(TIMEOUT) == Terminated(ref, "normal", None)


@pytest.mark.dedicated_host
def test_termination_carries_the_exception_that_ended_the_actor(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Recorder).start(runtime.shared_list())
    ref.tell(("fail", "boom"))
    terminated = ref.termination().get(TIMEOUT)
    assert terminated.reason == "failure"
    assert isinstance(terminated.exception, RuntimeError)
    assert str(terminated.exception) == "boom"
    assert terminated.actor_ref == ref


def test_termination_of_an_ended_actor_is_ready_at_once(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    ref.stop()
    assert ref.termination().get(0) == Terminated(ref, "normal", None)


def test_termination_is_awaitable(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    async def main() -> Terminated:
        ref.tell("hello")
        ref.stop(block=False)
        return await ref.termination()

    assert asyncio.run(main()).reason == "normal"


@pytest.mark.dedicated_host
def test_termination_comes_after_on_stop_and_before_stop_returns(
    runtime: Runtime,
) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(Recorder).start(log)
    termination = ref.termination()
    termination._add_done_callback(lambda: log.append("terminated"))
    ref.stop()
    assert log == ["on_start", "on_stop", "terminated"]


class FailsToStart(limelight.Actor):
    def on_start(self) -> None:
        raise ValueError("no start")


@pytest.mark.dedicated_host
def test_a_failing_on_start_ends_the_actor_with_a_failure(runtime: Runtime) -> None:
    ref = runtime.actor(FailsToStart).start()
    terminated = ref.termination().get(TIMEOUT)
    assert terminated.reason == "failure"
    assert repr(terminated.exception) == "ValueError('no start')"


# -- Kill ---------------------------------------------------------------------


class GatedRecorder(Recorder):
    """A recorder that can be held up by ``("hold", entered, gate)``."""

    def on_receive(self, message: Any) -> Any:
        if message[0] == "hold":
            _, entered, gate = message
            self.log.append("hold")
            entered.set()
            return gate.wait(TIMEOUT)
        return super().on_receive(message)


@pytest.mark.dedicated_host
def test_kill_skips_the_queued_messages_and_on_stop(runtime: Runtime) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(GatedRecorder).start(log)
    entered, gate = runtime.event_class(), runtime.event_class()
    ref.tell(("hold", entered, gate))
    ref.tell(("queued tell",))
    queued_ask = ref.ask(("queued ask",), block=False)
    assert entered.wait(TIMEOUT)
    assert ref.kill()
    gate.set()
    assert ref.termination().get(TIMEOUT) == Terminated(ref, "killed", None)
    with pytest.raises(limelight.ActorDeadError):
        queued_ask.get(TIMEOUT)
    assert log == ["on_start", "hold"]
    assert not ref.is_alive()
    assert limelight.ActorRegistry.get_by_urn(ref.actor_urn) is None


@pytest.mark.dedicated_host
def test_kill_lets_the_running_handler_finish_and_reply(runtime: Runtime) -> None:
    ref = runtime.actor(Blocker).start()
    entered, gate = runtime.event_class(), runtime.event_class()
    reply = ref.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)
    assert ref.kill()
    gate.set()
    assert reply.get(TIMEOUT) is True
    assert ref.termination().get(TIMEOUT).reason == "killed"


@pytest.mark.dedicated_host
def test_kill_wakes_an_idle_actor(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    assert ref.ask("ready") == "ready"  # idle now, waiting for a message
    assert ref.kill()
    assert ref.termination().get(TIMEOUT).reason == "killed"


@pytest.mark.needs("local_actor_object")
def test_a_kill_s_reason_is_noted_before_the_actor_is_seen_stopped(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A loop that sees its actor stopped may end at once, and report how it
    # ended: a kill's reason must be there by then, or it reads "normal".
    ref = runtime.actor(Echo).start()
    assert ref.ask("ready") == "ready"
    actor = ref._actor_weakref()
    assert actor is not None
    seen: list[object] = []
    stopped = type(actor.actor_stopped)
    original = stopped.set

    def set_and_look(event: Any, *args: Any) -> bool:
        won = original(event, *args)
        if event is actor.actor_stopped:
            seen.append(actor._limelight_exit)  # as the loop's teardown would read it
        return won

    monkeypatch.setattr(stopped, "set", set_and_look)
    assert ref.kill()

    assert seen[0] == ("killed", None)
    assert ref.termination().get(TIMEOUT).reason == "killed"


@pytest.mark.dedicated_host
def test_kill_of_an_ended_actor_returns_false(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    ref.stop()
    assert ref.kill() is False
    assert ref.termination().get(TIMEOUT).reason == "normal"


@pytest.mark.dedicated_host
def test_stop_of_a_killed_actor_returns_false(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    ref.kill()
    ref.termination().get(TIMEOUT)
    assert ref.stop() is False


def test_messages_racing_a_kill_are_all_answered(runtime: Runtime) -> None:
    for _ in range(50):
        ref = runtime.actor(Echo).start()
        futures = [ref.ask(i, block=False) for i in range(20)]
        ref.kill()
        for i, future in enumerate(futures):
            with contextlib.suppress(limelight.ActorDeadError):
                assert future.get(TIMEOUT) == i
        assert ref.termination().get(TIMEOUT).reason == "killed"


# -- Watch ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["normal", "failure", "killed"])
@pytest.mark.dedicated_host
@pytest.mark.needs("refs_in_shared_lists")
def test_a_watcher_is_told_how_the_watched_actor_ended(
    runtime: Runtime, how: str
) -> None:
    log = runtime.shared_list()
    arrived = runtime.event_class()
    watcher = runtime.actor(Watcher).start(log, arrived)
    watched = runtime.actor(Recorder).start(runtime.shared_list())
    watcher.proxy().watch(watched).get(TIMEOUT)
    end(runtime, watched, how)
    assert arrived.wait(TIMEOUT)
    (terminated,) = log
    assert terminated.actor_ref == watched
    assert terminated.reason == how
    assert (terminated.exception is None) == (how != "failure")


@pytest.mark.dedicated_host
@pytest.mark.needs("refs_in_shared_lists")
def test_watching_an_ended_actor_tells_at_once(runtime: Runtime) -> None:
    log = runtime.shared_list()
    watcher = runtime.actor(Watcher).start(log)
    watched = runtime.actor(Echo).start()
    watched.stop()
    watcher.proxy().watch(watched).get(TIMEOUT)
    assert watcher.ask("marker") == "ok"
    assert log == [Terminated(watched, "normal", None), "marker"]


@pytest.mark.needs("refs_in_shared_lists", "watchers_told_before_stop_returns")
def test_watchers_are_told_before_stop_returns(runtime: Runtime) -> None:
    log = runtime.shared_list()
    watcher = runtime.actor(Watcher).start(log)
    watched = runtime.actor(Echo).start()
    watcher.proxy().watch(watched).get(TIMEOUT)
    watched.stop()
    assert watcher.ask("marker") == "ok"
    assert log == [Terminated(watched, "normal", None), "marker"]


@pytest.mark.needs("refs_in_shared_lists", "watchers_told_before_stop_returns")
def test_watching_twice_tells_once(runtime: Runtime) -> None:
    log = runtime.shared_list()
    watcher = runtime.actor(Watcher).start(log)
    watched = runtime.actor(Echo).start()
    proxy = watcher.proxy()
    proxy.watch(watched).get(TIMEOUT)
    proxy.watch(watched).get(TIMEOUT)
    watched.stop()
    assert watcher.ask("marker") == "ok"
    assert log == [Terminated(watched, "normal", None), "marker"]


def test_an_unwatched_actor_tells_nothing(runtime: Runtime) -> None:
    log = runtime.shared_list()
    watcher = runtime.actor(Watcher).start(log)
    watched = runtime.actor(Echo).start()
    proxy = watcher.proxy()
    proxy.watch(watched).get(TIMEOUT)
    proxy.unwatch(watched).get(TIMEOUT)
    watched.stop()
    assert watcher.ask("marker") == "ok"
    assert log == ["marker"]


@pytest.mark.needs("refs_in_shared_lists", "watchers_told_before_stop_returns")
def test_many_watchers_are_all_told(runtime: Runtime) -> None:
    watched = runtime.actor(Echo).start()
    logs = [runtime.shared_list() for _ in range(5)]
    watchers = [runtime.actor(Watcher).start(log) for log in logs]
    for watcher in watchers:
        watcher.proxy().watch(watched).get(TIMEOUT)
    watched.stop()
    for watcher, log in zip(watchers, logs, strict=True):
        assert watcher.ask("marker") == "ok"
        assert log == [Terminated(watched, "normal", None), "marker"]


def test_a_dead_watcher_is_skipped(runtime: Runtime) -> None:
    watcher = runtime.actor(Watcher).start(runtime.shared_list())
    watched = runtime.actor(Echo).start()
    watcher.proxy().watch(watched).get(TIMEOUT)
    watcher.stop()
    watched.stop()
    assert watched.termination().get(TIMEOUT).reason == "normal"


class ThreadEcho(Echo, limelight.ThreadingActor):
    pass


class SlowToStop(Watcher):
    """A watcher whose ``on_stop()`` sets `stopping`, then waits for `gate`."""

    def __init__(self, log: list[Any], stopping: Event, gate: Event) -> None:
        super().__init__(log)
        self.stopping = stopping
        self.gate = gate

    def on_stop(self) -> None:
        self.stopping.set()
        self.gate.wait(TIMEOUT)


@pytest.mark.needs("local_logs")
def test_a_watcher_that_is_stopping_is_not_told(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    # Stopped but not ended yet, it still has its watch: the news finds it
    # refusing messages, and is dropped without an error. (The watched actor
    # runs in a thread: an event loop's would wait for the blocked on_stop().)
    stopping, gate = runtime.event_class(), runtime.event_class()
    watcher = runtime.actor(SlowToStop).start(runtime.shared_list(), stopping, gate)
    watched = ThreadEcho.start()
    watcher.proxy().watch(watched).get(TIMEOUT)
    watcher.stop(block=False)
    assert stopping.wait(TIMEOUT)
    watched.stop()
    gate.set()
    assert watcher.termination().get(TIMEOUT).reason == "normal"
    news = Terminated(watched, "normal", None)
    messages = [r.getMessage() for r in limelight_logs.records]
    assert f"Not telling {watcher} of {news!r}: it has stopped" in messages
    assert [r for r in limelight_logs.records if r.levelno >= logging.ERROR] == []


def test_watch_and_link_take_only_refs(runtime: Runtime) -> None:
    proxy = runtime.actor(Watcher).start(runtime.shared_list()).proxy()
    with pytest.raises(TypeError, match=r"watch\(\) takes an ActorRef"):
        proxy.watch("not a ref").get(TIMEOUT)
    with pytest.raises(TypeError, match=r"link\(\) takes an ActorRef"):
        proxy.link(42).get(TIMEOUT)


def test_an_actor_cannot_watch_or_link_itself(runtime: Runtime) -> None:
    ref = runtime.actor(Watcher).start(runtime.shared_list())
    proxy = ref.proxy()
    with pytest.raises(ValueError, match="cannot watch itself"):
        proxy.watch(ref).get(TIMEOUT)
    with pytest.raises(ValueError, match="cannot link itself"):
        proxy.link(ref).get(TIMEOUT)


# -- Links ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["failure", "killed"])
@pytest.mark.dedicated_host
def test_a_linked_actor_crashes_with_an_abnormal_end(
    runtime: Runtime, how: str
) -> None:
    log = runtime.shared_list()
    linked = runtime.actor(Failer).start(log)
    other = runtime.actor(Recorder).start(runtime.shared_list())
    linked.proxy().link(other).get(TIMEOUT)
    end(runtime, other, how)
    terminated = linked.termination().get(TIMEOUT)
    assert terminated.reason == "failure"
    assert isinstance(terminated.exception, limelight.LinkedActorFailed)
    assert terminated.exception.terminated.actor_ref == other
    assert terminated.exception.terminated.reason == how
    assert str(other) in str(terminated.exception)
    expected_cause = "RuntimeError('boom')" if how == "failure" else "None"
    assert ("cause", expected_cause) in log


@pytest.mark.dedicated_host
def test_links_work_both_ways(runtime: Runtime) -> None:
    first = runtime.actor(Recorder).start(runtime.shared_list())
    second = runtime.actor(Watcher).start(runtime.shared_list())
    second.proxy().link(first).get(TIMEOUT)
    first.tell(("fail", "boom"))
    assert second.termination().get(TIMEOUT).reason == "failure"


@pytest.mark.dedicated_host
def test_failure_spreads_along_a_chain_of_links(runtime: Runtime) -> None:
    refs = [runtime.actor(Watcher).start(runtime.shared_list()) for _ in range(4)]
    for left, right in itertools.pairwise(refs):
        left.proxy().link(right).get(TIMEOUT)
    assert refs[0].kill()
    for ref in refs[1:]:
        assert ref.termination().get(TIMEOUT).reason == "failure"


@pytest.mark.dedicated_host
def test_a_normal_end_does_not_spread(runtime: Runtime) -> None:
    linked = runtime.actor(Watcher).start(runtime.shared_list())
    other = runtime.actor(Echo).start()
    linked.proxy().link(other).get(TIMEOUT)
    other.stop()
    assert linked.ask("still alive") == "ok"


@pytest.mark.needs("refs_in_shared_lists", "ends_told_in_order")
def test_an_actor_trapping_exits_receives_every_end(runtime: Runtime) -> None:
    log = runtime.shared_list()
    trapper = runtime.actor(TrappingWatcher).start(log)
    normal = runtime.actor(Recorder).start(runtime.shared_list())
    failing = runtime.actor(Recorder).start(runtime.shared_list())
    trapper.proxy().link(normal).get(TIMEOUT)
    trapper.proxy().link(failing).get(TIMEOUT)
    normal.stop()
    failing.tell(("fail", "boom"))
    failing.termination().get(TIMEOUT)
    assert trapper.ask("marker") == "ok"
    assert [(t.actor_ref, t.reason) for t in log[:2]] == [
        (normal, "normal"),
        (failing, "failure"),
    ]
    assert log[2:] == ["marker"]


@pytest.mark.dedicated_host
def test_linking_to_a_failed_actor_crashes_at_once(runtime: Runtime) -> None:
    failed = runtime.actor(Recorder).start(runtime.shared_list())
    failed.tell(("fail", "boom"))
    failed.termination().get(TIMEOUT)
    linked = runtime.actor(Watcher).start(runtime.shared_list())
    linked.proxy().link(failed).get(TIMEOUT)
    assert linked.termination().get(TIMEOUT).reason == "failure"


@pytest.mark.needs("refs_in_shared_lists")
def test_unlinked_actors_no_longer_share_their_fate(runtime: Runtime) -> None:
    linked = runtime.actor(Watcher).start(runtime.shared_list())
    other = runtime.actor(Recorder).start(runtime.shared_list())
    proxy = linked.proxy()
    proxy.link(other).get(TIMEOUT)
    proxy.unlink(other).get(TIMEOUT)
    other.tell(("fail", "boom"))
    other.termination().get(TIMEOUT)
    assert linked.ask("still alive") == "ok"
    linked.kill()
    assert other.termination().get(0).reason == "failure"


def test_unwatching_an_actor_never_watched_is_harmless(runtime: Runtime) -> None:
    watcher = runtime.actor(Watcher).start(runtime.shared_list())
    other = runtime.actor(Echo).start()
    watcher.proxy().unwatch(other).get(TIMEOUT)
    watcher.proxy().unlink(other).get(TIMEOUT)
    assert other.ask("fine") == "fine"


def termination_callbacks(ref: limelight.ActorRef[Any]) -> int:
    """How many callbacks wait for the end of `ref`'s actor: its bookkeeping."""
    return len(ref.actor_stopped._on_terminated or {})


# The next three look at the events of actors in the test's process: an
# actor elsewhere keeps its bookkeeping on the event of its own process.


@pytest.mark.needs("local_actor_object")
def test_a_watcher_keeps_nothing_for_the_actors_it_outlived(runtime: Runtime) -> None:
    log = runtime.shared_list()
    watcher = runtime.actor(Watcher).start(log)
    for ended_first in (False, True) * 25:
        watched = runtime.actor(Echo).start()
        if ended_first:
            watched.stop()  # (then watch() tells at once)
        watcher.proxy().watch(watched).get(TIMEOUT)
        watched.stop()
        assert watcher.ask("marker") == "ok"  # (after the news of its end)
        assert log[-2:] == [Terminated(watched, "normal", None), "marker"]
        assert termination_callbacks(watcher) == 0
        assert termination_callbacks(watched) == 0


@pytest.mark.needs("local_actor_object")
def test_a_watched_actor_keeps_nothing_for_ended_watchers(runtime: Runtime) -> None:
    watched = runtime.actor(Echo).start()
    for _ in range(50):
        watcher = runtime.actor(Watcher).start(runtime.shared_list())
        watcher.proxy().watch(watched).get(TIMEOUT)
        assert termination_callbacks(watched) == 1
        watcher.stop()
    assert termination_callbacks(watched) == 0
    watched.stop()


@pytest.mark.needs("local_actor_object")
def test_a_survivor_keeps_nothing_for_the_actors_it_was_linked_to(
    runtime: Runtime,
) -> None:
    survivor = runtime.actor(TrappingWatcher).start(runtime.shared_list())
    proxy = survivor.proxy()
    for already_ended in (False, True) * 25:
        linked = runtime.actor(Echo).start()
        if already_ended:
            linked.stop()  # (then link() tells at once)
        proxy.link(linked).get(TIMEOUT)
        linked.stop()
        assert survivor.ask("marker") == "ok"  # (after the news of its end)
        assert termination_callbacks(survivor) == 0
    ended = runtime.actor(Echo).start()
    proxy.link(ended).get(TIMEOUT)
    survivor.stop()
    assert termination_callbacks(ended) == 0  # the survivor went first, this time
    ended.stop()
