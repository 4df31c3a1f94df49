"""`limelight top`, in process: options, the table, keys, and errors."""

from __future__ import annotations

import io
import os
import pty
import sys
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import limelight
import limelight.observe
from limelight import _endpoint, _top
from limelight._cli import build_parser, main
from tests.conformance.actors import Recorder


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
            ),
            actor(actor_class="Busy", urn="urn:uuid:22222222-y", mailbox=None),
        ],
    }
    out_console, out = console()

    out_console.print(_top.render(document, "stuck", source="here"))

    lines = out.getvalue().splitlines()
    stuck = next(line for line in lines if "Stuck (db)" in line)
    assert "12.3s" in stuck
    assert "Busy 22222222" in stuck  # whom it waits for
    assert "33333333" in stuck
    busy = next(line for line in lines if line.startswith("│ Busy"))
    assert "?" in busy  # an inbox that cannot tell its depth
    assert "pid 7, 2 actors (sorted by stuck) here" in out.getvalue()


@pytest.mark.parametrize(
    ("by", "first"),
    [("mailbox", "b"), ("rate", "a"), ("stuck", "c"), ("handled", "c"), ("name", "c")],
)
def test_actors_sort_by_each_key_biggest_first(by: str, first: str) -> None:
    actors = [
        actor(actor_class="a", rate=9.0, mailbox=None),
        actor(actor_class="b", mailbox=5),
        actor(actor_class="c", handling_for=3.0, handled=4),
    ]

    ordered = _top.sort_actors(actors, by)

    assert ordered[0]["actor_class"] == first
    assert _top.sort_actors(actors, by, reverse=True)[-1]["actor_class"] == first


def test_keys_sort_reverse_and_quit(
    endpoint: limelight.observe.Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    pressed = iter([None, "x", "s", "s", "r", "q"])
    seen: list[tuple[str, bool]] = []
    render = _top.render

    def spy(document: dict[str, Any], by: str, **kwargs: Any) -> Any:
        seen.append((by, kwargs.get("reverse", False)))
        return render(document, by, **kwargs)

    def read_key(_keys: object, _timeout: float) -> str | None:
        return next(pressed)

    monkeypatch.setattr(_top, "_read_key", read_key)
    monkeypatch.setattr(_top, "render", spy)
    out_console, _ = console()
    read, write = os.pipe()
    with open(read) as keys, open(write):
        status = _top.run(
            args("--socket", str(endpoint.path), "--interval", "0.01"),
            console=out_console,
            keys=keys,
        )

    assert status == 0
    assert seen == [
        ("mailbox", False),  # at first
        ("mailbox", False),  # no key
        ("mailbox", False),  # not a key of top's
        ("stuck", False),
        ("stuck", True),  # the same key again: reversed
        ("rate", False),
    ]


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
            args("--socket", str(served.path)), console=out_console, keys=keys
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
                assert _top._read_key(terminal, 0) is None
                os.write(leader, b"s")
                assert _top._read_key(terminal, 10) == "s"
            after = termios.tcgetattr(follower)
    finally:
        os.close(leader)
        os.close(follower)

    assert not during[3] & termios.ECHO
    assert after == before


def test_no_endpoint_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    out_console, out = console()

    status = _top.run(
        args("--socket", str(tmp_path / "nothing.sock")), console=out_console
    )

    assert status == 1
    assert "limelight.observe.serve()" in out.getvalue()


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
