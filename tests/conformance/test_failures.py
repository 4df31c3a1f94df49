"""What happens when actor code raises."""

from __future__ import annotations

import contextlib
import logging
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

import pytest

import limelight
from tests.conformance.actors import TIMEOUT, Blocker, Recorder
from tests.runtimes import Runtime


class Raiser(limelight.Actor):
    """Raises what it is asked to raise."""

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, BaseException):
            explode_inside_actor(message)
        return message


def explode_inside_actor(exc: BaseException) -> None:
    raise exc


class FailsToStart(Recorder):
    def on_start(self) -> None:
        super().on_start()
        raise RuntimeError("on_start failed")


class FailsToStop(Recorder):
    def on_stop(self) -> None:
        super().on_stop()
        raise RuntimeError("on_stop failed")


class FailsToFail(Recorder):
    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.log.append("on_failure")
        raise RuntimeError("on_failure failed")


class LogWaiter(logging.Handler):
    """Sets `seen` when a matching record has been logged (and captured).

    It listens on the root logger, after pytest's capturing handler, so once
    `seen` is set the record is in ``caplog`` too.
    """

    def __init__(self, matches: Callable[[logging.LogRecord], bool]) -> None:
        super().__init__()
        self.matches = matches
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.matches(record):
            self.seen.set()

    def __enter__(self) -> LogWaiter:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *_exc_info: object) -> None:
        logging.getLogger().removeHandler(self)


def errors(logs: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in logs.records if r.name == "limelight" and r.levelno == logging.ERROR
    ]


@pytest.mark.needs("local_tracebacks")
def test_an_exception_in_ask_goes_to_the_caller_with_its_traceback(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Raiser).start()

    with pytest.raises(ValueError, match="for the caller") as info:
        ref.ask(ValueError("for the caller"), timeout=TIMEOUT)

    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "explode_inside_actor" in frames
    assert "on_receive" in frames
    assert ref.is_alive()
    assert ref.ask("still here", timeout=TIMEOUT) == "still here"


@pytest.mark.needs("local_logs")
def test_an_exception_in_ask_is_logged_at_info_only(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    ref = runtime.actor(Raiser).start()

    with pytest.raises(KeyError):
        ref.ask(KeyError("quiet"), timeout=TIMEOUT)

    assert errors(limelight_logs) == []
    infos = [r for r in limelight_logs.records if r.levelno == logging.INFO]
    assert any("Exception returned from Raiser" in r.getMessage() for r in infos)


@pytest.mark.needs("local_logs")
def test_an_exception_in_tell_is_logged_calls_on_failure_and_stops(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    log = runtime.shared_list()
    done, gate = runtime.event_class(), runtime.event_class()
    ref = runtime.actor(Recorder).start(log, done)
    ref.tell(("wait", gate))
    ref.tell(("fail", "told to fail"))
    ref.tell("never handled")

    gate.set()

    assert done.wait(TIMEOUT)
    assert not ref.is_alive()
    assert limelight.ActorRegistry.get_by_urn(ref.actor_urn) is None
    (error,) = errors(limelight_logs)
    assert error.getMessage() == f"Unhandled exception in {ref}:"
    assert error.exc_info is not None
    assert isinstance(error.exc_info[1], RuntimeError)
    with pytest.raises(limelight.ActorDeadError):
        ref.tell("too late")
    # on_failure ran last; on_stop never ran.
    assert list(log) == [
        "on_start",
        "wait",
        ("fail", "told to fail"),
        ("on_failure", RuntimeError, "told to fail"),
    ]


@pytest.mark.dedicated_host
def test_asks_queued_behind_a_crash_fail_with_actor_dead_error(
    runtime: Runtime,
) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(Recorder).start(log)
    gate = runtime.event_class()
    ref.tell(("wait", gate))
    ref.tell(("fail", "crash"))
    queued = [ref.ask(i, block=False) for i in range(3)]

    gate.set()

    for future in queued:
        with pytest.raises(limelight.ActorDeadError):
            future.get(TIMEOUT)


@pytest.mark.needs("local_logs")
def test_an_exception_in_a_deferred_call_is_a_crash(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    log = runtime.shared_list()
    done = runtime.event_class()
    ref = runtime.actor(Recorder).start(log, done)

    ref.proxy().on_receive.defer(("fail", "deferred"))

    assert done.wait(TIMEOUT)
    assert ref.actor_stopped.is_set()
    assert len(errors(limelight_logs)) == 1
    assert ("on_failure", RuntimeError, "deferred") in list(log)


@pytest.mark.needs("local_logs")
def test_an_exception_in_on_start_is_logged_and_stops_the_actor(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(FailsToStart).start(log)
    asked = ref.ask("hello", block=False)

    with pytest.raises(limelight.ActorDeadError):
        asked.get(TIMEOUT)
    assert ref.actor_stopped.wait(TIMEOUT)
    (error,) = errors(limelight_logs)
    assert error.exc_info is not None
    assert str(error.exc_info[1]) == "on_start failed"
    assert list(log) == ["on_start"]  # neither on_stop nor on_failure
    assert limelight.ActorRegistry.get_all() == []


@pytest.mark.needs("local_logs")
def test_an_exception_in_on_stop_is_logged_and_the_actor_still_stops(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(FailsToStop).start(log)

    assert ref.stop(timeout=TIMEOUT) is True

    assert not ref.is_alive()
    (error,) = errors(limelight_logs)
    assert error.exc_info is not None
    assert str(error.exc_info[1]) == "on_stop failed"
    assert list(log) == ["on_start", "on_stop"]


@pytest.mark.needs("local_logs")
def test_an_exception_in_on_failure_is_logged_too(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(FailsToFail).start(log)
    logged = LogWaiter(
        lambda r: "on_failure failed" in str(r.exc_info and r.exc_info[1])
    )

    with logged:
        ref.tell(("fail", "first"))
        assert logged.seen.wait(TIMEOUT)

    assert ref.actor_stopped.is_set()
    messages = [str(r.exc_info[1]) for r in errors(limelight_logs) if r.exc_info]
    assert messages == ["first", "on_failure failed"]
    assert list(log)[-1] == "on_failure"


@pytest.mark.parametrize("exception", [SystemExit, KeyboardInterrupt])
@pytest.mark.needs("base_exception_spreads")
def test_a_base_exception_in_tell_stops_every_actor(
    runtime: Runtime, exception: type[BaseException]
) -> None:
    log = runtime.shared_list()
    done = [runtime.event_class() for _ in range(3)]
    bystanders = [runtime.actor(Recorder).start(log, event) for event in done]
    raiser = runtime.actor(Raiser).start()

    raiser.tell(exception())

    assert raiser.actor_stopped.wait(TIMEOUT)
    for ref, event in zip(bystanders, done, strict=True):
        assert event.wait(TIMEOUT)  # on_stop ran
        assert ref.actor_stopped.is_set()
    assert list(log).count("on_stop") == 3
    assert limelight.ActorRegistry.get_all() == []


@pytest.mark.needs("base_exception_spreads")
def test_a_base_exception_in_ask_stops_every_actor_and_fails_the_ask(
    runtime: Runtime,
) -> None:
    bystander = runtime.actor(Blocker).start()
    raiser = runtime.actor(Raiser).start()

    with pytest.raises(limelight.ActorDeadError) as info:
        raiser.ask(SystemExit(3), timeout=TIMEOUT)

    assert isinstance(info.value.__cause__, SystemExit)
    assert raiser.actor_stopped.wait(TIMEOUT)
    assert bystander.actor_stopped.wait(TIMEOUT)


class BaseExceptionInHook(limelight.Actor):
    """Raises SystemExit from the hook it is told to."""

    def __init__(self, hook: str) -> None:
        super().__init__()
        self.hook = hook

    def on_start(self) -> None:
        if self.hook == "on_start":
            raise SystemExit("from on_start")

    def on_stop(self) -> None:
        if self.hook == "on_stop":
            raise SystemExit("from on_stop")

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.hook == "on_failure":
            raise SystemExit("from on_failure")

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("crash")
        return message


SHORT = 2.0
"""Seconds to wait below: a broken stop fails the test quickly instead of hanging."""


@pytest.mark.parametrize("hook", ["on_start", "on_stop", "on_failure"])
@pytest.mark.needs("base_exception_spreads")
def test_a_base_exception_in_a_hook_stops_every_actor(
    runtime: Runtime, hook: str
) -> None:
    bystander = runtime.actor(Blocker).start()
    ref = runtime.actor(BaseExceptionInHook).start(hook)
    try:
        if hook == "on_stop":
            assert ref.stop(timeout=SHORT) is True
        elif hook == "on_failure":
            ref.tell("crash")
        pending = ref.ask("pending", block=False)

        assert ref.actor_stopped.wait(SHORT)
        with contextlib.suppress(limelight.ActorDeadError):  # answered, not hung
            assert pending.get(SHORT) == "pending"
        assert bystander.actor_stopped.wait(SHORT)
        assert limelight.ActorRegistry.get_all() == []
    finally:
        # A broken actor may never stop: keep it from hanging the clean-up.
        limelight.ActorRegistry.unregister(ref)
