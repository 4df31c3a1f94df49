"""Exceptions raised by Limelight."""

from __future__ import annotations

__all__ = ["ActorDeadError", "Timeout"]


class ActorDeadError(Exception):
    """The actor is not running, so the message cannot be delivered or answered.

    Raised by [`ActorRef.tell()`][limelight.ActorRef.tell] and
    [`ActorRef.ask()`][limelight.ActorRef.ask] when the actor has stopped,
    and set on the futures of requests that were still queued when the actor
    stopped.
    """


class Timeout(Exception):  # noqa: N818 -- the name is Pykka's public API
    """A future's value did not arrive within the given timeout."""
