"""Watches and links: what an ending actor tells the actors that care.

``Actor.watch()`` and ``Actor.link()`` register these callbacks on the
watched actor's ``actor_stopped`` (``StoppedEvent.on_terminated()``), keyed
by what they are, so that watching twice tells once and ``unwatch()`` and
``unlink()`` can remove them. They run once the actor has ended, in the
thread that ends it.

Each watch and each link is noted on *both* actors' events, and whichever
side ends first removes the other side's note: a long-lived actor (a
supervisor, a watcher) keeps nothing for the actors it outlived. A note
left behind would hold the dead actor's ref, and through it the actor
object, its state and the traceback it died with, once per actor ended.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from limelight._core._exceptions import ActorDeadError
from limelight._core._log import logger
from limelight.messages import _LinkExit

if TYPE_CHECKING:
    from limelight._core._ref import ActorRef
    from limelight._core._stopped import StoppedEvent
    from limelight.messages import Terminated

__all__ = [
    "Forget",
    "SendLinkExit",
    "TellTerminated",
    "link_key",
    "tell_if_alive",
    "watch_key",
    "watching_key",
]


def watch_key(watcher_urn: str) -> Hashable:
    """The key of a watch, on the watched actor's event."""
    return ("watch", watcher_urn)


def watching_key(watched_urn: str) -> Hashable:
    """The key of a watch, on the watcher's event: what to forget if it ends first."""
    return ("watching", watched_urn)


def link_key(other_urn: str) -> Hashable:
    """The key of a link to `other_urn`, on this side's event (the same both ways)."""
    return ("link", other_urn)


class TellTerminated:
    """A watch: tell the watcher how the watched actor ended.

    Registered on the watched actor's event; it also removes the watcher's
    note of the watch, which has served its purpose.
    """

    __slots__ = ("watched_urn", "watcher")

    def __init__(self, watcher: ActorRef[Any], watched_urn: str) -> None:
        self.watcher = watcher
        self.watched_urn = watched_urn

    def __call__(self, terminated: Terminated) -> None:
        self.watcher.actor_stopped.remove_termination_callback(
            watching_key(self.watched_urn)
        )
        tell_if_alive(self.watcher, terminated)


class SendLinkExit:
    """One direction of a link: tell the linked actor how this one ended.

    Registered on this side's event; it also removes the linked actor's
    callback for this side, which has nobody left to tell.
    """

    __slots__ = ("linked", "urn")

    def __init__(self, linked: ActorRef[Any], urn: str) -> None:
        self.linked = linked
        self.urn = urn  # this side's

    def __call__(self, terminated: Terminated) -> None:
        self.linked.actor_stopped.remove_termination_callback(link_key(self.urn))
        tell_if_alive(self.linked, _LinkExit(terminated))


class Forget:
    """Remove one callback from another actor's event: a watcher has ended.

    It holds the event, not the ref: an event holds no actor object.
    """

    __slots__ = ("key", "stopped")

    def __init__(self, stopped: StoppedEvent, key: Hashable) -> None:
        self.stopped = stopped
        self.key = key

    def __call__(self, terminated: Terminated) -> None:
        self.stopped.remove_termination_callback(self.key)


def tell_if_alive(actor_ref: ActorRef[Any], message: Any) -> None:
    try:
        actor_ref.tell(message)
    except ActorDeadError:  # it ended too: there is nobody left to tell
        logger.debug("Not telling %s of %r: it has stopped", actor_ref, message)
