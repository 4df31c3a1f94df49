"""The memory of the actors that ended lately, for the questions that come late.

A caller in another process learns of an actor's end only after it: what it
sent meanwhile, and every copy of its ref that asks why the actor ended,
reaches the host after the end. The host answers those from this memory (see
`_late`), which keeps the latest ends, by urn, and forgets the oldest first:
what arrives late can only be late by what was in flight at the end, so a
bound keeps a long-lived host's memory small without failing anyone.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator

    from limelight.messages import ExitReason

__all__ = ["End", "EndedActors"]


class End(NamedTuple):
    """How an actor ended, as its host remembers it."""

    name: str
    """The actor as ``str(ref)`` names it, for the errors of late asks."""

    reason: ExitReason
    exception: BaseException | None


class EndedActors:
    """The latest ends of actors, by urn: at most `kept`, the oldest forgotten first."""

    kept: ClassVar[int] = 10_000
    """How many ends are kept (one bound for every host)."""

    __slots__ = ("_ends", "_lock")

    def __init__(self) -> None:
        self._ends: dict[str, End] = {}
        self._lock = threading.Lock()

    def remember(self, urn: str, end: End) -> None:
        """Remember that actor `urn` ended so (forgetting the oldest, if full)."""
        with self._lock:
            ends = self._ends
            ends[urn] = end
            if len(ends) > self.kept:
                del ends[next(iter(ends))]

    def get(self, urn: str) -> End | None:
        """How actor `urn` ended, if it is remembered."""
        return self._ends.get(urn)

    def __iter__(self) -> Iterator[str]:
        """The urns remembered, the oldest first."""
        with self._lock:
            return iter(list(self._ends))
