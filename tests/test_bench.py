"""The benchmark harness, its workloads and its output (``limelight._bench``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import importlib.util
import io
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

import limelight
import limelight.process
from limelight import _cli
from limelight._bench import asyncio_workloads as aw
from limelight._bench import (
    command,
    competitors,
    fresh,
    harness,
    machine,
    raw,
    raw_asyncio,
    raw_eventlet,
    raw_gevent,
    report,
)
from limelight._bench import eventlet_workloads as ew
from limelight._bench import gevent_workloads as gw
from limelight._bench import process_workloads as pw
from limelight._bench import ray_workloads as rw
from limelight._bench import threading_workloads as tw
from limelight._bench.harness import (
    PYKKA,
    RAW,
    SUBJECT,
    Figure,
    Kind,
    Report,
    Result,
    Settings,
    Target,
    TargetResult,
    Workload,
)
from limelight._core._scheduler import THREAD_NAME as TIMERS_THREAD_NAME
from limelight._runtimes.threads import IDLE_THREAD_NAME, RUNTIME
from tests import bench_targets


@pytest.fixture(autouse=True, scope="module")
def forget_pykka() -> Iterator[None]:
    """Unload the real Pykka after these tests, if they loaded it.

    ``limelight.as_pykka`` refuses to install itself once the real Pykka is
    imported, and other tests in the same process may use it.
    """
    before = set(sys.modules)
    yield
    tw.pykka_library.cache_clear()
    for name in set(sys.modules) - before:
        if name == "pykka" or name.startswith("pykka."):
            del sys.modules[name]
    sys.modules.pop("limelight._bench.pykka_actors", None)


@pytest.fixture
def pykka_here() -> bool:
    """Whether the real Pykka can be measured (asked at run time, not collection:
    importing Pykka then would keep ``limelight.as_pykka`` from working in
    tests collected alongside)."""
    return competitors.detect_pykka().available


# -- Fakes ---------------------------------------------------------------------


def constant(
    value: float, calls: list[tuple[str, int]], name: str
) -> harness.Implementation:
    """An implementation returning `value`, recording each call as (name, n)."""

    def measure(n: int) -> float:
        calls.append((name, n))
        return value

    return measure


def failing(n: int) -> float:
    msg = f"broken at {n}"
    raise ValueError(msg)


def fake_workload(
    implementations: dict[str, harness.Implementation],
    *,
    name: str = "fake",
    kind: Kind = Kind.DURATION,
    targets: tuple[Target, ...] = (),
    **details: Any,
) -> Workload:
    defaults: dict[str, Any] = {
        "label": f"{name} of {{n:,}}",
        "size": 100,
        "quick_size": 10,
        "samples": 3,
        "quick_samples": 2,
        "warmup": 0,
        "raw_meaning": "a fake",
    }
    defaults.update(details)
    return Workload(
        name=name,
        runtime="fake",
        kind=kind,
        unit="s",
        implementations=implementations,
        targets=targets,
        **defaults,
    )


def result_with(
    workload: Workload, medians: dict[str, float], errors: dict[str, str] | None = None
) -> Result:
    figures = {impl: Figure(impl, (median,)) for impl, median in medians.items()}
    return Result(workload, 1000, figures, errors or {})


class RecordingProgress:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def begin(self, total: int) -> None:
        self.events.append(("begin", total))

    def workload(self, title: str) -> None:
        self.events.append(("workload", title))

    def advance(self) -> None:
        self.events.append(("advance", None))

    def end(self) -> None:
        self.events.append(("end", None))


# -- Figures and ratios --------------------------------------------------------


def test_kinds_turn_values_into_figures() -> None:
    assert Kind.LATENCY.figure(0.002, 1000) == pytest.approx(2.0)  # µs per op
    assert Kind.THROUGHPUT.figure(0.5, 1000) == pytest.approx(2000.0)
    assert Kind.THROUGHPUT.figure(0.0, 1000) == math.inf
    assert Kind.DURATION.figure(1.5, 1000) == 1.5
    assert Kind.AMOUNT.figure(12.0, 1000) == 12.0
    assert [k.higher_is_better for k in Kind] == [False, True, False, False]
    assert Kind.LATENCY.words == ("faster", "slower")
    assert Kind.AMOUNT.words == ("smaller", "larger")


def test_speedup_compares_in_the_direction_that_is_better() -> None:
    # Lower is better: 10 µs against 27 µs is 2.7 times faster.
    assert harness.speedup(10.0, 27.0, higher_is_better=False) == pytest.approx(2.7)
    # Higher is better: 500k msg/s against 100k msg/s is 5 times faster.
    assert harness.speedup(500e3, 100e3, higher_is_better=True) == pytest.approx(5.0)
    assert harness.speedup(20.0, 10.0, higher_is_better=False) == pytest.approx(0.5)
    assert harness.speedup(None, 1.0, higher_is_better=False) is None
    assert harness.speedup(1.0, None, higher_is_better=False) is None
    assert harness.speedup(0.0, 1.0, higher_is_better=False) is None
    assert harness.speedup(1.0, -2.0, higher_is_better=True) is None
    assert harness.speedup(1.0, math.inf, higher_is_better=True) is None
    assert harness.speedup(math.nan, 1.0, higher_is_better=True) is None


def test_result_speedup_and_median_use_the_figures() -> None:
    workload = fake_workload({}, kind=Kind.LATENCY)
    result = result_with(workload, {SUBJECT: 10.0, PYKKA: 25.0, RAW: 8.0})
    assert result.median(PYKKA) == 25.0
    assert result.median("absent") is None
    assert result.speedup(PYKKA) == pytest.approx(2.5)
    assert result.speedup(RAW) == pytest.approx(0.8)
    assert result.speedup("absent") is None
    assert result.title == "fake of 1,000"


def test_figure_median_is_the_median_of_the_samples() -> None:
    assert Figure(SUBJECT, (5.0, 1.0, 100.0)).median == 5.0
    assert Figure(SUBJECT, (1.0, 2.0, 3.0, 10.0)).median == 2.5


def test_targets_are_met_or_not_from_the_same_run() -> None:
    proxy = fake_workload({}, name="proxy", kind=Kind.LATENCY)
    traversable = fake_workload(
        {},
        name="traversable",
        kind=Kind.LATENCY,
        targets=(
            Target("≤1.1× proxy", SUBJECT, 1 / 1.1, workload="proxy"),
            Target("≥2× pykka", PYKKA, 2.0),
            Target("≤1.5× raw", RAW, 1 / 1.5),
            Target("vs missing row", SUBJECT, 1.0, workload="absent"),
        ),
    )
    run = Report(Settings(), [SUBJECT, PYKKA, RAW], {})
    run.results.append(result_with(proxy, {SUBJECT: 20.0}))
    run.results.append(
        result_with(traversable, {SUBJECT: 21.0, PYKKA: 40.0, RAW: 13.0})
    )
    evaluated = run.targets(run.results[1])
    assert [t.speedup for t in evaluated] == [
        pytest.approx(20 / 21),
        pytest.approx(40 / 21),
        pytest.approx(13 / 21),
        None,
    ]
    # 21 µs is within 10% of 20 µs; 40/21 is short of 2; 21/13 is over 1.5.
    assert [t.met for t in evaluated] == [True, False, False, None]
    assert run.find("fake", "proxy") is run.results[0]
    assert run.find("other", "proxy") is None


def test_target_met_at_exactly_the_goal() -> None:
    target = Target("≥2× pykka", PYKKA, 2.0)
    assert TargetResult(target, 2.0).met is True
    assert TargetResult(target, 1.999).met is False
    assert TargetResult(target, None).met is None


def test_fixed_targets_compare_with_a_set_figure() -> None:
    million = Target.fixed("≥1M msg/s", 1e6)
    assert (million.against, million.min_speedup, million.figure) == ("", 1.0, 1e6)
    tell = fake_workload(
        {SUBJECT: failing, RAW: failing},
        name="tell",
        kind=Kind.THROUGHPUT,
        targets=(million,),
    )
    rss = fake_workload(
        {}, name="rss", kind=Kind.AMOUNT, targets=(Target.fixed("≤2 KiB", 2.0),)
    )
    run = Report(Settings(), [SUBJECT, RAW], {})
    # The raw figure is no concern of a fixed target, however it compares.
    run.results.append(result_with(tell, {SUBJECT: 1.5e6, RAW: 1e9}))
    run.results.append(result_with(rss, {SUBJECT: 2.5}))
    [fast_enough] = run.targets(run.results[0])
    [too_big] = run.targets(run.results[1])
    assert fast_enough.speedup == pytest.approx(1.5)
    assert fast_enough.met is True
    assert too_big.speedup == pytest.approx(0.8)
    assert too_big.met is False
    unmeasured = Report(Settings(), [SUBJECT], {})
    unmeasured.results.append(result_with(tell, {RAW: 1.0}))
    assert unmeasured.targets(unmeasured.results[0])[0].met is None
    words = Kind.THROUGHPUT.words
    assert report.format_target(fast_enough, words) == "✓ ≥1M msg/s"
    records = report.records(run, VERSIONS)
    assert [(r["name"], r["implementation"]) for r in records][:2] == [
        ("tell", SUBJECT),
        ("tell", RAW),
    ]
    assert records[0]["targets"] == [
        {
            "label": "≥1M msg/s",
            "against": None,
            "workload": "tell",
            "figure": 1e6,
            "min_speedup": 1.0,
            "speedup": pytest.approx(1.5),
            "met": True,
        }
    ]


# -- Workloads, selection and settings -----------------------------------------


def test_settings_pick_default_full_or_overridden_sizes() -> None:
    workload = fake_workload({})
    # The default run uses the quick sizes (it was --quick); --full the others.
    assert (Settings().size_of(workload), Settings().samples_of(workload)) == (10, 2)
    full = Settings(full=True)
    assert (full.size_of(workload), full.samples_of(workload)) == (100, 3)
    forced = Settings(full=True, size=7, repeat=9)
    assert (forced.size_of(workload), forced.samples_of(workload)) == (7, 9)
    assert Settings().pin


def test_select_matches_name_runtime_or_label_in_any_case() -> None:
    ask = fake_workload({}, name="ask")
    tell = fake_workload({}, name="tell", label="tell throughput")
    assert harness.select([ask, tell], []) == [ask, tell]
    assert harness.select([ask, tell], ["ASK"]) == [ask]
    assert harness.select([ask, tell], ["fake/tell"]) == [tell]
    assert harness.select([ask, tell], ["nothing", "throughput"]) == [tell]
    assert harness.select([ask, tell], ["nothing"]) == []


def test_select_takes_the_default_set_or_all_and_opt_ins_only_when_asked() -> None:
    main = fake_workload({}, name="main")
    extra = fake_workload({}, name="extra", full_only=True)
    heavy = fake_workload({}, name="heavy", opt_in="Heavy", label="proxy")
    everything = [main, extra, heavy]
    assert harness.select(everything, []) == [main]
    assert harness.select(everything, [], full=True) == [main, extra]
    assert harness.select(everything, [], full=True, opt_ins=["heavy"]) == everything
    assert harness.select(everything, [], opt_ins=["HEAVY"]) == [main, heavy]
    # A filter picks from every row, the full run's too; an opt-in row only
    # if the filter names it.
    assert harness.select(everything, ["extra"]) == [extra]
    assert harness.select(everything, ["proxy"]) == []
    assert harness.select(everything, ["heavy"]) == [heavy]
    assert harness.select(everything, ["proxy"], opt_ins=["heavy"]) == [heavy]


def threading_workloads() -> list[Workload]:
    return [w for w in harness.discover_workloads() if w.runtime == tw.RUNTIME_NAME]


def test_threading_workloads_are_discovered_with_all_three_implementations() -> None:
    found = threading_workloads()
    names = [w.name for w in found]
    assert names == [
        "ask",
        "ask_inline",
        "ask_floor",
        "pool_ask",
        "ask_observed",
        "actor_ask",
        "proxy",
        "traversable",
        "tell",
        "pool_tell",
        "pipelined",
        "spawn",
        "live",
        "stop_all",
        "rss",
    ]
    for workload in found:
        if workload.name in {"pool_ask", "pool_tell"}:  # (no Pykka pools, no raw)
            expected = [SUBJECT]
        elif workload.name in {"ask_inline", "ask_floor", "ask_observed"}:
            expected = [SUBJECT, RAW]
        else:
            expected = [SUBJECT, PYKKA, RAW]
        assert list(workload.implementations) == expected
        assert workload.raw_meaning or workload.name.startswith("pool_")
        assert workload.quick_size <= workload.size
    by_name = {w.name: w for w in found}
    # Rows compared with each other are sampled together.
    assert [w.name for w in found if w.group] == [
        "ask",
        "ask_inline",
        "ask_floor",
        "pool_ask",
        "ask_observed",
        "actor_ask",
        "proxy",
        "traversable",
        "tell",
        "pool_tell",
    ]
    assert by_name["stop_all"].size == 10_000
    assert by_name["stop_all"].title(2000) == "ActorRegistry.stop_all(), 2,000 actors"
    goals = {
        w.name: [(t.against, round(t.min_speedup, 4)) for t in w.targets] for w in found
    }
    # At most 1.5 times raw's cost, at most 10% slower than a proxy call.
    assert goals["ask"] == [(PYKKA, 2.0), (RAW, 0.6667)]
    assert goals["proxy"] == [(PYKKA, 2.0), (RAW, 0.6667)]
    assert goals["traversable"] == [(SUBJECT, 0.9091)]
    assert by_name["traversable"].targets[0].workload == "proxy"
    # Asks in the caller's thread cost at most half a thread switch's round trip.
    assert goals["ask_inline"] == [(RAW, 2.0)]
    # The same ask against a raw one with a future: measured, no target.
    assert goals["ask_floor"] == []
    ask_row, floor_row = by_name["ask"], by_name["ask_floor"]
    assert floor_row.implementations[SUBJECT] is ask_row.implementations[SUBJECT]
    # Watching with snapshots costs at most 5% of an ask round trip.
    assert goals["ask_observed"] == [(SUBJECT, 0.9524)]
    assert by_name["ask_observed"].targets[0].workload == "ask"
    assert goals["tell"] == [(PYKKA, 5.0)]
    # Routing through a pool costs at most a fifth of an ask.
    assert goals["pool_ask"] == [(SUBJECT, 0.8333)]
    assert by_name["pool_ask"].targets[0].workload == "ask"
    assert goals["pool_tell"] == []
    assert goals["pipelined"] == [(PYKKA, 6.0)]
    assert goals["spawn"] == [(PYKKA, 2.0)]
    assert goals["live"] == [(PYKKA, 2.0)]
    assert goals["stop_all"] == [(PYKKA, 2.0)]
    assert goals["rss"] == []
    # The default run has the main rows; thread hand-overs are pinned.
    assert [w.name for w in found if not w.full_only] == [
        "ask",
        "ask_inline",
        "proxy",
        "tell",
        "spawn",
        "rss",
    ]
    assert [w.name for w in found if not w.pin] == ["stop_all", "rss"]
    assert by_name["live"].title(500) == (
        "500 live actors: started, asked once, all stopped"
    )
    assert not any(w.opt_in for w in found)


# -- The runner ----------------------------------------------------------------


def test_run_interleaves_one_sample_of_each_implementation_per_round() -> None:
    calls: list[tuple[str, int]] = []
    workload = fake_workload(
        {
            SUBJECT: constant(1.0, calls, SUBJECT),
            PYKKA: constant(2.0, calls, PYKKA),
            RAW: constant(3.0, calls, RAW),
        },
        warmup=5,
    )
    progress = RecordingProgress()
    result = harness.run([workload], Settings(repeat=3, size=50), progress=progress)
    warmups = [(SUBJECT, 5), (PYKKA, 5), (RAW, 5)]
    one_round = [(SUBJECT, 50), (PYKKA, 50), (RAW, 50)]
    assert calls == warmups + one_round * 3
    assert result.implementations == [SUBJECT, PYKKA, RAW]
    assert result.problems == []
    only = result.results[0]
    assert only.n == 50
    assert {impl: f.samples for impl, f in only.figures.items()} == {
        SUBJECT: (1.0, 1.0, 1.0),
        PYKKA: (2.0, 2.0, 2.0),
        RAW: (3.0, 3.0, 3.0),
    }
    assert progress.events == [
        ("begin", 9),
        ("workload", "fake of 50"),
        *[("advance", None)] * 9,
        ("end", None),
    ]


def test_run_interleaves_the_workloads_of_a_group() -> None:
    calls: list[tuple[str, int]] = []
    first = fake_workload(
        {SUBJECT: constant(1.0, calls, "a-ll"), RAW: constant(1.0, calls, "a-raw")},
        name="a",
        group="pair",
        warmup=1,
    )
    second = fake_workload(
        {SUBJECT: constant(2.0, calls, "b-ll")}, name="b", group="pair", samples=1
    )
    alone = fake_workload({SUBJECT: constant(3.0, calls, "c-ll")}, name="c")
    third = fake_workload(
        {SUBJECT: constant(4.0, calls, "d-ll")}, name="d", group="pair"
    )
    progress = RecordingProgress()
    result = harness.run(
        [first, second, alone, third], Settings(full=True), progress=progress
    )
    assert [name for name, _n in calls] == [
        *["a-ll", "a-raw"],  # warm-up
        *["a-ll", "a-raw", "b-ll"],  # round 1: both workloads
        *["a-ll", "a-raw"] * 2,  # rounds 2 and 3: b takes only one sample
        *["c-ll"] * 3,  # not in the group
        *["d-ll"] * 3,  # in the group, but not next to its other members
    ]
    assert [r.workload.name for r in result.results] == ["a", "b", "c", "d"]
    assert result.results[1].figures[SUBJECT].samples == (2.0,)
    titles = [title for event, title in progress.events if event == "workload"]
    assert titles == ["a of 100 + b of 100", "c of 100", "d of 100"]
    assert progress.events[0] == ("begin", 2 * 3 + 1 + 3 + 3)


def test_run_leaves_out_unavailable_implementations() -> None:
    calls: list[tuple[str, int]] = []
    workload = fake_workload(
        {SUBJECT: constant(1.0, calls, SUBJECT), PYKKA: constant(2.0, calls, PYKKA)}
    )
    result = harness.run([workload], Settings(), unavailable={PYKKA: "not installed"})
    assert calls == [(SUBJECT, 10), (SUBJECT, 10)]
    assert result.implementations == [SUBJECT]
    assert result.unavailable == {PYKKA: "not installed"}
    assert result.results[0].median(PYKKA) is None


def test_run_records_a_failing_implementation_and_goes_on() -> None:
    calls: list[tuple[str, int]] = []
    broken_later = iter([1.0])

    def fails_second_time(n: int) -> float:
        calls.append((PYKKA, n))
        return next(broken_later)

    workload = fake_workload(
        {
            SUBJECT: constant(1.0, calls, SUBJECT),
            PYKKA: fails_second_time,
            RAW: failing,
        },
        warmup=1,
    )
    second = fake_workload({SUBJECT: constant(4.0, calls, SUBJECT)}, name="second")
    progress = RecordingProgress()
    result = harness.run([workload, second], Settings(repeat=3), progress=progress)
    first = result.results[0]
    assert first.errors == {
        RAW: "ValueError: broken at 1",
        PYKKA: "StopIteration: ",
    }
    assert set(first.figures) == {SUBJECT}
    assert first.figures[SUBJECT].samples == (1.0, 1.0, 1.0)
    # The run went on with the next workload, and counted every planned sample.
    assert result.results[1].median(SUBJECT) == 4.0
    assert progress.events.count(("advance", None)) == 3 * 3 + 3


def test_run_stops_at_a_workload_that_leaves_actors_behind() -> None:
    calls: list[tuple[str, int]] = []
    leaky = fake_workload(
        {SUBJECT: constant(1.0, calls, SUBJECT)},
        check=lambda: ["2 actors still registered"],
    )
    never = fake_workload({SUBJECT: constant(1.0, calls, "never")}, name="never")
    result = harness.run([leaky, never], Settings(repeat=1))
    assert result.problems == ["fake of 10: 2 actors still registered"]
    assert [r.workload.name for r in result.results] == ["fake"]
    assert ("never", 100) not in calls


def test_run_reports_threads_a_workload_left_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harness, "THREAD_END_TIMEOUT", 0.01)
    release = threading.Event()
    started: list[threading.Thread] = []

    def leak(_n: int) -> float:
        thread = threading.Thread(target=release.wait, name="leaked-thread")
        thread.start()
        started.append(thread)
        return 1.0

    def pooled(_n: int) -> float:
        thread = threading.Thread(target=release.wait, name="pooled-thread")
        thread.start()
        started.append(thread)
        return 1.0

    finishing = threading.Event()

    def ending(_n: int) -> float:
        # Still running when the run looks, it ends once the check has run.
        thread = threading.Thread(target=finishing.wait, name="ending-thread")
        thread.start()
        started.append(thread)
        return 1.0

    def let_it_end() -> list[str]:
        finishing.set()
        return []

    def is_pooled(thread: threading.Thread) -> bool:
        return thread.name == "pooled-thread"

    try:
        result = harness.run(
            [
                fake_workload({SUBJECT: pooled}, may_linger=is_pooled),
                fake_workload({SUBJECT: ending}, name="ending", check=let_it_end),
                fake_workload({SUBJECT: leak}, name="leaky"),
            ],
            Settings(repeat=1),
        )
    finally:
        release.set()
        for thread in started:
            thread.join()
    assert result.problems == ["leaky of 10: thread 'leaked-thread' is still running"]


def test_run_ends_the_progress_display_when_interrupted() -> None:
    def interrupted(_n: int) -> float:
        raise KeyboardInterrupt

    progress = RecordingProgress()
    with pytest.raises(KeyboardInterrupt):
        harness.run(
            [fake_workload({SUBJECT: interrupted})], Settings(), progress=progress
        )
    assert progress.events[-1] == ("end", None)


# -- Pinning and the machine's load --------------------------------------------

needs_affinity = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity"), reason="the OS cannot pin threads"
)


@needs_affinity
def test_pinned_runs_every_thread_and_child_process_on_one_cpu() -> None:
    before = os.sched_getaffinity(0)
    done = threading.Event()
    older = threading.Thread(target=done.wait, name="older")
    older.start()
    child = None
    try:
        with machine.pinned() as cpu:
            assert cpu == max(before)
            assert older.native_id is not None
            assert os.sched_getaffinity(older.native_id) == {cpu}
            assert os.sched_getaffinity(0) == {cpu}
            child = subprocess.Popen(
                [sys.executable, "-c", "import sys; sys.stdin.read()"],
                stdin=subprocess.PIPE,
            )
            assert os.sched_getaffinity(child.pid) == {cpu}
            # What pin_to finds again, for those a fork server starts.
            assert child.pid in machine._children(os.getpid())
        assert os.sched_getaffinity(0) == before
        assert os.sched_getaffinity(older.native_id) == before
        assert os.sched_getaffinity(child.pid) == before
    finally:
        done.set()
        older.join()
        if child is not None:
            child.communicate(b"")


def test_pinned_changes_nothing_where_the_os_cannot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    with machine.pinned() as cpu:
        assert cpu is None


def test_thread_ids_without_proc_are_the_python_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(machine, "_PROC", Path("/nonexistent-proc"))
    ids = machine.thread_ids()
    assert threading.get_native_id() in ids
    assert len(ids) == len(threading.enumerate())


def test_thread_ids_skip_a_thread_that_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    # Task 0 never exists: reading its children fails, as for an ended thread.
    def task_zero(_pid: int) -> list[str]:
        return ["0"]

    monkeypatch.setattr(machine, "_tasks", task_zero)
    assert machine.thread_ids() == [0]


def test_pin_to_skips_threads_that_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, set[int]]] = []

    def refuse(thread_id: int, cpus: set[int]) -> None:
        calls.append((thread_id, cpus))
        raise ProcessLookupError(thread_id)

    monkeypatch.setattr(machine, "thread_ids", lambda: [1, 2])
    monkeypatch.setattr(os, "sched_setaffinity", refuse, raising=False)
    machine.pin_to({0})
    assert calls == [(1, {0}), (2, {0})]


def test_load_average_when_the_os_tells_it_or_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 1.0, 0.5), raising=False)
    assert machine.load_average() == 1.5

    def unknown() -> tuple[float, float, float]:
        raise OSError

    monkeypatch.setattr(os, "getloadavg", unknown, raising=False)
    assert machine.load_average() is None
    monkeypatch.delattr(os, "getloadavg", raising=False)
    assert machine.load_average() is None


def test_cpu_times_read_the_stolen_share(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stat = tmp_path / "stat"
    monkeypatch.setattr(machine, "_STAT", stat)
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  10 0 10 70 0 0 0 10 5 0\ncpu0 1 2 3\n")
    assert machine.cpu_times() == (10, 100)
    stat.write_text("cpu  10 0 10 80\n")  # an old kernel: no steal
    assert machine.cpu_times() == (0, 100)
    stat.write_text("")
    assert machine.cpu_times() is None
    stat.unlink()
    assert machine.cpu_times() is None


def test_watch_measures_the_stolen_share_over_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    times = iter([(10, 1000), (30, 1200), None, (0, 0), (5, 50), (5, 50)])
    monkeypatch.setattr(machine, "cpu_times", lambda: next(times))
    monkeypatch.setattr(machine, "load_average", lambda: 0.5)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert machine.Watch().finish() == machine.Conditions(4, 0.5, 0.5, 0.1)
    assert machine.Watch().finish().stolen is None  # not known at the start
    assert machine.Watch().finish().stolen is None  # no time went by


def test_run_pins_the_workloads_that_ask_and_records_where(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pins: list[set[int]] = []
    monkeypatch.setattr(machine, "pin_to", pins.append)

    @contextlib.contextmanager
    def pinned() -> Generator[int | None, None, None]:
        yield 7

    monkeypatch.setattr(machine, "pinned", pinned)
    calls: list[tuple[str, int]] = []
    pinning = fake_workload({SUBJECT: constant(1.0, calls, "a")}, pin=True)
    roaming = fake_workload({SUBJECT: constant(1.0, calls, "b")}, name="roam")
    result = harness.run([pinning, roaming], Settings(repeat=3))
    assert [r.pinned for r in result.results] == [7, None]
    assert pins == [{7}] * 3  # again before each round
    assert result.conditions is not None
    unpinned = harness.run([pinning], Settings(repeat=1, pin=False))
    assert unpinned.results[0].pinned is None
    assert pins == [{7}] * 3


@needs_affinity
def test_a_pinned_sample_runs_on_one_cpu() -> None:
    seen: list[set[int]] = []

    def where(_n: int) -> float:
        seen.append(os.sched_getaffinity(0))
        return 1.0

    before = os.sched_getaffinity(0)
    result = harness.run([fake_workload({SUBJECT: where}, pin=True)], Settings())
    assert seen == [{max(before)}] * 2
    assert result.results[0].pinned == max(before)
    assert os.sched_getaffinity(0) == before


# -- The command -----------------------------------------------------------------


def fake_workloads(*workloads: Workload) -> Callable[[], list[Workload]]:
    return lambda: list(workloads)


def quick_workloads() -> list[Workload]:
    return [
        fake_workload({SUBJECT: lambda n: 1.0, RAW: lambda n: 2.0}, name="main"),
        fake_workload({SUBJECT: lambda n: 1.0}, name="extra", full_only=True),
        fake_workload(
            {SUBJECT: lambda n: 1.0}, name="heavy", label="ray row", opt_in="ray"
        ),
        fake_workload({SUBJECT: lambda n: 1.0}, name="pinned", pin=True),
    ]


def run_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[list[dict[str, Any]], str]:
    monkeypatch.setattr(harness, "discover_workloads", quick_workloads)
    monkeypatch.setattr(command, "detect_pykka", lambda: competitors.Availability(None))
    assert _cli.main(["bench", "--json", *args]) == 0
    captured = capsys.readouterr()
    records: list[dict[str, Any]] = json.loads(captured.out)
    return records, captured.err


def test_command_runs_the_default_set_or_the_full_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    records, err = run_json(monkeypatch, capsys)
    assert [r["name"] for r in records] == ["main", "main", "pinned"]
    assert {r["n"] for r in records} == {10}
    assert "Default run: the main rows (--full adds the rest)." in err
    records, _err = run_json(monkeypatch, capsys, "--full")
    assert [r["name"] for r in records] == ["main", "main", "extra", "pinned"]
    assert {r["n"] for r in records} == {100}
    # --quick is the default run, under its old name.
    records, _err = run_json(monkeypatch, capsys, "--quick")
    assert [r["name"] for r in records] == ["main", "main", "pinned"]


def test_command_runs_opt_in_rows_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(rw, "installed", lambda: True)
    records, _err = run_json(monkeypatch, capsys, "--ray")
    assert [r["name"] for r in records] == ["main", "main", "heavy", "pinned"]
    records, _err = run_json(monkeypatch, capsys, "-k", "fake/")
    assert "heavy" not in [r["name"] for r in records]
    records, _err = run_json(monkeypatch, capsys, "-k", "ray")
    assert [r["name"] for r in records] == ["heavy"]


def test_command_pins_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    records, _err = run_json(monkeypatch, capsys, "-k", "pinned")
    assert records[0]["pinned"] is hasattr(os, "sched_setaffinity")
    records, _err = run_json(monkeypatch, capsys, "-k", "pinned", "--no-pin")
    assert records[0]["pinned"] is False


def test_command_prints_warnings_with_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def loaded(_watch: machine.Watch) -> machine.Conditions:
        return machine.Conditions(1, 5.0)

    monkeypatch.setattr(machine.Watch, "finish", loaded)
    _records, err = run_json(monkeypatch, capsys, "-k", "main")
    assert "warning: the machine was busy as the run began" in err


def test_command_refuses_ray_rows_without_ray(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(rw, "installed", lambda: False)
    assert _cli.main(["bench", "--ray"]) == command.EXIT_USAGE
    err = capsys.readouterr().err
    assert "limelight bench: error: --ray needs Ray" in err
    assert "pip install 'limelight[ray]'" in err


def test_command_lists_which_rows_need_full_or_an_opt_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(harness, "discover_workloads", quick_workloads)
    assert _cli.main(["bench", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "fake/main: main of 10 [s]; raw: a fake",
        "fake/extra: extra of 10 [s]; raw: a fake (--full only)",
        "fake/heavy: ray row [s]; raw: a fake (--ray only)",
        "fake/pinned: pinned of 10 [s]; raw: a fake",
    ]


def test_command_fits_the_table_to_the_width(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(harness, "discover_workloads", quick_workloads)
    monkeypatch.setattr(command, "detect_pykka", lambda: competitors.Availability(None))
    assert _cli.main(["bench", "--plain", "--width", "50"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 50
    # A terminal: its width; elsewhere, 100 columns.
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)

    def terminal(_fallback: tuple[int, int]) -> os.terminal_size:
        return os.terminal_size((64, 24))

    monkeypatch.setattr(shutil, "get_terminal_size", terminal)
    args = argparse.Namespace(width=None)
    assert command._width(args) == 64
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert command._width(args) == report.PLAIN_WIDTH
    assert command._width(argparse.Namespace(width=33)) == 33


def test_command_help_states_the_durations(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["bench", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for option in ("--full", "--ray", "--no-pin", "--width", "--quick"):
        assert option in out
    # As measured on two shared cores: 21-31 s, and 310 s.
    assert "By default the main rows: about half a minute" in out
    assert "--full measures every row" in out
    assert "about five minutes" in out


# -- The real workloads, tiny --------------------------------------------------


def own_threads() -> set[threading.Thread]:
    """The threads running, but Limelight's pooled ones, background loop and timers."""
    shared = {IDLE_THREAD_NAME, aw.BACKGROUND_THREAD_NAME, TIMERS_THREAD_NAME}
    return {t for t in threading.enumerate() if t.name not in shared}


def test_every_real_workload_runs_clean_at_a_tiny_size(
    pykka_here: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A memory row's child that gets stuck fails its row, with its stacks,
    # well before this test's own time is up.
    monkeypatch.setattr(fresh, "TIMEOUT", 45.0)
    threads_before = own_threads()
    unavailable = {} if pykka_here else {PYKKA: "absent"}
    # (Ray's rows run in tests/test_ray_runtime.py, on the session's Ray.)
    result = harness.run(
        [w for w in harness.discover_workloads() if w.runtime != "ray"],
        Settings(size=3, repeat=1),
        unavailable=unavailable,
    )
    assert result.problems == []
    everything = [SUBJECT, PYKKA, RAW] if pykka_here else [SUBJECT, RAW]
    assert result.implementations == everything
    assert {res.workload.runtime for res in result.results} == {
        "asyncio",
        "eventlet",
        "gevent",
        "process",
        "threading",
    }
    for res in result.results:
        assert res.errors == {}
        expected = [i for i in res.workload.implementations if i in everything]
        assert list(res.figures) == expected
        for figure in res.figures.values():
            assert len(figure.samples) == 1
            if res.workload.kind is not Kind.AMOUNT:
                assert figure.median > 0, (res.title, figure)
    assert limelight.ActorRegistry.get_all() == []
    limelight.process.shutdown()  # the pool's reader threads end with its workers
    assert own_threads() == threads_before


@pytest.mark.parametrize(
    "measure",
    [
        tw.ask_round_trip,
        tw.actor_ask_round_trip,
        tw.proxy_call,
        tw.traversable_call,
        tw.tell_throughput,
        tw.pipelined_asks,
        tw.spawn_stop,
        tw.stop_all,
    ],
)
def test_limelight_measurements_time_a_batch_and_stop_their_actors(
    measure: Callable[[tw.Library, int], float],
) -> None:
    assert measure(tw.limelight_library(), 5) > 0
    assert limelight.ActorRegistry.get_all() == []


def test_the_observed_ask_measurement_stops_its_actor_and_watcher() -> None:
    before = set(threading.enumerate())

    assert tw.ask_round_trip_observed(5) > 0
    assert tw.ask_round_trip_observed(50, interval=0) > 0  # snapshots all along

    assert not [
        t for t in set(threading.enumerate()) - before if t.name == "bench-snapshots"
    ]
    assert tw.leftover_actors() == []


def test_pykka_measurements_stop_their_actors(pykka_here: bool) -> None:
    if not pykka_here:
        pytest.skip("the real Pykka is not installed")
    import pykka  # noqa: PLC0415

    library = tw.pykka_library()
    assert library.name == PYKKA
    for measure in (
        tw.ask_round_trip,
        tw.actor_ask_round_trip,
        tw.traversable_call,
        tw.stop_all,
    ):
        assert measure(library, 5) > 0
    assert pykka.ActorRegistry.get_all() == []
    # In this process, memory is measured the same way (a fresh one is better).
    assert isinstance(tw.rss_pykka(5), float)
    assert tw.pykka_library() is library


def test_actor_classes_are_separate_per_library(pykka_here: bool) -> None:
    assert issubclass(tw.LimelightEcho, limelight.ThreadingActor)
    ref = tw.limelight_library().start_echo()
    try:
        assert ref.ask("ping") == "ping"
        assert ref.proxy().sub.call(3).get() == 3
    finally:
        ref.stop()
    if pykka_here:
        import pykka  # noqa: PLC0415

        from limelight._bench.pykka_actors import PykkaEcho  # noqa: PLC0415

        assert issubclass(PykkaEcho, pykka.ThreadingActor)
        assert not issubclass(PykkaEcho, limelight.Actor)
        pykka_ref = tw.pykka_library().start_echo()
        try:
            assert pykka_ref.ask("ping") == "ping"
            assert pykka_ref.proxy().sub.call(3).get() == 3
        finally:
            pykka_ref.stop()


def test_threading_check_reports_registered_actors() -> None:
    check = threading_workloads()[0].check
    assert check() == []
    ref = tw.LimelightEcho.start()
    try:
        assert check() == ["1 limelight actor(s) still registered"]
    finally:
        ref.stop()


def test_threading_check_looks_at_pykka_once_it_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = tw.Library(
        name=PYKKA,
        start_echo=tw.LimelightEcho.start,
        get_all=limelight.get_all,
        stop_all=limelight.ActorRegistry.stop_all,
        count_actors=lambda: 3,
    )
    tw.pykka_library.cache_clear()
    monkeypatch.setattr(tw, "pykka_library", _cached(fake))
    check = threading_workloads()[0].check
    assert check() == []  # Pykka not loaded yet: not looked at
    assert tw.pykka_library() is fake
    assert check() == ["3 pykka actor(s) still registered"]


def _cached(library: tw.Library) -> Any:
    import functools  # noqa: PLC0415

    @functools.cache
    def pykka_library() -> tw.Library:
        return library

    return pykka_library


def test_idle_limelight_threads_may_linger_and_can_be_ended() -> None:
    tw.LimelightEcho.start().stop()
    assert RUNTIME.threads.idle_count() >= 1
    idle = [t for t in threading.enumerate() if t.name == IDLE_THREAD_NAME]
    assert idle
    may_linger = threading_workloads()[0].may_linger
    assert all(may_linger(t) for t in idle)
    assert not may_linger(threading.current_thread())
    tw.limelight_library().settle()
    assert RUNTIME.threads.idle_count() == 0
    assert not any(t.is_alive() for t in idle)
    # The cache is open again: the next stopped actor's thread is kept.
    tw.LimelightEcho.start().stop()
    assert RUNTIME.threads.idle_count() == 1


def test_limelight_rss_per_actor_is_a_plausible_size() -> None:
    kib = tw.rss_limelight(200)
    # A thread's stack pages alone are several KiB; nothing needs a MiB.
    assert 1 < kib < 1024
    assert limelight.ActorRegistry.get_all() == []


# -- The asyncio workloads -----------------------------------------------------


def fake_uvloop(version: str | None) -> types.ModuleType:
    """A module that passes for uvloop; its loops are asyncio's own."""
    module = types.ModuleType("uvloop")
    module.__dict__["new_event_loop"] = asyncio.new_event_loop
    if version is not None:
        module.__dict__["__version__"] = version
    return module


IN_LOOP_NAMES = [
    "ask",
    "proxy",
    "thread_ask",
    "thread_ask_floor",
    "tell",
    "spawn",
    "start",
    "rss",
]


def test_asyncio_workloads_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)
    found = aw.workloads()
    assert [w.name for w in found] == IN_LOOP_NAMES
    assert {w.runtime for w in found} == {"asyncio"}
    by_name = {w.name: w for w in found}
    # Pykka has no asyncio actors: only the ask from a plain thread has a
    # Pykka column, the same call to a Pykka thread actor.
    assert list(by_name["thread_ask"].implementations) == [SUBJECT, PYKKA, RAW]
    for name in IN_LOOP_NAMES:
        if name != "thread_ask":
            assert list(by_name[name].implementations) == [SUBJECT, RAW]
    assert [w.name for w in found if not w.full_only] == ["ask", "spawn"]
    assert [w.name for w in found if not w.pin] == ["start", "rss"]
    # Both thread rows measure the same ask, against two floors.
    floor_row = by_name["thread_ask_floor"]
    assert floor_row.implementations[SUBJECT] is aw.thread_ask
    assert floor_row.implementations[RAW] is raw_asyncio.thread_ask_round_trip
    # Round trips are sampled together, so that they can be compared.
    assert [w.name for w in found if w.group == "asyncio round trips"] == [
        "ask",
        "proxy",
        "thread_ask",
        "thread_ask_floor",
    ]
    goals = {
        w.name: [(t.against, round(t.min_speedup, 4), t.figure) for t in w.targets]
        for w in found
    }
    assert goals == {
        "ask": [(RAW, 0.6667, None)],
        "proxy": [(RAW, 0.6667, None)],
        "thread_ask": [(RAW, 0.6667, None)],
        "thread_ask_floor": [(RAW, 0.6667, None)],
        "tell": [("", 1.0, 1e6)],
        "spawn": [("", 1.0, 1e5)],
        "start": [("", 1.0, 1e5)],
        "rss": [("", 1.0, 2.0)],
    }
    assert by_name["start"].title(100_000) == "start 100,000 live actors in a loop"
    assert (by_name["start"].size, by_name["start"].quick_size) == (100_000, 10_000)
    assert (by_name["rss"].size, by_name["rss"].quick_size) == (100_000, 10_000)
    for workload in found:
        assert workload.raw_meaning
        assert workload.quick_size <= workload.size
        assert "ask round" not in workload.label  # (the CLI tests' filter)
    # Each note goes to the rows it is about.
    uvloop_note = aw.find_uvloop()[1]
    assert {w.name: w.notes for w in found} == {
        "ask": (uvloop_note, aw.XOSCAR_NOTE),
        "proxy": (uvloop_note,),
        "thread_ask": [aw.PYKKA_NOTE],
        "thread_ask_floor": (),
        "tell": (uvloop_note,),
        "spawn": (uvloop_note, aw.XOSCAR_NOTE),
        "start": (),
        "rss": (),
    }
    assert "uvloop is not installed" in uvloop_note
    assert "36.6 µs" in aw.XOSCAR_NOTE
    assert "13.5k spawn + stop/s" in aw.XOSCAR_NOTE


def test_asyncio_workloads_with_uvloop_run_the_in_loop_rows_on_it_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", fake_uvloop("0.99.1"))
    found = aw.workloads()
    assert [w.name for w in found] == [
        "ask",
        "proxy",
        "ask_uvloop",
        "proxy_uvloop",
        "thread_ask",
        "thread_ask_floor",
        "tell",
        "tell_uvloop",
        "spawn",
        "spawn_uvloop",
        "start",
        "rss",
    ]
    assert [w.group for w in found[:6]] == ["asyncio round trips"] * 6
    assert found[6].group == found[7].group == "asyncio tells"
    assert found[8].group == found[9].group == "asyncio spawns"
    by_name = {w.name: w for w in found}
    for name in ("ask", "proxy", "tell", "spawn"):
        on_uvloop = by_name[f"{name}_uvloop"]
        assert on_uvloop.label == f"{by_name[name].label} [uvloop]"
        # Pykka's thread actors do not depend on the loop: measured once.
        assert list(on_uvloop.implementations) == [SUBJECT, RAW]
        assert on_uvloop.raw_meaning == by_name[name].raw_meaning
        assert PYKKA not in {t.against for t in on_uvloop.targets}
        assert on_uvloop.implementations[SUBJECT](3) > 0
        assert on_uvloop.implementations[RAW](3) > 0
    assert by_name["ask"].notes == (aw.XOSCAR_NOTE,)
    assert by_name["ask_uvloop"].notes == (
        "The same, on uvloop 0.99.1's event loop, raw included.",
    )
    assert [w.name for w in found if not w.full_only] == ["ask", "spawn"]
    assert limelight.ActorRegistry.get_all() == []


def test_find_uvloop_without_a_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", fake_uvloop(None))
    loop, note = aw.find_uvloop()
    assert loop is not None
    assert loop.name == "uvloop"
    assert loop.new is asyncio.new_event_loop
    assert "uvloop unknown" in note


def test_workloads_are_discovered_in_module_order_those_starting_processes_last() -> (
    None
):
    runtimes = [w.runtime for w in harness.discover_workloads()]
    first_eventlet = runtimes.index("eventlet")
    first_gevent = runtimes.index("gevent")
    first_threading = runtimes.index("threading")
    first_process = runtimes.index("process")
    assert set(runtimes[:first_eventlet]) == {"asyncio"}
    assert set(runtimes[first_eventlet:first_gevent]) == {"eventlet"}
    assert set(runtimes[first_gevent:first_threading]) == {"gevent"}
    assert set(runtimes[first_threading:first_process]) == {"threading"}
    # (Ray's rows, when Ray is installed, come after the process rows.)
    assert set(runtimes[first_process:]) <= {"process", "ray"}
    assert runtimes[-1] in {"process", "ray"}


def test_only_the_process_ask_is_in_the_default_run_and_pinned() -> None:
    found = pw.workloads()
    assert [w.name for w in found if not w.full_only] == ["ask"]
    assert [w.name for w in found if w.pin] == ["ask"]


def test_process_rows_let_the_pool_threads_linger() -> None:
    lingering = threading.Thread(name="limelight-worker-1-reader")
    assert pw._may_linger(lingering)
    assert pw._may_linger(threading.Thread(name=IDLE_THREAD_NAME))
    assert not pw._may_linger(threading.Thread(name="someone-else"))


def test_process_rss_per_actor_is_a_plausible_size() -> None:
    try:
        assert 0 <= pw.rss_per_actor(200) < 1024
    finally:
        limelight.process.shutdown()


def test_without_gevent_or_eventlet_there_are_no_rows_of_theirs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def find_nothing(_name: str) -> None:
        return None

    monkeypatch.setattr(importlib.util, "find_spec", find_nothing)

    assert gw.workloads() == []
    assert ew.workloads() == []


@pytest.mark.parametrize(
    "measure",
    [
        gw.ask_in_hub,
        gw.proxy_in_hub,
        gw.tell_in_hub,
        gw.spawn_stop_in_hub,
        raw_gevent.ask_round_trip,
        raw_gevent.call_round_trip,
        raw_gevent.tell_throughput,
        raw_gevent.spawn_stop,
    ],
)
def test_gevent_measurements_run_in_a_hub_of_their_own_and_clean_up(
    measure: Callable[[int], float],
) -> None:
    assert gw.in_hub(measure, 5) > 0
    assert limelight.ActorRegistry.get_all() == []


def test_a_gevent_measurement_s_error_is_raised_in_the_caller() -> None:
    def broken(_n: int) -> float:
        raise ValueError("broken measurement")

    with pytest.raises(ValueError, match="broken measurement"):
        gw.in_hub(broken, 5)


def test_gevent_rss_per_actor_is_a_plausible_size() -> None:
    assert isinstance(gw.rss_raw(5), float)
    kib = fresh.sample(f"{gw.__name__}:rss_limelight", 2000)
    assert 0 < kib < 64


@pytest.mark.parametrize(
    "measure",
    [
        ew.ask_in_hub,
        ew.proxy_in_hub,
        ew.tell_in_hub,
        ew.spawn_stop_in_hub,
        raw_eventlet.ask_round_trip,
        raw_eventlet.call_round_trip,
        raw_eventlet.tell_throughput,
        raw_eventlet.spawn_stop,
    ],
)
def test_eventlet_measurements_run_in_a_hub_of_their_own_and_clean_up(
    measure: Callable[[int], float],
) -> None:
    assert ew.in_hub(measure, 5) > 0
    assert limelight.ActorRegistry.get_all() == []


def test_an_eventlet_measurement_s_error_is_raised_in_the_caller() -> None:
    def broken(_n: int) -> float:
        raise ValueError("broken measurement")

    with pytest.raises(ValueError, match="broken measurement"):
        ew.in_hub(broken, 5)


def test_eventlet_rss_per_actor_is_a_plausible_size() -> None:
    assert isinstance(ew.rss_raw(5), float)
    kib = fresh.sample(f"{ew.__name__}:rss_limelight", 2000)
    assert 0 < kib < 64


@pytest.mark.parametrize(
    "measure",
    [
        aw.ask_in_loop,
        aw.proxy_in_loop,
        aw.tell_in_loop,
        aw.spawn_stop_in_loop,
        aw.start_live,
    ],
)
def test_asyncio_measurements_time_a_batch_and_stop_their_actors(
    measure: Callable[[int], Any],
) -> None:
    assert aw.ASYNCIO_LOOP.run(measure)(5) > 0
    assert limelight.ActorRegistry.get_all() == []


def test_asyncio_measurements_run_in_the_loop() -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    def new_loop() -> asyncio.AbstractEventLoop:
        seen.append(asyncio.new_event_loop())
        return seen[-1]

    async def where_the_actor_lives(_n: int) -> float:
        ref = aw.AsyncEcho.start()
        inbox: Any = ref.actor_inbox
        assert inbox.loop is asyncio.get_running_loop()
        assert await ref.ask("ping", block=False) == "ping"
        assert await ref.proxy().call(3) == 3
        await ref.stop(block=False)
        return 1.0

    assert aw.Loop("mine", new_loop).run(where_the_actor_lives)(1) == 1.0
    assert len(seen) == 1
    assert seen[0].is_closed()


def test_live_actors_are_stopped_even_if_interrupted() -> None:
    async def interrupted() -> None:
        async with aw._live_actors(4):
            assert len(limelight.ActorRegistry.get_all()) == 4
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        raw_asyncio.run(asyncio.new_event_loop, interrupted())
    assert limelight.ActorRegistry.get_all() == []


def test_thread_ask_uses_the_background_loop_which_may_linger() -> None:
    assert aw.thread_ask(5) > 0
    assert limelight.ActorRegistry.get_all() == []
    background = [
        t for t in threading.enumerate() if t.name == aw.BACKGROUND_THREAD_NAME
    ]
    assert len(background) == 1
    for workload in aw.workloads():
        assert workload.may_linger(background[0])
        assert not workload.may_linger(threading.current_thread())
        assert workload.check() == []


def test_asyncio_pykka_columns_are_pykka_thread_actors(pykka_here: bool) -> None:
    if not pykka_here:
        pytest.skip("the real Pykka is not installed")
    import pykka  # noqa: PLC0415

    by_name = {w.name: w for w in aw.workloads()}
    assert by_name["thread_ask"].implementations[PYKKA](3) > 0
    assert pykka.ActorRegistry.get_all() == []


def test_asyncio_rss_per_actor_is_a_plausible_size() -> None:
    assert isinstance(aw.rss_limelight(5), float)  # (in-process: for coverage)
    assert limelight.ActorRegistry.get_all() == []
    # In a fresh process, as the benchmark measures it: an actor on a loop
    # costs no thread stack and no task; far under a thread actor's size.
    kib = fresh.sample(f"{aw.__name__}:rss_limelight", 2000)
    assert 0.1 < kib < 16


# -- Raw primitives ------------------------------------------------------------


@pytest.mark.parametrize(
    "measure",
    [
        raw.ask_round_trip,
        raw.ask_with_future_round_trip,
        raw.call_round_trip,
        raw.nested_call_round_trip,
        raw.tell_throughput,
        raw.pipelined_asks,
        raw.spawn_stop,
        raw.stop_all,
    ],
)
def test_raw_measurements_time_a_batch_and_end_their_threads(
    measure: Callable[[int], float],
) -> None:
    before = own_threads()
    assert measure(5) > 0
    assert own_threads() == before


def test_raw_rss_per_thread_is_a_plausible_size() -> None:
    before = own_threads()
    assert 1 < raw.rss_per_thread(200) < 1024
    assert own_threads() == before


def test_raw_waiting_threads_are_stopped_even_if_interrupted() -> None:
    before = own_threads()
    with pytest.raises(RuntimeError, match="interrupted"), raw._waiting_threads(4):
        raise RuntimeError("interrupted")
    assert own_threads() == before


# -- Raw asyncio primitives ----------------------------------------------------


@pytest.mark.parametrize(
    "measure",
    [
        raw_asyncio.ask_round_trip,
        raw_asyncio.call_round_trip,
        raw_asyncio.tell_throughput,
        raw_asyncio.spawn_stop,
        raw_asyncio.start_live,
    ],
)
def test_raw_asyncio_measurements_time_a_batch_and_end_their_tasks(
    measure: Callable[[int], Any],
) -> None:
    async def measured() -> float:
        seconds: float = await measure(5)
        others = asyncio.all_tasks() - {asyncio.current_task()}
        assert others == set()
        return seconds

    assert raw_asyncio.run(asyncio.new_event_loop, measured()) > 0


def test_raw_thread_to_loop_round_trip_answers_from_a_loop_thread_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads_before = set(threading.enumerate())
    seen: list[tuple[str, bool]] = []
    real_reply = raw_asyncio._reply

    async def reply_and_note(inbox: Any) -> None:
        # (Runs as the loop's one task: the asks are answered on that loop.)
        seen.append(
            (threading.current_thread().name, asyncio.get_running_loop().is_running())
        )
        await real_reply(inbox)

    monkeypatch.setattr(raw_asyncio, "_reply", reply_and_note)
    assert raw_asyncio.thread_ask_round_trip(5) > 0
    assert seen == [("raw-loop", True)]
    assert set(threading.enumerate()) == threads_before


def test_raw_asyncio_run_closes_its_loop_even_on_error() -> None:
    made: list[asyncio.AbstractEventLoop] = []

    def new_loop() -> asyncio.AbstractEventLoop:
        made.append(asyncio.new_event_loop())
        return made[-1]

    async def broken() -> None:
        raise RuntimeError("broken")

    with pytest.raises(RuntimeError, match="broken"):
        raw_asyncio.run(new_loop, broken())
    assert made[0].is_closed()


def test_raw_asyncio_workers_are_stopped_even_if_interrupted() -> None:
    tasks: set[asyncio.Task[Any]] = set()

    async def interrupted() -> None:
        async with raw_asyncio._live_workers(4):
            tasks.update(asyncio.all_tasks() - {asyncio.current_task()})
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        raw_asyncio.run(asyncio.new_event_loop, interrupted())
    assert len(tasks) == 4
    assert all(task.done() for task in tasks)


def test_raw_asyncio_rss_per_task_is_a_plausible_size() -> None:
    assert isinstance(raw_asyncio.rss_per_task(5), float)
    kib = fresh.sample(f"{raw_asyncio.__name__}:rss_per_task", 2000)
    assert 0.1 < kib < 64


# -- Memory and fresh processes ------------------------------------------------


def test_resident_bytes_reads_proc_or_falls_back_to_the_peak(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    current = harness.resident_bytes()
    assert current > 1024 * 1024
    monkeypatch.setattr(harness, "_STATM", tmp_path / "absent")
    peak = harness.resident_bytes()
    assert peak >= current // 2  # the peak, in bytes as well


def test_fresh_sample_runs_the_function_in_a_new_process() -> None:
    assert fresh.sample("math:sqrt", 16) == 4.0
    # The child has its own memory: a new interpreter's, not this one's.
    child_kib = fresh.sample("limelight._bench.raw:rss_per_thread", 50)
    assert 1 < child_kib < 1024


def test_fresh_sample_reports_the_childs_error() -> None:
    with pytest.raises(RuntimeError, match=r"math:nope\(1\) failed.*AttributeError"):
        fresh.sample("math:nope", 1)


def test_fresh_sample_reports_a_silent_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(RuntimeError, match="exit status 1"):
        fresh.sample("math:sqrt", 1)


def test_fresh_sample_stops_a_stuck_child_and_says_where_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fresh, "TIMEOUT", 2.0)
    with pytest.raises(RuntimeError) as raised:
        fresh.sample("time:sleep", 600)  # stuck, as far as anyone can tell
    message = str(raised.value)
    assert message.startswith(
        "time:sleep(600) had not finished after 2 s in a fresh process; "
        "where its threads were:\n"
    )
    # faulthandler's dump: the child was in main(), calling the function.
    assert "Timeout (0:00:02)!" in message
    assert "in main" in message


def test_fresh_sample_ends_what_a_child_left_holding_its_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fresh, "TIMEOUT", 1.0)
    monkeypatch.setattr(fresh, "_GRACE", 1.0)
    with pytest.raises(RuntimeError) as raised:
        fresh.sample(f"{bench_targets.__name__}:leave_a_process_behind", 600)
    assert str(raised.value) == (
        "tests.bench_targets:leave_a_process_behind(600): a process started by "
        "the fresh process still held its output open after 2 s"
    )


def test_fresh_main_prints_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    fresh.main(["math:factorial", "5"])
    assert capsys.readouterr().out == "120.0\n"


# -- Finding Pykka -------------------------------------------------------------


def test_pykka_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pykka", None)
    found = competitors.detect_pykka()
    assert not found.available
    assert found.version is None
    assert "Pykka is not installed" in found.note
    assert "limelight[bench]" in found.note


def test_pykka_aliased_to_limelight_is_not_pykka(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pykka", limelight)
    found = competitors.detect_pykka()
    assert not found.available
    assert "limelight.as_pykka" in found.note


def test_pykka_version_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pykka", types.ModuleType("pykka"))
    versions = {"pykka": "4.5.0"}
    monkeypatch.setattr(importlib.metadata, "version", versions.__getitem__)
    assert competitors.detect_pykka() == competitors.Availability("4.5.0", "")
    versions["pykka"] = "3.1.1"
    found = competitors.detect_pykka()
    assert found.available
    assert found.version == "3.1.1"
    assert "Pykka 3.1.1 found" in found.note


def test_pykka_without_metadata_has_an_unknown_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pykka", types.ModuleType("pykka"))

    def no_metadata(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", no_metadata)
    found = competitors.detect_pykka()
    assert found.version == "unknown"
    assert found.available


# -- Output --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234567.8, "1.23M"),
        (999_999.0, "1.00M"),
        (84_742.0, "84.7k"),
        (173_845.0, "174k"),
        (10_000.0, "10.0k"),
        (-25_000.0, "-25.0k"),
        (3.2e9, "3.20G"),
        (-2500.0, "-2,500"),
        (123.4, "123"),
        (27.25, "27.2"),
        (2.718, "2.72"),
        (0.031234, "0.0312"),
        (0.0, "0"),
        (math.inf, "inf"),
    ],
)
def test_format_figure(value: float, text: str) -> None:
    assert report.format_figure(value) == text


@pytest.mark.parametrize(
    ("spread", "text"),
    [(None, ""), (0.004, "±<1%"), (0.031, "±3%"), (0.5, "±50%"), (1.5, "±150%")],
)
def test_format_spread(spread: float | None, text: str) -> None:
    assert report.format_spread(spread) == text


def test_figure_quartiles_and_spread() -> None:
    figure = Figure(SUBJECT, (1.0, 2.0, 3.0, 4.0, 5.0))
    assert figure.quartiles == (2.0, 4.0)
    # Half the interquartile range, as a share of the median: 1 / 3.
    assert figure.spread == pytest.approx(1 / 3)
    assert Figure(SUBJECT, (7.0,)).quartiles == (7.0, 7.0)
    assert Figure(SUBJECT, (7.0,)).spread == 0.0
    assert Figure(SUBJECT, (0.0, 0.0)).spread is None
    assert Figure(SUBJECT, (math.inf, math.inf)).spread is None
    assert Figure(SUBJECT, (-4.0, -2.0)).spread == pytest.approx(0.5 / 3)


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        # Two groups, 5 µs and 57 µs (threads on one CPU, or on two).
        ((5.0, 5.1, 5.2, 57.0, 58.0, 59.0), True),
        ((5.0, 5.1, 5.2, 5.3, 5.4, 7.0, 7.1, 7.2), False),  # 1.3× apart: noise
        ((5.0, 5.1, 5.2, 5.3, 5.4, 5.5, 5.6, 50.0), False),  # one outlier
        ((5.0, 5.1, 5.2, 5.3, 5.4, 5.5, 50.0, 51.0), True),  # a quarter apart
        ((5.0, 50.0, 51.0), False),  # too few samples to tell
        ((0.0, 0.0, 5.0, 5.0), False),
        ((1.0, 1.0, 5.0, math.inf), False),
        ((1.0, 1.0, 2.0, 2.0), True),
    ],
)
def test_bimodal_samples(samples: tuple[float, ...], expected: bool) -> None:
    assert harness.bimodal(samples) is expected
    assert Figure(SUBJECT, samples).bimodal is expected


@pytest.mark.parametrize(
    ("ratio", "text"),
    [
        (2.7, "2.70× faster"),
        (1.0, "1.00× faster"),
        (0.5, "2.00× slower"),
        (17.34, "17.3× faster"),
        (250.0, "250× faster"),
        (None, "n/a"),
    ],
)
def test_format_speedup(ratio: float | None, text: str) -> None:
    assert report.format_speedup(ratio, ("faster", "slower")) == text


def test_format_target_marks_and_ratio() -> None:
    words = ("faster", "slower")
    pykka_goal = Target("≥2× pykka", PYKKA, 2.0)
    row_goal = Target("≤1.1× proxy call", SUBJECT, 1 / 1.1, workload="proxy")
    assert report.format_target(TargetResult(pykka_goal, 2.5), words) == "✓ ≥2× pykka"
    assert report.format_target(TargetResult(pykka_goal, 1.5), words) == "✗ ≥2× pykka"
    assert (
        report.format_target(TargetResult(pykka_goal, None), words) == "n/a ≥2× pykka"
    )
    assert (
        report.format_target(TargetResult(row_goal, 1 / 1.05), words)
        == "✓ ≤1.1× proxy call (1.05× slower)"
    )
    assert (
        report.format_target(TargetResult(row_goal, None), words)
        == "n/a ≤1.1× proxy call"
    )


VERSIONS = {SUBJECT: "0.1.0", PYKKA: "4.5.0", RAW: "Python 3.x"}
NBSP = "\u00a0"


def sample_report(*, with_pykka: bool = True) -> Report:
    ask = fake_workload(
        {SUBJECT: failing, PYKKA: failing, RAW: failing},
        name="ask",
        kind=Kind.LATENCY,
        targets=(Target("≥2× pykka", PYKKA, 2.0), Target("≤1.5× raw", RAW, 1 / 1.5)),
        raw_meaning="ping-pong",
    )
    tell = fake_workload(
        {SUBJECT: failing, PYKKA: failing, RAW: failing},
        name="tell",
        kind=Kind.THROUGHPUT,
        targets=(Target("≥5× pykka", PYKKA, 5.0),),
        raw_meaning="",
    )
    columns = [SUBJECT, PYKKA, RAW] if with_pykka else [SUBJECT, RAW]
    unavailable = {} if with_pykka else {PYKKA: "Pykka is not installed"}
    run = Report(Settings(), columns, unavailable)
    run.results.append(
        Result(
            ask,
            1000,
            {
                SUBJECT: Figure(SUBJECT, (10.0, 11.0, 12.0)),
                **({PYKKA: Figure(PYKKA, (30.0, 27.0, 33.0))} if with_pykka else {}),
                RAW: Figure(RAW, (8.0, 8.0, 8.0)),
            },
            pinned=1,
        )
    )
    run.results.append(
        Result(
            tell,
            10000,
            {
                SUBJECT: Figure(SUBJECT, (1e6,)),
                **({PYKKA: Figure(PYKKA, (1e5,))} if with_pykka else {}),
                RAW: Figure(RAW, (math.inf,)),
            },
            {},
        )
    )
    return run


def test_table_data_shows_medians_spreads_ratios_and_targets() -> None:
    data = report.table_data(sample_report(), VERSIONS, ["a note"])
    assert data.columns == [
        "workload",
        "unit",
        SUBJECT,
        PYKKA,
        RAW,
        "vs pykka",
        "vs raw",
        "target",
        "raw is",
    ]
    assert data.numeric == [False, False, True, True, True, True, True, False, False]
    assert data.ratio_columns == [5, 6]
    assert "Limelight 0.1.0 vs Pykka 4.5.0 vs raw · Python" in data.heading
    [(runtime, rows)] = data.sections
    assert runtime == "fake"
    # Medians 11 µs, 30 µs and 8 µs: 30/11 = 2.73× faster, 11/8 = 1.38× slower.
    # Quartiles 10.5 and 11.5: ±0.5 is 5% of 11. Pinned, so marked.
    assert rows[0] == [
        f"ask of 1,000{NBSP}*",
        "s",
        "11.0 ±5%",
        "30.0 ±5%",
        "8.00 ±<1%",
        "2.73× faster",
        "1.38× slower",
        "✓ ≥2× pykka; ✓ ≤1.5× raw",
        "ping-pong",
    ]
    # Throughput: 1M/s against 100k/s is 10× faster; against inf, no ratio.
    assert rows[1][2:8] == [
        "1.00M ±<1%",
        "100k ±<1%",
        "inf",
        "10.0× faster",
        "n/a",
        "✓ ≥5× pykka",
    ]
    assert data.notes[0] == "a note"
    assert "median of 1-3 samples ± half their interquartile range" in data.notes[1]
    assert data.notes[2:4] == report._LEGEND
    assert data.notes[4].startswith("* pinned: all threads ran on one CPU (1)")
    assert "--no-pin" in data.notes[4]
    assert data.notes[5] == "Default run: the main rows (--full adds the rest)."
    assert data.notes[6] == "Targets met: 3 of 3."
    assert data.warnings == []


def test_table_data_without_pykka_says_why_and_marks_targets_na() -> None:
    run = sample_report(with_pykka=False)
    run.settings = Settings(full=True, repeat=4, size=20)
    data = report.table_data(run, VERSIONS)
    assert PYKKA not in data.columns
    assert "vs pykka" not in data.columns
    assert "Full run (--full): every row, 4 samples each, size 20." in data.notes
    rows = data.sections[0][1]
    assert rows[0][-2] == "n/a ≥2× pykka; ✓ ≤1.5× raw"
    assert data.notes[0] == "Pykka is not installed"
    assert data.notes[-1] == "Targets met: 1 of 3 (2 n/a)."


def test_workload_notes_are_numbered_footnotes_of_their_rows() -> None:
    first = fake_workload({}, name="a", notes=("shared note", "a's note"))
    second = fake_workload({}, name="b", notes=("shared note",))
    third = fake_workload({}, name="c")
    run = Report(Settings(), [SUBJECT], {PYKKA: "Pykka is not installed"})
    for workload in (first, second, third):
        run.results.append(result_with(workload, {SUBJECT: 1.0}))
    data = report.table_data(run, VERSIONS, ["given"])
    assert data.notes[:4] == [
        "[1] shared note",
        "[2] a's note",
        "given",
        "Pykka is not installed",
    ]
    labels = [row[0] for row in data.sections[0][1]]
    assert labels == [
        f"a of 1,000{NBSP}[1]{NBSP}[2]",
        f"b of 1,000{NBSP}[1]",
        "c of 1,000",
    ]
    assert not any(note.startswith("* pinned") for note in data.notes)


def test_table_data_lists_errors_and_problems() -> None:
    workload = fake_workload({SUBJECT: failing, PYKKA: failing}, name="w")
    run = Report(Settings(), [SUBJECT, PYKKA], {})
    run.results.append(result_with(workload, {SUBJECT: 1.0}, {PYKKA: "ValueError: x"}))
    run.problems.append("w of 1,000: thread 'x' is still running")
    data = report.table_data(run, VERSIONS)
    assert data.sections[0][1][0][2:5] == ["1.00 ±<1%", "error", "n/a"]
    assert data.notes[-2:] == [
        "w of 1,000: pykka failed: ValueError: x",
        "Problem: w of 1,000: thread 'x' is still running",
    ]


def test_table_data_of_an_empty_run() -> None:
    data = report.table_data(Report(Settings(), [], {}), VERSIONS)
    assert data.sections == []
    assert data.notes == ["Default run: the main rows (--full adds the rest)."]


def test_table_data_warns_of_bimodal_samples_and_a_loaded_machine() -> None:
    workload = fake_workload({}, name="split")
    run = Report(Settings(), [SUBJECT, RAW], {})
    run.results.append(
        Result(
            workload,
            10,
            {
                SUBJECT: Figure(SUBJECT, (5.0, 5.0, 5.0, 50.0, 50.0, 50.0)),
                RAW: Figure(RAW, (1.0, 1.1, 1.2, 1.3)),
            },
        )
    )
    run.conditions = machine.Conditions(2, 1.5, 3.2, 0.2)
    warnings = report.table_data(run, VERSIONS).warnings
    assert warnings[0].startswith(
        "warning: split of 10 (limelight): the samples fall in two groups, "
        "1.5× or more apart"
    )
    assert warnings[1] == (
        "warning: the machine was busy as the run began (load average 1.50 on "
        "2 CPUs): figures are noisier than on a quiet machine; compare ratios, "
        "and run again to check them."
    )
    assert "busy as the run ended (load average 3.20 on 2 CPUs" in warnings[2]
    assert "the hypervisor took 20% of the CPU time (steal)" in warnings[3]
    assert len(warnings) == 4


def test_machine_conditions_warn_only_above_their_thresholds() -> None:
    # On 2 CPUs: busy from a load of 1 at the start, 2 at the end (the
    # run's own 1 taken off), and when over 5% of the time was stolen.
    assert machine.Conditions(2, 1.0, 2.0, 0.05).warnings() == []
    assert machine.Conditions(2).warnings() == []
    assert len(machine.Conditions(2, 1.01, 2.01, 0.051).warnings()) == 3


def test_records_have_the_fields_and_the_ratios() -> None:
    records = report.records(sample_report(), VERSIONS)
    assert [(r["name"], r["implementation"]) for r in records] == [
        ("ask", SUBJECT),
        ("ask", PYKKA),
        ("ask", RAW),
        ("tell", SUBJECT),
        ("tell", PYKKA),
        ("tell", RAW),
    ]
    ours = records[0]
    assert {
        k: ours[k]
        for k in (
            "name",
            "label",
            "runtime",
            "implementation",
            "version",
            "median",
            "unit",
        )
    } == {
        "name": "ask",
        "label": "ask of 1,000",
        "runtime": "fake",
        "implementation": SUBJECT,
        "version": "0.1.0",
        "median": 11.0,
        "unit": "s",
    }
    assert ours["samples"] == [10.0, 11.0, 12.0]
    assert ours["n"] == 1000
    assert ours["higher_is_better"] is False
    assert ours["speedup_vs_pykka"] == pytest.approx(30 / 11)
    assert ours["speedup_vs_raw"] == pytest.approx(8 / 11)
    assert ours["targets"] == [
        {
            "label": "≥2× pykka",
            "against": PYKKA,
            "workload": "ask",
            "figure": None,
            "min_speedup": 2.0,
            "speedup": pytest.approx(30 / 11),
            "met": True,
        },
        {
            "label": "≤1.5× raw",
            "against": RAW,
            "workload": "ask",
            "figure": None,
            "min_speedup": pytest.approx(1 / 1.5),
            "speedup": pytest.approx(8 / 11),
            "met": True,
        },
    ]
    # Added keys: the quartiles, bimodality and pinning.
    assert (ours["q1"], ours["q3"]) == (10.5, 11.5)
    assert ours["bimodal"] is False
    assert ours["pinned"] is True
    assert records[3]["pinned"] is False
    assert "speedup_vs_pykka" not in records[1]
    assert records[2]["raw_meaning"] == "ping-pong"
    # A figure that is not finite is null: JSON has no infinity.
    assert records[5]["median"] is None
    assert records[5]["samples"] == [None]
    assert (records[5]["q1"], records[5]["q3"]) == (None, None)
    assert records[3]["speedup_vs_raw"] is None
    json.dumps(records, allow_nan=False)


def test_records_of_failed_and_unmeasured_implementations() -> None:
    workload = fake_workload({SUBJECT: failing, PYKKA: failing}, name="w")
    other = fake_workload({RAW: failing}, name="other")
    run = Report(Settings(), [SUBJECT, PYKKA, RAW], {})
    run.results.append(result_with(workload, {SUBJECT: 1.0}, {PYKKA: "ValueError: x"}))
    run.results.append(result_with(other, {RAW: 2.0}))
    records = report.records(run, VERSIONS)
    assert [(r["name"], r["implementation"]) for r in records] == [
        ("w", SUBJECT),
        ("w", PYKKA),
        ("other", RAW),
    ]
    assert records[0]["speedup_vs_pykka"] is None
    assert "speedup_vs_raw" not in records[0]  # w has no raw implementation
    assert records[1]["median"] is None
    assert records[1]["samples"] == []
    assert (records[1]["q1"], records[1]["q3"], records[1]["bimodal"]) == (
        None,
        None,
        False,
    )
    assert records[1]["error"] == "ValueError: x"


def plain(data: report.TableData, width: int) -> list[str]:
    out = io.StringIO()
    report.print_plain(data, out, width)
    return out.getvalue().splitlines()


def table_lines(lines: list[str]) -> list[str]:
    """The lines of the table itself: from the header to the blank line after."""
    start = next(i for i, line in enumerate(lines) if line.startswith("workload"))
    return lines[start : lines.index("", start)]


def test_print_plain_puts_everything_on_one_line_when_it_fits() -> None:
    lines = plain(report.table_data(sample_report(), VERSIONS), 200)
    assert lines[0].startswith("limelight bench: ")
    header, rule = lines[2], lines[3]
    assert header.split() == [
        "workload",
        "unit",
        SUBJECT,
        PYKKA,
        RAW,
        "vs",
        "pykka",
        "vs",
        "raw",
        "target",
        "raw",
        "is",
    ]
    assert set(rule) == {"-", " "}
    assert lines[4] == "[fake runtime]"
    row = lines[5]
    assert row.startswith(f"ask of 1,000{NBSP}*")
    assert "2.73× faster" in row
    assert "✓ ≥2× pykka; ✓ ≤1.5× raw" in row
    assert row.endswith("ping-pong")
    # Numbers are right-aligned under their heading.
    end = row.index("30.0 ±5%") + len("30.0 ±5%")
    assert header.index(PYKKA) + len(PYKKA) == end
    assert lines[6].startswith("tell of 10,000")
    assert "Targets met: 3 of 3." in lines


def test_print_plain_moves_targets_then_ratios_under_the_rows_to_fit() -> None:
    data = report.table_data(sample_report(), VERSIONS)
    for width in (100, 80, 60):
        assert all(len(line) <= width for line in plain(data, width))
    # 100 columns: the targets and what raw means go on a line under the row.
    lines = table_lines(plain(data, 100))
    assert "target" not in lines[0]
    assert lines[0].split()[-4:] == ["vs", "pykka", "vs", "raw"]
    assert "2.73× faster" in lines[3]
    assert lines[4] == "    ✓ ≥2× pykka, ✓ ≤1.5× raw · raw: ping-pong"
    # 60: the ratios too.
    lines = table_lines(plain(data, 60))
    assert lines[0].split() == ["workload", "unit", SUBJECT, PYKKA, RAW]
    assert lines[4] == ("    vs pykka: 2.73× faster · vs raw: 1.38× slower · ✓ ≥2×")
    assert lines[5] == "    pykka, ✓ ≤1.5× raw · raw: ping-pong"
    # A missing ratio is left out.
    assert lines[7] == "    vs pykka: 10.0× faster · ✓ ≥5× pykka"


def test_print_plain_wraps_labels_between_words_only() -> None:
    label = "a rather long label with words of 1,000 actors"
    long_label = fake_workload({}, name="long", label=label.replace("1,000", "{n:,}"))
    solo = fake_workload({}, name="solo", raw_meaning="")
    run = Report(Settings(), [SUBJECT], {})
    run.results.append(result_with(long_label, {SUBJECT: 1.0}))
    run.results.append(result_with(solo, {SUBJECT: 2.0}))
    data = report.table_data(run, VERSIONS)
    for width in (40, 30, 10):
        plan = report.layout(data, width)
        lines = table_lines(plain(data, width))
        if width >= 30:
            assert all(len(line) <= width for line in lines)
        else:
            # Too narrow for the longest word (or 12): wider than asked.
            assert plan.label_width == 12
        # The label's lines, up to the line under the row, rebuild it.
        fragments: list[str] = []
        for line in lines[3:]:
            if line.startswith("    "):
                break
            fragments.append(line[: plan.label_width].strip())
        assert " ".join(fragments) == label


def test_print_plain_wraps_notes_and_warnings() -> None:
    data = report.TableData(
        "heading",
        ["workload", "unit", SUBJECT, "target", "raw is"],
        [False, False, True, False, False],
        [],
        [
            "[12] a footnote that is long enough to wrap",
            "a plain note, long too",
            "[x] not a footnote, though",
        ],
        ["warning: something happened to this run"],
    )
    lines = plain(data, 24)
    notes = lines[lines.index("", 3) + 1 :]
    assert notes == [
        "[12] a footnote that is",
        "     long enough to wrap",
        "a plain note, long too",
        "[x] not a footnote,",
        "  though",
        "warning: something",
        "  happened to this run",
    ]


def test_print_plain_falls_back_to_ascii() -> None:
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    report.print_plain(report.table_data(sample_report(), VERSIONS), out, 200)
    out.seek(0)
    text = out.read()
    assert "2.73x faster" in text
    assert "ok >=2x pykka; ok <=1.5x raw" in text
    assert "ask of 1,000 *" in text
    assert "11.0 +-5%" in text
    assert "✓" not in text


def test_layout_for_rich_leaves_the_unit_and_raw_aside() -> None:
    data = report.table_data(sample_report(), VERSIONS)
    wide = report.layout(data, 200, gap=3, frame=1, aside=[1, 8])
    assert wide.inline == [0, 2, 3, 4, 5, 6, 7]
    assert wide.below == []
    narrow = report.layout(data, 80, gap=3, frame=1, aside=[1, 8])
    assert narrow.inline == [0, 2, 3, 4]
    assert narrow.below == [5, 6, 7]


def test_print_rich_draws_the_table() -> None:
    from rich.console import Console  # noqa: PLC0415

    out = io.StringIO()
    run = sample_report()
    run.conditions = machine.Conditions(2, 9.0)
    data = report.table_data(run, VERSIONS, ["a note"])
    report.print_rich(data, Console(file=out, width=200))
    text = out.getvalue()
    assert "fake runtime" in text
    assert "ask of 1,000" in text
    assert "s · raw: ping-pong" in text
    assert "2.73× faster" in text
    assert "✓ ≥2× pykka" in text
    assert "✓ ≤1.5× raw" in text
    assert "a note" in text
    assert "warning: the machine was busy" in text
    # Narrow: the ratios and targets go under the label, in words.
    out = io.StringIO()
    report.print_rich(data, Console(file=out, width=80))
    text = out.getvalue()
    assert "vs pykka: 2.73× faster" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_plain_progress_on_a_log_prints_a_line_per_workload() -> None:
    out = io.StringIO()
    progress = report.PlainProgress(out)
    progress.begin(4)
    progress.workload("ask")
    progress.advance()
    progress.advance()
    progress.workload("tell")
    progress.end()
    assert out.getvalue() == "[0/4] ask\n[2/4] tell\n"


def test_plain_progress_on_a_terminal_redraws_a_bar() -> None:
    out = io.StringIO()
    progress = report.PlainProgress(out, interactive=True)
    progress.begin(2)
    progress.workload("ask")
    progress.advance()
    progress.advance()
    progress.end()
    frames = out.getvalue().split("\r")
    assert frames[1].startswith("[" + "." * 30 + "] 0/2 ask")
    assert frames[2].startswith("[" + "#" * 15 + "." * 15 + "] 1/2 ask")
    assert frames[3].startswith("[" + "#" * 30 + "] 2/2 ask")
    assert frames[-1] == ""  # cleared at the end
    assert frames[-2].strip() == ""


def test_rich_progress_counts_samples() -> None:
    from rich.console import Console  # noqa: PLC0415

    out = io.StringIO()
    progress = report.RichProgress(Console(file=out, force_terminal=True, width=100))
    progress.begin(2)
    progress.workload("ask round trip")
    progress.advance()
    progress.advance()
    progress.end()
    assert "ask round trip" in out.getvalue()
    assert "2/2" in out.getvalue()
