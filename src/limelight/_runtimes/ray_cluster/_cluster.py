"""Placement: which host an actor gets, the pool of shared hosts, and Ray itself.

By default each Limelight actor gets a host of its own (a ``RayThreadHost``),
so that Ray's options (CPUs, GPUs, custom resources, a name) apply to it; a
class with ``ray_pool = True`` shares a small pool of hosts instead
(``RayHost``), so that starting one is a call to a running process rather
than a process start. Once a dedicated host's actor has ended, its owner
tells it to retire: it answers what is still owed, and late questions for a
grace period, then exits.

A dedicated host that Ray cannot place (no node has, or frees, what its
options ask for) fails its start after ``Cluster.placement_timeout``
seconds, and is withdrawn, rather than leaving its starter waiting for good.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, ClassVar

from limelight._core._actor import new_actor_urn
from limelight._core._exceptions import ActorDeadError, Timeout
from limelight._core._fork import released_at_fork
from limelight._core._registry import ActorRegistry
from limelight._runtimes.ray_cluster._future import Completions, get, ray, when_done
from limelight._runtimes.ray_cluster._host import RayHost, RayThreadHost
from limelight._runtimes.ray_cluster._refs import (
    CONTROL,
    RETIRE,
    WAIT,
    RayRef,
    call,
    in_group,
    know,
)
from limelight._runtimes.ray_cluster._serializers import register_serializers
from limelight._runtimes.ray_cluster._waits import start_keeper

if TYPE_CHECKING:
    from limelight._runtimes.ray_cluster._actor import RayActor

__all__ = [
    "RAY_OPTION_NAMES",
    "Cluster",
    "PlacementTimeout",
    "ensure_ray",
    "host_class",
    "start",
]

RAY_OPTION_NAMES = frozenset(
    {
        "num_cpus",
        "num_gpus",
        "memory",
        "resources",
        "accelerator_type",
        "name",
        "namespace",
        "lifetime",
        "scheduling_strategy",
        "runtime_env",
        "label_selector",
    }
)
"""The ``ray.remote()`` options a Limelight actor may set for its host."""

DEFAULT_POOL_SIZE = 2

DEFAULT_PLACEMENT_TIMEOUT = 60.0
"""Seconds a dedicated host may take to be placed and started, by default.

Long enough for a Ray worker process to start on a loaded machine (seconds),
short enough that a supervisor restarting a child that no node can take
goes on before long.
"""

_host_classes: dict[bool, Any] = {}


def host_class(*, pooled: bool = True) -> Any:
    """A host class as a Ray actor class: async for the pool, threaded if not."""
    made = _host_classes.get(pooled)
    if made is None:
        if pooled:
            # Async: it waits for many actors' replies, and ends, at once.
            made = ray().remote(
                max_concurrency=10_000,
                concurrency_groups={CONTROL: 100, WAIT: 10_000},
            )(RayHost)
        else:
            # Threaded: one call at a time in order; each end notice holds a
            # thread (later ones queue, and are answered once the actor ends).
            made = ray().remote(
                max_concurrency=1,
                concurrency_groups={CONTROL: 2, WAIT: 16, RETIRE: 1},
            )(RayThreadHost)
        _host_classes[pooled] = made
    return made


class Pool:
    """The hosts shared by this process's pooled actors, started on demand."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hosts: dict[Any, int] = {}  # host → how many live actors it has
        self.lock = threading.Lock()

    def take(self) -> Any:
        """The host for one more actor: a new one, or the least busy."""
        with self.lock:
            if len(self.hosts) < self.size:
                host = host_class().options(num_cpus=0).remote()
                self.hosts[host] = 0
            else:
                host = min(self.hosts, key=self.hosts.__getitem__)
            self.hosts[host] += 1
            return host

    def give_back(self, host: Any, *, dead: bool) -> None:
        """One actor of `host` has ended (`dead`: with the host)."""
        with self.lock:
            if host in self.hosts:  # (not if the pool was closed meanwhile)
                if dead:
                    del self.hosts[host]
                else:
                    self.hosts[host] -= 1

    def close(self) -> list[Any]:
        """Forget every host; return them (to be killed)."""
        with self.lock:
            hosts, self.hosts = list(self.hosts), {}
        return hosts


class Cluster:
    """This process's link to Ray: settings and the pool."""

    lock = released_at_fork(threading.Lock())
    pool: ClassVar[Pool | None] = None
    pool_size: ClassVar[int] = DEFAULT_POOL_SIZE
    init_kwargs: ClassVar[dict[str, Any]] = {}
    started_ray: ClassVar[bool] = False
    """Whether this module started (or connected) Ray, so shutdown() ends it."""
    retire_after: ClassVar[float] = 2.0
    """Seconds a dedicated host still answers once its actor has ended.

    For the questions that come late: another host's watcher or linked
    actor asking why it ended, a second stop. (A reply still on its way
    needs no grace: the host exits only once its running calls have
    returned.)
    """
    retiring: ClassVar[set[Any]] = set()
    """Dedicated hosts told to retire, until they have: shutdown() kills them."""
    placement_timeout: ClassVar[float | None] = DEFAULT_PLACEMENT_TIMEOUT
    """Seconds a dedicated host may take to run, once asked for (None: no limit)."""


class PlacementTimeout(Timeout):
    """Ray did not place a ``RayActor``'s Ray actor in time, so it did not start.

    Raised by ``start()`` when no node of the cluster took the Ray actor
    that would host the actor within
    [`configure(placement_timeout=...)`][limelight.ray.configure] seconds:
    no node has what its options ask for (a custom resource, GPUs), or none
    has it free. That Ray actor has been withdrawn (killed), so nothing is
    left waiting for a node. Its message names the options.

    A [`Supervisor`][limelight.Supervisor] counts it as any failed restart.
    """


def ensure_ray() -> None:
    """Connect to Ray (or start a local cluster) unless that is done already."""
    module = ray()
    if not module.is_initialized():
        with Cluster.lock:
            if not module.is_initialized():  # pragma: no branch -- a race
                module.init(**{"include_dashboard": False, **Cluster.init_kwargs})
                Cluster.started_ray = True
    register_serializers()
    Completions.start()
    start_keeper()  # (of the waits its hosts report: see _waits.py)


def _pool() -> Pool:
    with Cluster.lock:
        if Cluster.pool is None:
            Cluster.pool = Pool(Cluster.pool_size)
        return Cluster.pool


def start(
    actor_class: type[RayActor],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: dict[str, Any],
) -> RayRef:
    """Start an actor in a host (its own, or a pooled one); return a ref to it."""
    ensure_ray()
    pooled = actor_class.ray_pool and not options
    pool = _pool() if pooled else None
    settings: dict[str, Any] = {}
    if pool is not None:
        host = pool.take()
    else:
        settings = {"num_cpus": 0, **actor_class.ray_options, **options}
        _check_options(actor_class, settings)
        host = host_class(pooled=False).options(**settings).remote()
    ref = RayRef(host, new_actor_urn(), actor_class, pooled=pool is not None)
    try:
        started = call(
            host.start,
            actor_class,
            args,
            kwargs,
            ref.actor_urn,
            what=f"{actor_class.__name__} or its arguments",
        )
        if pool is None:
            _wait_placed(host, actor_class, settings)
        failure = get(started)
        if failure is not None:
            raise failure
    except BaseException as exc:
        if pool is not None:
            pool.give_back(host, dead=isinstance(exc, ActorDeadError))
        else:
            kill_host(host)
        raise
    ActorRegistry.register(ref)
    know(ref)
    if pool is not None:
        ref._link.on_end = lambda: pool.give_back(host, dead=_ended_by_death(ref))
    else:
        ref._link.on_end = lambda: _retire(host)
    ref._subscribe()
    return ref


def _wait_placed(host: Any, actor_class: type[Any], settings: dict[str, Any]) -> None:
    """Return once the dedicated `host` runs; raise `PlacementTimeout` if it does not.

    Only its placement and its process's start are timed, not the actor's
    ``__init__()``, which may take long (loading a model, say): the host
    answers a call of its control group, which runs beside the start, as
    soon as it runs. (Pooled hosts ask for nothing: every node takes them.)
    """
    timeout = Cluster.placement_timeout
    running = in_group(host.count, CONTROL).remote()
    ready, _ = ray().wait([running], timeout=timeout)
    if not ready:
        msg = (
            f"{actor_class.__name__} did not start: Ray placed no Ray actor "
            f"with {settings} within {timeout} seconds. No node of the cluster "
            "has what these options ask for, or none has it free (see `ray "
            "status`): change the options, add such a node, or allow more "
            "time with limelight.ray.configure(placement_timeout=...)"
        )
        raise PlacementTimeout(msg)


def _retire(host: Any) -> None:
    """Have a dedicated host exit once nothing more is owed (see its ``retire()``).

    Not ``ray.kill()`` at once: that would cut off the replies still on
    their way and the answers to late questions about the end.
    """
    with Cluster.lock:
        Cluster.retiring.add(host)
    exited = in_group(host.retire, RETIRE).remote(Cluster.retire_after)
    when_done(exited, lambda _outcome: _retired(host))


def _retired(host: Any) -> None:
    with Cluster.lock:
        Cluster.retiring.discard(host)


def _ended_by_death(ref: RayRef) -> bool:
    terminated = ref.actor_stopped.terminated
    return terminated is not None and isinstance(terminated.exception, ActorDeadError)


def _check_options(actor_class: type[Any], options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - RAY_OPTION_NAMES)
    if unknown:
        msg = (
            f"{actor_class.__name__}: unknown Ray option(s) {', '.join(unknown)}; "
            f"use some of {', '.join(sorted(RAY_OPTION_NAMES))}"
        )
        raise TypeError(msg)


def kill_host(host: Any) -> None:
    """Kill a host at once (one that is gone already, too)."""
    with contextlib.suppress(Exception):  # gone already
        ray().kill(host, no_restart=True)
