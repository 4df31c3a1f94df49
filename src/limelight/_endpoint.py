"""The endpoint ``limelight top`` reads: snapshots over a Unix socket.

The protocol is one JSON line per connection: a client connects, the
endpoint writes ``{"version": 1, "pid": ..., "actors": [...]}`` and a
newline, and closes. Nothing is read from the client.

One thread serves every client, and never waits for any: it writes to each
only as much as its socket takes, and hangs up on a client that has not
read its snapshot within `SEND_TIMEOUT` seconds. A snapshot of thousands of
actors is larger than a socket's buffer, so a client that connects and
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
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from limelight._core import _timeouts
from limelight._core._log import logger
from limelight._core._observe import snapshot
from limelight._core._runtime import mark_service_thread

__all__ = [
    "MAX_SENDING",
    "PROTOCOL_VERSION",
    "SEND_TIMEOUT",
    "Endpoint",
    "default_socket_path",
    "fetch",
    "serve",
]


PROTOCOL_VERSION = 1

SEND_TIMEOUT = 10.0
"""Seconds a client has to read its snapshot before the endpoint hangs up on it."""

MAX_SENDING = 16
"""Clients being sent a snapshot at once; one more hangs up on the oldest.

A bound on what the clients that never read hold: a snapshot each, and a
socket.
"""


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


class _Sending:
    """A snapshot on its way to one client: what is left to write, and until when."""

    __slots__ = ("connection", "deadline", "rest")

    def __init__(
        self, connection: socket.socket, data: bytes, deadline: float | None
    ) -> None:
        self.connection = connection
        self.rest = memoryview(data)
        self.deadline = deadline


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
        # The clients being sent their snapshot, by socket, oldest first.
        self._sending: dict[socket.socket, _Sending] = {}
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
                        elif key.fileobj in self._sending:
                            self._send(selector, key.data)
                    self._hang_up_late(selector)
            finally:
                for sending in list(self._sending.values()):
                    self._hang_up(selector, sending)

    def _until_next_deadline(self) -> float | None:
        """How long select() may wait: until the oldest client's deadline."""
        for oldest in self._sending.values():
            return _timeouts.remaining(oldest.deadline)
        return None

    def _accept(self, selector: selectors.BaseSelector) -> None:
        try:
            connection, _ = self._listener.accept()
        except OSError as exc:  # pragma: no cover -- out of file descriptors, say
            logger.debug("limelight endpoint: %r", exc)
            return
        connection.setblocking(False)
        deadline = _timeouts.deadline(self.send_timeout)
        sending = _Sending(connection, encode_snapshot(), deadline)
        self._sending[connection] = sending
        selector.register(connection, selectors.EVENT_WRITE, sending)
        if len(self._sending) > MAX_SENDING:
            self._hang_up(selector, next(iter(self._sending.values())))

    def _send(self, selector: selectors.BaseSelector, sending: _Sending) -> None:
        """Write what the client's socket takes now (select() said it takes some)."""
        try:
            sent = sending.connection.send(sending.rest)
        except OSError as exc:  # the client went away: its loss
            logger.debug("limelight endpoint: %r", exc)
            self._hang_up(selector, sending)
            return
        sending.rest = sending.rest[sent:]
        if not sending.rest:
            self._hang_up(selector, sending)

    def _hang_up_late(self, selector: selectors.BaseSelector) -> None:
        """Hang up on the clients that have not read their snapshot in time."""
        now = time.monotonic()
        for sending in list(self._sending.values()):  # (oldest first)
            if sending.deadline is None or sending.deadline > now:
                return
            logger.debug("limelight endpoint: a client did not read in time")
            self._hang_up(selector, sending)

    def _hang_up(self, selector: selectors.BaseSelector, sending: _Sending) -> None:
        connection = sending.connection
        del self._sending[connection]
        selector.unregister(connection)
        connection.close()


def encode_snapshot() -> bytes:
    """The endpoint's reply: the snapshot as one JSON line."""
    document = {
        "version": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "actors": [info.to_dict() for info in snapshot(include_workers=True)],
    }
    return json.dumps(document).encode() + b"\n"


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


def fetch(path: str | os.PathLike[str], timeout: float = 5.0) -> dict[str, Any]:
    """Read one snapshot document from the endpoint at `path`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(str(path))
        chunks: list[bytes] = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    document: dict[str, Any] = json.loads(b"".join(chunks))
    return document
