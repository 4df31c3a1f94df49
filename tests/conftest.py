"""Fixtures shared by the whole suite."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import limelight
from limelight._core import _waiting
from tests.runtimes import (
    CAPABILITIES,
    RUNTIMES,
    Runtime,
    needed_by,
    runtime_params,
    skip_unless_capable,
)

CONFORMANCE = Path(__file__).parent / "conformance"
"""The conformance suite, which every runtime runs."""

STOP_ALL_TIMEOUT = 30.0
"""Seconds each actor left running gets to stop after a test; a hung one fails it."""


@pytest.fixture(params=runtime_params(RUNTIMES))
def runtime(request: pytest.FixtureRequest) -> Runtime:
    """Each runtime in turn; conformance tests use only this to reach one.

    A test marked ``@pytest.mark.needs(capability, ...)`` is skipped on a
    runtime that lacks one of them (the first it lacks gives the reason),
    and marked ``xfail(strict=False)`` on one that has one only
    intermittently.
    """
    param: Runtime = request.param
    node = request.node
    if param.conformance_only and CONFORMANCE not in node.path.parents:
        pytest.skip(f"{param.name}: runs the conformance suite only")
    if param.only_marked and node.get_closest_marker(param.only_marked) is None:
        pytest.skip(f"{param.name}: {param.others_skipped}")
    skip_unless_capable(node, param)
    unreliable = param.unreliable(needed_by(node))
    if unreliable is not None:
        reason = (
            f"{param.name} has {unreliable} intermittently: {CAPABILITIES[unreliable]}"
        )
        request.applymarker(pytest.mark.xfail(strict=False, reason=reason))
    if "ray" in param.marks:
        request.getfixturevalue("local_ray")
    return param


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """One local Ray for the whole session, started by the first test that needs it.

    It has a custom resource for tests to ask for. At the end,
    ``limelight.ray.shutdown()`` must stop the Ray actors left running, and
    only those.
    """
    import ray  # noqa: PLC0415 -- only for Ray's tests

    import limelight.ray  # noqa: PLC0415
    from tests.ray_actors import NAMESPACE, Pooled  # noqa: PLC0415

    limelight.ray.init(
        num_cpus=2, resources={"widget": 1}, namespace=NAMESPACE, log_to_driver=False
    )
    yield
    left_running = Pooled.start()
    local = _Local.start()  # (not a Ray actor: shutdown() leaves it be)
    limelight.ray.shutdown(timeout=STOP_ALL_TIMEOUT)
    assert not ray.is_initialized()
    assert not left_running.is_alive()
    assert local.is_alive()
    local.stop()
    limelight.ray.shutdown()  # (nothing left to do)


class _Local(limelight.ThreadingActor):
    """A local actor, which ``limelight.ray.shutdown()`` must leave running."""


@pytest.fixture(autouse=True)
def stop_all_actors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Stop every actor a test left running, then check that none is left.

    The tests that run on each runtime (those with the `runtime` fixture,
    such as the conformance suite) keep the worker processes of
    limelight.process running from one test to the next: starting workers
    for each test would make them much slower. Every other test starts with
    no worker, and must leave none.
    """
    processes = sys.modules.get("limelight._runtimes.processes")
    warm_pool = "runtime" in request.fixturenames
    if processes is not None and not warm_pool:
        processes.shutdown()
    yield
    limelight.ActorRegistry.stop_all(timeout=STOP_ALL_TIMEOUT)
    left = limelight.ActorRegistry.get_all()
    assert left == [], f"actors still registered after stop_all(): {left}"
    processes = sys.modules.get("limelight._runtimes.processes")
    if processes is None:
        return
    if warm_pool:
        # The workers may stay, but no actor may be left in them.
        in_workers = processes.workers_snapshot(STOP_ALL_TIMEOUT)
        if in_workers:  # (ended, so that the next tests do not inherit them)
            processes.shutdown()
        assert in_workers == [], f"actors left in worker processes: {in_workers}"
    else:
        running = processes.workers()
        assert running == [], (
            f"worker processes left running: {running}; "
            "call limelight.process.shutdown() at the end of the test"
        )


@pytest.fixture
def no_waiter_factories() -> Iterator[None]:
    """Hide the runtimes' waiter factories (gevent's), as if none were imported.

    For tests of how a plain thread waits when no runtime registered one.
    (Emptied in place: futures read the list object itself.)
    """
    saved = _waiting.waiter_factories[:]
    _waiting.waiter_factories.clear()
    yield
    _waiting.waiter_factories[:] = saved


@pytest.fixture
def limelight_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """`caplog`, recording every level of the ``limelight`` logger."""
    caplog.set_level(logging.DEBUG, logger="limelight")
    return caplog
