"""Actors as greenlets: what every greenlet runtime (gevent, eventlet) shares.

A greenlet actor is one greenlet running the blocking driver
(``_runtimes/blocking.py``), scheduled by a *hub*: the greenlet of a thread
that runs an event loop and switches to whichever greenlet can go on. Waiting
(for a message, a future, a stopped actor) parks the greenlet and switches
to its hub; whoever makes it runnable again asks the hub to switch back.

Nothing here imports a greenlet library's hub: a runtime supplies a
:class:`HubAdapter`, which makes a :class:`GreenHub` of its library's hub
(gevent's ``Hub``, eventlet's hub). Everything else, the inbox, the waiter,
timers and the rule for waking a greenlet from another thread, is written
once, against :class:`GreenHub`.

The one rule that makes waking safe: a greenlet is switched to only from
its own hub, by a callback that checks, in the hub's thread, that the
greenlet is still parked for that reason. A late or duplicate wake-up then
does nothing, instead of resuming a greenlet that waits for something else.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from greenlet import getcurrent, greenlet

from limelight._core import _context, _mailbox
from limelight._core._ref import ActorRef
from limelight._core._runtime import Cancellable, DequeInbox

if TYPE_CHECKING:
    import _thread

    from limelight._core._actor import Actor
    from limelight._core._types import Envelope, Queued

__all__ = [
    "GreenHub",
    "GreenInbox",
    "GreenRef",
    "GreenWaiter",
    "HubAdapter",
    "HubCall",
    "HubOps",
    "as_envelope",
    "waiter_factory",
]

Callback = Callable[[], object]

A = TypeVar("A", bound="Actor")


class HubOps(NamedTuple):
    """What a greenlet library's hub does for Limelight; a runtime's adapter makes it.

    All but ``call_soon_threadsafe`` are called in the hub's own thread.
    """

    greenlet: greenlet
    """The hub's greenlet: switching to it lets the loop run."""

    park: Callable[[], object]
    """Switch from the current greenlet to the hub, until something switches back."""

    call_soon: Callable[[Callback], object]
    """Have the hub call a callback soon; only from the hub's thread."""

    call_soon_threadsafe: Callable[[Callback], object]
    """Have the hub call a callback soon, from any thread, waking its loop."""

    call_later: Callable[[float, Callback], Cancellable]
    """Have the hub call a callback after a delay; only from the hub's thread.

    The callback must not keep the loop running on its own.
    """

    hold: Callable[[], object]
    """Keep the loop running, even with nothing else to do, until ``unhold()``.

    Holds nest: the loop may end again once each has been undone. A
    greenlet waiting for something that another thread may complete holds
    its hub, which would otherwise end its loop (gevent raises ``LoopExit``).
    """

    unhold: Callable[[], object]
    """Undo one ``hold()``."""


class HubAdapter(Protocol):
    """A greenlet library, as Limelight uses it: the one part a runtime writes.

    gevent's is in ``limelight/_runtimes/greenlet/gevent_hub.py``, eventlet's in
    ``limelight/_runtimes/greenlet/eventlet_hub.py``.
    """

    def allocate_lock(self) -> _thread.LockType:
        """A new OS-level lock, even in a monkey-patched program."""
        ...  # pragma: no cover

    def start_thread(self, target: Callable[[], object], name: str) -> None:
        """Run `target` in a new OS thread, even in a monkey-patched program."""
        ...  # pragma: no cover

    def current_hub(self) -> GreenHub | None:
        """The calling thread's hub, if it has one already (never makes one)."""
        ...  # pragma: no cover

    def threads_are_greenlets(self) -> bool:
        """Whether the program is monkey-patched: its "threads" are greenlets."""
        ...  # pragma: no cover

    def make_hub(self) -> GreenHub:
        """The calling thread's hub, made if need be."""
        ...  # pragma: no cover

    def destroy_hub(self, hub: GreenHub) -> None:
        """Free the calling thread's hub and its loop; the thread is about to end."""
        ...  # pragma: no cover


class GreenHub:
    """One thread's hub, with what the greenlet core needs of it.

    A runtime's adapter makes one per hub (and keeps it, so that it is made
    once); the core calls nothing of the greenlet library but through it.
    """

    __slots__ = (
        "call_later_here",
        "call_soon",
        "call_soon_threadsafe",
        "get_ident",
        "greenlet",
        "hold",
        "native",
        "park",
        "thread_id",
        "unhold",
    )

    def __init__(
        self, native: object, ops: HubOps, get_ident: Callable[[], int]
    ) -> None:
        self.native = native
        """The library's own hub object."""
        self.greenlet = ops.greenlet
        self.park = ops.park
        self.call_soon = ops.call_soon
        self.call_soon_threadsafe = ops.call_soon_threadsafe
        self.call_later_here = ops.call_later
        self.hold = ops.hold
        self.unhold = ops.unhold
        self.get_ident = get_ident
        """The calling OS thread's identity (the adapter's)."""
        self.thread_id = get_ident()
        """The thread that runs the hub: a hub is made in its own thread."""

    def __repr__(self) -> str:
        return f"<GreenHub of thread {self.thread_id:#x}>"

    def runs(self, current: greenlet) -> bool:
        """Whether `current` is this hub's greenlet or a greenlet it schedules.

        That is, whether the hub's greenlet is `current` or one of its
        parents. A thread may have hubs of two libraries (gevent's and
        eventlet's, say): a greenlet of one must never park in the other.
        """
        scanned: greenlet | None = current
        while scanned is not None:
            if scanned is self.greenlet:
                return True
            scanned = scanned.parent
        return False

    def call(self, callback: Callback) -> None:
        """Have the hub call `callback` soon, from any thread."""
        if self.get_ident() == self.thread_id:
            self.call_soon(callback)
        else:
            self.call_soon_threadsafe(callback)

    def spawn(self, function: Callback) -> None:
        """Run `function` in a new greenlet of this hub, soon; from any thread."""
        if self.get_ident() == self.thread_id:
            # (_spawn_here(), written out: a call less per actor.)
            self.call_soon(greenlet(function, self.greenlet).switch)
        else:
            # (A greenlet is made in its hub's thread: its parent must be there.)
            self.call_soon_threadsafe(lambda: self._spawn_here(function))

    def _spawn_here(self, function: Callback) -> None:
        # A new greenlet starts in an empty contextvars context, as a new
        # thread does: nothing leaks from whoever started the actor.
        self.call_soon(greenlet(function, self.greenlet).switch)

    def call_later(self, delay: float, callback: Callback) -> HubCall:
        """Call `callback()` on the hub `delay` seconds from now; from any thread."""
        call = HubCall(self)
        if self.get_ident() == self.thread_id:
            call.start(delay, callback)
        else:
            self.call_soon_threadsafe(lambda: call.start(delay, callback))
        return call


class HubCall:
    """A callback scheduled on a hub from any thread; ``cancel()`` withdraws it.

    Scheduling and cancelling from another thread go through the hub's
    thread-safe callbacks, so they take effect in order, in the hub.
    """

    __slots__ = ("_cancelled", "_handle", "_hub")

    def __init__(self, hub: GreenHub) -> None:
        self._hub = hub
        self._handle: Cancellable | None = None
        self._cancelled = False

    def start(self, delay: float, callback: Callback) -> None:
        """Schedule `callback` `delay` seconds from now; in the hub's thread."""
        if not self._cancelled:
            self._handle = self._hub.call_later_here(delay, callback)

    def cancel(self) -> None:
        """Withdraw the callback unless it has run; from any thread."""
        self._cancelled = True
        self._hub.call(self._cancel)

    def _cancel(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.cancel()  # which drops the hub's reference to the callback


class GreenWaiter:
    """A one-shot waiter (see ``_core/_waiting.py``) for a greenlet in a hub's thread.

    ``acquire()`` parks the greenlet, letting every other greenlet of the hub
    run; ``release()``, from any thread, has the hub switch back to it.
    """

    __slots__ = ("_greenlet", "_hub", "_parked", "_released")

    def __init__(self, hub: GreenHub, current: greenlet) -> None:
        self._hub = hub
        self._greenlet = current
        self._released = False
        # Parked in acquire() right now: read and written in the hub's thread
        # only, so that a wake-up that comes too late does nothing.
        self._parked = False

    def release(self) -> None:
        """Wake the waiter up; from any thread, once."""
        self._released = True
        hub = self._hub
        if hub.get_ident() == hub.thread_id:
            # The waiting greenlet is not running (this one is): if it is not
            # parked yet, acquire() will see _released and not park at all.
            if self._parked:
                hub.call_soon(self._wake)
        else:
            hub.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._parked:
            self._parked = False
            self._greenlet.switch()

    def acquire(self, blocking: bool = True, timeout: float = -1, /) -> bool:
        """Park until released, or until `timeout` seconds (-1: for ever) pass."""
        if self._released or not blocking:
            return self._released
        hub = self._hub
        timer = hub.call_later_here(timeout, self._wake) if timeout >= 0 else None
        self._parked = True
        hub.hold()
        try:
            hub.park()
        finally:
            self._parked = False
            hub.unhold()
            if timer is not None:
                timer.cancel()
        return self._released


def waiter_factory(
    current_hub: Callable[[], GreenHub | None],
) -> Callable[[], GreenWaiter | None]:
    """Return a waiter factory (see ``_core/_waiting.py``) for greenlets of hubs.

    It makes a :class:`GreenWaiter` for any greenlet that the calling
    thread's hub schedules, and for the thread's root greenlet (a
    monkey-patched main thread waits without stopping its other greenlets),
    but not for the hub's own greenlet, which must never park: there, and in
    threads without a hub, it returns None, and the caller blocks its OS
    thread. Nor for a greenlet of another library's hub in the same thread:
    that library's factory makes its waiter.
    """

    def new_waiter() -> GreenWaiter | None:
        hub = current_hub()
        if hub is None:
            return None
        current = getcurrent()
        if current is hub.greenlet:
            return None
        parent = current.parent
        # (A greenlet the hub spawned, the common case, tested without a call.)
        if parent is not None and parent is not hub.greenlet and not hub.runs(current):
            return None
        return GreenWaiter(hub, current)

    return new_waiter


class GreenInbox(DequeInbox):
    """A greenlet actor's inbox: many writers in any thread, one reader greenlet.

    ``get()`` parks the reader greenlet while the inbox is empty. A writer in
    the hub's thread wakes it with a plain callback; one in another thread,
    with a thread-safe one, at most one pending at a time.

    Its deque holds envelopes, and told messages queued bare by
    :class:`GreenRef` (see ``Queued`` in ``_core/_types.py``): the actor's
    loop takes both as they are (:meth:`take`); ``get()`` and
    ``get_nowait()`` return envelopes.
    """

    __slots__ = ("_parked", "_reader", "_wake_pending", "hub")

    def __init__(self, hub: GreenHub) -> None:
        self.hub = hub
        """The hub the actor lives in."""
        self._items: collections.deque[Queued] = collections.deque()
        self._reader: greenlet | None = None
        # The reader is parked in get(): set and cleared in the hub's thread
        # (other threads only read it).
        self._parked = False
        # A thread-safe wake-up is on its way: other threads need not send one.
        self._wake_pending = False

    def put(self, envelope: Envelope, /) -> None:
        """Queue an envelope and wake the reader if it waits; from any thread.

        (``GreenRef.tell()`` does the same, inline.)
        """
        self._items.append(envelope)
        if self._parked:
            self.wake_reader()

    def wake_reader(self) -> None:
        """Wake the reader parked in ``get()``, after an append that found it so.

        From any thread: the reader stays parked until it is switched to in
        its hub, where ``_parked`` is read again.
        """
        hub = self.hub
        if hub.get_ident() == hub.thread_id:
            # The reader is not running (this greenlet is): no race.
            self._parked = False
            hub.call_soon(self._reader.switch)  # type: ignore[union-attr]
        elif not self._wake_pending:
            self._wake_pending = True
            hub.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._wake_pending = False
        if self._parked:
            self._parked = False
            self._reader.switch()  # type: ignore[union-attr]

    def get(self) -> Envelope:
        """Take the oldest envelope, parking the reader greenlet until there is one."""
        return as_envelope(self.take())

    def get_nowait(self) -> Envelope:
        """Remove and return the oldest envelope; raise ``queue.Empty`` if none."""
        return as_envelope(super().get_nowait())

    def take(self) -> Queued:
        """Take the oldest item as it is queued, parking the reader until there is one.

        The actor's loop calls it to park on an empty inbox, and handles a
        bare message itself (see ``handle_messages()`` in ``_runtimes/blocking.py``).
        """
        items = self._items
        while True:
            if items:
                return items.popleft()
            if self._reader is None:
                self._reader = getcurrent()
            # Parked first, checked again after: a writer in another thread
            # that appended meanwhile either sees _parked or is seen here.
            self._parked = True
            if items:
                self._parked = False
                continue
            self.hub.park()

    def use_queue(self, items: collections.deque[Envelope]) -> None:
        """Keep envelopes in `items` (a bounded mailbox), not in a deque of its own.

        Called before the actor starts: ``put()`` appends to `items` (which
        applies the mailbox's overflow policy), ``get()`` takes from it.
        """
        self._items = items

    def forget_reader(self) -> None:
        """Drop the reader greenlet once the actor's loop is over."""
        self._reader = None


def as_envelope(item: Queued) -> Envelope:
    """The envelope of an item of a greenlet inbox: itself, or a bare told message's."""
    if item.__class__ is tuple:
        envelope: Envelope = item
        return envelope
    return (item, None)


class GreenRef(ActorRef[A]):
    """The ref of a greenlet actor: ``tell()`` queues without calling ``put()``.

    A tell is the hot path of a greenlet actor, and in it a Python call (to
    the inbox's ``put()``) costs about as much as everything else the ref
    does. So this ``tell()`` is ``ActorRef.tell()`` with
    :meth:`GreenInbox.put` written out: append to the deque, and wake the
    reader only if it is parked, which, in a burst of tells, the first one
    at most finds. And it appends the message bare, without an envelope
    (see ``Queued`` in ``_core/_types.py``): building and freeing the tuple,
    and the garbage collector's visits to it while it is queued, cost about
    a sixth of a tell and its handling. What is not the common case (a
    stopped actor, a message to wrap in its sender's context, a message
    that would look like an envelope) takes ``ActorRef.tell()``'s own way.

    A bounded actor's ref is a :class:`_BoundedGreenRef`: its mailbox must
    see every message in an envelope, to apply its policy.
    """

    __slots__ = ("_green_inbox",)

    def __init__(self, actor: A) -> None:
        super().__init__(actor)
        inbox = actor.actor_inbox
        assert isinstance(inbox, GreenInbox)  # the greenlet runtime's, always
        self._green_inbox = inbox

    def tell(self, message: Any) -> None:
        if (
            self.actor_stopped._flag
            or _context.propagating
            or message is None
            or message.__class__ is tuple
        ):
            super().tell(message)
            return
        inbox = self._green_inbox
        inbox._items.append(message)
        if inbox._parked:
            inbox.wake_reader()
        # inline _mailbox.after_put(self)
        # (Through a new name, which type checkers do not think still False.)
        stopped = self.actor_stopped
        if stopped._flag:
            _mailbox.reject_late_messages(self)
        # end inline


class _BoundedGreenRef(GreenRef[A]):
    """The ref of a bounded greenlet actor: ``tell()`` is ``ActorRef.tell()``.

    Its inbox keeps envelopes in a bounded ``Mailbox`` (see
    ``_core/_bounded.py``), which reads each message to apply its overflow
    policy: no message goes in bare.
    """

    __slots__ = ()

    def tell(self, message: Any) -> None:
        super(GreenRef, self).tell(message)  # (past GreenRef.tell())


GreenRef._limelight_bounded_class = _BoundedGreenRef  # (see ActorRef's)
