"""Dead letters: messages that were sent but never reached their actor.

Recording happens only on the paths where delivery already failed (a stopped
actor, a full mailbox), so a delivered message costs nothing here.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from limelight._core._context import unwrap
from limelight._core._fork import released_at_fork
from limelight._core._log import logger
from limelight._core._waiting import allocate_lock
from limelight.messages import _ActorStop

if TYPE_CHECKING:
    from limelight._core._ref import ActorRef

__all__ = ["DeadLetter", "DeadLetterReason", "DeadLetters", "record"]


DeadLetterReason = Literal["stopped", "dropped", "full"]
"""Why a message was not delivered; see ``DeadLetter.reason``."""


@dataclass(frozen=True)
class DeadLetter:
    """A message that was sent to an actor but never handled by it.

    [`DeadLetters`][limelight.DeadLetters] keeps the most recent ones and
    passes each new one to its subscribers.
    """

    message: Any
    """The message, as it was sent."""

    recipient: ActorRef[Any]
    """The ref of the actor it was sent to."""

    reason: DeadLetterReason
    """Why it was not delivered.

    - ``"stopped"``: the actor had stopped (or stopped before handling it);
    - ``"dropped"``: the actor's mailbox was full and its
      [`mailbox_overflow`][limelight.Actor.mailbox_overflow] policy dropped
      this message, the oldest or the newest;
    - ``"full"``: the actor's mailbox was full and the sender got
      [`MailboxFull`][limelight.MailboxFull] instead.
    """


Subscriber = Callable[[DeadLetter], None]


class DeadLetters:
    """Every message that did not reach its actor, counted and observable.

    A message that is sent but never handled is not lost silently: it is
    counted, the last 100 are kept, each
    is logged at ``DEBUG`` on the ``limelight`` logger, and subscribers are
    called with it. All methods are class methods and thread-safe.

    ```python
    unsubscribe = limelight.DeadLetters.subscribe(
        lambda letter: print(letter.reason, letter.recipient, letter.message)
    )
    ...
    unsubscribe()
    ```

    A request to stop an actor that has already stopped is not a dead
    letter: the actor is stopped, as asked.
    """

    _lock: ClassVar[Any] = released_at_fork(allocate_lock())
    _count: ClassVar[int] = 0
    _recent: ClassVar[collections.deque[DeadLetter]] = collections.deque(maxlen=100)
    # Replaced, never mutated: recording iterates over it without the lock. A
    # key per subscription, so that subscribing one callback twice works.
    _subscribers: ClassVar[tuple[tuple[object, Subscriber], ...]] = ()

    @classmethod
    def count(cls) -> int:
        """Return how many dead letters there have been (since the last reset)."""
        return cls._count

    @classmethod
    def recent(cls) -> list[DeadLetter]:
        """Return the last 100 dead letters at most, oldest first.

        They keep their messages and recipients' refs alive until newer dead
        letters push them out, or until [`reset()`][limelight.DeadLetters.reset].
        """
        with cls._lock:
            return list(cls._recent)

    @classmethod
    def subscribe(cls, callback: Subscriber) -> Callable[[], None]:
        """Call `callback` with every dead letter from now on.

        The callback runs in whichever thread found the message undeliverable
        (the sender's, or the stopping actor's), so it must be quick and must
        not block; an exception it raises is logged, never propagated.

        Returns:
            A function that unsubscribes `callback` (calling it again does
            nothing).
        """
        if not callable(cast("object", callback)):  # (typed, but maybe not)
            msg = (
                f"DeadLetters.subscribe() needs a callable taking a DeadLetter, "
                f"not {callback!r}"
            )
            raise TypeError(msg)
        key = object()
        with cls._lock:
            cls._subscribers = (*cls._subscribers, (key, callback))

        def unsubscribe() -> None:
            with cls._lock:
                cls._subscribers = tuple(s for s in cls._subscribers if s[0] is not key)

        return unsubscribe

    @classmethod
    def reset(cls) -> None:
        """Forget the count, the recent dead letters and all subscribers (for tests)."""
        with cls._lock:
            cls._count = 0
            cls._recent.clear()
            cls._subscribers = ()


def record(message: Any, recipient: ActorRef[Any], reason: DeadLetterReason) -> None:
    """Note that `message` to `recipient` was not delivered, for `reason`.

    Stop requests are not recorded: stopping a stopped actor succeeds.
    """
    message = unwrap(message)  # (a message sent with its context: the message)
    if isinstance(message, _ActorStop):
        return
    letter = DeadLetter(message, recipient, reason)
    logger.debug("Dead letter (%s) to %s: %r", reason, recipient, message)
    with DeadLetters._lock:
        DeadLetters._count += 1
        DeadLetters._recent.append(letter)
        subscribers = DeadLetters._subscribers
    for _key, subscriber in subscribers:
        try:
            subscriber(letter)
        except Exception:  # a subscriber must never break a sender
            logger.exception("Dead letter subscriber %r failed", subscriber)
