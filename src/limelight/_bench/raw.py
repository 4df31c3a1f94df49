"""The raw primitives: what the threading workloads boil down to without actors.

Each function does a workload's operation `n` times with nothing but
``threading.Thread`` and ``queue.SimpleQueue``, the way an actor library does
underneath: a worker thread takes ``(message, reply_queue)`` envelopes from
its inbox and puts replies on the reply queue. It is the floor an actor
library's overhead is measured from.

Like the actor workloads, each function returns the seconds its timed part
took (``rss_per_thread`` returns KiB), and leaves no thread running.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from _thread import allocate_lock as _allocate_lock
from collections.abc import Callable, Generator
from typing import Any

from limelight._bench.harness import resident_bytes

__all__ = [
    "ask_round_trip",
    "ask_with_future_round_trip",
    "call_round_trip",
    "nested_call_round_trip",
    "pipelined_asks",
    "rss_per_thread",
    "spawn_stop",
    "stop_all",
    "tell_throughput",
]

_STOP: Any = object()
"""The message that ends a worker."""

Envelope = tuple[Any, "queue.SimpleQueue[Any] | None"]


def _reply(inbox: queue.SimpleQueue[Any]) -> None:
    """A worker answering each envelope with its message, as an echo actor does."""
    get = inbox.get
    while (envelope := get()) is not _STOP:
        message, reply_to = envelope
        if reply_to is not None:
            reply_to.put(message)


class _Reply:
    """The least a future can be: a value, and a held lock that setting it releases.

    One thread waits for it, for ever; it has no callbacks, no timeout, no
    exception, no check that it is set only once.
    """

    __slots__ = ("lock", "value")

    def __init__(self) -> None:
        self.lock = _allocate_lock()
        self.lock.acquire()

    def set(self, value: object) -> None:
        self.value = value
        self.lock.release()

    def get(self) -> object:
        self.lock.acquire()
        return self.value


def _handle(inbox: queue.SimpleQueue[Any], target: _Target) -> None:
    """A worker calling a handler with each message and setting its `_Reply`."""
    get = inbox.get
    while (envelope := get()) is not _STOP:
        message, reply = envelope
        reply.set(target.call(message))


def _call(inbox: queue.SimpleQueue[Any], target: object) -> None:
    """A worker calling ``target.<path>(*args)`` for ``((path, args), reply_to)``."""
    get = inbox.get
    while (envelope := get()) is not _STOP:
        (path, args), reply_to = envelope
        method: Any = target
        for name in path:
            method = getattr(method, name)
        reply_to.put(method(*args))


def _wait(inbox: queue.SimpleQueue[Any]) -> None:
    """A worker with nothing to do but wait to be stopped: an idle actor."""
    inbox.get()


@contextlib.contextmanager
def _worker(
    work: Callable[..., None], *args: object
) -> Generator[queue.SimpleQueue[Any], None, None]:
    """Run `work(inbox, *args)` in a new thread; yield its inbox; stop and join it."""
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    thread = threading.Thread(target=work, args=(inbox, *args), name="raw-worker")
    thread.start()
    try:
        yield inbox
    finally:
        inbox.put(_STOP)
        thread.join()


class _Sub:
    def call(self, value: object) -> object:
        return value


class _Target:
    def __init__(self) -> None:
        self.sub = _Sub()

    def call(self, value: object) -> object:
        return value


def ask_round_trip(n: int) -> float:
    """Send `n` messages one at a time to a worker, each time waiting for its reply."""
    replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
    with _worker(_reply) as inbox:
        put, get = inbox.put, replies.get
        start = time.perf_counter()
        for i in range(n):
            put((i, replies))
            get()
        return time.perf_counter() - start


def ask_with_future_round_trip(n: int) -> float:
    """As `ask_round_trip`, with a handler and a `_Reply` per message.

    What any ask that returns a future pays at least, in Python: the
    future's making, a lock per reply, the handler's call.
    """
    with _worker(_handle, _Target()) as inbox:
        put = inbox.put
        start = time.perf_counter()
        for i in range(n):
            reply = _Reply()
            put((i, reply))
            reply.get()
        return time.perf_counter() - start


def _call_round_trip(n: int, path: tuple[str, ...]) -> float:
    replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
    with _worker(_call, _Target()) as inbox:
        put, get = inbox.put, replies.get
        start = time.perf_counter()
        for i in range(n):
            put(((path, (i,)), replies))
            get()
        return time.perf_counter() - start


def call_round_trip(n: int) -> float:
    """Have a worker call a method by name `n` times, waiting for each result."""
    return _call_round_trip(n, ("call",))


def nested_call_round_trip(n: int) -> float:
    """As `call_round_trip`, for a method of an attribute (``target.sub.call``)."""
    return _call_round_trip(n, ("sub", "call"))


def tell_throughput(n: int) -> float:
    """Send `n` messages to a worker without replies, then one with, and wait for it."""
    replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
    with _worker(_reply) as inbox:
        put = inbox.put
        start = time.perf_counter()
        for i in range(n):
            put((i, None))
        put((None, replies))
        replies.get()
        return time.perf_counter() - start


def pipelined_asks(n: int) -> float:
    """Send `n` messages to a worker, then collect its `n` replies."""
    replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
    with _worker(_reply) as inbox:
        put, get = inbox.put, replies.get
        start = time.perf_counter()
        for i in range(n):
            put((i, replies))
        for _ in range(n):
            get()
        return time.perf_counter() - start


def spawn_stop(n: int) -> float:
    """Start a waiting thread, tell it to stop, join it; `n` times."""
    start = time.perf_counter()
    for _ in range(n):
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        thread = threading.Thread(target=_wait, args=(inbox,))
        thread.start()
        inbox.put(_STOP)
        thread.join()
    return time.perf_counter() - start


@contextlib.contextmanager
def _waiting_threads(
    n: int,
) -> Generator[list[tuple[threading.Thread, queue.SimpleQueue[Any]]], None, None]:
    """Start `n` threads, each waiting on its own queue; stop those left at the end."""
    workers: list[tuple[threading.Thread, queue.SimpleQueue[Any]]] = []
    try:
        for _ in range(n):
            inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
            thread = threading.Thread(target=_wait, args=(inbox,))
            thread.start()
            workers.append((thread, inbox))
        yield workers
    finally:
        for thread, inbox in workers:
            if thread.is_alive():
                inbox.put(_STOP)
        for thread, _inbox in workers:
            thread.join()


def start_ask_stop(n: int) -> float:
    """Start `n` echoing threads, ask each once, stop and join each, newest first."""
    replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
    start = time.perf_counter()
    workers: list[tuple[threading.Thread, queue.SimpleQueue[Any]]] = []
    for _ in range(n):
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        thread = threading.Thread(target=_reply, args=(inbox,))
        thread.start()
        workers.append((thread, inbox))
    for _thread, inbox in workers:
        inbox.put((None, replies))
        replies.get()
    for thread, inbox in reversed(workers):
        inbox.put(_STOP)
        thread.join()
    return time.perf_counter() - start


def stop_all(n: int) -> float:
    """Start `n` waiting threads (untimed), then stop and join each, newest first."""
    with _waiting_threads(n) as workers:
        start = time.perf_counter()
        for thread, inbox in reversed(workers):
            inbox.put(_STOP)
            thread.join()
        return time.perf_counter() - start


def rss_per_thread(n: int) -> float:
    """The resident memory, in KiB, that each of `n` idle waiting threads adds."""
    before = resident_bytes()
    with _waiting_threads(n):
        added = resident_bytes() - before
    return added / n / 1024
