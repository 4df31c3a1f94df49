"""Watches and links: what an ending actor tells the actors that care.

``Actor.watch()`` and ``Actor.link()`` register these callbacks on the
watched actor's ``actor_stopped`` (``StoppedEvent.on_terminated()``), keyed
by what they are, so that watching twice tells once and ``unwatch()`` and
``unlink()`` can remove them. They run once the actor has ended, in the
thread that ends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from limelight._core._exceptions import ActorDeadError
from limelight._core._log import logger
from limelight.messages import _LinkExit

if TYPE_CHECKING:
    from limelight._core._ref import ActorRef
    from limelight.messages import Terminated

__all__ = ["SendLinkExit", "TellTerminated", "tell_if_alive"]


class TellTerminated:
    """A watch: tell the watcher how the watched actor ended."""

    __slots__ = ("watcher",)

    def __init__(self, watcher: ActorRef[Any]) -> None:
        self.watcher = watcher

    def __call__(self, terminated: Terminated) -> None:
        tell_if_alive(self.watcher, terminated)


class SendLinkExit:
    """One direction of a link: tell the linked actor how this one ended."""

    __slots__ = ("linked",)

    def __init__(self, linked: ActorRef[Any]) -> None:
        self.linked = linked

    def __call__(self, terminated: Terminated) -> None:
        tell_if_alive(self.linked, _LinkExit(terminated))


def tell_if_alive(actor_ref: ActorRef[Any], message: Any) -> None:
    try:
        actor_ref.tell(message)
    except ActorDeadError:  # it ended too: there is nobody left to tell
        logger.debug("Not telling %s of %r: it has stopped", actor_ref, message)
