"""What a host remembers of an ended actor keeps nothing of the actor alive.

A host (a worker process, a Ray host) remembers the latest ends of its
actors, thousands of them, to answer the questions that come late. An
exception kept as raised would keep its traceback's frames, and through
them the actor and all its state: the host keeps a detached copy instead.
"""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from typing import Any

import pytest

import limelight
from limelight._core._actor import new_actor_urn
from limelight._remote._carry import detached
from limelight._remote._hosting import Hosting
from limelight._runtimes import threads
from limelight.messages import Terminated

TIMEOUT = 10.0


class Crashing(limelight.ThreadingActor):
    def __init__(self, born: list[weakref.ref[Any]]) -> None:
        super().__init__()
        self.state = bytearray(1 << 20)
        born.append(weakref.ref(self))

    def on_receive(self, message: Any) -> Any:
        raise RuntimeError(f"crashed on {message!r}")


def test_a_crashed_actor_is_freed_though_its_end_is_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (The crash's log record holds its traceback too: keep none.)
    monkeypatch.setattr(logging.getLogger("limelight"), "propagate", False)
    reported = threading.Event()

    def report(urn: str, terminated: Terminated) -> None:
        reported.set()

    hosting = Hosting(("test", 1), report)
    born: list[weakref.ref[Any]] = []
    urn = new_actor_urn()
    ref = hosting.start(urn, lambda: Crashing(born))
    ref.tell("boom")
    assert reported.wait(TIMEOUT)
    ref.termination().get(TIMEOUT)
    del ref
    # (Its thread, back in the cache, may still hold the last frame: ended.)
    assert threads.RUNTIME.end_idle_threads(TIMEOUT)
    gc.collect()

    end = hosting.ended.get(urn)
    assert end is not None
    assert end.reason == "failure"
    assert isinstance(end.exception, RuntimeError)
    assert "crashed on 'boom'" in str(end.exception)
    # (Without the detaching, the traceback's frames keep the actor.)
    assert born[0]() is None


def test_a_detached_exception_keeps_its_arguments_and_cause_but_no_frames() -> None:
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise ValueError("outer", 2) from inner
    except ValueError as raised:
        exc = raised

    copy = detached(exc)

    assert type(copy) is ValueError
    assert copy.args == ("outer", 2)
    assert copy.__traceback__ is None
    assert isinstance(copy.__cause__, KeyError)
    assert copy.__cause__.__traceback__ is None
    assert exc.__traceback__ is not None  # (the original is left alone)


class UncopyableError(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a} and {b}")  # (its args are not what __init__ takes)


def test_an_exception_that_cannot_be_copied_is_kept_as_its_stand_in() -> None:
    copy = detached(UncopyableError(1, 2))

    assert type(copy) is RuntimeError
    assert "1 and 2" in str(copy)


def test_a_loop_of_causes_is_cut_short() -> None:
    first, second = ValueError("first"), ValueError("second")
    first.__cause__ = second
    second.__cause__ = first

    copy = detached(first, depth=3)

    links = 0
    cause = copy.__cause__
    while cause is not None:
        links += 1
        cause = cause.__cause__
    assert links == 3
