"""The messages Limelight's proxies send to actors.

You rarely need these: proxies build them for you. They are public so that
code can skip the proxy, for example to call a method without creating a
proxy object, or to call it fire-and-forget with
[`tell()`][limelight.ActorRef.tell]:

```python
from limelight.messages import ProxyCall

reply = actor_ref.ask(ProxyCall(attr_path=("greet",), args=("Ada",), kwargs={}))
actor_ref.tell(ProxyCall(attr_path=("log",), args=("hi",), kwargs={}))
```

An actor handles these messages itself; they never reach
[`on_receive()`][limelight.Actor.on_receive].

One message goes the other way: [`Terminated`][limelight.messages.Terminated]
is what an actor *receives* in `on_receive()` when an actor it watches (or,
trapping exits, is linked to) ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from limelight._core._types import AttrPath

if TYPE_CHECKING:
    from limelight._core._ref import ActorRef

__all__ = ["ProxyCall", "ProxyGetAttr", "ProxySetAttr", "Terminated"]

ExitReason = Literal["normal", "failure", "killed"]

M = TypeVar("M", bound=type)


def _system_message(cls: M) -> M:
    """Mark a message class as the system's: a bounded mailbox never holds it back.

    (Set afterwards: a NamedTuple takes every name in its body for a field.)
    """
    setattr(cls, "_limelight_system", True)  # noqa: B010
    return cls


@_system_message
class _ActorStop(NamedTuple):  # pyright: ignore[reportUnusedClass] -- used by the core
    """Ask the actor to stop after the messages already in its inbox."""


@_system_message
class _ActorKilled(NamedTuple):  # pyright: ignore[reportUnusedClass] -- used by the core
    """Wake a killed actor's loop so that it sees it was killed, and ends."""


@_system_message
class _LinkExit(NamedTuple):  # pyright: ignore[reportUnusedClass] -- used by the core
    """A linked actor ended: crash with it, or, trapping exits, receive `terminated`."""

    terminated: Terminated


@_system_message
class Terminated(NamedTuple):
    """An actor has ended: what watchers (and linked actors trapping exits) receive.

    [`Actor.watch()`][limelight.Actor.watch] makes an actor receive one in
    [`on_receive()`][limelight.Actor.on_receive] when the watched actor
    ends; [`ActorRef.termination()`][limelight.ActorRef.termination] is a
    future of it. It is sent once the actor is completely done: its
    ``on_stop()`` or ``on_failure()`` has returned and every message left in
    its inbox has been rejected.
    """

    actor_ref: ActorRef[Any]
    """The actor that ended."""

    reason: ExitReason
    """``"normal"`` (it was stopped, or stopped itself), ``"failure"`` (an
    exception it did not handle ended it) or ``"killed"``
    ([`ActorRef.kill()`][limelight.ActorRef.kill], or its event loop went
    away)."""

    exception: BaseException | None = None
    """With ``"failure"``, the exception that ended the actor."""


class ProxyCall(NamedTuple):
    """Call the method at `attr_path` with `args` and `kwargs`; reply its result."""

    attr_path: AttrPath
    """The attribute names leading from the actor to the method."""

    args: tuple[Any, ...]
    """Positional arguments."""

    kwargs: dict[str, Any]
    """Keyword arguments."""


class ProxyGetAttr(NamedTuple):
    """Reply with the value of the attribute at `attr_path`."""

    attr_path: AttrPath
    """The attribute names leading from the actor to the attribute."""


class ProxySetAttr(NamedTuple):
    """Set the attribute at `attr_path` to `value`."""

    attr_path: AttrPath
    """The attribute names leading from the actor to the attribute."""

    value: Any
    """The value to set."""


def __dir__() -> list[str]:
    # The public names only, not what the implementation imports.
    return sorted(__all__)
