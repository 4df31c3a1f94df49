"""Actor classes for tests/test_ray_runtime.py: Ray workers import them by name."""

from __future__ import annotations

import threading
from typing import Any

import limelight
from limelight.ray import RayActor

NAMESPACE = "limelight-tests"
"""The Ray namespace of the test session's named actors."""


@limelight.traversable
class Inner:
    """A traversable attribute: its methods run inside the actor."""

    def __init__(self) -> None:
        self.calls = 0

    def hello(self) -> str:
        self.calls += 1
        return "inner"


class Counter(RayActor):
    """Counts; fails on request; replies to plain asks with what it got."""

    def __init__(self, start: int = 0) -> None:
        super().__init__()
        self.count = start
        self.inner = Inner()
        self._never = threading.Event()

    def add(self, n: int) -> int:
        self.count += n
        return self.count

    def echo_args(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        return args, kwargs

    def fail(self) -> None:
        raise ValueError("boom")

    def fail_unpicklably(self) -> None:
        raise UnpicklableError(threading.Lock())

    def hang(self, seconds: float | None = None) -> None:
        self._never.wait(seconds)

    def enter_and_hang(self, entered: Any) -> None:
        """Set `entered` (an event that reaches Ray workers), then never return."""
        entered.set()
        self._never.wait()

    def assigned_resources(self) -> dict[str, Any]:
        import ray  # noqa: PLC0415 -- only in a Ray worker

        context: Any = ray.get_runtime_context()
        return dict(context.get_assigned_resources())

    def ask_other(self, ref: limelight.ActorRef[Any], message: Any) -> Any:
        return ref.ask(message)

    def on_receive(self, message: Any) -> Any:
        return ("got", message)


class Pooled(Counter):
    """A counter hosted by the pool's shared Ray actors."""

    ray_pool = True


class FailsInit(RayActor):
    """Cannot start."""

    def __init__(self) -> None:
        super().__init__()
        raise KeyError("no config")


class ForgetsSuper(RayActor):
    """Does not call super().__init__()."""

    def __init__(self) -> None:  # pyright: ignore[reportMissingSuperCall] -- on purpose
        pass


class UnpicklableError(Exception):
    """An exception carrying something that cannot be pickled."""


class PooledActor(RayActor):
    """The conformance suite's Ray actor class: hosted by the pool.

    Starting one is a call into a running host, not a Ray worker start, so
    that the suite's many short-lived actors start fast.
    """

    ray_pool = True


class DedicatedActor(RayActor):
    """The Ray actor class of the suite's second Ray runtime: a host each.

    Each one starts a Ray worker process of its own, and that host retires
    once its actor has ended (see docs/ray.md).
    """
