"""Thread actors with ``inline_asks``: an ask to an idle actor runs in the asker.

What must hold either way: one message at a time, in order; the actor's
context (context variables, the current actor for deadlock detection);
stop and kill; and everything but a blocking ask without a timeout goes
through the actor's own thread.
"""

from __future__ import annotations

import contextvars
import gc
import threading
from typing import Any

import pytest

import limelight
import limelight.observe
from limelight import _endpoint
from limelight._core import _context, _wait_graph
from limelight._runtimes import inline, threads
from limelight.messages import _ActorStop

TIMEOUT = 10.0

note: contextvars.ContextVar[str] = contextvars.ContextVar("note", default="")


class Recorder(limelight.ThreadingActor):
    """Records which thread handles each message."""

    inline_asks = True

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[tuple[Any, int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def on_receive(self, message: Any) -> Any:
        self.threads.append((message, threading.get_ident()))
        if message == "block":
            self.entered.set()
            self.release.wait(TIMEOUT)
        elif message == "fail":
            raise ValueError("failed")
        elif message == "note":
            note.set("noted")
        elif message == "read note":
            return note.get()
        elif message == "context":
            return contextvars.copy_context()
        elif message == "kill myself":
            self.actor_ref.kill()
        return message

    def handled(self) -> list[tuple[Any, int]]:
        return list(self.threads)


class Asker(limelight.ThreadingActor):
    """Asks another actor, from its handler, whatever it is told to."""

    inline_asks = True

    def on_receive(self, message: Any) -> Any:
        target, question = message
        return target.ask(question)


def recorder_and_its_thread(
    cls: type[Recorder] = Recorder,
) -> tuple[limelight.ActorRef[Recorder], int]:
    """A started recorder, and the ident of its own thread."""
    ref = cls.start()
    ref.tell("hello")  # (handled by its own thread)
    ref.ask("sync", block=False).get(TIMEOUT)
    (_, own), _sync = ref.proxy().handled().get(TIMEOUT)[:2]
    return ref, own


def test_an_idle_actors_blocking_ask_runs_in_the_asking_thread() -> None:
    ref, own = recorder_and_its_thread()
    try:
        assert ref.ask("here") == "here"
        handled = ref.proxy().handled().get(TIMEOUT)
    finally:
        ref.stop()

    assert ("here", threading.get_ident()) in handled
    assert own != threading.get_ident()


def test_top_shows_the_stack_of_the_actors_own_thread() -> None:
    ref, own = recorder_and_its_thread()
    try:
        stack, note = _endpoint.actor_stack(ref.actor_urn)
    finally:
        ref.stop()

    assert note == f"thread {own}"
    assert stack is not None
    assert "in _work" in stack


def test_asks_with_a_timeout_or_not_blocking_go_through_the_actors_thread() -> None:
    ref, own = recorder_and_its_thread()
    try:
        assert ref.ask("timed", timeout=TIMEOUT) == "timed"
        assert ref.ask("later", block=False).get(TIMEOUT) == "later"
        handled = dict(ref.proxy().handled().get(TIMEOUT))
    finally:
        ref.stop()

    assert handled["timed"] == own
    assert handled["later"] == own


def queued_in(ref: limelight.ActorRef[Any]) -> int:
    """How many messages wait in `ref`'s mailbox."""
    (info,) = [i for i in limelight.observe.snapshot() if i.urn == ref.actor_urn]
    assert info.mailbox is not None
    return info.mailbox


def test_an_ask_that_finds_the_actor_busy_is_queued_for_its_thread() -> None:
    ref, own = recorder_and_its_thread()
    actor = ref.proxy()
    entered, release = actor.entered.get(TIMEOUT), actor.release.get(TIMEOUT)
    try:
        ref.tell("block")
        assert entered.wait(TIMEOUT)
        answers: list[Any] = []
        asking = threading.Thread(target=lambda: answers.append(ref.ask("queued")))
        asking.start()
        while not queued_in(ref):  # (no event says that it is queued)
            pass
        release.set()
        asking.join(TIMEOUT)
        handled = dict(actor.handled().get(TIMEOUT))
    finally:
        ref.stop()

    assert answers == ["queued"]
    assert handled["queued"] == own


def test_an_exception_reaches_the_asker_and_the_actor_goes_on() -> None:
    ref = Recorder.start()
    try:
        with pytest.raises(ValueError, match="failed"):
            ref.ask("fail")
        assert ref.ask("still here") == "still here"
    finally:
        ref.stop()


def test_context_variables_carry_from_one_message_to_the_next() -> None:
    ref = Recorder.start()
    try:
        ref.ask("note")  # in this thread
        assert ref.ask("read note", timeout=TIMEOUT) == "noted"  # in its own
        assert note.get() == ""  # not the asker's
    finally:
        ref.stop()


def test_an_ask_back_to_the_asker_raises_a_deadlock_error() -> None:
    first, second = Asker.start(), Asker.start()
    try:
        # first asks second (in this thread), which asks first: busy, and
        # waiting for second's answer.
        with pytest.raises(limelight.DeadlockError) as raised:
            first.ask((second, (first, "never")))
    finally:
        first.stop()
        second.stop()

    assert set(raised.value.cycle) == {first, second}


def test_an_ask_that_would_close_a_cycle_is_refused_before_it_runs() -> None:
    recorder, asker = Recorder.start(), Asker.start()
    release = limelight.ThreadingFuture[None]()
    try:
        # As if the recorder waited for the asker (a thread of its context).
        _wait_graph.begin_wait(recorder, asker, release)
        try:
            with pytest.raises(limelight.DeadlockError):
                asker.ask((recorder, "refused"))
        finally:
            _wait_graph.end_wait(recorder, release)
        assert recorder.ask("then") == "then"
        handled = [message for message, _ in recorder.proxy().handled().get(TIMEOUT)]
    finally:
        recorder.stop()
        asker.stop()

    assert "refused" not in handled


def test_an_ask_from_the_context_of_a_collected_actor_runs_here() -> None:
    recorder = Recorder.start()
    other = Recorder.start()
    context = other.ask("context", timeout=TIMEOUT)
    other.stop()
    del other
    gc.collect()
    try:
        assert context.run(recorder.ask, "from a dead actor's context") == (
            "from a dead actor's context"
        )
    finally:
        recorder.stop()


def test_a_kill_during_an_inline_ask_ends_the_actor_after_it() -> None:
    ref = Recorder.start()
    actor = ref.proxy()
    entered, release = actor.entered.get(TIMEOUT), actor.release.get(TIMEOUT)
    answers: list[Any] = []
    asking = threading.Thread(target=lambda: answers.append(ref.ask("block")))
    asking.start()
    assert entered.wait(TIMEOUT)
    queued = ref.ask("queued", block=False)
    assert ref.kill()
    release.set()
    asking.join(TIMEOUT)

    assert answers == ["block"]
    with pytest.raises(limelight.ActorDeadError):
        queued.get(TIMEOUT)
    assert ref.termination().get(TIMEOUT).reason == "killed"


def test_an_actor_asked_by_another_may_end_in_the_askers_thread() -> None:
    recorder, asker = Recorder.start(), Asker.start()
    try:
        assert asker.ask((recorder, "kill myself")) == "kill myself"
        assert recorder.termination().get(TIMEOUT).reason == "killed"
        with pytest.raises(limelight.ActorDeadError):
            asker.ask((recorder, "after"))
    finally:
        asker.stop()


def test_an_ask_to_a_stopped_actor_fails_as_for_any_actor() -> None:
    ref = Recorder.start()
    ref.stop()

    with pytest.raises(limelight.ActorDeadError):
        ref.ask("too late")


def test_a_stop_asked_for_goes_through_the_actors_thread() -> None:
    ref = Recorder.start()

    assert ref.ask(_ActorStop()) is True  # (its reply waits for the end)
    assert not ref.is_alive()


def test_with_context_propagation_asks_are_queued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref, own = recorder_and_its_thread()
    monkeypatch.setattr(_context, "propagating", True)
    try:
        assert ref.ask("carried") == "carried"
        handled = dict(ref.proxy().handled().get(TIMEOUT))
    finally:
        ref.stop()

    assert handled["carried"] == own


def test_inline_asks_are_counted_as_handled() -> None:
    ref = Recorder.start()
    try:
        for _ in range(3):
            ref.ask("count me")
        (info,) = [i for i in limelight.observe.snapshot() if i.urn == ref.actor_urn]
    finally:
        ref.stop()

    assert info.handled == 3


def test_a_bounded_actor_keeps_a_mailbox_of_its_own() -> None:
    class Bounded(Recorder):
        mailbox_capacity = 10

    ref, own = recorder_and_its_thread(Bounded)
    try:
        assert ref.ask("queued") == "queued"
        handled = dict(ref.proxy().handled().get(TIMEOUT))
    finally:
        ref.stop()

    assert handled["queued"] == own


def test_the_setting_chooses_the_runtime_and_a_subclass_may_undo_it() -> None:
    class Undone(Recorder):
        inline_asks = False

    class Ray(limelight.ThreadingActor):
        _limelight_runtime = threads.ThreadingRuntime()

    class RayWithTheSetting(Ray):
        inline_asks = True

    assert Recorder._limelight_runtime is inline.CALLER_RUNS
    assert Recorder._limelight_ref_class is inline.CallerRunsRef
    assert Undone._limelight_runtime is threads.RUNTIME
    assert Undone._limelight_ref_class is limelight.ActorRef
    # A runtime of its own (as RayActor's and ProcessActor's) is kept.
    assert RayWithTheSetting._limelight_runtime is Ray._limelight_runtime
