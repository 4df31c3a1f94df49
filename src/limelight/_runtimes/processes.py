"""The process runtime: actors that live in worker processes.

The parent process talks to each worker process over one duplex pipe (a
:class:`Channel`). Every frame is a small tuple, pickled; the message or
value it carries is pickled on its own first, so that a payload that cannot
be pickled (or unpickled) fails only its own message, with a clear error.
A plain message or value (numbers, strings, bytes, short tuples of them:
see `_is_plain`), which cannot fail so, travels in the frame itself.

Asks are answered through a table of pending futures per channel, keyed by a
number: no OS object is made per ask or per future.

Both ends run the same :class:`Channel` code: a ref pickled in one process
becomes, in the other, the local ref if the actor lives there, or else a
:class:`RemoteRef` that forwards through the channel the ref came from. The
parent's ref to an actor in a worker is such a remote ref, registered in the
parent's ``ActorRegistry``.
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import contextvars
import dataclasses
import functools
import io
import itertools
import os
import pickle
import queue
import select
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar, cast

from limelight._core import _observe, _waiting
from limelight._core._actor import Actor
from limelight._core._exceptions import ActorDeadError, Timeout
from limelight._core._future import (
    _PENDING,
    Future,
    SettableFuture,
    _normalize_exc_info,
)
from limelight._core._interrupts import HeldInterrupts
from limelight._core._log import logger
from limelight._core._mailbox import answer_too_late
from limelight._core._proxy import ActorProxy, lazy_proxy
from limelight._core._ref import NO_LOCAL_ACTOR, ActorRef, ended_reason
from limelight._core._registry import ActorRegistry
from limelight._core._runtime import mark_service_thread
from limelight._core._stopped import StoppedEvent
from limelight._runtimes.threads import ThreadingActor
from limelight.messages import Terminated

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from typing_extensions import Self

    from limelight._core._introspection import AttrInfo
    from limelight._core._observe import ActorInfo
    from limelight._core._types import AttrPath, Envelope, OptExcInfo
    from limelight.messages import ExitReason

__all__ = [
    "Channel",
    "Pool",
    "ProcessActor",
    "ProcessFuture",
    "RemoteRef",
    "configure",
    "shutdown",
    "workers",
]


T = TypeVar("T")

# Frame kinds. A frame is a tuple whose first item is one of these.
_START = 0  # (START, request id, urn, payload of (class, args, kwargs))
_TELL = 1  # (TELL, urn, payload of message)
_ASK = 2  # (ASK, urn, request id, payload of message)
_REPLY = 3  # (REPLY, request id, ok, payload of value or exception)
_KILL = 4  # (KILL, urn, request id): replied to once the actor is killed
_INTROSPECT = 5  # (INTROSPECT, urn, request id)
_TERMINATED = 6  # (TERMINATED, urn, reason, payload of exception)
_SUBSCRIBE = 7  # (SUBSCRIBE, urn): send TERMINATED for urn when it ends
_FUTURE_DONE = 8  # (FUTURE_DONE, export id, ok, payload)
_SHUTDOWN = 9  # (SHUTDOWN,): the worker stops its actors and exits
_SNAPSHOT = 10  # (SNAPSHOT, request id): the worker's limelight.observe.snapshot()
# The same as TELL, ASK and REPLY (ok), for a plain message or value (see
# _is_plain), which travels in the frame itself: one pickling, not two.
_TELL_PLAIN = 11  # (TELL_PLAIN, urn, message)
_ASK_PLAIN = 12  # (ASK_PLAIN, urn, request id, message)
_REPLY_PLAIN = 13  # (REPLY_PLAIN, request id, value)

_PROTOCOL = pickle.HIGHEST_PROTOCOL

# The pipe carries frames as ``Connection.send_bytes()`` writes them: a
# 4-byte big-endian length (-1, then an 8-byte one, past 2 GiB), then the
# bytes. A channel reads and writes them on the pipe's descriptor itself:
# the Python layers of ``Connection`` cost several calls per frame.
_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!Q")

# The longest frame written with its length in one ``os.write()``; a longer
# one goes through ``Connection.send_bytes()``, which does not copy it.
_SHORT_FRAME = 16384

# Which channel the current thread is reading from: unpickled refs and
# futures are bound to it.
_receiving = threading.local()

# How long a waiting thread waits for the read lock before it lets another
# read for it: the background reader holds the lock for one frame at a time.
_LEAD_WAIT = 0.001

# How long the background reader stands aside after a waiting thread led.
_LINGER = 0.002


def _readable(conn: Connection) -> Callable[[float | None], bool]:
    """A test of whether `conn` has data, waiting up to a timeout (``None``: ever).

    ``select()`` on the one descriptor: ``Connection.poll()`` builds a
    selector on every call, which costs as much as a frame.
    """
    fds = [conn.fileno()]

    def ready(timeout: float | None) -> bool:
        return bool(select.select(fds, (), (), timeout)[0])

    return ready


# (Module globals: one lookup, not two, per frame; and tests can cut writes short.)
_read = os.read
_write = os.write


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


def _write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to `fd` (a signal may cut a write short)."""
    written = _write(fd, data)
    while written < len(data):
        data = data[written:]
        written = _write(fd, data)


def _left(deadline: float | None) -> float | None:
    """Seconds until `deadline` (none left: 0), or ``None`` for no deadline."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


class ProcessFuture(SettableFuture[T]):
    """The future of asks to a process actor, completed by its channel's reader.

    It is an ordinary settable future: wait for it from any thread, await it
    from any event loop, combine it. Pickled into a message to another
    process, it becomes a future there that completes when this one does.

    A thread that blocks in ``get()`` on the reply to an ask through one of
    the parent's channels reads that channel itself while nobody else does
    (see :meth:`Channel.wait_leading`): the reply then wakes no other thread
    on its way to the asker.
    """

    # The channel whose reader completes it, when its waiters may read it.
    # Set by Channel.request() only (so read it with getattr()).
    __slots__ = ("_channel",)

    _channel: Channel

    def _wait_for(self, timeout: float | None) -> bool:
        channel: Channel | None = getattr(self, "_channel", None)
        # Not in a greenlet (reading the pipe would block its hub), nor in
        # an event loop's thread (to await is how to wait there).
        # (Without importing asyncio: if nobody has, no loop runs.)
        asyncio = sys.modules.get("asyncio")
        if (
            channel is None
            or (asyncio is not None and asyncio._get_running_loop() is not None)
            or (_waiting.has_waiter_factories() and _in_a_greenlet())
        ):
            return super()._wait_for(timeout)
        return channel.wait_leading(self, timeout)

    def _follow(self, timeout: float | None) -> bool:
        """Wait as any future does: someone else reads the reply."""
        return super()._wait_for(timeout)


def _in_a_greenlet() -> bool:
    """Whether a wait here parks a greenlet (a runtime's waiter), not a thread.

    (Only asked once a runtime has registered a waiter factory.)
    """
    return not isinstance(_waiting.new_waiter(), _thread.LockType)


# -- Pickling ------------------------------------------------------------------


class _Pickler(pickle.Pickler):
    """Pickles refs, proxies and futures so that they work in the other process."""

    channel: Channel

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, ActorRef):
            ref: ActorRef[Any] = obj  # pyright: ignore[reportUnknownVariableType] -- (mypy: Any)
            cls = ref.actor_class
            # A ref to an actor that has stopped arrives stopped.
            return _rebuild_ref, (
                ref.actor_urn,
                cls.__module__,
                cls.__qualname__,
                ended_reason(ref),
            )
        if isinstance(obj, ActorProxy):
            proxy: ActorProxy[Any] = obj  # pyright: ignore[reportUnknownVariableType] -- (mypy: Any)
            return lazy_proxy, (proxy.actor_ref, proxy._attr_path)
        if isinstance(obj, Future):
            future: Future[Any] = obj  # pyright: ignore[reportUnknownVariableType] -- (mypy: Any)
            return _rebuild_future, (self.channel.export_future(future),)
        if isinstance(obj, type):
            return _reduce_class(obj)
        return NotImplemented


def _rebuild_ref(
    urn: str, module: str, qualname: str, ended: ExitReason | None
) -> ActorRef[Any]:
    local = ActorRegistry.get_by_urn(urn)
    if local is not None:
        return local
    channel = _reading_channel()
    actor_class = _find_class(module, qualname)
    if ended is None:
        return channel.remote_ref(urn, actor_class)
    ref = RemoteRef(channel, urn, actor_class)
    ref._terminate(ended, None)
    return ref


def _rebuild_future(export_id: int) -> ProcessFuture[Any]:
    return _reading_channel().import_future(export_id)


# -- Classes made at run time ---------------------------------------------------
#
# Pickle sends a class by its module and qualified name, and the other
# process imports it. A class made at run time, such as
# ``type("Echo", (Echo, ProcessActor), {})`` in a factory or a decorator,
# cannot be found that way. If it only combines classes that can be found
# (its body adds nothing), it is sent as that combination instead, and the
# other process makes the same combination once and reuses it.

# What every class has in its own namespace, whatever its body: a class that
# holds nothing else is the combination of its bases.
_CLASS_BOOKKEEPING = frozenset(
    {
        "__module__",
        "__qualname__",
        "__doc__",
        "__dict__",
        "__weakref__",
        "__slotnames__",  # (copyreg's cache)
        "__abstractmethods__",  # (ABCMeta: Actor is an abc.ABC, as on Pykka)
        "_abc_impl",  # (ABCMeta's caches)
        "__firstlineno__",  # (a class statement, Python 3.13+)
        "__static_attributes__",  # (a class statement, Python 3.13+)
    }
)

# The combinations made here, by (module, qualname, bases), so that each is
# made once; and the latest by (module, qualname), so that refs find them.
_combinations: dict[tuple[str, str, tuple[type, ...]], type] = {}
_combinations_by_name: dict[tuple[str, str], type] = {}
_combinations_lock = threading.Lock()


def _reduce_class(cls: type) -> Any:
    """Send `cls` by name if it can be found so, else as a combination, else refuse."""
    module, qualname = cls.__module__, cls.__qualname__
    if _lookup(module, qualname) is cls:
        return NotImplemented  # by name, as pickle does
    extra = sorted(set(vars(cls)) - _CLASS_BOOKKEEPING)
    if extra and not issubclass(cls, Actor):
        return NotImplemented  # pickle's own rules (it sends type(None), say)
    if extra:
        msg = (
            f"class {module}.{qualname} cannot be imported by that name in another "
            "process: define it at the top level of a module (not in a function, "
            "nor in the __main__ of a script started with 'spawn'); a class made "
            "at run time can cross only if its body is empty, as in "
            "type(name, (Behaviour, ProcessActor), {}) "
            f"(this one defines {', '.join(extra)})"
        )
        raise pickle.PicklingError(msg)
    with _combinations_lock:
        _combinations_by_name[module, qualname] = cls
    return _combine, (cls.__name__, module, qualname, cls.__bases__, cls.__doc__)


def _combine(
    name: str, module: str, qualname: str, bases: tuple[type, ...], doc: str | None
) -> type:
    """The class that combines `bases`, named so, made once in this process."""
    key = (module, qualname, bases)
    with _combinations_lock:
        cls = _combinations.get(key)
        if cls is None:
            namespace = {"__module__": module, "__qualname__": qualname, "__doc__": doc}
            cls = _combinations[key] = type(name, bases, namespace)
        _combinations_by_name[module, qualname] = cls
        return cls


def _lookup(module: str, qualname: str) -> Any:
    """What `qualname` names in module `module` if it is imported here, else None."""
    obj: Any = sys.modules.get(module)
    for name in qualname.split("."):
        obj = getattr(obj, name, None)
    return obj


def _reading_channel_or_none() -> Channel | None:
    """The channel this thread reads, if it is a channel's reader."""
    return getattr(_receiving, "channel", None)


def _reading_channel() -> Channel:
    channel = _reading_channel_or_none()
    if channel is None:
        msg = (
            "refs and futures can be unpickled only from a process actor's channel: "
            "this data was pickled by limelight.process for a message to or from "
            "a process actor, and only Limelight, on receiving that message, can "
            "unpickle it; send the ref or the future itself in a message "
            "instead of bytes pickled from it"
        )
        raise TypeError(msg)
    return channel


def _find_class(module: str, qualname: str) -> type[Actor]:
    """The class named so if its module is imported here, else ``Actor``.

    A combination made at run time (see `_combine`) is found by its name
    too. Only a reader thread calls this: it must not import modules (their
    import could run anything), so a class that is not at hand is not used.
    """
    obj = _combinations_by_name.get((module, qualname)) or _lookup(module, qualname)
    return obj if isinstance(obj, type) and issubclass(obj, Actor) else Actor


# Types whose values pickle the same with or without a `_Pickler`: nothing
# in them is a ref, a proxy, a future or a class. (Exact types: a subclass
# may hold anything.)
_PLAIN_TYPES = frozenset({int, float, complex, str, bytes, bool, type(None)})

# The most items of a tuple of plain values looked at for the fast path:
# for longer ones the look costs more than the `_Pickler` it saves.
_PLAIN_ITEMS = 8


def _is_plain(obj: object) -> bool:
    """Whether `obj` is a plain value, or a short tuple of plain values."""
    kind = type(obj)
    if kind in _PLAIN_TYPES:
        return True
    if kind is tuple:
        items = cast("tuple[object, ...]", obj)
        return len(items) <= _PLAIN_ITEMS and all(
            type(item) in _PLAIN_TYPES for item in items
        )
    return False


def _dumps(obj: Any, channel: Channel) -> bytes:
    """Pickle `obj` for `channel`: refs, proxies and futures as `_Pickler` says.

    A plain value (most messages and replies) is pickled by ``pickle.dumps()``
    directly: a `_Pickler` is an object, a buffer and a Python call per
    value, more than the pickling of a number or a short string costs.
    """
    if _is_plain(obj):
        return pickle.dumps(obj, _PROTOCOL)
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, _PROTOCOL)
    pickler.channel = channel
    pickler.dump(obj)
    return buffer.getvalue()


def _payload(obj: Any, channel: Channel, what: str) -> bytes:
    """Pickle `obj`, or raise a ``TypeError`` that says what could not be sent."""
    try:
        return _dumps(obj, channel)
    except Exception as exc:  # pickling raises many kinds of error
        msg = (
            f"{what} cannot be pickled, so it cannot reach another process: {exc}. "
            "Send plain data and instances of classes defined at the top level "
            "of a module; keep what cannot be pickled (a lambda or local "
            "function, an open file, a lock, a socket) inside one actor, and "
            "send what stands for it instead (a name, a path, a ref to that actor)"
        )
        raise TypeError(msg) from exc


def _exception_payload(exc: BaseException, channel: Channel) -> bytes:
    try:
        return _dumps(exc, channel)
    except Exception:  # noqa: BLE001 -- an unpicklable exception: send what it said
        return _dumps(RuntimeError(f"{exc!r} (could not be pickled)"), channel)


# -- Replies ---------------------------------------------------------------------


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
        self._channel.send_value(self._rid, value)

    def set_exception(self, exc_info: OptExcInfo | BaseException | None = None) -> None:
        exc = _normalize_exc_info(exc_info)[1]
        self._channel.send_error(self._rid, exc, self._urn)


# -- Remote refs ---------------------------------------------------------------


class _ForwardingInbox:
    """The inbox of a remote ref: everything put in it goes over the channel."""

    __slots__ = ("channel", "urn")

    def __init__(self, channel: Channel, urn: str) -> None:
        self.channel = channel
        self.urn = urn

    def put(self, envelope: Envelope, /) -> None:
        self.channel.forward(self.urn, envelope)

    def get(self) -> NoReturn:
        raise queue.Empty  # nothing is ever queued here

    def get_nowait(self) -> NoReturn:
        raise queue.Empty

    def empty(self) -> bool:
        return True


class RemoteRef(ActorRef[Any]):
    """A ref to an actor in another process, reached through a channel.

    It is an [`ActorRef`][limelight.ActorRef] in every way the caller sees:
    ``tell()``, ``ask()``, ``proxy()``, ``stop()``, ``kill()``,
    ``termination()``; it learns from the other process when the actor ends.
    """

    def __init__(self, channel: Channel, urn: str, actor_class: type[Any]) -> None:
        # (ActorRef.__init__() reads a local actor; there is none here.)
        self.actor_class = actor_class
        self.actor_urn = urn
        self.actor_inbox = _ForwardingInbox(channel, urn)
        self.actor_stopped = StoppedEvent()
        self._create_future = ProcessFuture
        self._owner = None
        self._actor_weakref = NO_LOCAL_ACTOR
        self._channel = channel

    def kill(self) -> bool:
        if not self.actor_stopped.set():
            return False
        ActorRegistry.unregister(self)
        channel = self._channel
        killed: ProcessFuture[None] = ProcessFuture()
        channel.request(lambda rid: (_KILL, self.actor_urn, rid), killed)
        # As for a local actor, no queued message is handled once kill() has
        # returned: wait until the other side has killed it. (Not in this
        # channel's reader, which is the one that would read the reply.)
        if _reading_channel_or_none() is not channel:
            with contextlib.suppress(ActorDeadError):  # the process is gone
                killed.get()
        return True

    def _introspect(self) -> dict[AttrPath, AttrInfo]:
        if not self.is_alive():
            raise ActorDeadError(f"{self} not found")
        return self._introspect_future().get()

    def _introspect_future(self) -> Future[dict[AttrPath, AttrInfo]]:
        future: ProcessFuture[dict[AttrPath, AttrInfo]] = ProcessFuture()
        future._producer = self
        return self._channel.request(
            lambda rid: (_INTROSPECT, self.actor_urn, rid), future
        )

    def _terminate(self, reason: ExitReason, exception: BaseException | None) -> None:
        """The actor has ended in its process: say so here."""
        self.actor_stopped.set()
        ActorRegistry.unregister(self)
        self.actor_stopped.terminate(Terminated(self, reason, exception))


# -- Channels --------------------------------------------------------------------


_TOLD_ENDED_KEPT = 1024
"""How many ended actors a channel remembers, to refuse late messages as queued.

Messages reach the other process in the order sent, so a message to an actor
that ended can only be late by what was in flight then: remembering the last
thousand ends is plenty, and bounds the memory of a long-lived worker.
"""


class Channel:
    """One end of the pipe between two processes, and what travels on it."""

    def __init__(self, conn: Connection, name: str) -> None:
        self.conn = conn
        self.name = name
        # The pipe's descriptor, read and written directly (-1 once closed).
        self._fd = conn.fileno()
        self._send_lock = threading.Lock()
        self._ids = itertools.count()
        self._pending: dict[int, SettableFuture[Any]] = {}
        # Refs to actors on the other side, by urn, until they end (the other
        # side says when): someone may watch them without holding them.
        self._remotes: dict[str, RemoteRef] = {}
        # Those of the actors the parent started on the other side.
        self.hosted: dict[str, RemoteRef] = {}
        # The refs of the actors on this side whose end the other side will
        # be told of, by urn, until it is; and the ActorDeadError replies
        # held back until then: an actor that has begun to end refuses asks
        # before its end is told, and the asker must not see the refusal
        # while its ref there looks alive.
        self._unreported: dict[str, ActorRef[Any]] = {}
        self._held: dict[str, list[tuple[int, Future[Any]]]] = {}
        # The names of the last actors whose end was told, by urn: a message
        # to one of them was on its way when it ended (see _reply_late()).
        self._told_ended: dict[str, str] = {}
        self._imported: dict[int, ProcessFuture[Any]] = {}
        self._early: dict[int, tuple[bool, bytes]] = {}
        self._lock = threading.Lock()
        self.closed = False
        self.death: BaseException = ActorDeadError(f"{name} has closed")
        # Whether a thread waiting for a reply may read the pipe itself
        # (the parent's channels; see let_waiters_read()).
        self.leadable = False
        self._ready: Callable[[float | None], bool]
        # Held by whichever thread reads and handles frames, so that they
        # are handled one at a time, in order.
        self._read_lock = threading.Lock()
        # Whether a waiting thread holds _read_lock until its reply comes.
        self._leading = False
        # The contextvars context in which leaders handle frames.
        self._context = contextvars.Context()
        # Whether a leader met the end of the pipe: the reader closes.
        self._ended = False
        # Whether a waiting thread has led since the background reader looked.
        self._led = False
        # Where the background reader stands by while waiting threads lead.
        self._turn = threading.Condition(threading.Lock())

    # -- Sending ---------------------------------------------------------------

    def send(self, frame: tuple[Any, ...]) -> None:
        """Send a frame of plain values; raise ``ActorDeadError`` if closed."""
        data = pickle.dumps(frame, _PROTOCOL)
        try:
            with self._send_lock:
                if len(data) <= _SHORT_FRAME:
                    _write_all(self._fd, _LENGTH.pack(len(data)) + data)
                else:
                    self.conn.send_bytes(data)
        except (OSError, ValueError) as exc:  # closed by us, or broken
            raise ActorDeadError(f"{self.name} is closed") from exc

    def request(
        self, frame: Callable[[int], tuple[Any, ...]], future: SettableFuture[Any]
    ) -> SettableFuture[Any]:
        """Send ``frame(request_id)``; the reply to it will complete `future`."""
        rid = next(self._ids)
        self._pending[rid] = future
        if self.leadable and isinstance(future, ProcessFuture):
            future._channel = self
        try:
            self.send(frame(rid))
        except ActorDeadError as exc:
            self._fail(rid, exc)
        if self.closed:  # the reader may have failed the table before we added
            self._fail(rid, self.death)
        return future

    def _fail(self, rid: int, exc: BaseException) -> None:
        future = self._pending.pop(rid, None)
        if future is not None:
            future.set_exception(exc)

    def forward(self, urn: str, envelope: Envelope) -> None:
        """Send a remote ref's envelope: a tell, or an ask whose future we keep."""
        message, reply_to = envelope
        if _is_plain(message):
            if reply_to is None:
                self.send((_TELL_PLAIN, urn, message))
            else:
                self.request(lambda rid: (_ASK_PLAIN, urn, rid, message), reply_to)
            return
        if reply_to is None:
            payload = _payload(message, self, f"message {message!r}")
            self.send((_TELL, urn, payload))
            return
        try:
            payload = _payload(message, self, f"message {message!r}")
        except TypeError as exc:
            reply_to.set_exception(exc)
            return
        self.request(lambda rid: (_ASK, urn, rid, payload), reply_to)

    def reply(self, rid: int, future: Future[Any]) -> None:
        """Send the outcome of `future` (which is done) as the reply to `rid`."""
        try:
            value = future.get(0)
        except BaseException as exc:  # noqa: BLE001 -- the outcome, whatever it is
            self._send_exception(rid, exc)
        else:
            self.send_value(rid, value)

    def send_value(self, rid: int, value: Any) -> None:
        """Send `value` as the reply to `rid`."""
        if _is_plain(value):
            frame: tuple[Any, ...] = (_REPLY_PLAIN, rid, value)
        else:
            frame = (_REPLY, rid, *self._value_payload(value, f"reply {value!r}"))
        try:  # noqa: SIM105 -- suppress() would be three calls more per reply
            self.send(frame)
        except ActorDeadError:  # the asker's process is gone
            pass

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
        self._send_exception(rid, exc)

    def _send_exception(self, rid: int, exc: BaseException) -> None:
        with contextlib.suppress(ActorDeadError):  # the asker's process is gone
            self.send((_REPLY, rid, False, _exception_payload(exc, self)))

    def _reply_late(self, urn: str, rid: int, message: Any) -> None:
        """Answer `message`, asked of `urn`, which has no actor here (any more).

        One that was on its way while the actor ended is answered as if it
        had been queued then (``_core/_mailbox.answer_too_late()``): a stop
        succeeds, anything else was not handled; the answer waits until the
        other side has been told of the end.
        """
        future: ProcessFuture[Any] = ProcessFuture()
        ending = self._unreported.get(urn)
        name = str(ending) if ending is not None else self._told_ended.get(urn)
        if name is None:
            future.set_exception(ActorDeadError(f"actor {urn} not found"))
        else:
            answer_too_late(message, future, name)
        if not self._hold(urn, rid, future):
            self.reply(rid, future)

    def _hold(self, urn: str, rid: int, future: Future[Any]) -> bool:
        """Keep the reply to `rid` until the end of `urn` is told.

        False if there is nothing to wait for: the end was told, or the
        actor is running (its handler raised an ActorDeadError).
        """
        if ActorRegistry.get_by_urn(urn) is not None:
            return False
        with self._lock:
            if urn not in self._unreported:
                return False
            self._held.setdefault(urn, []).append((rid, future))
            return True

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
            ok, payload = False, _exception_payload(exc, self)
        else:
            ok, payload = self._value_payload(value, f"value {value!r}")
        with contextlib.suppress(ActorDeadError):
            self.send((_FUTURE_DONE, export_id, ok, payload))

    def _value_payload(self, value: Any, what: str) -> tuple[bool, bytes]:
        """``(True, value pickled)``; if it cannot be, ``(False, the error why)``.

        What a reply frame carries, ``ok`` and the payload: the asker gets
        either the value or a ``TypeError`` saying why it could not be sent.
        """
        try:
            return True, _payload(value, self, what)
        except TypeError as exc:
            return False, _exception_payload(exc, self)

    def import_future(self, export_id: int) -> ProcessFuture[Any]:
        future: ProcessFuture[Any] = ProcessFuture()
        with self._lock:
            early = self._early.pop(export_id, None)
            if early is None:
                self._imported[export_id] = future
        if early is not None:
            self._complete(future, *early)
        return future

    def remote_ref(self, urn: str, actor_class: type[Any]) -> RemoteRef:
        """The ref here to actor `urn` on the other side; learn when it ends."""
        with self._lock:
            ref = self._remotes.get(urn)
            if ref is not None:
                return ref
            ref = self._remotes[urn] = RemoteRef(self, urn, actor_class)
        try:
            self.send((_SUBSCRIBE, urn))
        except ActorDeadError as exc:
            ref._terminate("failure", exc)
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

    # -- Receiving -------------------------------------------------------------

    def serve(self) -> bool:
        """Read and handle frames until the other side closes the pipe.

        Returns whether the other side asked for a shutdown (rather than
        closing the pipe, or dying). The caller closes the channel.

        On a leadable channel, this background reader reads only while no
        waiting thread leads (see :meth:`wait_leading`): it waits for a
        frame without the read lock, then reads it under the lock if it is
        still there.
        """
        _receiving.channel = self
        read = self._read_beside_leaders if self.leadable else self._read
        try:
            while not read():
                pass
        except (EOFError, OSError):  # (OSError: closed here, under the reader)
            return False
        return True

    def _recv(self) -> bytes:
        """Read the next frame's bytes, waiting for them."""
        fd = self._fd
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

    def _read(self) -> bool:
        """Read and handle a frame; say whether it asked for a shutdown."""
        frame = pickle.loads(self._recv())
        if frame[0] == _SHUTDOWN:
            return True
        self._handle(frame)
        return False

    def _read_beside_leaders(self) -> bool:
        """Read and handle a frame, unless a leader has read it (never a shutdown)."""
        self._stand_by()
        self._ready(None)
        with self._read_lock:
            if self._ready(0):  # (else a leader read it)
                self._handle(pickle.loads(self._recv()))
        return False

    def let_waiters_read(self) -> None:
        """Let threads that wait for replies read the pipe (see :meth:`wait_leading`).

        For the parent's channels only: a worker's channel must see its
        shutdown frame in its background reader.
        """
        self._ready = _readable(self.conn)
        self.leadable = True

    def _stand_by(self) -> None:
        """Wait while waiting threads take turns at reading (the background reader).

        A thread that asks one actor after another leads each wait: if
        this reader woke up on each of their replies too, it would take a
        core from them (and contend for the read lock) every time. So it
        steps aside for as long as some thread led within the last
        `_LINGER` seconds, and then reads again. A leader that leaves while
        other asks are pending wakes it at once (see :meth:`_hand_over`), so
        only a frame nobody waits for (a tell, an actor's end) may wait that
        long.
        """
        with self._turn:
            while self._led and not self._ended:
                self._led = False
                self._turn.wait(_LINGER)

    def _hand_over(self) -> None:
        """Let go of the read: to the background reader now, if others wait."""
        if self._pending:  # other asks wait for replies: read on for them
            with self._turn:
                self._led = False
                self._turn.notify()
        else:
            self._led = True

    def _handle(self, frame: tuple[Any, ...]) -> None:
        try:
            self._handlers[frame[0]](self, *frame[1:])
        except Exception:  # a bug, or a payload: never the reader's end
            logger.exception("Handling a frame from %s failed", self.name)

    def wait_leading(self, future: ProcessFuture[Any], timeout: float | None) -> bool:
        """Wait for `future`, reading the pipe in this thread while nobody else does.

        The thread becomes the channel's leader: it handles every frame
        that comes, for every waiter, until its own reply has come (or
        `timeout` has passed, or the pipe has ended), then lets go of the
        read lock, so that another waiter or the background reader reads
        on. A thread that finds another leader waits as for any future: the
        leader, or after it the background reader, completes it. Returns
        whether `future` is done.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if (
            self._leading
            or self._ended
            or not self._read_lock.acquire(True, _LEAD_WAIT)
        ):
            return future._follow(_left(deadline))
        self._leading = True
        reading = getattr(_receiving, "channel", None)
        _receiving.channel = self
        recv = self._recv
        try:
            # Ctrl-C lands at once while this waits for data, but is held
            # while a frame is read and handled: cut in half, the frame would
            # leave the pipe out of step for every later reader.
            with HeldInterrupts() as interrupts:
                # (Its state, not _is_ready(): it has no get hook, since
                # get() ran none, and the test is two calls less per frame.)
                while future._state == _PENDING:
                    if not self._ready(None if deadline is None else _left(deadline)):
                        return future._is_ready()  # timed out
                    interrupts.hold()
                    # (In a context of the channel's own, as in the
                    # background reader: not in the waiting thread's.)
                    self._context.run(self._handle, pickle.loads(recv()))
                    interrupts.release()
        except (EOFError, OSError, ValueError):
            # The worker has gone (or the pipe was closed here): the
            # background reader, which sees the end too, closes the channel
            # and so fails the pending asks.
            self._ended = True
        else:
            return True
        finally:
            _receiving.channel = reading
            self._leading = False
            self._read_lock.release()
            self._hand_over()
        return future._follow(_left(deadline))

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

    def _loads(self, payload: bytes) -> Any:
        try:
            return pickle.loads(payload)
        except Exception as exc:  # unpickling raises many kinds of error
            msg = (
                f"a payload from {self.name} could not be unpickled: {exc!r}. "
                "Every class in it must be importable in this process too, by "
                "the same module and name (define it at the top level of a "
                "module), and must unpickle as it pickled (an exception whose "
                "__init__() takes other arguments than it passes to "
                "Exception.__init__() needs a __reduce__())"
            )
            raise TypeError(msg) from exc

    def _on_start(self, rid: int, urn: str, payload: bytes) -> None:
        try:
            actor_class, args, kwargs = self._loads(payload)
            _start_here(actor_class, args, kwargs, urn, self)
        except Exception as exc:  # noqa: BLE001 -- __init__() may raise anything
            self._send_exception(rid, exc)
        else:
            self.send_value(rid, None)

    def _on_tell(self, urn: str, payload: bytes) -> None:
        try:
            message = self._loads(payload)
        except TypeError:
            self._drop(urn)
        else:
            self._on_tell_plain(urn, message)

    def _on_tell_plain(self, urn: str, message: Any) -> None:
        target = ActorRegistry.get_by_urn(urn)
        try:
            if target is None:
                raise ActorDeadError(f"actor {urn} not found")
            target.tell(message)
        except Exception:  # noqa: BLE001 -- logged
            self._drop(urn)

    def _drop(self, urn: str) -> None:
        """Log the exception being handled: a tell to `urn` is dropped."""
        logger.warning("Dropped a message from %s to %s", self.name, urn, exc_info=True)

    def _on_ask(self, urn: str, rid: int, payload: bytes) -> None:
        try:
            message = self._loads(payload)
        except TypeError as exc:
            self._send_exception(rid, exc)
        else:
            self._on_ask_plain(urn, rid, message)

    def _on_ask_plain(self, urn: str, rid: int, message: Any) -> None:
        target = ActorRegistry.get_by_urn(urn)
        if target is None:
            self._reply_late(urn, rid, message)
            return
        # As ref.ask() queues it, with a `_Reply` for the future: the actor's
        # thread sends the reply itself.
        reply = _Reply(self, rid, urn)
        try:
            queued = target._enqueue(message, reply)
        except Exception as exc:  # noqa: BLE001 -- a full bounded mailbox: the asker's
            reply.set_exception(exc)
            return
        if not queued:  # it has stopped since
            self._reply_late(urn, rid, message)

    def _on_reply(self, rid: int, ok: bool, payload: bytes) -> None:
        future = self._pending.pop(rid, None)
        if future is not None:
            self._complete(future, ok, payload)

    def _on_reply_plain(self, rid: int, value: Any) -> None:
        future = self._pending.pop(rid, None)
        if future is not None:
            future.set(value)

    def _complete(self, future: SettableFuture[Any], ok: bool, payload: bytes) -> None:
        try:
            value = self._loads(payload)
        except TypeError as exc:
            future.set_exception(exc)
            return
        if ok:
            future.set(value)
        else:
            future.set_exception(value)

    def _on_kill(self, urn: str, rid: int) -> None:
        target = ActorRegistry.get_by_urn(urn)
        if target is not None:
            target.kill()
        self.send_value(rid, None)

    def _on_introspect(self, urn: str, rid: int) -> None:
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

    def _on_terminated(self, urn: str, reason: ExitReason, payload: bytes) -> None:
        ref = self.forget(urn)
        if ref is not None:
            try:
                exception = self._loads(payload)
            except TypeError as exc:  # the exception it ended with: say why not
                exception = exc
            ref._terminate(reason, exception)

    def _on_subscribe(self, urn: str) -> None:
        target = ActorRegistry.get_by_urn(urn)
        if target is None:
            self._send_terminated(urn, None)
        else:
            self.report_end(target)

    def report_end(self, ref: ActorRef[Any]) -> None:
        """Tell the other side when `ref`'s actor ends (at once if it has)."""
        with self._lock:
            self._unreported[ref.actor_urn] = ref
        ref.actor_stopped.add_termination_callback(
            ("process", id(self)),
            functools.partial(self._send_terminated, ref.actor_urn),
        )

    def _send_terminated(self, urn: str, terminated: Terminated | None) -> None:
        if terminated is None:
            reason: ExitReason = "normal"
            exc: BaseException | None = None
        else:
            reason, exc = terminated.reason, terminated.exception
        payload = (
            _exception_payload(exc, self) if exc is not None else _dumps(None, self)
        )
        with contextlib.suppress(ActorDeadError):
            self.send((_TERMINATED, urn, reason, payload))
        with self._lock:
            ended = self._unreported.pop(urn, None)
            held = self._held.pop(urn, ())
            if ended is not None:
                told = self._told_ended
                told[urn] = str(ended)
                if len(told) > _TOLD_ENDED_KEPT:
                    del told[next(iter(told))]  # the oldest
        for rid, future in held:
            self.reply(rid, future)

    def _on_future_done(self, export_id: int, ok: bool, payload: bytes) -> None:
        with self._lock:
            future = self._imported.pop(export_id, None)
            if future is None:
                self._early[export_id] = (ok, payload)
                return
        self._complete(future, ok, payload)

    def _on_snapshot(self, rid: int) -> None:
        pid = os.getpid()
        self.send_value(
            rid,
            [
                dataclasses.replace(info, runtime=f"process {pid}")
                for info in _observe.snapshot()
            ],
        )

    _handlers: ClassVar[dict[int, Any]] = {
        _START: _on_start,
        _TELL: _on_tell,
        _ASK: _on_ask,
        _REPLY: _on_reply,
        _KILL: _on_kill,
        _INTROSPECT: _on_introspect,
        _TERMINATED: _on_terminated,
        _SUBSCRIBE: _on_subscribe,
        _FUTURE_DONE: _on_future_done,
        _SNAPSHOT: _on_snapshot,
        _TELL_PLAIN: _on_tell_plain,
        _ASK_PLAIN: _on_ask_plain,
        _REPLY_PLAIN: _on_reply_plain,
    }


def _start_here(
    actor_class: type[Actor],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    urn: str,
    channel: Channel,
) -> None:
    """Start an actor in this (worker) process, as ``Actor.start()`` would.

    The parent named the actor already: its ref there carries `urn`.
    """
    channel.report_end(actor_class(*args, **kwargs)._limelight_register_and_run(urn))


# -- The worker process --------------------------------------------------------


def _worker_main(conn: Connection) -> None:
    """Run a worker process: serve the parent until it closes the pipe or dies."""
    channel = Channel(conn, f"parent process {os.getppid()}")
    _Worker.channel = channel
    if channel.serve():
        # The parent asked us to stop: stop our actors (their ends are
        # reported to it), then exit.
        ActorRegistry.stop_all(timeout=_Worker.stop_timeout)
        channel.close()
        return
    # The parent has gone: nobody is left to talk to. Exit now, without
    # waiting for actors that may be blocked on the parent.
    channel.close()
    _exit(0)


def _exit(code: int) -> NoReturn:
    # Coverage data of this process is saved by coverage's "_exit" patch.
    os._exit(code)


class _Worker:
    """State of this process when it is a worker."""

    channel: ClassVar[Channel | None] = None
    stop_timeout: ClassVar[float] = 10.0


# -- The parent's pool ------------------------------------------------------------


class _WorkerHandle:
    """A worker process, as the parent sees it."""

    def __init__(
        self, process: BaseProcess, channel: Channel, *, dedicated: bool
    ) -> None:
        self.process = process
        self.channel = channel
        self.dedicated = dedicated
        self.reader: threading.Thread | None = None


class Pool:
    """The worker processes of this program, started on demand.

    In pool mode (the default), at most `processes` workers are started and
    each new actor goes to the one that hosts the fewest actors. An actor
    class with ``dedicated_process = True`` gets a worker of its own, which
    exits when the actor ends.
    """

    def __init__(
        self, processes: int | None = None, start_method: str | None = None
    ) -> None:
        import multiprocessing  # noqa: PLC0415 -- only programs with process actors

        self.processes = processes or os.cpu_count() or 1
        if start_method is None:
            start_method = default_start_method()
        if start_method == "fork":
            msg = (
                "the 'fork' start method is not supported: it copies every thread's "
                "locks mid-use; use 'forkserver' or 'spawn'"
            )
            raise ValueError(msg)
        self.start_method = start_method
        # (Typed loosely: each start method's context has its own Process class.)
        self._context: Any = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload(["limelight.process"])
        self._workers: list[_WorkerHandle] = []
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def workers(self) -> list[BaseProcess]:
        """The worker processes running now."""
        with self._lock:
            return [w.process for w in self._workers]

    def start_actor(
        self, actor_class: type[Actor], args: Any, kwargs: Any
    ) -> RemoteRef:
        """Start an actor in a worker; return the parent's ref to it."""
        dedicated = bool(getattr(actor_class, "dedicated_process", False))
        payload = _payload(
            (actor_class, args, kwargs),
            _NO_CHANNEL,
            f"{actor_class.__name__} or its arguments",
        )
        worker = self._worker_for(dedicated=dedicated)
        channel = worker.channel
        ref = RemoteRef(channel, _new_urn(), actor_class)
        channel.host(ref)
        started: ProcessFuture[None] = ProcessFuture()
        channel.request(lambda rid: (_START, rid, ref.actor_urn, payload), started)
        # Registered once the start is on the pipe, so that a message sent to
        # it from then on (a broadcast) follows the start, as the worker
        # handles frames in order.
        ActorRegistry.register(ref)
        try:
            started.get()
        except BaseException as exc:
            # (Ended, not only marked stopped: whoever found it registered
            # meanwhile may wait for its termination.)
            channel.forget(ref.actor_urn)
            ref._terminate("failure", exc)
            if dedicated:
                self._retire(worker)
            raise
        if dedicated:
            ref.actor_stopped.add_termination_callback(
                ("process", "dedicated"), lambda _t: self._retire(worker)
            )
        return ref

    def _worker_for(self, *, dedicated: bool) -> _WorkerHandle:
        with self._lock:
            self._workers = [w for w in self._workers if not w.channel.closed]
            shared = [w for w in self._workers if not w.dedicated]
            if not dedicated and len(shared) >= self.processes:
                return min(shared, key=lambda w: len(w.channel.hosted))
            worker = self._spawn(dedicated=dedicated)
            self._workers.append(worker)
            return worker

    def _spawn(self, *, dedicated: bool) -> _WorkerHandle:
        number = next(self._numbers)
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(child_end,),
            name=f"limelight-worker-{number}",
            daemon=True,
        )
        process.start()
        child_end.close()  # the worker holds it: EOF here when the worker dies
        channel = Channel(parent_end, f"worker process {process.pid}")
        channel.let_waiters_read()
        worker = _WorkerHandle(process, channel, dedicated=dedicated)
        reader = threading.Thread(
            target=self._read,
            args=(worker,),
            name=f"limelight-worker-{number}-reader",
            daemon=True,
        )
        mark_service_thread(reader)
        worker.reader = reader
        reader.start()
        return worker

    def _read(self, worker: _WorkerHandle) -> None:
        worker.channel.serve()  # (a worker never asks its parent to shut down)
        process = worker.process
        process.join(5.0)
        code = process.exitcode
        if code is not None and code < 0:
            how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        worker.channel.close(ActorDeadError(f"worker process {process.pid} {how}"))

    def _retire(self, worker: _WorkerHandle) -> None:
        """Ask a worker to exit once its actors have stopped."""
        with contextlib.suppress(ActorDeadError):
            worker.channel.send((_SHUTDOWN,))

    def close(self, timeout: float = 10.0) -> None:
        """Stop every worker's actors and end the workers, waiting for them."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            self._retire(worker)
        for worker in workers:
            worker.process.join(timeout)
            if worker.process.is_alive():  # pragma: no cover -- a hung on_stop()
                worker.process.kill()
                worker.process.join()
            worker.channel.close(ActorDeadError("the worker processes were shut down"))
            if worker.reader is not None:  # pragma: no branch -- set when spawned
                worker.reader.join(timeout)


def default_start_method() -> str:
    """``"forkserver"`` where the platform has it, else ``"spawn"``."""
    import multiprocessing  # noqa: PLC0415 -- only programs with process actors

    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


class _NoChannel(Channel):
    """Pickling outside a channel: refs and futures cannot be exported."""

    def __init__(self) -> None:
        pass

    def export_future(self, future: Future[Any]) -> NoReturn:
        msg = (
            "a future cannot be passed to a process actor's constructor: pass "
            "its value (future.get()), or send the future in a message once "
            "the actor has started"
        )
        raise TypeError(msg)


_NO_CHANNEL = _NoChannel()


def _new_urn() -> str:
    from limelight._core._actor import new_actor_urn  # noqa: PLC0415

    return new_actor_urn()


_pool: Pool | None = None
_pool_settings: dict[str, Any] = {}
_pool_lock = threading.Lock()


def workers_snapshot(timeout: float) -> list[ActorInfo]:
    """The actors of the pool's workers, from those that answer within `timeout`."""
    pool = _pool
    if pool is None:  # (never made one: asking would start it)
        return []
    with pool._lock:
        channels = [w.channel for w in pool._workers]
    futures = [
        channel.request(lambda rid: (_SNAPSHOT, rid), ProcessFuture())
        for channel in channels
    ]
    deadline = time.monotonic() + timeout
    infos: list[ActorInfo] = []
    for future in futures:
        try:
            infos.extend(future.get(max(0.0, deadline - time.monotonic())))
        except (Timeout, ActorDeadError):  # too slow, or gone: left out
            continue
    return infos


_observe.add_source(workers_snapshot)


def _get_pool() -> Pool:
    global _pool  # noqa: PLW0603 -- one pool per program
    with _pool_lock:
        if _pool is None:
            _pool = Pool(**_pool_settings)
        return _pool


def configure(*, processes: int | None = None, start_method: str | None = None) -> None:
    """Set up the worker pool, before the first process actor starts.

    Args:
        processes: the most worker processes shared by pooled actors; the
            default is the number of CPUs.
        start_method: how workers are started: ``"forkserver"`` (the
            default where it exists) or ``"spawn"``. ``"fork"`` is refused:
            forking a process that runs threads is unsafe.

    Raises:
        RuntimeError: if worker processes are running; call
            [`shutdown()`][limelight.process.shutdown] first.
        ValueError: for the ``"fork"`` start method.
    """
    global _pool  # noqa: PLW0603 -- one pool per program
    with _pool_lock:
        if _pool is not None and _pool.workers():
            msg = (
                "worker processes are running: call limelight.process.shutdown() first"
            )
            raise RuntimeError(msg)
        settings: dict[str, Any] = {
            "processes": processes,
            "start_method": start_method,
        }
        _pool = Pool(**settings)
        _pool_settings.clear()
        _pool_settings.update(settings)


def shutdown(timeout: float = 10.0) -> None:
    """Stop every process actor and end the worker processes.

    Each worker stops its actors (``on_stop()`` runs) and exits; a worker
    still running after `timeout` seconds is killed. Process actors started
    afterwards get new workers. Runs by itself at interpreter exit.
    """
    with _pool_lock:
        pool = _pool
    if pool is not None:
        pool.close(timeout)


def workers() -> list[BaseProcess]:
    """The worker processes running now (for tests and monitoring)."""
    with _pool_lock:
        pool = _pool
    return [] if pool is None else pool.workers()


atexit.register(shutdown)


class ProcessActor(ThreadingActor):
    """An actor that runs in a worker process: Python code in it runs in parallel.

    Subclass it as you would [`ThreadingActor`][limelight.ThreadingActor]
    and call [`start()`][limelight.Actor.start]: ``__init__()`` runs in a
    worker process, and you get an [`ActorRef`][limelight.ActorRef] through
    which ``tell()``, ``ask()``, ``proxy()`` and ``stop()`` work as for any
    actor. Messages, replies and the constructor's arguments are pickled, so
    they must be picklable, and the class must be importable by its module
    name (defined at the top level of a module). See the
    [Processes](../processes.md) guide.

    Inside the worker the actor is a thread actor: it may start other
    actors there, which live in the same worker process.
    """

    dedicated_process: ClassVar[bool] = False
    """Start each actor of this class in a worker process of its own.

    The worker starts with the actor (a process start: milliseconds) and
    exits when it ends. The default shares the pool's workers.
    """

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:  # pyright: ignore[reportIncompatibleMethodOverride] -- the same signature as Actor.start(); pyright binds Self apart
        """Start the actor in a worker process and return a ref to it.

        Raises:
            TypeError: if the class or an argument cannot be pickled.
            ActorDeadError: if the worker process died while starting it.
            Exception: whatever ``__init__()`` raised, in the worker.
        """
        if _Worker.channel is not None:  # in a worker already: start here
            return super().start(*args, **kwargs)
        return _get_pool().start_actor(cls, args, kwargs)
