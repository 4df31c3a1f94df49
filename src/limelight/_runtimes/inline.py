"""Inline asks: an idle thread actor's ask handled in the thread that received it.

A host of remote actors receives each ask in a thread of its own: a Ray
call's thread in a dedicated Ray host, the channel's reader in a worker
process. A thread actor would have that thread put the message into the
inbox while the actor's own thread wakes, handles it and sends the reply:
one thread switch more per ask, 20 to 50 µs of an ask that otherwise
costs little more than the transport. An :class:`InlineInbox` lets the
receiving thread handle the ask itself instead, when the actor is idle
(nothing queued, nothing being handled); everything else (tells, timers,
self-sends, and asks that find the actor busy) is queued for the actor's
own thread, as for any thread actor.

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
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from limelight._core import _context, _wait_graph
from limelight._core._exceptions import DeadlockError
from limelight._core._future import _normalize_exc_info
from limelight._core._ref import ActorRef
from limelight._core._runtime import DequeInbox
from limelight._core._wait_graph import current_actor_weakref, ref_of
from limelight._runtimes import blocking
from limelight._runtimes.threads import RUNTIME as THREADS
from limelight._runtimes.threads import ThreadingRuntime
from limelight.messages import _ActorStop

if TYPE_CHECKING:
    import weakref
    from collections.abc import Generator

    from limelight._core._actor import Actor
    from limelight._core._future import Future
    from limelight._core._runtime import Inbox
    from limelight._core._types import Envelope, ExcInfo

__all__ = [
    "CALLER_RUNS",
    "HOST_THREAD",
    "CallerRunsRef",
    "CallerRunsRuntime",
    "InlineInbox",
    "InlineRuntime",
    "hosting",
]

A = TypeVar("A", bound="Actor")

_thread_numbers = itertools.count()


class _HostThread(threading.local):
    """What the current thread is doing for a host of remote actors."""

    hosting = False
    """Whether it makes a hosted actor: give it an `InlineInbox` (if it can)."""

    inline: object = None
    """The inbox of the actor whose ask this thread hands on, to handle here.

    Set only around handing on one ask: a Ray host's call thread waits for
    the reply anyway, and a worker's reader has someone to read on for it
    (``processes/_relief.py``); that actor, if idle, handles it in this
    thread. Anything else this thread asks (the handler, say, asking other
    actors) is queued as usual. (Set and reset by hand: a context manager
    would cost more than the rest of the ask.)
    """


HOST_THREAD = _HostThread()


@contextlib.contextmanager
def hosting() -> Generator[None]:
    """Within: inline-capable actors made in this thread get an `InlineInbox`."""
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

    def answer_here(self, envelope: Envelope) -> bool:
        """Take the actor's turn and handle the ask `envelope` in this thread.

        The reply goes to the envelope's `reply_to` before this returns.
        False if the actor is busy (or stopped): nothing was handled; ask
        as usual then, queued.
        """
        with self._lock:
            if self._busy or self._done:
                return False
            self._busy = True
        if self._actor.actor_stopped._flag or _context.propagating:
            # (Stopping, or a sender's context to carry: the queued way.)
            self._idle_or_wake()
            return False
        asker = current_actor_weakref()
        if asker is not None:
            self._run_for(asker, envelope)
        elif self._context.run(self._handle, envelope):
            # (_idle_or_wake(), written out: one call less per ask.)
            with self._lock:
                if not self._items:
                    self._busy = False
                    return True
            self._wake.release()
        return True

    def _run_here(self, envelope: Envelope) -> None:
        """Handle `envelope` in this thread, then hand on what arrived meanwhile.

        (For a host's thread, which is no actor: see `_run_for()` for one.)
        """
        if self._context.run(self._handle, envelope):
            self._idle_or_wake()

    def _run_for(self, asker: weakref.ref[Actor], envelope: Envelope) -> None:
        """Handle the ask of another actor, in its thread, as its wait for the reply.

        The asker is blocked on this actor as surely as if it waited for the
        reply: the wait-for graph must say so, or a handler that asks the
        asker back would wait forever, undetected.
        """
        waiter = ref_of(asker)
        reply = cast("Future[Any]", envelope[1])  # (or an _Answer)
        try:
            if waiter is not None:
                _wait_graph.begin_wait(waiter, self._actor.actor_ref, reply)
        except DeadlockError as exc:
            reply.set_exception(exc)  # (not handled: the ask would never end)
            self._idle_or_wake()
            return
        try:
            if self._context.run(self._handle, envelope):
                self._idle_or_wake()
        finally:
            if waiter is not None:
                _wait_graph.end_wait(waiter, reply)

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
        # (For its stack in limelight top, as the threading runtime notes it.)
        self._actor._limelight_thread_ident = threading.get_ident()
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


class InlineRuntime(ThreadingRuntime):
    """A thread actor's runtime whose actors a host makes get an `InlineInbox`.

    Outside a host's start of its actor (``hosting()``: a dedicated Ray
    host's, a worker process's) it is the threading runtime. Each actor
    class that a host may run inline has an instance of its own, so that
    its refs can tell the class's actors apart by runtime.
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


class _Answer:
    """The reply slot of an ask run in the asking thread: no lock, no waiting.

    The asker reads it once the handler is over, in the same thread, so it
    is a plain object, not a future (it stands in for one as a reply and as
    a wait in the wait-for graph). Every way an ask ends fills it before the
    handler returns: the reply, the exception, or, if the actor was killed
    meanwhile, the teardown's ``ActorDeadError``.
    """

    __slots__ = ("ok", "value")

    ok: bool
    value: Any

    def set(self, value: Any = None) -> None:
        self.ok = True
        self.value = value

    def set_exception(self, exc_info: Any = None) -> None:
        self.ok = False
        self.value = _normalize_exc_info(exc_info)

    def _is_ready(self) -> bool:
        return hasattr(self, "ok")  # (no __init__(): one call less per ask)


class CallerRunsRef(ActorRef[A]):
    """The ref of a thread actor with ``inline_asks``: asks may run in the asker.

    A blocking ask without a timeout, to an idle actor, runs the handler in
    the asking thread (the asker waits for the reply anyway); anything else
    is queued for the actor's own thread, as for any thread actor. (With a
    timeout, the ask is queued: a handler run here could not be cut off.)
    """

    __slots__ = ()

    def ask(  # pyright: ignore[reportIncompatibleMethodOverride] -- ActorRef.ask(), whose overloads hold
        self, message: Any, block: bool = True, timeout: float | None = None
    ) -> Any:
        if block and timeout is None and message.__class__ is not _ActorStop:
            # (A stop's reply waits for the actor's end: never answered here.)
            inbox = self.actor_inbox
            if type(inbox) is InlineInbox:
                answer = _Answer()
                if inbox.answer_here((message, answer)):
                    if answer.ok:
                        return answer.value
                    exc_info: ExcInfo = answer.value
                    raise exc_info[1].with_traceback(exc_info[2])
        return super().ask(message, block, timeout)


class CallerRunsRuntime(InlineRuntime):
    """The runtime of a ``ThreadingActor`` class with ``inline_asks = True``.

    Every actor of it (but a bounded one: its mailbox must be its own) gets
    an `InlineInbox`, and a `CallerRunsRef`.
    """

    ref_class: ClassVar[type[ActorRef[Any]]] = CallerRunsRef

    def create_inbox(self, actor: Actor) -> Inbox:
        if actor.mailbox_capacity is None:
            return InlineInbox(actor)
        return ThreadingRuntime.create_inbox(self, actor)


CALLER_RUNS = CallerRunsRuntime(THREADS)
