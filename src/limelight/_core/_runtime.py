"""The interface between the core and a runtime.

A runtime (threads, asyncio, gevent, ...) is a :class:`Runtime` object that an
actor class names in its ``_limelight_runtime`` class attribute. The core never asks
*which* runtime it is dealing with; it only calls these methods.
"""

from __future__ import annotations

import queue
import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import collections
    from collections.abc import Callable

    from limelight._core._actor import Actor
    from limelight._core._future import SettableFuture
    from limelight._core._types import Envelope

__all__ = [
    "Cancellable",
    "DequeInbox",
    "Inbox",
    "Runtime",
    "is_service_thread",
    "mark_service_thread",
]

# Threads that runtimes run for themselves (a timer scheduler, a background
# event loop), not for one actor: leak checks must not report them.
_service_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def mark_service_thread(thread: threading.Thread) -> None:
    """Note that a runtime runs `thread` for its own service, not for an actor.

    Such threads outlive the actors that made a runtime start them, so the
    leak check of ``limelight.testing`` must not take them for leaks. A
    runtime calls this for each such thread it starts.
    """
    _service_threads.add(thread)


def is_service_thread(thread: threading.Thread) -> bool:
    """Whether a runtime marked `thread` with :func:`mark_service_thread`."""
    return thread in _service_threads


class Inbox(Protocol):
    """An actor's queue of envelopes: many writers from any thread, one reader.

    An inbox that keeps its envelopes in a ``collections.deque`` and drains
    it itself may also offer ``use_queue(items)``, to keep them in `items`
    instead: a bounded mailbox is such a deque (see ``_core/_bounded.py``).
    Any other inbox is wrapped, for a bounded actor, and carries wake-up
    tokens only.
    """

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

    def qsize(self) -> int | None:
        """How many envelopes it holds right now, for introspection.

        None if it cannot tell: an inbox that forwards to another process
        holds none itself, and the actor's own inbox is out of reach.
        """
        ...  # pragma: no cover


class DequeInbox:
    """What every inbox that keeps its envelopes in a deque, ``_items``, reads alike.

    A subclass makes ``_items`` and fills it in its ``put()``, and says how
    its actor learns of a new envelope (a greenlet parks, a loop is called
    back, ...); taking an envelope out without waiting, and telling whether
    there is one, are the same for all.
    """

    __slots__ = ("_items",)

    _items: collections.deque[Envelope]

    def get_nowait(self) -> Envelope:
        """Remove and return the oldest envelope; raise ``queue.Empty`` if none."""
        try:
            return self._items.popleft()
        except IndexError:
            raise queue.Empty from None

    def empty(self) -> bool:
        """Whether no envelope is queued."""
        return not self._items

    def qsize(self) -> int:
        """How many envelopes are queued."""
        return len(self._items)


class Cancellable(Protocol):
    """A scheduled callback, as returned by ``Runtime.call_later()``."""

    def cancel(self) -> object:
        """Withdraw the callback, from any thread.

        Once it has taken effect, the runtime holds no reference to the
        callback. Cancelling a callback that is running, has run or is
        already cancelled does nothing. From another context, the callback
        may still run once (the core checks for that itself).
        """
        ...  # pragma: no cover


class Runtime(Protocol):
    """What a runtime supplies to run actors.

    A runtime whose ``call_later()`` delays count on a clock other than
    ``time.monotonic`` (a virtual clock, in tests) also has a ``monotonic()``
    method that reads it; periodic timers then keep their rate on it.

    A runtime may also have a ``ref_class`` attribute: a subclass of
    ``ActorRef`` that its actors' refs are made of, read once per actor
    class. It may override ``tell()`` to queue into the runtime's own inbox
    without a call to its ``put()`` (see ``_runtimes/greenlet/hub.py``): a tell is the
    hottest path there is, and a Python call is a good part of its cost.
    """

    name: str
    """A short name, such as ``"threading"``, for logs and introspection."""

    def future_factory(self, actor: Actor) -> Callable[[], SettableFuture[Any]]:
        """Return what makes the futures of asks to `actor` (called once per ref)."""
        ...  # pragma: no cover

    def create_inbox(self, actor: Actor) -> Inbox:
        """Make the inbox of a new actor."""
        ...  # pragma: no cover

    def start(self, actor: Actor) -> None:
        """Start running `actor`'s loop concurrently with the caller.

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

    def call_later(
        self, actor: Actor, delay: float, callback: Callable[[], object]
    ) -> Cancellable:
        """Call `callback()` once, `delay` seconds (or a little more) from now.

        For the timers of `actor`; callable from any thread. The callback
        only puts a message in `actor`'s inbox, so it may run in any context
        that can do that (the threading runtime uses one shared scheduler
        thread, the asyncio runtime the actor's loop), but it must not cost a
        thread per call.
        """
        ...  # pragma: no cover
