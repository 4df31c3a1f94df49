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
"""

from __future__ import annotations

from typing import Any, NamedTuple

from limelight._core._types import AttrPath

__all__ = ["ProxyCall", "ProxyGetAttr", "ProxySetAttr"]


class _ActorStop(NamedTuple):  # pyright: ignore[reportUnusedClass] -- used by the core
    """Ask the actor to stop after the messages already in its inbox."""


# A system message: a bounded mailbox always takes it, even when full. (Set
# here, since a NamedTuple's body may hold only fields for type checkers.)
setattr(_ActorStop, "_limelight_system", True)  # noqa: B010 -- see above


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
