"""Deadlocks across Ray hosts: the keeper actor holds the program's graph.

A ring of waits through Ray actors in different hosts raises
`DeadlockError` naming the ring. The keeper and a host's link to it are
tested in this process too, with a stand-in for Ray.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from limelight import DeadlockError
from limelight._core import _wait_graph
from limelight._core._wait_graph import waits
from limelight._runtimes.ray_cluster import _waits as ray_waits
from tests.test_deadlocks_processes import Node

TIMEOUT = 30.0
WITHIN = 1.0


# -- The keeper and the link, in this process ------------------------------------


class Handle:
    """A stand-in for a Ray actor handle: `method.remote()` calls the method."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)

        class Remote:
            @staticmethod
            def remote(*args: Any) -> Any:
                return method(*args)

        return Remote


class FakeRay:
    """What the module asks of Ray: named actors, get(), kill(), contexts."""

    def __init__(self) -> None:
        self.named: dict[str, Handle] = {}
        self.killed: list[Any] = []
        self.actor_id: str | None = "host-1"

    def remote(self, cls: type[Any]) -> Any:
        fake = self

        class Options:
            @staticmethod
            def options(*, name: str, **_: Any) -> Any:
                class Starter:
                    @staticmethod
                    def remote() -> Handle:
                        handle = fake.named.setdefault(name, Handle(cls()))
                        return handle

                return Starter

        return Options

    def get_actor(self, name: str) -> Handle:
        try:
            return self.named[name]
        except KeyError:
            raise ValueError(f"no actor {name}") from None

    def get(self, value: Any) -> Any:
        return value

    def kill(self, handle: Any) -> None:
        self.killed.append(handle)
        self.named = {k: v for k, v in self.named.items() if v is not handle}

    def get_runtime_context(self) -> Any:
        fake = self

        class Context:
            def get_actor_id(self) -> str | None:
                return fake.actor_id

        return Context()


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRay]:
    fake = FakeRay()
    monkeypatch.setattr(ray_waits, "ray", lambda: fake)
    # (Not the keeper of the session's real Ray, if it started one.)
    monkeypatch.setattr(ray_waits._Started, "keeper", None)
    yield fake
    _wait_graph.report_to(None)
    ray_waits.kill_keeper()


def test_hosts_report_to_the_keeper_which_finds_their_cycle(fake_ray: FakeRay) -> None:
    ray_waits.start_keeper()
    ray_waits.start_keeper()  # (once)
    assert list(fake_ray.named) == [ray_waits.KEEPER_NAME]
    one, two = ray_waits.RayLink("host-1"), ray_waits.RayLink("host-2")
    a, b = Node("a"), Node("b")

    assert one.began(1, (a.actor_urn, "a"), (b.actor_urn, "b")) is False
    # b's wait closes the ring through a's, reported by another host.
    assert two.began(1, (b.actor_urn, "b"), (a.actor_urn, "a")) is True
    error = two.confirm(1)
    assert isinstance(error, DeadlockError)
    assert "b → a → b" in str(error)

    one.ended(1)
    two.ended(1)
    assert waits() == {}


def test_the_keeper_answers_a_certain_cycle_with_the_error(fake_ray: FakeRay) -> None:
    keeper = ray_waits.Keeper()
    a = ("urn:test:a", "a")

    answer = keeper.began("host", 1, a, a)  # (a waits for itself)

    assert isinstance(answer, DeadlockError)
    ray_waits.start_keeper()
    link = ray_waits.RayLink("host")
    with pytest.raises(DeadlockError):  # (raised by the host itself)
        link.began(2, a, a)


def test_without_a_keeper_nothing_is_reported(fake_ray: FakeRay) -> None:
    link = ray_waits.RayLink("host")

    assert link.began(1, ("urn:test:a", "a"), ("urn:test:b", "b")) is False
    assert link.confirm(1) is None
    link.ended(1)  # (nothing to end: no keeper was found)
    assert waits() == {}


def test_the_driver_kills_its_keeper_at_shutdown(fake_ray: FakeRay) -> None:
    ray_waits.start_keeper()
    handle = fake_ray.named[ray_waits.KEEPER_NAME]

    ray_waits.kill_keeper()
    ray_waits.kill_keeper()  # (once)

    assert fake_ray.killed == [handle]


def test_a_host_reports_its_waits_only_in_its_own_ray_worker(fake_ray: FakeRay) -> None:
    fake_ray.actor_id = None  # a host made in the test's process
    ray_waits.report_from_host()
    assert _wait_graph.reporting() is False

    fake_ray.actor_id = "host-1"
    ray_waits.report_from_host()
    assert _wait_graph.reporting() is True


# -- On a real local Ray ---------------------------------------------------------


@pytest.mark.usefixtures("local_ray")
def test_a_ring_of_two_dedicated_ray_hosts_is_refused_within_a_second() -> None:
    from tests.ray_relay import RayRelay  # noqa: PLC0415 -- only with Ray

    a, b = RayRelay.start(), RayRelay.start()
    a.proxy().point_at(b).get(TIMEOUT)
    b.proxy().point_at(a).get(TIMEOUT)
    assert a.proxy().pid().get(TIMEOUT) != b.proxy().pid().get(TIMEOUT)

    began = time.monotonic()
    with pytest.raises(DeadlockError) as info:
        a.proxy().relay().get(TIMEOUT)
    took = time.monotonic() - began

    for future in [ref.proxy().point_at(None) for ref in (a, b)]:
        future.get(TIMEOUT)  # (open the ring: the refused relay goes round)
    assert took < WITHIN
    assert str(a) in str(info.value)
    assert str(b) in str(info.value)
