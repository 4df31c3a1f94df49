"""Closing an inbox without losing or stranding a message.

An inbox is a plain queue that cannot be closed atomically, so a sender may
put a message just after the actor drained its inbox for the last time. The
protocol that makes this safe: the actor sets its stopped flag *before* it
drains; a sender checks the flag again *after* its put and, if it is set,
drains the inbox itself (:func:`after_put`). Whoever takes an envelope out
rejects it, so every request is answered exactly once, and nobody waits
forever.

Every sender goes through ``ActorRef._enqueue()``, or through a copy of its
common case written out on a hot path (``ActorRef.tell()`` and ``ask()``,
``GreenRef.tell()``). Those copies, and ``_enqueue()`` itself (a worker
process queues every ask with it), inline :func:`after_put` between
``# inline`` markers, which ``tools/inline.py`` keeps the same as its
source here (``tests/test_inline.py`` checks that they are).
"""

from __future__ import annotations

import queue
from typing import TYPE_CHECKING, Any

from limelight._core import _dead_letters
from limelight._core._exceptions import ActorDeadError
from limelight._core._log import logger
from limelight.messages import _ActorKilled, _ActorStop

if TYPE_CHECKING:
    from limelight._core._future import Future
    from limelight._core._ref import ActorRef
    from limelight._core._types import Envelope

__all__ = [
    "after_put",
    "answer_too_late",
    "reject",
    "reject_late_messages",
    "stopped_before_handling",
]


def stopped_before_handling(actor: object) -> ActorDeadError:
    """The error of an ask that was queued (or on its way) when `actor` ended."""
    return ActorDeadError(f"{actor} stopped before handling the message")


def answer_too_late(message: Any, reply_to: Future[Any], actor: object) -> None:
    """Answer a request that was queued (or on its way) when `actor` ended.

    A stop succeeds, however the actor ended (stopped, killed or failed): it
    is stopped, as asked, and Pykka answers a queued stop the same way. Its
    answer is `True`, the value of ``stop()``, whose future it completes
    (``ActorRef._ask_to_stop()``).
    Anything else fails with :func:`stopped_before_handling`. Runtimes that
    answer such requests themselves (a process channel, a Ray host) give
    the same answers.
    """
    if isinstance(message, _ActorStop):
        reply_to.set(True)
    else:
        reply_to.set_exception(stopped_before_handling(actor))


def reject(envelope: Envelope, actor_ref: ActorRef[Any]) -> None:
    """Answer an envelope that reached an actor too late to be handled."""
    message, reply_to = envelope
    if reply_to is None:
        logger.debug("Dropped message to stopped %s: %r", actor_ref, message)
        _dead_letters.record(message, actor_ref, "stopped")
        return
    if not isinstance(message, _ActorStop):  # (a stop succeeds: no dead letter)
        _dead_letters.record(message, actor_ref, "stopped")
    answer_too_late(message, reply_to, actor_ref)


def reject_late_messages(actor_ref: ActorRef[Any]) -> None:
    """Empty a stopped actor's inbox, rejecting everything in it.

    Except the wake-up call of a kill: a killed actor's loop may still be
    waiting for it, so it goes back into the inbox.
    """
    inbox = actor_ref.actor_inbox
    if inbox.empty():  # (the usual case: cheaper asked than queue.Empty caught)
        return
    get_nowait = inbox.get_nowait
    wake_up: Envelope | None = None
    while True:
        try:
            envelope = get_nowait()
        except queue.Empty:
            break
        if envelope[0].__class__ is _ActorKilled:
            wake_up = envelope
        else:
            reject(envelope, actor_ref)
    if wake_up is not None:
        inbox.put(wake_up)


def after_put(actor_ref: ActorRef[Any]) -> None:
    """The sender's half of the protocol, right after its put: check again.

    The actor may have stopped, in another thread, while the message went
    in: then the inbox is emptied here, so the message is answered, never
    stranded.
    """
    # (Through a new name, which type checkers do not think still False.)
    stopped = actor_ref.actor_stopped
    if stopped._flag:
        reject_late_messages(actor_ref)
