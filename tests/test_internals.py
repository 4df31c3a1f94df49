"""Internal protocols the runtimes rely on, tested directly.

These reach into private names on purpose: each protocol here has races or
hooks that the public API cannot trigger on demand.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import pickle
import queue
import random
import textwrap
import unittest.mock
import uuid
import warnings
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

import limelight
from limelight._core import _awaiting, _context, _mailbox, _waiting
from limelight._core._actor import new_actor_urn
from limelight._core._stopped import StoppedEvent
from limelight._core._waiting import Waiter
from limelight.messages import Terminated
from tests.test_examples import python

TIMEOUT = 10.0


class Echo(limelight.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message


# -- Closing an inbox: a message put just as the actor stops ----------------------


class StoppedJustAfterTheCheck:
    """A ref's stopped flag that reads "running" once, then "stopped".

    A ref checks its actor's flag before putting a message and again after;
    this stands in for an actor that stopped between the two checks.
    """

    def __init__(self, stopped: StoppedEvent) -> None:
        assert stopped.is_set()
        self._stopped = stopped
        self._reads = 0

    @property
    def _flag(self) -> bool:
        self._reads += 1
        return self._reads > 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stopped, name)


def stopped_just_after_the_check(
    monkeypatch: pytest.MonkeyPatch, ref: limelight.ActorRef[Any]
) -> None:
    monkeypatch.setattr(
        ref, "actor_stopped", StoppedJustAfterTheCheck(ref.actor_stopped)
    )


def test_an_ask_put_just_as_the_actor_stopped_fails_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = Echo.start()
    ref.stop()
    stopped_just_after_the_check(monkeypatch, ref)

    future = ref.ask("too late", block=False)

    with pytest.raises(limelight.ActorDeadError, match="stopped before handling"):
        future.get(TIMEOUT)
    assert ref.actor_inbox.empty()


def test_a_tell_put_just_as_the_actor_stopped_is_dropped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ref = Echo.start()
    ref.stop()
    stopped_just_after_the_check(monkeypatch, ref)

    with caplog.at_level(logging.DEBUG, logger="limelight"):
        ref.tell("too late")  # does not raise: it was accepted, then dropped

    assert ref.actor_inbox.empty()
    assert any("Dropped message" in r.getMessage() for r in caplog.records)


def test_a_stop_put_just_as_the_actor_stopped_succeeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = Echo.start()
    ref.stop()
    stopped_just_after_the_check(monkeypatch, ref)

    assert ref.stop(timeout=TIMEOUT) is True  # stopped, as asked


class RunningUntilPut:
    """A ref's stopped flag that reads "running" until a message goes in.

    Unlike `StoppedJustAfterTheCheck`, it does not count the reads, so it
    stands in for an actor that stops as the message goes in whichever way
    the ref takes to put it (its common case, or ``ActorRef._enqueue()``
    for a message wrapped in its sender's context).
    """

    def __init__(self, stopped: StoppedEvent) -> None:
        assert stopped.is_set()
        self._stopped = stopped
        self._flag = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stopped, name)


class StoppingInbox:
    """An inbox that marks `stopped` as "stopped" once a message is put in it."""

    def __init__(self, inbox: Any, stopped: RunningUntilPut) -> None:
        self._inbox = inbox
        self._stopped = stopped

    def put(self, envelope: Any) -> None:
        self._inbox.put(envelope)
        self._stopped._flag = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inbox, name)


@pytest.fixture(params=[False, True], ids=["plain", "in-context"])
def stopped_as_the_message_goes_in(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> limelight.ActorRef[Any]:
    """A stopped actor's ref, on which the stop seems to happen during the put.

    With and without context propagation, which wraps the message and sends
    it through ``ActorRef._enqueue()``.
    """
    monkeypatch.setattr(_context, "propagating", request.param)
    ref = Echo.start()
    ref.stop()
    stopped = RunningUntilPut(ref.actor_stopped)
    monkeypatch.setattr(ref, "actor_stopped", stopped)
    monkeypatch.setattr(ref, "actor_inbox", StoppingInbox(ref.actor_inbox, stopped))
    return ref


def test_an_ask_that_goes_in_as_the_actor_stops_fails_instead_of_hanging(
    stopped_as_the_message_goes_in: limelight.ActorRef[Any],
) -> None:
    ref = stopped_as_the_message_goes_in

    future = ref.ask("too late", block=False)

    with pytest.raises(limelight.ActorDeadError, match="stopped before handling"):
        future.get(TIMEOUT)
    assert ref.actor_inbox.empty()


def test_a_tell_that_goes_in_as_the_actor_stops_is_a_dead_letter(
    stopped_as_the_message_goes_in: limelight.ActorRef[Any],
) -> None:
    ref = stopped_as_the_message_goes_in
    letters: list[limelight.DeadLetter] = []
    unsubscribe = limelight.DeadLetters.subscribe(letters.append)
    try:
        ref.tell("too late")  # does not raise: it was accepted, then dropped
    finally:
        unsubscribe()

    assert ref.actor_inbox.empty()
    assert [letter.message for letter in letters] == ["too late"]


def test_a_message_to_a_stopped_actor_is_not_queued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_context, "propagating", True)
    ref = Echo.start()
    ref.stop()

    with pytest.raises(limelight.ActorDeadError, match="not found"):
        ref.tell("nobody hears it")
    assert ref._enqueue("nor this", None) is False
    assert ref.actor_inbox.empty()


# -- How callers wait: waiter factories -----------------------------------------------


@pytest.fixture
def recording_waiter_factory(no_waiter_factories: None) -> Iterator[list[Waiter]]:
    """A waiter factory that hands out plain locks and remembers them."""
    made: list[Waiter] = []

    def factory() -> Waiter | None:
        lock = _waiting.allocate_lock()
        lock.acquire()
        made.append(lock)
        return lock

    _waiting.register_waiter_factory(factory)
    try:
        yield made
    finally:
        _waiting.unregister_waiter_factory(factory)
    assert not _waiting.waiter_factories


def test_a_registered_waiter_factory_decides_how_callers_wait(
    recording_waiter_factory: list[Waiter],
) -> None:
    ref = Echo.start()

    assert ref.ask("via the factory's waiter", timeout=TIMEOUT) == (
        "via the factory's waiter"
    )
    assert len(recording_waiter_factory) >= 1


def test_a_waiter_from_a_factory_times_out(
    recording_waiter_factory: list[Waiter],
) -> None:
    future: limelight.Future[int] = limelight.ThreadingFuture()

    with pytest.raises(limelight.Timeout):
        future.get(timeout=0.01)

    future.set(1)  # the timed-out waiter was forgotten: nobody to wake
    assert future.get(timeout=0) == 1
    assert len(recording_waiter_factory) == 1


def test_a_factory_that_declines_leaves_waiting_to_an_os_lock() -> None:
    asked: list[bool] = []

    def declining() -> Waiter | None:
        asked.append(True)
        return None

    _waiting.register_waiter_factory(declining)
    try:
        assert Echo.start().ask("fallback", timeout=TIMEOUT) == "fallback"
    finally:
        _waiting.unregister_waiter_factory(declining)

    assert asked


# -- Completion callbacks --------------------------------------------------------------


@pytest.mark.parametrize("broken_first", [True, False], ids=["first", "second"])
@pytest.mark.parametrize("completion", ["set", "set_exception"])
def test_a_failing_done_callback_is_logged_and_harms_nobody(
    caplog: pytest.LogCaptureFixture, broken_first: bool, completion: str
) -> None:
    # (set() calls its first callback itself, the others through a helper.)
    future: limelight.Future[str] = limelight.ThreadingFuture()
    called: list[str] = []

    def broken() -> None:
        raise RuntimeError("callback bug")

    def working() -> None:
        called.append("working")

    for callback in [broken, working] if broken_first else [working, broken]:
        assert future._add_done_callback(callback)

    with caplog.at_level(logging.ERROR, logger="limelight"):
        if completion == "set":
            future.set("value")
        else:
            future.set_exception(ValueError("the value"))

    if completion == "set":
        assert future.get(TIMEOUT) == "value"
    else:
        with pytest.raises(ValueError, match="the value"):
            future.get(TIMEOUT)
    assert called == ["working"]
    (record,) = caplog.records
    assert record.getMessage().startswith("Future callback")
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "callback bug"


def test_a_removed_done_callback_is_not_called() -> None:
    future: limelight.Future[str] = limelight.ThreadingFuture()
    called: list[str] = []

    def callback() -> None:
        called.append("called")

    future._add_done_callback(callback)
    future._remove_done_callback(callback)
    future._remove_done_callback(callback)  # twice is harmless
    future.set("value")

    assert called == []


def test_a_done_callback_on_a_completed_future_runs_at_once() -> None:
    future: limelight.Future[str] = limelight.ThreadingFuture()
    future.set("value")
    called: list[str] = []

    assert future._add_done_callback(lambda: called.append("now"))
    assert called == ["now"]


def test_a_future_completed_as_its_awaiting_task_is_cancelled() -> None:
    future: limelight.Future[str] = limelight.ThreadingFuture()

    async def main() -> bool:
        async def wait() -> str:
            return await future

        task = asyncio.ensure_future(wait())
        await asyncio.sleep(0)  # the task now waits for the future
        future.set("done")  # schedules the task's wake-up...
        task.cancel()  # ...which then finds the task cancelled
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert asyncio.run(main()) is True
    assert future.get(TIMEOUT) == "done"


def test_importing_limelight_does_not_import_asyncio() -> None:
    script = textwrap.dedent(
        """
        import sys
        import limelight

        assert "asyncio" not in sys.modules, "import limelight imported asyncio"
        future = limelight.ThreadingFuture()

        def consume():
            return (yield from future)

        waiting = consume()
        next(waiting)
        future.set(5)
        try:
            next(waiting)
        except StopIteration as done:
            print(done.value)
        assert "asyncio" not in sys.modules, "yield from imported asyncio"
        """
    )

    result = python("-c", script)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "5\n"


def test_reprs_say_what_state_a_future_is_in() -> None:
    pending: limelight.Future[int] = limelight.ThreadingFuture()
    done: limelight.Future[int] = limelight.ThreadingFuture()
    done.set(1)
    failed: limelight.Future[int] = limelight.ThreadingFuture()
    failed.set_exception(ValueError())
    lazy: limelight.Future[int] = limelight.ThreadingFuture()
    lazy.set_get_hook(lambda _timeout: 1)

    assert repr(pending) == "<ThreadingFuture pending>"
    assert repr(done) == "<ThreadingFuture done>"
    assert repr(failed) == "<ThreadingFuture failed>"
    assert repr(lazy) == "<ThreadingFuture lazy>"
    interface: limelight.Future[int] = limelight.Future()
    assert repr(interface) == "<Future>"


def test_a_future_completed_after_its_awaiting_loop_closed() -> None:
    future: limelight.Future[int] = limelight.ThreadingFuture()

    async def wait() -> int:
        return await future

    loop = asyncio.new_event_loop()
    task = loop.create_task(wait())
    loop.run_until_complete(asyncio.sleep(0))  # the task now waits for the future
    loop.close()

    future.set(3)  # nobody left to wake: must not raise

    assert future.get(TIMEOUT) == 3
    coroutine = task.get_coro()
    assert coroutine is not None
    coroutine.close()  # ends the abandoned wait
    task._log_destroy_pending = False  # type: ignore[attr-defined]


# -- stop_all() with refs that are test doubles ------------------------------------


def test_stop_all_passes_on_what_a_test_doubles_stop_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopped: list[str] = []

    class FakeRef:
        def __init__(self, name: str) -> None:
            self.name = name

        def stop(self, block: bool = True, timeout: float | None = None) -> str:
            stopped.append(self.name)
            return f"{self.name} stopped"

    fakes = [FakeRef("first"), FakeRef("second")]
    monkeypatch.setattr(limelight.ActorRegistry, "get_all", lambda: fakes)

    results = limelight.ActorRegistry.stop_all()

    assert stopped == ["second", "first"]
    assert results == ["second stopped", "first stopped"]  # type: ignore[comparison-overlap]


def test_stop_all_asks_no_owner_of_a_mock_that_makes_attributes_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mocks = [unittest.mock.Mock(name=str(i)) for i in range(3)]
    monkeypatch.setattr(limelight.ActorRegistry, "get_all", lambda: mocks)

    limelight.ActorRegistry.stop_all()  # (once looped for ever on mock._owner)

    for mock in mocks:
        mock.stop.assert_called_once()


def test_python_dash_m_limelight_runs_the_command() -> None:
    found = python("-m", "limelight", "--help")

    assert found.returncode == 0, found.stderr
    assert "bench" in found.stdout


# -- Termination callbacks -------------------------------------------------------------


def test_a_failing_termination_callback_is_logged_and_harms_nobody(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ref = limelight.ThreadingActor.start()
    called: list[Terminated] = []

    def broken(_terminated: Terminated) -> None:
        raise RuntimeError("callback bug")

    ref.actor_stopped.add_termination_callback("broken", broken)
    ref.actor_stopped.add_termination_callback("working", called.append)
    with caplog.at_level(logging.ERROR, logger="limelight"):
        ref.stop()
    assert called == [Terminated(ref, "normal", None)]
    assert any(
        r.getMessage().startswith("Termination callback") for r in caplog.records
    )


def test_an_actor_terminates_once() -> None:
    event = StoppedEvent()
    called: list[Terminated] = []
    event.add_termination_callback("key", called.append)
    first = Terminated(limelight.ThreadingActor.start(), "normal", None)
    event.terminate(first)
    event.terminate(first._replace(reason="killed"))
    assert event.terminated is first
    assert called == [first]


class _OtherLoops:
    """A second kind of event loop, which runs wherever `running` says."""

    def __init__(self, *, running: bool) -> None:
        self.is_running = running
        self.asked: list[limelight.Future[Any]] = []

    def running(self) -> bool:
        return self.is_running

    def wait_until_ready(
        self, future: limelight.Future[Any]
    ) -> Generator[Any, None, bool] | None:
        self.asked.append(future)
        return self._wait() if self.is_running else None

    def _wait(self) -> Generator[Any, None, bool]:
        yield "parked on the other loop"
        return True

    def get_off_loop(self, future: limelight.Future[Any]) -> Generator[Any, None, Any]:
        raise AssertionError  # pragma: no cover -- not used here


class _PlainFuture(limelight.Future[int]):
    """The interface itself, no runtime's future: its value from a get hook."""


def _awaited_futures() -> dict[str, tuple[limelight.Future[int], Any]]:
    """Futures of each kind an await reads, and how each gets its value 5."""
    settable: limelight.ThreadingFuture[int] = limelight.ThreadingFuture()
    source: limelight.ThreadingFuture[int] = limelight.ThreadingFuture()
    plain = _PlainFuture()
    return {
        "settable": (settable, lambda: settable.set(5)),
        "derived": (source.map(lambda value: value), lambda: source.set(5)),
        "base class": (plain, lambda: plain.set_get_hook(lambda _timeout: 5)),
    }


@pytest.mark.parametrize("kind", ["settable", "derived", "base class"])
@pytest.mark.parametrize("running", [True, False])
def test_the_core_asks_every_kind_of_event_loop_registered(
    monkeypatch: pytest.MonkeyPatch, running: bool, kind: str
) -> None:
    monkeypatch.setattr(_awaiting, "_registered", list(_awaiting._registered))
    monkeypatch.setattr(_awaiting, "waiting_for", _awaiting.waiting_for)
    other = _OtherLoops(running=running)
    _awaiting.register(other)  # a second kind: the core asks each in turn

    future, complete = _awaited_futures()[kind]
    awaiting = future.__await__()
    # Off any asyncio loop: the other kind answers, or nobody does and the
    # generator yields once, for get() to wait.
    expected = "parked on the other loop" if running else None
    assert next(awaiting) == expected
    assert other.asked == [future]
    assert _awaiting.on_event_loop() is running
    complete()
    with pytest.raises(StopIteration) as stopped:
        next(awaiting)
    assert stopped.value.value == 5


def test_after_put_the_source_of_the_inlined_copies_rejects_what_came_late() -> None:
    # tools/inline.py copies _mailbox.after_put() into the hot paths; the
    # function itself is what those copies must do (see tests/test_inline.py).
    running = Echo.start()
    queued: limelight.ThreadingFuture[Any] = limelight.ThreadingFuture()
    running.actor_inbox.put(("queued", queued))
    _mailbox.after_put(running)  # running: nothing to do, the actor answers
    assert queued.get(TIMEOUT) == "queued"

    running.stop()
    late: limelight.ThreadingFuture[Any] = limelight.ThreadingFuture()
    running.actor_inbox.put(("late", late))
    _mailbox.after_put(running)  # stopped: the late message is answered here
    with pytest.raises(limelight.ActorDeadError, match="stopped before handling"):
        late.get(TIMEOUT)
    assert running.actor_inbox.empty()


def _slots_set(future: object) -> dict[str, object]:
    """The slots of `future` that hold a value, with their values."""
    return {
        name: getattr(future, name)
        for cls in type(future).__mro__
        for name in getattr(cls, "__slots__", ())
        if not name.startswith("__") and hasattr(future, name)
    }


def test_futures_that_write_out_settable_future_init_set_up_as_it_does() -> None:
    # AsyncioFuture and GreenFuture copy SettableFuture.__init__() (a call
    # less per ask): a slot it gains must be copied there too.
    pytest.importorskip("greenlet")
    from limelight._runtimes.event_loop.runtime import AsyncioFuture  # noqa: PLC0415
    from limelight._runtimes.greenlet.runtime import GreenFuture  # noqa: PLC0415

    base = _slots_set(limelight.ThreadingFuture[Any]())
    assert set(base) == {"_hook", "_state", "_callbacks"}
    futures: list[limelight.Future[Any]] = [AsyncioFuture(), GreenFuture()]
    for future in futures:
        assert _slots_set(future).items() >= base.items(), type(future).__name__


def pickle_round_trip(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))


@pytest.mark.parametrize("copy_of", [pickle_round_trip, copy.deepcopy])
def test_a_pickled_or_deep_copied_pending_future_can_still_be_set(
    copy_of: Callable[[Any], Any],
) -> None:
    # Its claim token (see SettableFuture) is one object, kept by name.
    future: limelight.ThreadingFuture[int] = copy_of(limelight.ThreadingFuture())
    assert repr(future._callbacks) == "[<unclaimed>]"

    future.set(1)

    assert future.get(timeout=1) == 1
    with pytest.raises(queue.Full):
        future.set(2)


# -- Actor URNs --------------------------------------------------------------------


def test_urns_do_not_follow_the_program_s_own_seed() -> None:
    # (A program that seeds `random` the same way in each of its processes,
    # or in each run, must not name two actors alike.)
    random.seed(7)
    first = new_actor_urn()
    random.seed(7)
    second = new_actor_urn()

    assert first != second
    assert uuid.UUID(first).version == 4
    assert uuid.UUID(first).urn == first


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
def test_a_forked_child_names_its_actors_apart_from_its_parent() -> None:
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
        pid = os.fork()
    if pid == 0:  # pragma: no cover -- the child
        os.write(write_end, new_actor_urn().encode())
        os._exit(0)
    os.close(write_end)
    try:
        child = os.read(read_end, 100).decode()
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)

    assert child.startswith("urn:uuid:")
    assert child != new_actor_urn()  # (the parent's next one)
