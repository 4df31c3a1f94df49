"""``Channel``: one end of the pipe between two processes, and what travels on it.

Both ends run the same code. A channel is the transport (see
``_remote/_ref.py``) of every ``RemoteRef`` through it: refs to actors on
the other side, which it keeps by urn until the other side says that they
ended (a TERMINATED frame, asked for by SUBSCRIBE, or owed for an actor it
started). For the actors on its own side that the other side reaches, it is
their host (``_remote/_hosting.py``): it reports each one's end in a
TERMINATED frame, and answers what comes for one too late by the one rule
(``_remote/_late.py``). An ActorDeadError reply to an actor that has begun
to end is held until its TERMINATED frame is sent: the asker must not see
the refusal while its ref there looks alive.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from typing import TYPE_CHECKING, Any, ClassVar

from limelight._core import _observe
from limelight._core._exceptions import ActorDeadError
from limelight._core._future import Future, _normalize_exc_info
from limelight._core._registry import ActorRegistry
from limelight._remote._hosting import Hosting
from limelight._remote._late import answer_late, ask_here, dropped, tell_here
from limelight._remote._ref import RemoteRef
from limelight._runtimes import inline
from limelight._runtimes.inline import InlineInbox
from limelight._runtimes.processes import _waits as waits
from limelight._runtimes.processes import _wire as wire
from limelight._runtimes.processes._future import ProcessFuture
from limelight._runtimes.processes._pickling import (
    dumps,
    exception_payload,
    loads,
    reading_channel_or_none,
)
from limelight._runtimes.processes._reading import Reading

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection

    from limelight._core._introspection import AttrInfo
    from limelight._core._types import AttrPath, OptExcInfo
    from limelight.messages import ExitReason, Terminated

__all__ = ["Channel"]


class _Reply(Future[Any]):
    """The `reply_to` of an ask from the other process: completing it sends the reply.

    The reader puts the ask into the actor's inbox with one of these, and
    the actor's thread, which completes it after the handler, writes the
    reply frame itself: no future is made and completed, and no callback
    runs, per ask. Nobody in this process waits for it; it is completed
    once, by whoever answers the ask (the actor, its mailbox, or a channel
    that forwarded the ask on).
    """

    __slots__ = ("_channel", "_rid", "_urn")

    def __init__(self, channel: Channel, rid: int, urn: str) -> None:
        self._hook = None  # (Future.__init__() inlined: one per ask)
        self._channel = channel
        self._rid = rid
        self._urn = urn

    def set(self, value: Any = None) -> None:
        if type(value) in wire.PLAIN_TYPES:  # (send_value(), written out)
            try:  # noqa: SIM105 -- suppress() would be three calls more per reply
                self._channel.send((wire.REPLY_PLAIN, self._rid, value))
            except ActorDeadError:  # the asker's process is gone
                pass
        else:
            self._channel.send_value(self._rid, value)

    def set_exception(self, exc_info: OptExcInfo | BaseException | None = None) -> None:
        exc = _normalize_exc_info(exc_info)[1]
        self._channel.send_error(self._rid, exc, self._urn)


class Channel(Reading):
    """One end of the pipe between two processes, and what travels on it."""

    def __init__(self, conn: Connection, name: str) -> None:
        super().__init__(conn, name)
        # Refs to actors on the other side, by urn, until they end (the other
        # side says when): someone may watch them without holding them.
        self._remotes: dict[str, RemoteRef] = {}
        # Those of the actors the parent started on the other side.
        self.hosted: dict[str, RemoteRef] = {}
        # The actors on this side whose end the other side is owed.
        self.hosting = Hosting(("process", id(self)), self._send_terminated)

    # -- The transport of remote refs --------------------------------------------

    def kill(self, ref: RemoteRef, /) -> None:
        """Kill `ref`'s actor on the other side; wait until it is killed."""
        killed: ProcessFuture[None] = ProcessFuture()
        self.request(killed, wire.KILL, ref.actor_urn)
        # As for a local actor, no queued message is handled once kill() has
        # returned: wait until the other side has killed it. (Not in this
        # channel's reader, which is the one that would read the reply,
        # unless another can read for it: see _relief.py.)
        if reading_channel_or_none() is not self or self.turns.relieve_me():
            with contextlib.suppress(ActorDeadError):  # the process is gone
                killed.get()

    def introspect(self, ref: RemoteRef, /) -> Future[dict[AttrPath, AttrInfo]]:
        """Ask the other side what a proxy of `ref`'s actor needs to know."""
        future: ProcessFuture[dict[AttrPath, AttrInfo]] = ProcessFuture()
        future._producer = ref
        self.request(future, wire.INTROSPECT, ref.actor_urn)
        return future

    def subscribe(self, ref: RemoteRef, /) -> None:
        """Ask the other side for a TERMINATED frame when `ref`'s actor ends."""
        try:
            self.send((wire.SUBSCRIBE, ref.actor_urn))
        except ActorDeadError as exc:
            ref._terminate("failure", exc)

    def ended(self, ref: RemoteRef, /) -> None:
        """Nothing to let go of: the table forgets a ref when its end is told."""

    # -- The table of remote refs -----------------------------------------------

    def remote_ref(self, urn: str, actor_class: type[Any]) -> RemoteRef:
        """The ref here to actor `urn` on the other side; learn when it ends."""
        with self._lock:
            ref = self._remotes.get(urn)
            if ref is not None:
                return ref
            ref = self._remotes[urn] = RemoteRef(self, urn, actor_class, ProcessFuture)
        ref._subscribe()
        return ref

    def host(self, ref: RemoteRef) -> None:
        """Hold `ref`, to an actor started on the other side, until it ends."""
        with self._lock:
            self._remotes[ref.actor_urn] = ref
            self.hosted[ref.actor_urn] = ref

    def forget(self, urn: str) -> RemoteRef | None:
        """Stop holding the ref to actor `urn` on the other side; return it, if held.

        Once the actor has ended there, or did not start.
        """
        with self._lock:
            self.hosted.pop(urn, None)
            return self._remotes.pop(urn, None)

    # -- Replies that wait for an end --------------------------------------------

    def send_error(self, rid: int, exc: BaseException, urn: str) -> None:
        """Send `exc` as the reply to `rid`, asked of `urn`.

        An `ActorDeadError` waits until the other side has been told that
        the actor ended (see :meth:`_hold`).
        """
        if isinstance(exc, ActorDeadError):
            failed: ProcessFuture[Any] = ProcessFuture()
            failed.set_exception(exc)
            if self._hold(urn, rid, failed):
                return
        self.send_exception(rid, exc)

    def _reply_late(self, urn: str, rid: int, message: Any) -> None:
        """Answer `message`, asked of `urn`, which has no actor here (any more).

        By the one rule (``_remote/_late.py``); the answer waits until the
        other side has been told of the end.
        """
        future: ProcessFuture[Any] = ProcessFuture()
        answer_late(urn, message, future, self.hosting.name(urn))
        if not self._hold(urn, rid, future):
            self.reply(rid, future)

    def _hold(self, urn: str, rid: int, future: Future[Any]) -> bool:
        """Keep the reply to `rid` until the end of `urn` is told.

        False if there is nothing to wait for: the end was told, or the
        actor is running (its handler raised an ActorDeadError).
        """
        if ActorRegistry.get_by_urn(urn) is not None:
            return False
        return self.hosting.hold(urn, functools.partial(self.reply, rid, future))

    def _send_terminated(self, urn: str, terminated: Terminated | None) -> None:
        if terminated is None:
            reason: ExitReason = "normal"
            exc: BaseException | None = None
        else:
            reason, exc = terminated.reason, terminated.exception
        data = exception_payload(exc, self) if exc is not None else dumps(None, self)
        with contextlib.suppress(ActorDeadError):
            self.send((wire.TERMINATED, urn, reason, data))

    # -- Frame handlers ----------------------------------------------------------

    def _on_start(self, rid: int, urn: str, data: bytes) -> None:
        try:
            actor_class, args, kwargs = loads(data, self.name)
            # (An actor whose class can run inline gets an inbox that lets
            # this thread handle its asks: see _on_ask_plain().)
            with inline.hosting():
                self.hosting.start(urn, functools.partial(actor_class, *args, **kwargs))
        except Exception as exc:  # noqa: BLE001 -- __init__() may raise anything
            self.send_exception(rid, exc)
        else:
            self.send_value(rid, None)

    def _on_tell(self, urn: str, data: bytes) -> None:
        try:
            message = loads(data, self.name)
        except TypeError:
            dropped(urn, self.name)
        else:
            self._on_tell_plain(urn, message)

    def _on_tell_plain(self, urn: str, message: Any) -> None:
        tell_here(ActorRegistry.get_by_urn(urn), urn, message, self.name)

    def _on_ask(self, rid: int, urn: str, data: bytes) -> None:
        try:
            message = loads(data, self.name)
        except TypeError as exc:
            self.send_exception(rid, exc)
        else:
            self._on_ask_plain(rid, urn, message)

    def _on_ask_plain(self, rid: int, urn: str, message: Any) -> None:
        # As ref.ask() queues it, with a `_Reply` for the future: whoever
        # handles it sends the reply. An idle actor with an InlineInbox
        # handles it in this thread (``_runtimes/inline.py``), while another
        # reads on if it takes long (``_relief.py``).
        target = ActorRegistry.get_by_urn(urn)
        reply = _Reply(self, rid, urn)
        if target is not None:
            inbox = target.actor_inbox
            if type(inbox) is InlineInbox:
                turns = self.turns
                turns.begin_inline()
                try:
                    if inbox.answer_here((message, reply)):
                        return
                finally:
                    turns.end_inline()
        if not ask_here(target, message, reply):
            self._reply_late(urn, rid, message)

    def _on_kill(self, rid: int, urn: str) -> None:
        target = ActorRegistry.get_by_urn(urn)
        if target is not None:
            target.kill()
        self.send_value(rid, None)

    def _on_introspect(self, rid: int, urn: str) -> None:
        target = ActorRegistry.get_by_urn(urn)
        future: Future[Any]
        if isinstance(target, RemoteRef):
            future = target._introspect_future()  # not waited for here
        else:
            future = ProcessFuture()
            try:
                if target is None:
                    raise ActorDeadError(f"actor {urn} not found")
                future.set(target._introspect())
            except ActorDeadError as exc:
                future.set_exception(exc)
        future._add_done_callback(functools.partial(self.reply, rid, future))

    def _on_terminated(self, urn: str, reason: ExitReason, data: bytes) -> None:
        ref = self.forget(urn)
        if ref is not None:
            try:
                exception = loads(data, self.name)
            except TypeError as exc:  # the exception it ended with: say why not
                exception = exc
            ref._terminate(reason, exception)

    def _on_subscribe(self, urn: str) -> None:
        target = ActorRegistry.get_by_urn(urn)
        if target is None:
            self._send_terminated(urn, None)
        else:
            self.hosting.watch(target)

    def _on_snapshot(self, rid: int) -> None:
        runtime = f"process {os.getpid()}"
        infos = _observe.snapshot()
        self.send_value(
            rid, [dataclasses.replace(info, runtime=runtime) for info in infos]
        )

    _handlers: ClassVar[dict[int, Callable[..., None]]] = {
        wire.START: _on_start,
        wire.TELL: _on_tell,
        wire.ASK: _on_ask,
        wire.REPLY: Reading._on_reply,
        wire.KILL: _on_kill,
        wire.INTROSPECT: _on_introspect,
        wire.TERMINATED: _on_terminated,
        wire.SUBSCRIBE: _on_subscribe,
        wire.FUTURE_DONE: Reading._on_future_done,
        wire.SNAPSHOT: _on_snapshot,
        wire.TELL_PLAIN: _on_tell_plain,
        wire.ASK_PLAIN: _on_ask_plain,
        wire.REPLY_PLAIN: Reading._on_reply_plain,
        wire.WAIT: waits.on_wait,
        wire.CONFIRM: waits.on_confirm,
        wire.WAIT_END: waits.on_wait_end,
    }

    def close(self, death: BaseException | None = None) -> None:
        """Close the pipe; fail pending asks; end the refs to the other side."""
        if death is not None:
            self.death = death
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._ended = True
            remotes = list(self._remotes.values())
            self.hosted.clear()
            imported, self._imported = self._imported, {}
        with self._turn:  # the background reader stands by no more
            self._turn.notify()
        self.turns.close()
        self._fd = -1  # (before the number can name another file)
        self.conn.close()
        # (Popped one at a time: an ask racing this pops its own entry when
        # it sees `closed`, and each entry is popped, so failed, only once.)
        pending = self._pending
        while pending:
            try:
                _, future = pending.popitem()
            except KeyError:  # pragma: no cover -- the racing ask took the last
                break
            future.set_exception(self.death)
        for future in imported.values():
            future.set_exception(self.death)
        for ref in remotes:
            ref._terminate("failure", self.death)
        waits.KEPT.forget(self)  # (the waits its worker reported: over)
