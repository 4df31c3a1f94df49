"""Requests and replies on a channel: how an answer finds its question.

Each request (an ask, a start, a kill, an introspection, a snapshot) takes
the next number of its channel and leaves its future in the channel's table
of pending requests under it; the reply frame names the number, and the
reader completes that future. No OS object is made per ask or per future.
A future sent to the other process is *exported* the same way: numbered,
and once done its outcome follows in a frame of its own, which completes
the future *imported* there under that number.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import pickle
import threading
from typing import TYPE_CHECKING, Any

from limelight._core._exceptions import ActorDeadError
from limelight._runtimes.processes._future import ProcessFuture
from limelight._runtimes.processes._pickling import (
    exception_payload,
    loads,
    payload,
)
from limelight._runtimes.processes._wire import (
    ASK,
    ASK_PLAIN,
    FUTURE_DONE,
    PLAIN_TYPES,
    PROTOCOL,
    REPLY,
    REPLY_PLAIN,
    TELL,
    TELL_PLAIN,
    is_plain,
    write_frame,
)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from limelight._core._future import Future, SettableFuture
    from limelight._core._types import Envelope
    from limelight._runtimes.processes._reading import Reading

__all__ = ["Requests"]


class Requests:
    """A channel's sending side: frames, requests, replies, exported futures."""

    def __init__(self, conn: Connection, name: str) -> None:
        self.conn = conn
        self.name = name
        # The pipe's descriptor, read and written directly (-1 once closed).
        self._fd = conn.fileno()
        self._send_lock = threading.Lock()
        self._ids = itertools.count()
        self._pending: dict[int, SettableFuture[Any]] = {}
        self._imported: dict[int, ProcessFuture[Any]] = {}
        self._early: dict[int, tuple[bool, bytes]] = {}
        self._lock = threading.Lock()
        self.closed = False
        self.death: BaseException = ActorDeadError(f"{name} has closed")
        # This channel, if a thread waiting for a reply may read the pipe
        # itself (the parent's channels; see Reading.let_waiters_read()).
        self._leader: Reading | None = None

    def send(self, frame: tuple[Any, ...]) -> None:
        """Send a frame of plain values; raise ``ActorDeadError`` if closed."""
        data = pickle.dumps(frame, PROTOCOL)
        try:
            with self._send_lock:
                write_frame(self._fd, self.conn, data)
        except (OSError, ValueError) as exc:  # closed by us, or broken
            raise ActorDeadError(f"{self.name} is closed") from exc

    def request(
        self, future: SettableFuture[Any], kind: int, *fields: Any
    ) -> SettableFuture[Any]:
        """Send the frame ``(kind, request id, *fields)``.

        The reply to it will complete `future`.
        """
        rid = next(self._ids)
        self._pending[rid] = future
        leader = self._leader
        if leader is not None and isinstance(future, ProcessFuture):
            future._channel = leader
        try:
            self.send((kind, rid, *fields))
        except ActorDeadError as exc:
            self._fail(rid, exc)
        if self.closed:  # the reader may have failed the table before we added
            self._fail(rid, self.death)
        return future

    def _fail(self, rid: int, exc: BaseException) -> None:
        future = self._pending.pop(rid, None)
        if future is not None:
            future.set_exception(exc)

    def forward(self, urn: str, envelope: Envelope, /) -> None:
        """Send a remote ref's envelope: a tell, or an ask whose future we keep."""
        message, reply_to = envelope
        if type(message) in PLAIN_TYPES or is_plain(message):
            if reply_to is None:
                self.send((TELL_PLAIN, urn, message))
            else:
                self.request(reply_to, ASK_PLAIN, urn, message)
            return
        if reply_to is None:
            data = payload(message, self, f"message {message!r}")
            self.send((TELL, urn, data))
            return
        try:
            data = payload(message, self, f"message {message!r}")
        except TypeError as exc:
            reply_to.set_exception(exc)
            return
        self.request(reply_to, ASK, urn, data)

    def reply(self, rid: int, future: Future[Any]) -> None:
        """Send the outcome of `future` (which is done) as the reply to `rid`."""
        try:
            value = future.get(0)
        except BaseException as exc:  # noqa: BLE001 -- the outcome, whatever it is
            self.send_exception(rid, exc)
        else:
            self.send_value(rid, value)

    def send_value(self, rid: int, value: Any) -> None:
        """Send `value` as the reply to `rid`."""
        if is_plain(value):
            frame: tuple[Any, ...] = (REPLY_PLAIN, rid, value)
        else:
            frame = (REPLY, rid, *self._value_payload(value, f"reply {value!r}"))
        try:  # noqa: SIM105 -- suppress() would be three calls more per reply
            self.send(frame)
        except ActorDeadError:  # the asker's process is gone
            pass

    def send_exception(self, rid: int, exc: BaseException) -> None:
        """Send `exc` as the reply to `rid`, now."""
        with contextlib.suppress(ActorDeadError):  # the asker's process is gone
            self.send((REPLY, rid, False, exception_payload(exc, self)))

    def export_future(self, future: Future[Any]) -> int:
        """Number `future`, to be completed in the other process when it is done."""
        export_id = next(self._ids)
        future._add_done_callback(
            functools.partial(self._send_outcome, export_id, future)
        )
        return export_id

    def _send_outcome(self, export_id: int, future: Future[Any]) -> None:
        try:
            value = future.get(0)
        except BaseException as exc:  # noqa: BLE001 -- the outcome, whatever it is
            ok, data = False, exception_payload(exc, self)
        else:
            ok, data = self._value_payload(value, f"value {value!r}")
        with contextlib.suppress(ActorDeadError):
            self.send((FUTURE_DONE, export_id, ok, data))

    def _value_payload(self, value: Any, what: str) -> tuple[bool, bytes]:
        """``(True, value pickled)``; if it cannot be, ``(False, the error why)``.

        What a reply frame carries, ``ok`` and the payload: the asker gets
        either the value or a ``TypeError`` saying why it could not be sent.
        """
        try:
            return True, payload(value, self, what)
        except TypeError as exc:
            return False, exception_payload(exc, self)

    def import_future(self, export_id: int) -> ProcessFuture[Any]:
        """The future here of future `export_id` there (see `export_future`)."""
        future: ProcessFuture[Any] = ProcessFuture()
        with self._lock:
            early = self._early.pop(export_id, None)
            if early is None:
                self._imported[export_id] = future
        if early is not None:
            self._complete(future, *early)
        return future

    def _on_future_done(self, export_id: int, ok: bool, data: bytes) -> None:
        with self._lock:
            future = self._imported.pop(export_id, None)
            if future is None:
                self._early[export_id] = (ok, data)
                return
        self._complete(future, ok, data)

    def _on_reply(self, rid: int, ok: bool, data: bytes) -> None:
        future = self._pending.pop(rid, None)
        if future is not None:
            self._complete(future, ok, data)

    def _on_reply_plain(self, rid: int, value: Any) -> None:
        future = self._pending.pop(rid, None)
        if future is not None:
            future.set(value)

    def _complete(self, future: SettableFuture[Any], ok: bool, data: bytes) -> None:
        try:
            value = loads(data, self.name)
        except TypeError as exc:
            future.set_exception(exc)
            return
        if ok:
            future.set(value)
        else:
            future.set_exception(value)
