"""How a dedicated Ray host runs its actor: in the Ray call's thread when idle.

A Ray actor of one Limelight actor (``RayThreadHost``) receives each call in
a thread of Ray's. A thread actor would have that thread put the message
into the inbox and wait while the actor's own thread wakes, handles it and
wakes it again with the reply: two thread switches per ask, some 50 µs of a
call of about 1 ms. An :class:`InlineInbox` lets the host's call thread
handle the ask itself instead, when the actor is idle (nothing queued,
nothing being handled); everything else (tells, timers, self-sends, and asks
that find the actor busy) is queued for the actor's own thread, as for any
thread actor.

What holds either way:

- one message at a time: whoever handles a message (the call thread, or the
  actor's thread) has marked the inbox *busy* first, under its lock, and
  anything that arrives meanwhile is queued behind it;
- order: an ask runs at once only if nothing is queued; what it sends
  itself, or what arrives while it runs, is handled after it, by the
  actor's thread, in the order queued;
- the actor's context: every message runs in the one ``contextvars``
  context of the actor (entered by one thread at a time, since only the
  busy one enters it), so deadlock detection sees the actor as the current
  one, and context variables set by one handler are seen by the next.

What differs from a thread actor: a handler may run in either of two
threads (never both at once), so ``threading.local`` state does not carry
from one message to the next. An actor class that keeps such state sets
``reuse_thread = False`` (its meaning for thread actors: "this actor's
thread is its own"), and its messages all go through its own thread.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import itertools
import threading
from typing import TYPE_CHECKING

from limelight._core._runtime import DequeInbox
from limelight._runtimes import blocking
from limelight._runtimes.threads import RUNTIME as THREADS
from limelight._runtimes.threads import ThreadingRuntime

if TYPE_CHECKING:
    from collections.abc import Generator

    from limelight._core._actor import Actor
    from limelight._core._runtime import Inbox
    from limelight._core._types import Envelope

__all__ = [
    "HOST_THREAD",
    "RAY_ACTOR_RUNTIME",
    "InlineInbox",
    "RayActorRuntime",
    "hosting",
]

_thread_numbers = itertools.count()


class _HostThread(threading.local):
    """What the current thread is doing for a dedicated host."""

    hosting = False
    """Whether it makes the host's actor: give it an `InlineInbox` (if it can)."""

    inline: object = None
    """The inbox of the actor this thread asks for its host, and waits for.

    Set only around an ask that blocks until answered (the host's): the
    asker waits for the reply anyway, so nothing is held up that would not
    be; that actor, if idle, handles it in this thread. Anything else this
    thread asks (the handler, say, asking other actors) is queued as usual.
    (Set and reset by hand: a context manager would cost more than the rest
    of the ask.)
    """


HOST_THREAD = _HostThread()


@contextlib.contextmanager
def hosting() -> Generator[None]:
    """Within: actors made in this thread get an `InlineInbox` (if they can)."""
    HOST_THREAD.hosting = True
    try:
        yield
    finally:
        HOST_THREAD.hosting = False


class InlineInbox(DequeInbox):
    """An actor's inbox that a blocking asker may handle itself, when it is idle."""

    __slots__ = (
        "_actor",
        "_busy",
        "_context",
        "_done",
        "_lock",
        "_wake",
        "thread",
    )

    def __init__(self, actor: Actor) -> None:
        self._actor = actor
        self._items: collections.deque[Envelope] = collections.deque()
        self._lock = threading.Lock()
        # Released to wake the actor's thread: there is work, or the end.
        self._wake = threading.Lock()
        self._wake.acquire()
        # Whether a thread handles the actor's messages (or starts it):
        # until on_start() has run, no one else may.
        self._busy = True
        self._done = False
        # The actor's own context, entered by whoever is busy.
        self._context = contextvars.Context()
        self.thread: threading.Thread | None = None
        """The actor's own thread, once started."""

    def put(self, envelope: Envelope, /) -> None:
        """Queue an envelope, or handle it now (an inline ask to an idle actor)."""
        with self._lock:
            if self._busy or self._done:
                self._items.append(envelope)
                return
            self._busy = True
            here = HOST_THREAD.inline is self and envelope[1] is not None
            if not here:
                self._items.append(envelope)
        if here:
            self._run_here(envelope)
        else:
            self._wake.release()

    def get(self) -> Envelope:
        """Not supported: the inbox is drained by whoever is busy, not by blocking."""
        msg = "an InlineInbox is drained by its actor's thread, not by blocking"
        raise TypeError(msg)

    def start(self, *, daemon: bool) -> None:
        """Start the actor's thread, which runs ``on_start()`` first."""
        name = f"{type(self._actor).__name__}-{next(_thread_numbers)}"
        thread = threading.Thread(target=self._work, name=name, daemon=daemon)
        self.thread = thread
        thread.start()

    def _run_here(self, envelope: Envelope) -> None:
        """Handle `envelope` in this thread, then hand on what arrived meanwhile."""
        if self._context.run(self._handle, envelope):
            self._idle_or_wake()

    def _handle(self, envelope: Envelope) -> bool:
        """Handle one message (in the actor's context); whether the actor runs on."""
        actor = self._actor
        if actor.actor_stopped._flag:
            # Killed (or crashed) while it waited: not handled; the teardown
            # answers it, with whatever else is queued.
            self._items.appendleft(envelope)
        elif blocking.handle_envelope(actor, envelope):
            return True
        self._end()
        return False

    def _end(self) -> None:
        with self._lock:
            self._done = True
        self._actor._actor_loop_teardown()
        self._wake.release()  # (the actor's thread, if idle, ends)

    def _idle_or_wake(self) -> None:
        """After a message: be idle, or let the actor's thread take the queue."""
        with self._lock:
            if not self._items:
                self._busy = False
                return
        self._wake.release()

    def _work(self) -> None:
        """The actor's thread: start the actor, then handle what is queued."""
        run = self._context.run
        if not run(blocking.start, self._actor):
            run(self._end)
            return
        get = self._items.popleft
        while True:
            with self._lock:
                if not self._items:
                    self._busy = False
                    waiting = True
                else:
                    waiting = False
            if waiting:
                self._wake.acquire()
                if self._done:
                    return
            if not run(self._handle, get()):
                return


class RayActorRuntime(ThreadingRuntime):
    """The runtime of ``RayActor``: a thread actor, inline in a dedicated host.

    Outside a dedicated host's start of its actor (in a pooled host, or a
    RayActor made in a plain process) it is the threading runtime.
    """

    def __init__(self, threads: ThreadingRuntime) -> None:  # pyright: ignore[reportMissingSuperCall] -- shares `threads`' own
        # The threading runtime's thread caches and timer thread, not
        # copies: one timer thread per process, and the leak checks that
        # end idle cached threads end these too.
        self.threads = threads.threads
        self.daemon_threads = threads.daemon_threads
        self.timers = threads.timers

    def create_inbox(self, actor: Actor) -> Inbox:
        if (
            HOST_THREAD.hosting
            and actor.mailbox_capacity is None  # (bounded: a mailbox of its own)
            and getattr(actor, "reuse_thread", True)
        ):
            return InlineInbox(actor)
        return super().create_inbox(actor)

    def start(self, actor: Actor) -> None:
        inbox = actor.actor_inbox
        if isinstance(inbox, InlineInbox):
            inbox.start(daemon=getattr(actor, "use_daemon_thread", False))
        else:
            super().start(actor)

    def release(self, actor: Actor) -> None:
        # (An inline actor's thread is its own, or the Ray call's: not renamed.)
        if not isinstance(actor.actor_inbox, InlineInbox):
            super().release(actor)


RAY_ACTOR_RUNTIME = RayActorRuntime(THREADS)
