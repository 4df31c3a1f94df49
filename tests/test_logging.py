"""The ``limelight`` logger and the debugging helpers."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from unittest import mock

import pytest

import limelight
import limelight.debug
from limelight._core._log import RedirectableLogger, log_as, logger

SRC = Path(limelight.__file__).resolve().parent.parent


def test_the_limelight_logger_has_no_handler_of_its_own() -> None:
    # Not even a NullHandler, which would hide crashes from a program that
    # configured no logging (docs/logging.md).
    assert logging.getLogger("limelight").handlers == []


CRASH_WITHOUT_LOGGING_CONFIGURED = """
import limelight

class Worker(limelight.ThreadingActor):
    def on_receive(self, message):
        raise ValueError(f"cannot handle {message!r}")

ref = Worker.start()
ref.tell("boom")
ref.stop()  # the crash, and so its record, comes first
print("done")
"""


def test_a_crash_reaches_stderr_when_the_program_configured_no_logging() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SRC), *filter(None, [env.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [sys.executable, "-c", CRASH_WITHOUT_LOGGING_CONFIGURED],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    assert "Unhandled exception in Worker (urn:uuid:" in result.stderr
    assert "Traceback (most recent call last):" in result.stderr
    assert "ValueError: cannot handle 'boom'" in result.stderr


class _Crashing(limelight.ThreadingActor):
    def on_receive(self, message: object) -> object:
        raise ValueError(message)


class _AwaitedRecord(logging.Handler):
    """Sets `seen` when a record whose message contains `text` arrives."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.INFO)
        self.text = text
        self.seen = threading.Event()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.records.append(record)
            self.seen.set()


def _supervisor_decision(spec: limelight.ChildSpec, text: str) -> logging.LogRecord:
    """Crash `spec`'s child once; the supervisor's record that contains `text`."""
    awaited = _AwaitedRecord(text)
    limelight_logger = logging.getLogger("limelight")
    level = limelight_logger.level
    limelight_logger.addHandler(awaited)
    limelight_logger.setLevel(logging.INFO)
    supervisor = limelight.Supervisor.start([spec], max_restarts=5, within=60)
    try:
        child = supervisor.proxy().child(spec.name).get()
        assert child is not None
        child.tell("boom")
        assert awaited.seen.wait(10)
    finally:
        supervisor.stop()
        limelight_logger.removeHandler(awaited)
        limelight_logger.setLevel(level)
    (record,) = awaited.records
    return record


def test_a_supervisor_logs_each_restart_as_a_warning() -> None:
    record = _supervisor_decision(
        limelight.ChildSpec("worker", _Crashing), "restarting"
    )

    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("Child 'worker' of Supervisor (urn:")
    assert record.getMessage().endswith(
        "ended (failure): restarting 'worker' (one_for_one; restart 1 of at most 5 "
        "within 60 s)"
    )


def test_a_child_that_is_not_restarted_is_logged_at_info() -> None:
    record = _supervisor_decision(
        limelight.ChildSpec("once", _Crashing, restart="temporary"), "not restarted"
    )

    assert record.levelno == logging.INFO
    assert record.getMessage().endswith(
        "ended (failure): not restarted, as a temporary child"
    )


def test_log_thread_tracebacks_logs_one_critical_record_per_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    parked = threading.Thread(target=release.wait, name="parked-for-the-test")
    parked.start()
    try:
        with caplog.at_level(logging.CRITICAL, logger="limelight"):
            limelight.debug.log_thread_tracebacks()
    finally:
        release.set()
        parked.join()

    records = [r for r in caplog.records if r.name == "limelight"]
    assert all(r.levelno == logging.CRITICAL for r in records)
    messages = [r.getMessage() for r in records]
    idents = [int(m.split("(ident: ", 1)[1].split(")", 1)[0]) for m in messages]
    assert len(set(idents)) == len(records)  # one record per thread
    assert {threading.main_thread().ident, parked.ident} <= set(idents)
    (parked_message,) = [m for m in messages if "parked-for-the-test" in m]
    assert f"ident: {parked.ident}" in parked_message
    assert "wait" in parked_message  # its stack: it is waiting on the event
    assert any("MainThread" in m for m in messages)


def test_log_thread_tracebacks_can_be_a_signal_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.CRITICAL, logger="limelight"):
        limelight.debug.log_thread_tracebacks(signal.SIGUSR1, None)

    assert caplog.records
    assert all(r.levelno == logging.CRITICAL for r in caplog.records)


def test_debug_logs_tell_an_actor_s_life(caplog: pytest.LogCaptureFixture) -> None:
    class Chatty(limelight.ThreadingActor):
        pass

    with caplog.at_level(logging.DEBUG, logger="limelight"):
        ref = Chatty.start()
        ref.stop()

    messages = [r.getMessage() for r in caplog.records if r.name == "limelight"]
    assert f"Registered {ref}" in messages
    assert f"Starting {ref}" in messages
    assert f"Stopped {ref}" in messages
    assert f"Unregistered {ref}" in messages


def test_debug_logs_follow_the_level_as_it_changes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # (Hot paths read the level from the logger's own cache of answers, which
    # logging empties on every change: a stale "off" would lose these.)
    class Chatty(limelight.ThreadingActor):
        pass

    def starting_records() -> list[str]:
        return [r.getMessage() for r in caplog.records if "Starting" in r.getMessage()]

    with caplog.at_level(logging.INFO, logger="limelight"):
        Chatty.start().stop()  # (DEBUG's answer cached: off)
    assert starting_records() == []
    with caplog.at_level(logging.DEBUG, logger="limelight"):
        ref = Chatty.start()
        ref.stop()
    assert starting_records() == [f"Starting {ref}"]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="limelight"):
        logging.disable(logging.DEBUG)
        try:
            Chatty.start().stop()
        finally:
            logging.disable(logging.NOTSET)
    assert starting_records() == []


def test_a_logger_class_that_answers_its_own_way_is_asked_each_time() -> None:
    class Verbose(logging.Logger):
        def isEnabledFor(self, level: int) -> bool:  # noqa: N802 -- logging's name
            return True

    target = Verbose("limelight-test-verbose", logging.WARNING)
    target.propagate = False
    records: list[logging.LogRecord] = []

    class Recording(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    target.addHandler(Recording())
    logging.Logger.isEnabledFor(target, logging.DEBUG)  # (its cache: DEBUG off)

    RedirectableLogger(target).debug("heard")

    assert [r.getMessage() for r in records] == ["heard"]


def test_a_target_without_a_level_cache_is_asked_each_time() -> None:
    target = mock.Mock(spec=["isEnabledFor", "log"])
    target.isEnabledFor.side_effect = [False, True]
    redirecting = RedirectableLogger(target)

    redirecting.debug("first")
    redirecting.debug("second")

    assert target.isEnabledFor.call_count == 2
    target.log.assert_called_once_with(logging.DEBUG, "second", stacklevel=2)


@pytest.mark.parametrize(
    ("method", "level"),
    [
        ("debug", logging.DEBUG),
        ("info", logging.INFO),
        ("warning", logging.WARNING),
        ("error", logging.ERROR),
        ("exception", logging.ERROR),
        ("critical", logging.CRITICAL),
    ],
)
def test_limelight_logs_at_each_level_as_from_its_caller(
    caplog: pytest.LogCaptureFixture, method: str, level: int
) -> None:
    log = getattr(logger, method)
    with caplog.at_level(level + 1, logger="limelight"):
        log("not logged: below the level")
    with caplog.at_level(level, logger="limelight"):
        try:
            raise ValueError("the exception being handled")
        except ValueError:
            log("logged %s", "once")

    (record,) = caplog.records
    assert (record.name, record.levelno, record.getMessage()) == (
        "limelight",
        level,
        "logged once",
    )
    # The record names where it was logged from, not the redirecting logger.
    assert record.funcName == "test_limelight_logs_at_each_level_as_from_its_caller"
    assert bool(record.exc_info) == (method == "exception")


def test_log_as_sends_every_record_to_another_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        log_as("pykka")
        with caplog.at_level(logging.DEBUG, logger="pykka"):
            limelight.ThreadingActor.start().stop()
    finally:
        log_as("limelight")

    assert {record.name for record in caplog.records} == {"pykka"}
    (starting,) = [r for r in caplog.records if r.getMessage().startswith("Starting")]
    assert starting.filename == "_actor.py"
