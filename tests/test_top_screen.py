"""`limelight top` in a real terminal (tmux), against a program in trouble.

The example program has a stuck actor, an actor whose mailbox keeps
growing, and a thousand idle ones; `limelight top` runs in a tmux pane, and
the test reads the screen with ``tmux capture-pane`` until both troubles
show, then scrolls, filters, shows the stuck actor's stack, sorts and quits
with keys.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.test_examples import EXAMPLES, SRC

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed: the live screen test of `limelight top` "
    "needs it (apt-get install tmux; nox installs it on CI)",
)

DEADLINE = 60.0
"""Seconds to wait for the screen to show something: generous, for slow CI."""

IDLE = 1000
"""Idle actors the program adds: a table far longer than the screen."""

ACTORS = IDLE + 2

ROWS = 40 - 8
"""Rows of the table on a screen of 40 lines (less the header, rules, legend)."""


class Tmux:
    """A private tmux server, with one session running a command."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "top").stdout

    def wait_for(self, what: str, found: Callable[[str], bool]) -> str:
        """Poll the screen until `found(screen)`; fail after DEADLINE."""
        deadline = time.monotonic() + DEADLINE
        while True:
            screen = self.screen()
            if found(screen):
                return screen
            if time.monotonic() > deadline:
                size = self.run(
                    "display-message", "-p", "-t", "top", "#{pane_width}x#{pane_height}"
                ).stdout.strip()
                pytest.fail(f"never saw {what} on the screen ({size}):\n{screen}")
            time.sleep(0.05)  # a poll interval, not a synchronisation


@pytest.fixture
def program(tmp_path: Path) -> Iterator[Path]:
    """The example program, serving at a socket whose path it yields."""
    path = tmp_path / "stuck.sock"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / "stuck_program.py"),
            "--serve",
            str(path),
            "--idle",
            str(IDLE),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        assert process.stdout.readline() == "Started StuckWorker and BackloggedSink\n"
        assert process.stdout.readline() == f"Serving at {path}\n"
        yield path
    finally:
        process.stdin.close()  # the program's cue to end
        process.wait(timeout=DEADLINE)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    server = Tmux(tmp_path / "tmux.sock")
    yield server
    server.run("kill-server")


def mailbox_of(row: str) -> int:
    """The mailbox column of a table row: the first number after the state."""
    match = re.search(r"│ (?:running|handling) +│ +(\d+) │", row)
    assert match is not None, row
    return int(match.group(1))


def row(screen: str, name: str) -> str | None:
    return next((line for line in screen.splitlines() if f"│ {name}" in line), None)


def test_top_shows_the_stuck_actor_and_the_growing_mailbox(
    program: Path, tmux: Tmux
) -> None:
    command = shlex.join(
        [
            "env",
            # (pytest sets COLUMNS and LINES for its own output: not top's size)
            "-u",
            "COLUMNS",
            "-u",
            "LINES",
            f"PYTHONPATH={SRC}",
            sys.executable,
            "-m",
            "limelight",
            "top",
            "--socket",
            str(program),
            "--interval",
            "0.2",
        ]
    )
    started = tmux.run(
        "new-session", "-d", "-s", "top", "-x", "200", "-y", "40", command
    )
    assert started.returncode == 0, started.stderr

    def stuck_worker_seen(screen: str) -> bool:
        worker = row(screen, "StuckWorker")
        # handling, for a second or more: "1.0s" and up
        return worker is not None and bool(
            re.search(r"handling .*│ +[1-9]\d*\.\ds │", worker)
        )

    screen = tmux.wait_for("StuckWorker stuck for a second", stuck_worker_seen)
    sink = row(screen, "BackloggedSink")
    assert sink is not None
    first = mailbox_of(sink)

    def grown(screen: str) -> bool:
        sink = row(screen, "BackloggedSink")
        return sink is not None and mailbox_of(sink) > first + 10

    tmux.wait_for("BackloggedSink's mailbox growing", grown)

    # Sorted by mailbox depth at first; "s" sorts by stuck time instead.
    def first_row_is(name: str) -> Callable[[str], bool]:
        def check(screen: str) -> bool:
            rows = [line for line in screen.splitlines() if line.startswith("│ ")]
            return len(rows) > 1 and rows[0].startswith(f"│ {name}")

        return check

    tmux.wait_for("the sink first, by mailbox", first_row_is("BackloggedSink"))
    tmux.run("send-keys", "-t", "top", "s")
    tmux.wait_for("the stuck worker first, by stuck time", first_row_is("StuckWorker"))

    # The table scrolls, under its header and above the legend.
    def showing(first: int, last: int) -> Callable[[str], bool]:
        def check(screen: str) -> bool:
            lines = screen.splitlines()
            return (
                f"rows {first}-{last} of {ACTORS}" in lines[0]
                and len([line for line in lines if line.startswith("│ ")]) == ROWS
                and any(line.startswith("↑↓ j k") for line in lines)  # the legend
            )

        return check

    tmux.wait_for("the first rows", showing(1, ROWS))
    tmux.run("send-keys", "-t", "top", "End")
    tmux.wait_for("the last rows", showing(ACTORS - ROWS + 1, ACTORS))
    tmux.run("send-keys", "-t", "top", "PgUp")
    tmux.wait_for("a page up", showing(ACTORS - 2 * ROWS + 1, ACTORS - ROWS))
    tmux.run("send-keys", "-t", "top", "Home")
    tmux.wait_for("the first rows again", showing(1, ROWS))

    # A filter typed after "/", then the stack of the one actor it leaves.
    tmux.run("send-keys", "-t", "top", "/", "w", "o", "r", "k", "e", "r", "Enter")
    only_worker = tmux.wait_for(
        "only the worker", lambda screen: "1 match 'worker'" in screen
    )
    assert row(only_worker, "BackloggedSink") is None
    tmux.run("send-keys", "-t", "top", "Enter")
    stack = tmux.wait_for(
        "the stuck worker's stack",
        lambda screen: "in on_receive" in screen and "self.release.wait()" in screen,
    )
    assert "StuckWorker" in stack
    assert "thread" in stack
    tmux.run("send-keys", "-t", "top", "Escape")
    tmux.wait_for("the stack closed", lambda screen: "in on_receive" not in screen)
    tmux.run("send-keys", "-t", "top", "Escape")  # and the filter cleared
    tmux.wait_for("every actor again", showing(1, ROWS))

    tmux.run("send-keys", "-t", "top", "q")
    deadline = time.monotonic() + DEADLINE
    while tmux.run("has-session", "-t", "top").returncode == 0:
        assert time.monotonic() < deadline, "top did not quit on q"
        time.sleep(0.05)
