"""The Ray runtime: Limelight actors hosted by Ray actors, anywhere on a cluster.

A *host* is a Ray actor that runs Limelight actors as thread actors inside
its worker process: a blocking handler blocks its own thread, never the
host. The caller holds a ``RayRef``, a remote ref (``limelight._remote``)
whose transport turns each envelope into a call on the host.

The package, by concept:

- `_future`: ``RayFuture``, and how Ray's replies reach Limelight futures;
- `_refs`: ``RayRef`` and its transport (``HostLink``);
- `_serializers`: how refs, proxies and exceptions cross Ray;
- `_host`: the hosts, ``RayHost`` (pooled) and ``RayThreadHost`` (dedicated);
- `_cluster`: placement: dedicated hosts, the pool, connecting to Ray;
- `_actor`: ``RayActor``, and ``init()``, ``configure()``, ``lookup()``,
  ``shutdown()``.
"""

from limelight._runtimes.ray_cluster._actor import (
    RayActor,
    Starter,
    configure,
    init,
    lookup,
    shutdown,
)
from limelight._runtimes.ray_cluster._cluster import PlacementTimeout
from limelight._runtimes.ray_cluster._future import (
    ActorUnavailableError,
    Failure,
    RayFuture,
)
from limelight._runtimes.ray_cluster._host import RayHost, RayThreadHost
from limelight._runtimes.ray_cluster._refs import RayRef

__all__ = [
    "ActorUnavailableError",
    "Failure",
    "PlacementTimeout",
    "RayActor",
    "RayFuture",
    "RayHost",
    "RayRef",
    "RayThreadHost",
    "Starter",
    "configure",
    "init",
    "lookup",
    "shutdown",
]
