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

import ctypes
import ctypes.util
import gc
import logging
import os
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest

import limelight
from limelight import ChildSpec, Supervisor
from tests.runtimes import Runtime

RESTARTS = int(os.environ.get("LIMELIGHT_SOAK_RESTARTS", "10000"))
WARM_UP = int(os.environ.get("LIMELIGHT_SOAK_WARM_UP", RESTARTS // 10))
MAX_RSS_GROWTH = 512 * 1024  # bytes, over the restarts after the warm-up
MAX_OBJECT_GROWTH = 1_000  # live objects, likewise (one per restart would fail)
COLLECT_EVERY = 100  # crashes (see crash())
TIMEOUT = 10.0

PROC = Path("/proc/self")


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        _ = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None  # (not glibc: RSS is measured as it is)
    return libc


LIBC = _libc()


class Crashing(limelight.Actor):
    """Crashes on every message, holding some state a leak would keep."""

    def __init__(self) -> None:
        super().__init__()
        self.state = bytearray(4096)

    def on_receive(self, message: Any) -> Any:
        raise RuntimeError(f"crashed on {message!r}")


def rss() -> int:
    """The process's resident memory, in bytes."""
    resident_pages = int((PROC / "statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    return len(list((PROC / "fd").iterdir()))


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
    crashed: weakref.ref[Any] = old._actor_weakref
    old.tell("crash")
    old.termination().get(TIMEOUT)
    new = supervisor.proxy().child("child").get(TIMEOUT)
    assert new is not None
    assert new != old
    return crashed


def settle() -> None:
    """Free what can be freed, so that what is measured is what is kept.

    Then hand the C allocator's free memory back to the system (glibc's
    ``malloc_trim()``, where there is one): each thread allocates from an
    arena of its own, whose free but fragmented pages would otherwise
    count as resident, by how the last few thousand frees happened to fall.
    """
    gc.collect()
    gc.collect()
    if LIBC is not None:
        LIBC.malloc_trim(0)


@pytest.mark.skipif(not PROC.is_dir(), reason="reads /proc for memory and fds")
@pytest.mark.needs("local_actor_object")  # (it checks the crashed actors are freed)
@pytest.mark.timeout(1800)
def test_restarts_leave_nothing_behind(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    # Each crash logs its traceback at ERROR: a log capture would keep them all.
    caplog.set_level(logging.CRITICAL, logger="limelight")
    supervisor = Supervisor.start(
        [ChildSpec("child", runtime.actor(Crashing))],
        max_restarts=RESTARTS + 1,
        within=1.0,
    )
    for number in range(WARM_UP):
        crash(supervisor, number)
    settle()
    bookkeeping = termination_callbacks(supervisor)
    rss_before, fds_before = rss(), open_fds()
    threads_before, objects_before = threading.active_count(), len(gc.get_objects())

    crashed: list[weakref.ref[Any]] = []
    for number in range(WARM_UP, RESTARTS):
        weak = crash(supervisor, number)
        if number % 100 == 0:  # (a sample: a weak ref to each would be a growth)
            crashed.append(weak)

    settle()
    growth = {
        "rss": rss() - rss_before,
        "fds": open_fds() - fds_before,
        "threads": threading.active_count() - threads_before,
        # (Less the test's own list of weak refs and the list itself.)
        "objects": len(gc.get_objects()) - objects_before - len(crashed) - 1,
    }
    print(f"\n{runtime.name}: {RESTARTS} restarts; after the warm-up: {growth}")  # noqa: T201 -- for the soak log
    assert termination_callbacks(supervisor) == bookkeeping == 1
    assert supervisor.proxy().restarts.get(TIMEOUT) == RESTARTS
    assert [ref for ref in crashed if ref() is not None] == []
    assert growth["rss"] < MAX_RSS_GROWTH
    assert growth["fds"] <= 0
    assert growth["threads"] <= 1  # (one may be on its way back to the cache)
    assert growth["objects"] < MAX_OBJECT_GROWTH
    supervisor.stop()
