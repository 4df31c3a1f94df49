"""Deadlocks across worker processes: the parent keeps the program's graph.

A worker reports each lasting wait of its actors to the parent in a WAIT
frame, and waits for the answer (a round trip, once a wait has lasted
``DEADLOCK_CHECK_AFTER``); the parent records it in its own graph
(``_remote/_waits.py``), where its own actors' waits and every worker's
meet, and answers whether it closes a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from limelight._core._exceptions import ActorDeadError, DeadlockError
from limelight._remote._waits import ReportedWaits
from limelight._runtimes.processes import _wire as wire
from limelight._runtimes.processes._future import ProcessFuture

if TYPE_CHECKING:
    from limelight._runtimes.processes._protocol import Requests

__all__ = ["KEPT", "ChannelLink"]

KEPT = ReportedWaits()
"""The waits that workers report to this process, each from its channel."""


class ChannelLink:
    """A worker's way to the parent's graph: frames on its channel (a ``Link``)."""

    def __init__(self, channel: Requests) -> None:
        self._channel = channel

    def began(
        self, token: int, waiter: tuple[str, str], producer: tuple[str, str], /
    ) -> bool:
        suspect = self._ask(wire.WAIT, token, waiter, producer)
        return bool(suspect)

    def confirm(self, token: int, /) -> DeadlockError | None:
        error: DeadlockError | None = self._ask(wire.CONFIRM, token)
        return error

    def _ask(self, kind: int, *fields: Any) -> Any:
        """The parent's answer to the request ``(kind, request id, *fields)``.

        None if the parent has gone.
        """
        answer: ProcessFuture[Any] = ProcessFuture()
        self._channel.request(answer, kind, *fields)
        try:
            return answer.get()
        except ActorDeadError:
            return None

    def ended(self, token: int, /) -> None:
        try:  # noqa: SIM105 -- (as the channel's other sends)
            self._channel.send((wire.WAIT_END, token))
        except ActorDeadError:
            pass


def on_wait(
    channel: Requests,
    rid: int,
    token: int,
    waiter: tuple[str, str],
    producer: tuple[str, str],
) -> None:
    """Record a worker's wait (a WAIT frame), and answer whether it closes a cycle."""
    try:
        suspect = KEPT.began(channel, token, waiter, producer)
    except DeadlockError as exc:
        channel.send_exception(rid, exc)
    else:
        channel.send_value(rid, suspect)


def on_confirm(channel: Requests, rid: int, token: int) -> None:
    """Answer whether the cycle a worker's wait closed still holds (a CONFIRM frame)."""
    error: Any = KEPT.confirm(channel, token)
    channel.send_value(rid, error)


def on_wait_end(channel: Requests, token: int) -> None:
    """A worker's wait is over (a WAIT_END frame)."""
    KEPT.ended(channel, token)
