"""The process runtime's workloads: ``ProcessActor`` against a raw pipe.

The raw column of the round trip is two processes playing ping-pong over a
``multiprocessing`` pipe (:mod:`limelight._bench.raw_process`), started
the same way as Limelight's workers. The other rows have no raw column:
they measure what the pool is for (cheap spawns, little memory per actor)
and what processes are for (CPU-bound actors running in parallel). Only the
round trip is in the default run, pinned to one CPU with the processes
it talks to (see :mod:`limelight._bench.machine`).
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

import limelight
from limelight._bench import raw_process
from limelight._bench import threading_workloads as tw
from limelight._bench.harness import RAW, SUBJECT, Kind, Target, Workload
from limelight._runtimes.processes import ProcessActor
from limelight._runtimes.threads import IDLE_THREAD_NAME

__all__ = [
    "RUNTIME_NAME",
    "Echo",
    "Spinner",
    "ask_round_trip",
    "cpu_one_actor",
    "cpu_pool_map",
    "cpu_two_actors",
    "rss_per_actor",
    "spawn_stop",
    "workloads",
]

RUNTIME_NAME = "process"

STARTS_PROCESSES = True
"""Its rows leave worker processes running: they run after the in-process rows."""


class Echo(ProcessActor):
    """Replies with the message; says how big its worker process is."""

    def on_receive(self, message: Any) -> Any:
        if message == "rss":
            return _resident_kib()
        return message


class Spinner(ProcessActor):
    """Burns CPU in a worker process of its own."""

    dedicated_process = True

    def spin(self, n: int) -> int:
        total = 0
        for i in range(n):
            total ^= i
        return total


def _resident_kib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    return 0.0  # pragma: no cover -- Linux has VmRSS


def ask_round_trip(n: int) -> float:
    """Ask a process actor `n` times, one at a time."""
    ref = Echo.start()
    try:
        ask = ref.ask
        ask(0)
        start = time.perf_counter()
        for i in range(n):
            ask(i)
        return time.perf_counter() - start
    finally:
        ref.stop()


def spawn_stop(n: int) -> float:
    """Start a pooled process actor and stop it, `n` times."""
    Echo.start().stop()  # the pool's worker is up before the timing
    start = time.perf_counter()
    for _ in range(n):
        Echo.start().stop()
    return time.perf_counter() - start


def rss_per_actor(n: int) -> float:
    """KiB a worker process grows by per live pooled actor, for `n` actors."""
    first = Echo.start()
    refs: list[Any] = []
    try:
        before = float(first.ask("rss"))
        refs = [Echo.start() for _ in range(n)]
        after = max(float(ref.ask("rss")) for ref in refs)
        return max(after - before, 0.0) / n
    finally:
        for ref in [first, *refs]:
            ref.stop()


def _spin(refs: list[Any], n: int) -> float:
    start = time.perf_counter()
    futures = [ref.proxy().spin(n) for ref in refs]
    for future in futures:
        future.get()
    return time.perf_counter() - start


def cpu_one_actor(n: int) -> float:
    """One actor does two pieces of CPU-bound work of `n` steps, one after the other."""
    ref = Spinner.start()
    try:
        return _spin([ref, ref], n)
    finally:
        ref.stop()


def cpu_two_actors(n: int) -> float:
    """Two actors, in two processes, do one piece each, at the same time."""
    refs = [Spinner.start(), Spinner.start()]
    try:
        return _spin(refs, n)
    finally:
        for ref in refs:
            ref.stop()


def cpu_pool_map(n: int) -> float:
    """``map()`` two pieces of `n` steps on a pool of two actors, in two processes."""
    pool = limelight.Pool.start(Spinner, 2)
    try:
        start = time.perf_counter()
        pool.map("spin", [n, n])
        return time.perf_counter() - start
    finally:
        pool.stop()


def _may_linger(thread: threading.Thread) -> bool:
    """The pool's reader threads live as long as its workers; pooled threads too."""
    return (
        thread.name.startswith("limelight-worker-") or thread.name == IDLE_THREAD_NAME
    )


def workloads() -> list[Workload]:
    """The process runtime's workloads, in the order they run."""
    workload = functools.partial(
        Workload,
        runtime=RUNTIME_NAME,
        check=tw.leftover_actors,
        may_linger=_may_linger,
    )
    # CPU-bound rows, sampled together: each compared with one actor's.
    parallel = functools.partial(
        workload,
        full_only=True,
        group="process parallelism",
        kind=Kind.DURATION,
        unit="s",
        size=2_000_000,
        quick_size=500_000,
        samples=5,
        quick_samples=3,
        warmup=0,
    )
    twice_one_actor = Target("≥1.7× one actor", SUBJECT, 1.7, workload="cpu-one")
    return [
        workload(
            name="ask",
            pin=True,
            label="process actor: ref.ask() round trip",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations={SUBJECT: ask_round_trip, RAW: raw_process.ask_round_trip},
            size=5_000,
            quick_size=5_000,
            samples=15,
            quick_samples=21,
            raw_meaning="2 processes ping-pong over a multiprocessing Pipe",
            targets=[Target("≤1.3× raw", RAW, 1 / 1.3)],
        ),
        workload(
            name="spawn",
            full_only=True,
            label="pooled process actor spawn + stop",
            kind=Kind.THROUGHPUT,
            unit="actors/s",
            implementations={SUBJECT: spawn_stop},
            size=2_000,
            quick_size=500,
            warmup=20,
            targets=[Target.fixed("≥1,000/s", 1_000)],
        ),
        workload(
            name="rss",
            full_only=True,
            label="memory per live pooled process actor, {n:,} actors",
            kind=Kind.AMOUNT,
            unit="KiB",
            implementations={SUBJECT: rss_per_actor},
            size=2_000,
            quick_size=1_000,
            samples=3,
            quick_samples=1,
            warmup=0,
        ),
        parallel(
            name="cpu-one",
            label="CPU-bound work ×2 in one process actor",
            implementations={SUBJECT: cpu_one_actor},
        ),
        parallel(
            name="cpu-two",
            label="CPU-bound work ×2 in two process actors",
            implementations={SUBJECT: cpu_two_actors},
            targets=[twice_one_actor],
            notes=["Two actors are faster than one only with 2 idle CPUs."],
        ),
        parallel(
            name="cpu-pool",
            label="CPU-bound work ×2: map() on a pool of 2 process actors",
            implementations={SUBJECT: cpu_pool_map},
            targets=[twice_one_actor],
        ),
    ]
