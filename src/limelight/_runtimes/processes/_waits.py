"""Deadlocks across worker processes: the parent keeps the program's graph.

A worker reports each lasting wait of its actors to the parent in a WAIT
frame, and waits for the answer (a round trip, once a wait has lasted
``DEADLOCK_CHECK_AFTER``); the parent records it in its own graph
(``_remote/_waits.py``), where its own actors' waits and every worker's
meet, and answers whether it closes a cycle.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import TYPE_CHECKING, Any

from limelight._core._exceptions import ActorDeadError, DeadlockError
from limelight._remote._waits import ReportedWaits
from limelight._runtimes.processes import _wire as wire
from limelight._runtimes.processes._future import ProcessFuture

if TYPE_CHECKING:
    from collections.abc import Callable

    from limelight._runtimes.processes._protocol import Requests

__all__ = ["KEPT", "ChannelLink"]

KEPT = ReportedWaits()
"""The waits that workers report to this process, each from its channel."""


class ChannelLink:
    """A worker's way to the parent's graph: frames on its channel (a ``Link``).

    Once the parent has asked the worker to shut down, its channel is read
    no more, and no answer would come: :meth:`close` then fails the waits for
    answers, and nothing more is reported.
    """

    def __init__(self, channel: Requests) -> None:
        self._channel = channel
        self._answers: set[ProcessFuture[Any]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def began(
        self, token: int, waiter: tuple[str, str], producer: tuple[str, str], /
    ) -> bool:
        suspect = self._ask(lambda rid: (wire.WAIT, rid, token, waiter, producer))
        return bool(suspect)

    def confirm(self, token: int, /) -> DeadlockError | None:
        error: DeadlockError | None = self._ask(lambda rid: (wire.CONFIRM, rid, token))
        return error

    def _ask(self, frame: Callable[[int], tuple[Any, ...]]) -> Any:
        """The parent's answer to ``frame(rid)``; None if it cannot come."""
        answer: ProcessFuture[Any] = ProcessFuture()
        with self._lock:
            if self._closed:
                return None
            self._answers.add(answer)
        try:
            self._channel.request(frame, answer)
            return answer.get()
        except ActorDeadError:  # the parent has gone, or stopped reading
            return None
        finally:
            with self._lock:
                self._answers.discard(answer)

    def ended(self, token: int, /) -> None:
        try:  # noqa: SIM105 -- (as the channel's other sends)
            self._channel.send((wire.WAIT_END, token))
        except ActorDeadError:
            pass

    def close(self) -> None:
        """Report nothing more, and fail the waits for answers (see above)."""
        with self._lock:
            self._closed = True
            answers, self._answers = self._answers, set()
        for answer in answers:
            with contextlib.suppress(queue.Full):  # (answered meanwhile)
                answer.set_exception(ActorDeadError("the worker is shutting down"))


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
