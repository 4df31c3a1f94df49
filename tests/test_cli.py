"""The ``limelight`` command line, and its ``bench`` command."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import limelight
from limelight import _cli
from limelight._bench import command, competitors, harness
from limelight._bench import threading_workloads as tw
from limelight._bench.harness import PYKKA, RAW, SUBJECT, Kind, Target, Workload

# Small and quick: ask round trips only, 3 per sample, 2 samples each.
TINY = ["bench", "--size", "3", "--repeat", "2", "--filter", "threading/ask "]


@pytest.fixture(autouse=True, scope="module")
def forget_pykka() -> Iterator[None]:
    """Unload the real Pykka after these tests (see tests/test_bench.py)."""
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


def bench_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert _cli.main([*TINY, "--json", *args]) == 0
    records: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return records


def fake_workloads(*workloads: Workload) -> Any:
    return lambda: list(workloads)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"limelight {limelight.__version__}\n"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["--help"]) == 0
    assert "bench" in capsys.readouterr().out


def test_bench_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--quick", "--json", "--filter", "--repeat", "--size", "--plain"):
        assert option in out


def test_main_reads_sys_argv(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["limelight", "--version"])
    assert _cli.main() == 0
    assert limelight.__version__ in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["nonsense"], "invalid choice: 'nonsense'"),
        (["bench", "--repeat", "0"], "argument --repeat: must be at least 1, got 0"),
        (["bench", "--size", "many"], "argument --size: expected a whole number"),
        (["bench", "--quick", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert _cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: limelight" in err
    assert message in err


def test_a_filter_matching_nothing_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _cli.main(["bench", "-k", "nothing-like-this", "-k", "nor-this"]) == 2
    err = capsys.readouterr().err
    assert "no workload matches --filter 'nothing-like-this' or 'nor-this'" in err
    assert "--list" in err


def test_list_names_every_workload(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["bench", "--list", "--quick"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(harness.discover_workloads())
    assert (
        "threading/ask: ask round trip [µs/op]; "
        "raw: 2 threads ping-pong via SimpleQueue"
    ) in lines
    assert (
        "asyncio/ask: in-loop ask: await ref.ask() [µs/op]; "
        "raw: 2 tasks ping-pong via 2 asyncio.Queues"
    ) in lines
    # The quick sizes, in the labels that have one.
    assert any(
        line.startswith("threading/stop_all: ActorRegistry.stop_all(), 500 actors [s]")
        for line in lines
    )
    assert any(
        line.startswith("asyncio/start: start 10,000 live actors in a loop")
        for line in lines
    )


def test_list_of_a_workload_without_raw(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workload = Workload(
        name="solo",
        runtime="other",
        label="solo",
        kind=Kind.DURATION,
        unit="s",
        implementations={},
        size=1,
        quick_size=1,
    )
    monkeypatch.setattr(harness, "discover_workloads", fake_workloads(workload))
    assert _cli.main(["bench", "--list"]) == 0
    assert capsys.readouterr().out == "other/solo: solo [s]\n"


def test_json_records(capsys: pytest.CaptureFixture[str], pykka_here: bool) -> None:
    records = bench_json(capsys)
    implementations = [SUBJECT, PYKKA, RAW] if pykka_here else [SUBJECT, RAW]
    assert [r["implementation"] for r in records] == implementations
    for record in records:
        assert record["name"] == "ask"
        assert record["runtime"] == "threading"
        assert record["unit"] == "µs/op"
        assert record["median"] > 0
        assert len(record["samples"]) == 2
        assert record["n"] == 3
    ours = records[0]
    assert ours["version"] == limelight.__version__
    assert ours["speedup_vs_raw"] == pytest.approx(
        records[-1]["median"] / ours["median"]
    )
    assert [t["label"] for t in ours["targets"]] == ["≥2× pykka", "≤1.5× raw"]


def test_json_without_pykka_leaves_its_records_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pykka", None)
    assert _cli.main([*TINY, "--json"]) == 0
    captured = capsys.readouterr()
    records = json.loads(captured.out)
    assert [r["implementation"] for r in records] == [SUBJECT, RAW]
    assert "speedup_vs_pykka" not in records[0]
    pykka_goal, raw_goal = records[0]["targets"]
    assert pykka_goal["met"] is None
    assert pykka_goal["speedup"] is None
    assert raw_goal["met"] in {True, False}
    assert "note: Pykka is not installed" in captured.err
    assert "Targets met:" in captured.err


def test_plain_table_and_progress(
    capsys: pytest.CaptureFixture[str], pykka_here: bool
) -> None:
    assert _cli.main([*TINY, "--plain"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("limelight bench: Limelight ")
    assert lines[2].split()[:5] == [
        "workload",
        "unit",
        SUBJECT,
        *([PYKKA, RAW] if pykka_here else [RAW, "vs"]),
    ]
    assert lines[4] == "[threading runtime]"
    assert lines[5].startswith("ask round trip")
    assert "faster" in lines[5] or "slower" in lines[5]
    assert "2 threads ping-pong via SimpleQueue" in lines[6]  # under the row
    samples = 6 if pykka_here else 4
    assert captured.err.endswith(f"[0/{samples}] ask round trip\n")


def test_without_rich_the_output_is_plain(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert _cli.main(TINY) == 0
    captured = capsys.readouterr()
    assert "[threading runtime]" in captured.out
    assert "┃" not in captured.out
    assert "\r[" in captured.err  # the plain progress bar, redrawn


def test_with_rich_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("rich")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "160")
    assert _cli.main(TINY) == 0
    captured = capsys.readouterr()
    assert "threading runtime" in captured.out
    assert "ask round trip" in captured.out
    assert "┃" in captured.out  # rich's table
    assert "[threading runtime]" not in captured.out


def test_with_rich_off_a_terminal_the_table_is_plain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("rich")
    assert _cli.main(TINY) == 0
    assert "[threading runtime]" in capsys.readouterr().out


def broken(_n: int) -> float:
    msg = "no luck"
    raise RuntimeError(msg)


def test_a_failing_implementation_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workload = Workload(
        name="shaky",
        runtime="fake",
        label="shaky",
        kind=Kind.DURATION,
        unit="s",
        implementations={SUBJECT: lambda n: 1.0, RAW: broken},
        size=1,
        quick_size=1,
        warmup=0,
        targets=[Target("≥1× raw", RAW, 1.0)],
    )
    monkeypatch.setattr(harness, "discover_workloads", fake_workloads(workload))
    assert _cli.main(["bench", "--plain"]) == 1
    out = capsys.readouterr().out
    assert "shaky: raw failed: RuntimeError: no luck" in out
    assert "n/a ≥1× raw" in out


def test_a_leaking_workload_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workload = Workload(
        name="leaky",
        runtime="fake",
        label="leaky",
        kind=Kind.DURATION,
        unit="s",
        implementations={SUBJECT: lambda n: 1.0},
        size=1,
        quick_size=1,
        warmup=0,
        check=lambda: ["1 actor left"],
    )
    monkeypatch.setattr(harness, "discover_workloads", fake_workloads(workload))
    assert _cli.main(["bench", "--plain"]) == 1
    assert "Problem: leaky: 1 actor left" in capsys.readouterr().out


def test_interrupted_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(_n: int) -> float:
        raise KeyboardInterrupt

    workload = Workload(
        name="long",
        runtime="fake",
        label="long",
        kind=Kind.DURATION,
        unit="s",
        implementations={SUBJECT: interrupted},
        size=1,
        quick_size=1,
    )
    monkeypatch.setattr(harness, "discover_workloads", fake_workloads(workload))
    assert _cli.main(["bench", "--plain"]) == command.EXIT_INTERRUPTED
    assert "limelight bench: interrupted" in capsys.readouterr().err


def test_a_pykka_version_note_is_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    note = competitors.Availability("9.9.9", "Pykka 9.9.9 found; beware")
    monkeypatch.setattr(command, "detect_pykka", lambda: note)
    monkeypatch.setattr(
        harness,
        "discover_workloads",
        fake_workloads(
            Workload(
                name="w",
                runtime="fake",
                label="w",
                kind=Kind.DURATION,
                unit="s",
                implementations={SUBJECT: lambda n: 1.0, PYKKA: lambda n: 2.0},
                size=1,
                quick_size=1,
                warmup=0,
            )
        ),
    )
    assert _cli.main(["bench", "--plain"]) == 0
    out = capsys.readouterr().out
    assert "Pykka 9.9.9" in out.splitlines()[0]
    assert "Pykka 9.9.9 found; beware" in out
    assert "2.00× faster" in out
