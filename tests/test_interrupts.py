"""Ctrl-C held back while the main thread reads a frame from a shared pipe."""

from __future__ import annotations

import os
import signal
import threading
import warnings
from collections.abc import Iterator
from types import FrameType

import pytest

from limelight._core._interrupts import HeldInterrupts


@pytest.fixture(autouse=True)
def default_sigint() -> Iterator[None]:
    """Each test starts with Python's own SIGINT handler, and leaves it there."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    signal.signal(signal.SIGINT, previous)


def test_an_interrupt_while_held_is_raised_on_release() -> None:
    reached: list[str] = []
    with HeldInterrupts() as interrupts:
        interrupts.holding = True
        signal.raise_signal(signal.SIGINT)
        reached.append("after the signal")  # not cut short
        with pytest.raises(KeyboardInterrupt):
            interrupts.release()

    assert reached == ["after the signal"]


def test_an_interrupt_while_not_held_is_raised_at_once() -> None:
    with HeldInterrupts() as interrupts:
        interrupts.holding = True
        interrupts.release()  # nothing held: nothing raised
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)


def hold_an_interrupt_and_leave() -> None:
    with HeldInterrupts() as interrupts:
        interrupts.holding = True
        signal.raise_signal(signal.SIGINT)


def test_an_interrupt_still_held_at_exit_is_raised_there() -> None:
    with pytest.raises(KeyboardInterrupt):
        hold_an_interrupt_and_leave()


def test_a_program_s_own_handler_is_held_and_then_called() -> None:
    calls: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        calls.append(signum)

    signal.signal(signal.SIGINT, handler)
    try:
        with HeldInterrupts() as interrupts:
            interrupts.holding = True
            signal.raise_signal(signal.SIGINT)
            assert calls == []
            interrupts.release()
            assert calls == [signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_an_ignored_interrupt_is_left_alone() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with HeldInterrupts() as interrupts:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            interrupts.holding = True
            signal.raise_signal(signal.SIGINT)
            interrupts.release()
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_other_threads_change_nothing() -> None:
    # (Only the main thread runs Python signal handlers, or may set them.)
    seen: list[object] = []

    def run() -> None:
        with HeldInterrupts() as interrupts:
            interrupts.holding = True
            seen.append(signal.getsignal(signal.SIGINT))
            interrupts.release()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()

    assert seen == [signal.default_int_handler]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
def test_a_child_forked_by_another_thread_holds_in_that_thread() -> None:
    # The forking thread is the child's main thread: its waits must hold.
    statuses: list[int] = []

    def fork_and_wait() -> None:
        with warnings.catch_warnings():  # (3.12+: fork() with threads running)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover -- the child, which coverage does not see
            held = False
            try:
                with HeldInterrupts() as interrupts:
                    interrupts.holding = True
                    signal.raise_signal(signal.SIGINT)
                    held = interrupts.held is not None
                    interrupts.held = None  # (not raised in the child)
            finally:
                os._exit(0 if held else 1)
        statuses.append(os.waitpid(pid, 0)[1])

    thread = threading.Thread(target=fork_and_wait)
    thread.start()
    thread.join()

    assert statuses == [0]
