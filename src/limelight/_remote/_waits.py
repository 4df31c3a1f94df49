"""One wait-for graph for a program of many processes.

Each process finds the deadlocks among its own actors in its own graph
(``_core/_wait_graph.py``). A cycle may run through several processes, though
(an actor of the parent waits for a process actor, which waits for an actor
of another worker, which waits for the first), and no process sees all of it.
So one process keeps the graph of the whole program: the one that owns the
other processes (the parent of the worker processes; for Ray, a keeper actor
that every host reports to). Every other process reports each wait of its
actors there, once the wait has lasted a moment (``_wait_graph.report()``),
and learns at once whether it closes a cycle: the report is a round trip,
answered in order with every other report, so of two waits racing to close
a cycle, the second always sees the first, as within one process.

- `Upstream` is the reporting side: the ``Reporter`` a worker process gives
  its graph, over a `Link` to the keeper (a channel's frames, a Ray call).
- `ReportedWaits` is the keeping side: it records each reported wait in
  the keeper's own graph, as a wait on an ``Elsewhere``, so that its own
  actors' waits and every other process's meet in one graph.

A reported wait's end arrives late (a frame behind it), so a cycle through
a wait of another process is only reported once it has held for a moment
(see ``_wait_graph.begin_wait()``): a wait that has just ended there, whose
end is still on its way, never causes a false alarm.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Hashable
from typing import TYPE_CHECKING, Protocol

from limelight._core._fork import released_at_fork
from limelight._core._wait_graph import (
    ActorName,
    Elsewhere,
    begin_wait,
    end_wait,
)

if TYPE_CHECKING:
    from limelight._core._exceptions import DeadlockError
    from limelight._core._wait_graph import Confirm, Pending, WaitNode

__all__ = ["Link", "ReportedWaits", "Upstream"]


class Link(Protocol):
    """How a process reaches the keeper of the program's graph."""

    def began(
        self,
        token: int,
        waiter: tuple[str, str],
        producer: tuple[str, str],
        /,
    ) -> bool:
        """Report wait `token` of `waiter` for `producer` (each ``(urn, name)``).

        Returns whether it closes a cycle to confirm (by :meth:`confirm`,
        a moment later); raises the ``DeadlockError`` if it closes one for
        certain.
        """
        ...  # pragma: no cover

    def confirm(self, token: int, /) -> DeadlockError | None:
        """The deadlock, if the cycle that wait `token` closed still holds."""
        ...  # pragma: no cover

    def ended(self, token: int, /) -> None:
        """Wait `token` is over (sent without waiting for an answer)."""


class Upstream:
    """The reporter of a process that does not keep the program's graph.

    Given to ``_wait_graph.report_to()``: each wait of an actor here that
    lasts goes to the keeper through `link`.
    """

    def __init__(self, link: Link) -> None:
        self._link = link
        self._tokens = itertools.count()
        # The tokens of the waits reported and not yet ended, by waiter and
        # what it waits on (two actors may wait on one future): a wait that
        # was refused, or never reported, has no end to report.
        self._reported: dict[tuple[str, int], int] = {}

    def began(
        self, waiter: WaitNode, producer: WaitNode, pending: Pending, /
    ) -> Confirm | None:
        """Report the wait of `waiter` on `pending`."""
        token = next(self._tokens)
        # (Raises DeadlockError before the token is kept.)
        suspect = self._link.began(token, _named(waiter), _named(producer))
        self._reported[waiter.actor_urn, id(pending)] = token
        return functools.partial(self._link.confirm, token) if suspect else None

    def ended(self, waiter: WaitNode, pending: Pending, /) -> None:
        """Report the end of the wait of `waiter` on `pending`, if it was reported."""
        token = self._reported.pop((waiter.actor_urn, id(pending)), None)
        if token is not None:
            self._link.ended(token)


def _named(node: WaitNode) -> tuple[str, str]:
    return node.actor_urn, str(node)


class _Reported(Elsewhere):
    """A wait reported by another process, as the keeper's graph records it."""

    __slots__ = ("confirm", "waiter")

    def __init__(self, waiter: ActorName) -> None:
        self.waiter = waiter
        self.confirm: Confirm | None = None


class ReportedWaits:
    """The keeper's side: the waits that other processes report, in its graph.

    Each source (a channel, a Ray host) numbers its waits with tokens of its
    own; a source that is gone (its process died) has all of its waits
    ended by :meth:`forget`.
    """

    def __init__(self) -> None:
        self._waits: dict[tuple[Hashable, int], _Reported] = {}
        self._lock = released_at_fork(threading.Lock())

    def began(
        self,
        source: Hashable,
        token: int,
        waiter: tuple[str, str],
        producer: tuple[str, str],
    ) -> bool:
        """Record a wait reported by `source`: see ``Link.began()``."""
        reported = _Reported(ActorName(*waiter))
        reported.confirm = begin_wait(reported.waiter, ActorName(*producer), reported)
        with self._lock:
            self._waits[source, token] = reported
        return reported.confirm is not None

    def confirm(self, source: Hashable, token: int) -> DeadlockError | None:
        """The deadlock, if the cycle that `source`'s wait `token` closed holds."""
        with self._lock:
            reported = self._waits.get((source, token))
        if reported is None or reported.confirm is None:
            return None  # (it has ended: no deadlock)
        return reported.confirm()

    def ended(self, source: Hashable, token: int) -> None:
        """`source`'s wait `token` is over."""
        with self._lock:
            reported = self._waits.pop((source, token), None)
        if reported is not None:
            end_wait(reported.waiter, reported)

    def forget(self, source: Hashable) -> None:
        """`source` is gone: end every wait it reported."""
        with self._lock:
            gone = [key for key in self._waits if key[0] == source]
            ended = [self._waits.pop(key) for key in gone]
        for reported in ended:
            end_wait(reported.waiter, reported)
