"""`limelight top`, in process: options, the table, keys, and errors."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pty
import re
import sys
import termios
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import limelight
import limelight.observe
from limelight import _endpoint, _top
from limelight._cli import build_parser, main
from limelight.testing import ManualActor
from tests.conformance.actors import Recorder
from tests.test_observe import Blocked


class Worker(Recorder, limelight.ThreadingActor):
    pass


def args(*argv: str) -> Any:
    return build_parser().parse_args(["top", *argv])


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, force_terminal=False), out


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[limelight.observe.Endpoint]:
    with limelight.observe.serve(tmp_path / "top.sock") as served:
        yield served


def actor(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "actor_class": "A",
        "urn": "urn:uuid:aaaaaaaa-0000",
        "runtime": "threading",
        "state": "running",
        "mailbox": 0,
        "handled": 0,
        "rate": 0.0,
        "handling_for": None,
        "age": 1.0,
        "restarts": 0,
        "waits_for": None,
        "supervisor": None,
        "child_name": None,
        "current_message": None,
    }
    return base | fields


def test_once_prints_the_table_of_the_programs_actors(
    endpoint: limelight.observe.Endpoint,
) -> None:
    Worker.start([])
    out_console, out = console()

    status = _top.run(
        args("--socket", str(endpoint.path), "--once"), console=out_console
    )

    assert status == 0
    screen = out.getvalue()
    assert "Worker" in screen
    assert f"pid {os.getpid()}" in screen


def test_the_pid_finds_the_default_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    out_console, out = console()
    with limelight.observe.serve():
        status = _top.run(
            args("--pid", str(os.getpid()), "--once"), console=out_console
        )

    assert status == 0
    assert "0 actors" in out.getvalue()


def test_the_table_shows_what_matters_for_each_actor() -> None:
    document = {
        "pid": 7,
        "actors": [
            actor(
                actor_class="Stuck",
                urn="urn:uuid:11111111-x",
                state="handling",
                handling_for=12.34,
                waits_for="urn:uuid:22222222-y",
                supervisor="urn:uuid:33333333-z",
                child_name="db",
                restarts=2,
                current_message="ask: Play[1]",
            ),
            actor(actor_class="Busy", urn="urn:uuid:22222222-y", mailbox=None),
        ],
    }
    out_console, out = console()

    out_console.print(_top.render(document, _top.View(by="stuck"), source="here"))

    lines = out.getvalue().splitlines()
    stuck = next(line for line in lines if "Stuck (db)" in line)
    assert "12.3s" in stuck
    assert "ask: Play[1]" in stuck  # (brackets as they are: not markup)
    assert "Busy 22222222" in stuck  # whom it waits for
    assert "33333333" in stuck
    busy = next(line for line in lines if line.startswith("│ Busy"))
    assert "?" in busy  # an inbox that cannot tell its depth
    assert "pid 7, 2 actors (sorted by stuck) here" in out.getvalue()
    assert "q quit" in out.getvalue()  # the key legend


# Three actors, and which comes first by each column (in its default order).
THREE = [
    actor(
        actor_class="b",
        urn="urn:uuid:2",
        runtime="gevent",
        state="running",
        rate=9.0,
        mailbox=None,
        restarts=3,
        supervisor="urn:uuid:s2",
    ),
    actor(
        actor_class="a",
        urn="urn:uuid:3",
        runtime="threading",
        state="stopping",
        mailbox=5,
        waits_for="urn:uuid:w1",
        supervisor="urn:uuid:s1",
    ),
    actor(
        actor_class="c",
        urn="urn:uuid:1",
        runtime="asyncio",
        state="handling",
        handling_for=3.0,
        handled=4,
        current_message="ask: Play",
    ),
]


@pytest.mark.parametrize(
    ("by", "first"),
    [
        ("name", "a"),
        ("urn", "c"),
        ("runtime", "c"),
        ("state", "c"),
        ("mailbox", "a"),
        ("handled", "c"),
        ("rate", "b"),
        ("stuck", "c"),
        ("restarts", "b"),
        ("message", "c"),
        ("waits", "a"),
        ("supervisor", "a"),
    ],
)
def test_names_sort_a_to_z_and_numbers_biggest_first(by: str, first: str) -> None:
    ordered = _top.sort_actors(THREE, by)

    assert ordered[0]["actor_class"] == first
    assert _top.sort_actors(THREE, by, reverse=True)[-1]["actor_class"] == first


def test_every_column_has_a_sort_key() -> None:
    letters = [letter for letter, _, _ in _top.SORT_KEYS.values()]

    assert len(set(letters)) == len(letters)
    assert set(_top.SORT_KEYS) == {*(by for by, _ in SORTS), "count"}
    assert args("--sort", "name").sort == "name"


SORTS = [
    ("name", "n"),
    ("urn", "u"),
    ("runtime", "e"),
    ("state", "t"),
    ("mailbox", "m"),
    ("handled", "h"),
    ("rate", "r"),
    ("stuck", "s"),
    ("restarts", "x"),
    ("message", "c"),
    ("waits", "w"),
    ("supervisor", "p"),
]


def test_the_filter_matches_class_urn_state_runtime_and_message() -> None:
    assert _top.filter_actors(THREE, "") == THREE
    assert _top.filter_actors(THREE, "B") == [THREE[0]]  # any case
    assert _top.filter_actors(THREE, "uuid:3") == [THREE[1]]
    assert _top.filter_actors(THREE, "stopping") == [THREE[1]]
    assert _top.filter_actors(THREE, "gevent") == [THREE[0]]
    assert _top.filter_actors(THREE, "play") == [THREE[2]]
    assert _top.filter_actors(THREE, "nothing") == []


def test_grouping_sums_each_class() -> None:
    actors = [
        actor(actor_class="W", mailbox=2, handled=1, rate=1.0, restarts=1),
        actor(
            actor_class="W",
            state="handling",
            mailbox=3,
            handled=2,
            rate=2.0,
            handling_for=4.0,
            runtime="gevent",
        ),
        actor(actor_class="W", mailbox=None, handling_for=1.0),
        actor(actor_class="V", mailbox=None),
    ]

    w, v = _top.group_actors(actors)

    assert w["actor_class"] == "W"
    assert w["count"] == 3
    assert w["mailbox"] == 5
    assert w["handled"] == 3
    assert w["rate"] == 3.0
    assert w["handling_for"] == 4.0  # the worst
    assert w["restarts"] == 1
    assert w["state"] == "1 handling, 2 running"
    assert w["runtime"] == "gevent, threading"
    assert v["mailbox"] is None  # none could tell
    assert v["handling_for"] is None
    assert _top.sort_actors([v, w], "count")[0] is w


def test_a_classs_actors_under_one_supervisor_are_a_group_of_their_own() -> None:
    pool = "urn:uuid:pool"
    actors = [
        actor(actor_class="W", urn="urn:uuid:1", supervisor=pool, mailbox=1),
        actor(actor_class="W", urn="urn:uuid:2"),
        actor(actor_class="W", urn="urn:uuid:3", supervisor=pool, mailbox=2),
        actor(actor_class="Pool", urn=pool),
    ]

    members, loose, pool_row = _top.group_actors(actors)

    assert (members["actor_class"], members["supervisor"]) == ("W", pool)
    assert (members["count"], members["mailbox"]) == (2, 3)
    assert (loose["count"], loose["supervisor"]) == (1, None)
    assert pool_row["actor_class"] == "Pool"
    assert _top.mailboxes({"actors": actors})[f"class W under {pool}"] == 3
    # Opening the members' group shows them, and the pool they are under.
    view = _top.View(grouped=True, selected=0)
    _top.press(view, "enter", [members, loose, pool_row], 10)
    assert view.filter == pool
    assert _top.filter_actors(actors, view.filter) == [actors[0], actors[2], actors[3]]
    out_console, out = console()
    out_console.print(
        _top.render({"pid": 1, "actors": actors}, _top.View(grouped=True))
    )
    row = next(line for line in out.getvalue().splitlines() if "│     2 │" in line)
    assert row.startswith("│ W ")
    assert "│ Pool pool " in row  # the supervisor: its class, its short urn


def test_the_grouped_table_has_a_row_per_class() -> None:
    document = {
        "pid": 7,
        "actors": [actor(actor_class="W")] * 3 + [actor(actor_class="V")],
    }
    out_console, out = console()

    view = _top.View(by="name", grouped=True, filter="w")
    out_console.print(_top.render(document, view))

    screen = out.getvalue()
    assert "4 actors, 3 match 'w', 1 groups (sorted by name)" in screen
    row = next(line for line in screen.splitlines() if line.startswith("│ W"))
    assert re.search(r"│ W +│ +3 │ threading │ 3 running │", row)
    assert "│ V" not in screen


def test_stuck_rows_are_red_and_backlogged_ones_yellow() -> None:
    assert _top.row_style(actor(handling_for=1.5)) == "red"
    assert _top.row_style(actor(handling_for=0.5)) == ""
    assert _top.row_style(actor(mailbox=_top.BACKLOG)) == "yellow"
    growing = actor(urn="u", mailbox=_top.GROWING)
    assert _top.row_style(growing) == ""
    assert _top.row_style(growing, {"u": _top.GROWING - 1}) == "yellow"
    assert _top.row_style(growing, {"u": _top.GROWING}) == ""
    assert _top.row_style(actor(urn="u", mailbox=1), {"u": 0}) == ""  # too few
    # A class's row: its summed mailbox, against the class's before.
    document: dict[str, Any] = {
        "pid": 1,
        "actors": [actor(actor_class="W", urn="v", mailbox=4)] * 3,
    }
    before = _top.mailboxes(document)
    assert before == {"v": 4, "class W": 12}
    (group,) = _top.group_actors(document["actors"])
    assert _top.row_style(group, {"class W": 11}) == "yellow"


def test_colours_reach_the_screen() -> None:
    out = io.StringIO()
    colour = Console(file=out, width=200, force_terminal=True, color_system="standard")
    document = {"pid": 1, "actors": [actor(actor_class="Red", handling_for=5.0)]}

    colour.print(_top.render(document, _top.View(), height=20))

    assert "\x1b[7;31m" in out.getvalue()  # red, reversed: the selected row


def many(count: int) -> dict[str, Any]:
    return {
        "pid": 1,
        "actors": [
            actor(actor_class=f"A{number:04}", urn=f"urn:uuid:{number:08}")
            for number in range(count)
        ],
    }


def screen_of(document: dict[str, Any], view: _top.View, height: int) -> list[str]:
    out_console, out = console()
    out_console.print(_top.render(document, view, height=height))
    return out.getvalue().splitlines()


def test_a_long_table_scrolls_and_keeps_its_header_and_legend() -> None:
    document = many(1000)
    view = _top.View(by="name")
    rows = _top.rows_of(document, view)

    lines = screen_of(document, view, 30)

    assert len(lines) == 30
    assert "rows 1-22 of 1000" in lines[0]
    assert "A0000" in lines[4]
    assert lines[-3].startswith("sort: n name")  # the legend
    assert lines[-2].startswith("↑↓ j k")
    _top.press(view, "end", rows, 22)
    lines = screen_of(document, view, 30)
    assert len(lines) == 30
    assert "rows 979-1000 of 1000" in lines[0]
    assert "A0999" in lines[-5]
    _top.press(view, "pgup", rows, 22)
    _top.press(view, "k", rows, 22)
    assert view.selected == 976
    lines = screen_of(document, view, 30)
    assert "rows 957-978 of 1000" in lines[0]  # a page up, and one row
    for _ in range(21):  # up to the top row, and one more
        _top.press(view, "k", rows, 22)
        lines = screen_of(document, view, 30)
    assert "rows 956-977 of 1000" in lines[0]  # the selection stays on the screen
    _top.press(view, "home", rows, 22)
    assert "rows 1-22 of 1000" in screen_of(document, view, 30)[0]


def test_a_stack_takes_the_bottom_of_the_screen() -> None:
    document = many(100)
    stack = "".join(f"call {number}\n" for number in range(12))
    view = _top.View(stack=("A0000 00000000: thread 1", stack))

    lines = screen_of(document, view, 20)

    assert len(lines) == 20
    assert "thread 1" in lines[-13]  # the panel's title
    assert "│ call 4 " in lines[-12]  # (the outermost calls left out)
    assert "│ call 11 " in lines[-5]
    assert "rows 1-2 of 100" in lines[0]
    assert len(screen_of(document, view, 12)) == 12  # a row, and a line of stack


def test_keys_move_the_selection_within_the_rows() -> None:
    rows = _top.sort_actors(many(50)["actors"], "name")
    view = _top.View()
    for key, selected in [
        ("down", 1),
        ("j", 2),
        ("up", 1),
        ("k", 0),
        ("k", 0),
        ("pgdn", 10),
        ("pgup", 0),
        ("end", 49),
        ("j", 49),
        ("home", 0),
        ("?", 0),  # not a key of top's
    ]:
        assert _top.press(view, key, rows, 10) is None
        assert view.selected == selected, key


def test_sort_keys_choose_the_column_and_reverse_it() -> None:
    view = _top.View(selected=5)
    rows = THREE

    _top.press(view, "s", rows, 10)
    assert (view.by, view.reverse, view.selected) == ("stuck", False, 0)
    _top.press(view, "s", rows, 10)
    assert (view.by, view.reverse) == ("stuck", True)
    _top.press(view, "n", rows, 10)
    assert (view.by, view.reverse) == ("name", False)
    for by, letter in SORTS:
        _top.press(view, letter, rows, 10)
        assert view.by == by


def test_typing_a_filter() -> None:
    view = _top.View(selected=2)
    rows = THREE
    for key in ["/", "A", "b", "c", "backspace", "\x01", "enter"]:
        assert _top.press(view, key, rows, 10) is None
    assert (view.filter, view.typing, view.selected) == ("Ab", False, 0)
    _top.press(view, "/", rows, 10)
    assert view.typing
    _top.press(view, "esc", rows, 10)  # while typing: clears the filter
    assert (view.filter, view.typing) == ("", False)
    view.filter = "x"
    _top.press(view, "esc", rows, 10)  # otherwise too
    assert view.filter == ""


def test_the_filter_being_typed_shows_in_the_status_line() -> None:
    view = _top.View(filter="wor", typing=True)

    lines = screen_of(many(3), view, 20)

    assert lines[-1].startswith("filter: wor▌")


def test_enter_asks_for_the_stack_or_opens_a_class() -> None:
    view = _top.View(grouped=True, selected=1)
    groups = _top.group_actors(THREE)

    assert _top.press(view, "g", groups, 10) is None
    assert not view.grouped
    _top.press(view, "g", groups, 10)
    view.selected = 1
    assert _top.press(view, "enter", groups, 10) is None
    # (Class a's one actor is under a supervisor: its group is opened by it.)
    assert (view.grouped, view.filter, view.selected) == (False, "urn:uuid:s1", 0)
    assert _top.press(view, "T", THREE, 10) == "stack"
    view = dataclasses.replace(view, stack=("title", "text"))
    _top.press(view, "esc", THREE, 10)  # closes the stack, keeps the filter
    assert (view.stack, view.filter) == (None, "urn:uuid:s1")
    unsupervised = _top.View(grouped=True, selected=2)
    _top.press(unsupervised, "enter", groups, 10)
    assert unsupervised.filter == "c"
    assert _top.press(view, "enter", [], 10) is None
    assert view.status == "no actor to show"
    assert _top.press(view, "q", THREE, 10) == "quit"
    assert view.status == ""


def test_keys_are_parsed_from_what_the_terminal_sends() -> None:
    assert _top.parse_keys("jk/\r\n\x7f\x08") == [
        "j",
        "k",
        "/",
        "enter",
        "enter",
        "backspace",
        "backspace",
    ]
    assert _top.parse_keys("\x1b[A\x1b[B\x1bOA\x1bOB") == ["up", "down", "up", "down"]
    assert _top.parse_keys("\x1b[5~\x1b[6~\x1b[H\x1b[F\x1b[1~\x1b[4~") == [
        "pgup",
        "pgdn",
        "home",
        "end",
        "home",
        "end",
    ]
    assert _top.parse_keys("\x1b") == ["esc"]
    assert _top.parse_keys("\x1bq") == ["esc", "q"]
    assert _top.parse_keys("\x1b[15~s") == ["s"]  # F5: not a key of top's
    assert _top.parse_keys("\x1b[") == []  # cut short


@pytest.fixture
def blocked() -> Iterator[limelight.ActorRef[Blocked]]:
    entered, release = threading.Event(), threading.Event()
    ref = Blocked.start(entered, release)
    ref.proxy().play()
    assert entered.wait(10)
    yield ref
    release.set()


def test_keys_sort_scroll_show_a_stack_and_quit(
    endpoint: limelight.observe.Endpoint,
    blocked: limelight.ActorRef[Blocked],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(30):
        Worker.start([])
    pressed = iter(
        [[], ["?"], ["s", "s"], ["n"], ["/", "B", "l", "enter"], ["enter"], ["q"]]
    )
    views: list[_top.View] = []
    render = _top.render

    def spy(document: dict[str, Any], view: _top.View, **kwargs: Any) -> Any:
        views.append(dataclasses.replace(view))
        return render(document, view, **kwargs)

    def read_keys(_keys: object, _timeout: float) -> list[str]:
        return next(pressed)

    monkeypatch.setattr(_top, "_read_keys", read_keys)
    monkeypatch.setattr(_top, "render", spy)
    out_console, _ = console()
    read, write = os.pipe()
    with open(read) as keys, open(write):
        status = _top.run(
            args("--socket", str(endpoint.path), "--interval", "0"),
            console=out_console,
            keys=keys,
        )

    assert status == 0
    assert [(view.by, view.reverse) for view in views[:5]] == [
        ("mailbox", False),  # at first
        ("mailbox", False),  # no key
        ("mailbox", False),  # not a key of top's
        ("stuck", True),  # the same key twice: reversed
        ("name", False),
    ]
    assert views[5].filter == "Bl"
    assert views[6].stack is not None
    title, stack = views[6].stack
    assert title.startswith(f"Blocked {blocked.actor_urn[9:17]}: thread ")
    assert "self.release.wait(TIMEOUT)" in stack


def test_a_stack_that_cannot_be_fetched_is_said_so(
    endpoint: limelight.observe.Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    Worker.start([])
    pressed = iter([["enter"], ["q"]])
    views: list[_top.View] = []
    render = _top.render

    def spy(document: dict[str, Any], view: _top.View, **kwargs: Any) -> Any:
        views.append(dataclasses.replace(view))
        return render(document, view, **kwargs)

    def no_stack(_path: object, _urn: str) -> dict[str, Any]:
        raise OSError("gone")

    def read_keys(_keys: object, _timeout: float) -> list[str]:
        return next(pressed)

    monkeypatch.setattr(_top, "_read_keys", read_keys)
    monkeypatch.setattr(_top, "render", spy)
    monkeypatch.setattr(_top, "fetch_stack", no_stack)
    out_console, _ = console()
    read, write = os.pipe()
    with open(read) as keys, open(write):
        status = _top.run(
            args("--socket", str(endpoint.path)), console=out_console, keys=keys
        )

    assert status == 0
    assert views[-1].status == "no stack: gone"


def test_json_prints_the_snapshot_document(
    endpoint: limelight.observe.Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = Worker.start([])

    assert main(["top", "--socket", str(endpoint.path), "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document["pid"] == os.getpid()
    assert ref.actor_urn in [actor["urn"] for actor in document["actors"]]


def test_stack_prints_an_actors_stack(
    endpoint: limelight.observe.Endpoint,
    blocked: limelight.ActorRef[Blocked],
    capsys: pytest.CaptureFixture[str],
) -> None:
    short = blocked.actor_urn.removeprefix("urn:uuid:")[:8]

    assert main(["top", "--socket", str(endpoint.path), "--stack", short]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"Blocked {short}: thread ")
    assert "self.release.wait(TIMEOUT)" in out
    Worker.start([])
    assert main(["top", "--socket", str(endpoint.path), "--stack", "urn:"]) == 1
    assert "actors' urn starts with urn:" in capsys.readouterr().err
    assert main(["top", "--socket", str(endpoint.path), "--stack", "zz"]) == 1
    assert "no actor's urn starts with zz" in capsys.readouterr().err


def test_stack_of_an_actor_without_one_fails(
    endpoint: limelight.observe.Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = ManualActor.start()

    status = main(["top", "--socket", str(endpoint.path), "--stack", ref.actor_urn])

    assert status == 1
    assert "(no stack: stacks are shown for thread and asyncio actors only)" in (
        capsys.readouterr().out
    )
    ref.stop()


def test_once_to_a_file_prints_at_full_width(
    endpoint: limelight.observe.Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    Worker.start([])

    assert main(["top", "--socket", str(endpoint.path), "--once"]) == 0

    out = capsys.readouterr().out
    worker = next(line for line in out.splitlines() if line.startswith("│ Worker"))
    assert len(worker) > 100
    assert "supervisor" in out
    assert "…" not in out
    assert "q quit" not in out  # no keys to press


def test_the_end_of_input_quits(endpoint: limelight.observe.Endpoint) -> None:
    read, write = os.pipe()
    os.close(write)
    out_console, _ = console()
    with open(read) as keys:
        status = _top.run(
            args("--socket", str(endpoint.path)), console=out_console, keys=keys
        )

    assert status == 0


def test_a_program_that_goes_away_ends_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = limelight.observe.serve(tmp_path / "top.sock")
    read, write = os.pipe()
    out_console, out = console()
    os.write(write, b"m")
    original_fetch = _endpoint.fetch

    def fetch_then_close(path: Any) -> dict[str, Any]:
        document = original_fetch(path)
        served.close()
        return document

    monkeypatch.setattr(_top, "fetch", fetch_then_close)
    with open(read) as keys, open(write):
        status = _top.run(
            args("--socket", str(served.path), "--interval", "0"),
            console=out_console,
            keys=keys,
        )

    assert status == 1
    assert "went away" in out.getvalue()


def test_keys_are_read_unechoed_on_a_terminal_and_the_mode_restored() -> None:
    leader, follower = pty.openpty()
    try:
        with open(follower, closefd=False) as terminal:
            before = termios.tcgetattr(follower)
            with _top._keys_mode(terminal):
                during = termios.tcgetattr(follower)
                assert _top._read_keys(terminal, 0) == []
                os.write(leader, b"s\x1b[B")
                assert _top._read_keys(terminal, 10) == ["s", "down"]
            after = termios.tcgetattr(follower)
    finally:
        os.close(leader)
        os.close(follower)

    assert not during[3] & termios.ECHO
    assert after == before


def test_no_endpoint_is_an_error_that_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["top", "--socket", str(tmp_path / "nothing.sock")])

    assert status == 1
    assert "limelight.observe.serve()" in capsys.readouterr().err


def test_which_program_must_be_said(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top"]) == 2

    assert "--pid PID or --socket PATH" in capsys.readouterr().err


def test_without_rich_top_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich.live", None)

    assert main(["top", "--pid", "1"]) == 2

    assert "pip install 'limelight[top]'" in capsys.readouterr().err


def test_top_is_a_command_of_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", "--help"]) == 0

    assert "limelight.observe.serve()" in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--once", "--json"])
def test_a_reader_that_leaves_early_is_no_error(
    endpoint: limelight.observe.Endpoint,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    option: str,
) -> None:
    Worker.start([])
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head` does once it has its lines
    with os.fdopen(write_end, "w") as closed_pipe:
        monkeypatch.setattr(sys, "stdout", closed_pipe)

        status = main(["top", "--socket", str(endpoint.path), option])

        assert status == 0
        closed_pipe.write("after")  # the output now goes nowhere, quietly
        closed_pipe.flush()
    assert capsys.readouterr().err == ""
