"""``limelight top``: a live table of another process's actors.

The program opts in with ``limelight.observe.serve()``; this command reads
its Unix socket once per refresh and draws the table with rich (the
``limelight[top]`` extra).

The screen is worked out by pure functions of a snapshot document (the
dicts the socket gives) and a :class:`View` (what the keys chose):
:func:`filter_actors`, :func:`group_actors`, :func:`sort_actors` make the
rows, :func:`render` draws them, :func:`press` applies a key. :func:`run`
only reads keys and the socket.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import sys
import termios
import time
import tty
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from limelight._endpoint import default_socket_path, fetch, fetch_stack

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

__all__ = [
    "BACKLOG",
    "DESCRIPTION",
    "SORT_KEYS",
    "STUCK",
    "View",
    "configure",
    "filter_actors",
    "group_actors",
    "parse_keys",
    "press",
    "render",
    "row_style",
    "run",
    "sort_actors",
]

DESCRIPTION = """\
Show the actors of a running Limelight program, live: state, mailbox depth,
messages handled and their rate, how long the current message has been
handled (a stuck actor) and what it is, restarts, and whom each actor waits
for. Stuck actors (a message handled for over a second) are red, backlogged
ones (a mailbox of 100 or more, or of 10 or more and growing) yellow.

The program must serve its snapshots first, with one call:

    import limelight.observe
    limelight.observe.serve()

Keys:
  sort by a column (again to reverse; names A-Z first, numbers biggest first):
    n name  u urn  e runtime  t state  m mailbox  h handled  r rate
    s stuck  x restarts  c message  w waits for  p supervisor  # count
  up/down or k/j, PgUp/PgDn, Home/End: move through the rows
  /: type a filter (matched against class, urn, state, runtime, message,
     supervisor)
  g: group by class (and supervisor: a pool's members apart)
  Enter or T: the selected actor's stack, or a group's actors
  Esc: close the stack, or clear the filter          q: quit

Needs rich: pip install 'limelight[top]'."""

STUCK = 1.0
"""Seconds handling one message past which an actor is shown stuck (red)."""

BACKLOG = 100
"""Queued messages from which an actor is shown backlogged (yellow)."""

GROWING = 10
"""Queued messages from which a mailbox that grew since the last refresh is
shown backlogged too."""


def _text(value: Any) -> tuple[bool, str]:
    """Sort key of a text column: A to Z, missing values last."""
    return (value is None, "" if value is None else str(value))


# Sort keys: name -> (key letter, the row's sort key, numeric?). Numeric
# columns sort biggest first, text columns A to Z.
SORT_KEYS: dict[str, tuple[str, Callable[[dict[str, Any]], Any], bool]] = {
    "name": (
        "n",
        lambda row: (row["actor_class"], row.get("child_name") or "", row["urn"]),
        False,
    ),
    "urn": ("u", lambda row: _text(row["urn"]), False),
    "runtime": ("e", lambda row: _text(row["runtime"]), False),
    "state": ("t", lambda row: _text(row["state"]), False),
    "mailbox": ("m", lambda row: row["mailbox"] or 0, True),
    "handled": ("h", lambda row: row["handled"], True),
    "rate": ("r", lambda row: row["rate"], True),
    "stuck": ("s", lambda row: row["handling_for"] or 0.0, True),
    "restarts": ("x", lambda row: row["restarts"], True),
    "message": ("c", lambda row: _text(row.get("current_message")), False),
    "waits": ("w", lambda row: _text(row["waits_for"]), False),
    "supervisor": ("p", lambda row: _text(row["supervisor"]), False),
    "count": ("#", lambda row: row.get("count", 1), True),
}
_BY_LETTER = {letter: name for name, (letter, _, _) in SORT_KEYS.items()}

# Lines of the screen besides the rows: the header line, the table's four
# rules (above and below the column names, and at the bottom), the two
# lines of the key legend, and the status line.
_CHROME = 8

_LEGEND = (
    "sort: n name · u urn · e runtime · t state · m mailbox · h handled · "
    "r rate · s stuck · x restarts · c message · w waits · p supervisor · # count",
    "↑↓ j k PgUp PgDn Home End move · / filter · g group · "
    "Enter/T stack · Esc close/clear · q quit",
)


@dataclass
class View:
    """What the keys chose: the order, the filter, grouping, the rows shown."""

    by: str = "mailbox"
    """The sort column: a key of :data:`SORT_KEYS`."""
    reverse: bool = False
    """Sort the other way round."""
    filter: str = ""
    """Show only the actors whose class, urn, state, runtime or message has
    this in it (any case)."""
    grouped: bool = False
    """One row per actor class instead of one per actor."""
    top: int = 0
    """The index of the first row on the screen."""
    selected: int = 0
    """The index of the selected row (the one Enter shows the stack of)."""
    typing: bool = False
    """Keys go to the filter (after ``/``, until Enter or Esc)."""
    stack: tuple[str, str] | None = None
    """The stack on show, if any: (a title, the stack's text)."""
    status: str = ""
    """A message for the status line."""


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
        "--filter",
        default="",
        metavar="TEXT",
        help="show only actors whose class, urn, state, runtime or current "
        "message contains TEXT (any case)",
    )
    parser.add_argument(
        "--group",
        action="store_true",
        help="one row per actor class (and supervisor), with counts",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="seconds between refreshes (default: 1)",
    )
    once = parser.add_mutually_exclusive_group()
    once.add_argument(
        "--once",
        action="store_true",
        help="print the table once, at full width, and exit",
    )
    once.add_argument(
        "--json",
        action="store_true",
        help="print the snapshot document, as the socket gives it, and exit",
    )
    once.add_argument(
        "--stack",
        metavar="URN",
        help="print the stack of the actor URN (or the start of its uuid, as "
        "the table shows it) and exit",
    )


# -- Rows ---------------------------------------------------------------------


def filter_actors(actors: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The actors with `text` in a field, in any case; all of them for ``""``.

    The fields: class, child name, urn, state, runtime, current message,
    supervisor (its urn: a supervisor's or a pool's children).
    """
    wanted = text.casefold()
    if not wanted:
        return actors
    return [
        actor
        for actor in actors
        if any(
            wanted in str(actor.get(field) or "").casefold()
            for field in (
                "actor_class",
                "child_name",
                "urn",
                "state",
                "runtime",
                "current_message",
                "supervisor",
            )
        )
    ]


def _group_key(actor: dict[str, Any]) -> str:
    """What an actor is grouped by: its class, and its supervisor if it has one.

    The members of a pool (or a supervisor's children of one class) are
    a group of their own, apart from other actors of their class.
    """
    supervisor = actor.get("supervisor")
    group = f"class {actor['actor_class']}"
    return group if supervisor is None else f"{group} under {supervisor}"


def group_actors(actors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per actor class and supervisor, in the order they first appear.

    A row has the fields of an actor's, summed over the class's actors
    (mailbox, handled, rate, restarts), the worst (``handling_for``) or
    summarised (``state``: ``"2 handling, 5 running"``; ``runtime``), and
    ``count``, the number of actors.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for actor in actors:
        groups.setdefault(_group_key(actor), []).append(actor)
    rows: list[dict[str, Any]] = []
    for members in groups.values():
        states = Counter(member["state"] for member in members)
        depths = [m["mailbox"] for m in members if m["mailbox"] is not None]
        stuck = [m["handling_for"] for m in members if m["handling_for"] is not None]
        rows.append(
            {
                "actor_class": members[0]["actor_class"],
                "count": len(members),
                "urn": "",
                "runtime": ", ".join(sorted({m["runtime"] for m in members})),
                "state": ", ".join(f"{n} {s}" for s, n in sorted(states.items())),
                "mailbox": sum(depths) if depths else None,
                "handled": sum(m["handled"] for m in members),
                "rate": sum(m["rate"] for m in members),
                "handling_for": max(stuck, default=None),
                "restarts": sum(m["restarts"] for m in members),
                "waits_for": None,
                "supervisor": members[0].get("supervisor"),
                "child_name": None,
                "current_message": None,
            }
        )
    return rows


def sort_actors(
    actors: list[dict[str, Any]], by: str, *, reverse: bool = False
) -> list[dict[str, Any]]:
    """`actors` sorted by the column `by`, the other way round with `reverse`.

    Numbers biggest first, names (and other text) A to Z.
    """
    _, key, numeric = SORT_KEYS[by]
    return sorted(actors, key=key, reverse=numeric != reverse)


def rows_of(document: dict[str, Any], view: View) -> list[dict[str, Any]]:
    """The rows `view` shows of a snapshot document: filtered, grouped, sorted."""
    actors = filter_actors(document["actors"], view.filter)
    if view.grouped:
        actors = group_actors(actors)
    return sort_actors(actors, view.by, reverse=view.reverse)


def _row_id(row: dict[str, Any]) -> str:
    return row["urn"] or _group_key(row)


def mailboxes(document: dict[str, Any]) -> dict[str, int]:
    """Each actor's (by urn) and class's mailbox depth, to see which grow."""
    depths: dict[str, int] = {}
    for actor in document["actors"]:
        depth = actor["mailbox"] or 0
        depths[actor["urn"]] = depth
        key = _group_key(actor)
        depths[key] = depths.get(key, 0) + depth
    return depths


def row_style(row: dict[str, Any], previous: dict[str, int] | None = None) -> str:
    """``"red"`` for a stuck row, ``"yellow"`` for a backlogged one, else ``""``.

    Stuck: handling one message for over :data:`STUCK` seconds. Backlogged:
    a mailbox of :data:`BACKLOG` or more, or of :data:`GROWING` or more and
    deeper than in `previous` (the last refresh's :func:`mailboxes`).
    """
    if (row["handling_for"] or 0.0) > STUCK:
        return "red"
    depth = row["mailbox"] or 0
    if depth >= BACKLOG:
        return "yellow"
    before = None if previous is None else previous.get(_row_id(row))
    if depth >= GROWING and before is not None and depth > before:
        return "yellow"
    return ""


# -- Drawing ------------------------------------------------------------------


def _short(urn: str | None) -> str:
    return "" if urn is None else urn.removeprefix("urn:uuid:")[:8]


def _named(urn: str | None, names: dict[str, str]) -> str:
    """An actor as a cell: its class (``?`` if not in the snapshot) and short urn."""
    return "" if urn is None else f"{names.get(urn, '?')} {_short(urn)}"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


def _depth(value: int | None) -> str:
    return "?" if value is None else str(value)  # an inbox that cannot tell


# The table's columns: (header, justified), by row kind.
_NUMBERS = [
    ("mailbox", "right"),
    ("handled", "right"),
    ("rate/s", "right"),
    ("stuck", "right"),
    ("restarts", "right"),
]
_ACTOR_COLUMNS = [
    ("actor", "left"),
    ("urn", "left"),
    ("runtime", "left"),
    ("state", "left"),
    *_NUMBERS,
    ("message", "left"),
    ("waits for", "left"),
    ("supervisor", "left"),
]
_GROUP_COLUMNS = [
    ("class", "left"),
    ("count", "right"),
    ("runtime", "left"),
    ("states", "left"),
    *[
        ("worst stuck", "right") if name == "stuck" else (name, j)
        for name, j in _NUMBERS
    ],
    ("supervisor", "left"),
]


def _table(rows: list[dict[str, Any]], grouped: bool, names: dict[str, str]) -> Table:
    from rich.table import Table  # noqa: PLC0415 -- an optional dependency

    table = Table()
    columns = _GROUP_COLUMNS if grouped else _ACTOR_COLUMNS
    for header, justify in columns:
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in rows:
        numbers = [
            _depth(row["mailbox"]),
            str(row["handled"]),
            f"{row['rate']:.1f}",
            _seconds(row["handling_for"]),
            str(row["restarts"]),
        ]
        if grouped:
            cells = [row["actor_class"], str(row["count"]), row["runtime"]]
            cells += [row["state"], *numbers, _named(row["supervisor"], names)]
        else:
            waits = row["waits_for"]
            cells = [
                row["actor_class"]
                + (f" ({row['child_name']})" if row["child_name"] else ""),
                _short(row["urn"]),
                row["runtime"],
                row["state"],
                *numbers,
                row.get("current_message") or "",
                _named(waits, names),
                _short(row["supervisor"]),
            ]
        # (Text, not markup: a child's name or a message may hold brackets.)
        table.add_row(*map(_plain, cells), style=row.get("style", ""))
    return table


def _plain(text: str) -> Any:
    from rich.text import Text  # noqa: PLC0415 -- an optional dependency

    return Text(text)


def render(  # noqa: PLR0913 -- the screen's every input, for tests
    document: dict[str, Any],
    view: View,
    *,
    height: int | None = None,
    source: str = "",
    previous: dict[str, int] | None = None,
    legend: bool = True,
) -> RenderableType:
    """The screen for a snapshot document: a header line, the table, the stack.

    With a `height` (the terminal's), only the rows that fit are drawn,
    from ``view.top``, which this moves so that the selected row shows,
    and the key legend and status line stay at the bottom; without one,
    every row is drawn. `previous` is the last refresh's :func:`mailboxes`,
    to colour growing ones.
    """
    from rich.console import Group  # noqa: PLC0415 -- an optional dependency
    from rich.panel import Panel  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    actors: list[dict[str, Any]] = document["actors"]
    rows = rows_of(document, view)
    stack_lines: list[str] = []
    if view.stack is not None:
        stack_lines = view.stack[1].rstrip("\n").splitlines()
        # The innermost calls (at the end) in what room the rows leave.
        room = (
            len(stack_lines)
            if height is None
            else min(height // 2 - 2, height - _CHROME - 3)  # (a row at least)
        )
        stack_lines = stack_lines[-max(1, room) :]
    shown = rows
    if height is not None:
        page = max(1, height - _CHROME - (len(stack_lines) + 2 if view.stack else 0))
        _scroll(view, len(rows), page)
        shown = rows[view.top : view.top + page]
    styled: list[dict[str, Any]] = []
    for number, row in enumerate(shown, start=view.top if height else 0):
        style = row_style(row, previous)
        if height is not None and number == view.selected:
            style = f"reverse {style}".strip()
        styled.append({**row, "style": style})
    what = f"{len(actors)} actors"
    if view.filter:
        what += f", {len(filter_actors(actors, view.filter))} match {view.filter!r}"
    if view.grouped:
        what += f", {len(rows)} groups"
    order = f"sorted by {view.by}{', reversed' if view.reverse else ''}"
    place = f" · rows {view.top + 1}-{view.top + len(shown)} of {len(rows)}"
    header = (
        f"limelight top: pid {document['pid']}, {what} ({order})"
        f"{place if height is not None and shown else ''} {source}"
    )
    names = {actor["urn"]: actor["actor_class"] for actor in actors}
    parts: list[RenderableType] = [
        Text(header.rstrip(), no_wrap=True, overflow="ellipsis"),
        _table(styled, view.grouped, names),
    ]
    if view.stack is not None:
        parts.append(Panel(Text("\n".join(stack_lines)), title=Text(view.stack[0])))
    if legend:
        parts.extend(Text(line, no_wrap=True, overflow="ellipsis") for line in _LEGEND)
        status = (
            f"filter: {view.filter}▌  (Enter: keep · Esc: clear)"
            if view.typing
            else view.status
        )
        parts.append(Text(status, no_wrap=True, overflow="ellipsis"))
    return Group(*parts)


def _scroll(view: View, count: int, page: int) -> None:
    """Keep the selection among the rows, and the screen on the selection."""
    view.selected = max(0, min(view.selected, count - 1))
    view.top = min(view.top, view.selected, max(0, count - page))
    view.top = max(view.top, view.selected - page + 1, 0)


# -- Keys ---------------------------------------------------------------------

# Escape sequences of the keys that send one (xterm's, and others' for Home
# and End), by the key's name.
_SEQUENCES = {
    "\x1b[A": "up",
    "\x1b[B": "down",
    "\x1bOA": "up",
    "\x1bOB": "down",
    "\x1b[5~": "pgup",
    "\x1b[6~": "pgdn",
    "\x1b[H": "home",
    "\x1b[F": "end",
    "\x1bOH": "home",
    "\x1bOF": "end",
    "\x1b[1~": "home",
    "\x1b[4~": "end",
    "\x1b[7~": "home",
    "\x1b[8~": "end",
}
_NAMES = {"\r": "enter", "\n": "enter", "\x7f": "backspace", "\x08": "backspace"}


def parse_keys(data: str) -> list[str]:
    """The keys in what the terminal sent: characters, or names for the others.

    Names: ``"up"``, ``"down"``, ``"pgup"``, ``"pgdn"``, ``"home"``,
    ``"end"``, ``"enter"``, ``"backspace"``, ``"esc"`` (alone); an escape
    sequence of another key is left out.
    """
    keys: list[str] = []
    index = 0
    while index < len(data):
        char = data[index]
        if char != "\x1b":
            keys.append(_NAMES.get(char, char))
            index += 1
            continue
        if index + 1 == len(data) or data[index + 1] not in "[O":
            keys.append("esc")
            index += 1
            continue
        # A sequence: ESC, [ or O, parameters, then a final letter or ~.
        end = index + 2
        while end < len(data) and not (data[end].isalpha() or data[end] == "~"):
            end += 1
        sequence = data[index : end + 1]
        if sequence in _SEQUENCES:
            keys.append(_SEQUENCES[sequence])
        index = end + 1
    return keys


def _type(view: View, key: str) -> None:
    """A key typed into the filter."""
    if key == "enter":
        view.typing = False
    elif key == "esc":
        view.typing, view.filter = False, ""
    elif key == "backspace":
        view.filter = view.filter[:-1]
    elif len(key) == 1 and key.isprintable():
        view.filter += key
    view.selected = view.top = 0


def _move(view: View, key: str, count: int, page: int) -> bool:
    """Move the selection for a movement key; False for any other key."""
    moves = {"up": -1, "k": -1, "down": 1, "j": 1, "pgup": -page, "pgdn": page}
    if key in moves:
        view.selected += moves[key]
        if key in {"pgup", "pgdn"}:  # the screen too: a page of new rows
            view.top = max(0, view.top + moves[key])
    elif key == "home":
        view.selected = 0
    elif key == "end":
        view.selected = count - 1
    else:
        return False
    return True


def press(view: View, key: str, rows: list[dict[str, Any]], page: int) -> str | None:
    """Apply `key` to `view`; `rows` are the rows on show, `page` how many fit.

    Returns ``"quit"`` for q, ``"stack"`` when the selected actor's stack is
    asked for (the caller fetches it), else None.
    """
    view.status = ""
    if view.typing:
        _type(view, key)
        return None
    if key in {"q", "Q"}:
        return "quit"
    if key in {"enter", "T"}:
        return _enter(view, rows)
    if not _move(view, key, len(rows), page):
        _switch(view, key)
    view.selected = max(0, min(view.selected, len(rows) - 1))
    return None


def _switch(view: View, key: str) -> None:
    """Apply a key that changes what is shown: filter, grouping, sorting."""
    if key == "/":
        view.typing = True
    elif key == "g":
        view.grouped = not view.grouped
        view.selected = view.top = 0
    elif key == "esc":
        if view.stack is not None:
            view.stack = None
        else:
            view.filter = ""
    elif key in _BY_LETTER:
        chosen = _BY_LETTER[key]
        view.reverse = not view.reverse if chosen == view.by else False
        view.by = chosen
        view.selected = view.top = 0  # (the first rows are the ones wanted)


def _enter(view: View, rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        view.status = "no actor to show"
        return None
    view.selected = min(view.selected, len(rows) - 1)
    row = rows[view.selected]
    if view.grouped:  # into the group: its actors (and their supervisor)
        view.grouped = False
        view.filter = row["supervisor"] or row["actor_class"]
        view.selected = view.top = 0
        return None
    return "stack"


def stack_view(row: dict[str, Any], answer: dict[str, Any]) -> tuple[str, str]:
    """The stack panel's title and text, from an endpoint's answer for `row`."""
    title = f"{row['actor_class']} {_short(row['urn'])}: {answer['note']}"
    return title, answer["stack"] or f"(no stack: {answer['note']})"


# -- Running ------------------------------------------------------------------


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


def _read_keys(stream: TextIO, timeout: float) -> list[str] | None:
    """The keys pressed within `timeout` seconds ([] if none); None at the end."""
    fd = stream.fileno()
    ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
    if not ready:
        return []
    # (All that is there: an arrow key's sequence comes in one piece.)
    data = os.read(fd, 1024)
    return parse_keys(data.decode(errors="replace")) if data else None


def _socket_path(args: argparse.Namespace) -> Path:
    if args.socket is not None:
        return Path(args.socket)
    return default_socket_path(args.pid)


def _print_stack(path: Path, document: dict[str, Any], wanted: str) -> int:
    """``--stack``: print the stack of the actor whose urn starts `wanted`."""
    found = [
        actor
        for actor in document["actors"]
        if actor["urn"].startswith(wanted)
        or actor["urn"].removeprefix("urn:uuid:").startswith(wanted)
    ]
    if len(found) != 1:
        how = "no actor's" if not found else f"{len(found)} actors'"
        print(f"limelight top: {how} urn starts with {wanted}", file=sys.stderr)  # noqa: T201
        return 1
    answer = fetch_stack(path, found[0]["urn"])
    title, text = stack_view(found[0], answer)
    print(f"{title}\n{text.rstrip()}")  # noqa: T201 -- the command's output
    return 0 if answer["stack"] else 1


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
    view = View(by=args.sort, filter=args.filter, grouped=args.group)
    try:
        document = fetch(path)
        if args.json or args.stack or args.once:
            return _once(args, path, document, view, console)
    except OSError as exc:
        print(  # noqa: T201 -- the command's output
            f"limelight top: no endpoint at {path} ({exc.strerror or exc}); does "
            "the program call limelight.observe.serve()?",
            file=sys.stderr,
        )
        return 1
    live = Live(console=console or Console(), screen=True, auto_refresh=False)
    return _live(live, keys or sys.stdin, path, document, view, args.interval)


def _once(
    args: argparse.Namespace,
    path: Path,
    document: dict[str, Any],
    view: View,
    console: Console | None,
) -> int:
    """``--json``, ``--stack`` or ``--once``: print, and return the exit status."""
    from rich.console import Console  # noqa: PLC0415 -- an optional dependency

    with _reader_may_leave():
        if args.json:
            print(json.dumps(document))  # noqa: T201 -- the command's output
            return 0
        if args.stack:
            return _print_stack(path, document, args.stack)
        # To a file or a pipe: every column, uncut.
        wide = Console() if sys.stdout.isatty() else Console(width=1 << 20)
        console = console or wide
        # (Captured, then written here: rich's own answer to a reader gone
        # is to exit with status 1.)
        with console.capture() as table:
            console.print(render(document, view, source=str(path), legend=False))
        console.file.write(table.get())
        return 0


@contextlib.contextmanager
def _reader_may_leave() -> Generator[None]:
    """Stop printing, quietly, when the output's reader has gone (``| head``).

    Nothing is lost that anyone reads, so it is no error; the output goes to
    /dev/null, so that Python's flush at exit does not complain either.
    """
    try:
        yield
        sys.stdout.flush()  # (here, where a reader gone is expected)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _live(  # noqa: PLR0913, PLR0917 -- run()'s state, handed over
    live: Any,
    stream: TextIO,
    path: Path,
    document: dict[str, Any],
    view: View,
    interval: float,
) -> int:
    """The interactive screen: keys and refreshes until q, or the end of input."""
    console: Console = live.console
    source = str(path)
    previous: dict[str, int] | None = None
    with _keys_mode(stream), live:
        refresh_at = time.monotonic() + interval
        while True:
            height = console.size.height
            live.update(
                render(document, view, height=height, source=source, previous=previous),
                refresh=True,
            )
            pressed = _read_keys(stream, refresh_at - time.monotonic())
            if pressed is None:
                return 0
            rows = rows_of(document, view)
            page = max(1, height - _CHROME)
            for key in pressed:
                action = press(view, key, rows, page)
                if action == "quit":
                    return 0
                if action == "stack":
                    row = rows[view.selected]
                    try:
                        view.stack = stack_view(row, fetch_stack(path, row["urn"]))
                    except OSError as exc:
                        view.status = f"no stack: {exc}"
                rows = rows_of(document, view)
            if time.monotonic() >= refresh_at:
                previous = mailboxes(document)
                try:
                    document = fetch(path)
                except OSError:
                    live.stop()
                    console.print(f"limelight top: {path} went away")
                    return 1
                refresh_at = time.monotonic() + interval
