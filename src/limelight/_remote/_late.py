"""The one rule for what reaches a host after its actor has ended.

A caller sends while its ref says the actor runs, and the actor may end
while the message is on its way, or while it waits its turn at the host.
The host answers such a message as the actor's inbox answers one left in
it when the actor stopped (``_core/_mailbox.answer_too_late()``), so a
caller cannot tell a message that was late from one that was queued:

- a stop succeeds, however the actor ended (stopped, killed or failed):
  it is stopped, as asked, so ``stop()`` returns ``True``;
- an ask fails with ``ActorDeadError`` ("stopped before handling the
  message");
- a tell is dropped, and logged at ``WARNING``.

That holds while the host knows the actor: it is ending, or its end is in
the host's memory (`_ended`). A request for an actor the host never had, or
has forgotten, fails with ``ActorDeadError`` ("not found"): a stop then
returns ``False``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from limelight._core._exceptions import ActorDeadError
from limelight._core._log import logger
from limelight._core._mailbox import answer_too_late

if TYPE_CHECKING:
    from limelight._core._future import Future
    from limelight._core._ref import ActorRef

__all__ = ["answer_late", "ask_here", "dropped", "tell_here"]


def tell_here(
    target: ActorRef[Any] | None, urn: str, message: Any, sender: str
) -> None:
    """Tell `message`, from `sender`, to `target` (actor `urn` here, or None).

    A tell that cannot be queued (the actor has ended, or its bounded
    mailbox refuses it) is logged and dropped: nobody waits for it.
    """
    try:
        if target is None:
            raise ActorDeadError(f"actor {urn} not found")
        target.tell(message)
    except Exception:  # noqa: BLE001 -- logged, by dropped()
        dropped(urn, sender)


def dropped(urn: str, sender: str) -> None:
    """Log the exception being handled: a tell to `urn`, from `sender`, is dropped."""
    logger.warning("Dropped a message to %s from %s", urn, sender, exc_info=True)


def ask_here(target: ActorRef[Any] | None, message: Any, reply_to: Future[Any]) -> bool:
    """Queue `message` for `target`, as ``ask()`` does; False if it came too late.

    Its reply goes to `reply_to`; a bounded mailbox's refusal too. When
    False, nothing was queued (no actor, or it has stopped): the caller
    answers it with :func:`answer_late`.
    """
    if target is None:
        return False
    try:
        return target._enqueue(message, reply_to)
    except Exception as exc:  # noqa: BLE001 -- a full bounded mailbox: the asker's
        reply_to.set_exception(exc)
        return True


def answer_late(
    urn: str, message: Any, reply_to: Future[Any], name: str | None
) -> None:
    """Answer `message`, asked of `urn`, which no actor here will handle.

    `name` is the actor's (``str(ref)``) if the host knows that it ended (or
    is ending), else None.
    """
    if name is None:
        reply_to.set_exception(ActorDeadError(f"actor {urn} not found"))
    else:
        answer_too_late(message, reply_to, name)
