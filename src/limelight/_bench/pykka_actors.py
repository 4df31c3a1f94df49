"""The actors of the threading workloads, written for Pykka.

They mirror ``limelight._bench.threading_workloads``'s Limelight actors, each
subclassing ``pykka.ThreadingActor``. Imported only once
:func:`limelight._bench.competitors.detect_pykka` has found the real Pykka.
"""

from __future__ import annotations

import time
from typing import Any

import pykka

__all__ = ["PykkaEcho", "start_echo"]


class _PykkaSub:
    def call(self, value: Any) -> Any:
        return value


class PykkaEcho(pykka.ThreadingActor):
    """Replies to every message with the message; ``call()`` returns its argument."""

    def __init__(self) -> None:
        super().__init__()
        self.sub = pykka.traversable(_PykkaSub())

    def on_receive(self, message: Any) -> Any:
        """Reply with the message itself."""
        return message

    def call(self, value: Any) -> Any:
        """Return `value`."""
        return value

    def ask_other(self, other: Any, n: int) -> float:
        """Ask `other` `n` times, blocking for each reply; return the seconds."""
        ask = other.ask
        start = time.perf_counter()
        for i in range(n):
            ask(i)
        return time.perf_counter() - start


def start_echo() -> Any:
    """Start a `PykkaEcho`; return its ref."""
    # Pykka's start() returns ActorRef[typing.Self]: unknown to a type
    # checker that targets Python 3.10, as this project's does.
    return PykkaEcho.start()  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
