"""Stopping every actor from a coroutine: ``await ActorRegistry.stop_all_async()``.

The blocking ``stop_all()`` cannot stop an actor of the loop it blocks; in
a coroutine it refuses to, naming the awaitable way. The asyncio guide's
examples (docs/asyncio.md) run here too, as the guide shows them.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

import pytest

import limelight
from limelight import ActorRef, ActorRegistry, DeadlockError
from limelight.asyncio import AsyncioActor

T = TypeVar("T")

TIMEOUT = 10.0
GUIDE = Path(__file__).resolve().parent.parent / "docs" / "asyncio.md"
SRC = Path(limelight.__file__).resolve().parent.parent


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, failing the test after TIMEOUT instead of hanging."""
    return asyncio.run(asyncio.wait_for(main, TIMEOUT))


class LoopActor(AsyncioActor):
    def __init__(self, name: str, stopped: list[str]) -> None:
        super().__init__()
        self.name = name
        self.stopped = stopped

    async def on_stop(self) -> None:
        await asyncio.sleep(0)  # (a coroutine hook: the loop must run it)
        self.stopped.append(self.name)


class ThreadActor(limelight.ThreadingActor):
    def __init__(self, name: str, stopped: list[str]) -> None:
        super().__init__()
        self.name = name
        self.stopped = stopped

    def on_stop(self) -> None:
        self.stopped.append(self.name)


def a_test_double(stopped: object) -> Any:
    """A registered stand-in for a ref, whose ``stop()`` returns `stopped`."""
    double = mock.Mock(spec=ActorRef)
    double.actor_urn = "urn:test-double"
    double.stop.return_value = stopped
    return double


def test_stop_all_async_stops_every_actor_newest_first() -> None:
    stopped: list[str] = []

    async def main() -> list[bool]:
        LoopActor.start("loop 1", stopped)
        ThreadActor.start("thread", stopped)
        LoopActor.start("loop 2", stopped)
        return await ActorRegistry.stop_all_async()

    assert run(main()) == [True, True, True]
    assert stopped == ["loop 2", "thread", "loop 1"]
    assert ActorRegistry.get_all() == []


def test_stop_all_async_lets_the_loop_run_meanwhile() -> None:
    ticks: list[int] = []

    async def tick() -> None:
        while True:
            ticks.append(len(ticks))
            await asyncio.sleep(0)

    async def main() -> list[bool]:
        for index in range(20):
            LoopActor.start(str(index), [])
        ticker = asyncio.create_task(tick())
        try:
            return await ActorRegistry.stop_all_async()
        finally:
            ticker.cancel()

    assert run(main()) == [True] * 20
    assert len(ticks) > 1


def test_stop_all_async_with_nothing_running() -> None:
    assert run(ActorRegistry.stop_all_async()) == []


def test_stop_all_async_takes_what_a_test_double_s_stop_returns() -> None:
    double = a_test_double(stopped="stopped, says the double")
    ActorRegistry.register(double)
    try:
        results: list[Any] = run(ActorRegistry.stop_all_async())
        assert results == ["stopped, says the double"]
    finally:
        ActorRegistry.unregister(double)
    double.stop.assert_called_once_with(False)


def test_stop_all_in_a_coroutine_names_the_awaitable_way() -> None:
    stopped: list[str] = []

    async def main() -> None:
        ref = LoopActor.start("loop", stopped)
        ThreadActor.start("thread", stopped)
        with pytest.raises(DeadlockError) as raised:
            ActorRegistry.stop_all()
        message = str(raised.value)
        assert "would block the event loop that must stop LoopActor" in message
        assert "`await ActorRegistry.stop_all_async()`" in message
        assert raised.value.cycle == ()
        # The stop goes on once the loop runs again.
        await asyncio.wait_for(ref.termination(), TIMEOUT)

    run(main())
    assert stopped == ["thread", "loop"]
    assert ActorRegistry.get_all() == []


def test_stop_all_in_a_coroutine_still_stops_actors_of_other_threads() -> None:
    # Blocking the loop a moment, as on Pykka: nothing there must stop.
    async def main() -> list[bool]:
        ThreadActor.start("thread", [])
        return ActorRegistry.stop_all(timeout=TIMEOUT)

    assert run(main()) == [True]


def test_stop_all_off_a_loop_lets_another_deadlock_error_through() -> None:
    refused: limelight.Future[bool] = limelight.ThreadingFuture()
    refused.set_exception(DeadlockError("a cycle, say"))
    double = a_test_double(stopped=refused)
    ActorRegistry.register(double)
    try:
        with pytest.raises(DeadlockError, match=r"^a cycle, say$"):
            ActorRegistry.stop_all()
    finally:
        ActorRegistry.unregister(double)


# -- The guide's examples ------------------------------------------------------------


def guide_examples() -> list[Any]:
    blocks = re.findall(r"^```python\n(.*?)^```$", GUIDE.read_text(), re.M | re.S)
    return [
        pytest.param(code, id=f"block-{index}") for index, code in enumerate(blocks)
    ]


@pytest.mark.parametrize("code", guide_examples())
def test_the_asyncio_guide_s_examples_run(code: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    if "stop_all_async" in code:
        assert done.stdout.splitlines() == [
            "Worker stopped",
            "Cache stopped",
            "[True, True]",
            "[]",
        ]


def test_the_guide_shows_stop_all_async() -> None:
    assert any("stop_all_async" in param.values[0] for param in guide_examples())
