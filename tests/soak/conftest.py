"""The soaks' `runtime`: every runtime, Ray's pooled hosts included.

The suite's `runtime` fixture (tests/conftest.py) runs Ray only in the
conformance suite, where each test sends a few messages; a soak sends
thousands, which the pooled hosts take in a few seconds, so the soaks run
there too (with the smaller counts each soak sets for actors in another
process). Not Ray's dedicated hosts: each actor there starts a worker
process, which is what the churn soak would then measure.
"""

from __future__ import annotations

import pytest

from tests.runtimes import (
    RAY_DEDICATED,
    RUNTIMES,
    Runtime,
    runtime_params,
    skip_unless_capable,
)

SOAK_RUNTIMES = [runtime for runtime in RUNTIMES if runtime is not RAY_DEDICATED]


@pytest.fixture(params=runtime_params(SOAK_RUNTIMES))
def runtime(request: pytest.FixtureRequest) -> Runtime:
    """Each runtime in turn; skipped where it lacks what the soak ``needs``."""
    param: Runtime = request.param
    skip_unless_capable(request.node, param)
    if "ray" in param.marks:
        request.getfixturevalue("local_ray")
    return param
