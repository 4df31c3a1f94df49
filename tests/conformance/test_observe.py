"""Introspection and context propagation (limelight.observe), on every runtime."""

from __future__ import annotations

import contextvars
import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import limelight
import limelight.observe
from limelight.observe import ActorInfo
from tests.conformance.actors import TIMEOUT, Blocker, Echo, Recorder
from tests.runtimes import Event, Runtime

request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default="none"
)


def info_of(ref: limelight.ActorRef[Any]) -> ActorInfo | None:
    return next(
        (info for info in limelight.observe.snapshot() if info.urn == ref.actor_urn),
        None,
    )


def wait_for_info(
    ref: limelight.ActorRef[Any], condition: Callable[[ActorInfo], bool]
) -> ActorInfo:
    """Poll snapshots until the actor's info meets `condition`; fail after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        info = info_of(ref)
        if info is not None and condition(info):
            return info
        assert time.monotonic() < deadline, f"last seen: {info}"
        time.sleep(0.005)


@pytest.mark.needs("local_introspection")
def test_a_running_actor_is_described(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    assert ref.ask("hi", timeout=TIMEOUT) == "hi"

    info = wait_for_info(ref, lambda info: info.state == "running")

    assert info.actor_class == "Echo"
    assert info.runtime == ref.actor_class._limelight_runtime.name  # type: ignore[union-attr]
    assert (info.handled, info.mailbox, info.handling_for) == (1, 0, None)
    assert (info.restarts, info.waits_for, info.supervisor) == (0, None, None)
    assert info.child_name is None
    assert info.age >= 0
    assert info.rate >= 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.handled = 2  # type: ignore[misc]
    assert info.to_dict()["urn"] == ref.actor_urn


@pytest.mark.needs("local_introspection")
def test_every_message_taken_is_counted(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    for number in range(999):  # (beyond the ints Python keeps ready-made)
        ref.tell(number)
    assert ref.ask("last", timeout=TIMEOUT) == "last"

    info = wait_for_info(ref, lambda info: info.state == "running")

    assert info.handled == 1000


@pytest.mark.needs("local_introspection")
def test_a_stuck_actor_and_its_queued_messages_are_seen(runtime: Runtime) -> None:
    entered, gate = runtime.event_class(), runtime.event_class()
    proxy = runtime.actor(Blocker).start().proxy()
    ref = proxy.actor_ref
    blocked = proxy.block(entered, gate)
    assert entered.wait(TIMEOUT)
    for number in range(3):
        ref.tell(number)

    stuck = wait_for_info(ref, lambda info: info.mailbox == 3)

    assert stuck.state == "handling"
    assert stuck.handling_for is not None
    assert stuck.handling_for >= 0
    assert stuck.handled == 1
    gate.set()
    assert blocked.get(TIMEOUT) is True
    idle = wait_for_info(ref, lambda info: info.state == "running")
    assert (idle.mailbox, idle.handling_for) == (0, None)


class SlowStartAndStop(limelight.Actor):
    """Sets `entered` and waits for `gate` in ``on_start()``; the same with
    `stop_entered` and `stop_gate` in ``on_stop()``."""

    def __init__(
        self, entered: Event, gate: Event, stop_entered: Event, stop_gate: Event
    ) -> None:
        super().__init__()
        self.entered, self.gate = entered, gate
        self.stop_entered, self.stop_gate = stop_entered, stop_gate

    def on_start(self) -> None:
        self.entered.set()
        self.gate.wait(TIMEOUT)

    def on_stop(self) -> None:
        self.stop_entered.set()
        self.stop_gate.wait(TIMEOUT)


@pytest.mark.needs("local_introspection")
def test_starting_and_stopping_actors_are_seen(runtime: Runtime) -> None:
    entered, gate = runtime.event_class(), runtime.event_class()
    entered2, gate2 = runtime.event_class(), runtime.event_class()
    ref = runtime.actor(SlowStartAndStop).start(entered, gate, entered2, gate2)
    assert entered.wait(TIMEOUT)
    assert wait_for_info(ref, lambda info: True).state == "starting"
    gate.set()
    wait_for_info(ref, lambda info: info.state == "running")

    assert not entered2.is_set()
    stopped = ref.stop(block=False)
    assert entered2.wait(TIMEOUT)

    assert wait_for_info(ref, lambda info: True).state == "stopping"
    gate2.set()
    stopped.get(TIMEOUT)
    assert info_of(ref) is None


# -- Context propagation ------------------------------------------------------


class ContextReader(limelight.Actor):
    """Replies with the request id its handler sees, then changes it."""

    def on_receive(self, message: Any) -> Any:
        seen = request_id.get()
        request_id.set(f"changed by {message}")
        return seen

    def read(self) -> str:
        return request_id.get()


@pytest.fixture
def propagating() -> Iterator[None]:
    before = limelight.observe.propagate_context()
    yield
    limelight.observe.propagate_context(before)


@pytest.mark.usefixtures("propagating")
@pytest.mark.needs("local_classes", "local_context_vars")
def test_the_senders_context_follows_asks_tells_and_proxy_calls(
    runtime: Runtime,
) -> None:
    log: list[Any] = runtime.shared_list()

    class Logger(limelight.Actor):
        def on_receive(self, message: Any) -> Any:
            log.append((message, request_id.get()))

    reader = runtime.actor(ContextReader).start()
    logger = runtime.actor(Logger).start()
    token = request_id.set("r-1")
    try:
        assert reader.ask("a", timeout=TIMEOUT) == "r-1"
        assert reader.proxy().read().get(TIMEOUT) == "r-1"
        logger.tell("told")
        request_id.set("r-2")
        assert reader.ask("b", timeout=TIMEOUT) == "r-2"
        logger.ask("asked", timeout=TIMEOUT)
    finally:
        request_id.reset(token)
    # What a handler set stays in its own copy: neither the sender nor the
    # next message sees it.
    assert request_id.get() == "none"
    assert reader.ask("c", timeout=TIMEOUT) == "none"
    assert log == [("told", "r-1"), ("asked", "r-2")]


def test_without_propagation_handlers_do_not_see_the_senders_context(
    runtime: Runtime,
) -> None:
    assert limelight.observe.propagate_context(enabled=False) is False
    reader = runtime.actor(ContextReader).start()
    token = request_id.set("r-1")
    try:
        assert reader.ask("a", timeout=TIMEOUT) == "none"
    finally:
        request_id.reset(token)


@pytest.mark.usefixtures("propagating")
@pytest.mark.needs("local_introspection")
def test_deadlock_detection_sees_the_handler_in_a_propagated_context(
    runtime: Runtime,
) -> None:
    class SelfAsker(limelight.Actor):
        def on_receive(self, message: Any) -> Any:
            return self.actor_ref.ask("again", timeout=TIMEOUT)

    ref = runtime.actor(SelfAsker).start()

    with pytest.raises(limelight.DeadlockError):
        ref.ask("go", timeout=TIMEOUT)


@pytest.mark.usefixtures("propagating")
@pytest.mark.needs("local_introspection")
def test_a_propagated_message_that_is_dropped_is_a_dead_letter_as_sent(
    runtime: Runtime,
) -> None:
    class Small(Recorder):
        mailbox_capacity = 1
        mailbox_overflow = "drop_newest"

    letters: list[limelight.DeadLetter] = []
    unsubscribe = limelight.DeadLetters.subscribe(letters.append)
    try:
        gate = runtime.event_class()
        ref = runtime.actor(Small).start(runtime.shared_list())
        ref.tell(("wait", gate))
        wait_for_info(ref, lambda info: info.state == "handling")
        ref.tell("queued")
        ref.tell("dropped")
        gate.set()
    finally:
        unsubscribe()
    assert [letter.message for letter in letters] == ["dropped"]
