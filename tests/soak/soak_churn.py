"""Soak: actors started, asked and stopped by the thousand leave nothing behind.

Run by ``nox -s soak`` (see soak_restarts.py for why a plain `pytest`
skips this file). Each round starts ``LIMELIGHT_SOAK_CHURN_ACTORS`` actors
(50 by default), asks each once, stops them all, and checks that the
registry is empty again; ``LIMELIGHT_SOAK_CHURN_ROUNDS`` rounds (1,000 by
default) run on each runtime in the test process, of which the first tenth
warm up. Actors in another process each cost a round trip or more to
start and stop: limelight.process's workers run
``LIMELIGHT_SOAK_CHURN_PROCESS_ROUNDS`` rounds (400), and Ray's pooled
hosts, some fifteen times slower still, ``LIMELIGHT_SOAK_CHURN_RAY_ROUNDS``
(100).

After the warm-up, the test process's RSS, threads, fds, live objects and
allocated blocks must stay where the warm-up left them: every actor, ref, future, inbox,
thread or channel a round made must be gone by the next.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import pytest

import limelight
from limelight._runtimes import processes
from tests.runtimes import Runtime
from tests.soak._measure import (
    ENDS_KEPT,
    TIMEOUT,
    Limits,
    Workers,
    env_int,
    needs_proc,
    report,
    soak,
)

ROUNDS = env_int("LIMELIGHT_SOAK_CHURN_ROUNDS", 1_000)
ROUNDS_ON = {
    "process": env_int("LIMELIGHT_SOAK_CHURN_PROCESS_ROUNDS", 400),
    "ray": env_int("LIMELIGHT_SOAK_CHURN_RAY_ROUNDS", 100),
}
"""The rounds of the runtimes whose actors are in another process."""
RAY_LIMITS = {"os_threads": 4, "rss": 32 << 20, "blocks": 2_000}
"""What Ray's core worker, in the test process, may add after the warm-up.

Its C++ thread pools grow as it needs; its RSS moves by up to ±10 MiB from
one checkpoint to the next, with no trend over 5,000 actors; and its Python
side keeps a few hundred blocks more or less (ids, strings) as it goes. A
leak of a thread or a block per actor or message still fails; Python's
threads and objects, and fds, are held flat as elsewhere.
"""
ACTORS = env_int("LIMELIGHT_SOAK_CHURN_ACTORS", 50)
WORKER_BLOCKS = 1_000
WORKER_RSS = 1 << 20
"""What a limelight.process worker may grow by, over the measured rounds.

Fewer than `WORKER_BLOCKS` blocks, in all, and less than `WORKER_RSS`
bytes each. The workers' allocated blocks and RSS go on growing a little
after the warm-up, but ever more slowly (some 40 blocks, then 30, 20, 10
per 1,100 actors; 200 to 300 in all, over 50 rounds as over 200; their
live objects stay flat): the saturating growth of free lists and heaps, it
seems, not a leak, which would grow with the actors. A block per actor
(20,000 over the default rounds), or 100 bytes, would still fail.
"""


class Echo(limelight.Actor):
    """Replies with what it is sent, holding some state a leak would keep."""

    def __init__(self) -> None:
        super().__init__()
        self.state = bytearray(4096)

    def on_receive(self, message: Any) -> Any:
        return message


class Crashing(Echo):
    """Crashes when told ``"crash"``: its host then remembers how it ended."""

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("crashed on purpose")
        return super().on_receive(message)


def churn(cls: type[Echo], number: int) -> None:
    """Start `ACTORS` actors, ask each once, stop them all; check none is left.

    (None of them in the registry: only the probes of `Workers` may be.)
    """
    refs = [cls.start() for _ in range(ACTORS)]
    asked = [ref.ask((number, n), block=False) for n, ref in enumerate(refs)]
    replies = list(limelight.get_all(asked, timeout=TIMEOUT))
    assert replies == [(number, n) for n in range(ACTORS)]
    stopping = [ref.stop(block=False) for ref in refs]
    assert list(limelight.get_all(stopping, timeout=TIMEOUT)) == [True] * ACTORS
    assert not any(ref.is_alive() for ref in refs)
    assert limelight.ActorRegistry.get_by_class(cls) == []


def actors_in_workers(runtime: Runtime) -> list[Any]:
    """The actors limelight.process's workers still hold (none elsewhere)."""
    if runtime.name != "process":
        return []
    return list(processes.workers_snapshot(TIMEOUT))


@needs_proc
@pytest.mark.timeout(1800)
def test_actor_churn_leaves_nothing_behind(runtime: Runtime) -> None:
    cls = runtime.actor(Echo)
    measured = ROUNDS_ON.get(runtime.name, ROUNDS)
    warm_up = max(1, measured // 10)
    soaked_workers: set[int | None] = set()
    with contextlib.ExitStack() as stack:
        workers = None
        if runtime.name == "process":
            churn(cls, -1)  # (which starts the pool's workers, to probe)
            workers = stack.enter_context(Workers(runtime))
            soaked_workers = workers.pids
            # Until each worker has forgotten the first actors it hosted.
            warm_up += ENDS_KEPT * len(workers.pids) // ACTORS
        rounds = warm_up + measured
        soaked = soak(
            lambda number: churn(cls, number),
            rounds,
            warm_up,
            None if workers is None else workers.usage,
        )
        # (The workers' objects did not grow; nor may they hold an actor.)
        assert workers is None or workers.actors() == 0
    rate = measured * ACTORS / soaked.elapsed
    what = f"{runtime.name}: {rounds} rounds of {ACTORS} actors ({warm_up} warm up)"
    report(
        what, soaked.growth, f"{rate:,.0f} actors started, asked and stopped a second"
    )
    if soaked.elsewhere is not None:
        report(f"{what}, in the workers", soaked.elsewhere)
    assert limelight.ActorRegistry.get_all() == []
    assert actors_in_workers(runtime) == []
    # An object per round would fail; so would any per actor. Ray's core
    # worker, in the test process, grows its C++ thread pools as it needs
    # (not Python's threads, which must stay flat there too).
    limits = Limits(objects=measured // 2)
    if runtime.name == "ray":
        limits = dataclasses.replace(limits, **RAY_LIMITS)
    limits.check(soaked.growth)
    if soaked.elsewhere is not None:
        workers_limits = dataclasses.replace(
            limits,
            blocks=WORKER_BLOCKS,
            rss=WORKER_RSS * len(soaked_workers),
        )
        workers_limits.check(soaked.elsewhere)


CRASHES = 20
"""Actors crashed in the workers: each holds a 4 KiB state, and its frames."""


def test_crashed_actors_are_freed_in_the_workers(runtime: Runtime) -> None:
    """A worker keeps nothing of an actor that crashed, but how it ended.

    (Without crashes, test_actor_churn_leaves_nothing_behind checks the same
    of stopped actors; soak_restarts.py checks crashed ones in the test
    process.)
    """
    if runtime.name != "process":
        pytest.skip("probes limelight.process's workers")
    churn(runtime.actor(Echo), -1)  # (which starts the pool's workers, to probe)
    cls = runtime.actor(Crashing)
    with Workers(runtime) as workers:
        for _ in range(CRASHES):
            ref = cls.start()
            ref.tell("crash")
            assert ref.termination().get(TIMEOUT).reason == "failure"

        assert workers.actors() == 0
