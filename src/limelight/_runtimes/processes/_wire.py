"""The wire format between two processes: frames, and how a pipe carries them.

A frame is a small tuple of plain values, pickled; its first item says what
it is (the kinds below). The message or value it carries is pickled on its
own first (a *payload*), so that one that cannot be pickled (or unpickled)
fails only its own message, with a clear error. A plain message or value
(numbers, strings, bytes, short tuples of them: see `is_plain`), which
cannot fail so, travels in the frame itself, pickled once with it.

The pipe carries frames as ``Connection.send_bytes()`` writes them: a 4-byte
big-endian length (-1, then an 8-byte one, past 2 GiB), then the bytes. A
channel reads and writes them on the pipe's descriptor itself: the Python
layers of ``Connection`` cost several calls per frame.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection

__all__ = [
    "PLAIN_TYPES",
    "PROTOCOL",
    "is_plain",
    "read_frame",
    "readable",
    "write_frame",
]

# Frame kinds. A frame is a tuple whose first item is one of these.
START = 0  # (START, request id, urn, payload of (class, args, kwargs))
TELL = 1  # (TELL, urn, payload of message)
ASK = 2  # (ASK, request id, urn, payload of message)
REPLY = 3  # (REPLY, request id, ok, payload of value or exception)
KILL = 4  # (KILL, request id, urn): replied to once the actor is killed
INTROSPECT = 5  # (INTROSPECT, request id, urn)
TERMINATED = 6  # (TERMINATED, urn, reason, payload of exception)
SUBSCRIBE = 7  # (SUBSCRIBE, urn): send TERMINATED for urn when it ends
FUTURE_DONE = 8  # (FUTURE_DONE, export id, ok, payload)
SHUTDOWN = 9  # (SHUTDOWN,): the worker stops its actors and exits
SNAPSHOT = 10  # (SNAPSHOT, request id): the worker's limelight.observe.snapshot()
# The same as TELL, ASK and REPLY (ok), for a plain message or value (see
# is_plain), which travels in the frame itself: one pickling, not two.
TELL_PLAIN = 11  # (TELL_PLAIN, urn, message)
ASK_PLAIN = 12  # (ASK_PLAIN, request id, urn, message)
REPLY_PLAIN = 13  # (REPLY_PLAIN, request id, value)
# A worker's waits, reported to the parent, which keeps the program's
# wait-for graph (see _waits.py).
WAIT = 14  # (WAIT, request id, token, (urn, name), (urn, name)): a cycle?
CONFIRM = 15  # (CONFIRM, request id, token): the DeadlockError, or None
WAIT_END = 16  # (WAIT_END, token)

PROTOCOL = pickle.HIGHEST_PROTOCOL

_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!Q")

SHORT_FRAME = 16384
"""The longest frame written with its length in one ``os.write()``.

A longer one goes through ``Connection.send_bytes()``, which does not copy it.
"""

# (Module globals: one lookup, not two, per frame; and tests can cut them short.)
_read = os.read
_write = os.write


def readable(conn: Connection) -> Callable[[float | None], bool]:
    """A test of whether `conn` has data, waiting up to a timeout (``None``: ever).

    ``select()`` on the one descriptor: ``Connection.poll()`` builds a
    selector on every call, which costs as much as a frame.
    """
    fds = [conn.fileno()]

    def ready(timeout: float | None) -> bool:
        return bool(select.select(fds, (), (), timeout)[0])

    return ready


def _read_exactly(fd: int, size: int) -> bytes:
    """`size` bytes from `fd`; ``EOFError`` if the pipe ends first."""
    data = _read(fd, size)
    if len(data) == size:  # (nearly always: a frame is written at once)
        return data
    chunks = [data]
    left = size - len(data)
    while left:
        chunk = _read(fd, left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_rest(fd: int, data: bytes, written: int) -> None:
    """Write what is left of `data` after its first `written` bytes.

    (A signal may cut a write short.)
    """
    while written < len(data):
        data = data[written:]
        written = _write(fd, data)


def read_frame(fd: int) -> bytes:
    """Read the next frame's bytes from `fd`, waiting for them."""
    # (Each part nearly always comes in one read: no call for the rest.)
    header = _read(fd, _LENGTH.size)
    if len(header) < _LENGTH.size:
        header += _read_exactly(fd, _LENGTH.size - len(header))
    (size,) = _LENGTH.unpack(header)
    if size == -1:  # (past 2 GiB)
        (size,) = _LONG_LENGTH.unpack(_read_exactly(fd, _LONG_LENGTH.size))
    data = _read(fd, size)
    if len(data) < size:
        data += _read_exactly(fd, size - len(data))
    return data


def write_frame(fd: int, conn: Connection, data: bytes) -> None:
    """Write a frame's bytes to `fd`, the descriptor of `conn` (under a lock)."""
    size = len(data)
    if size <= SHORT_FRAME:
        data = _LENGTH.pack(size) + data
        written = _write(fd, data)
        if written < size + _LENGTH.size:  # (nearly never: no call for the rest)
            _write_rest(fd, data, written)
    else:
        conn.send_bytes(data)


# Types whose values pickle the same with or without the channel's pickler:
# nothing in them is a ref, a proxy, a future or a class. (Exact types: a
# subclass may hold anything.) A hot path tests a lone value against them
# itself, and calls is_plain() only for what else may be plain: a call less.
PLAIN_TYPES = frozenset({int, float, complex, str, bytes, bool, type(None)})

# The most items of a tuple of plain values looked at for the fast path:
# for longer ones the look costs more than the pickler it saves.
_PLAIN_ITEMS = 8


def is_plain(obj: object) -> bool:
    """Whether `obj` is a plain value, or a short tuple of plain values."""
    kind = type(obj)
    if kind in PLAIN_TYPES:
        return True
    if kind is tuple:
        items = cast("tuple[object, ...]", obj)
        return len(items) <= _PLAIN_ITEMS and all(
            type(item) in PLAIN_TYPES for item in items
        )
    return False
