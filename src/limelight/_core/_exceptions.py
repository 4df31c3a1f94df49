"""Exceptions raised by Limelight."""

from __future__ import annotations

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

    Raised, for example, by ``get()`` on an asyncio actor's future in the
    thread running that actor's event loop: blocking would stop the very
    loop that must produce the value. ``await`` the future instead.
    """
