"""The interface between the core and a runtime.

A runtime (threads, asyncio, gevent, ...) is a :class:`Runtime` object that an
actor class names in its ``_runtime`` class attribute. The core never asks
*which* runtime it is dealing with; it only calls these methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from limelight._core._actor import Actor
    from limelight._core._future import SettableFuture
    from limelight._core._types import Envelope

__all__ = ["Inbox", "Runtime"]


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


class Runtime(Protocol):
    """What a runtime supplies to run actors."""

    name: str
    """A short name, such as ``"threading"``, for logs and introspection."""

    def future_factory(self, actor: Actor) -> Callable[[], SettableFuture[Any]]:
        """Return what makes the futures of asks to `actor` (called once per ref)."""
        ...  # pragma: no cover

    def create_inbox(self, actor: Actor) -> Inbox:
        """Make the inbox of a new actor."""
        ...  # pragma: no cover

    def start(self, actor: Actor) -> None:
        """Start running ``actor._actor_loop()`` concurrently with the caller.

        Run it in a ``contextvars`` context of its own (a fresh one, say):
        the loop marks its context as the actor's, for deadlock detection.
        """
        ...  # pragma: no cover

    def release(self, actor: Actor) -> None:
        """Called in the actor's context when its loop is over, before stop replies.

        The runtime can detach the actor from its execution context here
        (rename a pooled thread, say), so that whoever waited for the stop
        sees the context already released.
        """
        ...  # pragma: no cover
