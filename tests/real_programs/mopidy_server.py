"""Start the real Mopidy server on Pykka 4.5 and on Limelight; drive both over MPD.

Usage: ``python mopidy_server.py WORKDIR``, in the virtual environment that
``mopidy_suites.py`` fills (``nox -s mopidy`` runs both scripts in its own).
For each library in turn, it

1. makes a fresh folder in WORKDIR with a Mopidy configuration, three short
   WAV files (written here with :mod:`wave`) for the ``file`` backend, and a
   stored playlist for the ``m3u`` one: no sound card (GStreamer's
   ``fakesink``, in real time), no HTTP, no streaming, no Zeroconf, and the
   MPD frontend on 127.0.0.1 and a free port;
2. starts ``mopidy --config FILE`` in a child process, on Pykka or as
   ``python -m limelight.as_pykka mopidy --config FILE`` does, and waits
   until the MPD port takes connections;
3. plays a client's session over MPD: browsing the library, the queue,
   playback, volume, options, stored playlists, ``idle`` (woken by a second
   connection's commands, and ended by ``noidle``), command lists, commands
   that fail, and ``close``, recording every response;
4. stops the server with SIGTERM, as a service manager does.

It exits non-zero if the two transcripts differ once normalised (the diff is
printed), if either server logged an error or a traceback, did not start, or
did not exit by itself within STOP_TIMEOUT seconds of the signal, or if the
two exit statuses differ.

The child is this same script, run as ``python mopidy_server.py --serve
LIBRARY CONFIG``: Mopidy 4.0.5 exits at import on a GStreamer older than
1.26.2 (Debian 12 has 1.22), and the suites' pytest plugin
``gst_version_shim.py`` has the helper that gets it past that check, which
the child calls before it starts Mopidy's ``mopidy`` console script.
``gi`` and ``mopidy`` are imported only there, at run time.
"""

from __future__ import annotations

import difflib
import importlib
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import wave
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import quote

PROJECT = Path(__file__).resolve().parents[2]
"""Limelight's checkout."""

LIBRARIES = ("pykka", "limelight")
"""What the server runs on, in this order."""

START_TIMEOUT = 60.0
"""Seconds for a server to take MPD connections."""
STOP_TIMEOUT = 15.0
"""Seconds for a server to exit after SIGTERM."""
REPLY_TIMEOUT = 10.0
"""Seconds for any one MPD response (``idle`` included), or for a state to settle."""
SETTLE_POLL = 0.02
"""Seconds between two ``status`` commands while waiting for a state."""

SAMPLE_RATE = 8000
TRACK_SECONDS = 20
"""Long enough that no track ends during the session: the tracks play in real time."""
TRACKS = {"Tones/low.wav": 220.0, "Tones/high.wav": 880.0, "beep.wav": 440.0}
"""The music folder's files, each a sine tone of this frequency."""
MEDIA_NAME = "Music"
"""The music folder's name in the ``file`` backend."""
LIBRARY_ROOT = "Files"
"""The ``file`` backend's folder in MPD's paths: its only media folder's content."""

# A log line of a failure: the level that Mopidy's log handler prints, or what
# Python prints for an exception that nothing caught (threads included).
PROBLEM = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback \(most recent call last\)")
WARNING = re.compile(r"\bWARNING\b")

CONFIG = """\
[core]
cache_dir = {root}/cache
config_dir = {root}/config
data_dir = {root}/data
restore_state = false

[logging]
verbosity = 1
color = false
format = %(threadName)s %(name)s %(message)s

[audio]
mixer = software
output = fakesink sync=true

[http]
enabled = false

[stream]
enabled = false

[file]
enabled = true
media_dirs = {music}|{media_name}
show_dotfiles = false
follow_symlinks = false
metadata_timeout = 5000

[m3u]
enabled = true
playlists_dir = {root}/playlists
base_dir = {music}
default_encoding = utf-8
default_extension = .m3u8

[mpd]
enabled = true
hostname = 127.0.0.1
port = {port}
zeroconf =
command_blacklist =
max_connections = 10
connection_timeout = 60
default_playlist_scheme = m3u
"""
"""Mopidy's configuration; the ``[mpd]`` default blacklists ``listall``."""


def say(message: str) -> None:
    """Print one line of this program's own output."""
    print(f"mopidy_server > {message}", flush=True)  # noqa: T201 -- its output


# --------------------------------------------------------------------- child


def serve(library: str, config: str) -> None:
    """Run Mopidy's ``mopidy`` command on ``library``, as the server's process.

    On Limelight, through the shim's ``main()``, as ``python -m
    limelight.as_pykka mopidy --config CONFIG`` runs it; on Pykka, through
    the console script's entry point, as the ``mopidy`` command runs it.
    Either way it exits with the command's status.
    """
    argv = ["mopidy", "--config", config]
    if library == "limelight":
        # Imported first, the shim makes every later `import pykka` give
        # Limelight.
        from limelight import as_pykka  # noqa: PLC0415

        prepare_mopidy_import()
        as_pykka.main(argv)
    else:
        prepare_mopidy_import()
        sys.argv = argv
        (script,) = entry_points(group="console_scripts", name="mopidy")
        raise SystemExit(script.load()())


def prepare_mopidy_import() -> None:
    """Get Mopidy past its GStreamer version check; say which Pykka serves."""
    # The module that the suites load as a pytest plugin, imported by the
    # name that type checkers know it by. It runs this helper when imported,
    # which is all that is needed; the call says what for, and changes
    # nothing the second time.
    sys.path.insert(0, str(PROJECT))
    from tests.real_programs.gst_version_shim import import_mopidy_gi  # noqa: PLC0415

    import_mopidy_gi()
    pykka = importlib.import_module("pykka")
    # The parent checks this line, to know which library served.
    print(f"serving on {pykka.__name__} from {pykka.__file__}", flush=True)  # noqa: T201


# ------------------------------------------------------------------- set-up


@dataclass
class Server:
    """One library's server: its files, its process and what it did."""

    library: str
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_file: Path = field(init=False)
    start_seconds: float = 0.0
    session_seconds: float = 0.0
    stop_seconds: float = 0.0
    exit_status: int | None = None
    problems: list[str] = field(default_factory=list[str])

    def __post_init__(self) -> None:
        self.log_file = self.root / "server.log"

    @property
    def music(self) -> Path:
        return self.root / "music"

    def log(self) -> str:
        """Return what the server printed so far."""
        if not self.log_file.is_file():
            return ""
        return self.log_file.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_tone(path: Path, frequency: float) -> None:
    """Write a mono, 8-bit WAV file of a sine tone, TRACK_SECONDS long."""
    path.parent.mkdir(parents=True, exist_ok=True)
    step = 2 * math.pi * frequency / SAMPLE_RATE
    samples = bytes(
        128 + round(64 * math.sin(step * index))
        for index in range(SAMPLE_RATE * TRACK_SECONDS)
    )
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(1)
        sound.setframerate(SAMPLE_RATE)
        sound.writeframes(samples)


def prepare(workdir: Path, library: str) -> Server:
    """Make the server's folder: configuration, music and one stored playlist."""
    root = workdir / f"server-{library}"
    shutil.rmtree(root, ignore_errors=True)  # a previous run's
    root.mkdir(parents=True)
    server = Server(library, root, free_port())
    for name, frequency in TRACKS.items():
        write_tone(server.music / name, frequency)
    playlists = root / "playlists"
    playlists.mkdir()
    tones = sorted(name for name in TRACKS if name.startswith("Tones/"))
    (playlists / "tones.m3u8").write_text(
        "#EXTM3U\n" + "".join(f"{server.music / name}\n" for name in tones),
        encoding="utf-8",
    )
    (root / "mopidy.conf").write_text(
        CONFIG.format(
            root=root, music=server.music, media_name=MEDIA_NAME, port=server.port
        ),
        encoding="utf-8",
    )
    return server


def start(server: Server) -> None:
    """Start the server's process, and wait until its MPD port takes connections."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve",
        server.library,
        str(server.root / "mopidy.conf"),
    ]
    # Mopidy's log handler (rich's) wraps lines at the console's width,
    # which is COLUMNS when the output is no terminal: one record, one line.
    # The same hash seed for both runs: Mopidy-MPD lists some things (the
    # tag types, the subsystems that changed) from sets, in their hash order.
    env = {**os.environ, "COLUMNS": "500", "TERM": "dumb", "PYTHONHASHSEED": "0"}
    began = time.monotonic()
    with server.log_file.open("wb") as log:
        server.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=server.root
        )
    deadline = began + START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            msg = "exited before taking MPD connections"
            raise ServerFailedError(msg)
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                msg = f"took no MPD connection in {START_TIMEOUT:.0f} s"
                raise ServerFailedError(msg) from None
            time.sleep(0.1)
    server.start_seconds = time.monotonic() - began
    expected = f"serving on {server.library} from "
    if expected not in server.log():
        msg = f"not serving on {server.library}: no line {expected!r} in its output"
        raise ServerFailedError(msg)


def stop(server: Server) -> None:
    """Send SIGTERM, and wait up to STOP_TIMEOUT seconds for the server to exit."""
    process = server.process
    if process is None:
        return
    if process.poll() is not None:
        server.exit_status = process.returncode
        server.problems.append(f"exited with status {process.returncode} by itself")
        return
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        server.exit_status = process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.problems.append(f"still running {STOP_TIMEOUT:.0f} s after SIGTERM")
        # The stacks of its threads, into its log (Mopidy's SIGUSR1 handler).
        process.send_signal(signal.SIGUSR1)
        time.sleep(1)
        process.kill()
        process.wait()
    server.stop_seconds = time.monotonic() - began


class ServerFailedError(Exception):
    """The server did not start, or the session with it broke off."""


# ------------------------------------------------------------------- client


class MpdClient:
    """A minimal MPD client: one connection, one command at a time."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), REPLY_TIMEOUT)
        self.file = self.socket.makefile("rb")
        self.greeting = self.read_line()
        if not self.greeting.startswith("OK MPD "):
            msg = f"no MPD greeting: {self.greeting!r}"
            raise ServerFailedError(msg)

    def read_line(self) -> str:
        """Return the next line of the server's, or "" when it closed."""
        try:
            line = self.file.readline()
        except TimeoutError:
            msg = f"no response within {REPLY_TIMEOUT:.0f} s"
            raise ServerFailedError(msg) from None
        return line.decode().rstrip("\n")

    def send(self, command: str) -> None:
        self.socket.sendall(command.encode() + b"\n")

    def read_response(self) -> list[str]:
        """Read one response: lines up to OK or ACK, or to the connection's end."""
        lines: list[str] = []
        while True:
            line = self.read_line()
            if not line:
                return [*lines, "<connection closed>"]
            lines.append(line)
            if line == "OK" or line.startswith("ACK "):
                return lines

    def close(self) -> None:
        self.file.close()
        self.socket.close()


class Session:
    """A client's session: two connections, and the transcript of both."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.transcript: list[str] = []
        self.commands = 0
        self.problems: list[str] = []
        self.main = self.connect("main")
        self.watcher: MpdClient | None = None

    def connect(self, name: str) -> MpdClient:
        client = MpdClient(self.port)
        self.transcript.append(f"{name} connected: {client.greeting}")
        return client

    def name(self, client: MpdClient) -> str:
        return "main" if client is self.main else "watcher"

    def send(self, client: MpdClient, *commands: str) -> None:
        """Send commands without waiting for their response."""
        for command in commands:
            self.transcript.append(f"{self.name(client)}> {command}")
            client.send(command)
            self.commands += 1

    def receive(self, client: MpdClient) -> None:
        """Read one response and record it."""
        self.transcript += [f"    {line}" for line in client.read_response()]

    def run(self, *commands: str, client: MpdClient | None = None) -> None:
        """Send each command and record its response, one after the other."""
        for command in commands:
            self.send(client or self.main, command)
            self.receive(client or self.main)

    def woken(self, subsystem: str, *commands: str) -> None:
        """Record the watcher's ``idle`` for one subsystem, ended by main's commands.

        Each idle names one subsystem only: then whether the event comes
        before or after the ``idle`` (both can happen), the response is the
        same.
        """
        assert self.watcher is not None
        self.send(self.watcher, f"idle {subsystem}")
        self.run(*commands)
        self.receive(self.watcher)

    def command_list(self, *commands: str, ok: bool = False) -> None:
        """Record a command list and its one response (``list_OK`` after each)."""
        begin = "command_list_ok_begin" if ok else "command_list_begin"
        self.send(self.main, begin, *commands, "command_list_end")
        self.receive(self.main)

    def closed(self, client: MpdClient) -> None:
        """Record whether the server then ends the connection, and close it."""
        line = client.read_line()
        self.transcript.append(f"    {line or '<connection closed>'}")
        client.close()

    def settled(self, state: str, songid: int | None = None) -> None:
        """Ask ``status`` until it shows this state and song; record the last.

        Mopidy's core makes a new song current, and may set the state, only
        once GStreamer says that the stream changed, so ``status`` can show
        the previous song just after ``play``, ``next`` or ``previous``. A
        client that waits for the change sees the same thing on every run:
        only the answer it waited for is recorded (or the last, after
        REPLY_TIMEOUT seconds, which the comparison then shows).
        """
        wanted = {"state": state}
        if songid is not None:
            wanted["songid"] = str(songid)
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            self.main.send("status")
            self.commands += 1
            response = self.main.read_response()
            fields = dict(line.split(": ", 1) for line in response if ": " in line)
            if all(fields.get(key) == value for key, value in wanted.items()):
                break
            if time.monotonic() > deadline:
                self.problems.append(f"status never showed {wanted}")
                break
            time.sleep(SETTLE_POLL)
        self.transcript.append(f"main> status  # once {wanted}")
        self.transcript += [f"    {line}" for line in response]


def play_session(session: Session, music: Path) -> None:
    """Drive the server as an MPD client would, recording the session.

    Songs are named by their URI, as ``lsinfo`` gives it (``file: URI``);
    folders by their MPD path.
    """
    tones = f"{LIBRARY_ROOT}/Tones"
    beep = (music / "beep.wav").as_uri()
    session.run(
        "ping",
        "commands",
        "notcommands",
        "tagtypes",
        "urlhandlers",
        "outputs",
        "stats",
        "status",
        # The library: the file backend's folders, and its files' tags.
        'lsinfo ""',
        f'lsinfo "{LIBRARY_ROOT}"',
        f'lsinfo "{tones}"',
        "listall",
        f'listallinfo "{tones}"',
        'find "any" "beep"',
        'search "title" "high"',
        'find "file" "nothing"',
        'list "album"',
        f'lsinfo "{LIBRARY_ROOT}/No such folder"',
    )
    session.watcher = session.connect("watcher")
    # The queue.
    session.woken("playlist", f'add "{tones}"')
    session.run(
        f'addid "{beep}"',
        "playlistinfo",
        "plchanges 0",
        "delete 2",
        "playlistid",
        "status",
    )
    # Playback: high.wav has songid 1, low.wav 2, after the delete.
    session.woken("player", "play 0")
    session.settled("play", 1)
    session.run("currentsong", "pause 1")
    session.settled("pause", 1)
    session.run("pause 0")
    session.settled("play", 1)
    session.run("next")
    session.settled("play", 2)
    session.run("currentsong", "seekcur 5")
    session.settled("play", 2)
    session.run("previous")
    session.settled("play", 1)
    session.run("stop")
    session.settled("stop", 1)
    # Volume: the software mixer's.
    session.woken("mixer", "setvol 40")
    session.run("getvol", "volume +10", "status")
    # Options: not random, whose order would differ from run to run.
    session.woken("options", "repeat 1")
    session.run("single 1", "consume 0", "status", "repeat 0", "single 0")
    # Stored playlists.
    session.run("listplaylists", 'listplaylistinfo "tones"')
    session.woken("stored_playlist", 'save "mix"')
    session.run(
        "listplaylists",
        'listplaylist "mix"',
        "clear",
        'load "tones"',
        "playlistinfo",
        f'playlistadd "mix" "{beep}"',
        'listplaylistinfo "mix"',
        'rename "mix" "mix2"',
        'rm "mix2"',
        "listplaylists",
        'load "no such playlist"',
    )
    # Idle on a subsystem that does not change, ended by noidle.
    session.send(session.main, "idle update", "noidle")
    session.receive(session.main)
    # Command lists, then commands that fail.
    session.command_list("ping", "playlistid", ok=True)
    session.command_list("ping", "play 99", "ping")
    session.run("frobnicate", "play later", "status")
    for client in (session.watcher, session.main):
        session.run("close", client=client)
        session.closed(client)


# -------------------------------------------------------------- comparison


def normalise(transcript: list[str], server: Server) -> list[str]:
    """Blank what differs from run to run without a difference in behaviour.

    - The run's own folder and port, wherever they appear: each run has its
      own.
    - ``Last-Modified``: the music and the stored playlists are written
      afresh for each run.
    - ``elapsed`` and the played part of ``time`` in ``status``: the tracks
      play in real time, so the position depends on when it is asked.
    """
    replacements = [
        (str(server.root), "<run folder>"),
        (quote(str(server.root)), "<run folder>"),
        (f"127.0.0.1:{server.port}", "127.0.0.1:<port>"),
    ]
    patterns = [
        (re.compile(r"^(\s*Last-Modified:) .*"), r"\1 <time>"),
        (re.compile(r"^(\s*elapsed:) .*"), r"\1 <position>"),
        (re.compile(r"^(\s*time:) \d+:"), r"\1 <position>:"),
    ]

    def normal(line: str) -> str:
        for old, new in replacements:
            line = line.replace(old, new)
        for pattern, replacement in patterns:
            line = pattern.sub(replacement, line)
        return line

    return [normal(line) for line in transcript]


def check_log(server: Server) -> None:
    """Add the server's logged errors and tracebacks to its problems."""
    lines = server.log().splitlines()
    bad = [line for line in lines if PROBLEM.search(line)]
    if bad:
        server.problems.append(f"logged {len(bad)} errors or tracebacks")
    warnings = [line for line in lines if WARNING.search(line)]
    for line in warnings:
        say(f"{server.library} warned: {line.strip()}")


def show_log(server: Server) -> None:
    """Print the server's output, to see what went wrong."""
    say(f"output of the server on {server.library} ({server.log_file}):")
    # rich pads each line to the console's width.
    lines = (line.rstrip() for line in server.log().splitlines())
    print("\n".join(lines), flush=True)  # noqa: T201 -- its output


def run_server(workdir: Path, library: str) -> tuple[Server, Session | None]:
    """Start one library's server, play the session, stop it; return both."""
    server = prepare(workdir, library)
    session = None
    try:
        start(server)
        say(f"{library}: serving MPD on port {server.port}")
        began = time.monotonic()
        session = Session(server.port)
        play_session(session, server.music)
        server.session_seconds = time.monotonic() - began
        (server.root / "transcript.txt").write_text(
            "".join(f"{line}\n" for line in session.transcript), encoding="utf-8"
        )
    except (ServerFailedError, OSError) as error:
        server.problems.append(f"{type(error).__name__}: {error}")
        if session:
            say(f"{library}: the session so far:")
            print("\n".join(session.transcript[-40:]), flush=True)  # noqa: T201
            session = None
    finally:
        stop(server)
    check_log(server)
    if server.problems:
        show_log(server)
    return server, session


def main(argv: list[str]) -> int:
    """Run both servers, compare their sessions; return the exit status."""
    if len(argv) == 3 and argv[0] == "--serve":
        serve(argv[1], argv[2])
        return 0
    if len(argv) != 1 or argv[0].startswith("-"):
        say("usage: python mopidy_server.py WORKDIR")
        return 2
    workdir = Path(argv[0]).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    runs = [run_server(workdir, library) for library in LIBRARIES]
    problems = [
        f"{server.library}: {problem}"
        for server, _ in runs
        for problem in server.problems
    ]
    (pykka, pykka_session), (limelight, limelight_session) = runs
    if pykka.exit_status != limelight.exit_status:
        problems.append(
            f"exit status {limelight.exit_status} on limelight, "
            f"{pykka.exit_status} on pykka"
        )
    for server, session in runs:
        if session:
            problems += [f"{server.library}: {each}" for each in session.problems]
    if pykka_session and f"    Time: {TRACK_SECONDS}" not in pykka_session.transcript:
        # Else the comparison would pass with songs of no length on both.
        problems.append("no song had its length: GStreamer could not read the WAVs")
    if pykka_session and limelight_session:
        expected = normalise(pykka_session.transcript, pykka)
        actual = normalise(limelight_session.transcript, limelight)
        diff = list(
            difflib.unified_diff(expected, actual, "pykka", "limelight", lineterm="")
        )
        if diff:
            print("\n".join(diff), flush=True)  # noqa: T201 -- its output
            problems.append("the MPD sessions differ")
        say(
            f"MPD commands sent: {pykka_session.commands} to pykka's server, "
            f"{limelight_session.commands} to limelight's (the count of "
            f"status polls varies); {len(expected)} lines of transcript"
        )
    for server, _ in runs:
        say(
            f"{server.library}: started in {server.start_seconds:.1f} s, session "
            f"{server.session_seconds:.1f} s, stopped in {server.stop_seconds:.1f} s "
            f"with exit status {server.exit_status}"
        )
    for problem in problems:
        say(f"problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
