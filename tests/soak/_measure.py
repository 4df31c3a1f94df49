"""What every soak measures: the process's RSS, threads, fds and live objects.

A soak warms up (caches, free lists, the allocator's arenas, the thread
cache), takes a `Usage` with `usage()`, runs on, takes more, and holds the
`Growth` between the first and the last to its `Limits`: what a leak of one object, one
thread or one fd per round would exceed. Besides live objects, it counts
the blocks of Python's allocator, which also see the objects the cycle
collector does not track (strings, bytes, floats).

`soak()` runs a soak's rounds so: it measures at several checkpoints after
the warm-up, and judges RSS by its floor (see `Growth`). Taking a `Usage`
first settles the process (see `settle()`), so that what is compared is
what is kept, not the garbage the cycle collector, the thread cache or the
C allocator happened to be holding at that moment.
"""

from __future__ import annotations

import array
import ctypes
import ctypes.util
import gc
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import limelight
from limelight._remote._ended import EndedActors
from limelight._runtimes import processes
from limelight._runtimes.threads import RUNTIME as THREADING_RUNTIME
from tests.runtimes import Runtime

__all__ = [
    "ENDS_KEPT",
    "PROC",
    "TIMEOUT",
    "Growth",
    "Limits",
    "Probe",
    "Soaked",
    "Usage",
    "Workers",
    "env_int",
    "needs_proc",
    "report",
    "settle",
    "soak",
    "usage",
]

PROC = Path("/proc/self")

TIMEOUT = 30.0
"""Seconds any single wait of a soak may take before it fails the run."""

needs_proc = pytest.mark.skipif(
    not PROC.is_dir(), reason="reads /proc for memory, threads and fds"
)


def env_int(name: str, default: int) -> int:
    """The integer in the environment variable `name`, or `default`."""
    return int(os.environ.get(name, default))


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        _ = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None  # (not glibc: RSS is measured as it is)
    return libc


LIBC = _libc()


def settle() -> None:
    """Free what can be freed, so that what is measured is what is kept.

    Collects garbage (twice: the first collection's finalizers can free
    more), ends the threading runtime's idle cached threads (kept for
    reuse, each for a while: they would count as threads of whichever
    measurement happened to fall within their keep-alive), then hands the C
    allocator's free memory back to the system (glibc's ``malloc_trim()``,
    where there is one): each thread allocates from an arena of its own,
    whose free but fragmented pages would otherwise count as resident, by
    how the last few thousand frees happened to fall.
    """
    gc.collect()
    gc.collect()
    assert THREADING_RUNTIME.end_idle_threads(TIMEOUT), "an idle thread did not end"
    if LIBC is not None:
        LIBC.malloc_trim(0)


def rss() -> int:
    """The process's resident memory, in bytes."""
    resident_pages = int((PROC / "statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    """How many file descriptors the process has open."""
    return len(list((PROC / "fd").iterdir()))


def os_threads() -> int:
    """How many threads the process has: Python's, and any a library started."""
    return len(list((PROC / "task").iterdir()))


@dataclass(frozen=True)
class Growth:
    """How much the process grew over a soak, after its warm-up (negative: shrank).

    Threads, fds, objects and blocks are counted exactly: their growth is the last
    checkpoint's count less the first's. RSS is not: even once settled, the
    C heap's resident size moves by up to a MiB from one checkpoint to the
    next, by how its free chunks happened to fall (seen on glibc's main
    heap: a layout, not a leak). So its growth is the lowest RSS of the
    last `FLOOR_OF` checkpoints less the lowest of the first ones: noise
    lifts single samples, but a leak lifts the floor.
    """

    rss: int
    """Bytes of resident memory."""
    fds: int
    threads: int
    """Python's threads (`threading`)."""
    os_threads: int
    """The process's threads: Python's, and any a library started in C."""
    objects: int
    """Objects the cycle collector tracks (containers, instances, frames...)."""
    blocks: int
    """Memory blocks Python's allocator holds: objects of every kind, such as
    the bytes and strings the cycle collector does not track."""


class Usage(NamedTuple):
    """The process's resources at one moment, once settled."""

    rss: int
    fds: int
    threads: int
    os_threads: int
    objects: int
    blocks: int


FLOOR_OF = 3
"""Checkpoints at each end of a soak whose lowest RSS is its floor (see `Growth`)."""

CHECKPOINTS = 10
"""Measurements after the warm-up, the first right after it and the last at the end."""


class Soaked(NamedTuple):
    """What `soak()` found."""

    growth: Growth
    """How much the test process grew after the warm-up."""
    elapsed: float
    """Seconds the rounds after the warm-up took (measuring left out)."""
    elsewhere: Growth | None
    """How much the processes `soak()`'s `elsewhere` measures grew, if given."""


def soak(
    round_: Callable[[int], object],
    rounds: int,
    warm_up: int,
    elsewhere: Callable[[], Usage] | None = None,
) -> Soaked:
    """Run ``round_(number)`` for each of `rounds`; what grew after `warm_up` of them.

    Measures at `CHECKPOINTS` points evenly spread from the end of the warm
    up to the last round, then returns the `Growth` between the first and
    last ones (see `Growth` for RSS). With `elsewhere`, it measures other
    processes too at each checkpoint (the workers the actors run in: see
    `Workers`), before the test process, which it creates garbage in.
    """
    assert 0 < warm_up < rounds, (warm_up, rounds)
    for number in range(warm_up):
        round_(number)
    ends = [
        warm_up + (rounds - warm_up) * step // (CHECKPOINTS - 1)
        for step in range(CHECKPOINTS)
    ]
    # The measurements go into memory allocated beforehand: the soak's own
    # bookkeeping must not count as a growth of objects or blocks.
    here, there = _Samples(), _Samples()
    spans = enumerate(itertools.pairwise(ends), start=1)
    elapsed = 0.0
    if elsewhere is not None:
        there.put(0, elsewhere())
    here.put(0, usage())
    for index, (start, end) in spans:
        started = time.monotonic()
        for number in range(start, end):
            round_(number)
        elapsed += time.monotonic() - started
        if elsewhere is not None:
            there.put(index, elsewhere())
        here.put(index, usage())
    return Soaked(here.growth(), elapsed, None if elsewhere is None else there.growth())


class _Samples:
    """A `Usage` per checkpoint, in memory allocated beforehand."""

    def __init__(self) -> None:
        self._width = len(Usage._fields)
        self._measured = array.array("q", bytes(8 * self._width * CHECKPOINTS))

    def put(self, index: int, measured: Usage) -> None:
        width = self._width
        self._measured[index * width : (index + 1) * width] = array.array("q", measured)

    def growth(self) -> Growth:
        """The growth from the first checkpoint to the last (see `Growth`)."""
        width = self._width
        samples = [
            Usage(*self._measured[index * width : (index + 1) * width])
            for index in range(CHECKPOINTS)
        ]
        first, last = samples[0], samples[-1]
        return Growth(
            rss=min(s.rss for s in samples[-FLOOR_OF:])
            - min(s.rss for s in samples[:FLOOR_OF]),
            fds=last.fds - first.fds,
            threads=last.threads - first.threads,
            os_threads=last.os_threads - first.os_threads,
            objects=last.objects - first.objects,
            blocks=last.blocks - first.blocks,
        )


class Probe(limelight.Actor):
    """Measures the process it runs in, once settled: its id, and `usage()`.

    Or, asked ``"actors"``, its id and how many actor objects other than
    itself are alive there (once garbage is collected).
    """

    def on_receive(self, message: Any) -> tuple[int, Any]:
        if message == "actors":
            gc.collect()
            alive = [o for o in gc.get_objects() if isinstance(o, limelight.Actor)]
            return os.getpid(), len(alive) - 1
        return os.getpid(), usage()


class Workers:
    """The process runtime's workers, measured: a `Probe` in each, while open.

    The pool puts each new actor in the worker that hosts the fewest, so
    probes started together land one in each (which each measurement
    checks: one answer from each worker's process id). They
    run for the whole soak: a worker remembers how every actor it hosted
    ended (see `ENDS_KEPT`), so probes started for each measurement would
    be a growth of their own.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.pids = {worker.pid for worker in processes.workers()}
        assert self.pids, "no worker to measure: start some actors first"
        cls = runtime.actor(Probe)
        self._probes = [cls.start() for _ in self.pids]
        # The first settling of a worker (ending its idle threads, trimming
        # its heap) changes what its next rounds touch: done before the
        # warm-up, it is part of it.
        self.usage()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        stopping = [probe.stop(block=False) for probe in self._probes]
        assert list(limelight.get_all(stopping, timeout=TIMEOUT)) == [True] * len(
            stopping
        )

    def usage(self) -> Usage:
        """The workers' `usage()`, summed."""
        columns = zip(*self._ask("measure"), strict=True)
        return Usage(*(sum(column) for column in columns))

    def actors(self) -> int:
        """How many actor objects are alive in the workers, the probes left out."""
        return sum(self._ask("actors"))

    def _ask(self, message: str) -> list[Any]:
        """Each probe's answer to `message` (checking there is one per worker)."""
        asked = [probe.ask(message, block=False) for probe in self._probes]
        answers: list[tuple[int, Any]] = list(limelight.get_all(asked, timeout=TIMEOUT))
        assert {pid for pid, _ in answers} == self.pids, "not a probe in each worker"
        return [answer for _, answer in answers]


ENDS_KEPT = EndedActors.kept
"""How many ended actors each worker remembers, for the questions that come late.

Bounded, by design (limelight._remote._ended): a soak of the workers warms
up until each has forgotten its first, so that what it measures is the
steady state.
"""


def usage() -> Usage:
    """Settle the process (`settle()`), then measure it."""
    settle()
    return Usage(
        rss(),
        open_fds(),
        threading.active_count(),
        os_threads(),
        len(gc.get_objects()),
        sys.getallocatedblocks(),
    )


OWN_BLOCKS = 32
"""Blocks `soak()`'s own loop holds at its last checkpoint and not at its first.

Its loop variables: the round numbers and times, as ints and floats that
Python allocates (some ten of them).
"""


@dataclass(frozen=True)
class Limits:
    """How much a soak may grow after its warm-up, and still pass.

    The defaults allow noise, not a leak: half a MiB of RSS (a page or two
    of a heap that moved), no fd and no thread; `objects` is set by each
    soak, below what one object per round of it would leave.
    """

    objects: int
    blocks: int | None = None
    """Fewer blocks than this (see `Growth`); if None, `objects` and `OWN_BLOCKS`."""
    rss: int = 512 * 1024
    fds: int = 0
    threads: int = 0
    os_threads: int = 0

    def check(self, growth: Growth) -> None:
        """Fail on the first measure that grew beyond its limit, naming it."""
        assert growth.rss < self.rss, f"RSS grew by {growth.rss} bytes: {growth}"
        assert growth.fds <= self.fds, f"fds grew by {growth.fds}: {growth}"
        assert growth.threads <= self.threads, (
            f"threads grew by {growth.threads}: {growth}"
        )
        assert growth.os_threads <= self.os_threads, (
            f"OS threads grew by {growth.os_threads}: {growth}"
        )
        assert growth.objects < self.objects, (
            f"live objects grew by {growth.objects}: {growth}"
        )
        blocks = self.objects + OWN_BLOCKS if self.blocks is None else self.blocks
        assert growth.blocks < blocks, f"blocks grew by {growth.blocks}: {growth}"


def report(what: str, growth: Growth, *extra: str) -> None:
    """Print what a soak measured, for the soak log (``pytest -s``)."""
    rss_kib = growth.rss / 1024
    details = "; ".join(extra)
    print(  # noqa: T201 -- for the soak log
        f"\n{what}; after the warm-up: RSS {rss_kib:+.0f} KiB, "
        f"fds {growth.fds:+d}, threads {growth.threads:+d} "
        f"(OS {growth.os_threads:+d}), "
        f"objects {growth.objects:+d}, blocks {growth.blocks:+d}"
        + (f"; {details}" if details else "")
    )
