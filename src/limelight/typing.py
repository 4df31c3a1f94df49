"""Static typing for proxies.

A proxy's attributes are futures and its methods return futures, which a
type checker cannot infer from the actor class. Describe the proxy with a
protocol-like class, and cast:

```python
from typing import cast

from limelight import ActorProxy, ThreadingActor
from limelight.typing import ActorMemberMixin, proxy_field, proxy_method


class Counter(ThreadingActor):
    count: int = 0

    def add(self, n: int) -> int:
        self.count += n
        return self.count


class CounterProxy(ActorMemberMixin, ActorProxy[Counter]):
    count = proxy_field(Counter.count)   # Future[int]
    add = proxy_method(Counter.add)      # (n: int) -> Future[int]


proxy = cast(CounterProxy, Counter.start().proxy())
total: int = proxy.add(2).get()
```

These helpers do nothing at run time: they only change what type checkers see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
)

from limelight._core._actor import Actor

if TYPE_CHECKING:
    from types import TracebackType

    from limelight._core._future import Future

    _FailureHook = Callable[
        [Any, type[BaseException] | None, BaseException | None, TracebackType | None],
        None,
    ]

__all__ = ["ActorMemberMixin", "proxy_field", "proxy_method"]

T = TypeVar("T")
P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


class Method(Protocol, Generic[P, R_co]):
    """A method attribute: callable through the class and bound on instances."""

    def __get__(
        self, instance: Any, owner: type | None = None
    ) -> Callable[P, R_co]: ...

    def __call__(self, obj: Any, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


def proxy_field(field: T) -> Future[T]:
    """Type an actor attribute, as seen through a proxy: a future of its value."""
    return cast("Future[T]", field)


def proxy_method(field: Callable[Concatenate[Any, P], T]) -> Method[P, Future[T]]:
    """Type an actor method as seen through a proxy: same arguments, a future back."""
    return cast("Method[P, Future[T]]", field)


class ActorMemberMixin:
    """Types the proxy methods every actor has: ``stop()`` and the hooks."""

    stop = proxy_method(Actor.stop)
    # The hooks return nothing, as far as a caller through a proxy can tell
    # (an event-loop actor's async hook is awaited by the actor itself).
    on_start = proxy_method(cast("Callable[[Any], None]", Actor.on_start))
    on_stop = proxy_method(cast("Callable[[Any], None]", Actor.on_stop))
    on_failure = proxy_method(cast("_FailureHook", Actor.on_failure))
    on_receive = proxy_method(Actor.on_receive)


def __dir__() -> list[str]:
    # The public names only, not what the implementation imports.
    return sorted(__all__)
