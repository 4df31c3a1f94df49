"""Actors on a Ray cluster: ``RayActor`` and its placement (extra ``limelight[ray]``).

```python
from limelight.ray import RayActor

class Trainer(RayActor):
    ray_options = {"num_gpus": 1}

    def train(self, steps: int) -> float:
        ...
```

Importing this module does not import Ray, nor start or connect to it; the
first ``RayActor.start()`` does (or call [`init()`][limelight.ray.init]).
See the [Ray](../ray.md) guide.
"""

from limelight._runtimes.ray_cluster import (
    ActorUnavailableError,
    PlacementTimeout,
    RayActor,
    RayFuture,
    RayRef,
    Starter,
    configure,
    init,
    lookup,
    shutdown,
)

__all__ = [
    "ActorUnavailableError",
    "PlacementTimeout",
    "RayActor",
    "RayFuture",
    "RayRef",
    "Starter",
    "configure",
    "init",
    "lookup",
    "shutdown",
]
