"""The raw eventlet primitives: what the eventlet workloads come down to without actors.

The same floor as ``raw_gevent``, built from eventlet's own parts: a worker
green thread reads ``(message, reply_queue)`` envelopes from an
``eventlet.queue.Queue`` and answers by putting the message on the reply
queue, while the asker puts an envelope and then blocks on the reply queue's
``get()``. That is all an actor library on eventlet must do at the least.

Every function returns the seconds its timed part took (``rss_per_greenlet``
returns KiB), leaves no green thread running, and expects to run in a green
thread of a hub (see ``eventlet_workloads.in_hub``).
"""

from __future__ import annotations

import gc
import importlib
import time
import warnings
from collections.abc import Callable
from typing import Any

from limelight._bench.harness import resident_bytes

__all__ = [
    "ask_round_trip",
    "call_round_trip",
    "eventlet",
    "rss_per_greenlet",
    "spawn_stop",
    "tell_throughput",
]

_STOP: Any = object()
"""Ends a worker when it reads it."""


def eventlet() -> Any:
    """The ``eventlet`` module (which has no types), imported without its warning.

    eventlet warns on import that it is in maintenance mode; the benchmark
    imports it on purpose, so the warning would only clutter its report.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("eventlet")


def _queue() -> Any:
    return eventlet().queue.Queue()


def _spawn(work: Callable[..., None], *args: object) -> Any:
    return eventlet().spawn(work, *args)


def _echo(inbox: Any) -> None:
    """Put each envelope's message on its reply queue, like an echo actor."""
    get = inbox.get
    while (envelope := get()) is not _STOP:
        message, reply_to = envelope
        if reply_to is not None:
            reply_to.put(message)


def _dispatch(inbox: Any, target: _Target) -> None:
    """For each ``((name, args), reply_to)``, reply with ``target.<name>(*args)``."""
    get = inbox.get
    while (envelope := get()) is not _STOP:
        (name, args), reply_to = envelope
        reply_to.put(getattr(target, name)(*args))


class _Target:
    def call(self, value: object) -> object:
        return value


def _finish(inbox: Any, worker: Any) -> None:
    inbox.put(_STOP)
    worker.wait()


def ask_round_trip(n: int) -> float:
    """`n` round trips to a worker green thread, one at a time."""
    inbox, replies = _queue(), _queue()
    worker = _spawn(_echo, inbox)
    try:
        put, get = inbox.put, replies.get
        start = time.perf_counter()
        for i in range(n):
            put((i, replies))
            get()
        return time.perf_counter() - start
    finally:
        _finish(inbox, worker)


def call_round_trip(n: int) -> float:
    """`n` method calls by name through a worker green thread, one at a time."""
    inbox, replies = _queue(), _queue()
    worker = _spawn(_dispatch, inbox, _Target())
    try:
        put, get = inbox.put, replies.get
        start = time.perf_counter()
        for i in range(n):
            put((("call", (i,)), replies))
            get()
        return time.perf_counter() - start
    finally:
        _finish(inbox, worker)


def tell_throughput(n: int) -> float:
    """`n` one-way messages to a worker green thread, then a round trip."""
    inbox, replies = _queue(), _queue()
    worker = _spawn(_echo, inbox)
    try:
        put = inbox.put
        start = time.perf_counter()
        for i in range(n):
            put((i, None))
        put((None, replies))
        replies.get()
        return time.perf_counter() - start
    finally:
        _finish(inbox, worker)


def spawn_stop(n: int) -> float:
    """`n` times: spawn a green thread that waits on a queue, stop it, wait for it."""
    start = time.perf_counter()
    for _ in range(n):
        inbox = _queue()
        _finish(inbox, _spawn(_echo, inbox))
    return time.perf_counter() - start


def rss_per_greenlet(n: int) -> float:
    """The resident KiB each of `n` green threads blocked on a queue adds.

    Each has answered one message first, as each actor in the actor row has.
    Meant for a fresh process (see ``threading_workloads.rss_per_actor``).
    """
    gc.collect()
    before = resident_bytes()
    replies = _queue()
    workers: list[tuple[Any, Any]] = []
    try:
        for _ in range(n):
            inbox = _queue()
            workers.append((_spawn(_echo, inbox), inbox))
        for _worker, inbox in workers:
            inbox.put((None, replies))
        for _ in range(n):
            replies.get()
        added = resident_bytes() - before
    finally:
        for worker, inbox in workers:
            _finish(inbox, worker)
    return added / n / 1024
