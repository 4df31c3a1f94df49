"""Pools: members of every runtime behind one ref that routes."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest

import limelight
from limelight._pool import _RESIZE
from tests.conformance.actors import TIMEOUT, Member
from tests.runtimes import Runtime


@pytest.fixture
def started() -> Iterator[list[limelight.PoolRef[Any]]]:
    """Pools a test starts, stopped after it whatever happened."""
    pools: list[limelight.PoolRef[Any]] = []
    yield pools
    for pool in pools:
        pool.stop(timeout=TIMEOUT)


def start_pool(
    runtime: Runtime,
    started: list[limelight.PoolRef[Any]],
    size: int = 3,
    **options: Any,
) -> limelight.PoolRef[Any]:
    pool = limelight.Pool.start(runtime.actor(Member), size, **options)
    started.append(pool)
    return pool


def first_item(message: tuple[int, str]) -> int:
    return message[0]


def urns(refs: list[limelight.ActorRef[Any]]) -> list[str]:
    return [ref.actor_urn for ref in refs]


def test_a_pool_is_a_ref_whose_stop_stops_every_member(runtime: Runtime) -> None:
    pool = limelight.Pool.start(runtime.actor(Member), 3)
    members = pool.members

    assert isinstance(pool, limelight.ActorRef)
    assert len(members) == 3
    assert all(member.is_alive() for member in members)
    assert pool.actor_class is runtime.actor(Member)
    assert pool.is_alive()

    assert pool.stop(timeout=TIMEOUT) is True
    assert not pool.is_alive()
    assert not any(member.is_alive() for member in members)
    assert pool.members == []
    with pytest.raises(limelight.ActorDeadError):
        pool.ask("who", timeout=TIMEOUT)
    with pytest.raises(limelight.ActorDeadError):
        pool.tell("who")
    with pytest.raises(limelight.ActorDeadError):
        pool.ask("who", block=False).get(TIMEOUT)
    assert pool.stop(timeout=TIMEOUT) is False


def test_round_robin_asks_each_member_in_turn(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started)

    answers = [pool.ask("who", timeout=TIMEOUT) for _ in range(6)]

    assert collections.Counter(answers) == dict.fromkeys(urns(pool.members), 2)


def test_a_proxy_of_a_pool_calls_a_member(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started)
    proxy = pool.proxy()

    assert proxy.square(4).get(TIMEOUT) == 16
    assert {proxy.whoami().get(TIMEOUT) for _ in range(3)} == set(urns(pool.members))


def test_random_routing_reaches_the_members(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started, routing="random")

    answers = {pool.ask("who", timeout=TIMEOUT) for _ in range(40)}

    # (All 40 on one of three members: one chance in 3**39.)
    assert answers <= set(urns(pool.members))
    assert len(answers) > 1


def test_smallest_mailbox_routing_reaches_the_members(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started, routing="smallest_mailbox")

    # Idle members all have empty mailboxes: ties go in turn.
    answers = [pool.ask("who", timeout=TIMEOUT) for _ in range(3)]

    assert sorted(answers) == sorted(urns(pool.members))


def test_consistent_hashing_sends_a_key_to_the_same_member(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started, routing="consistent_hash", hash_key=first_item)

    first = {key: pool.ask((key, "first"), timeout=TIMEOUT) for key in range(30)}
    again = {key: pool.ask((key, "again"), timeout=TIMEOUT) for key in range(30)}

    assert first == again
    assert len(set(first.values())) > 1  # the keys spread over the members


def test_a_broadcast_ask_answers_every_members_answer_in_order(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started, routing="broadcast")

    assert pool.ask("who", timeout=TIMEOUT) == urns(pool.members)
    assert pool.proxy().square(3).get(TIMEOUT) == [9, 9, 9]
    with pytest.raises(RuntimeError, match="member failed"):
        pool.ask("fail", timeout=TIMEOUT)


def test_a_broadcast_tell_reaches_every_member(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started, routing="broadcast")
    members = pool.members

    pool.tell("fail")  # every member crashes, and is restarted

    for member in members:
        member.termination().get(TIMEOUT)
    assert pool.supervisor.proxy().restarts.get(TIMEOUT) == 3
    assert len(pool.members) == 3


def test_first_answer_routing_answers_one_members_answer(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started, routing="first_answer")

    assert pool.ask("who", timeout=TIMEOUT) in urns(pool.members)
    with pytest.raises(RuntimeError, match="member failed"):  # all failed
        pool.ask("fail", timeout=TIMEOUT)


def test_a_crashed_member_is_replaced_and_the_pool_goes_on(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started, size=2)
    crashed, other = pool.members

    crashed.tell("fail")
    crashed.termination().get(TIMEOUT)

    # (Asked after the pool actor got the news: it has restarted the member.)
    assert pool.supervisor.proxy().restarts.get(TIMEOUT) == 1
    members = pool.members
    assert len(members) == 2
    assert crashed not in members
    assert other in members
    assert {pool.ask("who", timeout=TIMEOUT) for _ in range(2)} == set(urns(members))


def test_map_answers_in_item_order_and_map_unordered_as_they_come(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started)

    assert pool.map("square", range(20), timeout=TIMEOUT) == [n * n for n in range(20)]
    assert sorted(pool.map_unordered("square", range(20), max_in_flight=1)) == [
        n * n for n in range(20)
    ]
    assert pool.map(lambda n: ("key", n), range(3)) != []
    assert pool.map("square", []) == []
    with pytest.raises(ValueError, match="-1"):
        pool.map("square", [2, -1, 3], timeout=TIMEOUT)


@pytest.mark.needs("others_run_while_one_is_held")
def test_a_resizable_pool_grows_with_its_backlog_and_shrinks_when_idle(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    # Members in this process are weighed by their queues; members in other
    # processes, by the asks the pool has in flight to them.
    pool = start_pool(
        runtime,
        started,
        size=1,
        routing="smallest_mailbox",
        max_size=2,
        grow_at=1,
        resize_every=3600.0,  # (the test has the pool resize, step by step)
    )
    first = pool.members[0]
    entered, gate = runtime.event_class(), runtime.event_class()
    held = pool.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)
    waiting = pool.ask("who", block=False)  # behind the held one

    resize(pool)
    assert len(pool.members) == 2
    gate.set()
    assert held.get(TIMEOUT) is True
    assert waiting.get(TIMEOUT) == first.actor_urn

    resize(pool)  # none has work: the member added last stops
    assert pool.members == [first]


def resize(pool: limelight.PoolRef[Any]) -> None:
    """Have the pool look at its members' load now; return once it has."""
    pool.supervisor.tell(_RESIZE)
    pool.supervisor.proxy().restarts.get(TIMEOUT)  # (queued behind it)


def test_a_pools_ref_is_refused_where_its_routing_cannot_go(
    runtime: Runtime, started: list[limelight.PoolRef[Any]]
) -> None:
    pool = start_pool(runtime, started, size=1)
    member = pool.members[0]

    if "local_actor_object" in runtime.lacks:  # (the member is in another process)
        with pytest.raises(TypeError, match="is a pool's ref, which routes in this"):
            member.ask(("take", pool), timeout=TIMEOUT)
        assert member.ask("still there", timeout=TIMEOUT) == member.actor_urn
    else:  # in this process, a pool's ref is passed as any object is
        assert member.ask(("take", pool), timeout=TIMEOUT) == member.actor_urn
