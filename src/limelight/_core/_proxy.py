"""Proxies: use an actor through ordinary attribute access and method calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from limelight._core._exceptions import ActorDeadError
from limelight._core._introspection import AttrInfo
from limelight.messages import ProxyCall, ProxyGetAttr, ProxySetAttr

if TYPE_CHECKING:
    from limelight._core._actor import Actor
    from limelight._core._future import Future
    from limelight._core._ref import ActorRef
    from limelight._core._types import AttrPath

__all__ = ["ActorProxy", "CallableProxy", "traversable"]

T = TypeVar("T")
A = TypeVar("A", bound="Actor")

# Building the message tuple directly skips NamedTuple's Python-level __new__,
# which is a noticeable share of a proxy call's cost.
_new_tuple: Callable[..., Any] = tuple.__new__  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


class ActorProxy(Generic[A]):
    """An actor's attributes and methods, usable as if they were local.

    Every attribute read and method call becomes a message to the actor and
    returns a [`Future`][limelight.Future]; the actor handles it in turn with
    its other messages:

    ```python
    proxy = MyActor.start().proxy()
    print(proxy.name.get())          # read an attribute
    total = proxy.add(1, 2).get()    # call a method and wait
    proxy.log("hi")                  # call without waiting
    proxy.add.defer(1, 2)            # fire and forget: no future at all
    proxy.name = "new"               # set an attribute (waits until done)
    value = await proxy.add(1, 2)    # from a coroutine, without blocking
    ```

    An attribute marked [`traversable`][limelight.traversable] gives a
    proxy to that object instead of a future, so that ``proxy.playback.play()``
    runs ``play()`` inside the actor. Such proxies and method proxies are made
    once and reused, so a traversed call costs the same as a direct one.

    An actor can hold a proxy to itself (``self._self = self.actor_ref.proxy()``)
    to queue work for later. Keep such an attribute private (``_``-prefixed):
    a public one is skipped, with a warning, since proxying it would recurse.

    Args:
        actor_ref: the actor to proxy.
        attr_path: for proxies of traversable attributes: the path to one.

    Raises:
        ActorDeadError: if the actor is not running.
    """

    actor_ref: ActorRef[A]
    """The proxied actor's [`ActorRef`][limelight.ActorRef]."""

    _attr_path: AttrPath
    _known_attrs: dict[AttrPath, AttrInfo]

    def __init__(
        self, *, actor_ref: ActorRef[A], attr_path: AttrPath | None = None
    ) -> None:
        object.__setattr__(self, "actor_ref", actor_ref)
        object.__setattr__(self, "_attr_path", attr_path or ())
        object.__setattr__(self, "_known_attrs", actor_ref._introspect())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActorProxy):
            return NotImplemented
        return self.actor_ref == other.actor_ref and self._attr_path == other._attr_path  # pyright: ignore[reportUnknownMemberType]

    def __hash__(self) -> int:
        return hash((self.actor_ref, self._attr_path))

    def __repr__(self) -> str:
        return f"<ActorProxy for {self.actor_ref}, attr_path={self._attr_path!r}>"

    def __dir__(self) -> list[str]:
        names = set(dir(type(self))) | set(self.__dict__)
        depth = len(self._attr_path)
        names.update(
            path[depth]
            for path in self._known_attrs
            if len(path) == depth + 1 and path[:depth] == self._attr_path
        )
        return sorted(names)

    def __getattr__(self, name: str) -> Any:
        """Read an attribute: a future, or a proxy for methods and traversables."""
        if name.startswith("_"):
            # Private names are never proxied; this also keeps copy, pickle
            # and friends from talking to the actor when probing dunders.
            msg = f"{self} has no attribute {name!r}"
            raise AttributeError(msg)
        path = (*self._attr_path, name)
        info = self._known_attrs.get(path)
        if info is None:
            # Attributes can be added at run time: look again before failing.
            msg = f"{self} has no attribute {name!r}"
            try:
                known = self.actor_ref._introspect()
            except ActorDeadError as exc:
                # An AttributeError, as on Pykka, so that hasattr() and
                # getattr() with a default work on a dead actor's proxy.
                raise AttributeError(msg) from exc
            object.__setattr__(self, "_known_attrs", known)
            info = known.get(path)
            if info is None:
                raise AttributeError(msg)
        if info.callable:
            callable_proxy: CallableProxy[A] = CallableProxy(
                actor_ref=self.actor_ref, attr_path=path
            )
            # Cached on the instance, so the next lookup never reaches
            # __getattr__ at all.
            object.__setattr__(self, name, callable_proxy)
            return callable_proxy
        if info.traversable:
            proxy: ActorProxy[A] = ActorProxy(actor_ref=self.actor_ref, attr_path=path)
            object.__setattr__(self, name, proxy)
            return proxy
        return self.actor_ref.ask(_new_tuple(ProxyGetAttr, (path,)), block=False)

    def __setattr__(self, name: str, value: Any) -> None:
        """Set an attribute on the actor, waiting until it is done.

        Waiting lets an exception raised by the assignment (a read-only
        property, say) reach the caller.
        """
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        path = (*self._attr_path, name)
        self.actor_ref.ask(_new_tuple(ProxySetAttr, (path, value)))


def lazy_proxy(ref: ActorRef[A], attr_path: AttrPath) -> ActorProxy[A]:
    """A proxy that learns the actor's attributes on first use, not now.

    For a proxy unpickled from another process: ``ActorProxy()`` would ask
    the actor at once, and waiting there can deadlock (in a runtime's thread
    that reads replies, or a Ray host's event loop, which must run the reply).
    """
    proxy = cast("ActorProxy[A]", object.__new__(ActorProxy))
    object.__setattr__(proxy, "actor_ref", ref)
    object.__setattr__(proxy, "_attr_path", attr_path)
    object.__setattr__(proxy, "_known_attrs", {})
    return proxy


class CallableProxy(Generic[A]):
    """One method of an actor, returned by [`ActorProxy`][limelight.ActorProxy].

    Calling it sends the call to the actor and returns a future of the
    result; [`defer()`][limelight.CallableProxy.defer] sends it without one.
    """

    actor_ref: ActorRef[A]
    """The actor whose method this is."""

    __slots__ = ("_ask", "_attr_path", "_tell", "actor_ref")

    def __init__(self, *, actor_ref: ActorRef[A], attr_path: AttrPath) -> None:
        self.actor_ref = actor_ref
        self._attr_path = attr_path
        self._ask = actor_ref.ask
        self._tell = actor_ref.tell

    def __repr__(self) -> str:
        return f"<CallableProxy for {self.actor_ref}, attr_path={self._attr_path!r}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Future[Any]:
        """Call the method in the actor; return a future of its result.

        An exception raised by the method is set on the future and re-raised
        by ``get()``; it is also logged at ``INFO`` level.
        """
        return self._ask(_new_tuple(ProxyCall, (self._attr_path, args, kwargs)), False)

    def defer(self, *args: Any, **kwargs: Any) -> None:
        """Call the method in the actor without waiting or creating a future.

        Since nobody receives an exception the method raises, the actor
        treats it as a crash: it is logged, ``on_failure()`` runs and the
        actor stops.
        """
        self._tell(_new_tuple(ProxyCall, (self._attr_path, args, kwargs)))


def traversable(obj: T) -> T:
    """Mark an object so that proxies traverse into it instead of returning it.

    Use it on an attribute value, or as a class decorator to mark every
    instance of the class:

    ```python
    class Player(limelight.ThreadingActor):
        playback = limelight.traversable(Playback())

    @limelight.traversable
    class Playback:
        def play(self) -> bool:
            return True

    assert Player.start().proxy().playback.play().get() is True
    ```

    Setting a class or instance attribute ``pykka_traversable = True`` has
    the same effect (it is how the 2011 API spelled it).

    Raises:
        ValueError: if `obj` uses ``__slots__`` and so cannot carry the mark.
    """
    if hasattr(obj, "__slots__"):
        msg = (
            f"traversable() cannot be used to mark an object using slots "
            f"({obj!r} has nowhere to store the mark); set a class attribute "
            "`pykka_traversable = True` on its class instead"
        )
        raise ValueError(msg)
    setattr(obj, "_pykka_traversable", True)  # noqa: B010
    return obj
