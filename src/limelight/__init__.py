"""Limelight: the actor model for Python, compatible with Pykka.

Everything public is importable from here; submodules ``messages``, ``debug``
and ``typing`` hold the rest of the API.
"""

from limelight._core._actor import Actor
from limelight._core._dead_letters import DeadLetter, DeadLetters
from limelight._core._exceptions import (
    ActorDeadError,
    DeadlockError,
    LinkedActorFailed,
    MailboxFull,
    Timeout,
)
from limelight._core._future import Future, get_all
from limelight._core._proxy import ActorProxy, CallableProxy, traversable
from limelight._core._ref import ActorRef
from limelight._core._registry import ActorRegistry
from limelight._core._timers import Timer
from limelight._pool import Pool, PoolRef, Routing
from limelight._runtimes.event_loop import awaiting as _asyncio_awaiting
from limelight._runtimes.threads import ThreadingActor, ThreadingFuture
from limelight._supervision import ChildSpec, Supervisor, TooManyRestartsError

_asyncio_awaiting.register()  # any future can be awaited on an asyncio loop

__all__ = [
    "Actor",
    "ActorDeadError",
    "ActorProxy",
    "ActorRef",
    "ActorRegistry",
    "CallableProxy",
    "ChildSpec",
    "DeadLetter",
    "DeadLetters",
    "DeadlockError",
    "Future",
    "LinkedActorFailed",
    "MailboxFull",
    "Pool",
    "PoolRef",
    "Routing",
    "Supervisor",
    "ThreadingActor",
    "ThreadingFuture",
    "Timeout",
    "Timer",
    "TooManyRestartsError",
    "__version__",
    "get_all",
    "traversable",
]

__version__ = "0.1.0"

# No handler on the ``limelight`` logger, not even a NullHandler: until the
# program configures logging, Python's last-resort handler prints records of
# WARNING and above (a crash's traceback, a supervisor's restart) to stderr,
# where a user sees them. docs/logging.md says so.
