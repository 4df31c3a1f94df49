"""The parent's pool of worker processes, started on demand, and its settings."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import threading
from typing import TYPE_CHECKING, Any, NoReturn

from limelight._core import _observe, _timeouts
from limelight._core._exceptions import ActorDeadError, Timeout
from limelight._core._fork import released_at_fork
from limelight._core._registry import ActorRegistry
from limelight._core._runtime import mark_service_thread
from limelight._remote._ref import RemoteRef
from limelight._runtimes.processes import _wire as wire
from limelight._runtimes.processes._channel import Channel
from limelight._runtimes.processes._future import ProcessFuture
from limelight._runtimes.processes._pickling import payload
from limelight._runtimes.processes._worker import worker_main

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from limelight._core._actor import Actor
    from limelight._core._future import Future
    from limelight._core._observe import ActorInfo

__all__ = [
    "Pool",
    "configure",
    "default_start_method",
    "get_pool",
    "shutdown",
    "workers",
    "workers_snapshot",
]


class _WorkerHandle:
    """A worker process, as the parent sees it."""

    def __init__(
        self, process: BaseProcess, channel: Channel, *, dedicated: bool
    ) -> None:
        self.process = process
        self.channel = channel
        self.dedicated = dedicated
        self.reader: threading.Thread | None = None


class Pool:
    """The worker processes of this program, started on demand.

    In pool mode (the default), at most `processes` workers are started and
    each new actor goes to the one that hosts the fewest actors. An actor
    class with ``dedicated_process = True`` gets a worker of its own, which
    exits when the actor ends.
    """

    def __init__(
        self, processes: int | None = None, start_method: str | None = None
    ) -> None:
        import multiprocessing  # noqa: PLC0415 -- only programs with process actors

        self.processes = processes or os.cpu_count() or 1
        if start_method is None:
            start_method = default_start_method()
        if start_method == "fork":
            msg = (
                "the 'fork' start method is not supported: it copies every thread's "
                "locks mid-use; use 'forkserver' or 'spawn'"
            )
            raise ValueError(msg)
        self.start_method = start_method
        # (Typed loosely: each start method's context has its own Process class.)
        self._context: Any = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload(["limelight.process"])
        self._workers: list[_WorkerHandle] = []
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def workers(self) -> list[BaseProcess]:
        """The worker processes running now."""
        with self._lock:
            return [w.process for w in self._workers]

    def channels(self) -> list[Channel]:
        """The channels to the worker processes running now."""
        with self._lock:
            return [w.channel for w in self._workers]

    def start_actor(
        self, actor_class: type[Actor], args: Any, kwargs: Any
    ) -> RemoteRef:
        """Start an actor in a worker; return the parent's ref to it."""
        dedicated = bool(getattr(actor_class, "dedicated_process", False))
        data = payload(
            (actor_class, args, kwargs),
            NO_CHANNEL,
            f"{actor_class.__name__} or its arguments",
        )
        worker = self._worker_for(dedicated=dedicated)
        channel = worker.channel
        ref = RemoteRef(channel, _new_urn(), actor_class, ProcessFuture)
        channel.host(ref)
        started: ProcessFuture[None] = ProcessFuture()
        channel.request(started, wire.START, ref.actor_urn, data)
        # Registered once the start is on the pipe, so that a message sent to
        # it from then on (a broadcast) follows the start, as the worker
        # handles frames in order.
        ActorRegistry.register(ref)
        try:
            started.get()
        except BaseException as exc:
            # (Ended, not only marked stopped: whoever found it registered
            # meanwhile may wait for its termination.)
            channel.forget(ref.actor_urn)
            ref._terminate("failure", exc)
            if dedicated:
                self._retire(worker)
            raise
        if dedicated:
            ref.actor_stopped.add_termination_callback(
                ("process", "dedicated"), lambda _t: self._retire(worker)
            )
        return ref

    def _worker_for(self, *, dedicated: bool) -> _WorkerHandle:
        with self._lock:
            self._workers = [w for w in self._workers if not w.channel.closed]
            shared = [w for w in self._workers if not w.dedicated]
            if not dedicated and len(shared) >= self.processes:
                return min(shared, key=lambda w: len(w.channel.hosted))
            worker = self._spawn(dedicated=dedicated)
            self._workers.append(worker)
            return worker

    def _spawn(self, *, dedicated: bool) -> _WorkerHandle:
        number = next(self._numbers)
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker_main,
            args=(child_end,),
            name=f"limelight-worker-{number}",
            daemon=True,
        )
        process.start()
        child_end.close()  # the worker holds it: EOF here when the worker dies
        channel = Channel(parent_end, f"worker process {process.pid}")
        channel.let_waiters_read()
        worker = _WorkerHandle(process, channel, dedicated=dedicated)
        reader = threading.Thread(
            target=self._read,
            args=(worker,),
            name=f"limelight-worker-{number}-reader",
            daemon=True,
        )
        mark_service_thread(reader)
        worker.reader = reader
        reader.start()
        return worker

    def _read(self, worker: _WorkerHandle) -> None:
        worker.channel.serve()  # (a worker never asks its parent to shut down)
        process = worker.process
        process.join(5.0)
        code = process.exitcode
        if code is not None and code < 0:
            how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        worker.channel.close(ActorDeadError(f"worker process {process.pid} {how}"))

    def _retire(self, worker: _WorkerHandle) -> None:
        """Ask a worker to exit once its actors have stopped."""
        with contextlib.suppress(ActorDeadError):
            worker.channel.send((wire.SHUTDOWN,))

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop every worker's actors and end the workers, waiting for them."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            self._retire(worker)
        for worker in workers:
            worker.process.join(timeout)
            if worker.process.is_alive():  # pragma: no cover -- a hung on_stop()
                worker.process.kill()
                worker.process.join()
            worker.channel.close(ActorDeadError("the worker processes were shut down"))
            if worker.reader is not None:  # pragma: no branch -- set when spawned
                worker.reader.join(timeout)


def default_start_method() -> str:
    """``"forkserver"`` where the platform has it, else ``"spawn"``."""
    import multiprocessing  # noqa: PLC0415 -- only programs with process actors

    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


class _NoChannel(Channel):
    """Pickling outside a channel: refs and futures cannot be exported."""

    def __init__(self) -> None:  # pyright: ignore[reportMissingSuperCall] -- no pipe
        pass

    def export_future(self, future: Future[Any]) -> NoReturn:
        msg = (
            "a future cannot be passed to a process actor's constructor: pass "
            "its value (future.get()), or send the future in a message once "
            "the actor has started"
        )
        raise TypeError(msg)


NO_CHANNEL = _NoChannel()


def _new_urn() -> str:
    from limelight._core._actor import new_actor_urn  # noqa: PLC0415

    return new_actor_urn()


_pool: Pool | None = None
_pool_settings: dict[str, Any] = {}
_pool_lock = released_at_fork(threading.Lock())


def workers_snapshot(timeout: float | None) -> list[ActorInfo]:
    """The actors of the pool's workers, from those that answer within `timeout`.

    (`timeout` as read by ``_timeouts.seconds()``: None waits as long as
    they take.)
    """
    pool = _pool
    if pool is None:  # (never made one: asking would start it)
        return []
    futures = [
        channel.request(ProcessFuture(), wire.SNAPSHOT) for channel in pool.channels()
    ]
    deadline = _timeouts.deadline(timeout)
    infos: list[ActorInfo] = []
    for future in futures:
        try:
            infos.extend(future.get(_timeouts.remaining(deadline)))
        except (Timeout, ActorDeadError):  # too slow, or gone: left out
            continue
    return infos


_observe.add_source(workers_snapshot)


def get_pool() -> Pool:
    """The pool, made with the settings of `configure` the first time."""
    global _pool  # noqa: PLW0603 -- one pool per program
    with _pool_lock:
        if _pool is None:
            _pool = Pool(**_pool_settings)
        return _pool


def configure(*, processes: int | None = None, start_method: str | None = None) -> None:
    """Set up the worker pool, before the first process actor starts.

    Args:
        processes: the most worker processes shared by pooled actors; the
            default is the number of CPUs.
        start_method: how workers are started: ``"forkserver"`` (the
            default where it exists) or ``"spawn"``. ``"fork"`` is refused:
            forking a process that runs threads is unsafe.

    Raises:
        RuntimeError: if worker processes are running; call
            [`shutdown()`][limelight.process.shutdown] first.
        ValueError: for the ``"fork"`` start method.
    """
    global _pool  # noqa: PLW0603 -- one pool per program
    with _pool_lock:
        if _pool is not None and _pool.workers():
            msg = (
                "worker processes are running: call limelight.process.shutdown() first"
            )
            raise RuntimeError(msg)
        settings: dict[str, Any] = {
            "processes": processes,
            "start_method": start_method,
        }
        _pool = Pool(**settings)
        _pool_settings.clear()
        _pool_settings.update(settings)


def shutdown(timeout: float | None = 10.0) -> None:
    """Stop every process actor and end the worker processes.

    Each worker stops its actors (``on_stop()`` runs) and exits; a worker
    still running after `timeout` seconds (None or infinity: no limit) is
    killed. Process actors started afterwards get new workers. Runs by
    itself at interpreter exit.

    Raises:
        TypeError, ValueError: if `timeout` is not a number of seconds.
    """
    timeout = _timeouts.optional_seconds(timeout)
    with _pool_lock:
        pool = _pool
    if pool is not None:
        pool.close(timeout)


def workers() -> list[BaseProcess]:
    """The worker processes running now (for tests and monitoring)."""
    with _pool_lock:
        pool = _pool
    return [] if pool is None else pool.workers()


atexit.register(shutdown)
