"""Soak: a child restarted thousands of times leaves nothing behind.

Run by ``nox -s soak``, not by the default ``nox`` or a plain ``pytest``:
this file's name does not match pytest's pattern for test files, so only a
run that names it (or sets ``python_files``, as the session does) collects
it. ``LIMELIGHT_SOAK_RESTARTS`` says how many restarts (10,000 by
default); the first tenth (or ``LIMELIGHT_SOAK_WARM_UP``) warm up (caches,
free lists, the allocator's arenas, the thread cache), and the rest must
leave the supervisor's bookkeeping, the process's RSS,
threads, file descriptors and objects where the warm-up left them.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import weakref
from typing import Any

import pytest

import limelight
from limelight import ChildSpec, Supervisor
from tests.runtimes import Runtime
from tests.soak._measure import Limits, env_int, needs_proc, report, soak
from tests.soak.soak_churn import RAY_LIMITS

RESTARTS = env_int("LIMELIGHT_SOAK_RESTARTS", 10_000)
WARM_UP = env_int("LIMELIGHT_SOAK_WARM_UP", RESTARTS // 10)
COLLECT_EVERY = 100  # crashes (see crash())
TIMEOUT = 10.0


class Crashing(limelight.Actor):
    """Crashes on every message, holding some state a leak would keep."""

    def __init__(self) -> None:
        super().__init__()
        self.state = bytearray(4096)

    def on_receive(self, message: Any) -> Any:
        raise RuntimeError(f"crashed on {message!r}")


def termination_callbacks(ref: limelight.ActorRef[Any]) -> int:
    """How many callbacks wait for the end of `ref`'s actor: its bookkeeping."""
    return len(ref.actor_stopped._on_terminated or {})


def crash(supervisor: limelight.ActorRef[Supervisor], number: int) -> weakref.ref[Any]:
    """Crash the child once and wait for its successor; a weak ref to the crashed.

    Every `COLLECT_EVERY` crashes, garbage is collected: a crashed actor is
    freed by the cycle collector (its traceback and frames refer to each
    other), so without it RSS would measure how much garbage the collector
    let pile up between its runs, not what is kept. A leak survives it.
    """
    if number % COLLECT_EVERY == 0:
        gc.collect()
    old: limelight.ActorRef[Any] = supervisor.proxy().child("child").get(TIMEOUT)
    # (A child in another process has no actor here: its weak ref is dead,
    # and soak_churn.py checks that its worker frees it.)
    crashed: weakref.ref[Any] = old._actor_weakref
    old.tell("crash")
    old.termination().get(TIMEOUT)
    new = supervisor.proxy().child("child").get(TIMEOUT)
    assert new is not None
    assert new != old
    return crashed


@needs_proc
@pytest.mark.timeout(1800)
def test_restarts_leave_nothing_behind(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    # Each crash logs its traceback at ERROR: a log capture would keep them all.
    caplog.set_level(logging.CRITICAL, logger="limelight")
    supervisor = Supervisor.start(
        [ChildSpec("child", runtime.actor(Crashing))],
        max_restarts=RESTARTS + 1,
        # (It keeps the time of each restart within the window: a short one,
        # so that those it keeps do not count as a growth.)
        within=0.01,
    )
    crashed: list[weakref.ref[Any]] = []

    def restart(number: int) -> None:
        weak = crash(supervisor, number)
        # (A sample after the warm-up: a weak ref to each would be a growth.)
        if number >= WARM_UP and number % 100 == 0:
            crashed.append(weak)

    growth = soak(restart, RESTARTS, WARM_UP).growth
    # (Less the test's own weak refs.)
    growth = dataclasses.replace(
        growth,
        objects=growth.objects - len(crashed),
        blocks=growth.blocks - len(crashed),
    )
    report(f"{runtime.name}: {RESTARTS} restarts", growth)
    assert termination_callbacks(supervisor) == 1
    assert supervisor.proxy().restarts.get(TIMEOUT) == RESTARTS
    assert [ref for ref in crashed if ref() is not None] == []
    limits = Limits(objects=1_000)  # (a restart's leak: 9,000 at least)
    if runtime.name == "ray":  # (its driver's RSS and C++ threads wander)
        limits = dataclasses.replace(limits, **RAY_LIMITS)
    limits.check(growth)
    supervisor.stop()
