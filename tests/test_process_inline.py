"""A worker's reader handles an idle process actor's ask itself (inline asks).

The semantics of the inline inbox (order, one message at a time, the
actor's context, stop and kill) are those of a dedicated Ray host's, tested
in tests/test_ray_inline.py and by the conformance suite, which runs on
process actors; here, what the worker adds: which thread handles an ask,
and that a handler waiting in the reader's thread never stops the pipe.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import limelight
import limelight.process
from tests.process_actors import Where, WhereInItsOwnThread

TIMEOUT = 60.0

PINGS = 20
"""Asks in a row, enough for the actor to be idle when one arrives.

(Right after its start, or after a message that its own thread handled, an
ask may find the actor not yet marked idle, and is queued; once an ask has
been handled inline, the next one finds it idle, since the same thread
that handled it reads the next.)
"""


@pytest.fixture(autouse=True)
def no_workers_left() -> Iterator[None]:
    yield
    limelight.process.shutdown(timeout=TIMEOUT)
    assert limelight.process.workers() == []


def handled_in(ref: limelight.ActorRef[Any]) -> str:
    """The name of the thread that handled the last of `PINGS` asks."""
    names: list[str] = [ref.ask("where", timeout=TIMEOUT) for _ in range(PINGS)]
    return names[-1]


def test_an_idle_actors_ask_is_handled_by_the_workers_reader() -> None:
    ref = Where.start()

    # Not the actor's own thread, which is named after its class.
    assert not handled_in(ref).startswith("Where-")


def test_an_actor_that_keeps_thread_local_state_handles_asks_in_its_thread() -> None:
    ref = WhereInItsOwnThread.start()

    assert handled_in(ref).startswith("WhereInItsOwnThread-")


def test_a_handler_that_waits_for_a_later_message_to_this_worker_gets_it() -> None:
    ref = Where.start()
    gate = ref.proxy().gate_ref().get(TIMEOUT)
    reader = handled_in(ref)

    waiting = ref.ask("wait for the gate", block=False)
    # The reader that handles the ask waits: another reads this tell.
    gate.tell("open")

    assert waiting.get(TIMEOUT) == (True, reader)
