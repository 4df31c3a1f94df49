"""`limelight top` in a real terminal (tmux), against a program in trouble.

The example program has a stuck actor and an actor whose mailbox keeps
growing; `limelight top` runs in a tmux pane, and the test reads the screen
with ``tmux capture-pane`` until both show, then sorts and quits with keys.
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
        [sys.executable, str(EXAMPLES / "stuck_program.py"), "--serve", str(path)],
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

    tmux.run("send-keys", "-t", "top", "q")
    deadline = time.monotonic() + DEADLINE
    while tmux.run("has-session", "-t", "top").returncode == 0:
        assert time.monotonic() < deadline, "top did not quit on q"
        time.sleep(0.05)
