"""``ProcessActor``: the actor class whose actors start in a worker process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from limelight._runtimes.inline import InlineRuntime
from limelight._runtimes.processes._pool import get_pool
from limelight._runtimes.processes._worker import Worker
from limelight._runtimes.threads import RUNTIME as THREADS
from limelight._runtimes.threads import ThreadingActor

if TYPE_CHECKING:
    from typing_extensions import Self

    from limelight._core._ref import ActorRef

__all__ = ["PROCESS_ACTOR_RUNTIME", "ProcessActor"]

PROCESS_ACTOR_RUNTIME = InlineRuntime(THREADS)
"""The runtime of ``ProcessActor``: in a worker, inline-capable thread actors."""


class ProcessActor(ThreadingActor):
    """An actor that runs in a worker process: Python code in it runs in parallel.

    Subclass it as you would [`ThreadingActor`][limelight.ThreadingActor]
    and call [`start()`][limelight.Actor.start]: ``__init__()`` runs in a
    worker process, and you get an [`ActorRef`][limelight.ActorRef] through
    which ``tell()``, ``ask()``, ``proxy()`` and ``stop()`` work as for any
    actor. Messages, replies and the constructor's arguments are pickled, so
    they must be picklable, and the class must be importable by its module
    name (defined at the top level of a module). See the
    [Processes](../processes.md) guide.

    Inside the worker the actor is a thread actor: it may start other
    actors there, which live in the same worker process.
    """

    # In its worker, a thread actor whose idle asks the channel's reader
    # handles itself (``_runtimes/inline.py``).
    _limelight_runtime = PROCESS_ACTOR_RUNTIME

    dedicated_process: ClassVar[bool] = False
    """Start each actor of this class in a worker process of its own.

    The worker starts with the actor (a process start: milliseconds) and
    exits when it ends. The default shares the pool's workers.
    """

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:  # pyright: ignore[reportIncompatibleMethodOverride] -- the same signature as Actor.start(); pyright binds Self apart
        """Start the actor in a worker process and return a ref to it.

        Raises:
            TypeError: if the class or an argument cannot be pickled.
            ActorDeadError: if the worker process died while starting it.
            Exception: whatever ``__init__()`` raised, in the worker.
        """
        if Worker.channel is not None:  # in a worker already: start here
            return super().start(*args, **kwargs)
        return get_pool().start_actor(cls, args, kwargs)
