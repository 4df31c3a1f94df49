"""Deadlocks that span processes: one wait-for graph for the whole program.

A ring of waits through process actors in different worker processes, and
through actors of this process, raises `DeadlockError` naming the ring, as
within one process (the parent keeps the program's graph; each worker
reports its lasting waits there). The shared remote layer's two sides
(``_remote/_waits.py``) are tested here too, with a link of the test's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import limelight
import limelight.process
from limelight import ActorRef, DeadlockError, ThreadingActor
from limelight._core import _wait_graph
from limelight._core._wait_graph import (
    Elsewhere,
    begin_wait,
    end_wait,
    waits,
)
from limelight._remote._waits import ReportedWaits, Upstream
from limelight._runtimes.processes import _waits as process_waits
from tests.process_actors import Relay
from tests.relays import Relaying

TIMEOUT = 10.0
WITHIN = 1.0
"""How soon a deadlock across processes must be reported (issue 16)."""


@pytest.fixture(autouse=True)
def no_workers_left() -> Iterator[None]:
    yield
    limelight.process.shutdown(timeout=TIMEOUT)
    assert limelight.process.workers() == []


class LocalRelay(Relaying, ThreadingActor):
    """Relay's twin in this process."""


def ring(
    *classes: type[Relay | LocalRelay], closed: bool = True
) -> list[ActorRef[Any]]:
    refs: list[ActorRef[Any]] = [cls.start() for cls in classes]
    nexts: list[ActorRef[Any] | None] = [*refs[1:], refs[0] if closed else None]
    for ref, next_ref in zip(refs, nexts, strict=True):
        ref.proxy().point_at(next_ref).get(TIMEOUT)
    return refs


def refused(ref: ActorRef[Any]) -> tuple[DeadlockError, float]:
    """Start the relay at `ref`; the DeadlockError it ends with, and how soon."""
    began = time.monotonic()
    with pytest.raises(DeadlockError) as info:
        ref.proxy().relay().get(TIMEOUT)
    return info.value, time.monotonic() - began


def unlink(refs: list[ActorRef[Any]]) -> None:
    """Open the ring: each relay refused sent one on before it was refused,
    which goes round again (each round refused in turn) until then."""
    for future in [ref.proxy().point_at(None) for ref in refs]:
        future.get(TIMEOUT)


def test_a_ring_of_two_worker_processes_is_refused_within_a_second() -> None:
    a, b = ring(Relay, Relay)
    assert a.proxy().pid().get(TIMEOUT) != b.proxy().pid().get(TIMEOUT)

    # (Without the program's graph: each worker sees one wait, and no cycle;
    # the relay would time out after TIMEOUT.)
    error, took = refused(a)
    unlink([a, b])

    assert took < WITHIN
    assert str(a) in str(error)
    assert str(b) in str(error)
    assert set(error.cycle) <= {a, b}


@pytest.mark.parametrize(
    "classes",
    [
        (LocalRelay, Relay),
        (Relay, LocalRelay),
        (Relay, LocalRelay, Relay),
        (Relay, Relay, Relay),
    ],
    ids=["local-first", "worker-first", "worker-local-worker", "three-workers"],
)
def test_a_ring_through_workers_and_this_process_is_refused_naming_it(
    classes: tuple[type[Relay | LocalRelay], ...],
) -> None:
    refs = ring(*classes)

    error, took = refused(refs[0])

    assert took < WITHIN
    for ref in refs:
        assert str(ref) in str(error)
    unlink(refs)  # (each actor goes on afterwards)
    assert [ref.proxy().relay().get(TIMEOUT) for ref in refs] == [
        ref.actor_urn for ref in refs
    ]


def test_a_chain_through_workers_without_a_ring_is_answered() -> None:
    refs = ring(Relay, LocalRelay, Relay, closed=False)

    assert refs[0].proxy().relay().get(TIMEOUT) == refs[2].actor_urn
    assert waits() == {}


def test_a_worker_that_dies_takes_its_reported_waits_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reported = threading.Event()
    began = process_waits.KEPT.began

    def signalling(*args: Any) -> bool:
        suspect = began(*args)
        reported.set()
        return suspect

    monkeypatch.setattr(process_waits.KEPT, "began", signalling)
    entered, gate = threading.Event(), threading.Event()

    class Holder(ThreadingActor):
        def relay(self) -> str:
            entered.set()
            gate.wait(TIMEOUT)
            return "held"

    a = Relay.start()
    holder = Holder.start()
    a.proxy().point_at(holder).get(TIMEOUT)
    a.proxy().relay()  # a (in its worker) waits for holder, here
    try:
        assert reported.wait(TIMEOUT)  # (once a's wait has lasted a moment)
        assert {node.actor_urn for node in waits()} == {a.actor_urn}

        limelight.process.shutdown(timeout=0.1)  # a's worker ends, a waiting

        assert waits() == {}
    finally:
        gate.set()


# -- The remote layer's two sides, over a link of the test's own ----------------


class Direct:
    """A link straight to a ReportedWaits in this process, as source "w"."""

    def __init__(self, kept: ReportedWaits) -> None:
        self.kept = kept

    def began(
        self, token: int, waiter: tuple[str, str], producer: tuple[str, str], /
    ) -> bool:
        return self.kept.began("w", token, waiter, producer)

    def confirm(self, token: int, /) -> DeadlockError | None:
        return self.kept.confirm("w", token)

    def ended(self, token: int, /) -> None:
        self.kept.ended("w", token)


class Node:
    """A stand-in for a ref: an urn and a name."""

    def __init__(self, name: str) -> None:
        self.actor_urn = f"urn:test:{name}"
        self.name = name

    def __str__(self) -> str:
        return self.name


class Waiting:
    """A pending wait: never ready."""

    def _is_ready(self) -> bool:
        return False


def test_a_cycle_through_two_reported_waits_is_suspected_then_confirmed() -> None:
    kept = ReportedWaits()
    upstream = Upstream(Direct(kept))
    a, b, c = Node("a"), Node("b"), Node("c")
    ab, bc, ca = Waiting(), Waiting(), Waiting()
    try:
        assert upstream.began(a, b, ab) is None
        assert upstream.began(b, c, bc) is None
        # c closes the ring: a and b's waits were reported, and may be over
        # there without their ends having arrived: confirm after a moment.
        confirm = upstream.began(c, a, ca)
        assert confirm is not None
        error = confirm()
        assert error is not None
        assert "c → a → b → c" in str(error)
        assert error.cycle == ()  # (no refs here to such actors)

        upstream.ended(a, ab)  # a's wait was over after all
        assert confirm() is None
    finally:
        upstream.ended(b, bc)
        upstream.ended(c, ca)
    assert waits() == {}


def test_a_reported_wait_that_closes_a_ring_with_local_waits_is_refused_at_once() -> (
    None
):
    kept = ReportedWaits()
    upstream = Upstream(Direct(kept))
    here, there = Node("here"), Node("there")
    local = Waiting()
    begin_wait(here, there, local)  # a wait of this process, sure to be on
    try:
        with pytest.raises(DeadlockError, match="there → here → there"):
            upstream.began(there, here, Waiting())
    finally:
        end_wait(here, local)
    assert waits() == {}


def test_a_refused_or_unreported_wait_has_no_end_to_report() -> None:
    ended: list[int] = []

    class Refusing(Direct):
        def began(
            self, token: int, waiter: tuple[str, str], producer: tuple[str, str], /
        ) -> bool:
            raise DeadlockError("no")

        def ended(self, token: int, /) -> None:
            ended.append(token)

    upstream = Upstream(Refusing(ReportedWaits()))
    a, pending = Node("a"), Waiting()
    with pytest.raises(DeadlockError):
        upstream.began(a, Node("b"), pending)
    upstream.ended(a, pending)
    upstream.ended(a, Waiting())
    assert ended == []


def test_the_keeper_forgets_what_a_gone_source_reported() -> None:
    kept = ReportedWaits()
    kept.began("gone", 1, ("urn:test:a", "a"), ("urn:test:b", "b"))
    kept.began("other", 1, ("urn:test:c", "c"), ("urn:test:d", "d"))
    assert kept.confirm("gone", 1) is None  # (no cycle was suspected)

    kept.forget("gone")

    assert {node.actor_urn for node in waits()} == {"urn:test:c"}
    assert kept.confirm("gone", 1) is None
    kept.ended("gone", 1)  # (late: nothing left to end)
    kept.ended("other", 1)
    assert waits() == {}


def test_an_elsewhere_wait_is_never_ready_until_it_ends() -> None:
    assert Elsewhere()._is_ready() is False


class ClosedChannel:
    """A channel whose other side has gone."""

    def request(
        self, future: limelight.ThreadingFuture[Any], kind: int, *fields: Any
    ) -> None:
        future.set_exception(limelight.ActorDeadError("gone"))

    def send(self, frame: Any) -> None:
        raise limelight.ActorDeadError("gone")


def test_a_worker_whose_parent_has_gone_reports_nothing() -> None:
    link = process_waits.ChannelLink(ClosedChannel())  # type: ignore[arg-type]

    assert link.began(1, ("urn:test:a", "a"), ("urn:test:b", "b")) is False
    assert link.confirm(1) is None
    link.ended(1)  # (no error: nobody to tell)


def test_reporting_is_off_in_the_process_that_keeps_the_graph() -> None:
    assert _wait_graph.reporting() is False


def test_two_actors_waiting_on_one_future_are_two_reported_waits() -> None:
    kept = ReportedWaits()
    upstream = Upstream(Direct(kept))
    a, b, c = Node("a"), Node("b"), Node("c")
    shared = Waiting()
    upstream.began(a, c, shared)
    upstream.began(b, c, shared)

    upstream.ended(a, shared)

    assert {node.actor_urn for node in waits()} == {b.actor_urn}
    upstream.ended(b, shared)
    assert waits() == {}
