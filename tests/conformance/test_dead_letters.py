"""Dead letters: messages that never reached their actor are counted and observable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import limelight
from tests.conformance.actors import TIMEOUT, Echo, Recorder
from tests.runtimes import Runtime


@pytest.fixture(autouse=True)
def no_dead_letters() -> Iterator[None]:
    limelight.DeadLetters.reset()
    yield
    limelight.DeadLetters.reset()


def stopped_echo(runtime: Runtime) -> limelight.ActorRef[Echo]:
    ref = runtime.actor(Echo).start()
    ref.stop()
    return ref


def test_a_tell_to_a_stopped_actor_is_a_dead_letter(runtime: Runtime) -> None:
    ref = stopped_echo(runtime)

    with pytest.raises(limelight.ActorDeadError):
        ref.tell("hello?")

    assert limelight.DeadLetters.count() == 1
    assert limelight.DeadLetters.recent() == [
        limelight.DeadLetter("hello?", ref, "stopped")
    ]


def test_an_ask_to_a_stopped_actor_is_a_dead_letter(runtime: Runtime) -> None:
    ref = stopped_echo(runtime)

    future = ref.ask("anyone?", block=False)

    with pytest.raises(limelight.ActorDeadError):
        future.get(TIMEOUT)
    [letter] = limelight.DeadLetters.recent()
    assert (letter.message, letter.recipient, letter.reason) == (
        "anyone?",
        ref,
        "stopped",
    )


def test_stopping_a_stopped_actor_is_no_dead_letter(runtime: Runtime) -> None:
    ref = stopped_echo(runtime)

    assert ref.stop() is False
    assert limelight.DeadLetters.count() == 0


@pytest.mark.needs("local_introspection")
def test_messages_left_in_a_crashed_actor_s_inbox_are_dead_letters(
    runtime: Runtime,
) -> None:
    gate = runtime.event_class()
    log = runtime.shared_list()
    done = runtime.event_class()
    ref = runtime.actor(Recorder).start(log, done)
    ref.tell(("wait", gate))
    ref.tell(("fail", "crash"))
    ref.tell("left behind")
    asked = ref.ask("asked too late", block=False)

    gate.set()

    with pytest.raises(limelight.ActorDeadError):
        asked.get(TIMEOUT)
    assert done.wait(TIMEOUT)
    assert [(d.message, d.reason) for d in limelight.DeadLetters.recent()] == [
        ("left behind", "stopped"),
        ("asked too late", "stopped"),
    ]


def test_delivered_messages_are_no_dead_letters(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    ref.tell("told")
    assert ref.ask("asked", timeout=TIMEOUT) == "asked"
    ref.stop()

    assert limelight.DeadLetters.count() == 0


def test_dead_letters_are_logged_at_debug(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    ref = stopped_echo(runtime)

    with pytest.raises(limelight.ActorDeadError):
        ref.tell("lost")

    debug = [
        r.getMessage()
        for r in limelight_logs.records
        if r.levelno == logging.DEBUG and "Dead letter" in r.getMessage()
    ]
    assert debug == [f"Dead letter (stopped) to {ref}: 'lost'"]


def test_subscribers_see_each_dead_letter_until_they_unsubscribe(
    runtime: Runtime,
) -> None:
    ref = stopped_echo(runtime)
    seen: list[limelight.DeadLetter] = []
    twice: list[limelight.DeadLetter] = []
    unsubscribe = limelight.DeadLetters.subscribe(seen.append)
    first = limelight.DeadLetters.subscribe(twice.append)
    second = limelight.DeadLetters.subscribe(twice.append)

    ref.ask("one", block=False)
    first()
    unsubscribe()
    unsubscribe()  # again: nothing happens
    ref.ask("two", block=False)
    second()
    ref.ask("three", block=False)

    assert [d.message for d in seen] == ["one"]
    assert [d.message for d in twice] == ["one", "one", "two"]
    assert limelight.DeadLetters.count() == 3


def test_a_failing_subscriber_is_logged_and_never_reaches_the_sender(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    ref = stopped_echo(runtime)
    after: list[limelight.DeadLetter] = []

    def fail(letter: limelight.DeadLetter) -> None:
        raise ValueError(f"cannot take {letter.message}")

    unsubscribe = limelight.DeadLetters.subscribe(fail)
    limelight.DeadLetters.subscribe(after.append)

    with pytest.raises(limelight.ActorDeadError):
        ref.tell("lost")

    assert [d.message for d in after] == ["lost"]  # the next one still ran
    [error] = [r for r in limelight_logs.records if r.levelno == logging.ERROR]
    assert "subscriber" in error.getMessage()
    assert error.exc_info is not None
    assert str(error.exc_info[1]) == "cannot take lost"
    unsubscribe()


def test_subscribe_wants_a_callable() -> None:
    bad: Any = "print"

    with pytest.raises(TypeError, match="needs a callable"):
        limelight.DeadLetters.subscribe(bad)


def test_recent_keeps_the_last_hundred_and_reset_forgets(runtime: Runtime) -> None:
    ref = stopped_echo(runtime)
    seen: list[limelight.DeadLetter] = []
    limelight.DeadLetters.subscribe(seen.append)

    for i in range(150):
        ref.ask(i, block=False)

    assert limelight.DeadLetters.count() == 150
    assert [d.message for d in limelight.DeadLetters.recent()] == list(range(50, 150))
    limelight.DeadLetters.reset()
    ref.ask("after reset", block=False)
    assert limelight.DeadLetters.count() == 1
    assert len(seen) == 150  # subscribers are forgotten too


def test_a_dead_letter_is_a_frozen_record(runtime: Runtime) -> None:
    ref = stopped_echo(runtime)
    letter = limelight.DeadLetter("m", ref, "dropped")

    with pytest.raises(AttributeError):
        letter.reason = "stopped"  # type: ignore[misc]
    assert letter == limelight.DeadLetter("m", ref, "dropped")
