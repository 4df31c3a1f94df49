"""Actors in worker processes: ``ProcessActor`` and the worker pool.

```python
from limelight.process import ProcessActor

class Hasher(ProcessActor):
    def digest(self, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()
```

Importing this module does not start any process; the first
``ProcessActor.start()`` starts the pool's first worker. See the
[Processes](../processes.md) guide.
"""

from limelight._runtimes.processes import (
    ProcessActor,
    ProcessFuture,
    RemoteRef,
    configure,
    shutdown,
    workers,
)

__all__ = [
    "ProcessActor",
    "ProcessFuture",
    "RemoteRef",
    "configure",
    "shutdown",
    "workers",
]
