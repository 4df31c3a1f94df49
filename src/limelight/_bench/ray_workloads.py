"""The Ray runtime's workloads: a ``RayActor`` against a raw Ray actor.

The raw column of the proxy call is what Ray does without Limelight: a
method call on a plain Ray actor, ``ray.get(handle.echo.remote(i))``. The
spawn row measures what the pool of host Ray actors is for: starting and
stopping a Limelight actor without starting a Ray worker process.

Ray is started once, by the first Ray row (a local cluster, unless the
program connected to one already), and left running for the others. The
rows run only when asked for (``--ray``, or a filter naming ``ray``): never
by default, nor in the full run. No rows without Ray installed.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import threading
import time
from typing import Any

import limelight
from limelight._bench import threading_workloads as tw
from limelight._bench.harness import RAW, SUBJECT, Kind, Target, Workload
from limelight._runtimes.ray_cluster import RayActor
from limelight._runtimes.threads import IDLE_THREAD_NAME

__all__ = [
    "NOTE",
    "RUNTIME_NAME",
    "Echo",
    "PooledEcho",
    "Spinner",
    "installed",
    "pool_map",
    "proxy_call",
    "raw_call",
    "raw_pool_map",
    "spawn_stop",
    "workloads",
]

RUNTIME_NAME = "ray"

NOTE = (
    "A local Ray cluster (num_cpus=2) is started once for the Ray rows; "
    "both columns of the proxy row call an actor in another process."
)

STARTS_PROCESSES = True
"""Its rows leave a Ray cluster running: they run after the in-process rows."""


class Echo(RayActor):
    """Replies with what it is given; in a Ray actor of its own."""

    def echo(self, value: Any) -> Any:
        return value


class PooledEcho(Echo):
    """An echo hosted by the pool."""

    ray_pool = True


class Spinner(RayActor):
    """Burns CPU in a Ray actor of its own."""

    def spin(self, n: int) -> int:
        return _spin(n)


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total ^= i
    return total


class _RawSpinner:
    """A plain Ray actor burning CPU (wrapped with ``ray.remote`` when used)."""

    def spin(self, n: int) -> int:
        return _spin(n)


class _RawEcho:
    """A plain Ray actor (wrapped with ``ray.remote`` when first used)."""

    def echo(self, value: Any) -> Any:
        return value


def _ray() -> Any:
    """Ray, connected (a local cluster started on first use)."""
    from limelight.ray import init  # noqa: PLC0415 -- only when Ray's rows run

    init(num_cpus=2)
    import ray  # noqa: PLC0415 -- only when Ray's rows run

    return ray


@functools.cache
def _raw_class() -> Any:
    """The raw Ray actor class, made once."""
    return _ray().remote(_RawEcho)


def proxy_call(n: int) -> float:
    """Call a Ray actor's method through a proxy `n` times, one at a time."""
    _ray()
    ref = Echo.start()
    try:
        echo = ref.proxy().echo
        echo(0).get()
        start = time.perf_counter()
        for i in range(n):
            echo(i).get()
        return time.perf_counter() - start
    finally:
        ref.stop()


def raw_call(n: int) -> float:
    """Call a plain Ray actor's method `n` times, one at a time, with ``ray.get``."""
    ray = _ray()
    handle = _raw_class().remote()
    try:
        get = ray.get
        echo = handle.echo
        get(echo.remote(0))
        start = time.perf_counter()
        for i in range(n):
            get(echo.remote(i))
        return time.perf_counter() - start
    finally:
        ray.kill(handle)


def pool_map(n: int) -> float:
    """``map()`` four pieces of `n` steps on a pool of two Ray actors."""
    _ray()
    pool = limelight.Pool.start(Spinner, 2)
    try:
        start = time.perf_counter()
        pool.map("spin", [n] * 4)
        return time.perf_counter() - start
    finally:
        pool.stop()


def raw_pool_map(n: int) -> float:
    """The same work with Ray's own ``ActorPool.map()`` on two plain Ray actors."""
    ray = _ray()
    actor_pool: Any = importlib.import_module("ray.util").ActorPool

    def spin(actor: Any, value: int) -> Any:
        return actor.spin.remote(value)

    handles = [ray.remote(_RawSpinner).remote() for _ in range(2)]
    try:
        pool = actor_pool(handles)
        ray.get([handle.spin.remote(0) for handle in handles])  # (started)
        start = time.perf_counter()
        list(pool.map(spin, [n] * 4))
        return time.perf_counter() - start
    finally:
        for handle in handles:
            ray.kill(handle)


def spawn_stop(n: int) -> float:
    """Start a pooled Ray actor and stop it, `n` times."""
    _ray()
    PooledEcho.start().stop()  # the pool's hosts are up before the timing
    start = time.perf_counter()
    for _ in range(n):
        PooledEcho.start().stop()
    return time.perf_counter() - start


def _may_linger(thread: threading.Thread) -> bool:
    """Ray's threads live as long as its connection; so does Limelight's replies one."""
    name = thread.name
    return not name.startswith("limelight") or name in {
        "limelight-ray-replies",
        IDLE_THREAD_NAME,
    }


def installed() -> bool:
    """Whether Ray is installed (``pip install 'limelight[ray]'``)."""
    return importlib.util.find_spec("ray") is not None


def workloads() -> list[Workload]:
    """The Ray runtime's workloads, in the order they run; none without Ray."""
    if not installed():
        return []
    workload = functools.partial(
        Workload,
        runtime=RUNTIME_NAME,
        check=tw.leftover_actors,
        may_linger=_may_linger,
        notes=[NOTE],
        opt_in=RUNTIME_NAME,
    )
    return [
        workload(
            name="proxy",
            label="Ray actor: proxy method call round trip",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations={SUBJECT: proxy_call, RAW: raw_call},
            size=1_000,
            quick_size=200,
            samples=9,
            quick_samples=3,
            warmup=0,
            raw_meaning="ray.get(handle.echo.remote(i)) on a plain Ray actor",
            targets=[Target("≤1.2× raw", RAW, 1 / 1.2)],
        ),
        workload(
            name="spawn",
            label="pooled Ray actor spawn + stop",
            kind=Kind.THROUGHPUT,
            unit="actors/s",
            implementations={SUBJECT: spawn_stop},
            size=500,
            quick_size=100,
            samples=5,
            quick_samples=3,
            warmup=0,
            targets=[Target.fixed("≥100/s", 100)],
        ),
        workload(
            name="pool_map",
            label="CPU-bound work ×4: map() on a pool of 2 Ray actors",
            kind=Kind.DURATION,
            unit="s",
            implementations={SUBJECT: pool_map, RAW: raw_pool_map},
            size=2_000_000,
            quick_size=500_000,
            samples=5,
            quick_samples=3,
            warmup=0,
            raw_meaning="ray.util.ActorPool.map() on 2 plain Ray actors",
        ),
    ]
