"""Pools of thread actors: routing that needs members running side by side.

The conformance suite (``tests/conformance/test_pools.py``) runs pools on
every runtime; these tests hold one member up while others answer, which
only members in threads of their own can do.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import limelight
import limelight.asyncio
from limelight._pool import _RESIZE
from limelight.messages import ProxyCall

TIMEOUT = 10.0


class Worker(limelight.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return self.actor_urn

    def hold(self, entered: threading.Event, gate: threading.Event) -> str:
        entered.set()
        gate.wait(TIMEOUT)
        return self.actor_urn

    def square(self, n: int) -> int:
        return n * n


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event that holds a member up; set after the test, whatever happened."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(autouse=True)
def stop_everything() -> Iterator[None]:
    yield
    limelight.ActorRegistry.stop_all(timeout=TIMEOUT)


def hold_up(member: limelight.ActorRef[Any], gate: threading.Event) -> None:
    """Have `member` wait for `gate` in a handler; return once it does."""
    entered = threading.Event()
    member.proxy().hold(entered, gate)
    assert entered.wait(TIMEOUT)


def test_smallest_mailbox_routing_passes_over_a_member_with_queued_messages(
    gate: threading.Event,
) -> None:
    pool = limelight.Pool.start(Worker, 2, routing="smallest_mailbox")
    busy, idle = pool.members
    hold_up(busy, gate)
    busy.tell("queued")

    answers = {pool.ask("who", timeout=TIMEOUT) for _ in range(4)}

    assert answers == {idle.actor_urn}


def test_smallest_mailbox_routing_picks_the_shortest_queue_of_busy_members(
    gate: threading.Event,
) -> None:
    pool = limelight.Pool.start(Worker, 2, routing="smallest_mailbox")
    longer, shorter = pool.members
    hold_up(longer, gate)
    hold_up(shorter, gate)
    for member, queued in ((longer, 2), (shorter, 1)):
        for _ in range(queued):
            member.tell("queued")

    # Looked at from either member first (ties would go in turn).
    picks = {pool._route("who") for _ in range(4)}  # pyright: ignore[reportPrivateUsage]

    assert picks == {shorter}


def test_round_robin_passes_over_a_slot_whose_member_is_not_running() -> None:
    pool = limelight.Pool.start(Worker, 2)
    running = pool.members[1]
    pool._slots.members[0] = None  # pyright: ignore[reportPrivateUsage] -- as if crashed

    assert {pool.ask("who", timeout=TIMEOUT) for _ in range(4)} == {running.actor_urn}


def test_first_answer_routing_answers_before_a_held_up_member(
    gate: threading.Event,
) -> None:
    pool = limelight.Pool.start(Worker, 2, routing="first_answer")
    held, free = pool.members
    hold_up(held, gate)

    assert pool.ask("who", timeout=TIMEOUT) == free.actor_urn


def test_map_keeps_at_most_max_in_flight_asks_per_member(
    gate: threading.Event,
) -> None:
    pool = limelight.Pool.start(Worker, 2)
    held, free = pool.members
    hold_up(held, gate)  # (not one of map's asks: map sees room for 2 there)

    answers = pool.map_unordered("square", range(6), max_in_flight=2)
    # Items 0 and 2 went to the held member, and wait there; the free one
    # took 1 and 3, then 4 and 5 as it answered.
    first = [next(answers) for _ in range(4)]

    assert sorted(first) == [1, 9, 16, 25]
    assert held.actor_inbox.qsize() == 2
    gate.set()
    assert sorted(answers) == [0, 4]
    assert free.is_alive()


def test_map_gives_up_after_its_timeout(gate: threading.Event) -> None:
    pool = limelight.Pool.start(Worker, 1)
    hold_up(pool.members[0], gate)

    with pytest.raises(limelight.Timeout, match=r"0\.05 seconds"):
        pool.map("square", [1], timeout=0.05)


def test_map_may_make_each_message_itself() -> None:
    pool = limelight.Pool.start(Worker, 2)

    squares = pool.map(lambda n: ProxyCall(("square",), (n,), {}), range(4))

    assert squares == [0, 1, 4, 9]


def test_consistent_hashing_passes_over_a_slot_whose_member_is_not_running() -> None:
    pool = limelight.Pool.start(
        Worker, 2, routing="consistent_hash", hash_key=lambda message: message
    )
    first, second = pool.members
    owners = {key: pool.ask(key, timeout=TIMEOUT) for key in range(20)}
    gone = next(key for key, urn in owners.items() if urn == first.actor_urn)

    # As if the first member had crashed and were not restarted yet.
    pool._slots.members[0] = None  # pyright: ignore[reportPrivateUsage]

    assert pool.ask(gone, timeout=TIMEOUT) == second.actor_urn


def test_with_no_member_running_a_message_fails_with_actor_dead_error() -> None:
    for routing in ("round_robin", "random", "smallest_mailbox", "broadcast"):
        pool = limelight.Pool.start(Worker, 1, routing=routing)
        pool._slots.members[0] = None  # pyright: ignore[reportPrivateUsage]

        with pytest.raises(limelight.ActorDeadError, match="has no member running"):
            pool.ask("who", timeout=TIMEOUT)
        with pytest.raises(limelight.ActorDeadError, match="has no member running"):
            pool.tell("who")
        with pytest.raises(limelight.ActorDeadError, match="has no member running"):
            pool.proxy()

    hashed = limelight.Pool.start(
        Worker, 1, routing="consistent_hash", hash_key=lambda message: message
    )
    hashed._slots.members[0] = None  # pyright: ignore[reportPrivateUsage]
    with pytest.raises(limelight.ActorDeadError, match="has no member running"):
        hashed.ask("who", timeout=TIMEOUT)


def test_the_pool_ref_says_what_it_is() -> None:
    pool = limelight.Pool.start(Worker, 1)

    assert repr(pool) == f"<PoolRef for Worker ({pool.actor_urn})>"
    assert pool.routing == "round_robin"
    assert pool.supervisor.actor_class is limelight.Pool
    assert pool.supervisor.actor_urn == pool.actor_urn
    assert pool.supervisor.proxy().which_children().get(TIMEOUT) == [
        ("member-0", pool.members[0])
    ]


@pytest.mark.parametrize(
    ("arguments", "error", "says"),
    [
        ({"size": 0}, ValueError, "a pool's size must be 1 or more, not 0"),
        ({"size": "2"}, TypeError, "size must be an int, not '2'"),
        ({"size": True}, TypeError, "size must be an int, not True"),
        ({"routing": "fastest"}, ValueError, "routing must be one of"),
        ({"routing": "consistent_hash"}, ValueError, "needs hash_key"),
        ({"hash_key": hash}, ValueError, "needs hash_key"),
    ],
)
def test_bad_arguments_are_refused_before_anything_starts(
    arguments: dict[str, Any], error: type[Exception], says: str
) -> None:
    options: dict[str, Any] = {"size": 2, **arguments}
    size = options.pop("size")

    with pytest.raises(error, match=says):
        limelight.Pool.start(Worker, size, **options)

    assert limelight.ActorRegistry.get_all() == []


@pytest.mark.parametrize(
    ("max_in_flight", "error", "says"),
    [
        (0, ValueError, "max_in_flight must be 1 or more, not 0"),
        (1.5, TypeError, "max_in_flight must be an int, not 1.5"),
        (True, TypeError, "max_in_flight must be an int, not True"),
    ],
)
def test_a_bad_max_in_flight_is_refused(
    max_in_flight: Any, error: type[Exception], says: str
) -> None:
    pool = limelight.Pool.start(Worker, 1)

    with pytest.raises(error, match=says):
        pool.map("square", [1], max_in_flight=max_in_flight)


class Bounded(Worker):
    mailbox_capacity = 1
    mailbox_overflow = "raise"


def test_members_with_bounded_mailboxes_refuse_what_does_not_fit(
    gate: threading.Event,
) -> None:
    pool = limelight.Pool.start(Bounded, 1)
    hold_up(pool.members[0], gate)
    pool.tell("fits")  # (the only place left)

    with pytest.raises(limelight.MailboxFull):
        pool.tell("does not fit")


class AsksThePool(limelight.ThreadingActor):
    """A member that asks its own pool: with one member, that is itself."""

    def __init__(self) -> None:
        super().__init__()
        self.pool: limelight.PoolRef[AsksThePool] | None = None

    def use(self, pool: limelight.PoolRef[AsksThePool]) -> None:
        self.pool = pool

    def ask_the_pool(self) -> str:
        assert self.pool is not None
        return str(self.pool.ask("anything", timeout=TIMEOUT))


def test_an_ask_through_a_pool_that_closes_a_cycle_is_a_deadlock() -> None:
    pool = limelight.Pool.start(AsksThePool, 1)
    pool.proxy().use(pool).get(TIMEOUT)

    with pytest.raises(limelight.DeadlockError):
        pool.proxy().ask_the_pool().get(TIMEOUT)


# -- Resizing --------------------------------------------------------------------

NEVER = 3600.0
"""A `resize_every` for tests that resize the pool themselves, one step at a time."""


def resize(pool: limelight.PoolRef[Any]) -> None:
    """Have the pool look at its members' queues now; return once it has."""
    pool.supervisor.tell(_RESIZE)
    pool.supervisor.proxy().restarts.get(TIMEOUT)  # (queued behind it)


def test_a_resizable_pool_grows_while_every_member_is_backlogged(
    gate: threading.Event,
) -> None:
    pool = limelight.Pool.start(
        Worker,
        1,
        routing="smallest_mailbox",
        max_size=2,
        grow_at=2,
        resize_every=NEVER,
    )
    first = pool.members[0]
    hold_up(first, gate)
    first.tell("queued")

    resize(pool)  # one queued: less than grow_at
    assert pool.members == [first]

    first.tell("queued")
    resize(pool)  # two queued: a second member
    second = pool.members[1]
    assert pool.members == [first, second]
    assert pool.ask("who", timeout=TIMEOUT) == second.actor_urn  # it takes work

    for _ in range(3):
        second.tell("queued")  # (answered at once: it is idle)
    first.tell("queued")
    resize(pool)  # at max_size: no third
    assert len(pool.members) == 2


def test_a_resizable_pool_shrinks_one_member_a_step_once_none_has_work(
    gate: threading.Event,
) -> None:
    pool = limelight.Pool.start(Worker, 1, max_size=3, grow_at=1, resize_every=NEVER)
    first = pool.members[0]
    hold_up(first, gate)
    first.tell("queued")
    resize(pool)
    second = pool.members[1]
    hold_up(second, gate)
    second.tell("queued")
    resize(pool)
    third = pool.members[2]

    resize(pool)  # work queued: no change
    assert len(pool.members) == 3
    gate.set()
    for member in (first, second):
        member.ask("the queue is done", timeout=TIMEOUT)

    resize(pool)  # idle: the last member stops, after its queue
    assert third.actor_stopped.wait(TIMEOUT)
    assert pool.members == [first, second]
    resize(pool)
    assert pool.members == [first]
    resize(pool)  # at the size it started with: no smaller
    assert pool.members == [first]
    assert pool.supervisor.proxy().restarts.get(TIMEOUT) == 0  # none restarted


class FailsSecondStart(Worker):
    starts = 0

    def on_start(self) -> None:
        FailsSecondStart.starts += 1
        if FailsSecondStart.starts > 1:
            raise RuntimeError("no room for a second")


class FailsSecondInit(Worker):
    made = 0

    def __init__(self) -> None:
        super().__init__()
        FailsSecondInit.made += 1
        if FailsSecondInit.made > 1:
            raise RuntimeError("no room for a second")


@pytest.mark.parametrize("member", [FailsSecondStart, FailsSecondInit])
def test_a_member_that_cannot_be_added_leaves_the_pool_as_it_was(
    member: type[Worker], gate: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    pool = limelight.Pool.start(member, 1, max_size=2, grow_at=1, resize_every=NEVER)
    first = pool.members[0]
    hold_up(first, gate)
    first.tell("queued")

    resize(pool)

    assert pool.members == [first]
    assert "Adding a member to Pool" in caplog.text
    assert pool.is_alive()
    assert pool.supervisor.proxy().which_children().get(TIMEOUT) == [
        ("member-0", first)
    ]


def test_a_pool_resizes_on_its_own_every_resize_every_seconds(
    gate: threading.Event,
) -> None:
    pool = limelight.Pool.start(Worker, 1, max_size=2, grow_at=1, resize_every=0.01)
    first = pool.members[0]
    hold_up(first, gate)
    first.tell("queued")

    # Each look at the pool is an ask it answers between two of its own
    # looks; no sleeping.
    deadline = time.monotonic() + TIMEOUT
    while len(pool.supervisor.proxy().which_children().get(TIMEOUT)) < 2:
        assert time.monotonic() < deadline, "the pool did not grow"
    assert len(pool.members) == 2


def test_a_resize_waits_while_a_member_is_being_restarted() -> None:
    pool = limelight.Pool.start(Worker, 1, max_size=2, grow_at=1, resize_every=NEVER)
    pool._slots.members[0] = None  # pyright: ignore[reportPrivateUsage] -- as if crashed

    resize(pool)

    assert pool._slots.members == [None]  # pyright: ignore[reportPrivateUsage]


class AsyncWorker(limelight.asyncio.AsyncioActor):
    """Its hold() waits off the loop: the loop, and other members, go on."""

    def on_receive(self, message: Any) -> Any:
        return self.actor_urn

    async def hold(self, entered: threading.Event, gate: threading.Event) -> bool:
        entered.set()
        return await asyncio.to_thread(gate.wait, TIMEOUT)


def test_a_resizable_pool_of_asyncio_actors_grows_and_shrinks(
    gate: threading.Event,
) -> None:
    # (The conformance test holds a member up by blocking its loop, which
    # would hold up a new member on that loop too: asyncio's is here.)
    pool = limelight.Pool.start(
        AsyncWorker,
        1,
        routing="smallest_mailbox",
        max_size=2,
        grow_at=1,
        resize_every=NEVER,
    )
    first = pool.members[0]
    entered = threading.Event()
    held = pool.proxy().hold(entered, gate)
    assert entered.wait(TIMEOUT)
    waiting = pool.ask("who", block=False)

    resize(pool)
    assert len(pool.members) == 2
    assert pool.ask("who", timeout=TIMEOUT) == pool.members[1].actor_urn
    gate.set()
    assert held.get(TIMEOUT) is True
    assert waiting.get(TIMEOUT) == first.actor_urn

    resize(pool)
    assert pool.members == [first]


@pytest.mark.parametrize(
    ("arguments", "error", "says"),
    [
        ({"max_size": 1}, ValueError, "max_size must be 2 or more, not 1"),
        ({"max_size": 3, "grow_at": 0}, ValueError, "grow_at must be 1 or more"),
        ({"max_size": 3, "resize_every": 0}, ValueError, "positive number of sec"),
        ({"max_size": 3, "resize_every": "1"}, ValueError, "positive number of sec"),
        (
            {"max_size": 3, "routing": "consistent_hash", "hash_key": hash},
            ValueError,
            "has a fixed size",
        ),
    ],
)
def test_bad_sizing_is_refused_before_anything_starts(
    arguments: dict[str, Any], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        limelight.Pool.start(Worker, 2, **arguments)

    assert limelight.ActorRegistry.get_all() == []
