"""The raw greenlet floor, whatever the library: a worker greenlet and two queues.

Each measurement does a workload's operation `n` times with nothing but a
greenlet library's own queue and spawn, the way an actor library on it would
underneath: a worker greenlet takes ``(message, reply_queue)`` envelopes from
its inbox and answers with ``reply_queue.put()``; the asker puts and then
waits for the reply with ``get()``. `RawGreen` holds them once; ``raw_gevent``
and ``raw_eventlet`` each give it their library's queue and spawn.

Like the actor workloads, each returns the seconds its timed part took
(``rss_per_greenlet`` returns KiB), leaves no greenlet behind, and must run
in a greenlet of a hub (see ``green_rows.in_hub``).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any, Protocol

from limelight._bench.harness import resident_bytes

__all__ = ["GreenQueue", "RawGreen"]

_STOP: Any = object()
"""The message that ends a worker."""


class GreenQueue(Protocol):
    """What the measurements use of a greenlet library's queue."""

    def put(self, item: Any, /) -> None: ...

    def get(self) -> Any: ...


def _echo(inbox: GreenQueue) -> None:
    """A worker answering each envelope with its message, as an echo actor does."""
    get = inbox.get
    while (envelope := get()) is not _STOP:
        message, reply_to = envelope
        if reply_to is not None:
            reply_to.put(message)


def _dispatch(inbox: GreenQueue, target: _Target) -> None:
    """A worker calling ``target.<name>(*args)`` for ``((name, args), reply_to)``."""
    get = inbox.get
    while (envelope := get()) is not _STOP:
        (name, args), reply_to = envelope
        reply_to.put(getattr(target, name)(*args))


class _Target:
    def call(self, value: object) -> object:
        return value


class RawGreen:
    """The raw measurements over one greenlet library's queue and spawn."""

    def __init__(
        self,
        queue: Callable[[], GreenQueue],
        spawn: Callable[..., Any],
        join: Callable[[Any], object],
    ) -> None:
        """Measure with `queue()` for queues, `spawn(work, *args)` for greenlets.

        `join(worker)` waits for a worker that was told to stop.
        """
        self._queue = queue
        self._spawn = spawn
        self._join = join

    def _finish(self, inbox: GreenQueue, worker: Any) -> None:
        inbox.put(_STOP)
        self._join(worker)

    def _round_trips(self, n: int, *, calls: bool) -> float:
        """`n` round trips to a worker, one at a time: method calls, or echoes."""
        inbox, replies = self._queue(), self._queue()
        if calls:
            worker = self._spawn(_dispatch, inbox, _Target())
        else:
            worker = self._spawn(_echo, inbox)
        try:
            put, get = inbox.put, replies.get
            start = time.perf_counter()
            # (One loop per kind, so that neither times a test of the kind.)
            if calls:
                for i in range(n):
                    put((("call", (i,)), replies))
                    get()
            else:
                for i in range(n):
                    put((i, replies))
                    get()
            return time.perf_counter() - start
        finally:
            self._finish(inbox, worker)

    def ask_round_trip(self, n: int) -> float:
        """Send `n` messages one at a time to a worker greenlet, waiting for each."""
        return self._round_trips(n, calls=False)

    def call_round_trip(self, n: int) -> float:
        """Have a worker greenlet call a method by name `n` times, waiting for each."""
        return self._round_trips(n, calls=True)

    def tell_throughput(self, n: int) -> float:
        """Send `n` messages to a worker greenlet without replies, then one with."""
        inbox, replies = self._queue(), self._queue()
        worker = self._spawn(_echo, inbox)
        try:
            put = inbox.put
            start = time.perf_counter()
            for i in range(n):
                put((i, None))
            put((None, replies))
            replies.get()
            return time.perf_counter() - start
        finally:
            self._finish(inbox, worker)

    def spawn_stop(self, n: int) -> float:
        """Spawn a greenlet waiting on a queue, stop it, wait for it; `n` times."""
        start = time.perf_counter()
        for _ in range(n):
            inbox = self._queue()
            self._finish(inbox, self._spawn(_echo, inbox))
        return time.perf_counter() - start

    def rss_per_greenlet(self, n: int) -> float:
        """The resident KiB each of `n` greenlets blocked on a queue adds.

        Each has answered one message first, as each actor in the actor row
        has. Meant for a fresh process (see ``threading_workloads.rss_per_actor``).
        """
        gc.collect()
        before = resident_bytes()
        replies = self._queue()
        workers: list[tuple[Any, GreenQueue]] = []
        try:
            for _ in range(n):
                inbox = self._queue()
                workers.append((self._spawn(_echo, inbox), inbox))
            for _worker, inbox in workers:
                inbox.put((None, replies))
            for _ in range(n):
                replies.get()
            added = resident_bytes() - before
        finally:
            for worker, inbox in workers:
                self._finish(inbox, worker)
        return added / n / 1024
