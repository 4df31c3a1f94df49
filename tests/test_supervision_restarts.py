"""A supervisor whose restart fails keeps answering, and leaves no child behind.

A restart that fails is tried again as a message of its own, so the
supervisor answers what was queued meanwhile (a Ray child that no node can
place takes its placement timeout to fail). A child whose start cannot be
confirmed is killed before the next try, so that two never run at once.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

import limelight
from limelight import ChildSpec, Supervisor, ThreadingActor, _supervision

TIMEOUT = 10.0


class FailsToRestart(ThreadingActor):
    """Starts once; its next start fails (once the test has asked the supervisor)."""

    starts: ClassVar[int] = 0
    entered = threading.Event()
    asked = threading.Event()

    def __init__(self) -> None:
        super().__init__()
        FailsToRestart.starts += 1
        if FailsToRestart.starts == 2:
            FailsToRestart.entered.set()
            assert FailsToRestart.asked.wait(TIMEOUT)
            raise RuntimeError("cannot start again, this time")

    def on_receive(self, message: Any) -> Any:
        raise RuntimeError("crash")


def test_a_supervisor_answers_between_attempts_to_restart_a_child() -> None:
    supervisor = Supervisor.start(
        [ChildSpec("child", FailsToRestart)], max_restarts=5, within=60.0
    )
    first = supervisor.proxy().child("child").get(TIMEOUT)

    first.tell("crash")
    assert FailsToRestart.entered.wait(TIMEOUT)  # the restart is failing
    children = supervisor.proxy().which_children()  # queued meanwhile
    FailsToRestart.asked.set()

    # Answered between the failed attempt and the next, which then starts
    # the child (a loop in the handler would answer only after it).
    assert children.get(TIMEOUT) == [("child", None)]
    third = supervisor.proxy().child("child").get(TIMEOUT)
    assert third is not None
    assert third.is_alive()
    assert FailsToRestart.starts == 3
    assert supervisor.proxy().restarts.get(TIMEOUT) == 2  # (the failure counts)
    supervisor.stop()


class Unconfirmed(ThreadingActor):
    """Its start cannot be confirmed: the question fails, not with its death."""

    made: ClassVar[list[limelight.ActorRef[Any]]] = []

    def on_start(self) -> None:
        Unconfirmed.made.append(self.actor_ref)

    def on_receive(self, message: Any) -> Any:
        if message == "started?":
            raise ConnectionError("cut off")  # (as a Ray host that was cut off)
        return message


def test_a_child_whose_start_cannot_be_confirmed_is_killed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_supervision, "_STARTED", "started?")

    with pytest.raises(ConnectionError, match="cut off"):
        Supervisor.start([ChildSpec("child", Unconfirmed)])

    (child,) = Unconfirmed.made
    assert child.termination().get(TIMEOUT).reason == "killed"
