"""The endpoint ``limelight top`` reads: snapshots over a Unix socket.

The protocol is one JSON line per connection: a client connects, the
endpoint writes ``{"version": 1, "pid": ..., "actors": [...]}`` and a
newline, and closes. Nothing is read from the client.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

from limelight._core._log import logger
from limelight._core._observe import snapshot
from limelight._core._runtime import mark_service_thread

__all__ = ["PROTOCOL_VERSION", "Endpoint", "default_socket_path", "fetch", "serve"]


PROTOCOL_VERSION = 1


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


class Endpoint:
    """A running endpoint: call :meth:`close` to stop it (done at exit anyway)."""

    def __init__(self, path: Path, listener: socket.socket) -> None:
        self.path = path
        """The Unix socket's path."""
        self._listener = listener
        self._closed = threading.Event()
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
        # Wakes the accept() in the serving thread (Linux: it fails at once).
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=10)
        self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _serve(self) -> None:
        listener = self._listener
        while not self._closed.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue  # (closing: the loop condition ends it)
            with connection:
                try:
                    connection.sendall(encode_snapshot())
                except OSError as exc:  # the client went away: its loss
                    logger.debug("limelight endpoint: %r", exc)


def encode_snapshot() -> bytes:
    """The endpoint's reply: the snapshot as one JSON line."""
    document = {
        "version": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "actors": [info.to_dict() for info in snapshot(include_workers=True)],
    }
    return json.dumps(document).encode() + b"\n"


def serve(path: str | os.PathLike[str] | None = None) -> Endpoint:
    """Serve snapshots on a Unix socket, for ``limelight top``.

    Args:
        path: the socket's path; by default
            [`default_socket_path()`][limelight.observe.default_socket_path],
            whose directory is created with mode 0700 if need be (and must
            otherwise be the user's own, writable by nobody else).

    Returns:
        The [`Endpoint`][limelight.observe.Endpoint]; it stops on
        ``close()``, or at exit.

    Raises:
        FileExistsError: if something other than a socket is at `path`.
        PermissionError: if the default directory is not private.
    """
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
    return Endpoint(where, listener)


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
