"""Deadlocks through ``await``, and killing an actor stuck in one.

An asyncio actor's handler that awaits the reply to an ask keeps the actor
from handling anything else, as a blocking ``get()`` does: the await is a
wait of the actor, recorded in the same wait-for graph, and a cycle through
it is refused with ``DeadlockError``. A task that the handler starts is not
the actor: its awaits are never refused. An actor killed while its handler
awaits ends at once: the handler is cancelled.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import limelight
from limelight import ActorDeadError, ActorRef, DeadlockError, ThreadingActor
from limelight._core import _future, _wait_graph
from limelight._core._wait_graph import Confirm, Pending, WaitNode, waits
from limelight._remote._waits import ReportedWaits
from limelight._runtimes.event_loop import awaiting
from limelight.asyncio import AsyncioActor

TIMEOUT = 10.0


class Awaiter(AsyncioActor):
    """Awaits the replies of its own asks, to itself or to the next actor."""

    def __init__(self) -> None:
        super().__init__()
        self.next: ActorRef[Any] | None = None
        self.background: asyncio.Task[Any] | None = None

    def point_at(self, next_actor: ActorRef[Any]) -> None:
        self.next = next_actor

    def on_receive(self, message: Any) -> Any:
        return message

    async def ask_myself(self) -> Any:
        return await self.actor_ref.ask("me", block=False)

    async def relay(self) -> Any:
        """Await the next actor's relay(); the last one (no next) answers."""
        if self.next is None:
            return self.actor_urn
        return await self.next.proxy().relay()

    async def ask_next(self) -> Any:
        assert self.next is not None
        return await self.next.ask("hello", block=False)

    def ask_myself_in_a_task(self, done: limelight.ThreadingFuture[Any]) -> None:
        """Start a task that asks this actor, and sets `done` with the reply.

        (The task copies the actor's context, but is not the actor.)
        """

        async def in_a_task() -> None:
            try:
                done.set(await self.actor_ref.ask("me", block=False))
            except Exception as exc:  # noqa: BLE001 -- handed to the test
                done.set_exception(exc)

        self.background = asyncio.get_running_loop().create_task(in_a_task())

    async def hang(self, entered: threading.Event) -> None:
        entered.set()
        await asyncio.Event().wait()  # forever, unless cancelled


class Blocker(ThreadingActor):
    """A thread actor that blocks in get() on the next actor's relay()."""

    def __init__(self) -> None:
        super().__init__()
        self.next: ActorRef[Any] | None = None

    def point_at(self, next_actor: ActorRef[Any]) -> None:
        self.next = next_actor

    def relay(self) -> Any:
        assert self.next is not None
        return self.next.proxy().relay().get(TIMEOUT)

    def ask_next(self) -> Any:
        assert self.next is not None
        return self.next.ask("hello", timeout=TIMEOUT)

    def hold(self, entered: threading.Event, gate: threading.Event) -> str:
        entered.set()
        gate.wait(TIMEOUT)
        return "held"

    def on_receive(self, message: Any) -> Any:
        return message


def ring(*classes: type[Awaiter | Blocker]) -> list[ActorRef[Any]]:
    refs: list[ActorRef[Any]] = [cls.start() for cls in classes]
    for ref, next_ref in zip(refs, refs[1:] + refs[:1], strict=True):
        ref.proxy().point_at(next_ref).get(TIMEOUT)
    return refs


def test_awaiting_its_own_reply_is_refused_and_the_actor_goes_on() -> None:
    ref = Awaiter.start()

    # (Without detection: a Timeout, and an actor stuck for good.)
    with pytest.raises(DeadlockError) as info:
        ref.proxy().ask_myself().get(TIMEOUT)

    assert info.value.cycle == (ref,)
    assert "waits for a reply from itself" in str(info.value)
    assert ref.ask("still here", timeout=TIMEOUT) == "still here"
    assert waits() == {}


def test_an_awaited_cycle_of_two_is_refused_naming_both() -> None:
    a, b = ring(Awaiter, Awaiter)

    with pytest.raises(DeadlockError) as info:
        a.proxy().relay().get(TIMEOUT)

    assert set(info.value.cycle) == {a, b}
    assert "or awaiting it" in str(info.value)  # (what to do, for an await)
    # (Each goes on; the relay that b sent a before it was refused goes
    # round again, as it would with blocking gets.)
    assert a.ask("a", timeout=TIMEOUT) == "a"
    assert b.ask("b", timeout=TIMEOUT) == "b"


@pytest.mark.parametrize(
    "classes",
    [(Awaiter, Blocker), (Blocker, Awaiter)],
    ids=["await-first", "get-first"],
)
def test_a_cycle_of_an_await_and_a_blocking_get_is_refused(
    classes: tuple[type[Awaiter | Blocker], type[Awaiter | Blocker]],
) -> None:
    refs = ring(*classes)

    with pytest.raises(DeadlockError) as info:
        refs[0].proxy().relay().get(TIMEOUT)

    assert set(info.value.cycle) == set(refs)


def test_an_awaited_chain_without_a_cycle_is_answered() -> None:
    a, b = Awaiter.start(), Awaiter.start()
    a.proxy().point_at(b).get(TIMEOUT)

    assert a.proxy().relay().get(TIMEOUT) == b.actor_urn


def test_a_task_the_handler_starts_may_await_the_actor() -> None:
    # The handler has returned: the actor is free to answer its own task.
    ref = Awaiter.start()
    done: limelight.ThreadingFuture[Any] = limelight.ThreadingFuture()

    ref.proxy().ask_myself_in_a_task(done).get(TIMEOUT)

    assert done.get(TIMEOUT) == "me"  # (not a DeadlockError)


def test_an_await_is_in_the_graph_while_it_lasts(recorded: threading.Event) -> None:
    awaiter, blocker = Awaiter.start(), Blocker.start()
    awaiter.proxy().point_at(blocker).get(TIMEOUT)
    entered, gate = threading.Event(), threading.Event()
    held = blocker.proxy().hold(entered, gate)
    assert entered.wait(TIMEOUT)

    asked = awaiter.proxy().ask_next()
    try:
        assert recorded.wait(TIMEOUT)  # (recorded as the handler suspends)
        assert waits() == {awaiter: blocker}
    finally:
        gate.set()
    assert asked.get(TIMEOUT) == "hello"
    assert held.get(TIMEOUT) == "held"
    assert awaiter.ask("done", timeout=TIMEOUT) == "done"
    assert waits() == {}


def test_killing_an_actor_stuck_in_an_await_ends_it() -> None:
    ref = Awaiter.start()
    entered = threading.Event()
    stuck = ref.proxy().hang(entered)
    queued = ref.ask("queued", block=False)
    assert entered.wait(TIMEOUT)

    assert ref.kill() is True

    # (Without the cancellation: it never ends, and holds the loop's exit.)
    terminated = ref.termination().get(TIMEOUT)
    assert terminated.reason == "killed"
    with pytest.raises(ActorDeadError, match="was cancelled"):
        stuck.get(TIMEOUT)
    with pytest.raises(ActorDeadError):
        queued.get(TIMEOUT)
    assert not ref.is_alive()


# -- Waits reported to another process's graph -------------------------------------


class FakeReporter:
    """A reporter that answers as the test says (a worker process's, for real)."""

    def __init__(self, answer: Confirm | DeadlockError | None) -> None:
        self.answer = answer
        self.reported: list[tuple[str, str]] = []
        self.ends: list[Pending] = []
        self.reported_event = threading.Event()

    def began(
        self, waiter: WaitNode, producer: WaitNode, pending: Pending, /
    ) -> Confirm | None:
        self.reported.append((waiter.actor_urn, producer.actor_urn))
        self.reported_event.set()
        if isinstance(self.answer, DeadlockError):
            raise self.answer
        return self.answer

    def ended(self, waiter: WaitNode, pending: Pending, /) -> None:
        self.ends.append(pending)


@pytest.fixture
def reporter() -> Iterator[list[FakeReporter]]:
    """Install the FakeReporter the test puts in the list; remove it after."""
    installed: list[FakeReporter] = []
    yield installed
    _wait_graph.report_to(None)


def install(
    installed: list[FakeReporter], answer: Confirm | DeadlockError | None
) -> FakeReporter:
    fake = FakeReporter(answer)
    installed.append(fake)
    _wait_graph.report_to(fake)
    return fake


def held_blocker() -> tuple[ActorRef[Any], threading.Event, limelight.Future[str]]:
    """A thread actor held in a handler until the returned event is set."""
    blocker = Blocker.start()
    entered, gate = threading.Event(), threading.Event()
    held = blocker.proxy().hold(entered, gate)
    assert entered.wait(TIMEOUT)
    return blocker, gate, held


@pytest.mark.parametrize("waiter_class", [Awaiter, Blocker])
def test_a_lasting_wait_refused_by_the_program_graph_raises(
    reporter: list[FakeReporter], waiter_class: type[Awaiter | Blocker]
) -> None:
    error = DeadlockError("a cycle through another process")
    fake = install(reporter, error)
    waiter = waiter_class.start()
    blocker, gate, held = held_blocker()
    waiter.proxy().point_at(blocker).get(TIMEOUT)

    asked = waiter.proxy().ask_next()
    try:
        with pytest.raises(DeadlockError, match="through another process"):
            asked.get(TIMEOUT)
    finally:
        gate.set()
    assert fake.reported == [(waiter.actor_urn, blocker.actor_urn)]
    assert held.get(TIMEOUT) == "held"
    assert waits() == {}


@pytest.mark.parametrize("holds", [True, False])
@pytest.mark.parametrize("waiter_class", [Awaiter, Blocker])
def test_a_suspected_cycle_is_refused_only_if_it_still_holds(
    reporter: list[FakeReporter], waiter_class: type[Awaiter | Blocker], holds: bool
) -> None:
    confirmed = threading.Event()

    def confirm() -> DeadlockError | None:
        confirmed.set()
        return DeadlockError("confirmed") if holds else None

    install(reporter, confirm)
    waiter = waiter_class.start()
    blocker, gate, held = held_blocker()
    waiter.proxy().point_at(blocker).get(TIMEOUT)

    asked = waiter.proxy().ask_next()
    if holds:
        try:
            with pytest.raises(DeadlockError, match="confirmed"):
                asked.get(TIMEOUT)
        finally:
            gate.set()
    else:
        assert confirmed.wait(TIMEOUT)
        gate.set()  # the wait goes on after the confirmation, and is answered
        assert asked.get(TIMEOUT) == "hello"
    assert held.get(TIMEOUT) == "held"
    assert waits() == {}


def test_a_suspected_cycle_is_confirmed_within_a_short_timeout(
    reporter: list[FakeReporter],
) -> None:
    install(reporter, lambda: None)
    waiter = Blocker.start()
    blocker, gate, held = held_blocker()
    waiter.proxy().point_at(blocker).get(TIMEOUT)

    class Asker(ThreadingActor):
        def ask_with(self, timeout: float) -> Any:
            return blocker.ask("hello", timeout=timeout)

    try:
        # (The moment of confirmation counts against the timeout.)
        with pytest.raises(limelight.Timeout):
            Asker.start().proxy().ask_with(0.05).get(TIMEOUT)
    finally:
        gate.set()
    assert held.get(TIMEOUT) == "held"


def test_a_quick_await_is_not_reported(
    reporter: list[FakeReporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    # (Quick: within the moment before a report, made long here so that a
    # loaded machine cannot make the reply late.)
    monkeypatch.setattr(awaiting, "DEADLOCK_CHECK_AFTER", 60.0)
    fake = install(reporter, None)
    a, b = Awaiter.start(), Awaiter.start()
    a.proxy().point_at(b).get(TIMEOUT)

    assert a.proxy().ask_next().get(TIMEOUT) == "hello"

    assert fake.reported == []
    assert fake.ends  # (every wait's end is told; the reporter knows which)


def test_an_await_over_before_its_report_or_confirmation_is_left_alone() -> None:
    # (The timers of an await that has just ended, due in the same loop
    # iteration as its end, find it over.)
    loop = asyncio.new_event_loop()
    try:
        over: asyncio.Future[None] = loop.create_future()
        over.set_result(None)

        def must_not_run() -> Any:
            raise AssertionError

        awaiting._report(loop, over, must_not_run)
        awaiting._refuse(over, must_not_run)
    finally:
        loop.close()


def test_a_report_that_suspects_a_cycle_schedules_its_confirmation() -> None:
    loop = asyncio.new_event_loop()
    try:
        waiter: asyncio.Future[None] = loop.create_future()
        error = DeadlockError("confirmed")
        awaiting._report(loop, waiter, lambda: lambda: error)
        loop.run_until_complete(asyncio.wait([waiter], timeout=TIMEOUT))
        assert waiter.exception() is error
    finally:
        loop.close()


def test_a_lasting_await_reported_without_a_cycle_goes_on(
    reporter: list[FakeReporter],
) -> None:
    fake = install(reporter, None)
    ref = Awaiter.start()
    blocker, gate, held = held_blocker()
    ref.proxy().point_at(blocker).get(TIMEOUT)

    asked = ref.proxy().ask_next()
    assert fake.reported_event.wait(TIMEOUT)  # (once it has lasted a moment)
    gate.set()

    assert asked.get(TIMEOUT) == "hello"
    assert held.get(TIMEOUT) == "held"
    assert fake.reported == [(ref.actor_urn, blocker.actor_urn)]


class LazyAwaiter(AsyncioActor):
    async def await_lazy(self, target: ActorRef[Any]) -> Any:
        # An ask's future whose value only get() computes: readiness cannot
        # be awaited, so the value is computed off the loop.
        future: limelight.ThreadingFuture[str] = limelight.ThreadingFuture()
        future._producer = target  # pyright: ignore[reportPrivateUsage]
        future.set_get_hook(lambda timeout: "computed")
        return await future


def test_an_actor_awaiting_a_future_computed_on_get_is_answered() -> None:
    ref = LazyAwaiter.start()

    assert ref.proxy().await_lazy(Blocker.start()).get(TIMEOUT) == "computed"
    assert waits() == {}


# -- A cycle through a wait that another process reported ---------------------------


@pytest.fixture
def confirmations(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once a suspected cycle is confirmed (or not), a second after it was."""
    monkeypatch.setattr(_future, "CONFIRM_CYCLE_AFTER", 1.0)
    monkeypatch.setattr(awaiting, "CONFIRM_CYCLE_AFTER", 1.0)
    confirmed = threading.Event()
    confirm = _wait_graph._confirm  # pyright: ignore[reportPrivateUsage]

    def signalling(cycle: Any) -> DeadlockError | None:
        error = confirm(cycle)
        confirmed.set()
        return error

    monkeypatch.setattr(_wait_graph, "_confirm", signalling)
    return confirmed


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once a wait is recorded in this process's graph."""
    event = threading.Event()
    begin_wait = _wait_graph.begin_wait

    def signalling(*args: Any) -> Confirm | None:
        confirm = begin_wait(*args)
        event.set()
        return confirm

    monkeypatch.setattr(_wait_graph, "begin_wait", signalling)
    return event


def through_elsewhere(
    waiter_class: type[Awaiter | Blocker],
) -> tuple[ReportedWaits, ActorRef[Any], threading.Event, limelight.Future[str]]:
    """A waiter whose ask_next() closes a cycle through a wait reported from elsewhere.

    This process keeps the graph; "elsewhere" reports that the blocker it
    points at (as if in a worker) waits for the waiter: a cycle, once the
    waiter waits for the blocker, through a wait whose end may be on its
    way. Returns the graph's keeper, the waiter, the blocker's gate and its
    held reply.
    """
    kept = ReportedWaits()
    waiter = waiter_class.start()
    blocker, gate, held = held_blocker()
    waiter.proxy().point_at(blocker).get(TIMEOUT)
    kept.began(
        "elsewhere", 1, (blocker.actor_urn, "the blocker"), (waiter.actor_urn, "w")
    )
    return kept, waiter, gate, held


@pytest.mark.parametrize("holds", [True, False], ids=["holds", "ended-meanwhile"])
@pytest.mark.parametrize("waiter_class", [Awaiter, Blocker])
def test_a_cycle_through_a_wait_reported_from_elsewhere_is_confirmed_first(
    waiter_class: type[Awaiter | Blocker],
    holds: bool,
    confirmations: threading.Event,
    recorded: threading.Event,
) -> None:
    kept, waiter, gate, held = through_elsewhere(waiter_class)

    asked = waiter.proxy().ask_next()
    try:
        assert recorded.wait(TIMEOUT)
        if holds:
            with pytest.raises(DeadlockError, match="the blocker"):
                asked.get(TIMEOUT)
            assert confirmations.is_set()
        else:
            kept.ended("elsewhere", 1)  # (its end arrives before the check)
            assert confirmations.wait(TIMEOUT)
    finally:
        kept.ended("elsewhere", 1)
        gate.set()
    if not holds:
        assert asked.get(TIMEOUT) == "hello"
    assert held.get(TIMEOUT) == "held"


def test_a_reply_that_comes_while_a_suspected_cycle_is_confirmed_ends_the_wait(
    confirmations: threading.Event, recorded: threading.Event
) -> None:
    kept, waiter, gate, held = through_elsewhere(Blocker)
    try:
        asked = waiter.proxy().ask_next()
        assert recorded.wait(TIMEOUT)
        gate.set()  # the reply comes within the moment of confirmation

        assert asked.get(TIMEOUT) == "hello"
        assert not confirmations.is_set()  # (no need to look again)
    finally:
        kept.ended("elsewhere", 1)
        gate.set()
    assert held.get(TIMEOUT) == "held"
