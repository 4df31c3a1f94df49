"""The interface between the core and a runtime.

A runtime (threads, asyncio, gevent, ...) is a :class:`Runtime` object that an
actor class names in its ``_runtime`` class attribute. The core never asks
*which* runtime it is dealing with; it only calls these methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from limelight._core._actor import Actor
    from limelight._core._future import SettableFuture
    from limelight._core._types import Envelope

__all__ = ["Inbox", "Runtime", "StoppedFlag"]


class Inbox(Protocol):
    """An actor's queue of envelopes: many writers from any thread, one reader."""

    def put(self, envelope: Envelope, /) -> None:
        """Append an envelope; never blocks an unbounded inbox."""
        ...  # pragma: no cover

    def get(self) -> Envelope:
        """Remove and return the oldest envelope, waiting for one if need be."""
        ...  # pragma: no cover

    def get_nowait(self) -> Envelope:
        """Remove and return the oldest envelope; raise ``queue.Empty`` if none."""
        ...  # pragma: no cover

    def empty(self) -> bool:
        """Whether the inbox holds no envelope right now."""
        ...  # pragma: no cover


class StoppedFlag(Protocol):
    """An event that is set once, when the actor stops (``threading.Event``-like)."""

    def is_set(self) -> bool:
        """Whether the actor has stopped."""
        ...  # pragma: no cover

    def set(self) -> None:
        """Mark the actor stopped."""
        ...  # pragma: no cover

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the actor has stopped or `timeout` seconds have passed."""
        ...  # pragma: no cover


class Runtime(Protocol):
    """What a runtime supplies to run actors."""

    name: str
    """A short name, such as ``"threading"``, for logs and introspection."""

    future_class: type[SettableFuture[Any]]
    """The future type replies to this runtime's actors' asks are made of."""

    def create_inbox(self, actor: Actor) -> Inbox:
        """Make the inbox of a new actor."""
        ...  # pragma: no cover

    def create_stopped_flag(self, actor: Actor) -> StoppedFlag:
        """Make the event that tells the world the actor has stopped."""
        ...  # pragma: no cover

    def start(self, actor: Actor) -> None:
        """Start running ``actor._actor_loop()`` concurrently with the caller."""
        ...  # pragma: no cover

    def release(self, actor: Actor) -> None:
        """Called in the actor's context when its loop is over, before stop replies.

        The runtime can detach the actor from its execution context here
        (rename a pooled thread, say), so that whoever waited for the stop
        sees the context already released.
        """
        ...  # pragma: no cover
