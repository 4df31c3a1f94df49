"""The process runtime: actors that live in worker processes.

The parent process talks to each worker process over one duplex pipe, and
both ends of it run a :class:`Channel`: the transport of the remote layer
(``limelight._remote``) for the refs through it, and the host of the actors
on its side that the other side reaches. The parent's ref to an actor in a
worker is a ``RemoteRef`` through the worker's channel, registered in the
parent's ``ActorRegistry``. Inside the worker the actor is a thread actor.

The package, by concept:

- `_wire`: frame kinds, and how a pipe carries frames;
- `_classes`, `_pickling`: what crosses, and how refs, proxies, futures and
  classes made at run time are pickled for a channel;
- `_future`: ``ProcessFuture``;
- `_protocol`: requests and replies, and exported futures;
- `_reading`: the background reader, and waiters that read for themselves;
- `_channel`: ``Channel``: the transport, the host, the frame handlers;
- `_worker`: a worker process's main;
- `_pool`: the parent's pool of workers, ``configure()``, ``shutdown()``;
- `_actor`: ``ProcessActor``.
"""

from limelight._remote._ref import RemoteRef
from limelight._runtimes.processes._actor import ProcessActor
from limelight._runtimes.processes._channel import Channel
from limelight._runtimes.processes._future import ProcessFuture
from limelight._runtimes.processes._pool import (
    Pool,
    configure,
    default_start_method,
    shutdown,
    workers,
    workers_snapshot,
)

__all__ = [
    "Channel",
    "Pool",
    "ProcessActor",
    "ProcessFuture",
    "RemoteRef",
    "configure",
    "default_start_method",
    "shutdown",
    "workers",
    "workers_snapshot",
]
