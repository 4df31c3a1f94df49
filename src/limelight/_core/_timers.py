"""Timers: an actor sends itself a message later, once or periodically.

A timer is scheduled through its actor's runtime (``Runtime.call_later()``),
so it costs no thread of its own. When it is due, it puts a private wrapper,
:class:`TimerTick`, in the actor's inbox; the actor unwraps it (see
``_core/_actor.py``) only if the timer is still active, which is how a
cancelled timer's message is skipped even if it was already queued, at no
cost to other messages.

An actor keeps its active timers in a dict it creates with its first timer,
so that stopping cancels them all; an actor that never uses timers only pays
for checking that it has none.
"""

from __future__ import annotations

import math
import numbers
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from limelight._core._exceptions import ActorDeadError, MailboxFull
from limelight._core._fork import released_at_fork
from limelight._core._log import logger
from limelight._core._waiting import allocate_lock

if TYPE_CHECKING:
    from collections.abc import Callable

    from limelight._core._actor import Actor
    from limelight._core._runtime import Cancellable, Runtime

__all__ = ["Timer", "TimerTick", "cancel_timers", "start_timer"]


# Guards every timer's state and every actor's dict of timers. Its critical
# sections are a few attribute and dict writes that never call out.
_lock = released_at_fork(allocate_lock())


class TimerTick(NamedTuple):
    """What a timer puts in its actor's inbox: its message, and itself."""

    timer: Timer
    message: Any


# A timer's tick never waits for room in a full bounded mailbox: that would
# hold up every other timer sharing the scheduler. It is refused instead.
setattr(TimerTick, "_limelight_no_wait", True)  # noqa: B010 -- a NamedTuple


class Timer:
    """A message an actor sends itself later: once, or every so often.

    Made by [`Actor.send_after()`][limelight.Actor.send_after] and
    [`Actor.send_every()`][limelight.Actor.send_every], never directly.
    Keep it to [`cancel()`][limelight.Timer.cancel] the timer; a timer you
    never cancel ends when its actor stops.

    When the timer is due, its message is delivered as
    ``actor_ref.tell(message)`` would deliver it: behind the messages
    already queued, to ``on_receive()`` (or, for a proxy message, to the
    proxied method).
    """

    __slots__ = (
        "_active",
        "_actor",
        "_due",
        "_handle",
        "_owner",
        "_runtime",
        "_tick",
        "interval",
        "message",
    )

    message: Any
    """The message the timer sends."""

    interval: float | None
    """Seconds between two messages of a periodic timer; `None` for a one-shot one."""

    def __init__(
        self,
        actor: Actor,
        runtime: Runtime,
        owner: dict[Timer, None],
        message: Any,
        interval: float | None,
    ) -> None:
        self._actor = actor
        self._runtime = runtime
        self._owner = owner  # the actor's dict of active timers
        self.message = message
        self.interval = interval
        self._tick = TimerTick(self, message)  # one per timer, not per message
        self._active = True
        self._due = 0.0
        self._handle: Cancellable | None = None

    def __repr__(self) -> str:
        when = "once" if self.interval is None else f"every {self.interval:g} s"
        state = "active" if self._active else "inactive"
        return f"<Timer {when}, {self.message!r} to {self._actor}, {state}>"

    @property
    def active(self) -> bool:
        """Whether the timer may still deliver a message.

        A one-shot timer stays active until the actor has begun handling its
        message; a periodic one until it is cancelled. Either ends when
        [`cancel()`][limelight.Timer.cancel] is called or the actor stops.
        """
        return self._active

    def cancel(self) -> bool:
        """Stop the timer: none of its messages is handled after this returns.

        That includes a message that fell due and is already waiting in the
        actor's inbox: it is skipped. Called from inside the actor, this is
        exact. Called from another thread while the actor is handling one of
        the timer's messages, it cannot take that one back. Safe to call
        more than once, from any thread.

        Returns:
            `True` if the timer was active, `False` if it had already fired
            its only message, been cancelled, or its actor had stopped.
        """
        with _lock:
            if not self._active:
                return False
            self._active = False
            handle, self._handle = self._handle, None
            del self._owner[self]
        if handle is not None:
            handle.cancel()
        return True

    def _deliverable(self) -> bool:
        """Called by the actor for each tick: whether to handle the message.

        A one-shot timer's message is handled at most once: taking it makes
        the timer inactive, atomically with respect to ``cancel()``.
        """
        if self.interval is not None:
            return self._active
        with _lock:
            if not self._active:
                return False
            self._active = False
            del self._owner[self]
        return True

    def _schedule(self, delay: float) -> None:
        handle = self._runtime.call_later(self._actor, delay, self._fire)
        with _lock:
            if self._active:
                self._handle = handle
                return
        handle.cancel()  # cancelled meanwhile

    def _fire(self) -> None:
        """The runtime calls this when the timer is due, in any context."""
        with _lock:
            if not self._active:
                return
            self._handle = None
        try:
            self._actor._actor_ref.tell(self._tick)
        except ActorDeadError:
            self.cancel()  # the actor has stopped; its teardown cancels it too
            return
        except MailboxFull:
            # A dead letter already; a periodic timer still goes on.
            logger.debug("Timer tick to %s dropped: mailbox full", self._actor)
        interval = self.interval
        if interval is not None:
            # Fixed rate, but no burst to catch up after a late tick: the
            # next is due one interval after this one was, or now if that
            # has passed already.
            now = _clock(self._runtime)()
            self._due = max(self._due + interval, now)
            self._schedule(self._due - now)


def start_timer(
    actor: Actor, delay: float, message: Any, interval: float | None
) -> Timer:
    """Make and schedule a timer of `actor`; arguments already checked."""
    runtime = actor._limelight_runtime
    assert runtime is not None  # Actor.__init__() refuses to run without
    if actor.actor_stopped.is_set():
        raise ActorDeadError(f"{actor._actor_ref} has stopped: it cannot set a timer")
    with _lock:
        owner = actor._limelight_timers
        if owner is None:
            owner = actor._limelight_timers = {}
        timer = Timer(actor, runtime, owner, message, interval)
        owner[timer] = None
    timer._due = _clock(runtime)() + delay
    timer._schedule(delay)
    # As for a tell: the actor may have stopped, and cancelled its timers,
    # just before this one was registered. Whoever comes last cancels it.
    if actor.actor_stopped.is_set():
        timer.cancel()
        raise ActorDeadError(f"{actor._actor_ref} has stopped: it cannot set a timer")
    return timer


def _clock(runtime: Runtime) -> Callable[[], float]:
    """The clock that `runtime`'s ``call_later()`` delays count on.

    ``time.monotonic`` unless the runtime has a ``monotonic`` clock of its
    own (the virtual clock of ``limelight.testing``'s manual runtime), so that
    periodic timers keep their rate on that clock.
    """
    clock: Callable[[], float] = getattr(runtime, "monotonic", time.monotonic)
    return clock


def cancel_timers(owner: dict[Timer, None]) -> None:
    """Cancel every active timer of a stopping actor."""
    with _lock:
        timers = list(owner)
    for timer in timers:
        timer.cancel()


def check_seconds(value: object, name: str, *, zero_ok: bool) -> float:
    """Return `value` as a float if it is a valid delay (or interval), else raise."""
    if not isinstance(value, numbers.Real):
        msg = f"{name} must be a number of seconds, got {value!r}"
        raise TypeError(msg)
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        msg = f"{name} must be a finite number of seconds {bound}, got {value!r}"
        raise ValueError(msg)
    return seconds
