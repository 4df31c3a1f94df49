"""Deadlock detection: a blocking wait that could never end raises instead.

Here, what holds on every runtime: an actor blocking on a reply from itself,
or from actors that wait for it, gets a `DeadlockError` at once, and the
actors go on afterwards. Which cycle is named, chains without a cycle, races
and chains across runtimes are in ``tests/test_deadlocks.py``: actors on one
event loop cannot block on each other at all, cycle or not.
"""

from __future__ import annotations

from typing import Any

import pytest

import limelight
from tests.conformance.actors import TIMEOUT
from tests.runtimes import Runtime


class Looper(limelight.Actor):
    """Asks itself, or the next actor of a ring, and blocks for the reply."""

    def __init__(self) -> None:
        super().__init__()
        self.next: limelight.ActorRef[Looper] | None = None

    def on_receive(self, message: Any) -> Any:
        return message

    def point_at(self, next_actor: limelight.ActorRef[Looper]) -> None:
        self.next = next_actor

    def value(self, x: Any) -> Any:
        return x

    # -- waiting for itself ---------------------------------------------------

    def ask_myself(self) -> Any:
        return self.actor_ref.ask("me")

    def ask_myself_with_a_timeout(self) -> Any:
        return self.actor_ref.ask("me", timeout=TIMEOUT)

    def get_my_future(self) -> Any:
        return self.actor_ref.ask("me", block=False).get()

    def call_myself_through_a_proxy(self) -> Any:
        return self.actor_ref.proxy().value("me").get(TIMEOUT)

    def map_my_future(self) -> Any:
        return self.actor_ref.proxy().value(1).map(increment).get(TIMEOUT)

    def join_my_future(self) -> Any:
        done: limelight.Future[Any] = self.actor_ref.ask("ready", block=False)
        mine = self.actor_ref.proxy().value("me")
        return done.join(mine).get(TIMEOUT)

    def stop_myself_and_wait(self) -> Any:
        return self.actor_ref.stop(timeout=TIMEOUT)

    # -- waiting for the ring -------------------------------------------------

    def relay(self) -> Any:
        """Call relay() on the next actor and wait: in a ring, forever."""
        assert self.next is not None
        return self.next.proxy().relay().get(TIMEOUT)


def increment(x: int) -> int:
    return x + 1


WAITS_FOR_ITSELF = [
    "ask_myself",
    "ask_myself_with_a_timeout",
    "get_my_future",
    "call_myself_through_a_proxy",
    "map_my_future",
    "join_my_future",
]


def ring(runtime: Runtime, size: int) -> list[limelight.ActorRef[Looper]]:
    """Start `size` actors, each pointing at the next, the last to the first."""
    refs = [runtime.actor(Looper).start() for _ in range(size)]
    for ref, next_ref in zip(refs, refs[1:] + refs[:1], strict=True):
        ref.proxy().point_at(next_ref).get(TIMEOUT)
    return refs


@pytest.mark.parametrize("method", WAITS_FOR_ITSELF)
@pytest.mark.dedicated_host
def test_an_actor_waiting_for_itself_gets_deadlock_error(
    runtime: Runtime, method: str
) -> None:
    ref = runtime.actor(Looper).start()

    # (Without detection, the actor would block for good, or until the
    # timeout: this get() would raise Timeout instead.)
    with pytest.raises(limelight.DeadlockError):
        getattr(ref.proxy(), method)().get(TIMEOUT)

    assert ref.ask("still here", timeout=TIMEOUT) == "still here"


@pytest.mark.dedicated_host
def test_stopping_itself_and_waiting_gets_deadlock_error_yet_stops(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Looper).start()

    with pytest.raises(limelight.DeadlockError):
        ref.proxy().stop_myself_and_wait().get(TIMEOUT)

    # The stop request went out before the wait was refused.
    assert ref.actor_stopped.wait(TIMEOUT)


def test_two_actors_asking_each_other_both_get_deadlock_error(
    runtime: Runtime,
) -> None:
    a, b = ring(runtime, 2)

    # a waits for b, which waits for a: b's ask is refused, b's handler
    # raises, which answers a, whose handler raises too: to us.
    with pytest.raises(limelight.DeadlockError):
        a.proxy().relay().get(TIMEOUT)

    assert a.ask("a", timeout=TIMEOUT) == "a"
    assert b.ask("b", timeout=TIMEOUT) == "b"


def test_a_ring_of_three_gets_deadlock_error_and_goes_on(runtime: Runtime) -> None:
    refs = ring(runtime, 3)

    with pytest.raises(limelight.DeadlockError):
        refs[0].proxy().relay().get(TIMEOUT)

    assert [ref.ask(i, timeout=TIMEOUT) for i, ref in enumerate(refs)] == [0, 1, 2]
