"""Pickling for a channel: refs, proxies, futures and classes that cross.

A ref pickled in one process becomes, in the other, the local ref if the
actor lives there, or else a ``RemoteRef`` that forwards through the channel
the ref came from (the channel that is unpickling it: `receiving`). A future
becomes a future there that completes when this one does (the channel
exports it). A class made at run time crosses as the combination of its
bases (see `_classes`).
"""

from __future__ import annotations

import functools
import io
import pickle
import threading
from typing import TYPE_CHECKING, Any, cast

from limelight._core._future import Future
from limelight._core._proxy import ActorProxy, lazy_proxy
from limelight._core._ref import ActorRef, ended_reason
from limelight._core._registry import ActorRegistry
from limelight._remote._carry import carried
from limelight._remote._ref import RemoteRef, dead_on_arrival
from limelight._runtimes.processes._classes import find_class, reduce_class
from limelight._runtimes.processes._future import ProcessFuture
from limelight._runtimes.processes._wire import PROTOCOL, is_plain

if TYPE_CHECKING:
    from limelight._runtimes.processes._channel import Channel
    from limelight._runtimes.processes._protocol import Requests
    from limelight._runtimes.processes._reading import Reading
    from limelight.messages import ExitReason

__all__ = [
    "dumps",
    "exception_payload",
    "payload",
    "reading_channel_or_none",
    "receiving",
]


class _Receiving(threading.local):
    """Which channel the current thread is reading from, if any."""

    # (A class default: no AttributeError raised and caught per look.)
    channel: Reading | None = None


receiving = _Receiving()
"""Which channel the current thread is reading from (``receiving.channel``).

Unpickled refs and futures are bound to it.
"""


class Pickler(pickle.Pickler):
    """Pickles refs, proxies and futures so that they work in the other process."""

    channel: Requests

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, ActorRef):
            ref: ActorRef[Any] = obj  # pyright: ignore[reportUnknownVariableType] -- (mypy: Any)
            if not ref._limelight_travels:
                return ref.__reduce__()  # (which raises, saying why)
            cls = ref.actor_class
            # (The class by name: the reader must not import it. A ref to an
            # actor that has stopped arrives stopped.)
            named = (ref.actor_urn, cls.__module__, cls.__qualname__)
            return _rebuild_ref, (*named, ended_reason(ref))
        if isinstance(obj, ActorProxy):
            proxy: ActorProxy[Any] = obj  # pyright: ignore[reportUnknownVariableType] -- (mypy: Any)
            return lazy_proxy, (proxy.actor_ref, proxy._attr_path)
        if isinstance(obj, Future):
            future: Future[Any] = obj  # pyright: ignore[reportUnknownVariableType] -- (mypy: Any)
            return _rebuild_future, (self.channel.export_future(future),)
        if isinstance(obj, type):
            return reduce_class(obj)
        return NotImplemented


def _rebuild_ref(
    urn: str, module: str, qualname: str, ended: ExitReason | None
) -> ActorRef[Any]:
    local = ActorRegistry.get_by_urn(urn)
    if local is not None:
        return local
    channel = _reading_channel()
    actor_class = find_class(module, qualname)
    if ended is None:
        return channel.remote_ref(urn, actor_class)
    return dead_on_arrival(RemoteRef(channel, urn, actor_class, ProcessFuture), ended)


def _rebuild_future(export_id: int) -> ProcessFuture[Any]:
    return _reading_channel().import_future(export_id)


def reading_channel_or_none() -> Channel | None:
    """The channel this thread reads, if it is a channel's reader."""
    return cast("Channel | None", receiving.channel)  # (every Reading is one)


def _reading_channel() -> Channel:
    channel = reading_channel_or_none()
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


def dumps(obj: Any, channel: Requests) -> bytes:
    """Pickle `obj` for `channel`: refs, proxies and futures as `Pickler` says.

    A plain value (most messages and replies) is pickled by ``pickle.dumps()``
    directly: a `Pickler` is an object, a buffer and a Python call per
    value, more than the pickling of a number or a short string costs.
    """
    if is_plain(obj):
        return pickle.dumps(obj, PROTOCOL)
    buffer = io.BytesIO()
    pickler = Pickler(buffer, PROTOCOL)
    pickler.channel = channel
    pickler.dump(obj)
    return buffer.getvalue()


def payload(obj: Any, channel: Requests, what: str) -> bytes:
    """Pickle `obj`, or raise a ``TypeError`` that says what could not be sent."""
    try:
        return dumps(obj, channel)
    except Exception as exc:  # pickling raises many kinds of error
        msg = (
            f"{what} cannot be pickled, so it cannot reach another process: {exc}. "
            "Send plain data and instances of classes defined at the top level "
            "of a module; keep what cannot be pickled (a lambda or local "
            "function, an open file, a lock, a socket) inside one actor, and "
            "send what stands for it instead (a name, a path, a ref to that actor)"
        )
        raise TypeError(msg) from exc


def exception_payload(exc: BaseException, channel: Requests) -> bytes:
    """Pickle `exc`, or what stands for it if it cannot be (see ``_remote._carry``)."""
    return carried(exc, functools.partial(dumps, channel=channel))


def loads(data: bytes, source: str) -> Any:
    """Unpickle a payload from `source`, or raise a ``TypeError`` that says why not."""
    try:
        return pickle.loads(data)
    except Exception as exc:  # unpickling raises many kinds of error
        msg = (
            f"a payload from {source} could not be unpickled: {exc!r}. "
            "Every class in it must be importable in this process too, by "
            "the same module and name (define it at the top level of a "
            "module), and must unpickle as it pickled (an exception whose "
            "__init__() takes other arguments than it passes to "
            "Exception.__init__() needs a __reduce__())"
        )
        raise TypeError(msg) from exc
