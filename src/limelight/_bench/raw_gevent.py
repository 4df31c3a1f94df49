"""The raw gevent primitives: what the gevent workloads boil down to without actors.

Each function does a workload's operation `n` times with nothing but
greenlets and ``gevent.queue.Queue``, the way an actor library on gevent
would underneath: a worker greenlet takes ``(message, reply_queue)``
envelopes from its inbox and answers with ``reply_queue.put()``; the asker
puts and then waits for the reply with ``get()``. Two greenlets, two queues: the floor a
gevent actor is measured from.

Like the actor workloads, each returns the seconds its timed part took
(``rss_per_greenlet`` returns KiB), leaves no greenlet behind, and must run
in a greenlet of a hub (see ``gevent_workloads.in_hub``).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from limelight._bench.harness import resident_bytes

if TYPE_CHECKING:
    from gevent.queue import Queue

__all__ = [
    "ask_round_trip",
    "call_round_trip",
    "rss_per_greenlet",
    "spawn_stop",
    "tell_throughput",
]

_STOP: Any = object()
"""The message that ends a worker."""


def _reply(inbox: Queue[Any]) -> None:
    """A worker answering each envelope with its message, as an echo actor does."""
    get = inbox.get
    while (envelope := get()) is not _STOP:
        message, reply_to = envelope
        if reply_to is not None:
            reply_to.put(message)


def _call(inbox: Queue[Any], target: _Target) -> None:
    """A worker calling ``target.<name>(*args)`` for ``((name, args), reply_to)``."""
    get = inbox.get
    while (envelope := get()) is not _STOP:
        (name, args), reply_to = envelope
        reply_to.put(getattr(target, name)(*args))


class _Worker(Protocol):
    """A worker greenlet, as the measurements use it."""

    def join(self) -> object: ...


def _spawn(work: Callable[..., None], *args: object) -> _Worker:
    import gevent  # noqa: PLC0415 -- only when gevent's rows run

    return cast("_Worker", gevent.spawn(work, *args))


class _Target:
    def call(self, value: object) -> object:
        return value


def ask_round_trip(n: int) -> float:
    """Send `n` messages one at a time to a worker greenlet, waiting for each reply."""
    from gevent.queue import Queue  # noqa: PLC0415

    inbox: Queue[Any] = Queue()
    replies: Queue[Any] = Queue()
    worker = _spawn(_reply, inbox)
    try:
        put, get = inbox.put, replies.get
        start = time.perf_counter()
        for i in range(n):
            put((i, replies))
            get()
        return time.perf_counter() - start
    finally:
        inbox.put(_STOP)
        worker.join()


def call_round_trip(n: int) -> float:
    """Have a worker greenlet call a method by name `n` times, waiting for each."""
    from gevent.queue import Queue  # noqa: PLC0415

    inbox: Queue[Any] = Queue()
    replies: Queue[Any] = Queue()
    worker = _spawn(_call, inbox, _Target())
    try:
        put, get = inbox.put, replies.get
        start = time.perf_counter()
        for i in range(n):
            put((("call", (i,)), replies))
            get()
        return time.perf_counter() - start
    finally:
        inbox.put(_STOP)
        worker.join()


def tell_throughput(n: int) -> float:
    """Send `n` messages to a worker greenlet without replies, then one with."""
    from gevent.queue import Queue  # noqa: PLC0415

    inbox: Queue[Any] = Queue()
    replies: Queue[Any] = Queue()
    worker = _spawn(_reply, inbox)
    try:
        put = inbox.put
        start = time.perf_counter()
        for i in range(n):
            put((i, None))
        put((None, replies))
        replies.get()
        return time.perf_counter() - start
    finally:
        inbox.put(_STOP)
        worker.join()


def spawn_stop(n: int) -> float:
    """Spawn a greenlet waiting on a queue, tell it to stop, join it; `n` times."""
    from gevent.queue import Queue  # noqa: PLC0415

    start = time.perf_counter()
    for _ in range(n):
        inbox: Queue[Any] = Queue()
        worker = _spawn(_reply, inbox)
        inbox.put(_STOP)
        worker.join()
    return time.perf_counter() - start


def rss_per_greenlet(n: int) -> float:
    """The resident memory, in KiB, that each of `n` greenlets blocked on a queue adds.

    Each has answered one message first, as each actor in the actor row has.
    Meant for a fresh process (see ``threading_workloads.rss_per_actor``).
    """
    from gevent.queue import Queue  # noqa: PLC0415

    gc.collect()
    before = resident_bytes()
    replies: Queue[Any] = Queue()
    workers: list[tuple[_Worker, Queue[Any]]] = []
    try:
        for _ in range(n):
            inbox: Queue[Any] = Queue()
            worker = _spawn(_reply, inbox)
            workers.append((worker, inbox))
        for _worker, inbox in workers:
            inbox.put((None, replies))
        for _ in range(n):
            replies.get()
        added = resident_bytes() - before
    finally:
        for _worker, inbox in workers:
            inbox.put(_STOP)
        for worker, _inbox in workers:
            worker.join()
    return added / n / 1024
