"""Exceptions raised by Limelight."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from limelight._core._ref import ActorRef
    from limelight.messages import Terminated

__all__ = [
    "ActorDeadError",
    "DeadlockError",
    "LinkedActorFailed",
    "MailboxFull",
    "Timeout",
]


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
      [`stop()`][limelight.ActorRef.stop]), or an asyncio actor's handler
      would ``await``, a reply that must come from itself, or from an actor
      that is itself waiting, directly or through others, for the first
      one: a cycle of actors each waiting for the next, in one process or
      across the program's processes. The message names the cycle, and
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
    (a ``get()`` on an event loop's own thread), and when a cycle that runs
    through other processes holds an actor that this process has no ref to
    (through several Ray hosts, say), or when the error comes from a Ray
    actor's handler whose cycle holds a ref that cannot leave its Ray worker
    (a local actor there): the message names the actors.
    """

    def __init__(self, *args: object, cycle: tuple[ActorRef[Any], ...] = ()) -> None:
        super().__init__(*args)
        self.cycle = cycle


class LinkedActorFailed(Exception):  # noqa: N818 -- it names an event, like Timeout
    """An actor linked to this one ended abnormally, so this one crashes too.

    See [`Actor.link()`][limelight.Actor.link]. It is the exception an actor
    fails with when a linked actor fails or is killed, unless it sets
    [`trap_exits`][limelight.Actor.trap_exits]. Its ``__cause__`` is the
    linked actor's own exception, if it had one.
    """

    def __init__(self, terminated: Terminated) -> None:
        detail = "" if terminated.exception is None else f": {terminated.exception!r}"
        super().__init__(
            f"linked actor {terminated.actor_ref} ended ({terminated.reason}{detail})"
        )
        self.terminated = terminated
        """How the linked actor ended."""
        self.__cause__ = terminated.exception

    def __reduce__(self) -> tuple[type[LinkedActorFailed], tuple[Terminated]]:
        # Rebuilt from what __init__() takes (pickled for limelight.process).
        return (type(self), (self.terminated,))


class MailboxFull(Exception):  # noqa: N818 -- the name reads as the condition it reports
    """An actor's bounded mailbox has no room, and its policy refuses to wait.

    Raised by [`ActorRef.tell()`][limelight.ActorRef.tell] and
    [`ActorRef.ask()`][limelight.ActorRef.ask] (at once, even with
    ``block=False``) to an actor whose
    [`mailbox_capacity`][limelight.Actor.mailbox_capacity] is reached when
    its [`mailbox_overflow`][limelight.Actor.mailbox_overflow] policy is
    ``"raise"``, or when ``"block"`` waited
    [`mailbox_block_timeout`][limelight.Actor.mailbox_block_timeout] seconds
    in vain, or would have to block an event loop. Set on the future of an
    ask that a ``"drop_oldest"`` or ``"drop_newest"`` policy dropped.
    """
