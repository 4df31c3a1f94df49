"""Showing a benchmark run: progress bars, the table, and the JSON records.

Everything is plain text first (:class:`TableData`, :func:`records`); `rich`
only draws it, when it is installed. Without `rich`, a plain-text progress
line and table do the same job.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from limelight._bench.harness import RAW, SUBJECT, Report, Result, TargetResult

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "PlainProgress",
    "RichProgress",
    "TableData",
    "format_figure",
    "format_speedup",
    "print_plain",
    "print_rich",
    "records",
    "table_data",
]

CHECK = "✓"
CROSS = "✗"
NOT_APPLICABLE = "n/a"

# How to write the table when the output cannot encode these characters.
_ASCII = str.maketrans(
    {"✓": "ok", "✗": "X", "×": "x", "µ": "u", "≥": ">=", "≤": "<=", "·": "-"}
)


def format_figure(value: float) -> str:
    """Write a median with about three significant digits (thousands separated)."""
    if not math.isfinite(value):
        return str(value)
    size = abs(value)
    if size >= 1000:  # noqa: PLR2004
        return f"{value:,.0f}"
    if size >= 100:  # noqa: PLR2004
        return f"{value:.0f}"
    if size >= 10:  # noqa: PLR2004
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_speedup(ratio: float | None, words: tuple[str, str]) -> str:
    """Write a speedup as ``"2.70× faster"`` or ``"1.40× slower"`` (`words`)."""
    if ratio is None:
        return NOT_APPLICABLE
    better, worse = words
    times, word = (ratio, better) if ratio >= 1 else (1 / ratio, worse)
    if times >= 100:  # noqa: PLR2004
        number = f"{times:.0f}"
    elif times >= 10:  # noqa: PLR2004
        number = f"{times:.1f}"
    else:
        number = f"{times:.2f}"
    return f"{number}× {word}"


def format_target(result: TargetResult, words: tuple[str, str]) -> str:
    """Write a target as ``"✓ ≥2× pykka"`` (with the ratio, if against another row)."""
    met = result.met
    mark = NOT_APPLICABLE if met is None else CHECK if met else CROSS
    text = f"{mark} {result.target.label}"
    if result.target.workload is not None and result.speedup is not None:
        text += f" ({format_speedup(result.speedup, words)})"
    return text


@dataclass
class TableData:
    """The benchmark table as text: a heading, rows grouped by runtime, and notes."""

    heading: str
    columns: list[str]
    numeric: list[bool]
    """Which columns hold numbers (right-aligned)."""

    sections: list[tuple[str, list[list[str]]]]
    """``(runtime, rows)``, in the order the workloads ran."""

    notes: list[str] = field(default_factory=list[str])


def _describe_run(report: Report, versions: Mapping[str, str]) -> str:
    names = {SUBJECT: "Limelight", "pykka": "Pykka", RAW: "raw primitives"}
    parts = [
        f"{names.get(impl, impl)} {versions.get(impl, '')}".strip()
        if impl != RAW
        else names[RAW]
        for impl in report.implementations
    ]
    settings = report.settings
    mode = "quick run" if settings.quick else "full run"
    if settings.repeat is not None:
        mode += f", {settings.repeat} samples each"
    if settings.size is not None:
        mode += f", size {settings.size:,}"
    return (
        f"limelight bench: {' vs '.join(parts)} · Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs · {mode}"
    )


def _median_cell(result: Result, implementation: str) -> str:
    if implementation in result.errors:
        return "error"
    median = result.median(implementation)
    return "" if median is None else format_figure(median)


def table_data(
    report: Report, versions: Mapping[str, str], notes: Sequence[str] = ()
) -> TableData:
    """Lay out `report` as a table: medians, ratios, targets, what raw means.

    Args:
        report: the run.
        versions: each implementation's version, for the heading.
        notes: lines to show under the table, before the run's own notes.
    """
    others = [impl for impl in report.implementations if impl != SUBJECT]
    columns = ["workload", "unit", *report.implementations]
    columns += [f"vs {impl}" for impl in others]
    columns += ["target", "raw is"]
    numeric = [False, False] + [True] * (len(report.implementations) + len(others))
    numeric += [False, False]
    sections: list[tuple[str, list[list[str]]]] = []
    met = failed = unknown = 0
    for result in report.results:
        workload = result.workload
        if not sections or sections[-1][0] != workload.runtime:
            sections.append((workload.runtime, []))
        targets = report.targets(result)
        met += sum(t.met is True for t in targets)
        failed += sum(t.met is False for t in targets)
        unknown += sum(t.met is None for t in targets)
        words = workload.kind.words
        row = [result.title, workload.unit]
        row += [_median_cell(result, impl) for impl in report.implementations]
        row += [format_speedup(result.speedup(impl), words) for impl in others]
        row += [
            "; ".join(format_target(t, words) for t in targets),
            workload.raw_meaning,
        ]
        sections[-1][1].append(row)
    all_notes = list(notes)
    all_notes += [note for note in report.unavailable.values() if note]
    for result in report.results:
        all_notes += [n for n in result.workload.notes if n not in all_notes]
    samples = sorted(
        {len(f.samples) for r in report.results for f in r.figures.values()}
    )
    if samples:
        counts = str(samples[0]) if len(samples) == 1 else f"{samples[0]}-{samples[-1]}"
        all_notes.append(
            f"Each figure is the median of {counts} samples, taken interleaved "
            "(one sample of each implementation in turn); ratios compare "
            "figures of this run."
        )
    if met + failed + unknown:
        summary = f"Targets met: {met} of {met + failed + unknown}"
        if unknown:
            summary += f" ({unknown} {NOT_APPLICABLE})"
        all_notes.append(summary + ".")
    for result in report.results:
        all_notes += [
            f"{result.title}: {impl} failed: {error}"
            for impl, error in result.errors.items()
        ]
    all_notes += [f"Problem: {problem}" for problem in report.problems]
    return TableData(
        _describe_run(report, versions), columns, numeric, sections, all_notes
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def records(report: Report, versions: Mapping[str, str]) -> list[dict[str, Any]]:
    """One JSON-ready record per figure (workload × implementation).

    Every record has ``name``, ``label``, ``runtime``, ``implementation``,
    ``version``, ``median``, ``unit``, ``higher_is_better``, ``n`` (operations
    or actors per sample) and ``samples``; a failed implementation has a
    ``null`` median and an ``error``. Limelight's records also have
    ``speedup_vs_<implementation>`` (above 1: Limelight did better) and
    ``targets``; raw's have ``raw_meaning``.
    """
    out: list[dict[str, Any]] = []
    for result in report.results:
        workload = result.workload
        for impl in report.implementations:
            if impl not in workload.implementations:
                continue
            figure = result.figures.get(impl)
            record: dict[str, Any] = {
                "name": workload.name,
                "label": result.title,
                "runtime": workload.runtime,
                "implementation": impl,
                "version": versions.get(impl),
                "median": None if figure is None else _finite(figure.median),
                "unit": workload.unit,
                "higher_is_better": workload.kind.higher_is_better,
                "n": result.n,
                "samples": []
                if figure is None
                else [_finite(s) for s in figure.samples],
            }
            if impl in result.errors:
                record["error"] = result.errors[impl]
            if impl == RAW:
                record["raw_meaning"] = workload.raw_meaning
            if impl == SUBJECT:
                for other in report.implementations:
                    if other != SUBJECT and other in workload.implementations:
                        record[f"speedup_vs_{other}"] = result.speedup(other)
                record["targets"] = [
                    {
                        "label": t.target.label,
                        "against": t.target.against or None,
                        "workload": t.target.workload or workload.name,
                        "figure": t.target.figure,
                        "min_speedup": t.target.min_speedup,
                        "speedup": t.speedup,
                        "met": t.met,
                    }
                    for t in report.targets(result)
                ]
            out.append(record)
    return out


def _encodable(stream: TextIO, text: str) -> bool:
    encoding: str | None = getattr(stream, "encoding", None)
    if encoding is None:  # a stream of str, such as io.StringIO: anything goes
        return True
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def print_plain(data: TableData, stream: TextIO) -> None:
    """Write the table as aligned plain text (ASCII if `stream` cannot encode more)."""
    widths = [len(c) for c in data.columns]
    for _runtime, rows in data.sections:
        for row in rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if numeric else cell.ljust(width)
            for cell, width, numeric in zip(cells, widths, data.numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    lines = [data.heading, "", line(data.columns), "  ".join("-" * w for w in widths)]
    for runtime, rows in data.sections:
        lines.append(f"[{runtime} runtime]")
        lines += [line(row) for row in rows]
    lines.append("")
    lines += data.notes
    text = "\n".join(lines) + "\n"
    if not _encodable(stream, text):
        text = text.translate(_ASCII)
    stream.write(text)
    stream.flush()


def print_rich(data: TableData, console: Console) -> None:
    """Draw the table with `rich`, narrower than the plain one.

    The unit and what raw means go on a second, dim line of the workload
    cell, and each target on a line of its own.
    """
    from rich.table import Table  # noqa: PLC0415 -- optional dependency
    from rich.text import Text  # noqa: PLC0415

    unit_column = data.columns.index("unit")
    target_column = data.columns.index("target")
    raw_column = data.columns.index("raw is")
    shown = [i for i in range(len(data.columns)) if i not in {unit_column, raw_column}]
    table = Table(title=data.heading, title_justify="left")
    for i in shown:
        numeric = data.numeric[i]
        table.add_column(
            data.columns[i],
            justify="right" if numeric else "left",
            no_wrap=numeric,
            overflow="fold",
        )
    for runtime, rows in data.sections:
        table.add_row(Text(f"{runtime} runtime", style="bold"))
        for row in rows:
            cells: list[Text] = []
            for i in shown:
                if i == target_column:
                    cell = Text(row[i].replace("; ", "\n"))
                    cell.highlight_words([CHECK], style="green")
                    cell.highlight_words([CROSS], style="bold red")
                else:
                    cell = Text(row[i])
                if i == 0:
                    details = row[unit_column]
                    if row[raw_column]:
                        details += f" · raw: {row[raw_column]}"
                    cell.append("\n" + details, style="dim")
                cells.append(cell)
            table.add_row(*cells)
        table.add_section()
    console.print(table)
    for note in data.notes:
        console.print(Text(note))


class PlainProgress:
    """Progress as plain text: a redrawn bar on a terminal, else a line per workload."""

    def __init__(self, stream: TextIO, *, interactive: bool | None = None) -> None:
        self._stream = stream
        self._interactive = stream.isatty() if interactive is None else interactive
        self._total = 0
        self._done = 0
        self._title = ""
        self._width = 0

    def begin(self, total: int) -> None:
        """The run starts; it will take `total` samples."""
        self._total = total

    def workload(self, title: str) -> None:
        """A workload starts."""
        self._title = title
        if self._interactive:
            self._draw()
        else:
            self._stream.write(f"[{self._done}/{self._total}] {title}\n")
            self._stream.flush()

    def advance(self) -> None:
        """A sample was taken."""
        self._done += 1
        if self._interactive:
            self._draw()

    def end(self) -> None:
        """The run is over: clear the bar."""
        if self._interactive:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()

    def _draw(self) -> None:
        slots = 30
        filled = slots * self._done // max(self._total, 1)
        bar = "#" * filled + "." * (slots - filled)
        text = f"[{bar}] {self._done}/{self._total} {self._title}"
        self._stream.write("\r" + text.ljust(self._width))
        self._stream.flush()
        self._width = max(self._width, len(text))


class RichProgress:
    """Progress as a `rich` progress bar.

    It is redrawn after each sample, between the timed parts, instead of by
    rich's own refresh thread, which would compete with the measured threads.
    """

    def __init__(self, console: Console) -> None:
        from rich.progress import (  # noqa: PLC0415 -- optional dependency
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            auto_refresh=False,
            transient=True,
        )
        self._task = self._progress.add_task("starting", total=None)

    def begin(self, total: int) -> None:
        """The run starts; it will take `total` samples."""
        self._progress.update(self._task, total=total)
        self._progress.start()
        self._progress.refresh()

    def workload(self, title: str) -> None:
        """A workload starts."""
        self._progress.update(self._task, description=title, refresh=True)

    def advance(self) -> None:
        """A sample was taken."""
        self._progress.update(self._task, advance=1, refresh=True)

    def end(self) -> None:
        """The run is over: remove the bar."""
        self._progress.stop()
