"""Bounded mailboxes from the inside: what the conformance tests cannot reach."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest

import limelight
import limelight.asyncio
from limelight._core import _waiting
from limelight._core._bounded import Mailbox
from limelight._core._stopped import StoppedEvent


class Plain(limelight.ThreadingActor):
    pass


class Bounded(limelight.ThreadingActor):
    mailbox_capacity = 3


class AsyncPlain(limelight.asyncio.AsyncioActor):
    pass


def test_an_unbounded_actor_keeps_its_runtime_s_inbox_as_is() -> None:
    threaded = Plain.start()
    on_loop = AsyncPlain.start()
    try:
        # No wrapper, no gate: the fast path is the runtime's own.
        inbox: Any = threaded.actor_inbox
        assert type(inbox) is queue.SimpleQueue
        inbox = on_loop.actor_inbox
        assert type(inbox._items) is not Mailbox
    finally:
        threaded.stop()
        on_loop.stop()


def test_a_bounded_thread_actor_s_inbox_reads_like_any_inbox() -> None:
    ref = Bounded.start()
    try:
        assert ref.actor_inbox.empty()
        with pytest.raises(queue.Empty):
            ref.actor_inbox.get_nowait()
    finally:
        ref.stop()


class WokenAsItTimesOut:
    """A waiter whose wait times out just as room is made and it is woken."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.released = False

    def acquire(self, blocking: bool = True, timeout: float = -1, /) -> bool:
        self.mailbox.popleft()  # makes room, and wakes (releases) this waiter
        assert self.released
        return False  # ...yet reports a timeout, as a racing wait can

    def release(self) -> None:
        self.released = True


@pytest.fixture
def full_mailbox() -> Iterator[Mailbox]:
    """A full mailbox of capacity 1, whose senders wait on racing waiters."""
    mailbox = Mailbox(1, "block", 5.0, StoppedEvent())
    mailbox.append(("first", None))

    def factory() -> _waiting.Waiter | None:
        return WokenAsItTimesOut(mailbox)

    _waiting.register_waiter_factory(factory)
    try:
        yield mailbox
    finally:
        _waiting.unregister_waiter_factory(factory)


def test_a_sender_woken_as_its_wait_times_out_takes_the_room(
    full_mailbox: Mailbox,
) -> None:
    queued = full_mailbox.offer(("second", None))

    assert queued is True
    assert list(full_mailbox) == [("second", None)]
    assert full_mailbox.senders_waiting() == 0
