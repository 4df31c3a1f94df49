"""Exceptions raised by Limelight."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from limelight._core._ref import ActorRef

__all__ = ["ActorDeadError", "DeadlockError", "Timeout"]


class ActorDeadError(Exception):
    """The actor is not running, so the message cannot be delivered or answered.

    Raised by [`ActorRef.tell()`][limelight.ActorRef.tell] and
    [`ActorRef.ask()`][limelight.ActorRef.ask] when the actor has stopped,
    and set on the futures of requests that were still queued when the actor
    stopped.
    """


class Timeout(Exception):  # noqa: N818 -- the name is Pykka's public API
    """A future's value did not arrive within the given timeout."""


class DeadlockError(RuntimeError):
    """Waiting here could never end, so Limelight refuses to wait.

    Raised instead of blocking forever when:

    - an actor would block in ``get()`` (or a blocking
      [`ask()`][limelight.ActorRef.ask], proxy call or
      [`stop()`][limelight.ActorRef.stop]) for a reply that must come from
      itself, or from an actor that is itself blocked waiting, directly or
      through others, for the first one: a cycle of actors each waiting for
      the next. The message names the cycle, and
      [`cycle`][limelight.DeadlockError.cycle] holds it. Keep the future and
      let the handler return (``ask(block=False)``, a proxy call without
      ``get()``), send a ``tell()``, or restructure so that replies flow one
      way. See [Deadlock detection](../deadlocks.md).
    - ``get()`` is called on an asyncio actor's future in the thread running
      that actor's event loop: blocking would stop the very loop that must
      produce the value. ``await`` the future instead.

    The handler in which it is raised goes on like any handler that raised:
    the exception goes to its asker, whom it unblocks, and the actor goes on.
    """

    cycle: tuple[ActorRef[Any], ...]
    """The actors in the cycle, starting with the one that refused to wait.

    Each waits for the next, and the last for the first; ``(ref,)`` for an
    actor that waits for itself. Empty when no cycle of actors is involved
    (a ``get()`` on an event loop's own thread).
    """

    def __init__(self, *args: object, cycle: tuple[ActorRef[Any], ...] = ()) -> None:
        super().__init__(*args)
        self.cycle = cycle
