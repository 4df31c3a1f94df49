"""How refs, proxies and exceptions cross Ray.

A ``RayRef`` pickles by its own ``__reduce__()``. Any other ref is a local
one, and crosses by the serializer registered here for ``ActorRef``: inside
a host, the ref of a hosted actor becomes a ``RayRef`` through this host;
anywhere, the ref of an ended actor crosses dead; any other cannot cross. A
proxy crosses as its ref and attribute path (unpickled as it is, it would
ask its actor about its attributes). A future never crosses: a copy would
arrive, and completing either would not complete the other. An exception
crosses as itself if Ray's pickler can take it, else as its stand-in
(``_remote/_carry.py``).
"""

from __future__ import annotations

from collections import ChainMap
from typing import TYPE_CHECKING, Any, NoReturn, cast

from limelight._core._future import Future
from limelight._core._proxy import ActorProxy, lazy_proxy
from limelight._core._ref import ActorRef, ended_reason
from limelight._remote._carry import carried
from limelight._runtimes.ray_cluster._future import ray
from limelight._runtimes.ray_cluster._refs import (
    RAY_ACTOR_RUNTIME,
    Here,
    UnsendableError,
    rebuild_ref,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from limelight._core._types import AttrPath
    from limelight.messages import ExitReason

__all__ = ["picklable", "register_serializers"]


def picklable(exc: BaseException) -> BaseException:
    """`exc`, or if Ray cannot pickle it, what stands for it."""
    return carried(exc, _pickles)


def _pickles(exc: BaseException) -> BaseException:
    # (Ray's pickler, which Ray sends it with: it knows how refs cross.)
    ray().cloudpickle.dumps(exc)
    return exc


_HostedRef = tuple[Any, str, type[Any], "ExitReason | None", bool]


def _reduce_local_ref(ref: ActorRef[Any]) -> _HostedRef:
    """What crosses Ray for a local ref: in a host, its actor's, as a Ray ref.

    Inside a host, an actor's own ref is a local one: ``self.actor_ref``, the
    ref in the `Terminated` message of its end, the refs of a
    `DeadlockError`'s cycle. Sent anywhere, it becomes a `RayRef` through
    this host, as any of its callers' refs. The ref of a local actor that
    has ended crosses as a dead ref, which names it and nothing more: the
    notice of its end to a Ray actor linked to it holds it. The ref of any
    other, running, local actor cannot reach a Ray worker at all.
    """
    here = Here.host
    # (A RayActor's runtime: a RayActor of this host.)
    if here is not None and ref.actor_class._limelight_runtime is RAY_ACTOR_RUNTIME:
        host = ray().get_runtime_context().current_actor
        pooled = here.pooled
    elif not ref.is_alive():
        host, pooled = None, False  # (never called: the ref is dead)
    else:
        _refuse_local_ref(ref)
    return host, ref.actor_urn, ref.actor_class, ended_reason(ref), pooled


def _rebuild_hosted_ref(reduced: _HostedRef) -> ActorRef[Any]:
    return rebuild_ref(*reduced)


def _reduce_proxy(proxy: ActorProxy[Any]) -> tuple[ActorRef[Any], AttrPath]:
    return proxy.actor_ref, proxy._attr_path


def _rebuild_proxy(reduced: tuple[ActorRef[Any], AttrPath]) -> ActorProxy[Any]:
    return lazy_proxy(*reduced)


def _refuse_local_ref(ref: ActorRef[Any]) -> NoReturn:
    msg = (
        f"{ref} is a local actor: a ref to it cannot be pickled, so it never "
        "reaches a Ray actor or task; start that actor as a limelight.ray.RayActor "
        "so that other Ray workers can reach it"
    )
    raise UnsendableError(msg)


def _refuse_future(future: Future[Any]) -> NoReturn:
    msg = (
        f"{future!r} is a future: futures cannot be sent to Ray actors or "
        "tasks, nor returned by them, since only a copy would arrive, and "
        "completing one would not complete the other. Send the value "
        "instead, once the future has it (future.get()), or the ref of a "
        "RayActor that the receiver can ask for it"
    )
    raise UnsendableError(msg)


def _future_classes(cls: type[Any] = Future) -> Iterator[type[Any]]:
    """`cls` and every subclass of it defined so far."""
    yield cls
    for subclass in cls.__subclasses__():
        yield from _future_classes(subclass)


class _FutureReducers(dict[type[Any], "Callable[[Any], NoReturn]"]):
    """The last table Ray's pickler looks in: refuses a future of any class.

    Ray registers a serializer for one exact class, and a future's class may
    be defined after `register_serializers()` ran (a runtime imported later,
    a subclass of the program's own). Ray's pickler looks up a reducer by
    the object's exact class in a chain of tables; this one, last in the
    chain, answers for any subclass of ``Future``, and for no other class.
    """

    def __missing__(self, cls: type[Any]) -> Callable[[Any], NoReturn]:
        if issubclass(cls, Future):
            return _refuse_future
        raise KeyError(cls)


class _Registered:
    done = False


def register_serializers() -> None:
    """Register how refs and proxies cross Ray, and that futures do not (once)."""
    if _Registered.done:
        return
    # (By exact class: a RayRef pickles by its own __reduce__().)
    ray().util.register_serializer(
        ActorRef, serializer=_reduce_local_ref, deserializer=_rebuild_hosted_ref
    )
    # (Unpickled as is, a proxy would ask its actor about its attributes.)
    ray().util.register_serializer(
        ActorProxy, serializer=_reduce_proxy, deserializer=_rebuild_proxy
    )
    # (The deserializer is never called: nothing is serialized.)
    for cls in _future_classes():
        ray().util.register_serializer(
            cls, serializer=_refuse_future, deserializer=_refuse_future
        )
    # Futures of classes defined later: Ray's pickler's tables are not a
    # public interface, so a Ray that has changed them refuses only those above.
    tables = ray().cloudpickle.CloudPickler.dispatch_table
    if isinstance(tables, ChainMap):
        chain = cast("ChainMap[type[Any], Callable[[Any], Any]]", tables)
        chain.maps.append(_FutureReducers())
    _Registered.done = True
