"""The ``limelight`` logger and the debugging helpers."""

from __future__ import annotations

import logging
import signal
import threading

import pytest

import limelight
import limelight.debug
from limelight._core._log import log_as, logger


def test_the_limelight_logger_has_a_null_handler() -> None:
    handlers = logging.getLogger("limelight").handlers

    assert any(isinstance(handler, logging.NullHandler) for handler in handlers)


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
