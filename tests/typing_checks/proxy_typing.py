"""What type checkers infer for refs, proxies and futures.

mypy and basedpyright check this file with the rest of ``tests/``: every
``assert_type()`` fails the type check if the inferred type differs, and every
``# type: ignore[code]`` fails mypy's strict mode if the error it silences is
gone. `tests/conformance/test_typing.py` also runs `main()`, so the file stays
true at run time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, cast

import limelight
from limelight import ActorProxy, ActorRef, Future, ThreadingActor
from limelight.typing import ActorMemberMixin, proxy_field, proxy_method

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type


class Counter(ThreadingActor):
    count: int = 0
    label: str = "counter"

    def add(self, n: int, *, times: int = 1) -> int:
        self.count += n * times
        return self.count

    def describe(self) -> tuple[str, int]:
        return (self.label, self.count)

    def reset(self) -> None:
        self.count = 0


class CounterProxy(ActorMemberMixin, ActorProxy[Counter]):
    """The proxy of a `Counter`, as type checkers should see it."""

    count = proxy_field(Counter.count)
    label = proxy_field(Counter.label)
    add = proxy_method(Counter.add)
    describe = proxy_method(Counter.describe)
    reset = proxy_method(Counter.reset)


def main() -> dict[str, Any]:
    """Use every typed API once; return what was seen, for the runtime test."""
    ref = Counter.start()
    assert_type(ref, ActorRef[Counter])
    assert_type(ref.actor_class, type[Counter])
    assert_type(ref.is_alive(), bool)
    assert_type(ref.ask("message"), Any)
    assert_type(ref.ask("message", block=False), Future[Any])

    untyped = ref.proxy()
    assert_type(untyped, ActorProxy[Counter])
    assert_type(untyped.actor_ref, ActorRef[Counter])

    proxy = cast("CounterProxy", ref.proxy())
    assert_type(proxy.count, Future[int])
    assert_type(proxy.label, Future[str])
    assert_type(proxy.add(2), Future[int])
    assert_type(proxy.add(2, times=3).get(), int)
    assert_type(proxy.describe(), Future[tuple[str, int]])
    assert_type(proxy.reset(), Future[None])
    assert_type(proxy.on_start(), Future[None])

    total = proxy.add(1)
    assert_type(total.get(timeout=1.0), int)
    assert_type(total.map(str), Future[str])
    together = limelight.get_all([proxy.count, proxy.add(0)])
    assert_type(together, Iterable[int])

    seen: dict[str, Any] = {
        "count": proxy.count.get(),
        "add": proxy.add(2, times=3).get(),
        "describe": proxy.describe().get(),
        "mapped": total.map(str).get(),
        "together": list(together),
    }
    proxy.reset().get()
    seen["after_reset"] = proxy.count.get()

    pool = limelight.Pool.start(Counter, 2)
    assert_type(pool, limelight.PoolRef[Counter])
    assert_type(pool.members, list[ActorRef[Counter]])
    assert_type(pool.proxy(), ActorProxy[Counter])
    assert_type(pool.ask("message", block=False), Future[Any])
    assert_type(pool.map("add", [1, 2]), list[Any])
    pool_proxy = cast("CounterProxy", pool.proxy())
    assert_type(pool_proxy.add(1), Future[int])
    seen["pool"] = len(pool.members)
    assert_type(pool.stop(), bool)

    stopped = ref.stop(block=False)
    assert_type(stopped, Future[bool])
    seen["stopped"] = stopped.get()
    assert_type(ref.stop(), bool)
    return seen


def rejected_by_type_checkers(proxy: CounterProxy, ref: ActorRef[Counter]) -> None:
    """Misuses that mypy must flag (never run)."""
    proxy.add("two")  # type: ignore[arg-type]
    proxy.add(2, times="3")  # type: ignore[arg-type]
    proxy.describe(1)  # type: ignore[call-arg]
    wrong: Future[str] = proxy.count  # type: ignore[assignment]
    also_wrong: str = proxy.add(1).get()  # type: ignore[assignment]
    not_a_bool: str = ref.stop()  # type: ignore[assignment]
    del wrong, also_wrong, not_a_bool


if __name__ == "__main__":
    print(main())  # noqa: T201
