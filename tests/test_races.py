"""Races between completing and timing out, replayed deterministically.

Each test substitutes a lock or waiter whose timed ``acquire()`` lets the
other side win at exactly the worst moment (the value arrives, or a thread is
handed an actor, just as the wait times out), then reports the timeout. The
code must notice and carry on, rather than raise or lose anything.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, SupportsIndex

import pytest

import limelight
from limelight._core import _future, _waiting
from limelight._core._log import logger
from limelight._core._stopped import StoppedEvent
from limelight._runtimes import blocking, threads
from limelight._runtimes.threads import ThreadCache, ThreadingFuture

TIMEOUT = 10.0


class LateLock:
    """A held lock whose timed acquire runs `meanwhile` and then times out."""

    def __init__(self, meanwhile: Callable[[], object]) -> None:
        self.meanwhile = meanwhile
        self.released = False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if timeout >= 0:
            self.meanwhile()
            return False
        return True

    def release(self) -> None:
        self.released = True


@pytest.mark.usefixtures("no_waiter_factories")
def test_a_thread_wait_that_times_out_as_the_value_arrives_returns_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    future: ThreadingFuture[str] = ThreadingFuture()
    lock = LateLock(lambda: future.set("just in time"))
    monkeypatch.setattr(_future, "_spare_locks", [])
    monkeypatch.setattr(_future, "_allocate_lock", lambda: lock)
    monkeypatch.setattr(_future, "_LockType", LateLock)  # completion releases it

    assert future.get(timeout=0.5) == "just in time"
    assert lock.released  # completion released the waiter's lock
    assert _future._spare_locks == []  # a lock released late is never reused


class CompletedOnAppend(list[Any]):
    """A future's callback list that another thread completes the future into.

    As a waiter or callback is appended, the future is completed: before
    the append (`first`), so that completion finds nothing to call, or just
    after it.
    """

    def __init__(self, future: ThreadingFuture[str], *, first: bool) -> None:
        super().__init__(future._callbacks)
        self.future = future
        self.first = first

    def append(self, item: Any, /) -> None:
        if self.first:
            self.future.set("meanwhile")
        super().append(item)
        if not self.first:
            self.future.set("meanwhile")


@pytest.mark.usefixtures("no_waiter_factories")
@pytest.mark.parametrize("first", [True, False], ids=["before", "after"])
def test_a_thread_wait_finds_the_value_set_as_it_began_to_wait(
    monkeypatch: pytest.MonkeyPatch, *, first: bool
) -> None:
    future: ThreadingFuture[str] = ThreadingFuture()
    future._callbacks = CompletedOnAppend(future, first=first)
    monkeypatch.setattr(_future, "_spare_locks", [])

    assert future.get(timeout=TIMEOUT) == "meanwhile"
    # Its lock was released (or may yet be): never kept for another wait.
    assert _future._spare_locks == []


@pytest.mark.parametrize("first", [True, False], ids=["before", "after"])
def test_a_callback_added_as_the_future_completes_is_called_once(
    *, first: bool
) -> None:
    future: ThreadingFuture[str] = ThreadingFuture()
    future._callbacks = CompletedOnAppend(future, first=first)
    calls: list[str] = []

    future._add_done_callback(lambda: calls.append(future.get()))

    assert calls == ["meanwhile"]


class TakenMeanwhile(list[Any]):
    """A callback list whose next pop() finds another thread took the rest."""

    def pop(self, index: SupportsIndex = -1, /) -> Any:
        taken = list(self)
        self.clear()
        for callback in taken:  # what that other thread does with them
            if isinstance(callback, _future._LockType):
                callback.release()
            else:
                callback()
        return super().pop(index)


def test_completion_lets_another_thread_take_a_waiting_thread_s_lock() -> None:
    future: ThreadingFuture[str] = ThreadingFuture()
    lock = threading.Lock()
    lock.acquire()
    future._callbacks = TakenMeanwhile(future._callbacks)
    future._callbacks.append(lock)

    future.set("once")

    assert not lock.locked()  # released once, by the other thread
    assert future.get() == "once"


def test_completion_lets_another_thread_take_the_last_callbacks() -> None:
    future: ThreadingFuture[str] = ThreadingFuture()
    calls: list[str] = []
    future._add_done_callback(lambda: calls.append("first"))
    future._add_done_callback(lambda: calls.append("second"))
    future._callbacks = TakenMeanwhile(future._callbacks)

    future.set_exception(ValueError("once"))

    assert calls == ["first", "second"]  # each once, by the other thread


def test_a_context_wait_that_times_out_as_the_value_arrives_returns_it() -> None:
    future: ThreadingFuture[str] = ThreadingFuture()
    waiter = LateLock(lambda: future.set("just in time"))

    def factory() -> _waiting.Waiter | None:
        return waiter

    _waiting.register_waiter_factory(factory)
    try:
        assert future.get(timeout=0.5) == "just in time"
    finally:
        _waiting.unregister_waiter_factory(factory)


def test_a_stopped_event_set_between_its_check_and_its_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = StoppedEvent()

    def set_while_making_a_waiter() -> _waiting.Waiter:
        event.set()
        return LateLock(lambda: None)

    monkeypatch.setattr(_waiting, "new_waiter", set_while_making_a_waiter)

    assert event.wait(timeout=0.5) is True


def test_a_stopped_event_set_just_as_its_wait_times_out() -> None:
    event = StoppedEvent()
    waiter = LateLock(event.set)

    def factory() -> _waiting.Waiter | None:
        return waiter

    _waiting.register_waiter_factory(factory)
    try:
        assert event.wait(timeout=0.5) is True
    finally:
        _waiting.unregister_waiter_factory(factory)
    assert waiter.released  # set() woke it, even though it had given up


def test_a_stopped_event_says_whether_it_is_set() -> None:
    event = StoppedEvent()
    assert repr(event) == "<StoppedEvent unset>"
    assert event.wait(timeout=0) is False
    event.set()
    event.set()  # setting twice is harmless
    assert repr(event) == "<StoppedEvent set>"


def test_an_idle_thread_handed_an_actor_as_its_keep_alive_ends_runs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = ThreadCache(daemon=True, keep_alive=0.5)
    actor = Echo()

    class HandedOverAtTheDeadline:
        """The idle wait times out just as run() takes the thread and releases."""

        def __init__(self, idle: Any) -> None:
            self.idle = idle

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            if timeout < 0:
                return True  # run() has released it
            with cache._lock:  # what run() does, at the worst moment
                cache._idle.remove(self.idle)
            self.idle.actor = actor
            return False

        def release(self) -> None:  # pragma: no cover -- not reached here
            pass

    class RacingIdleThread(threads._IdleThread):
        def __init__(self, thread: threading.Thread) -> None:
            super().__init__(thread)
            self.wake = HandedOverAtTheDeadline(self)  # type: ignore[assignment]

    monkeypatch.setattr(threads, "_IdleThread", RacingIdleThread)

    assert cache._wait_for_actor() is actor


class Echo(limelight.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message


class Broken(limelight.ThreadingActor):
    """An actor whose loop itself fails (see below): a bug the thread must survive."""


def _run_or_fail(
    run: Callable[[limelight.Actor], None], actor: limelight.Actor
) -> None:
    if not isinstance(actor, Broken):
        run(actor)
        return
    actor._limelight_begin_stop()
    actor._actor_loop_teardown()
    raise RuntimeError("a bug in the loop")


def test_a_thread_survives_a_failing_actor_loop_and_logs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logged = threading.Event()
    messages: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())
            logged.set()

    recorder = Recorder(logging.ERROR)
    monkeypatch.setattr(blocking, "run", functools.partial(_run_or_fail, blocking.run))
    monkeypatch.setattr(logger, "target", logging.getLogger("limelight.test"))
    logger.target.addHandler(recorder)
    try:
        ref = Broken.start()
        assert logged.wait(TIMEOUT)
    finally:
        logger.target.removeHandler(recorder)

    assert messages == [f"Actor loop of {ref} failed"]
    follower = Echo.start()  # the thread went on to serve (or be cached)
    assert follower.ask("still works", timeout=TIMEOUT) == "still works"


def test_two_first_messages_put_at_once_share_one_inbox_deque(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import collections  # noqa: PLC0415

    from limelight._runtimes.event_loop import driver as _async_loop  # noqa: PLC0415
    from limelight.asyncio import AsyncioActor  # noqa: PLC0415

    class Quiet(AsyncioActor):
        def on_receive(self, message: Any) -> Any:
            return message

    actor = Quiet()  # never started: only its inbox is used
    assert isinstance(actor.actor_inbox, _async_loop.LoopInbox)
    inbox: _async_loop.LoopInbox = actor.actor_inbox
    other: collections.deque[Any] = collections.deque(["from the other thread"])

    class OtherPutterWinsTheLock:
        """The lock, as seen by a putter that another putter just beat to it."""

        def __enter__(self) -> None:
            inbox._items = other

        def __exit__(self, *exc_info: object) -> None:
            pass

    monkeypatch.setattr(_async_loop, "state_lock", OtherPutterWinsTheLock())
    inbox._scheduled = True  # no drain: this test reads the inbox itself
    inbox.put(("mine", None))

    assert inbox._items is other
    assert list(other) == ["from the other thread", ("mine", None)]
    inbox._scheduled = False
    monkeypatch.undo()
    limelight.ActorRegistry.unregister(actor.actor_ref)
    runtime = actor._limelight_runtime
    assert runtime is not None
    runtime.release(actor)
