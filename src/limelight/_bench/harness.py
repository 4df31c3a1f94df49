"""The benchmark harness: workloads, interleaved sampling, medians and ratios.

A :class:`Workload` measures one thing (an ask round trip, say) with several
*implementations*: Limelight, the library it is measured against (Pykka), and
the raw primitive underneath (threads or tasks, and queues). An implementation is
a function that does ``n`` operations and returns what it measured.

:func:`run` takes the samples *interleaved*: one sample of each
implementation in turn, then again, so that whatever else the machine does
slows all of them alike; a figure is the median of its samples, and every
ratio compares figures from the same run. Each figure keeps its quartiles
too, to show its spread, and says whether its samples fell into two groups
(:func:`bimodal`). Rows whose threads hand work to each other run with
every thread pinned to one CPU (:mod:`limelight._bench.machine`).

A run measures the default set of workloads, which is quick, or with
``--full`` all of them; some (Ray's) only when asked for by name.

Nothing here knows about a particular runtime or library, apart from the
implementation names below.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import importlib
import math
import os
import pkgutil
import statistics
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from limelight._bench import machine

__all__ = [
    "PYKKA",
    "RAW",
    "SUBJECT",
    "Figure",
    "Kind",
    "Progress",
    "Report",
    "Result",
    "Settings",
    "Target",
    "TargetResult",
    "Workload",
    "bimodal",
    "discover_workloads",
    "resident_bytes",
    "run",
    "select",
    "speedup",
]

SUBJECT = "limelight"
"""The implementation being measured; every ratio compares it with another."""

PYKKA = "pykka"
"""The library Limelight replaces."""

RAW = "raw"
"""The raw primitive a workload's operation boils down to (threads or tasks; queues)."""

Implementation = Callable[[int], float]
"""Do `n` operations; return the elapsed seconds, or the figure itself (see `Kind`)."""

BIMODAL_GAP = 1.5
"""Sorted samples with a gap this wide (a ratio) between two big groups are bimodal."""

THREAD_END_TIMEOUT = 10.0
"""Seconds a workload's leftover threads get to end before they count as leaked."""


class Kind(enum.Enum):
    """What an implementation's return value is, and how it becomes a figure."""

    LATENCY = "latency"
    """Seconds for `n` operations; the figure is microseconds per operation."""

    THROUGHPUT = "throughput"
    """Seconds for `n` operations; the figure is operations per second."""

    DURATION = "duration"
    """Seconds for the whole batch; the figure is those seconds."""

    AMOUNT = "amount"
    """The figure itself (memory per actor, say); lower is better."""

    def figure(self, value: float, n: int) -> float:
        """Turn what an implementation returned for `n` operations into a figure."""
        if self is Kind.LATENCY:
            return value / n * 1e6
        if self is Kind.THROUGHPUT:
            return n / value if value > 0 else float("inf")
        return value

    @property
    def higher_is_better(self) -> bool:
        """Whether a bigger figure is a better one."""
        return self is Kind.THROUGHPUT

    @property
    def words(self) -> tuple[str, str]:
        """How to say that a figure is better, or worse, than another."""
        if self is Kind.AMOUNT:
            return ("smaller", "larger")
        return ("faster", "slower")


def speedup(
    ours: float | None, theirs: float | None, *, higher_is_better: bool
) -> float | None:
    """How many times better `ours` is than `theirs` (above 1: ours is better).

    Returns:
        The ratio, or `None` when either figure is missing, not positive or
        infinite, which makes a ratio meaningless.
    """
    if ours is None or theirs is None:
        return None
    if not (0 < ours < math.inf and 0 < theirs < math.inf):
        return None
    return ours / theirs if higher_is_better else theirs / ours


@dataclass(frozen=True)
class Target:
    """A goal for Limelight's figure: at least `min_speedup` times better than another.

    A goal such as "at most 1.5 times the raw cost" is a `min_speedup` of
    ``1 / 1.5`` against ``raw``. A goal set in absolute terms, such as "at
    least a million messages a second", is made with `fixed`.
    """

    label: str
    """How the goal reads in the table, such as ``"≥2× pykka"``."""

    against: str
    """The implementation to compare with (`SUBJECT` itself, with `workload`)."""

    min_speedup: float
    """The smallest speedup (see `speedup`) that meets the goal."""

    workload: str | None = None
    """Compare with this other workload of the same runtime, instead of this one."""

    figure: float | None = None
    """Compare with this fixed figure instead of a measured one (see `fixed`)."""

    @classmethod
    def fixed(cls, label: str, figure: float) -> Target:
        """A goal of a fixed figure: Limelight's must be as good or better.

        "Better" is in the direction of the workload's `Kind`: at least
        `figure` operations a second, at most `figure` KiB, and so on.
        """
        return cls(label, "", 1.0, figure=figure)


@dataclass(frozen=True)
class Workload:
    """One thing to measure, with each implementation's way of doing it."""

    name: str
    """A short, stable identifier, unique within the runtime, such as ``"ask"``."""

    runtime: str
    """The runtime the workload exercises, such as ``"threading"``."""

    label: str
    """What the table calls it; ``{n}`` is the batch size, as in ``{n:,} actors``."""

    kind: Kind
    """What the implementations return and how it becomes a figure."""

    unit: str
    """The figure's unit, such as ``"µs/op"``."""

    implementations: Mapping[str, Implementation]
    """Each implementation's function, in display order."""

    size: int
    """Operations (or actors) per sample with ``--full``."""

    quick_size: int
    """Operations (or actors) per sample in the default run (once ``--quick``)."""

    samples: int = 15
    """Samples per implementation with ``--full``."""

    quick_samples: int = 5
    """Samples per implementation in the default run (once ``--quick``)."""

    warmup: int = 100
    """Operations of an untimed first call to each implementation (0: none)."""

    raw_meaning: str = ""
    """What the ``raw`` implementation does, for the table."""

    targets: Sequence[Target] = ()
    """Goals for Limelight's figure."""

    notes: Sequence[str] = ()
    """Lines for the table's notes when the workload runs (what a column means here)."""

    check: Callable[[], list[str]] = field(default=lambda: [])
    """Return what the samples left behind (actors still registered, say)."""

    group: str = ""
    """Workloads of the same group, listed one after another, are sampled together.

    Their rows can then be compared as fairly as the implementations in a
    row (see `Target.workload`).
    """

    may_linger: Callable[[threading.Thread], bool] = field(
        default=lambda _thread: False
    )
    """Whether a thread the workload started may outlive it (a pooled thread, say)."""

    full_only: bool = False
    """Measured with ``--full`` only (or when a filter picks it), not by default."""

    opt_in: str = ""
    """If set, measured only when asked for by this name, never by default.

    A run asks for it with its ``opt_ins`` (``--ray``), or with a filter
    containing the name (``-k ray``): for rows that start something heavy,
    such as a Ray cluster.
    """

    pin: bool = False
    """Its threads hand work to each other: run them on one CPU (`Settings.pin`)."""

    def title(self, n: int) -> str:
        """The label, for a batch size of `n`."""
        return self.label.format(n=n)

    def matches(self, text: str) -> bool:
        """Whether `text` occurs in the name, the runtime or the label (any case)."""
        text = text.casefold()
        haystack = f"{self.runtime}/{self.name} {self.label}".casefold()
        return text in haystack


def discover_workloads(
    package: str = __package__ or "limelight._bench",
) -> list[Workload]:
    """Import every ``*_workloads`` module of `package` and collect their workloads.

    Each such module defines ``workloads() -> list[Workload]``. Modules are
    taken in name order, workloads in the order each module lists them;
    except that a module with ``STARTS_PROCESSES = True`` comes after all
    those without: the processes its rows leave running (a worker pool, a
    Ray cluster with its busy daemons) would otherwise weigh on the
    in-process rows measured after them.
    """
    module_path = importlib.import_module(package).__path__
    modules = [
        importlib.import_module(f"{package}.{info.name}")
        for info in sorted(pkgutil.iter_modules(module_path), key=lambda m: m.name)
        if info.name.endswith("_workloads")
    ]
    modules.sort(key=lambda module: getattr(module, "STARTS_PROCESSES", False))
    return [workload for module in modules for workload in module.workloads()]


def select(
    workloads: Iterable[Workload],
    filters: Sequence[str],
    *,
    full: bool = False,
    opt_ins: Iterable[str] = (),
) -> list[Workload]:
    """The workloads a run measures.

    Those that match any of `filters`; without filters, the default set, or
    with `full` all of them. Either way, a workload with an `Workload.opt_in`
    only if that name is in `opt_ins` or in one of the filters (any case).
    """
    asked = {name.casefold() for name in opt_ins}
    folded = [f.casefold() for f in filters]

    def wanted(workload: Workload) -> bool:
        name = workload.opt_in.casefold()
        if name and name not in asked and not any(name in f for f in folded):
            return False
        if filters:
            return any(workload.matches(f) for f in filters)
        return full or not workload.full_only

    return [w for w in workloads if wanted(w)]


@dataclass(frozen=True)
class Settings:
    """How big a run is, and how it is taken."""

    full: bool = False
    """Use each workload's full size and sample count, not the default run's."""

    repeat: int | None = None
    """Samples per implementation, overriding the workloads' own counts."""

    size: int | None = None
    """Operations (or actors) per sample, overriding the workloads' own sizes."""

    pin: bool = True
    """Pin the threads of the workloads that ask for it to one CPU (`Workload.pin`)."""

    def size_of(self, workload: Workload) -> int:
        """Operations (or actors) per sample for `workload`."""
        if self.size is not None:
            return self.size
        return workload.size if self.full else workload.quick_size

    def samples_of(self, workload: Workload) -> int:
        """Samples per implementation for `workload`."""
        if self.repeat is not None:
            return self.repeat
        return workload.samples if self.full else workload.quick_samples


@dataclass(frozen=True)
class Figure:
    """One implementation's samples on one workload."""

    implementation: str
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median of the samples."""
        return statistics.median(self.samples)

    @property
    def quartiles(self) -> tuple[float, float]:
        """The first and third quartiles of the samples (both the sample, if one)."""
        if len(self.samples) > 1:
            q1, _, q3 = statistics.quantiles(self.samples, n=4, method="inclusive")
            return q1, q3
        return min(self.samples), max(self.samples)  # the one sample, twice

    @property
    def spread(self) -> float | None:
        """Half the interquartile range, as a share of the median (`None` if 0)."""
        median = self.median
        if not (0 < abs(median) < math.inf):
            return None
        q1, q3 = self.quartiles
        return (q3 - q1) / 2 / abs(median)

    @property
    def bimodal(self) -> bool:
        """Whether the samples fall into two groups (see :func:`bimodal`)."""
        return bimodal(self.samples)


def bimodal(samples: Sequence[float]) -> bool:
    """Whether `samples` fall into two groups, far apart.

    The rule: sorted, the samples have a gap between two neighbours, the
    upper at least :data:`BIMODAL_GAP` times the lower, with at least a
    quarter of the samples (and two) on each side of it. A run's median then
    depends on which group happened to be the larger. Fewer than four
    samples, or any not above zero (or infinite), are never called bimodal.
    """
    ordered = sorted(samples)
    least = max(2, math.ceil(len(ordered) / 4))
    if len(ordered) < 2 * least or not (ordered[0] > 0 and ordered[-1] < math.inf):
        return False
    return any(
        ordered[i] >= BIMODAL_GAP * ordered[i - 1]
        for i in range(least, len(ordered) - least + 1)
    )


@dataclass(frozen=True)
class TargetResult:
    """A target, and whether this run met it."""

    target: Target
    speedup: float | None
    """The measured speedup; `None` if a figure it needs is missing."""

    @property
    def met(self) -> bool | None:
        """Whether the target is met; `None` if that cannot be told (n/a)."""
        if self.speedup is None:
            return None
        return self.speedup >= self.target.min_speedup


@dataclass(frozen=True)
class Result:
    """What one workload measured."""

    workload: Workload
    n: int
    """Operations (or actors) per sample."""

    figures: Mapping[str, Figure]
    """The figures of the implementations that ran to the end."""

    errors: Mapping[str, str] = field(default_factory=dict[str, str])
    """Implementations that failed, with what went wrong."""

    pinned: int | None = None
    """The CPU its threads were pinned to, if they were (see `Workload.pin`)."""

    @property
    def title(self) -> str:
        """The workload's label for this run's batch size."""
        return self.workload.title(self.n)

    def median(self, implementation: str) -> float | None:
        """The median of `implementation`, if it ran."""
        figure = self.figures.get(implementation)
        return None if figure is None else figure.median

    def speedup(self, implementation: str) -> float | None:
        """How many times better Limelight did than `implementation` here."""
        return speedup(
            self.median(SUBJECT),
            self.median(implementation),
            higher_is_better=self.workload.kind.higher_is_better,
        )


@dataclass
class Report:
    """Everything a run measured, in the order it ran."""

    settings: Settings
    implementations: list[str]
    """The implementations measured, in column order."""

    unavailable: Mapping[str, str]
    """Implementations left out, with why."""

    results: list[Result] = field(default_factory=list[Result])
    problems: list[str] = field(default_factory=list[str])
    """Hygiene failures (leaked threads or actors); the run stops at the first."""

    conditions: machine.Conditions | None = None
    """The machine's load at the start and the end of the run."""

    def find(self, runtime: str, name: str) -> Result | None:
        """The result of the workload `name` of `runtime`, if it ran."""
        for result in self.results:
            if result.workload.runtime == runtime and result.workload.name == name:
                return result
        return None

    def targets(self, result: Result) -> list[TargetResult]:
        """Evaluate `result`'s targets, against figures of this same run."""
        evaluated: list[TargetResult] = []
        for target in result.workload.targets:
            other: Result | None = result
            if target.workload is not None:
                other = self.find(result.workload.runtime, target.workload)
            theirs = target.figure
            if theirs is None and other is not None:
                theirs = other.median(target.against)
            ratio = speedup(
                result.median(SUBJECT),
                theirs,
                higher_is_better=result.workload.kind.higher_is_better,
            )
            evaluated.append(TargetResult(target, ratio))
        return evaluated


class Progress(Protocol):
    """Where :func:`run` says how far along it is."""

    def begin(self, total: int) -> None:
        """The run starts; it will take `total` samples."""
        ...  # pragma: no cover

    def workload(self, title: str) -> None:
        """A workload starts."""
        ...  # pragma: no cover

    def advance(self) -> None:
        """A sample was taken."""
        ...  # pragma: no cover

    def end(self) -> None:
        """The run is over."""
        ...  # pragma: no cover


class _NoProgress:
    def begin(self, total: int) -> None:
        pass

    def workload(self, title: str) -> None:
        pass

    def advance(self) -> None:
        pass

    def end(self) -> None:
        pass


def run(
    workloads: Sequence[Workload],
    settings: Settings,
    *,
    unavailable: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Measure `workloads`, one interleaved round of samples after another.

    Consecutive workloads of the same `Workload.group` are measured
    together: each round takes a sample of each of their implementations,
    so that their rows can be compared with each other as fairly as the
    implementations within a row.

    Args:
        workloads: what to measure, in order.
        settings: how big the run is.
        unavailable: implementations to leave out, with why (Pykka missing).
        progress: told how far along the run is.

    Returns:
        The figures. If a workload leaves threads or actors behind, that is
        recorded in `Report.problems` and the run stops there.
    """
    unavailable = dict(unavailable or {})
    progress = progress or _NoProgress()
    columns: list[str] = []
    for workload in workloads:
        columns.extend(
            name
            for name in workload.implementations
            if name not in unavailable and name not in columns
        )
    # Limelight first, then what it replaces, then the floor, whichever
    # workload brought them in.
    order = [SUBJECT, PYKKA, RAW]
    columns.sort(key=lambda name: order.index(name) if name in order else len(order))
    report = Report(settings, columns, unavailable)
    samplers = [_Sampler(w, settings, unavailable) for w in workloads]
    watch = machine.Watch()
    progress.begin(sum(s.planned for s in samplers))
    try:
        for batch in _batches(samplers):
            before = set(threading.enumerate())
            pin = settings.pin and any(s.workload.pin for s in batch)
            with machine.pinned() if pin else contextlib.nullcontext() as cpu:
                _sample_together(batch, progress, cpu)
            report.results.extend(sampler.result(cpu) for sampler in batch)
            problems = _leftovers(batch, before)
            if problems:
                report.problems.extend(problems)
                break
    finally:
        progress.end()
    report.conditions = watch.finish()
    return report


class _Sampler:
    """Takes one workload's samples, and keeps them."""

    def __init__(
        self, workload: Workload, settings: Settings, unavailable: Mapping[str, str]
    ) -> None:
        self.workload = workload
        self.n = settings.size_of(workload)
        self.title = workload.title(self.n)
        self.rounds = settings.samples_of(workload)
        self.active = {
            name: implementation
            for name, implementation in workload.implementations.items()
            if name not in unavailable
        }
        self.samples: dict[str, list[float]] = {name: [] for name in self.active}
        self.errors: dict[str, str] = {}
        self.planned = self.rounds * len(self.active)

    def _attempt(self, name: str, size: int) -> float | None:
        try:
            return self.active[name](size)
        except Exception as exc:  # noqa: BLE001 -- reported, and the run goes on
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            del self.active[name]
            return None

    def warm_up(self) -> None:
        """Call each implementation once, untimed, with a small batch."""
        warmup = min(self.workload.warmup, self.n)
        if warmup:
            for name in list(self.active):
                self._attempt(name, warmup)

    def sample_round(self, progress: Progress) -> None:
        """Take one sample of each implementation, in turn."""
        for name in self.samples:
            if name in self.active:
                # Garbage left by the previous sample is no one's cost.
                gc.collect()
                value = self._attempt(name, self.n)
                if value is not None:
                    figure = self.workload.kind.figure(value, self.n)
                    self.samples[name].append(figure)
            progress.advance()

    def result(self, pinned: int | None) -> Result:
        """The figures of the implementations that did not fail."""
        figures = {
            name: Figure(name, tuple(values))
            for name, values in self.samples.items()
            if name not in self.errors and values
        }
        return Result(self.workload, self.n, figures, self.errors, pinned)


def _batches(samplers: list[_Sampler]) -> list[list[_Sampler]]:
    """Group consecutive samplers of workloads in the same (non-empty) group."""
    batches: list[list[_Sampler]] = []
    for sampler in samplers:
        group = sampler.workload.group
        if batches and group and batches[-1][-1].workload.group == group:
            batches[-1].append(sampler)
        else:
            batches.append([sampler])
    return batches


def _sample_together(
    batch: list[_Sampler], progress: Progress, cpu: int | None
) -> None:
    progress.workload(" + ".join(sampler.title for sampler in batch))
    for sampler in batch:
        sampler.warm_up()
    for round_ in range(max(sampler.rounds for sampler in batch)):
        if cpu is not None:
            # Again: the warm-up or the last round may have started
            # processes from one that is not pinned (a fork server).
            machine.pin_to({cpu})
        for sampler in batch:
            if round_ < sampler.rounds:
                sampler.sample_round(progress)


def _leftovers(batch: list[_Sampler], before: set[threading.Thread]) -> list[str]:
    """What `batch` left behind: problems from its checks, and threads it started."""
    problems = [
        f"{sampler.title}: {problem}"
        for sampler in batch
        for problem in sampler.workload.check()
    ]
    titles = " + ".join(sampler.title for sampler in batch)
    for thread in threading.enumerate():
        if thread in before or any(s.workload.may_linger(thread) for s in batch):
            continue
        # Threads whose actor just stopped may still be on their way out.
        thread.join(THREAD_END_TIMEOUT)
        if thread.is_alive():
            problems.append(f"{titles}: thread {thread.name!r} is still running")
    return problems


_STATM = Path("/proc/self/statm")


def resident_bytes() -> int:
    """The resident set size of this process, in bytes.

    Read from Linux's ``/proc/self/statm``. Elsewhere it is the *peak*
    resident size from ``resource``, which is the current one only in a
    process whose memory has only grown so far, such as a fresh one (see
    :mod:`limelight._bench.fresh`).
    """
    try:
        resident_pages = int(_STATM.read_bytes().split()[1])
    except OSError:
        import resource  # noqa: PLC0415 -- not on Windows

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak * (1 if sys.platform == "darwin" else 1024)
    return resident_pages * os.sysconf("SC_PAGE_SIZE")
