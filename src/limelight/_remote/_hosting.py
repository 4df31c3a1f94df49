"""The host's side: the actors of this process that callers elsewhere reach.

A caller in another process starts an actor here and names it (the urn of
its ref there), or holds a ref to an actor that lives here. The host then
owes it two things, which `Hosting` keeps:

- the news of the actor's end: a *report* (the transport's: a frame on a
  pipe, the reply to a long poll), made once the actor has ended, from its
  termination callback;
- answers to what arrives too late (see `_late`): until the report is made
  the actor is *running* here (perhaps ending), and after it its end is
  remembered (`_ended`).

A transport may also *hold* an answer until the report is made (a process
channel does: the caller must learn of the end before it sees a refusal
that says the actor has ended).
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

from limelight._core._future import SettableFuture
from limelight._remote._carry import detached
from limelight._remote._ended import End, EndedActors
from limelight._remote._late import answer_late, ask_here

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from limelight._core._actor import Actor
    from limelight._core._ref import ActorRef
    from limelight.messages import Terminated

__all__ = ["Hosting"]


class Hosting:
    """The actors here that callers elsewhere reach, and the ends they are owed."""

    def __init__(
        self,
        key: Hashable,
        report: Callable[[str, Terminated], None],
        gone: Callable[[str], None] | None = None,
    ) -> None:
        # The termination callbacks' key, and what reports an end (first:
        # before anyone here can find the actor ended). `gone` is told once
        # the actor is no longer running here and its end is remembered.
        self._key = key
        self._report = report
        self._gone = gone
        self.running: dict[str, ActorRef[Any]] = {}
        """The actors watched, by urn, until their end is reported."""
        self.ended = EndedActors()
        self._held: dict[str, list[Callable[[], None]]] = {}
        self._lock = threading.Lock()

    def start(self, urn: str, make: Callable[[], Actor]) -> ActorRef[Any]:
        """Start the actor that ``make()`` makes here, and watch it.

        As ``Actor.start()`` would, but the caller named the actor already:
        its ref there carries `urn`. Raises what ``make()`` (the actor's
        ``__init__()``) raised.
        """
        ref = make()._limelight_register_and_run(urn)
        self.watch(ref)
        return ref

    def watch(self, ref: ActorRef[Any]) -> None:
        """Report the end of `ref`'s actor (at once, if it has ended)."""
        with self._lock:
            self.running[ref.actor_urn] = ref
        ref.actor_stopped.add_termination_callback(
            self._key, functools.partial(self._ended, ref)
        )

    def _ended(self, ref: ActorRef[Any], terminated: Terminated) -> None:
        urn = ref.actor_urn
        self._report(urn, terminated)
        with self._lock:
            # (Remembered before it stops running: whoever looks finds it.
            # Its exception detached: its frames would keep the actor alive.)
            exception = terminated.exception
            if exception is not None:
                exception = detached(exception)
            end = End(str(ref), terminated.reason, exception)
            self.ended.remember(urn, end)
            self.running.pop(urn, None)
            held = self._held.pop(urn, ())
        for answer in held:
            answer()
        if self._gone is not None:
            self._gone(urn)

    def hold(self, urn: str, answer: Callable[[], None]) -> bool:
        """Call `answer` once the end of `urn` is reported; False if none is owed."""
        with self._lock:
            if urn not in self.running:
                return False
            self._held.setdefault(urn, []).append(answer)
            return True

    def name(self, urn: str) -> str | None:
        """The name of actor `urn` if it is running or ended here, else None."""
        ref = self.running.get(urn)
        if ref is not None:
            return str(ref)
        end = self.ended.get(urn)
        return None if end is None else end.name

    def ask(self, urn: str, message: Any) -> SettableFuture[Any]:
        """Ask actor `urn` for a caller elsewhere: the future of its reply.

        Or of the answer to a message that came too late (see `_late`).
        """
        target = self.running.get(urn)
        future: SettableFuture[Any]
        if target is None:
            future = SettableFuture()
        else:
            future = target._create_future()
            future._producer = target  # (for deadlock detection, as ask() does)
        if not ask_here(target, message, future):
            answer_late(urn, message, future, self.name(urn))
        return future
