"""The process runtime: limelight.process.ProcessActor, its channel and pool.

The actor classes live in tests/process_actors.py, since worker processes
import them by module name. Every test ends with no worker process left
(see `no_workers_left`).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import limelight
import limelight.messages
import limelight.observe
import limelight.process
from limelight._core._runtime import is_service_thread
from limelight._remote._ended import EndedActors
from limelight._remote._ref import ForwardingInbox, RemoteRef
from limelight._runtimes import processes
from limelight._runtimes.processes import _classes, _pickling, _wire
from limelight._runtimes.processes import _pool as pool_module
from tests.process_actors import (
    Asker,
    Counter,
    Dedicated,
    Doubler,
    FailsInit,
    ForgetsSuper,
    SlowToFail,
    SlowToUnpickle,
    UnloadableError,
    Watcher,
)
from tests.runtimes import PROCESS

TIMEOUT = 60.0
"""Generous: other test runs share this machine's two cores."""

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_workers_left() -> Iterator[None]:
    """End the workers a test started, and check that none is left running."""
    yield
    started = limelight.process.workers()
    limelight.process.shutdown(timeout=TIMEOUT)
    assert limelight.process.workers() == []
    alive = [p for p in started if p.is_alive()]
    assert alive == [], f"worker processes left running: {alive}"


class Recorder(limelight.ThreadingActor):
    """A parent-side actor: replies, and records what it is told."""

    def __init__(self) -> None:
        super().__init__()
        self.received: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def on_receive(self, message: Any) -> Any:
        self.received.put(message)
        return ("parent", message)


def _received(ref: limelight.ActorRef[Any]) -> Any:
    actor = ref._actor_weakref()
    assert isinstance(actor, Recorder)
    return actor.received.get(timeout=TIMEOUT)


# -- The caller's API --------------------------------------------------------------


def test_tell_ask_and_replies_come_from_another_process() -> None:
    ref = Counter.start(3)
    assert isinstance(ref, limelight.ActorRef)
    assert ref.ask("pid", timeout=TIMEOUT) != os.getpid()
    assert ref.ask({"any": "picklable"}, timeout=TIMEOUT) == {"any": "picklable"}
    ref.tell("ignored")
    assert ref.ask(("after", "the tell"), timeout=TIMEOUT) == ("after", "the tell")
    assert ref.is_alive()
    assert ref.actor_class is Counter
    assert str(ref) == f"Counter ({ref.actor_urn})"


def test_an_exception_raised_by_the_handler_reaches_the_asker() -> None:
    ref = Counter.start()
    with pytest.raises(ValueError, match="boom"):
        ref.ask("boom", timeout=TIMEOUT)
    assert ref.ask(1, timeout=TIMEOUT) == 1


def test_proxy_with_traversable_attributes() -> None:
    proxy = Counter.start(10).proxy()
    assert proxy.increment(5).get(TIMEOUT) == 15
    assert proxy.count.get(TIMEOUT) == 15
    proxy.count = 20
    assert proxy.increment().get(TIMEOUT) == 21
    assert proxy.stats.hit().get(TIMEOUT) == 1
    assert proxy.stats.hits.get(TIMEOUT) == 1
    proxy.increment.defer(100)
    assert proxy.increment(0).get(TIMEOUT) == 121
    with pytest.raises(AttributeError):
        _ = proxy.nothing_like_this


def test_futures_combine_and_await() -> None:
    ref = Counter.start()
    futures = [ref.ask(i, block=False) for i in range(5)]
    assert limelight.get_all(futures, timeout=TIMEOUT) == [0, 1, 2, 3, 4]
    assert futures[0].map(lambda x: x + 1).get(TIMEOUT) == 1
    assert futures[1].join(futures[2]).get(TIMEOUT) == [1, 2]

    async def awaiting() -> Any:
        return await ref.ask("awaited", block=False)

    assert asyncio.run(awaiting()) == "awaited"


def test_registry_finds_process_actors_in_the_parent() -> None:
    ref = Counter.start()
    assert limelight.ActorRegistry.get_by_urn(ref.actor_urn) is ref
    assert ref in limelight.ActorRegistry.get_by_class(Counter)
    assert ref in limelight.ActorRegistry.get_by_class_name("Counter")
    ref.stop(timeout=TIMEOUT)
    assert limelight.ActorRegistry.get_by_urn(ref.actor_urn) is None


def test_a_message_sent_as_soon_as_the_actor_is_registered_is_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A broadcast from another thread can reach an actor as soon as it is in
    # the registry: its message must not overtake the start on the pipe.
    register = limelight.ActorRegistry.register
    early = limelight.messages.ProxyCall(("increment",), (5,), {})

    def register_then_tell(ref: limelight.ActorRef[Any]) -> None:
        register(ref)
        ref.tell(early)

    monkeypatch.setattr(limelight.ActorRegistry, "register", register_then_tell)
    ref = Counter.start()
    monkeypatch.undo()

    assert ref.proxy().increment().get(TIMEOUT) == 6
    ref.stop(timeout=TIMEOUT)


def test_stop_waits_for_the_end_and_tells_termination() -> None:
    ref = Counter.start()
    termination = ref.termination()
    assert ref.stop(timeout=TIMEOUT) is True
    assert not ref.is_alive()
    terminated = termination.get(TIMEOUT)
    assert terminated.reason == "normal"
    assert terminated.actor_ref is ref
    assert ref.stop(timeout=TIMEOUT) is False
    with pytest.raises(limelight.ActorDeadError):
        ref.ask(1, timeout=TIMEOUT)
    with pytest.raises(limelight.ActorDeadError):
        ref.tell(1)
    with pytest.raises(limelight.ActorDeadError):
        ref.proxy()


def test_kill_ends_the_actor_as_killed() -> None:
    ref = Counter.start()
    termination = ref.termination()
    assert ref.kill() is True
    assert ref.kill() is False
    assert termination.get(TIMEOUT).reason == "killed"


def test_a_crash_on_a_tell_ends_the_actor_as_failed() -> None:
    ref = Counter.start()
    termination = ref.termination()
    ref.tell("crash-later")
    terminated = termination.get(TIMEOUT)
    assert terminated.reason == "failure"
    assert isinstance(terminated.exception, RuntimeError)


def test_an_ask_refused_by_an_ending_actor_fails_once_its_ref_knows_it_ended() -> None:
    failing, gate = PROCESS.event_class(), PROCESS.event_class()
    ref = SlowToFail.start(failing, gate)
    ref.tell("fail")
    assert failing.wait(TIMEOUT)
    # The actor has crashed and refuses messages, but its on_failure() runs
    # yet, so its end is not told: a refusal now would find its ref alive.
    refused = [ref.ask(i, block=False) for i in range(2)]
    stopping = ref.stop(block=False)
    with pytest.raises(limelight.Timeout):
        refused[-1].get(0.2)
    assert not stopping._is_ready()  # (held as well: sent after the refusals)
    assert ref.is_alive()
    gate.set()
    # A stop that reached the ending actor succeeds, as a queued one does.
    assert stopping.get(TIMEOUT) is True
    for future in refused:
        # (As for an actor in this process: they were on their way.)
        with pytest.raises(limelight.ActorDeadError, match="stopped before handling"):
            future.get(TIMEOUT)
    assert not ref.is_alive()
    assert limelight.ActorRegistry.get_by_urn(ref.actor_urn) is None
    assert ref.stop() is False


def test_a_parent_actor_watches_a_process_actor() -> None:
    child = Counter.start()
    watcher = Recorder.start()
    actor = watcher._actor_weakref()
    assert actor is not None
    actor.watch(child)
    child.stop(timeout=TIMEOUT)
    terminated = _received(watcher)
    assert isinstance(terminated, limelight.messages.Terminated)
    assert terminated.actor_ref == child


class Linker(limelight.ThreadingActor):
    """A parent-side actor that links itself to another actor."""

    def link_to(self, ref: limelight.ActorRef[Any]) -> None:
        self.link(ref)


def test_a_link_to_a_process_actor_works_both_ways() -> None:
    child = Counter.start()
    linker = Linker.start()
    linker.proxy().link_to(child).get(TIMEOUT)
    termination = child.termination()
    linker.kill()  # the child crashes with its linked actor
    terminated = termination.get(TIMEOUT)
    assert terminated.reason == "failure"
    assert isinstance(terminated.exception, limelight.LinkedActorFailed)
    # And a process actor's crash reaches the parent actor linked to it.
    other = Counter.start()
    linker = Linker.start()
    linker.proxy().link_to(other).get(TIMEOUT)
    ending = linker.termination()
    other.tell("crash-later")
    assert ending.get(TIMEOUT).reason == "failure"


def test_no_queued_message_is_handled_once_kill_has_returned() -> None:
    limelight.process.configure(processes=1)
    ref = Counter.start()
    entered, gate = PROCESS.event_class(), PROCESS.event_class()
    ref.proxy().hold(entered, gate)
    queued = ref.proxy().increment()
    assert entered.wait(TIMEOUT)
    # The worker's reader is busy for a while: the kill waits behind it.
    ref.tell(SlowToUnpickle(0.5))
    assert ref.kill()
    gate.set()  # (through another process: not behind the kill)
    with pytest.raises(limelight.ActorDeadError):
        queued.get(TIMEOUT)


def test_a_kill_in_the_channels_reader_does_not_wait_for_the_reply() -> None:
    limelight.process.configure(processes=1)
    first, second = Counter.start(), Counter.start()
    killed = threading.Event()

    def kill_second(_terminated: object) -> None:
        # Runs in the channel's reader, which would read the kill's reply.
        if second.kill():
            killed.set()

    first.actor_stopped.add_termination_callback("test", kill_second)
    first.stop(block=False)
    assert killed.wait(TIMEOUT)
    assert second.termination().get(TIMEOUT).reason == "killed"


def test_a_worker_that_shuts_down_still_reads_the_replies_its_actors_await(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asker, holder = Asker.start(), Counter.start()
    entered, gate = PROCESS.event_class(), PROCESS.event_class()
    asked = asker.proxy().call_hold(holder, entered, gate)
    assert entered.wait(TIMEOUT)
    retired: list[Any] = []
    retire = pool_module.Pool._retire

    def release_once_both_retire(pool: Any, worker: Any) -> None:
        retire(pool, worker)
        retired.append(worker)
        if len(retired) == 2:  # (both workers were told to shut down)
            gate.set()

    monkeypatch.setattr(pool_module.Pool, "_retire", release_once_both_retire)

    limelight.process.shutdown(timeout=TIMEOUT)

    # The holder's reply reached the asker in its worker, which was shutting
    # down (without reading on, it would wait until the worker was killed).
    assert asked.get(TIMEOUT) == "held"


def test_stop_all_in_the_parent_stops_process_actors() -> None:
    refs = [Counter.start() for _ in range(3)]
    assert limelight.ActorRegistry.stop_all(timeout=TIMEOUT) == [True] * 3
    assert not any(ref.is_alive() for ref in refs)


def test_init_failure_is_raised_by_start() -> None:
    with pytest.raises(KeyError, match="bad init"):
        FailsInit.start()
    with pytest.raises(RuntimeError, match="did not call super"):
        ForgetsSuper.start()
    assert limelight.ActorRegistry.get_all() == []


def test_a_failing_start_leaves_its_ref_ended_and_not_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The parent registers the ref while the worker starts the actor (see
    # Pool.start_actor()), so anyone may find it meanwhile: record it as they would.
    found: list[limelight.ActorRef[Any]] = []
    register = limelight.ActorRegistry.register

    def register_and_record(ref: limelight.ActorRef[Any]) -> None:
        found.append(ref)
        register(ref)

    monkeypatch.setattr(limelight.ActorRegistry, "register", register_and_record)
    with pytest.raises(KeyError, match="bad init"):
        FailsInit.start()

    [ref] = found
    terminated = ref.termination().get(TIMEOUT)
    assert (terminated.reason, type(terminated.exception)) == ("failure", KeyError)
    assert pool_module._pool is not None
    channels = [worker.channel for worker in pool_module._pool._workers]
    assert [channel._remotes for channel in channels] == [{}]


def test_a_failing_start_of_a_dedicated_actor_retires_its_worker() -> None:
    class DedicatedFailsInit(FailsInit):  # not importable: cannot even be sent
        dedicated_process = True

    with pytest.raises(TypeError, match="cannot be pickled"):
        DedicatedFailsInit.start()
    processes.ProcessActor.dedicated_process = True
    try:
        with pytest.raises(KeyError):
            FailsInit.start()
    finally:
        processes.ProcessActor.dedicated_process = False


# -- Pickling: refused at the point of sending ------------------------------------


def test_a_class_made_at_run_time_of_importable_classes_is_made_in_the_worker() -> None:
    limelight.process.configure(processes=1)
    # What a decorator or a factory does: no body, so it is the combination.
    made: Any = type("Doubler", (Doubler, limelight.process.ProcessActor), {})
    # Not found by its name (type() under ABCMeta, as Actor is an abc.ABC
    # as on Pykka, even names its module "abc"): sent as the combination.
    assert made.__qualname__ == "Doubler"
    assert getattr(sys.modules[made.__module__], "Doubler", None) is not made
    first, second = made.start(), made.start()
    assert first.proxy().double(21).get(TIMEOUT) == 42
    # Made once in the worker: both actors are of the same class there.
    ids = {ref.proxy().my_class_id().get(TIMEOUT) for ref in (first, second)}
    assert len(ids) == 1
    # A ref coming back names the class made here, not limelight.Actor.
    assert first.proxy().my_ref().get(TIMEOUT).actor_class is made


def test_a_class_that_a_worker_cannot_import_is_refused_with_what_to_do() -> None:
    class Local(limelight.process.ProcessActor):
        def work(self) -> int:
            return 1

    with pytest.raises(TypeError, match=r"define it at the top level of a module"):
        Local.start()
    with pytest.raises(TypeError, match=r"this one defines work"):
        Local.start()
    assert limelight.process.workers() == []  # refused before any worker starts


def test_classes_that_pickle_sends_by_its_own_rules_still_cross() -> None:
    ref = Counter.start()
    # Not found by their names (builtins.NoneType is not there), yet pickled.
    assert ref.ask(type(None), timeout=TIMEOUT) is type(None)
    assert ref.ask(type(...), timeout=TIMEOUT) is type(...)


def test_an_unpicklable_message_is_refused_when_sent() -> None:
    ref = Counter.start()
    with pytest.raises(TypeError, match="cannot be pickled"):
        ref.tell(lambda: None)
    future = ref.ask(lambda: None, block=False)
    with pytest.raises(TypeError, match="cannot be pickled"):
        future.get(TIMEOUT)
    assert ref.ask("still here", timeout=TIMEOUT) == "still here"


def test_unpicklable_arguments_are_refused_by_start() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        Counter.start(lambda: None)


def test_an_unpicklable_reply_fails_its_ask_only() -> None:
    proxy = Counter.start().proxy()
    with pytest.raises(TypeError, match=r"reply .* cannot be pickled"):
        proxy.unpicklable().get(TIMEOUT)
    with pytest.raises(RuntimeError, match="could not be pickled"):
        proxy.raise_unpicklable().get(TIMEOUT)
    with pytest.raises(TypeError, match="could not be unpickled"):
        proxy.raise_unloadable().get(TIMEOUT)
    assert proxy.increment().get(TIMEOUT) == 1
    assert UnloadableError("a", "b").b == "b"


def test_a_message_that_cannot_be_unpickled_there_fails_there() -> None:
    ref = Counter.start()
    unloadable = UnloadableError("a", "b")
    with pytest.raises(TypeError, match="could not be unpickled"):
        ref.ask(unloadable, timeout=TIMEOUT)
    ref.tell(unloadable)  # logged in the worker, and dropped
    assert ref.ask("fine", timeout=TIMEOUT) == "fine"


def test_what_cannot_cross_is_refused_with_what_to_do_instead() -> None:
    ref = Counter.start()
    with pytest.raises(TypeError, match=r"keep what cannot be pickled .* inside one"):
        ref.tell(lambda: None)
    with pytest.raises(TypeError, match=r"needs a __reduce__\(\)"):
        ref.ask(UnloadableError("a", "b"), timeout=TIMEOUT)
    with pytest.raises(TypeError, match=r"pass its value \(future.get\(\)\)"):
        Counter.start(limelight.ThreadingFuture())
    assert isinstance(ref, processes.RemoteRef)
    assert isinstance(ref._transport, processes.Channel)
    data = _pickling.dumps(limelight.ThreadingFuture(), ref._transport)
    with pytest.raises(TypeError, match="send the ref or the future itself"):
        pickle.loads(data)


def test_refs_and_futures_cannot_be_unpickled_outside_a_channel() -> None:
    ref = Counter.start()
    data = _pickling.dumps(ref, pool_module.NO_CHANNEL)
    local = pickle.loads(data)  # the actor is registered here: that ref
    assert local is ref
    ref.stop(timeout=TIMEOUT)
    with pytest.raises(TypeError, match="only from a process actor's channel"):
        pickle.loads(data)
    with pytest.raises(TypeError, match="future cannot be passed"):
        Counter.start(limelight.ThreadingFuture())


class _StrLike(str):
    """A str subclass: it may carry anything, so it is not a plain value."""

    __slots__ = ()


@pytest.mark.parametrize(
    "value",
    [7, 2.5, 1j, "text", b"bytes", True, None, ("add", 1, None), ()],
    ids=repr,
)
def test_plain_values_are_pickled_without_a_channel_pickler(
    value: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pickler(*_args: object) -> None:
        raise AssertionError("a _Pickler was made for a plain value")

    monkeypatch.setattr(_pickling, "Pickler", no_pickler)
    data = _pickling.dumps(value, pool_module.NO_CHANNEL)
    assert data == pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


@pytest.mark.parametrize(
    "value",
    [[1, 2], {"a": 1}, _StrLike("x"), (1, [2]), tuple(range(9)), int],
    ids=repr,
)
def test_other_values_are_not_plain(value: object) -> None:
    assert not _wire.is_plain(value)


def test_a_ref_in_a_short_tuple_crosses_as_a_ref() -> None:
    ref = Counter.start()
    reply = ref.ask(("me", ref), timeout=TIMEOUT)
    assert reply == ("me", ref)
    assert reply[1] is ref


# -- Refs and futures across processes ----------------------------------------------


def test_a_process_actor_asks_a_thread_actor_in_the_parent() -> None:
    recorder = Recorder.start()
    proxy = Counter.start().proxy()
    assert proxy.ask_ref(recorder, "hello").get(TIMEOUT) == ("parent", "hello")
    proxy.tell_ref(recorder, "told").get(TIMEOUT)
    assert _received(recorder) == "hello"
    assert _received(recorder) == "told"
    assert proxy.is_alive(recorder).get(TIMEOUT) is True
    recorder.stop(timeout=TIMEOUT)
    with pytest.raises(limelight.ActorDeadError):
        proxy.ask_ref(recorder, "anyone?").get(TIMEOUT)
    # The worker learnt of the end before the parent's stop() returned.
    with pytest.raises(limelight.ActorDeadError):
        proxy.tell_ref(recorder, "dead").get(TIMEOUT)


def test_messages_to_an_actor_the_other_side_does_not_know() -> None:
    ref = Counter.start()
    assert isinstance(ref, processes.RemoteRef)
    channel = ref._transport
    unknown = RemoteRef(
        channel, "urn:uuid:unknown", limelight.Actor, processes.ProcessFuture
    )
    unknown.tell("dropped")  # logged by the worker
    with pytest.raises(limelight.ActorDeadError, match="not found"):
        unknown.ask("lost", timeout=TIMEOUT)
    with pytest.raises(limelight.ActorDeadError, match="not found"):
        unknown.proxy()
    assert unknown.kill() is True  # the worker finds nothing to kill
    assert ref.ask("still here", timeout=TIMEOUT) == "still here"


def test_a_message_on_its_way_when_the_actor_ended_is_refused_as_queued() -> None:
    ref = Counter.start()
    assert isinstance(ref, processes.RemoteRef)
    ref.stop(timeout=TIMEOUT)
    # Another ref of this process that has not heard of the end yet: what
    # it sends was on its way when the actor ended.
    late = RemoteRef(ref._transport, ref.actor_urn, Counter, processes.ProcessFuture)
    with pytest.raises(
        limelight.ActorDeadError, match=r"^Counter \(urn:.*\) stopped before handling"
    ):
        late.ask("late", timeout=TIMEOUT)
    # And a stop on its way then succeeded, as one queued behind another does.
    assert late.stop(timeout=TIMEOUT) is True


def test_a_channel_remembers_a_bounded_number_of_ended_actors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import multiprocessing  # noqa: PLC0415

    monkeypatch.setattr(EndedActors, "kept", 2)
    mine, theirs = multiprocessing.Pipe()
    channel = processes.Channel(mine, "a test pipe")  # pyright: ignore[reportArgumentType] -- typeshed: Windows
    try:
        refs = [Recorder.start() for _ in range(3)]
        for ref in refs:
            channel.hosting.watch(ref)  # the other side is told when it ends
            ref.stop(timeout=TIMEOUT)
        ended = channel.hosting.ended
        assert list(ended) == [ref.actor_urn for ref in refs[1:]]
        end = ended.get(refs[2].actor_urn)
        assert end is not None
        assert (end.name, end.reason, end.exception) == (str(refs[2]), "normal", None)
    finally:
        channel.close()
        theirs.close()


def test_a_worker_learns_when_a_parent_actor_ends() -> None:
    recorder = Recorder.start()
    reports = Recorder.start()
    watcher = Watcher.start().proxy()
    watcher.watch_it(recorder, reports).get(TIMEOUT)
    recorder.stop(timeout=TIMEOUT)
    assert _received(reports) == (recorder.actor_urn, "normal")
    # A ref to an actor that has already ended arrives dead.
    assert watcher.is_alive(recorder).get(TIMEOUT) is False


def test_process_actors_in_different_workers_talk_through_the_parent() -> None:
    one = Counter.start()
    two = Dedicated.start()
    assert one.ask("pid", timeout=TIMEOUT) != two.ask("pid", timeout=TIMEOUT)
    assert one.proxy().ask_ref(two, "via parent").get(TIMEOUT) == "via parent"
    assert one.proxy().proxy_call(two.proxy()).get(TIMEOUT) == 10
    # A ref that comes back is the parent's own ref.
    assert one.proxy().my_ref().get(TIMEOUT) is one
    assert two.proxy().echo(one).get(TIMEOUT) is one


def test_a_ref_to_an_actor_in_the_same_worker_is_local_there() -> None:
    limelight.process.configure(processes=1)
    one = Counter.start()
    two = Counter.start()
    assert one.ask("pid", timeout=TIMEOUT) == two.ask("pid", timeout=TIMEOUT)
    assert one.proxy().ask_ref(two, "local").get(TIMEOUT) == "local"


def test_an_actor_started_in_a_worker_lives_there() -> None:
    proxy = Counter.start().proxy()
    local = proxy.start_local().get(TIMEOUT)
    assert isinstance(local, processes.RemoteRef)
    assert local.ask("pid", timeout=TIMEOUT) == proxy.pid().get(TIMEOUT)
    assert local.proxy().increment().get(TIMEOUT) == 6
    assert local.proxy().count.get(TIMEOUT) == 6
    assert local.kill() is True
    assert local.termination().get(TIMEOUT).reason == "killed"


def test_a_parent_future_in_a_message() -> None:
    proxy = Counter.start().proxy()
    future: limelight.ThreadingFuture[str] = limelight.ThreadingFuture()
    result = proxy.get_future(future)
    future.set("set later")
    assert result.get(TIMEOUT) == "set later"
    done: limelight.ThreadingFuture[str] = limelight.ThreadingFuture()
    done.set("set before")
    assert proxy.get_future(done).get(TIMEOUT) == "set before"
    failed: limelight.ThreadingFuture[str] = limelight.ThreadingFuture()
    failed.set_exception(LookupError("failed"))
    with pytest.raises(LookupError):
        proxy.get_future(failed).get(TIMEOUT)
    unpicklable: limelight.ThreadingFuture[Any] = limelight.ThreadingFuture()
    unpicklable.set(lambda: None)
    with pytest.raises(TypeError, match="cannot be pickled"):
        proxy.get_future(unpicklable).get(TIMEOUT)


def test_a_worker_future_in_a_reply() -> None:
    local = Counter.start().proxy().start_local().get(TIMEOUT)
    # The worker's own future, made by an ask there, returned to the parent.
    future = Counter.start().proxy().echo(local.ask("x", block=False)).get(TIMEOUT)
    assert isinstance(future, limelight.Future)
    assert future.get(TIMEOUT) == "x"


# -- Many asks, one channel ------------------------------------------------------------


def test_100_000_asks_in_flight() -> None:
    ref = Counter.start()
    futures = [ref.ask(i, block=False) for i in range(100_000)]
    assert limelight.get_all(futures, timeout=TIMEOUT * 5) == list(range(100_000))
    channel = next(iter(limelight.process.workers()))  # one worker, one channel
    assert channel.is_alive()


def test_the_pool_spreads_actors_and_dedicated_actors_get_a_process() -> None:
    limelight.process.configure(processes=2)
    refs = [Counter.start() for _ in range(4)]
    pids = {ref.ask("pid", timeout=TIMEOUT) for ref in refs}
    assert len(pids) == 2
    dedicated = Dedicated.start()
    assert dedicated.ask("pid", timeout=TIMEOUT) not in pids
    assert len(limelight.process.workers()) == 3
    worker = limelight.process.workers()[-1]
    dedicated.stop(timeout=TIMEOUT)
    worker.join(TIMEOUT)
    assert not worker.is_alive()


# -- Faults --------------------------------------------------------------------------


def test_a_killed_worker_fails_pending_asks_and_tells_watchers() -> None:
    limelight.process.configure(processes=1)
    ref = Counter.start()
    pid = ref.ask("pid", timeout=TIMEOUT)
    other = Counter.start()
    watcher = Recorder.start()
    actor = watcher._actor_weakref()
    assert actor is not None
    actor.watch(ref)
    termination = ref.termination()
    pending = ref.proxy().sleep(TIMEOUT)
    os.kill(pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(limelight.ActorDeadError, match="killed by signal 9"):
        pending.get(TIMEOUT)
    assert time.monotonic() - start < 10
    terminated = termination.get(TIMEOUT)
    assert terminated.reason == "failure"
    assert isinstance(terminated.exception, limelight.ActorDeadError)
    assert _received(watcher).actor_ref == ref
    assert not ref.is_alive()
    assert not other.is_alive()  # it lived in the same worker
    with pytest.raises(limelight.ActorDeadError):
        ref.ask(1, timeout=TIMEOUT)
    # A new actor gets a new worker.
    assert Counter.start().ask("alive", timeout=TIMEOUT) == "alive"


def test_a_supervisor_restarts_a_process_actor_whose_worker_was_killed() -> None:
    supervisor = limelight.Supervisor.start(
        [limelight.ChildSpec("counter", Counter)], max_restarts=5
    )
    first = supervisor.proxy().child("counter").get(TIMEOUT)
    os.kill(first.ask("pid", timeout=TIMEOUT), signal.SIGKILL)
    first.termination().get(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while True:
        second = supervisor.proxy().child("counter").get(TIMEOUT)
        if second is not None and second != first:
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert second.ask("restarted", timeout=TIMEOUT) == "restarted"
    supervisor.stop(timeout=TIMEOUT)
    assert not second.is_alive()


def test_sending_on_a_closed_channel() -> None:
    import multiprocessing  # noqa: PLC0415

    mine, theirs = multiprocessing.Pipe()
    channel = processes.Channel(mine, "a test pipe")  # pyright: ignore[reportArgumentType] -- typeshed: Windows
    theirs.close()
    imported = channel.import_future(7)  # a future from the other side
    channel.close()
    channel.close()  # (once is enough)
    with pytest.raises(limelight.ActorDeadError, match="has closed"):
        imported.get(TIMEOUT)
    with pytest.raises(limelight.ActorDeadError, match="is closed"):
        channel.send((_wire.TELL, "urn", b""))
    future: processes.ProcessFuture[Any] = processes.ProcessFuture()
    channel.request(future, _wire.ASK, "urn", b"")
    with pytest.raises(limelight.ActorDeadError, match="is closed"):
        future.get(TIMEOUT)
    ref = channel.remote_ref("urn", limelight.Actor)  # arrives dead
    assert ref.termination().get(TIMEOUT).reason == "failure"
    assert (
        RemoteRef(channel, "urn", limelight.Actor, processes.ProcessFuture).kill()
        is True
    )


def test_channel_frames_about_the_unknown() -> None:
    import multiprocessing  # noqa: PLC0415

    mine, theirs = multiprocessing.Pipe()
    channel = processes.Channel(mine, "a test pipe")  # pyright: ignore[reportArgumentType] -- typeshed: Windows
    try:
        channel._on_reply(12345, True, b"")  # a reply nobody waits for any more
        channel._on_terminated("urn:uuid:unknown", "normal", b"")
        channel._on_subscribe("urn:uuid:unknown")  # it has ended: say so at once
        frame = pickle.loads(theirs.recv_bytes())
        assert frame[:3] == (_wire.TERMINATED, "urn:uuid:unknown", "normal")
        assert pickle.loads(frame[3]) is None
        inbox = ForwardingInbox(channel, "urn:uuid:unknown")
        assert inbox.empty()
        assert inbox.qsize() is None  # (the actor's inbox is out of reach)
        with pytest.raises(queue.Empty):
            inbox.get()
        with pytest.raises(queue.Empty):
            inbox.get_nowait()
    finally:
        channel.close()
        theirs.close()


def test_a_bad_frame_does_not_end_the_reader(
    limelight_logs: pytest.LogCaptureFixture,
) -> None:
    import multiprocessing  # noqa: PLC0415

    mine, theirs = multiprocessing.Pipe()
    channel = processes.Channel(mine, "a test pipe")  # pyright: ignore[reportArgumentType] -- typeshed: Windows
    try:
        ref = channel.remote_ref("urn:uuid:remote", limelight.Actor)
        unloadable = _pickling.dumps(UnloadableError("a", "b"), channel)
        for frame in [
            (99, "no such kind of frame"),
            (_wire.TERMINATED, "urn:uuid:remote", "failure", unloadable),
            (_wire.SHUTDOWN,),
        ]:
            theirs.send_bytes(pickle.dumps(frame))
        assert channel.serve() is True  # it read on, to the shutdown
        assert "Handling a frame from a test pipe failed" in limelight_logs.text
        terminated = ref.termination().get(TIMEOUT)
        assert terminated.reason == "failure"
        assert isinstance(terminated.exception, TypeError)
    finally:
        channel.close()
        theirs.close()


def test_linked_actor_failed_pickles() -> None:
    ref = Counter.start()
    ended = limelight.messages.Terminated(ref, "killed")
    error = limelight.LinkedActorFailed(ended)
    copy = pickle.loads(_pickling.dumps(error, pool_module.NO_CHANNEL))
    assert str(copy) == str(error)
    assert copy.terminated.reason == "killed"


def test_a_pipe_closed_under_its_reader() -> None:
    import multiprocessing  # noqa: PLC0415

    mine, theirs = multiprocessing.Pipe()
    channel = processes.Channel(mine, "a vanishing pipe")  # pyright: ignore[reportArgumentType] -- typeshed: Windows
    channel.close()  # (by another thread, as this one was about to read)
    try:
        assert channel.serve() is False
    finally:
        theirs.close()


# -- Configuration -------------------------------------------------------------------


def test_configure_refuses_fork_and_running_workers() -> None:
    with pytest.raises(ValueError, match="fork"):
        limelight.process.configure(start_method="fork")
    Counter.start()
    with pytest.raises(RuntimeError, match="shutdown"):
        limelight.process.configure(processes=1)
    limelight.process.shutdown(timeout=TIMEOUT)
    limelight.process.configure()


def test_the_spawn_start_method() -> None:
    limelight.process.configure(processes=1, start_method="spawn")
    try:
        ref = Counter.start()
        assert ref.proxy().increment().get(TIMEOUT) == 1
    finally:
        limelight.process.shutdown(timeout=TIMEOUT)
        limelight.process.configure()


def test_importing_limelight_does_not_import_multiprocessing() -> None:
    code = "import sys, limelight; print('multiprocessing' in sys.modules)"
    # (Without coverage, which imports it itself in a measured subprocess.)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    )
    assert out.stdout.strip() == "False"


# -- Parent exit leaves no orphan ------------------------------------------------------

EXIT_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from tests.process_actors import Counter, Dedicated

    refs = [Counter.start(), Counter.start(), Dedicated.start()]
    print(" ".join(str(ref.ask("pid")) for ref in refs), flush=True)
    mode = sys.argv[1]
    if mode == "exception":
        raise RuntimeError("the parent fails")
    if mode == "sigterm":
        time.sleep(600)
    """
)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] == "Z"  # a zombie is gone
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("mode", ["normal", "exception", "sigterm"])
def test_parent_exit_leaves_no_worker(mode: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    parent = subprocess.Popen(
        [sys.executable, "-c", EXIT_SCRIPT, mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    pids = [int(pid) for pid in line.split()]
    assert len(pids) == 3, parent.communicate(timeout=TIMEOUT)
    if mode == "sigterm":
        parent.send_signal(signal.SIGTERM)
    _, err = parent.communicate(timeout=TIMEOUT)
    if mode == "exception":
        assert "the parent fails" in err
    deadline = time.monotonic() + TIMEOUT
    while not all(_gone(pid) for pid in pids):
        assert time.monotonic() < deadline, f"orphans: {pids}"
        time.sleep(0.05)


def test_worker_threads_are_service_threads() -> None:
    Counter.start()
    readers = [t for t in threading.enumerate() if t.name.endswith("-reader")]
    assert readers
    assert all(is_service_thread(t) for t in readers)


# -- Introspection: the workers' actors -------------------------------------------


def test_a_snapshot_including_workers_shows_their_actors_and_which_process() -> None:
    ref = Counter.start()
    try:
        worker_pid = ref.ask("pid", timeout=TIMEOUT)
        assert worker_pid != os.getpid()

        local = limelight.observe.snapshot()
        everywhere = limelight.observe.snapshot(include_workers=True, timeout=TIMEOUT)

        assert ref.actor_urn not in {info.urn for info in local}
        (info,) = [info for info in everywhere if info.urn == ref.actor_urn]
        assert info.actor_class == "Counter"
        assert info.runtime == f"process {worker_pid}"
        assert info.handled >= 1
    finally:
        ref.stop()


def test_a_snapshot_starts_no_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "_pool", None)

    assert processes.workers_snapshot(TIMEOUT) == []
    assert pool_module._pool is None


class _SilentChannel:
    """A worker's channel whose requests fail: a worker gone, or too slow."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def request(self, future: Any, kind: int, *fields: Any) -> Any:
        future.set_exception(self.exc)
        return future


class _FakePool:
    def __init__(self, *channels: _SilentChannel) -> None:
        self._channels = list(channels)

    def channels(self) -> list[_SilentChannel]:
        return self._channels


def test_workers_that_fail_to_answer_are_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = _FakePool(
        _SilentChannel(limelight.ActorDeadError("gone")),
        _SilentChannel(limelight.Timeout("too slow")),
    )
    monkeypatch.setattr(pool_module, "_pool", pool)

    assert processes.workers_snapshot(TIMEOUT) == []


def test_the_module_wide_locks_are_released_in_a_forked_child() -> None:
    locks = [pool_module._pool_lock, _classes._combinations_lock]
    with pool_module._pool_lock, _classes._combinations_lock:  # (held at the fork)
        pid = os.fork()
        if pid == 0:  # pragma: no cover -- the child (measured by coverage's patch)
            os._exit(1 if any(lock.locked() for lock in locks) else 0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
