"""``limelight top``: a live table of another process's actors.

The program opts in with ``limelight.observe.serve()``; this command reads
its Unix socket once per refresh and draws the table with rich (the
``limelight[top]`` extra).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import termios
import tty
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from limelight._endpoint import default_socket_path, fetch

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["DESCRIPTION", "SORT_KEYS", "configure", "render", "run", "sort_actors"]

DESCRIPTION = """\
Show the actors of a running Limelight program, live: state, mailbox depth,
messages handled and their rate, how long the current message has been
handled (a stuck actor), restarts, and whom each actor waits for.

The program must serve its snapshots first, with one call:

    import limelight.observe
    limelight.observe.serve()

Keys: m mailbox, r rate, s stuck time, h handled, n name (sort by it, descending;
again to reverse), q quit. Needs rich: pip install 'limelight[top]'."""

# Sort keys: (name, key letter, what it sorts on: bigger first).
SORT_KEYS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "mailbox": ("m", lambda actor: actor["mailbox"] or 0),
    "rate": ("r", lambda actor: actor["rate"]),
    "stuck": ("s", lambda actor: actor["handling_for"] or 0.0),
    "handled": ("h", lambda actor: actor["handled"]),
    "name": ("n", lambda actor: (actor["actor_class"], actor["urn"])),
}
_BY_LETTER = {letter: name for name, (letter, _) in SORT_KEYS.items()}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``limelight top``."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--socket", metavar="PATH", help="the endpoint's socket, as serve() made it"
    )
    where.add_argument(
        "--pid",
        type=int,
        help="the program's process id, if it serves at the default path",
    )
    parser.add_argument(
        "--sort",
        choices=sorted(SORT_KEYS),
        default="mailbox",
        help="the column to sort by at first (default: mailbox)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="seconds between refreshes (default: 1)",
    )
    parser.add_argument(
        "--once", action="store_true", help="print the table once and exit"
    )


def sort_actors(
    actors: list[dict[str, Any]], by: str, *, reverse: bool = False
) -> list[dict[str, Any]]:
    """`actors` sorted by the column `by`, biggest first unless `reverse`."""
    key = SORT_KEYS[by][1]
    return sorted(actors, key=key, reverse=not reverse)


def _short(urn: str | None) -> str:
    return "" if urn is None else urn.removeprefix("urn:uuid:")[:8]


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


def render(
    document: dict[str, Any], by: str, *, reverse: bool = False, source: str = ""
) -> Table:
    """The table of a snapshot document, sorted by `by`."""
    from rich.table import Table  # noqa: PLC0415 -- an optional dependency

    actors: list[dict[str, Any]] = document["actors"]
    names = {actor["urn"]: actor["actor_class"] for actor in actors}
    table = Table(
        title=(
            f"limelight top: pid {document['pid']}, {len(actors)} actors "
            f"(sorted by {by}{', reversed' if reverse else ''}) {source}"
        ),
        caption="m mailbox · r rate · s stuck · h handled · n name · q quit",
    )
    for header, justify in (
        ("actor", "left"),
        ("urn", "left"),
        ("runtime", "left"),
        ("state", "left"),
        ("mailbox", "right"),
        ("handled", "right"),
        ("rate/s", "right"),
        ("stuck", "right"),
        ("restarts", "right"),
        ("waits for", "left"),
        ("supervisor", "left"),
    ):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for actor in sort_actors(actors, by, reverse=reverse):
        waits = actor["waits_for"]
        table.add_row(
            actor["actor_class"]
            + (f" ({actor['child_name']})" if actor["child_name"] else ""),
            _short(actor["urn"]),
            actor["runtime"],
            actor["state"],
            "?" if actor["mailbox"] is None else str(actor["mailbox"]),
            str(actor["handled"]),
            f"{actor['rate']:.1f}",
            _seconds(actor["handling_for"]),
            str(actor["restarts"]),
            "" if waits is None else f"{names.get(waits, '?')} {_short(waits)}",
            _short(actor["supervisor"]),
        )
    return table


@contextlib.contextmanager
def _keys_mode(stream: TextIO) -> Generator[None]:
    """Read keys one at a time, unechoed, while in the block (on a terminal)."""
    fd = stream.fileno()
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _read_key(stream: TextIO, timeout: float) -> str | None:
    """A key pressed within `timeout` seconds; "" at the end of input."""
    fd = stream.fileno()
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return None
    return os.read(fd, 1).decode(errors="replace")


def _socket_path(args: argparse.Namespace) -> Path:
    if args.socket is not None:
        return Path(args.socket)
    return default_socket_path(args.pid)


def run(
    args: argparse.Namespace,
    *,
    console: Console | None = None,
    keys: TextIO | None = None,
) -> int:
    """Run ``limelight top``; return the exit status."""
    try:
        from rich.console import Console  # noqa: PLC0415 -- an optional dependency
        from rich.live import Live  # noqa: PLC0415
    except ImportError:
        print(  # noqa: T201 -- the command's output
            "limelight top needs rich: pip install 'limelight[top]'", file=sys.stderr
        )
        return 2
    if args.socket is None and args.pid is None:
        print(  # noqa: T201 -- the command's output
            "limelight top: say which program, with --pid PID or --socket PATH",
            file=sys.stderr,
        )
        return 2
    path = _socket_path(args)
    console = console or Console()
    by, reverse = args.sort, False
    try:
        document = fetch(path)
    except OSError as exc:
        console.print(
            f"limelight top: no endpoint at {path} ({exc.strerror or exc}); does "
            "the program call limelight.observe.serve()?"
        )
        return 1
    if args.once:
        console.print(render(document, by, source=str(path)))
        return 0
    stream = keys or sys.stdin
    with (
        _keys_mode(stream),
        Live(render(document, by, source=str(path)), console=console) as live,
    ):
        while True:
            key = _read_key(stream, args.interval)
            if key in {"q", "Q", ""}:
                return 0
            if key is not None and key in _BY_LETTER:
                chosen = _BY_LETTER[key]
                reverse = not reverse if chosen == by else False
                by = chosen
            try:
                document = fetch(path)
            except OSError:
                console.print(f"limelight top: {path} went away")
                return 1
            live.update(render(document, by, reverse=reverse, source=str(path)))
