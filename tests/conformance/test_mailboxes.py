"""Bounded mailboxes: capacity, the four overflow policies, and stopping."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import pytest

import limelight
from limelight._core._bounded import BoundedInbox, Mailbox
from tests.conformance.actors import TIMEOUT
from tests.runtimes import Event, Runtime


class Holder(limelight.Actor):
    """A bounded actor that holds its first message until the test opens a gate.

    ``"hold"`` sets `entered` and waits for `gate`; ``"crash"`` does the same,
    then raises, which stops the actor; anything else is recorded in
    `handled` and answered with itself.
    """

    mailbox_capacity = 2

    def __init__(self, entered: Event, gate: Event, handled: list[Any]) -> None:
        super().__init__()
        self.entered = entered
        self.gate = gate
        self.handled = handled

    def on_receive(self, message: Any) -> Any:
        if message in ("hold", "crash"):
            self.entered.set()
            self.gate.wait(TIMEOUT)
            if message == "crash":
                raise RuntimeError("crash, as the test asked")
            return None
        self.handled.append(message)
        return message


class Blocks(Holder):
    mailbox_overflow = "block"


class BlocksBriefly(Holder):
    mailbox_block_timeout = 0.05


class Raises(Holder):
    mailbox_overflow = "raise"


class DropsOldest(Holder):
    mailbox_overflow = "drop_oldest"


class DropsNewest(Holder):
    mailbox_overflow = "drop_newest"


class Urgent(NamedTuple):
    """A message marked as a system message: it bypasses mailbox capacity."""

    text: str


setattr(Urgent, "_limelight_system", True)  # noqa: B010 -- not a NamedTuple field


@dataclass
class Full:
    """An actor held up by its first message, with a full mailbox behind it."""

    ref: limelight.ActorRef[Holder]
    gate: Event
    handled: list[Any]


def fill(runtime: Runtime, behaviour: type[Holder], first: str = "hold") -> Full:
    """Start `behaviour`, hold it up with `first`, and fill its mailbox with 1, 2."""
    entered, gate = runtime.event_class(), runtime.event_class()
    handled = runtime.shared_list()
    ref = runtime.actor(behaviour).start(entered, gate, handled)
    ref.tell(first)
    assert entered.wait(TIMEOUT)
    ref.tell(1)
    ref.tell(2)
    return Full(ref, gate, handled)


def find_mailbox(ref: limelight.ActorRef[Any]) -> Mailbox | None:
    """The actor's bounded mailbox, wherever its runtime's inbox keeps it."""
    inbox: Any = ref.actor_inbox
    found: object = (
        inbox.mailbox
        if isinstance(inbox, BoundedInbox)
        else getattr(inbox, "_items", None)
    )
    return found if isinstance(found, Mailbox) else None


def mailbox(ref: limelight.ActorRef[Any]) -> Mailbox:
    found = find_mailbox(ref)
    assert found is not None
    return found


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll for a state no event reports (a sender blocked inside a send)."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def in_thread(send: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run `send` in a new thread; its result or exception lands in the list."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(send())
        except Exception as exc:  # noqa: BLE001 -- the test inspects it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.fixture(autouse=True)
def no_dead_letters() -> Iterator[None]:
    limelight.DeadLetters.reset()
    yield
    limelight.DeadLetters.reset()


def letters() -> list[tuple[Any, str]]:
    return [(d.message, d.reason) for d in limelight.DeadLetters.recent()]


# -- Settings --------------------------------------------------------------


@pytest.mark.needs("local_mailbox_capacity")
def test_mailboxes_are_unbounded_by_default(runtime: Runtime) -> None:
    assert limelight.Actor.mailbox_capacity is None
    assert limelight.Actor.mailbox_overflow == "block"
    assert limelight.Actor.mailbox_block_timeout is None
    unbounded = runtime.actor(Counter).start()
    bounded = runtime.actor(SmallBlock).start()

    assert find_mailbox(unbounded) is None
    assert find_mailbox(bounded) is not None
    for _ in range(1000):
        unbounded.tell("no limit")
    assert unbounded.ask("last", timeout=TIMEOUT) == 1001


@pytest.mark.parametrize(
    ("attribute", "value", "error", "says"),
    [
        ("mailbox_capacity", 0, ValueError, "at least 1"),
        ("mailbox_capacity", -3, ValueError, "at least 1"),
        ("mailbox_capacity", "10", TypeError, "must be an int"),
        ("mailbox_capacity", True, TypeError, "must be an int"),
        ("mailbox_capacity", 2.5, TypeError, "must be an int"),
        ("mailbox_overflow", "drop", ValueError, "'drop_oldest'"),
        ("mailbox_overflow", None, ValueError, "must be one of"),
        ("mailbox_block_timeout", -1, ValueError, "0 or more"),
        ("mailbox_block_timeout", math.nan, ValueError, "0 or more"),
        ("mailbox_block_timeout", "1", TypeError, "number of seconds"),
        ("mailbox_block_timeout", False, TypeError, "number of seconds"),
    ],
)
def test_bad_settings_fail_when_the_class_is_defined(
    runtime: Runtime, attribute: str, value: object, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says) as raised:
        type("Bad", (runtime.actor_class,), {attribute: value})

    assert f"Bad.{attribute}" in str(raised.value)


@pytest.mark.needs("local_classes")
def test_bad_settings_made_later_fail_at_start(runtime: Runtime) -> None:
    later = cast("type[limelight.Actor]", type("Later", (runtime.actor_class,), {}))
    later.mailbox_capacity = 0

    with pytest.raises(ValueError, match=r"Later\.mailbox_capacity"):
        later.start()

    assert limelight.ActorRegistry.get_all() == []


def test_good_settings_are_accepted(runtime: Runtime) -> None:
    made: type[limelight.Actor] = type(
        "Good",
        (runtime.actor_class,),
        {
            "mailbox_capacity": 1,
            "mailbox_overflow": "drop_newest",
            "mailbox_block_timeout": 0,
        },
    )
    assert made.mailbox_capacity == 1
    type("Zero", (runtime.actor_class,), {"mailbox_block_timeout": 1.5})


# -- "raise" ---------------------------------------------------------------


@pytest.mark.needs("local_mailbox_capacity")
def test_raise_refuses_tells_and_asks_at_once(runtime: Runtime) -> None:
    full = fill(runtime, Raises)

    with pytest.raises(limelight.MailboxFull) as raised:
        full.ref.tell(3)
    with pytest.raises(limelight.MailboxFull):
        full.ref.ask(4, block=False)
    with pytest.raises(limelight.MailboxFull):
        full.ref.ask(5)

    text = str(raised.value)
    assert str(full.ref) in text
    assert "2 messages" in text
    assert "mailbox_overflow is 'raise'" in text
    assert "mailbox_capacity" in text  # what to do
    full.gate.set()
    full.ref.stop()
    assert full.handled == [1, 2]
    assert letters() == [(3, "full"), (4, "full"), (5, "full")]


def test_room_is_made_as_the_actor_takes_messages(runtime: Runtime) -> None:
    full = fill(runtime, Raises)
    full.gate.set()
    wait_until(lambda: len(full.handled) == 2)

    for message in (3, 4):
        full.ref.tell(message)

    wait_until(lambda: len(full.handled) == 4)
    assert full.ref.ask(5, timeout=TIMEOUT) == 5
    assert full.handled == [1, 2, 3, 4, 5]
    assert limelight.DeadLetters.count() == 0


# -- "drop_newest" and "drop_oldest" ----------------------------------------


@pytest.mark.needs("local_mailbox_capacity")
def test_drop_newest_drops_the_new_message(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    full = fill(runtime, DropsNewest)

    full.ref.tell(3)
    asked = full.ref.ask(4, block=False)

    with pytest.raises(limelight.MailboxFull, match="dropped this request"):
        asked.get(TIMEOUT)
    full.gate.set()
    full.ref.stop()
    assert full.handled == [1, 2]
    assert letters() == [(3, "dropped"), (4, "dropped")]
    warnings = [
        r.getMessage() for r in limelight_logs.records if r.levelno == logging.WARNING
    ]
    assert len(warnings) == 2
    assert "dropped the newest message 3" in warnings[0]
    assert str(full.ref) in warnings[0]


@pytest.mark.needs("local_mailbox_capacity")
def test_drop_oldest_drops_the_oldest_queued_message(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    entered, gate = runtime.event_class(), runtime.event_class()
    handled = runtime.shared_list()
    ref = runtime.actor(DropsOldest).start(entered, gate, handled)
    ref.tell("hold")
    assert entered.wait(TIMEOUT)
    asked = ref.ask(1, block=False)
    ref.tell(2)

    ref.tell(3)  # drops the ask of 1
    ref.tell(4)  # drops 2

    with pytest.raises(limelight.MailboxFull, match="the oldest message"):
        asked.get(TIMEOUT)
    assert ref.actor_inbox.empty() is False
    gate.set()
    ref.stop()
    assert handled == [3, 4]
    assert letters() == [(1, "dropped"), (2, "dropped")]
    warnings = [
        r.getMessage() for r in limelight_logs.records if r.levelno == logging.WARNING
    ]
    assert ["oldest message 1" in w for w in warnings] == [True, False]


@pytest.mark.needs("local_mailbox_capacity")
def test_drop_oldest_never_drops_a_system_message(runtime: Runtime) -> None:
    entered, gate = runtime.event_class(), runtime.event_class()
    handled = runtime.shared_list()
    ref = runtime.actor(DropsOldest).start(entered, gate, handled)
    ref.tell("hold")
    assert entered.wait(TIMEOUT)
    ref.tell(Urgent("a"))
    ref.tell(Urgent("b"))  # full of system messages only

    ref.tell(3)  # nothing may be dropped to make room for it: it is dropped

    gate.set()
    ref.stop()
    assert handled == [Urgent("a"), Urgent("b")]
    assert letters() == [(3, "dropped")]


# -- "block" ---------------------------------------------------------------


@pytest.mark.needs("local_mailbox_capacity")
def test_block_waits_for_room(runtime: Runtime) -> None:
    full = fill(runtime, Blocks)
    thread, outcome = in_thread(lambda: full.ref.tell(3))

    wait_until(lambda: mailbox(full.ref).senders_waiting() == 1)
    assert outcome == []  # still waiting
    full.gate.set()
    thread.join(TIMEOUT)

    assert outcome == [None]
    assert full.ref.ask(4, timeout=TIMEOUT) == 4
    assert full.handled == [1, 2, 3, 4]
    assert limelight.DeadLetters.count() == 0


@pytest.mark.needs("local_mailbox_capacity")
def test_block_wakes_waiting_senders_in_turn(runtime: Runtime) -> None:
    full = fill(runtime, Blocks)
    senders: list[tuple[threading.Thread, list[Any]]] = []
    waiting = mailbox(full.ref).senders_waiting
    senders.append(in_thread(lambda: full.ref.ask(3, timeout=TIMEOUT)))
    wait_until(lambda: waiting() == 1)
    senders.append(in_thread(lambda: full.ref.ask(4, timeout=TIMEOUT)))
    wait_until(lambda: waiting() == 2)

    full.gate.set()
    for thread, _ in senders:
        thread.join(TIMEOUT)

    assert [outcome for _, outcome in senders] == [[3], [4]]
    assert sorted(full.handled) == [1, 2, 3, 4]


@pytest.mark.needs("local_mailbox_capacity")
def test_block_times_out_with_mailbox_full(runtime: Runtime) -> None:
    full = fill(runtime, BlocksBriefly)
    started = time.monotonic()

    with pytest.raises(limelight.MailboxFull, match="mailbox_block_timeout") as raised:
        full.ref.tell(3)

    assert time.monotonic() - started >= 0.05
    assert "0.05 s" in str(raised.value)
    with pytest.raises(limelight.MailboxFull):
        full.ref.ask(4, block=False)
    assert mailbox(full.ref).senders_waiting() == 0
    full.gate.set()
    full.ref.stop()
    assert full.handled == [1, 2]
    assert letters() == [(3, "full"), (4, "full")]


@pytest.mark.needs("local_classes", "local_mailbox_capacity")
def test_a_zero_block_timeout_refuses_at_once(runtime: Runtime) -> None:
    class NoWait(Holder):
        mailbox_block_timeout = 0

    full = fill(runtime, NoWait)

    with pytest.raises(limelight.MailboxFull):
        full.ref.tell(3)
    full.gate.set()


@pytest.mark.needs("local_mailbox_capacity")
def test_block_refuses_to_block_an_event_loop(runtime: Runtime) -> None:
    full = fill(runtime, Blocks)

    async def send() -> None:
        full.ref.tell(3)

    with pytest.raises(limelight.MailboxFull, match="would block the sender's event"):
        asyncio.run(send())
    assert letters() == [(3, "full")]
    full.gate.set()


@pytest.mark.needs("local_mailbox_capacity")
def test_stopping_releases_blocked_senders_with_actor_dead_error(
    runtime: Runtime,
) -> None:
    full = fill(runtime, Blocks, first="crash")
    # More senders than queued messages: draining the two messages wakes two
    # of them, the stop itself the third.
    teller = in_thread(lambda: full.ref.tell(3))
    asker = in_thread(lambda: full.ref.ask(4, timeout=TIMEOUT))
    other_teller = in_thread(lambda: full.ref.tell(5))
    wait_until(lambda: mailbox(full.ref).senders_waiting() == 3)

    full.gate.set()  # the actor crashes, and stops
    for thread, _ in (teller, asker, other_teller):
        thread.join(TIMEOUT)

    for _, outcome in (teller, asker, other_teller):
        assert len(outcome) == 1
        assert isinstance(outcome[0], limelight.ActorDeadError)
    assert full.handled == []
    assert sorted(letters(), key=str) == [
        (1, "stopped"),
        (2, "stopped"),
        (3, "stopped"),
        (4, "stopped"),
        (5, "stopped"),
    ]


# -- System messages and stopping -----------------------------------------


@pytest.mark.parametrize("behaviour", [Blocks, Raises, DropsOldest, DropsNewest])
def test_stop_works_on_a_full_mailbox(
    runtime: Runtime, behaviour: type[Holder]
) -> None:
    full = fill(runtime, behaviour)

    stopped = full.ref.stop(block=False)
    full.gate.set()

    assert stopped.get(TIMEOUT) is True
    assert full.handled == [1, 2]  # queued before the stop: handled
    assert limelight.DeadLetters.count() == 0


@pytest.mark.needs("local_mailbox_capacity")
def test_system_messages_bypass_capacity(runtime: Runtime) -> None:
    full = fill(runtime, Raises)

    full.ref.tell(Urgent("now"))
    with pytest.raises(limelight.MailboxFull):
        full.ref.tell(3)

    full.gate.set()
    full.ref.stop()
    assert full.handled == [1, 2, Urgent("now")]


@pytest.mark.needs("local_mailbox_capacity")
def test_room_freed_under_system_messages_only_wakes_once_below_capacity(
    runtime: Runtime,
) -> None:
    full = fill(runtime, Blocks)
    full.ref.tell(Urgent("over capacity"))  # three queued, capacity two
    teller = in_thread(lambda: full.ref.tell(3))
    wait_until(lambda: mailbox(full.ref).senders_waiting() == 1)

    full.gate.set()
    teller[0].join(TIMEOUT)

    assert teller[1] == [None]
    full.ref.stop()
    assert full.handled == [1, 2, Urgent("over capacity"), 3]


# -- Under load ------------------------------------------------------------


class Counter(limelight.Actor):
    """Counts what it handles; reports the count to `report` when it stops."""

    def __init__(self, report: list[int] | None = None) -> None:
        super().__init__()
        self.handled = 0
        self.report = report

    def on_receive(self, message: Any) -> Any:
        self.handled += 1
        return self.handled

    def on_stop(self) -> None:
        if self.report is not None:
            self.report.append(self.handled)


class SmallDropOldest(Counter):
    mailbox_capacity = 4
    mailbox_overflow = "drop_oldest"


class SmallDropNewest(Counter):
    mailbox_capacity = 4
    mailbox_overflow = "drop_newest"


class SmallBlock(Counter):
    mailbox_capacity = 4


PRODUCERS = 4
PER_PRODUCER = 300


def produce(ref: limelight.ActorRef[Any]) -> None:
    """Send from several threads at once, each starting at the same moment."""
    barrier = threading.Barrier(PRODUCERS)

    def send() -> None:
        barrier.wait(TIMEOUT)
        for i in range(PER_PRODUCER):
            ref.tell(i)

    threads = [threading.Thread(target=send) for _ in range(PRODUCERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)


@pytest.mark.parametrize("behaviour", [SmallDropOldest, SmallDropNewest, SmallBlock])
@pytest.mark.needs("local_mailbox_capacity")
def test_every_message_is_handled_or_dropped_under_concurrency(
    runtime: Runtime, behaviour: type[Counter], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="limelight")  # not 1000 drop warnings
    report = runtime.shared_list()
    ref = runtime.actor(behaviour).start(report)

    produce(ref)

    ref.stop()  # after every queued message is handled
    [handled] = report
    dropped = limelight.DeadLetters.count()
    assert handled + dropped == PRODUCERS * PER_PRODUCER
    assert all(d.reason == "dropped" for d in limelight.DeadLetters.recent())
    if behaviour is SmallBlock:
        assert dropped == 0
    assert mailbox(ref).senders_waiting() == 0
    assert len(mailbox(ref)) == 0


@pytest.mark.needs("local_mailbox_capacity")
def test_broadcast_skips_a_full_mailbox(runtime: Runtime) -> None:
    full = fill(runtime, Raises)
    other = runtime.actor(Counter).start()

    limelight.ActorRegistry.broadcast("to all")
    full.gate.set()  # (asyncio: both actors share the loop the gate holds up)

    assert other.ask("count", timeout=TIMEOUT) == 2  # it got the broadcast
    assert letters() == [("to all", "full")]
