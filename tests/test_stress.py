"""Many threads, many messages: nothing is lost, nothing hangs, nothing leaks."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

import limelight
from limelight._runtimes.threads import IDLE_THREAD_NAME, RUNTIME
from tests.conformance.actors import Echo
from tests.conformance.test_registry import Stopper
from tests.runtimes import Runtime

pytestmark = pytest.mark.stress

SENDERS = 8
MESSAGES_PER_SENDER = 50_000
ASK_EVERY = 4
"""One message in this many is an ask; the rest are tells."""
BATCH = 500
"""Asks a sender keeps in flight before it checks their replies."""
REPLY_TIMEOUT = 60.0
"""Generous: a reply that takes this long means a hang, not a slow machine."""


class Tally(limelight.Actor):
    """Counts tells per sender; answers asks with what they carried."""

    def __init__(self) -> None:
        super().__init__()
        self.told: dict[int, int] = {}

    def on_receive(self, message: Any) -> Any:
        kind, sender, seq = message
        if kind == "tell":
            self.told[sender] = self.told.get(sender, 0) + 1
            return None
        if kind == "ask":
            return (sender, seq)
        return dict(self.told)


def run_in_threads(count: int, target: Callable[[int], None]) -> None:
    """Run ``target(i)`` in `count` threads at once; re-raise the first failure."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait(REPLY_TIMEOUT)
            target(i)
        except BaseException as exc:  # reported by the test thread  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(REPLY_TIMEOUT * 4)
        assert not worker.is_alive(), "a sender hung"
    if errors:
        raise errors[0]


def test_no_message_is_lost_and_every_reply_matches(runtime: Runtime) -> None:
    ref = runtime.actor(Tally).start()
    tells_sent = [0] * SENDERS

    def send(sender: int) -> None:
        pending: list[tuple[int, limelight.Future[Any]]] = []
        for seq in range(MESSAGES_PER_SENDER):
            if seq % ASK_EVERY == 0:
                pending.append((seq, ref.ask(("ask", sender, seq), block=False)))
            else:
                ref.tell(("tell", sender, seq))
                tells_sent[sender] += 1
            if len(pending) == BATCH or seq == MESSAGES_PER_SENDER - 1:
                for asked_seq, future in pending:
                    assert future.get(REPLY_TIMEOUT) == (sender, asked_seq)
                pending.clear()

    run_in_threads(SENDERS, send)

    told = ref.ask(("count", -1, -1), timeout=REPLY_TIMEOUT)
    assert told == dict(enumerate(tells_sent))
    assert (
        sum(told.values())
        == SENDERS * MESSAGES_PER_SENDER * (ASK_EVERY - 1) // ASK_EVERY
    )


@pytest.mark.parametrize("round_", range(8))
def test_asks_racing_stop_complete_or_fail_and_none_hangs(
    runtime: Runtime, round_: int
) -> None:
    senders, asks_per_sender = 4, 2_500  # 10,000 asks per round
    ref = runtime.actor(Echo).start()
    halfway = threading.Event()
    outcomes: list[list[str]] = [[] for _ in range(senders + 1)]

    def race(i: int) -> None:
        if i == senders:  # the stopper: stops while the senders are busy
            assert halfway.wait(REPLY_TIMEOUT)
            outcomes[i].append(f"stopped={ref.stop(timeout=REPLY_TIMEOUT)}")
            return
        futures: list[limelight.Future[Any]] = []
        for n in range(asks_per_sender):
            futures.append(ref.ask(n, block=False))
            if i == round_ % senders and n == asks_per_sender // 2:
                halfway.set()
        for n, future in enumerate(futures):
            try:
                reply = future.get(REPLY_TIMEOUT)  # a Timeout fails the test
            except limelight.ActorDeadError:
                outcomes[i].append("dead")
            else:
                assert reply == n
                outcomes[i].append("replied")

    run_in_threads(senders + 1, race)

    assert outcomes[senders] == ["stopped=True"]
    assert not ref.is_alive()
    for sender in outcomes[:senders]:
        assert len(sender) == asks_per_sender  # every ask was answered
        # The inbox is FIFO: once the stop is handled, every later ask fails.
        replied = sender.count("replied")
        assert sender == ["replied"] * replied + ["dead"] * (len(sender) - replied)
    assert outcomes[round_ % senders].count("replied") > asks_per_sender // 2


@pytest.mark.needs("local_classes")
def test_concurrent_starts_stops_and_broadcasts_keep_the_registry_consistent(
    runtime: Runtime,
) -> None:
    starters, actors_each, broadcasts = 6, 150, 300
    heard = runtime.shared_list()

    class Listener(limelight.Actor):
        def on_receive(self, message: Any) -> Any:
            heard.append(message)
            return message

    cls = runtime.actor(Listener)

    def work(i: int) -> None:
        if i == starters:  # the broadcaster, while actors start and stop
            for n in range(broadcasts):
                limelight.ActorRegistry.broadcast(n, target_class=Listener)
            return
        refs = [cls.start() for _ in range(actors_each)]
        for n, ref in enumerate(refs):
            assert ref.ask(("hello", i, n), timeout=REPLY_TIMEOUT) == ("hello", i, n)
        for ref in refs[::2]:
            assert ref.stop(timeout=REPLY_TIMEOUT) is True
        for ref in refs[1::2]:
            assert ref.stop(block=False).get(REPLY_TIMEOUT) is True

    run_in_threads(starters + 1, work)

    assert limelight.ActorRegistry.get_all() == []
    hellos = sum(1 for message in heard if isinstance(message, tuple))
    assert hellos == starters * actors_each


def test_many_threads_wait_for_one_future(runtime: Runtime) -> None:
    waiters = 32
    future: limelight.Future[str] = runtime.future_class()
    all_waiting = threading.Barrier(waiters + 1)
    got: list[str] = []

    def wait(i: int) -> None:
        if i == waiters:
            all_waiting.wait(REPLY_TIMEOUT)
            future.set("for everyone")
            return
        all_waiting.wait(REPLY_TIMEOUT)
        got.append(future.get(REPLY_TIMEOUT))

    run_in_threads(waiters + 1, wait)

    assert got == ["for everyone"] * waiters


def test_no_actor_thread_is_left_after_stop_all() -> None:
    def end_idle_threads() -> None:
        assert RUNTIME.end_idle_threads(REPLY_TIMEOUT)

    class Busy(limelight.ThreadingActor):
        def on_receive(self, message: Any) -> Any:
            return message

    class DaemonBusy(Busy):
        use_daemon_thread = True

    end_idle_threads()
    baseline = {t.ident for t in threading.enumerate()}

    for _round in range(5):  # later rounds reuse idle threads
        refs = [cls.start() for cls in (Busy, DaemonBusy) for _ in range(50)]
        futures = [ref.ask(i, block=False) for i, ref in enumerate(refs)]
        assert limelight.get_all(futures, timeout=REPLY_TIMEOUT) == list(range(100))
        assert limelight.ActorRegistry.stop_all(timeout=REPLY_TIMEOUT) == [True] * 100

    leftover = [t for t in threading.enumerate() if t.ident not in baseline]
    assert {t.name for t in leftover} <= {IDLE_THREAD_NAME}
    end_idle_threads()
    assert {t.ident for t in threading.enumerate()} <= baseline


def test_stop_all_returns_only_when_every_actor_has_stopped(runtime: Runtime) -> None:
    rounds, actors = 300, 5
    stopped = runtime.shared_list()
    cls = runtime.actor(Stopper)
    early: list[tuple[int, int]] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, to widen any race
    try:
        for _ in range(rounds):
            refs = [cls.start(str(n), stopped) for n in range(actors)]
            results = limelight.ActorRegistry.stop_all(timeout=REPLY_TIMEOUT)
            running = sum(ref.is_alive() for ref in refs)
            if len(results) != actors or running:
                early.append((len(results), running))
            for ref in refs:  # clean up before the next round
                ref.stop(timeout=REPLY_TIMEOUT)
    finally:
        sys.setswitchinterval(interval)

    assert early == [], f"stop_all() returned early {len(early)} times: {early[:5]}"
