"""The ``limelight bench`` command: run the workloads, show the table or JSON."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import shutil
import sys
from typing import TYPE_CHECKING

import limelight
from limelight._bench import harness, ray_workloads, report
from limelight._bench.competitors import detect_pykka
from limelight._bench.harness import PYKKA, RAW, SUBJECT, Settings

if TYPE_CHECKING:
    from limelight._bench.harness import Progress

__all__ = ["DESCRIPTION", "configure", "run"]

DESCRIPTION = """\
Measure Limelight against Pykka and against the raw primitives underneath
(plain threads and queues; asyncio tasks and queues; a pipe between
processes), one sample of each in turn, and print the medians with their
spread, their ratios and Limelight's targets. By default the main rows:
about half a minute on two cores. --full measures every row (the greenlet
runtimes, memory with up to 100,000 actors...): about five minutes. Ray's
rows run only with --ray.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"expected a whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"must be at least 1, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``limelight bench``'s options to `parser`."""
    parser.add_argument(
        "--full",
        action="store_true",
        help="measure every row, with bigger batches and more samples",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the default run (the main rows); kept for older scripts",
    )
    parser.add_argument(
        "--ray",
        action="store_true",
        help="add Ray's rows (starts a local Ray cluster; needs limelight[ray])",
    )
    pinning = parser.add_mutually_exclusive_group()
    pinning.add_argument(
        "--pin",
        action="store_true",
        default=True,
        help=(
            "the default: run all threads on one CPU (where the OS allows "
            "it) while measuring the rows whose threads hand work to each other"
        ),
    )
    pinning.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="let the threads of every row run on any CPU",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list with one record per figure instead of the table",
    )
    parser.add_argument(
        "-k",
        "--filter",
        action="append",
        default=[],
        metavar="TEXT",
        help=(
            "run only the workloads whose name, runtime or label contains TEXT "
            "(any case); repeat to run several"
        ),
    )
    parser.add_argument(
        "--repeat",
        type=_positive_int,
        metavar="N",
        help="take N samples of each implementation (default: set per workload)",
    )
    parser.add_argument(
        "--size",
        type=_positive_int,
        metavar="N",
        help="do N operations (or start N actors) per sample in every workload",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="plain-text progress and table, even if rich is installed",
    )
    parser.add_argument(
        "--width",
        type=_positive_int,
        metavar="N",
        help=(
            "fit the table in N columns (default: the terminal's width, or "
            f"{report.PLAIN_WIDTH} when the output is not a terminal)"
        ),
    )
    parser.add_argument(
        "--list", action="store_true", help="list the workloads and exit"
    )


def _rich_installed() -> bool:
    try:
        importlib.import_module("rich")
    except ImportError:
        return False
    return True


def _list(workloads: list[harness.Workload], settings: Settings) -> None:
    for workload in workloads:
        title = workload.title(settings.size_of(workload))
        line = f"{workload.runtime}/{workload.name}: {title} [{workload.unit}]"
        if workload.raw_meaning:
            line += f"; raw: {workload.raw_meaning}"
        if workload.opt_in:
            line += f" (--{workload.opt_in} only)"
        elif workload.full_only:
            line += " (--full only)"
        print(line)  # noqa: T201


def _usage_error(message: str) -> int:
    print(f"limelight bench: error: {message}", file=sys.stderr)  # noqa: T201
    return EXIT_USAGE


def _no_match(filters: list[str]) -> int:
    wanted = " or ".join(repr(f) for f in filters)
    return _usage_error(
        f"no workload matches --filter {wanted}; see `limelight bench --list`"
    )


def _width(args: argparse.Namespace) -> int:
    """The table's width: asked for, or the terminal's, or a fixed one."""
    if args.width is not None:
        return int(args.width)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((report.PLAIN_WIDTH, 24)).columns
    return report.PLAIN_WIDTH


def _competitors() -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Versions, unavailable implementations (with why) and notes for the table."""
    pykka = detect_pykka()
    versions = {
        SUBJECT: limelight.__version__,
        PYKKA: pykka.version or "",
        RAW: f"Python {platform.python_version()}",
    }
    if not pykka.available:
        print(f"note: {pykka.note}", file=sys.stderr)  # noqa: T201
        return versions, {PYKKA: pykka.note}, []
    return versions, {}, [pykka.note] if pykka.note else []


def _show(
    result: harness.Report,
    versions: dict[str, str],
    notes: list[str],
    args: argparse.Namespace,
    *,
    fancy: bool,
) -> None:
    data = report.table_data(result, versions, notes)
    if args.json:
        print(json.dumps(report.records(result, versions), indent=2))  # noqa: T201
        for note in [*data.notes, *data.warnings]:
            print(note, file=sys.stderr)  # noqa: T201
    elif fancy:
        from rich.console import Console  # noqa: PLC0415 -- optional dependency

        report.print_rich(data, Console(width=args.width))
    else:
        report.print_plain(data, sys.stdout, _width(args))


def run(args: argparse.Namespace) -> int:
    """Run ``limelight bench`` with the parsed `args`; return the exit status."""
    settings = Settings(
        full=args.full, repeat=args.repeat, size=args.size, pin=args.pin
    )
    if args.ray and not ray_workloads.installed():
        return _usage_error(
            "--ray needs Ray, which is not installed: "
            "`pip install 'limelight[ray]'` (the [bench] extra leaves it out)"
        )
    workloads = harness.discover_workloads()
    if args.list:
        _list(workloads, settings)
        return EXIT_OK
    opt_ins = [ray_workloads.RUNTIME_NAME] if args.ray else []
    chosen = harness.select(workloads, args.filter, full=args.full, opt_ins=opt_ins)
    if not chosen:
        return _no_match(args.filter)
    versions, unavailable, notes = _competitors()
    # rich draws on terminals; elsewhere (a file, a pipe, CI logs) plain text
    # reads better: no box drawing wrapped at 80 columns, a line per workload.
    use_rich = not args.plain and _rich_installed()
    progress: Progress
    if use_rich and sys.stderr.isatty():
        from rich.console import Console  # noqa: PLC0415 -- optional dependency

        progress = report.RichProgress(Console(stderr=True))
    else:
        progress = report.PlainProgress(sys.stderr)
    try:
        result = harness.run(
            chosen, settings, unavailable=unavailable, progress=progress
        )
    except KeyboardInterrupt:
        print("limelight bench: interrupted", file=sys.stderr)  # noqa: T201
        return EXIT_INTERRUPTED
    fancy = use_rich and sys.stdout.isatty()
    _show(result, versions, notes, args, fancy=fancy)
    failed = result.problems or any(r.errors for r in result.results)
    return EXIT_FAILED if failed else EXIT_OK
