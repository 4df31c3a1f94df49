"""Showing a benchmark run: progress bars, the table, and the JSON records.

Everything is plain text first (:class:`TableData`, :func:`records`); `rich`
only draws it, when it is installed. Without `rich`, a plain-text progress
line and table do the same job.

The table fits the width it is given (a terminal's, or 100 columns): when
the columns do not fit on one line, the targets and what raw means go on a
line under each row, then the ratios too, and long labels wrap between
words. Under the table come the footnotes, a legend, and warnings about
anything that makes the figures less trustworthy (bimodal samples, a loaded
machine).
"""

from __future__ import annotations

import math
import os
import platform
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from limelight._bench.harness import (
    BIMODAL_GAP,
    RAW,
    SUBJECT,
    Figure,
    Report,
    Result,
    TargetResult,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "PIN_MARK",
    "PLAIN_WIDTH",
    "PlainProgress",
    "RichProgress",
    "TableData",
    "format_figure",
    "format_speedup",
    "format_spread",
    "layout",
    "print_plain",
    "print_rich",
    "records",
    "table_data",
]

PLAIN_WIDTH = 100
"""The width of the table when the output is not a terminal."""

CHECK = "✓"
CROSS = "✗"
NOT_APPLICABLE = "n/a"
PIN_MARK = "*"
"""Marks the rows whose threads were pinned to one CPU."""

_NBSP = "\u00a0"
"""Joins a mark to its label: lines are not broken there."""

_GAP = 2

_FOOTNOTE = re.compile(r"\[\d+\] ")
"""The number that begins a footnote; its other lines are indented past it."""
"""Spaces between two columns of the plain table."""

_MIN_LABEL = 12
"""The narrowest the workload column gets (unless a word in it is longer)."""

_INDENT = "    "
"""Where a row's second line (targets, raw, and maybe ratios) starts."""

# How to write the table when the output cannot encode these characters.
_ASCII = str.maketrans(
    {
        "✓": "ok",
        "✗": "X",
        "×": "x",
        "µ": "u",
        "≥": ">=",
        "≤": "<=",
        "·": "-",
        "±": "+-",
        "→": "->",
        _NBSP: " ",
    }
)

_SCALES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def _three_digits(value: float) -> str:
    size = abs(value)
    if size >= 100:  # noqa: PLR2004
        return f"{value:.0f}"
    if size >= 10:  # noqa: PLR2004
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_figure(value: float) -> str:
    """Write a median with about three significant digits.

    From 1,000 to 9,999 with a thousands separator; from 10,000 on with a
    suffix: ``84.7k``, ``1.12M``.
    """
    if not math.isfinite(value):
        return str(value)
    size = abs(value)
    if size >= 10_000:  # noqa: PLR2004
        # (The largest scale the value rounds up to, so 999,999 is 1.00M.)
        scale, suffix = next((s, x) for s, x in _SCALES if size >= s * 0.9995)
        scaled = value / scale
        if abs(scaled) >= 100:  # noqa: PLR2004
            return f"{scaled:.0f}{suffix}"
        if abs(scaled) >= 10:  # noqa: PLR2004
            return f"{scaled:.1f}{suffix}"
        return f"{scaled:.2f}{suffix}"
    if size >= 1000:  # noqa: PLR2004
        return f"{value:,.0f}"
    return _three_digits(value)


def format_spread(spread: float | None) -> str:
    """Write half the interquartile range, a share of the median, as ``±3%``."""
    if spread is None:
        return ""
    percent = spread * 100
    return "±<1%" if percent < 1 else f"±{percent:.0f}%"


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
    """``workload``, ``unit``, one per implementation, ``vs`` each other one,
    ``target`` and ``raw is``."""

    numeric: list[bool]
    """Which columns hold numbers (right-aligned)."""

    sections: list[tuple[str, list[list[str]]]]
    """``(runtime, rows)``, in the order the workloads ran."""

    notes: list[str] = field(default_factory=list[str])
    """Footnotes, the legend, errors and problems: lines under the table."""

    warnings: list[str] = field(default_factory=list[str])
    """What makes this run's figures less trustworthy: lines at the very end."""

    @property
    def ratio_columns(self) -> list[int]:
        """The indexes of the ``vs ...`` columns."""
        return [i for i, c in enumerate(self.columns) if c.startswith("vs ")]


def _describe_run(report: Report, versions: Mapping[str, str]) -> str:
    names = {SUBJECT: "Limelight", "pykka": "Pykka", RAW: "raw"}
    parts = [
        f"{names.get(impl, impl)} {versions.get(impl, '')}".strip()
        if impl != RAW
        else names[RAW]
        for impl in report.implementations
    ]
    return (
        f"limelight bench: {' vs '.join(parts)} · Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs"
    )


def _describe_mode(report: Report) -> str:
    settings = report.settings
    if settings.full:
        mode = "Full run (--full): every row"
    else:
        mode = "Default run: the main rows (--full adds the rest)"
    if settings.repeat is not None:
        mode += f", {settings.repeat} samples each"
    if settings.size is not None:
        mode += f", size {settings.size:,}"
    return mode + "."


def _median_cell(result: Result, implementation: str) -> str:
    if implementation in result.errors:
        return "error"
    figure = result.figures.get(implementation)
    if figure is None:
        return ""
    spread = format_spread(figure.spread)
    return f"{format_figure(figure.median)} {spread}".rstrip()


_LEGEND = [
    "vs X: how Limelight's median compares with X's, in this run "
    "(2.00× faster: half the time, or twice the rate).",
    "target: Limelight's goal for the row; ✓ met, ✗ missed, n/a cannot be "
    "told (a figure is missing). ≥2× pykka: at least 2× faster than Pykka; "
    "≤1.5× raw: at most 1.5× the raw primitive's cost; ≥1M msg/s, ≤2 KiB: "
    "a set figure; ≤1.1× proxy call: against another row of this run "
    "(the ratio in brackets).",
]


def _footnotes(
    report: Report, rows: list[list[str]]
) -> tuple[list[str], dict[str, int]]:
    """Number the workloads' notes, mark their rows, and write the footnotes."""
    numbers: dict[str, int] = {}
    for result, row in zip(report.results, rows, strict=True):
        for note in result.workload.notes:
            number = numbers.setdefault(note, len(numbers) + 1)
            row[0] += f"{_NBSP}[{number}]"
    return [f"[{n}] {note}" for note, n in numbers.items()], numbers


def _warnings(report: Report) -> list[str]:
    found: list[str] = []
    for result in report.results:
        split = [impl for impl, figure in result.figures.items() if figure.bimodal]
        if split:
            found.append(
                f"warning: {result.title} ({', '.join(split)}): the samples fall "
                f"in two groups, {BIMODAL_GAP:g}× or more apart, so the median "
                "depends on which group was larger this time."
            )
    if report.conditions is not None:
        found += [
            f"warning: {problem}: figures are noisier than on a quiet machine; "
            "compare ratios, and run again to check them."
            for problem in report.conditions.warnings()
        ]
    return found


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
    rows: list[list[str]] = []
    met = failed = unknown = 0
    for result in report.results:
        workload = result.workload
        targets = report.targets(result)
        met += sum(t.met is True for t in targets)
        failed += sum(t.met is False for t in targets)
        unknown += sum(t.met is None for t in targets)
        words = workload.kind.words
        label = result.title + (_NBSP + PIN_MARK if result.pinned is not None else "")
        row = [label, workload.unit]
        row += [_median_cell(result, impl) for impl in report.implementations]
        row += [format_speedup(result.speedup(impl), words) for impl in others]
        row += [
            "; ".join(format_target(t, words) for t in targets),
            workload.raw_meaning,
        ]
        rows.append(row)
    footnotes, _numbers = _footnotes(report, rows)
    sections: list[tuple[str, list[list[str]]]] = []
    for result, row in zip(report.results, rows, strict=True):
        if not sections or sections[-1][0] != result.workload.runtime:
            sections.append((result.workload.runtime, []))
        sections[-1][1].append(row)
    all_notes = footnotes + list(notes)
    all_notes += [note for note in report.unavailable.values() if note]
    samples = sorted(
        {len(f.samples) for r in report.results for f in r.figures.values()}
    )
    if samples:
        counts = str(samples[0]) if len(samples) == 1 else f"{samples[0]}-{samples[-1]}"
        all_notes.append(
            f"Each figure: the median of {counts} samples ± half their "
            "interquartile range (as a share of the median), taken interleaved "
            "(one sample of each implementation in turn)."
        )
        all_notes += _LEGEND
    cpus = sorted({r.pinned for r in report.results if r.pinned is not None})
    if cpus:
        where = ", ".join(str(cpu) for cpu in cpus)
        all_notes.append(
            f"{PIN_MARK} pinned: all threads ran on one CPU ({where}) while "
            "the row was measured, so that thread hand-overs cost the same "
            "in every sample (--no-pin to let them roam)."
        )
    all_notes.append(_describe_mode(report))
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
        _describe_run(report, versions),
        columns,
        numeric,
        sections,
        all_notes,
        _warnings(report),
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _quartile(figure: Figure | None, which: int) -> float | None:
    return None if figure is None else _finite(figure.quartiles[which])


def records(report: Report, versions: Mapping[str, str]) -> list[dict[str, Any]]:
    """One JSON-ready record per figure (workload × implementation).

    Every record has ``name``, ``label``, ``runtime``, ``implementation``,
    ``version``, ``median``, ``unit``, ``higher_is_better``, ``n`` (operations
    or actors per sample) and ``samples``; a failed implementation has a
    ``null`` median and an ``error``. Limelight's records also have
    ``speedup_vs_<implementation>`` (above 1: Limelight did better) and
    ``targets``; raw's have ``raw_meaning``. Added since: ``q1`` and ``q3``
    (the quartiles), ``bimodal`` (see `harness.bimodal`) and ``pinned``
    (whether the threads ran on one CPU).
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
                "q1": _quartile(figure, 0),
                "q3": _quartile(figure, 1),
                "bimodal": figure is not None and figure.bimodal,
                "pinned": result.pinned is not None,
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


def _wrap(text: str, width: int, indent: str = "", hang: str = "") -> list[str]:
    """`text` in lines of at most `width`, broken between words only."""
    return textwrap.wrap(
        text,
        max(width, 1),
        initial_indent=indent,
        subsequent_indent=hang or indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


@dataclass(frozen=True)
class Layout:
    """Which columns stay on a row's line; the others go on a line under it."""

    inline: list[int]
    """The columns on the row's line, in order."""

    below: list[int]
    """The columns on the line under it (targets, raw, maybe the ratios)."""

    label_width: int
    """The width of the workload column; longer labels wrap between words."""


def layout(
    data: TableData,
    width: int,
    *,
    gap: int = _GAP,
    frame: int = 0,
    aside: Sequence[int] = (),
) -> Layout:
    """The widest arrangement of `data` that fits `width` columns.

    All columns on one line; else the targets and what raw means on a line
    under each row; else the ratios there too. The workload column wraps
    its labels between words to fit, down to the longest word (or
    :data:`_MIN_LABEL`): narrower than that, the table is wider than `width`.

    Args:
        data: the table.
        width: the columns available.
        gap: the columns each column takes besides its content (spacing,
            borders).
        frame: the columns the table takes besides its columns (borders).
        aside: columns never on the row's line, which the caller shows
            elsewhere (rich puts the unit under the label).
    """
    rows = [row for _runtime, section in data.sections for row in section]
    widths = [len(c) for c in data.columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    # (Split as textwrap does: not at the marks' no-break spaces.)
    words = [len(word) for row in rows for word in row[0].split(" ")]
    narrowest = min(max([_MIN_LABEL, *words]), widths[0])
    target = len(data.columns) - 2
    ratios = data.ratio_columns
    tail = [target, target + 1]
    candidates: list[tuple[list[int], list[int]]] = [
        (list(range(len(data.columns))), []),
        (list(range(target)), tail),
        ([i for i in range(target) if i not in ratios], [*ratios, *tail]),
    ]
    plans = [
        Layout(
            [i for i in inline if i not in aside],
            [i for i in below if i not in aside],
            0,
        )
        for inline, below in candidates
    ]
    for plan in plans:
        rest = sum(widths[i] + gap for i in plan.inline[1:]) + frame
        label = min(widths[0], width - rest - gap)
        # Only a row with a line under it may wrap its label: wrapped
        # labels beside wrapped targets would be hard to read.
        if label >= narrowest and (plan.below or label == widths[0]):
            return Layout(plan.inline, plan.below, label)
    return Layout(plans[-1].inline, plans[-1].below, narrowest)


def _below_text(data: TableData, row: list[str], below: list[int]) -> str:
    """The line under a row: the columns that did not fit, each said in words."""
    parts: list[str] = []
    for i in below:
        cell = row[i]
        if not cell or cell == NOT_APPLICABLE:
            continue
        if data.columns[i] == "target":
            parts.append(cell.replace("; ", ", "))
        elif data.columns[i] == "raw is":
            parts.append(f"raw: {cell}")
        else:
            parts.append(f"{data.columns[i]}: {cell}")
    return " · ".join(parts)


def _plain_lines(data: TableData, width: int) -> list[str]:
    plan = layout(data, width)
    rows = [row for _runtime, section in data.sections for row in section]
    widths = {i: len(data.columns[i]) for i in plan.inline}
    for row in rows:
        for i in plan.inline:
            widths[i] = max(widths[i], len(row[i]))
    widths[0] = plan.label_width

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(widths[i]) if data.numeric[i] else cell.ljust(widths[i])
            for cell, i in zip(cells, plan.inline, strict=True)
        ]
        return (" " * _GAP).join(padded).rstrip()

    lines = [*_wrap(data.heading, width), ""]
    lines.append(line([data.columns[i] for i in plan.inline]))
    lines.append((" " * _GAP).join("-" * widths[i] for i in plan.inline))
    for runtime, section in data.sections:
        lines.append(f"[{runtime} runtime]")
        for row in section:
            label, *more = _wrap(row[0], plan.label_width)
            lines.append(line([label, *(row[i] for i in plan.inline[1:])]))
            lines += [line([part] + [""] * (len(plan.inline) - 1)) for part in more]
            below = _below_text(data, row, plan.below)
            if below:
                lines += _wrap(below, width, _INDENT)
    lines.append("")
    for note in data.notes:
        footnote = _FOOTNOTE.match(note)
        hang = " " * (footnote.end() if footnote else 2)
        lines += _wrap(note, width, hang=hang)
    for warning in data.warnings:
        lines += _wrap(warning, width, hang="  ")
    return lines


def print_plain(data: TableData, stream: TextIO, width: int = PLAIN_WIDTH) -> None:
    """Write the table as plain text, `width` columns wide at most if it can.

    ASCII only if `stream` cannot encode more.
    """
    text = "\n".join(_plain_lines(data, width)) + "\n"
    if not _encodable(stream, text):
        text = text.translate(_ASCII)
    stream.write(text)
    stream.flush()


def print_rich(data: TableData, console: Console) -> None:
    """Draw the table with `rich`, to the console's width.

    The unit and what raw means go on a second, dim line of the workload
    cell, and so do the targets and the ratios when there is no room for
    their columns.
    """
    from rich.table import Table  # noqa: PLC0415 -- optional dependency
    from rich.text import Text  # noqa: PLC0415

    unit, target, raw = 1, len(data.columns) - 2, len(data.columns) - 1
    # A cell is padded by a space each side and a column adds a border; the
    # unit and what raw means are on the label's dim line instead.
    plan = layout(data, console.width, gap=3, frame=1, aside=[unit, raw])
    shown = plan.inline
    table = Table(title=data.heading, title_justify="left")
    for i in shown:
        numeric = data.numeric[i]
        table.add_column(
            data.columns[i],
            justify="right" if numeric else "left",
            no_wrap=numeric,
            min_width=plan.label_width if i == 0 else None,
        )
    for runtime, rows in data.sections:
        table.add_row(Text(f"{runtime} runtime", style="bold"))
        for row in rows:
            cells: list[Text] = []
            for i in shown:
                cell = Text(row[i].replace("; ", "\n") if i == target else row[i])
                if i == 0:
                    details = row[unit]
                    if row[raw]:
                        details += f" · raw: {row[raw]}"
                    more = _below_text(data, row, plan.below)
                    if more:
                        details += f"\n{more}"
                    cell.append("\n" + details, style="dim")
                cell.highlight_words([CHECK], style="green")
                cell.highlight_words([CROSS], style="bold red")
                cells.append(cell)
            table.add_row(*cells)
        table.add_section()
    console.print(table)
    for note in data.notes:
        console.print(Text(note))
    for warning in data.warnings:
        console.print(Text(warning, style="bold yellow"))


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
