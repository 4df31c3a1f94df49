"""The endpoint ``limelight top`` reads: snapshots over a Unix socket.

One answer per connection, as one JSON line. A client may send a request
first, as one JSON line:

- ``{"request": "snapshot"}``: the answer is the snapshot,
  ``{"version": 1, "pid": ..., "actors": [...]}``;
- ``{"request": "stack", "urn": URN}``: the answer is that actor's stack,
  ``{"version": 1, "pid": ..., "urn": URN, "stack": TEXT or null,
  "note": WHY}`` (see :func:`actor_stack`);
- anything else is answered ``{"version": 1, "error": WHY}``.

A client that sends nothing (the first protocol: connect, read to the end)
gets the snapshot once `REQUEST_WAIT` seconds have passed, or as soon as it
shuts its side down.

One thread serves every client, and never waits for any: it reads and
writes only as much as a socket takes, and hangs up on a client that has
not read its answer within `SEND_TIMEOUT` seconds. A snapshot of thousands
of actors is larger than a socket's buffer, so a client that connects and
never reads would otherwise keep the endpoint from answering anyone else.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import socket
import stat
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limelight._core import _timeouts
from limelight._core._log import logger
from limelight._core._observe import live_actors, snapshot
from limelight._core._runtime import mark_service_thread

if TYPE_CHECKING:
    from types import FrameType

    from limelight._core._actor import Actor

__all__ = [
    "MAX_REQUEST",
    "MAX_SENDING",
    "PROTOCOL_VERSION",
    "REQUEST_WAIT",
    "SEND_TIMEOUT",
    "Endpoint",
    "actor_stack",
    "default_socket_path",
    "fetch",
    "fetch_stack",
    "request",
    "serve",
]


PROTOCOL_VERSION = 1

SEND_TIMEOUT = 10.0
"""Seconds a client has to read its snapshot before the endpoint hangs up on it."""

MAX_SENDING = 16
"""Clients being sent a snapshot at once; one more hangs up on the oldest.

A bound on what the clients that never read hold: a snapshot each, and a
socket. (Clients yet to send their request count too.)
"""

REQUEST_WAIT = 0.1
"""Seconds the endpoint waits for a request before it sends a snapshot anyway.

Only clients of the first protocol, which send nothing, wait this long:
:func:`fetch` sends its request at once."""

MAX_REQUEST = 4096
"""The longest request line, in bytes; a longer one is answered with an error."""


def default_socket_path(pid: int | None = None) -> Path:
    """Where :func:`serve` listens by default, for the process `pid` (this one).

    ``$XDG_RUNTIME_DIR/limelight/PID.sock`` when ``XDG_RUNTIME_DIR`` is set
    (a per-user directory on most Linux systems), else
    ``TMPDIR/limelight-UID/PID.sock``.
    """
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        directory = Path(base) / "limelight"
    else:
        directory = Path(tempfile.gettempdir()) / f"limelight-{os.getuid()}"
    return directory / f"{os.getpid() if pid is None else pid}.sock"


def _private_directory(directory: Path) -> None:
    """Make `directory` (mode 0700), or check that it is ours and private."""
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    info = directory.lstat()
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.getuid()
        or info.st_mode & 0o022
    ):
        msg = (
            f"{directory} is not a directory owned by this user and writable "
            "only by it: refusing to put the limelight endpoint there"
        )
        raise PermissionError(msg)


class _Client:
    """One connection: its request being read, then its answer being written.

    `rest` is None while the request is read (until `deadline`: then the
    answer is a snapshot), then what is left of the answer to write (until
    `deadline`: then the client is hung up on).
    """

    __slots__ = ("connection", "deadline", "request", "rest")

    def __init__(self, connection: socket.socket, deadline: float | None) -> None:
        self.connection = connection
        self.deadline = deadline
        self.request = bytearray()
        self.rest: memoryview | None = None


class Endpoint:
    """A running endpoint: call :meth:`close` to stop it (done at exit anyway)."""

    def __init__(
        self,
        path: Path,
        listener: socket.socket,
        send_timeout: float | None = SEND_TIMEOUT,
    ) -> None:
        self.path = path
        """The Unix socket's path."""
        self.send_timeout = send_timeout
        """Seconds a client has to read its snapshot before it is hung up on."""
        self._listener = listener
        listener.setblocking(False)
        self._closed = threading.Event()
        # close() writes to one end, to wake the serving thread's select().
        self._wake, self._waker = socket.socketpair()
        # The clients, by socket, oldest first.
        self._clients: dict[socket.socket, _Client] = {}
        self._thread = threading.Thread(
            target=self._serve, name="limelight-observe", daemon=True
        )
        mark_service_thread(self._thread)
        self._thread.start()
        atexit.register(self.close)

    def __repr__(self) -> str:
        state = "closed" if self._closed.is_set() else "serving"
        return f"<limelight.observe.Endpoint {state} at {self.path}>"

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening and remove the socket file; closing twice is harmless."""
        if self._closed.is_set():
            return
        self._closed.set()
        atexit.unregister(self.close)
        self._waker.send(b"\0")
        self._thread.join(timeout=10)
        for sock in (self._listener, self._wake, self._waker):
            sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            try:
                while not self._closed.is_set():
                    for key, _ in selector.select(self._until_next_deadline()):
                        if key.fileobj is self._listener:
                            self._accept(selector)
                        # (Not the waker, nor a client hung up on just now.)
                        elif key.fileobj in self._clients:
                            client: _Client = key.data
                            if client.rest is None:
                                self._read(selector, client)
                            else:
                                self._send(selector, client)
                    self._past_deadlines(selector)
            finally:
                for client in list(self._clients.values()):
                    self._hang_up(selector, client)

    def _until_next_deadline(self) -> float | None:
        """How long select() may wait: until the nearest client's deadline."""
        deadlines = [
            c.deadline for c in self._clients.values() if c.deadline is not None
        ]
        return _timeouts.remaining(min(deadlines)) if deadlines else None

    def _accept(self, selector: selectors.BaseSelector) -> None:
        try:
            connection, _ = self._listener.accept()
        except OSError as exc:  # pragma: no cover -- out of file descriptors, say
            logger.debug("limelight endpoint: %r", exc)
            return
        connection.setblocking(False)
        client = _Client(connection, time.monotonic() + REQUEST_WAIT)
        self._clients[connection] = client
        selector.register(connection, selectors.EVENT_READ, client)
        if len(self._clients) > MAX_SENDING:
            self._hang_up(selector, next(iter(self._clients.values())))

    def _read(self, selector: selectors.BaseSelector, client: _Client) -> None:
        """Read what the client sent of its request; answer it once whole."""
        try:
            data = client.connection.recv(MAX_REQUEST + 1)
        except OSError as exc:  # pragma: no cover -- the client reset its end
            logger.debug("limelight endpoint: %r", exc)
            self._hang_up(selector, client)
            return
        if not data:  # shut down without a request: the first protocol
            self._answer(selector, client, encode_snapshot())
            return
        client.request += data
        line, newline, _ = client.request.partition(b"\n")
        if newline:
            self._answer(selector, client, answer(bytes(line)))
        elif len(client.request) > MAX_REQUEST:
            self._answer(selector, client, _error("the request is too long"))

    def _answer(
        self, selector: selectors.BaseSelector, client: _Client, data: bytes
    ) -> None:
        """Start writing `data` to the client, which has until the send timeout."""
        client.rest = memoryview(data)
        client.deadline = _timeouts.deadline(self.send_timeout)
        selector.modify(client.connection, selectors.EVENT_WRITE, client)

    def _send(self, selector: selectors.BaseSelector, client: _Client) -> None:
        """Write what the client's socket takes now (select() said it takes some)."""
        assert client.rest is not None  # (a client being answered)
        try:
            sent = client.connection.send(client.rest)
        except OSError as exc:  # the client went away: its loss
            logger.debug("limelight endpoint: %r", exc)
            self._hang_up(selector, client)
            return
        client.rest = client.rest[sent:]
        if not client.rest:
            self._hang_up(selector, client)

    def _past_deadlines(self, selector: selectors.BaseSelector) -> None:
        """Answer clients that sent no request in time, drop slow readers.

        A client that sent no request in time gets a snapshot; one that did
        not read its answer in time is hung up on.
        """
        now = time.monotonic()
        for client in list(self._clients.values()):
            if client.deadline is None or client.deadline > now:
                continue
            if client.rest is None:
                self._answer(selector, client, encode_snapshot())
            else:
                logger.debug("limelight endpoint: a client did not read in time")
                self._hang_up(selector, client)

    def _hang_up(self, selector: selectors.BaseSelector, client: _Client) -> None:
        connection = client.connection
        del self._clients[connection]
        selector.unregister(connection)
        # A request left unread (one sent too late) would make the client's
        # reads end in ECONNRESET rather than at the end of the answer.
        with contextlib.suppress(OSError):
            connection.recv(MAX_REQUEST)
        connection.close()


def _header() -> dict[str, Any]:
    return {"version": PROTOCOL_VERSION, "pid": os.getpid()}


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode() + b"\n"


def _error(why: str) -> bytes:
    return _encode({**_header(), "error": why})


def encode_snapshot() -> bytes:
    """The endpoint's reply: the snapshot as one JSON line."""
    document = {
        **_header(),
        "actors": [info.to_dict() for info in snapshot(include_workers=True)],
    }
    return _encode(document)


def answer(line: bytes) -> bytes:
    """The endpoint's answer to a request line (see the module's docstring)."""
    try:
        request: object = json.loads(line)
    except ValueError:
        return _error("the request is not JSON")
    if not isinstance(request, dict):
        return _error("the request is not a JSON object")
    kind = request.get("request")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if kind == "snapshot":
        return encode_snapshot()
    urn = request.get("urn")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if kind == "stack" and isinstance(urn, str):
        stack, note = actor_stack(urn)
        return _encode({**_header(), "urn": urn, "stack": stack, "note": note})
    return _error(f"not a request: {line.decode(errors='replace')}")


def _find(urn: str) -> Actor | None:
    for actor in live_actors():
        if actor.actor_urn == urn:
            return actor
    return None


def _thread_stack(ident: int | None) -> str | None:
    frame = None if ident is None else sys._current_frames().get(ident)
    return None if frame is None else "".join(traceback.format_stack(frame))


def actor_stack(urn: str) -> tuple[str | None, str]:
    """The stack of the actor `urn`, as text (None if there is none), and a note.

    For a thread actor, its thread's stack, wherever it is. For an actor on
    an event loop: the stack of its task, if it runs one (an ``async def``
    handler), else that of the loop's thread (what a handler that blocks
    the loop is doing). Actors of other runtimes have no stack to show
    (a greenlet's, or a worker process's).
    """
    actor = _find(urn)
    if actor is None:
        return None, f"no live actor {urn} in this process"
    ident = actor._limelight_thread_ident
    if ident is not None:
        stack = _thread_stack(ident)
        return stack, f"thread {ident}" if stack else "its thread has ended"
    # (Imports asyncio: only now, as a program without it asks for a stack.)
    from limelight._runtimes.event_loop.driver import LoopInbox  # noqa: PLC0415

    inbox = actor.actor_inbox
    if isinstance(inbox, LoopInbox):
        return _loop_stack(inbox)
    return None, "stacks are shown for thread and asyncio actors only"


def _awaited_frames(awaitable: object) -> list[FrameType]:
    """The frames of a suspended coroutine and of those it awaits, outermost first."""
    frames: list[FrameType] = []
    # (Down to an awaitable that is no coroutine: a future, say.)
    while frame := getattr(awaitable, "cr_frame", None) or getattr(
        awaitable, "gi_frame", None
    ):
        frames.append(frame)
        awaitable = getattr(awaitable, "cr_await", None) or getattr(
            awaitable, "gi_yieldfrom", None
        )
    return frames


def _loop_stack(inbox: Any) -> tuple[str | None, str]:
    """The stack of an event loop actor: its task's, or its loop's thread's."""
    import asyncio  # noqa: PLC0415 -- imported already, by the actor's runtime

    task = inbox._task
    if isinstance(task, asyncio.Task):
        # (Not task.get_stack(): it stops at the task's own coroutine, where
        # the handler's is what is wanted, further down the awaits.)
        frames = _awaited_frames(task.get_coro())  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        summary = traceback.StackSummary.extract((f, f.f_lineno) for f in frames)
        return "".join(summary.format()), "its task"
    stack = _thread_stack(getattr(inbox.loop, "_thread_id", None))
    if stack is None:
        return None, "its event loop is not running"
    return stack, "its event loop's thread (whatever it runs now)"


def serve(
    path: str | os.PathLike[str] | None = None,
    *,
    send_timeout: float | None = SEND_TIMEOUT,
) -> Endpoint:
    """Serve snapshots on a Unix socket, for ``limelight top``.

    One thread answers every client, without waiting for any: a client that
    connects and never reads delays no other.

    Args:
        path: the socket's path; by default
            [`default_socket_path()`][limelight.observe.default_socket_path],
            whose directory is created with mode 0700 if need be (and must
            otherwise be the user's own, writable by nobody else).
        send_timeout: seconds a client has to read its snapshot; one that
            has not by then is hung up on (it gets a truncated line).
            `None` (or infinity) never hangs up.

    Returns:
        The [`Endpoint`][limelight.observe.Endpoint]; it stops on
        ``close()``, or at exit.

    Raises:
        FileExistsError: if something other than a socket is at `path`.
        PermissionError: if the default directory is not private.
        TypeError: if `send_timeout` is not a number of seconds.
        ValueError: if `send_timeout` is NaN.
    """
    if send_timeout is not None:
        send_timeout = _timeouts.seconds(send_timeout, "send_timeout")
    if path is None:
        where = default_socket_path()
        _private_directory(where.parent)
    else:
        where = Path(path)
    if where.is_socket():  # left behind by a process that did not exit cleanly
        where.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(where))
        where.chmod(0o600)  # the owner only: snapshots name classes and state
        listener.listen(8)
    except BaseException:
        listener.close()
        raise
    return Endpoint(where, listener, send_timeout)


def request(
    path: str | os.PathLike[str], message: dict[str, Any], timeout: float = 5.0
) -> dict[str, Any]:
    """Send `message` as a request to the endpoint at `path`; return the answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(str(path))
        # An endpoint of the first protocol reads no request: it may have
        # hung up already (its answer is still there to read), or hang up
        # with the request unread, which ends the answer in ECONNRESET.
        with contextlib.suppress(BrokenPipeError):
            client.sendall(json.dumps(message).encode() + b"\n")
        chunks: list[bytes] = []
        while True:
            try:
                chunk = client.recv(65536)
            except ConnectionResetError:
                if not chunks:
                    raise
                break
            if not chunk:
                break
            chunks.append(chunk)
    document: dict[str, Any] = json.loads(b"".join(chunks))
    return document


def fetch(path: str | os.PathLike[str], timeout: float = 5.0) -> dict[str, Any]:
    """Read one snapshot document from the endpoint at `path`."""
    return request(path, {"request": "snapshot"}, timeout)


def fetch_stack(
    path: str | os.PathLike[str], urn: str, timeout: float = 5.0
) -> dict[str, Any]:
    """Ask the endpoint at `path` for the stack of the actor `urn`.

    The answer has ``stack`` (text, or None) and ``note`` (where the stack
    is from, or why there is none).

    Raises:
        OSError: if the endpoint cannot be reached, or answers no stacks
            (a Limelight too old to).
    """
    for _ in range(3):
        document = request(path, {"request": "stack", "urn": urn}, timeout)
        if "stack" in document:
            return document
        # A snapshot: the request came after REQUEST_WAIT (a slow client),
        # or the endpoint only knows the first protocol.
    msg = f"the endpoint at {path} answers no stack requests"
    raise OSError(msg)
