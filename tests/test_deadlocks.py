"""Deadlock detection in detail: named cycles, no false alarms, races, runtimes mixed.

The conformance suite checks that every runtime refuses a wait for itself
and for a ring; thread actors can also block on each other without a cycle,
so the rest is tested with them, and with asyncio actors on the background
loop blocking across threads.
"""

from __future__ import annotations

import contextvars
import gc
import random
import re
import threading
from typing import Any

import pytest

import limelight
from limelight import ActorRef, DeadlockError, ThreadingActor
from limelight._core import _wait_graph
from limelight._core._future import SettableFuture
from limelight._core._wait_graph import begin_wait, end_wait, waits
from limelight.asyncio import AsyncioActor

TIMEOUT = 10.0
URN = r"urn:uuid:[0-9a-f-]{36}"


class Node(ThreadingActor):
    """Calls the actors it points at, blocking for their replies."""

    def __init__(self) -> None:
        super().__init__()
        self.next: ActorRef[Any] | None = None

    def point_at(self, next_actor: ActorRef[Any]) -> None:
        self.next = next_actor

    def on_receive(self, message: Any) -> Any:
        return message

    def relay(self) -> Any:
        """Ask the next actor to relay too, and wait; the last one answers."""
        if self.next is None:
            return self.actor_urn
        return self.next.proxy().relay().get(TIMEOUT)

    def ask_myself(self) -> Any:
        return self.actor_ref.ask("me", timeout=TIMEOUT)

    def hold(self, entered: threading.Event, gate: threading.Event) -> bool:
        entered.set()
        return gate.wait(TIMEOUT)

    def ask_next_after(self, barrier: threading.Barrier) -> Any:
        """Wait until the peer is in its handler too, then ask it."""
        barrier.wait(TIMEOUT)
        assert self.next is not None
        return self.next.ask("hello", timeout=TIMEOUT)

    def wait_for(self, future: limelight.Future[Any]) -> Any:
        return future.get(TIMEOUT)

    def ask_next(self, timeout: float | None) -> Any:
        assert self.next is not None
        return self.next.ask("hello", timeout=timeout)

    def fan_out(self, targets: list[ActorRef[Any]], depth: int) -> int:
        """Call fan_out() on random targets further down the list, and wait."""
        if depth == 0 or not targets:
            return 1
        index = random.randrange(len(targets))
        below = targets[index + 1 :]
        deeper: int = targets[index].proxy().fan_out(below, depth - 1).get(TIMEOUT)
        return 1 + deeper


class LoopNode(AsyncioActor):
    """An asyncio actor (on the background loop) that blocks its loop to ask."""

    def __init__(self) -> None:
        super().__init__()
        self.next: ActorRef[Any] | None = None

    def point_at(self, next_actor: ActorRef[Any]) -> None:
        self.next = next_actor

    def relay(self) -> Any:
        if self.next is None:
            return self.actor_urn
        return self.next.proxy().relay().get(TIMEOUT)  # blocks the loop: allowed


def chain(*classes: type[Node | LoopNode], ring: bool = False) -> list[ActorRef[Any]]:
    """Start one actor of each class, each pointing at the next (and the last to
    the first, for a ring)."""
    refs: list[ActorRef[Any]] = [cls.start() for cls in classes]
    pairs = zip(refs, refs[1:] + (refs[:1] if ring else []), strict=False)
    for ref, next_ref in pairs:
        ref.proxy().point_at(next_ref).get(TIMEOUT)
    return refs


def outcome(future: limelight.Future[Any]) -> Any:
    """The future's value, or the DeadlockError it failed with."""
    try:
        return future.get(TIMEOUT)
    except DeadlockError as error:
        return error


@pytest.fixture
def about_to_block(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set whenever a get() is about to block, after recording its wait.

    Lets a test look at the graph while a wait is on, without sleeping.
    """
    event = threading.Event()
    wait, wait_for = SettableFuture[Any]._wait, SettableFuture[Any]._wait_for

    def signalling_wait(future: SettableFuture[Any], timeout: float | None) -> None:
        event.set()
        wait(future, timeout)

    def signalling_wait_for(future: SettableFuture[Any], timeout: float | None) -> bool:
        # (A plain thread's get() blocks here directly: it has no wait to
        # record. An actor's first waits a moment here, before recording.)
        if _wait_graph.current_actor_weakref() is None:
            event.set()
        return wait_for(future, timeout)

    monkeypatch.setattr(SettableFuture, "_wait", signalling_wait)
    monkeypatch.setattr(SettableFuture, "_wait_for", signalling_wait_for)
    return event


def rotations(*refs: ActorRef[Any]) -> list[tuple[ActorRef[Any], ...]]:
    """The ways to name the cycle in which each of `refs` waits for the next."""
    return [refs[i:] + refs[:i] for i in range(len(refs))]


def arrows(*refs: ActorRef[Any]) -> str:
    return " → ".join(str(ref) for ref in refs)


# -- Named cycles ----------------------------------------------------------------


def test_asking_itself_names_a_cycle_of_one_and_says_what_to_do() -> None:
    ref = Node.start()

    with pytest.raises(DeadlockError) as info:
        ref.proxy().ask_myself().get(TIMEOUT)

    assert info.value.cycle == (ref,)
    message = str(info.value)
    assert message.startswith(f"{arrows(ref, ref)}: ")
    assert re.search(rf"Node \({URN}\) → Node \({URN}\)", message)
    assert "self.stop()" in message


def test_a_cycle_of_two_names_both_starting_with_the_one_refusing() -> None:
    a, b = chain(Node, Node, ring=True)

    with pytest.raises(DeadlockError) as info:
        a.proxy().relay().get(TIMEOUT)

    # Usually a waits first, and b, asking a, closes the cycle and is
    # refused; but b may be asking before a has started waiting.
    cycle = info.value.cycle
    assert cycle in rotations(a, b)
    assert str(info.value).startswith(f"{arrows(*cycle, cycle[0])}: ")
    assert "ask(block=False)" in str(info.value)


def test_a_cycle_of_three_is_named_in_waiting_order() -> None:
    a, b, c = chain(Node, Node, Node, ring=True)

    with pytest.raises(DeadlockError) as info:
        a.proxy().relay().get(TIMEOUT)

    cycle = info.value.cycle
    assert cycle in rotations(a, b, c)  # a waits for b, b for c, c for a
    assert str(info.value).startswith(f"{arrows(*cycle, cycle[0])}: ")


def test_deadlock_error_has_no_cycle_by_default() -> None:
    assert DeadlockError("loop").cycle == ()


# -- No false alarms -------------------------------------------------------------


def test_a_chain_without_a_cycle_is_answered() -> None:
    a, _, c = chain(Node, Node, Node)

    assert a.proxy().relay().get(TIMEOUT) == c.actor_urn
    assert waits() == {}  # every wait was taken out of the graph


def test_a_waiter_that_is_not_an_actor_is_not_in_the_graph(
    about_to_block: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[Any] = []
    record = begin_wait

    def spy(*args: Any) -> Any:
        recorded.append(args)
        return record(*args)

    monkeypatch.setattr(_wait_graph, "begin_wait", spy)
    ref = Node.start()
    entered, gate = threading.Event(), threading.Event()
    held = ref.proxy().hold(entered, gate)
    assert entered.wait(TIMEOUT)
    about_to_block.clear()
    asker = threading.Thread(target=lambda: ref.ask("x", timeout=TIMEOUT))
    asker.start()
    try:
        assert about_to_block.wait(TIMEOUT)
        assert waits() == {}
    finally:
        gate.set()
        asker.join(TIMEOUT)
    assert held.get(TIMEOUT) is True
    assert recorded == []


def test_an_actor_waiting_for_a_future_no_actor_produces_is_not_in_the_graph(
    about_to_block: threading.Event,
) -> None:
    ref = Node.start()
    future: limelight.ThreadingFuture[str] = limelight.ThreadingFuture()
    about_to_block.clear()
    waiting = ref.proxy().wait_for(future)

    assert about_to_block.wait(TIMEOUT)  # (set in the actor's thread)
    assert waits() == {}
    future.set("set by the test")
    assert waiting.get(TIMEOUT) == "set by the test"


def test_many_actors_asking_each_other_without_a_cycle_never_raise() -> None:
    refs = [Node.start() for _ in range(6)]
    random.seed(4)  # (the actors draw from the shared generator too)
    starts = [random.randrange(len(refs)) for _ in range(60)]

    # Each call goes only to actors later in the list, so waits never cycle,
    # but many run at once and block on the same actors.
    futures = [refs[i].proxy().fan_out(refs[i + 1 :], 4) for i in starts]

    results = limelight.get_all(futures, timeout=TIMEOUT)
    assert all(1 <= depth <= 5 for depth in results)
    assert waits() == {}


# -- The graph -------------------------------------------------------------------


def test_waits_shows_who_waits_for_whom_while_blocked(
    about_to_block: threading.Event,
) -> None:
    a, b = chain(Node, Node)
    entered, gate = threading.Event(), threading.Event()
    held = b.proxy().hold(entered, gate)
    assert entered.wait(TIMEOUT)
    about_to_block.clear()
    asked = a.proxy().ask_next(TIMEOUT)
    try:
        assert about_to_block.wait(TIMEOUT)  # (set in a's thread)
        assert waits() == {a: b}
    finally:
        gate.set()
    assert asked.get(TIMEOUT) == "hello"
    assert held.get(TIMEOUT) is True
    assert waits() == {}


def test_a_wait_that_times_out_leaves_the_graph() -> None:
    a, b = chain(Node, Node)
    entered, gate = threading.Event(), threading.Event()
    held = b.proxy().hold(entered, gate)
    assert entered.wait(TIMEOUT)

    with pytest.raises(limelight.Timeout):
        a.proxy().ask_next(0.01).get(TIMEOUT)

    assert waits() == {}
    gate.set()
    assert held.get(TIMEOUT) is True


def pending() -> limelight.ThreadingFuture[Any]:
    return limelight.ThreadingFuture()


def test_a_cycle_through_a_wait_that_is_over_is_stale_and_ignored() -> None:
    a, b = Node.start(), Node.start()
    b_waits = pending()
    begin_wait(b, a, b_waits)
    b_waits.set("answered")  # b is being woken, and has not left the graph yet

    a_waits = pending()
    begin_wait(a, b, a_waits)  # a -> b -> a, but b's wait is over: no deadlock

    assert waits() == {a: b, b: a}
    end_wait(a, a_waits)
    end_wait(b, b_waits)
    assert waits() == {}


def test_a_cycle_closed_by_a_wait_on_a_done_future_is_ignored() -> None:
    a, b = Node.start(), Node.start()
    b_waits = pending()
    begin_wait(b, a, b_waits)
    done = pending()
    done.set(1)  # (completed between get()'s check and the wait)

    begin_wait(a, b, done)  # get() returns at once: no deadlock

    end_wait(a, done)
    end_wait(b, b_waits)
    assert waits() == {}


def test_waits_of_several_threads_of_one_actor_end_in_any_order() -> None:
    # (Threads that copied the actor's context, such as asyncio.to_thread().)
    a, b, c = Node.start(), Node.start(), Node.start()
    first, second, third = pending(), pending(), pending()

    begin_wait(a, b, first)
    begin_wait(a, c, second)
    begin_wait(a, b, third)
    assert waits() == {a: b}  # the newest wait
    end_wait(a, first)  # from the bottom
    end_wait(a, third)  # from the top
    assert waits() == {a: c}  # second's
    end_wait(a, second)
    assert waits() == {}

    begin_wait(a, b, first)
    begin_wait(a, c, second)
    end_wait(a, second)  # newest first
    assert waits() == {a: b}
    end_wait(a, first)
    assert waits() == {}


def test_a_stale_cycle_elsewhere_does_not_make_the_walk_loop() -> None:
    # b <-> c both recorded (as if both waits had just timed out together):
    # a walk from a into it must end, and a is not part of it.
    a, b, c = Node.start(), Node.start(), Node.start()
    b_waits, c_waits, a_waits = pending(), pending(), pending()
    _wait_graph._waits[b.actor_urn] = (b, c, b_waits, None)
    _wait_graph._waits[c.actor_urn] = (c, b, c_waits, None)
    try:
        begin_wait(a, b, a_waits)
        assert waits() == {a: b, b: c, c: b}
        end_wait(a, a_waits)
    finally:
        del _wait_graph._waits[b.actor_urn], _wait_graph._waits[c.actor_urn]


# -- Races -----------------------------------------------------------------------


def test_two_actors_racing_into_a_cycle_one_is_refused_the_other_answered() -> None:
    a, b = chain(Node, Node, ring=True)
    barrier = threading.Barrier(2)

    # Both are inside a handler before either asks: whichever records its
    # wait second sees the cycle, raises, and so is free to answer the first.
    futures = [ref.proxy().ask_next_after(barrier) for ref in (a, b)]

    outcomes = [outcome(future) for future in futures]
    errors = [o for o in outcomes if isinstance(o, DeadlockError)]
    assert len(errors) == 1
    assert set(errors[0].cycle) == {a, b}
    assert outcomes.count("hello") == 1


# -- Across runtimes ---------------------------------------------------------------


def test_a_loop_actor_blocking_on_a_thread_actor_that_asks_it_back() -> None:
    loop_actor, thread_actor = chain(LoopNode, Node, ring=True)

    with pytest.raises(DeadlockError) as info:
        loop_actor.proxy().relay().get(TIMEOUT)

    assert info.value.cycle in rotations(loop_actor, thread_actor)
    assert loop_actor.proxy().next.get(TIMEOUT) == thread_actor  # the loop runs


def test_a_thread_actor_blocking_on_a_loop_actor_that_asks_it_back() -> None:
    thread_actor, loop_actor = chain(Node, LoopNode, ring=True)

    with pytest.raises(DeadlockError) as info:
        thread_actor.proxy().relay().get(TIMEOUT)

    assert info.value.cycle in rotations(thread_actor, loop_actor)


def test_a_chain_across_runtimes_without_a_cycle_is_answered() -> None:
    refs = chain(Node, LoopNode, Node)

    assert refs[0].proxy().relay().get(TIMEOUT) == refs[2].actor_urn
    assert waits() == {}


def test_a_plain_thread_is_no_actor_and_an_actor_knows_itself() -> None:
    ref = SelfAsker.start()

    assert _wait_graph.current_actor() is None
    assert ref.proxy().whoami().get(TIMEOUT) == ref


def test_a_context_left_over_from_a_collected_actor_waits_as_a_plain_thread() -> None:
    ref = limelight.ThreadingActor.start()
    context = contextvars.Context()
    context.run(_wait_graph.enter_actor, ref)
    ref.stop()
    del ref
    gc.collect()
    assert context.run(_wait_graph.current_actor) is None
    future: limelight.ThreadingFuture[int] = limelight.ThreadingFuture()
    future._producer = limelight.ThreadingActor.start()  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(limelight.Timeout):
        context.run(future.get, 0)


class SelfAsker(ThreadingActor):
    def whoami(self) -> limelight.ActorRef[Any] | None:
        return _wait_graph.current_actor()

    def ask_myself(self, timeout: float | None) -> Any:
        return self.actor_ref.ask("hello", timeout=timeout)


@pytest.mark.parametrize("timeout", [None, 0.001, 60.0])
def test_a_deadlock_is_reported_whatever_the_timeout(timeout: float | None) -> None:
    ref = SelfAsker.start()
    with pytest.raises(DeadlockError):
        ref.proxy().ask_myself(timeout).get(TIMEOUT)
