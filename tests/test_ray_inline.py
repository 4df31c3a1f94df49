"""A dedicated Ray host's actor: an idle actor handles a blocking ask in its thread.

What ``_runtimes/inline.py`` does for a dedicated Ray host, run in this
process: Ray is not needed (nor imported) to make a `RayActor` the way its
host does and to ask it the way the host does.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import limelight
from limelight._runtimes import inline as ray_inline
from limelight._runtimes.inline import HOST_THREAD, InlineInbox
from limelight._runtimes.threads import IDLE_THREAD_NAME
from limelight.ray import RayActor

TIMEOUT = 10.0

note: contextvars.ContextVar[str] = contextvars.ContextVar("note", default="")


class Recorder(RayActor):
    """Records what it handles, and in which thread."""

    def __init__(self) -> None:
        super().__init__()
        self.handled: list[tuple[Any, int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.timer_fired = threading.Event()

    def on_receive(self, message: Any) -> Any:
        self.handled.append((message, threading.get_ident()))
        if message == "block":
            self.entered.set()
            self.release.wait(TIMEOUT)
        elif message == "fail":
            raise ValueError("failed")
        elif message == "send myself next":
            self.actor_ref.tell("next")
        elif message == "note":
            note.set("noted")
        elif message == "read note":
            return note.get()
        elif message == "start timer":
            self.send_after(0, "timer")
        elif message == "timer":
            self.timer_fired.set()
        elif message == "sync":
            signal = getattr(self.actor_inbox, "_wake", None)
            if isinstance(signal, IdleSignal):
                signal.idle.clear()  # (set again once the actor is idle)
        elif message == "ask myself":
            return self.actor_ref.ask("again")
        return message

    def history(self) -> list[tuple[Any, int]]:
        return list(self.handled)


@pytest.fixture
def recorder() -> Iterator[limelight.ActorRef[Recorder]]:
    ref = start_hosted(Recorder)
    yield ref
    ref.stop()


class IdleSignal:
    """Stands in for an `InlineInbox`'s wake lock, to tell when the actor is idle.

    The actor's thread waits on the lock once it has marked the actor idle;
    ``idle`` is cleared by the message "sync" (see `wait_until_idle()`).
    """

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.idle = threading.Event()

    def acquire(self) -> bool:
        self.idle.set()
        return self.lock.acquire()

    def release(self) -> None:
        self.lock.release()


def start_hosted(actor_class: type[Any]) -> limelight.ActorRef[Any]:
    """Make and start an actor as its dedicated host does."""
    with ray_inline.hosting():
        actor: limelight.Actor = actor_class()
    inbox = actor.actor_inbox
    if isinstance(inbox, InlineInbox):
        inbox._wake = IdleSignal(inbox._wake)  # type: ignore[assignment]  # pyright: ignore[reportAttributeAccessIssue]
    return actor._limelight_register_and_run()


def ask_here(ref: limelight.ActorRef[Any], message: Any, *, block: bool = True) -> Any:
    """Ask as the host does: from a thread that may handle it."""
    HOST_THREAD.inline = ref.actor_inbox
    try:
        return ref.ask(message, block)
    finally:
        HOST_THREAD.inline = None


def inbox_of(ref: limelight.ActorRef[Any]) -> InlineInbox:
    inbox = ref.actor_inbox
    assert isinstance(inbox, InlineInbox)
    return inbox


def own_thread(ref: limelight.ActorRef[Any]) -> threading.Thread:
    thread = inbox_of(ref).thread
    assert thread is not None
    return thread


def wait_until_idle(ref: limelight.ActorRef[Any]) -> None:
    """Return once the actor's thread has handled "sync" and gone idle."""
    ref.ask("sync", timeout=TIMEOUT)
    signal = getattr(ref.actor_inbox, "_wake", None)
    if isinstance(signal, IdleSignal):
        assert signal.idle.wait(TIMEOUT)


def test_an_idle_actor_handles_a_blocking_ask_in_the_askers_thread(
    recorder: limelight.ActorRef[Recorder],
) -> None:
    wait_until_idle(recorder)  # (on_start() has run: the actor is idle)

    assert ask_here(recorder, "here") == "here"

    history = recorder.proxy().history().get(TIMEOUT)
    assert history[-1] == ("here", threading.get_ident())
    # A plain ask (not the host's) goes to the actor's own thread.
    assert history[0] == ("sync", own_thread(recorder).ident)


def test_only_the_actor_the_host_waits_for_handles_an_ask_here(
    recorder: limelight.ActorRef[Recorder],
) -> None:
    other = start_hosted(Recorder)
    wait_until_idle(other)

    HOST_THREAD.inline = recorder.actor_inbox
    try:
        asked = other.ask("elsewhere", block=False)
    finally:
        HOST_THREAD.inline = None

    assert asked.get(TIMEOUT) == "elsewhere"
    last = other.proxy().history().get(TIMEOUT)[-1]
    assert last == ("elsewhere", own_thread(other).ident)
    other.stop()


def test_an_ask_handled_here_sees_the_actor_as_the_current_one(
    recorder: limelight.ActorRef[Recorder],
) -> None:
    wait_until_idle(recorder)

    with pytest.raises(limelight.DeadlockError):
        ask_here(recorder, "ask myself")


def test_context_variables_carry_between_the_two_threads(
    recorder: limelight.ActorRef[Recorder],
) -> None:
    wait_until_idle(recorder)

    ask_here(recorder, "note")  # (here)
    assert recorder.ask("read note", timeout=TIMEOUT) == "noted"  # (its thread)
    assert note.get() == ""  # (not in the asker's own context)


def test_a_busy_actor_queues_the_ask_behind_what_it_handles(
    recorder: limelight.ActorRef[Recorder],
) -> None:
    actor = recorder.proxy()
    entered = actor.entered.get(TIMEOUT)
    release = actor.release.get(TIMEOUT)
    recorder.tell("block")
    assert entered.wait(TIMEOUT) is True

    asked = ask_here(recorder, "after", block=False)
    with pytest.raises(limelight.Timeout):  # queued, not handled here
        asked.get(0)
    release.set()

    assert asked.get(TIMEOUT) == "after"
    thread = own_thread(recorder).ident
    assert actor.history().get(TIMEOUT) == [("block", thread), ("after", thread)]


def test_what_an_ask_handled_here_sends_is_handled_after_it_by_its_thread(
    recorder: limelight.ActorRef[Recorder],
) -> None:
    wait_until_idle(recorder)

    ask_here(recorder, "send myself next")
    wait_until_idle(recorder)

    history = recorder.proxy().history().get(TIMEOUT)
    thread = own_thread(recorder).ident
    assert history[1:] == [
        ("send myself next", threading.get_ident()),
        ("next", thread),
        ("sync", thread),
    ]


def test_an_ask_handled_here_that_raises_goes_back_and_the_actor_goes_on(
    recorder: limelight.ActorRef[Recorder],
) -> None:
    wait_until_idle(recorder)

    with pytest.raises(ValueError, match="failed"):
        ask_here(recorder, "fail")
    assert ask_here(recorder, "still here") == "still here"


def test_a_stop_handled_here_ends_the_actor_and_its_thread() -> None:
    ref = start_hosted(Recorder)
    wait_until_idle(ref)
    thread = own_thread(ref)

    HOST_THREAD.inline = ref.actor_inbox
    try:
        assert ref.stop(timeout=TIMEOUT) is True
    finally:
        HOST_THREAD.inline = None

    assert ref.actor_stopped.terminated is not None
    assert ref.actor_stopped.terminated.reason == "normal"
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert threading.current_thread().name != IDLE_THREAD_NAME  # (not renamed)


def test_a_kill_while_idle_ends_the_actor_in_its_thread() -> None:
    ref = start_hosted(Recorder)
    wait_until_idle(ref)
    thread = own_thread(ref)

    assert ref.kill() is True

    assert ref.termination().get(TIMEOUT).reason == "killed"
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    with pytest.raises(limelight.ActorDeadError):
        ask_here(ref, "late")


def test_a_kill_during_an_ask_handled_here_ends_the_actor_after_it() -> None:
    ref = start_hosted(Recorder)
    wait_until_idle(ref)
    actor = ref.proxy()
    entered = actor.entered.get(TIMEOUT)
    release = actor.release.get(TIMEOUT)
    asker = threading.Thread(target=ask_here, args=(ref, "block"))
    asker.start()
    assert entered.wait(TIMEOUT) is True
    queued = ref.ask("queued", block=False)

    assert ref.kill() is True
    release.set()
    asker.join(TIMEOUT)

    assert ref.termination().get(TIMEOUT).reason == "killed"
    with pytest.raises(limelight.ActorDeadError, match="stopped before handling"):
        queued.get(TIMEOUT)


def test_messages_queued_behind_a_kill_are_not_handled() -> None:
    ref = start_hosted(Recorder)
    actor = ref.proxy()
    history = actor.history
    entered = actor.entered.get(TIMEOUT)
    release = actor.release.get(TIMEOUT)
    ref.tell("block")
    assert entered.wait(TIMEOUT) is True
    last = history()  # (queued behind the block: answered by the teardown)
    queued = ref.ask("queued", block=False)

    ref.kill()
    release.set()

    with pytest.raises(limelight.ActorDeadError):
        last.get(TIMEOUT)
    with pytest.raises(limelight.ActorDeadError):
        queued.get(TIMEOUT)
    assert ref.termination().get(TIMEOUT).reason == "killed"


class FailsToStart(RayActor):
    def on_start(self) -> None:
        raise ValueError("no start")


def test_an_actor_that_fails_to_start_rejects_what_was_queued() -> None:
    with ray_inline.hosting():
        actor = FailsToStart()
    asked = actor.actor_ref.ask("queued before the start", block=False)

    ref = actor._limelight_register_and_run()

    with pytest.raises(limelight.ActorDeadError):
        asked.get(TIMEOUT)
    assert ref.termination().get(TIMEOUT).reason == "failure"
    own_thread(ref).join(TIMEOUT)


def test_a_told_message_that_raises_is_a_crash_with_on_failure() -> None:
    ref = start_hosted(Recorder)

    ref.tell("fail")

    terminated = ref.termination().get(TIMEOUT)
    assert terminated.reason == "failure"
    assert isinstance(terminated.exception, ValueError)


class Daemon(Recorder):
    use_daemon_thread = True


def test_the_actors_thread_is_a_daemon_if_the_class_says_so() -> None:
    ref = start_hosted(Daemon)
    assert own_thread(ref).daemon
    ref.stop()


class ThreadLocalKeeper(Recorder):
    reuse_thread = False


class Bounded(Recorder):
    mailbox_capacity = 10


@pytest.mark.parametrize("actor_class", [ThreadLocalKeeper, Bounded])
def test_actors_that_need_their_own_thread_get_a_thread_actors_inbox(
    actor_class: type[Recorder],
) -> None:
    ref = start_hosted(actor_class)
    wait_until_idle(ref)

    assert not isinstance(ref.actor_inbox, InlineInbox)
    assert ask_here(ref, "there") == "there"
    assert ref.proxy().history().get(TIMEOUT)[-1][1] != threading.get_ident()
    ref.stop()


def test_a_ray_actor_made_outside_a_dedicated_host_is_a_thread_actor() -> None:
    ref = Recorder()._limelight_register_and_run()

    assert not isinstance(ref.actor_inbox, InlineInbox)
    ref.stop()


def test_the_inbox_is_drained_by_its_actor_not_by_blocking(
    recorder: limelight.ActorRef[Recorder],
) -> None:
    inbox = inbox_of(recorder)

    with pytest.raises(TypeError, match="drained by its actor's thread"):
        inbox.get()
    assert inbox.empty()
    with pytest.raises(queue.Empty):
        inbox.get_nowait()


def test_a_timer_set_in_an_ask_handled_here_fires_in_the_actors_thread(
    recorder: limelight.ActorRef[Recorder],
) -> None:
    wait_until_idle(recorder)
    actor = recorder.proxy()
    fired = actor.timer_fired.get(TIMEOUT)

    ask_here(recorder, "start timer")

    assert fired.wait(TIMEOUT) is True
    assert actor.history().get(TIMEOUT)[-1] == ("timer", own_thread(recorder).ident)
