"""A supervised child crashing a thousand times under a steady load of asks."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import pytest

import limelight
from limelight._runtimes.threads import RUNTIME as THREADING_RUNTIME
from tests.conformance.actors import TIMEOUT
from tests.runtimes import Runtime

CRASHES = 1000
ASKERS = 2


class Worker(limelight.Actor):
    """Answers asks; a told ``"crash"`` makes it fail."""

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("injected fault")
        return message


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.needs("steady_thread_count")
def test_a_child_crashing_a_thousand_times_under_load(runtime: Runtime) -> None:
    THREADING_RUNTIME.end_idle_threads(TIMEOUT)
    threads_before = threading.active_count()
    fds_before = open_fds()
    supervisor = limelight.Supervisor.start(
        [limelight.ChildSpec("worker", runtime.actor(Worker))],
        max_restarts=CRASHES,
        within=3600,
    )
    proxy = supervisor.proxy()
    done = threading.Event()
    outcomes: list[dict[str, int]] = [{"replies": 0, "dead": 0} for _ in range(ASKERS)]
    errors: list[BaseException] = []

    def ask_steadily(counts: dict[str, int]) -> None:
        try:
            n = 0
            while not done.is_set():
                worker = proxy.child("worker").get(TIMEOUT)
                if worker is None:
                    continue  # between a crash and its restart
                n += 1
                try:
                    assert worker.ask(n, timeout=TIMEOUT) == n
                    counts["replies"] += 1
                except limelight.ActorDeadError:
                    counts["dead"] += 1
        except BaseException as exc:  # noqa: BLE001 -- reported by the test
            errors.append(exc)

    askers = [
        threading.Thread(target=ask_steadily, args=(counts,)) for counts in outcomes
    ]
    for asker in askers:
        asker.start()
    try:
        for _ in range(CRASHES):
            worker = proxy.child("worker").get(TIMEOUT)
            assert worker is not None
            worker.tell("crash")
            worker.termination().get(TIMEOUT)
    finally:
        done.set()
        for asker in askers:
            asker.join(TIMEOUT)
    assert errors == []
    assert all(counts["replies"] > 0 for counts in outcomes)
    # Every crash was followed by exactly one restart, within the limit.
    assert proxy.restarts.get(TIMEOUT) == CRASHES
    assert supervisor.is_alive()

    last = proxy.child("worker").get(TIMEOUT)
    assert last is not None
    supervisor.stop()
    assert not last.is_alive()
    assert limelight.ActorRegistry.get_all() == []
    assert THREADING_RUNTIME.end_idle_threads(TIMEOUT)
    assert threading.active_count() <= threads_before + 1  # + a background loop
    assert open_fds() <= fds_before + 3  # (the background loop's, if it started)
    loop_tasks = _background_loop_tasks()
    assert loop_tasks == 0


def _background_loop_tasks() -> int:
    """Tasks alive on the asyncio runtime's background loop, if it runs."""
    from limelight._runtimes.event_loop.runtime import RUNTIME  # noqa: PLC0415

    loop = RUNTIME.background._loop
    if loop is None:
        return 0

    async def count() -> int:
        return len(asyncio.all_tasks()) - 1  # not this one

    return asyncio.run_coroutine_threadsafe(count(), loop).result(TIMEOUT)
