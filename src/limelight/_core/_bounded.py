"""Bounded mailboxes: an optional capacity per actor, and what happens when full.

Only actors whose class sets ``mailbox_capacity`` get one; every other actor
keeps its runtime's plain inbox and pays nothing.

A bounded actor's envelopes live in a :class:`Mailbox`, a deque whose every
change happens under its own lock, so that checking for room and queueing
are one step, and so that the oldest message can be dropped from anywhere in
it. How the actor's loop learns that there is something to take depends on
the runtime's inbox, but not on the runtime:

- an inbox that keeps its envelopes in a deque and drains it itself (the
  event-loop ``LoopInbox``) offers ``use_queue()``: it is handed the mailbox
  to use as that deque, so its ``put()`` and its drain go through the
  mailbox, and nothing else changes;
- any other inbox (a thread's ``queue.SimpleQueue``, whose ``get()`` blocks
  in the way its context needs) is wrapped in a :class:`BoundedInbox`: the
  runtime's inbox then carries one wake-up token per queued envelope, and
  the envelope itself is taken from the mailbox. A dropped oldest message
  leaves its token to the message that replaced it.

Capacity counts envelopes queued and not yet taken by the actor. Messages
whose class has a true ``_limelight_system`` attribute (stop requests, and
other messages of Limelight's own) are always queued, even beyond capacity:
they are never refused, dropped or made to wait, so ``stop()`` works on a
full mailbox.
"""

from __future__ import annotations

import collections
import queue
import time
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from limelight._core import _awaiting, _dead_letters, _timeouts
from limelight._core._exceptions import ActorDeadError, MailboxFull
from limelight._core._log import logger
from limelight._core._ref import ActorRef
from limelight._core._types import Envelope
from limelight._core._waiting import allocate_lock, new_waiter

if TYPE_CHECKING:
    from limelight._core._actor import Actor
    from limelight._core._runtime import Inbox
    from limelight._core._stopped import StoppedEvent
    from limelight._core._waiting import Waiter

__all__ = [
    "OVERFLOW_POLICIES",
    "BoundedInbox",
    "Mailbox",
    "Overflow",
    "bind",
    "check_settings",
    "is_system_message",
]


Overflow = Literal["block", "raise", "drop_oldest", "drop_newest"]
"""What a full bounded mailbox does with one more message."""

OVERFLOW_POLICIES: tuple[Overflow, ...] = (
    "block",
    "raise",
    "drop_oldest",
    "drop_newest",
)

# The wake-up token a BoundedInbox puts in its runtime's inbox.
_WAKE: Envelope = (None, None)


def must_not_wait(message: Any) -> bool:
    """Whether the sender of `message` must never wait for room (a timer's).

    Mark a message class with a class attribute ``_limelight_no_wait = True``:
    a full ``"block"`` mailbox refuses it at once with ``MailboxFull``.
    """
    return getattr(message.__class__, "_limelight_no_wait", False) is True


def is_system_message(message: Any) -> bool:
    """Whether `message` bypasses mailbox capacity (its class is marked as Limelight's).

    Mark a message class with a class attribute ``_limelight_system = True``.
    """
    return getattr(message.__class__, "_limelight_system", False) is True


def check_settings(cls: type[Actor]) -> None:
    """Raise a clear error if `cls` sets its mailbox up wrongly.

    Raises:
        TypeError: if a setting has the wrong type.
        ValueError: if a setting has a value out of range.
    """
    name = cls.__name__
    _check_capacity(name, cls.mailbox_capacity)
    _check_policy(name, cls.mailbox_overflow)
    _check_timeout(name, cls.mailbox_block_timeout)


# (Each takes `object`: the class attributes are typed, but set by users.)


def _check_capacity(name: str, capacity: object) -> None:
    if capacity is None:
        return
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        msg = (
            f"{name}.mailbox_capacity must be an int (the most messages "
            f"its mailbox holds) or None (no limit), not {capacity!r}"
        )
        raise TypeError(msg)
    if capacity < 1:
        msg = (
            f"{name}.mailbox_capacity must be at least 1, not {capacity}; "
            "use None for a mailbox without limit"
        )
        raise ValueError(msg)


def _check_policy(name: str, policy: object) -> None:
    if policy not in OVERFLOW_POLICIES:
        msg = (
            f"{name}.mailbox_overflow must be one of "
            f"{', '.join(map(repr, OVERFLOW_POLICIES))}, not {policy!r}"
        )
        raise ValueError(msg)


def _check_timeout(name: str, timeout: object) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        msg = (
            f"{name}.mailbox_block_timeout must be a number of seconds or "
            f"None (wait for room for ever), not {timeout!r}"
        )
        raise TypeError(msg)
    if not timeout >= 0:  # (written so that NaN is refused too)
        msg = f"{name}.mailbox_block_timeout must be 0 or more seconds, not {timeout}"
        raise ValueError(msg)


def bind(actor: Actor) -> ActorRef[Any]:
    """Give a new actor whose class sets ``mailbox_capacity`` a bounded mailbox.

    Called from ``Actor.__init__()`` instead of creating the ref, since the
    ref captures the inbox; returns the actor's ref.
    """
    cls = actor.__class__  # as in Actor.__init__(): a Mock(spec=C) answers C
    check_settings(cls)  # again: the class attributes may have changed since
    capacity = cls.mailbox_capacity
    assert capacity is not None
    block_timeout = cls.mailbox_block_timeout
    if block_timeout is not None:  # (infinity waits for ever, as None does)
        block_timeout = _timeouts.seconds(block_timeout, "mailbox_block_timeout")
    mailbox = Mailbox(
        capacity, cls.mailbox_overflow, block_timeout, actor.actor_stopped
    )
    inbox = actor.actor_inbox
    use_queue = getattr(inbox, "use_queue", None)
    if use_queue is not None:
        use_queue(mailbox)
    else:
        actor.actor_inbox = BoundedInbox(inbox, mailbox)
    ref_class = cls._limelight_ref_class
    ref: ActorRef[Any] = (ref_class._limelight_bounded_class or ref_class)(actor)
    mailbox.actor_ref = ref
    return ref


class Mailbox(collections.deque[Envelope]):
    """A bounded actor's queue of envelopes, which enforces its capacity.

    A deque, so that an inbox that drains a deque of its own can use it as
    is; only ``append()`` and ``popleft()`` may change it, and they lock.
    """

    __slots__ = (
        "_blocked",
        "_lock",
        "_stopped",
        "actor_ref",
        "block_timeout",
        "capacity",
        "policy",
    )

    actor_ref: ActorRef[Any]

    def __init__(
        self,
        capacity: int,
        policy: Overflow,
        block_timeout: float | None,
        stopped: StoppedEvent,
    ) -> None:
        super().__init__()
        self.capacity = capacity
        self.policy: Overflow = policy
        self.block_timeout = block_timeout
        self._stopped = stopped
        self._lock = allocate_lock()
        # Senders waiting for room, first come first woken.
        self._blocked: list[Waiter] = []

    def append(self, envelope: Envelope, /) -> None:
        """Queue `envelope`, or apply the overflow policy; see :meth:`offer`."""
        self.offer(envelope)

    def offer(self, envelope: Envelope) -> bool:
        """Queue `envelope` if there is room, else apply the overflow policy.

        Returns:
            Whether the mailbox holds one envelope more than before (so a
            dropped oldest message, replaced by `envelope`, returns False).

        Raises:
            MailboxFull: as the policy says.
            ActorDeadError: a told message waited for room until the actor stopped.
        """
        with self._lock:
            if len(self) < self.capacity or is_system_message(envelope[0]):
                super().append(envelope)
                return True
            victim = (
                self._take_oldest_droppable() if self.policy == "drop_oldest" else None
            )
            if victim is not None:
                super().append(envelope)
        if victim is not None:
            self._drop(victim, "oldest")
            return False
        if self.policy == "raise":
            self._refuse(envelope, "its mailbox_overflow is 'raise'")
        if self.policy == "block":
            return self._wait_for_room(envelope)
        # "drop_newest", or "drop_oldest" with only system messages queued.
        self._drop(envelope, "newest")
        return False

    def popleft(self) -> Envelope:
        """Take the oldest envelope, and wake a sender waiting for room.

        Raises:
            IndexError: if the mailbox is empty. If the actor has stopped,
                every sender still waiting is woken first, to fail.
        """
        with self._lock:
            if self:
                envelope: Envelope | None = super().popleft()
                woken = (
                    [self._blocked.pop(0)]
                    if self._blocked and len(self) < self.capacity
                    else []
                )
            else:
                # Empty: after a stop, no one will take anything any more.
                envelope = None
                woken = self._blocked if self._stopped._flag else []
                if woken:
                    self._blocked = []
        for waiter in woken:
            waiter.release()
        if envelope is None:
            msg = "pop from an empty mailbox"
            raise IndexError(msg)
        return envelope

    def senders_waiting(self) -> int:
        """How many senders wait for room right now (for tests and debugging)."""
        return len(self._blocked)

    def _take_oldest_droppable(self) -> Envelope | None:
        """Remove and return the oldest envelope that is not a system message."""
        for index, envelope in enumerate(self):
            if not is_system_message(envelope[0]):
                del self[index]
                return envelope
        return None

    def _wait_for_room(self, envelope: Envelope) -> bool:
        """Make the sender wait for room, until the timeout or the actor's stop."""
        if must_not_wait(envelope[0]):
            self._refuse(envelope, "the message is a timer's, which never waits")
        if _awaiting.on_event_loop():
            self._refuse(
                envelope,
                "waiting for room would block the sender's event loop; send from "
                "a thread, or use mailbox_overflow 'raise', 'drop_oldest' or "
                "'drop_newest'",
            )
        timeout = self.block_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            waiter = new_waiter()
            with self._lock:
                if self._stopped._flag:
                    break
                if len(self) < self.capacity:
                    super().append(envelope)
                    return True
                wait = -1.0 if deadline is None else deadline - time.monotonic()
                if deadline is not None and wait <= 0:
                    break
                self._blocked.append(waiter)
            if not waiter.acquire(True, wait):
                with self._lock:
                    if waiter in self._blocked:
                        self._blocked.remove(waiter)
            # Woken (or timed out): the top of the loop looks again.
        if not self._stopped._flag:
            self._refuse(
                envelope, f"it stayed full for {timeout} s (its mailbox_block_timeout)"
            )
        _dead_letters.record(envelope[0], self.actor_ref, "stopped")
        error = ActorDeadError(
            f"{self.actor_ref} stopped while the message waited for room"
        )
        reply_to = envelope[1]
        if reply_to is None:
            raise error
        reply_to.set_exception(error)
        return False

    def _refuse(self, envelope: Envelope, why: str) -> NoReturn:
        """Refuse `envelope`: a dead letter, and MailboxFull for the sender."""
        ref = self.actor_ref
        _dead_letters.record(envelope[0], ref, "full")
        msg = (
            f"{ref} has a full mailbox ({self.capacity} messages) and {why}; "
            "send less, or give the actor a larger mailbox_capacity or "
            "another mailbox_overflow policy"
        )
        raise MailboxFull(msg)

    def _drop(self, envelope: Envelope, which: str) -> None:
        """Drop `envelope`: logged, a dead letter, and an asker is told."""
        ref = self.actor_ref
        message, reply_to = envelope
        logger.warning(
            "Mailbox of %s is full (%d messages): dropped the %s message %r",
            ref,
            self.capacity,
            which,
            message,
        )
        _dead_letters.record(message, ref, "dropped")
        if reply_to is not None:
            reply_to.set_exception(
                MailboxFull(
                    f"{ref} had a full mailbox ({self.capacity} messages) and "
                    f"dropped this request, the {which} message "
                    f"(mailbox_overflow {self.policy!r})"
                )
            )


class BoundedInbox:
    """A runtime's inbox, turned into a doorbell for a bounded :class:`Mailbox`.

    The runtime's inbox carries one token per queued envelope, so the actor
    waits for a message in the way its runtime needs; envelopes are taken
    from the mailbox.
    """

    __slots__ = ("_inner", "mailbox")

    def __init__(self, inner: Inbox, mailbox: Mailbox) -> None:
        self._inner = inner
        self.mailbox = mailbox

    def put(self, envelope: Envelope, /) -> None:
        """Queue an envelope, applying the mailbox's policy if it is full."""
        if self.mailbox.offer(envelope):
            self._inner.put(_WAKE)

    def get(self) -> Envelope:
        """Wait for an envelope and take it."""
        self._inner.get()
        return self.mailbox.popleft()

    def get_nowait(self) -> Envelope:
        """Take the oldest envelope; raise ``queue.Empty`` if there is none."""
        # (Only the rejection of late messages takes this way, after the actor
        # has stopped: its tokens, left behind, are never read.)
        try:
            return self.mailbox.popleft()
        except IndexError:
            raise queue.Empty from None

    def empty(self) -> bool:
        """Whether no envelope is queued."""
        return not self.mailbox

    def qsize(self) -> int:
        """How many envelopes are queued (not the inner inbox's wake-up tokens)."""
        return len(self.mailbox)
