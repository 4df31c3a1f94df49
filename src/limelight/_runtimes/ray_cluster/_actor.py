"""``RayActor``, and the public functions of ``limelight.ray``."""

from __future__ import annotations

import contextlib
import enum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from limelight._core import _timeouts
from limelight._core._registry import ActorRegistry
from limelight._runtimes.ray_cluster._cluster import (
    Cluster,
    ensure_ray,
    kill_host,
    start,
)
from limelight._runtimes.ray_cluster._future import get, ray
from limelight._runtimes.ray_cluster._refs import (
    CONTROL,
    RAY_ACTOR_RUNTIME,
    RayRef,
    in_group,
    rebuild_ref,
)
from limelight._runtimes.ray_cluster._waits import kill_keeper
from limelight._runtimes.threads import ThreadingActor

if TYPE_CHECKING:
    from typing_extensions import Self

    from limelight._core._ref import ActorRef

__all__ = ["RayActor", "Starter", "configure", "init", "lookup", "shutdown"]


class Starter:
    """Starts actors of one class with Ray options; see `RayActor.options`."""

    def __init__(self, actor_class: type[RayActor], options: dict[str, Any]) -> None:
        self.actor_class = actor_class
        self.options = options

    def start(self, *args: Any, **kwargs: Any) -> ActorRef[Any]:
        """Start the actor in a Ray actor of its own, with these options."""
        return start(self.actor_class, args, kwargs, self.options)


class RayActor(ThreadingActor):
    """An actor that runs in a Ray actor, on a Ray cluster.

    Subclass it as you would [`ThreadingActor`][limelight.ThreadingActor]
    and call [`start()`][limelight.Actor.start]: ``__init__()`` runs in a
    Ray worker process, and you get an [`ActorRef`][limelight.ActorRef]
    through which ``tell()``, ``ask()``, ``proxy()`` and ``stop()`` work as
    for any actor. Messages, replies and the constructor's arguments are
    pickled, and the class must be importable by the Ray workers. See the
    [Ray](../ray.md) guide.

    Inside its Ray worker the actor is a thread actor. In a Ray actor of its
    own, an ask that finds it idle is handled in the thread of Ray's that
    received the call, saving two thread switches; set ``reuse_thread =
    False`` on an actor that keeps ``threading.local`` state, so that its
    handlers all run in its own thread.
    """

    _limelight_runtime = RAY_ACTOR_RUNTIME

    ray_options: ClassVar[dict[str, Any]] = {}
    """Options for the Ray actor that hosts each actor of this class.

    Any of ``num_cpus``, ``num_gpus``, ``memory``, ``resources``,
    ``accelerator_type``, ``name``, ``namespace``, ``lifetime``,
    ``scheduling_strategy``, ``runtime_env`` and ``label_selector``, as
    ``ray.remote()`` takes them. ``num_cpus`` defaults to 0 (the host's
    event loop is idle but for the messages). Not ``max_restarts``: a
    restarted Ray actor would have lost its Limelight actor; restarting is
    the job of a [`Supervisor`][limelight.Supervisor].
    """

    ray_pool: ClassVar[bool] = False
    """Host actors of this class in a pool of shared Ray actors.

    Starting one is then a call to a running Ray actor, not a Ray worker
    process start; `ray_options` do not apply (the pool's hosts are
    ordinary Ray actors). The default gives each actor a Ray actor of its own.
    """

    @classmethod
    def options(cls, **ray_options: Any) -> Starter:
        """Start actors of this class with these Ray options (and a host each).

        ```python
        ref = Trainer.options(num_gpus=1, name="trainer").start(config)
        ```

        The options are added to [`ray_options`][limelight.ray.RayActor.ray_options].

        Raises:
            TypeError: for an option that Ray actors do not take (when started).
        """
        return Starter(cls, ray_options)

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:  # pyright: ignore[reportIncompatibleMethodOverride] -- the same signature as Actor.start(); pyright binds Self apart
        """Start the actor in a Ray actor and return a ref to it.

        Connects to Ray first if this process has not (see
        [`init()`][limelight.ray.init]).

        Raises:
            TypeError: if the class or an argument cannot be pickled, or an
                option is unknown.
            ActorDeadError: if the Ray actor died while starting it.
            PlacementTimeout: if Ray did not place the actor's own Ray actor
                in time (see [`configure()`][limelight.ray.configure]).
            ActorUnavailableError: if Ray lost its connection to the Ray
                actor while starting it.
            Exception: whatever ``__init__()`` raised, in the Ray worker.
        """
        return start(cls, args, kwargs, {})


def init(address: str | None = None, **ray_init_kwargs: Any) -> None:
    """Connect to a Ray cluster, or start a local one (``address=None``).

    Optional: the first ``RayActor.start()`` calls it with no arguments.
    The keyword arguments go to ``ray.init()``; the dashboard is off unless
    you pass ``include_dashboard=True``. Does nothing if Ray is initialised.
    """
    with Cluster.lock:
        Cluster.init_kwargs = {"address": address, **ray_init_kwargs}
    if not ray().is_initialized():
        ensure_ray()


class _Keep(enum.Enum):
    """A setting left out of ``configure()``: it keeps its value."""

    KEEP = "keep"


def configure(
    *,
    pool_size: int | None = None,
    placement_timeout: float | Literal[_Keep.KEEP] | None = _Keep.KEEP,
) -> None:
    """Change this process's Ray settings; those left out keep their values.

    Args:
        pool_size: how many Ray actors the pool of pooled actors
            (``ray_pool``) has; 2 unless set.
        placement_timeout: seconds that Ray may take to place and start the
            Ray actor of an actor with a host of its own (the default), 60
            unless set; `None` (or infinity) waits for ever. A ``start()``
            that Ray has not placed by then raises
            [`PlacementTimeout`][limelight.ray.PlacementTimeout]. The
            actor's ``__init__()`` is not timed.

    Raises:
        RuntimeError: if the pool has hosts and `pool_size` is given; call
            [`shutdown()`][limelight.ray.shutdown] first.
        ValueError: if `pool_size` is not a positive int, or
            `placement_timeout` is not a positive number of seconds.
        TypeError: if `placement_timeout` is not a number.
    """
    size = cast("object", pool_size)
    if size is not None and (not isinstance(size, int) or size < 1):
        msg = f"pool_size must be a positive int, not {pool_size!r}"
        raise ValueError(msg)
    if placement_timeout is not _Keep.KEEP and placement_timeout is not None:
        seconds = _timeouts.seconds(placement_timeout, "placement_timeout")
        if seconds is not None and not seconds > 0:
            msg = f"placement_timeout must be positive, not {placement_timeout!r}"
            raise ValueError(msg)
        placement_timeout = seconds
    with Cluster.lock:
        if pool_size is not None:
            if Cluster.pool is not None and Cluster.pool.hosts:
                msg = (
                    "pooled Ray actors are running: call limelight.ray.shutdown() first"
                )
                raise RuntimeError(msg)
            Cluster.pool = None
            Cluster.pool_size = pool_size
        if placement_timeout is not _Keep.KEEP:
            Cluster.placement_timeout = placement_timeout


def lookup(name: str, namespace: str | None = None) -> ActorRef[Any]:
    """The ref to the actor started with the Ray name `name`, from anywhere.

    Raises:
        LookupError: if no Ray actor has that name (in that namespace).
        ActorDeadError: if its Limelight actor has ended.
    """
    ensure_ray()
    try:
        host = ray().get_actor(name, namespace=namespace)
    except ValueError as exc:
        msg = f"no Ray actor is named {name!r}: {exc}"
        raise LookupError(msg) from exc
    urn, actor_class = get(in_group(host.describe, CONTROL).remote())
    return rebuild_ref(host, urn, actor_class, None, False)  # (named: dedicated)


def shutdown(timeout: float | None = 10.0) -> None:
    """Stop this process's Ray actors, end their hosts, and disconnect.

    Each actor is given `timeout` seconds to stop (None or infinity: no
    limit). The pool's hosts, and the dedicated hosts that have not yet
    retired (see [Ray](../ray.md)), are killed.

    Calls ``ray.shutdown()`` only if ``limelight.ray`` connected to Ray (not
    if your program called ``ray.init()`` itself). Actors started afterwards
    connect again.

    Raises:
        TypeError, ValueError: if `timeout` is not a number of seconds.
    """
    # (Read first: the stops below swallow their errors.)
    timeout = _timeouts.optional_seconds(timeout)
    for ref in ActorRegistry.get_all():
        if isinstance(ref, RayRef):
            with contextlib.suppress(Exception):  # a dead or hung one: killed below
                ref.stop(timeout=timeout)
    with Cluster.lock:
        pool, Cluster.pool = Cluster.pool, None
        retiring, Cluster.retiring = list(Cluster.retiring), set()
    # (Dedicated hosts would exit by themselves, but not before the grace
    # period for late questions: nothing will ask any more.)
    for host in [*(pool.close() if pool is not None else []), *retiring]:
        kill_host(host)
    kill_keeper()
    if Cluster.started_ray:
        Cluster.started_ray = False
        ray().shutdown()
