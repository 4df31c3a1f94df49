"""The raw asyncio primitives: what the asyncio workloads boil down to without actors.

Each coroutine function does a workload's operation `n` times with nothing but
tasks and ``asyncio.Queue``, the way an actor library on an event loop would
underneath: a worker task takes ``(message, reply_queue)`` envelopes from its
inbox with ``await inbox.get()`` and answers with ``reply_queue.put_nowait()``;
the asker puts with ``put_nowait()`` and awaits ``replies.get()``. Two tasks,
two queues: the floor an actor on a loop is measured from.

Like the actor workloads, each returns the seconds its timed part took
(``rss_per_task`` returns KiB), and leaves no task behind. :func:`run` runs
one on a new event loop of any kind (asyncio's own, uvloop's).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import queue
import threading
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, TypeVar

from limelight._bench.harness import resident_bytes

__all__ = [
    "LoopFactory",
    "ask_round_trip",
    "call_round_trip",
    "rss_per_task",
    "run",
    "spawn_stop",
    "start_live",
    "tell_throughput",
    "thread_ask_round_trip",
]

T = TypeVar("T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
"""Makes a new event loop: ``asyncio.new_event_loop`` or uvloop's."""

_STOP: Any = object()
"""The message that ends a worker."""

Inbox = asyncio.Queue[Any]


def run(loop_factory: LoopFactory, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end on a new loop from `loop_factory`; close the loop."""
    loop = loop_factory()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


async def _reply(inbox: Inbox) -> None:
    """A worker answering each envelope with its message, as an echo actor does."""
    get = inbox.get
    while (envelope := await get()) is not _STOP:
        message, reply_to = envelope
        if reply_to is not None:
            reply_to.put_nowait(message)


async def _call(inbox: Inbox, target: object) -> None:
    """A worker calling ``target.<name>(*args)`` for ``((name, args), reply_to)``."""
    get = inbox.get
    while (envelope := await get()) is not _STOP:
        (name, args), reply_to = envelope
        reply_to.put_nowait(getattr(target, name)(*args))


async def _wait(inbox: Inbox) -> None:
    """A worker with nothing to do but wait to be stopped: an idle actor."""
    await inbox.get()


@contextlib.asynccontextmanager
async def _worker(
    work: Callable[..., Coroutine[Any, Any, None]], *args: object
) -> AsyncGenerator[Inbox, None]:
    """Run `work(inbox, *args)` as a new task; yield its inbox; stop and await it."""
    inbox: Inbox = asyncio.Queue()
    task = asyncio.create_task(work(inbox, *args))
    try:
        yield inbox
    finally:
        inbox.put_nowait(_STOP)
        await task


class _Target:
    def call(self, value: object) -> object:
        return value


async def ask_round_trip(n: int) -> float:
    """Send `n` messages one at a time to a worker task, awaiting each reply."""
    replies: Inbox = asyncio.Queue()
    async with _worker(_reply) as inbox:
        put, get = inbox.put_nowait, replies.get
        start = time.perf_counter()
        for i in range(n):
            put((i, replies))
            await get()
        return time.perf_counter() - start


async def call_round_trip(n: int) -> float:
    """Have a worker task call a method by name `n` times, awaiting each result."""
    replies: Inbox = asyncio.Queue()
    async with _worker(_call, _Target()) as inbox:
        put, get = inbox.put_nowait, replies.get
        start = time.perf_counter()
        for i in range(n):
            put((("call", (i,)), replies))
            await get()
        return time.perf_counter() - start


async def tell_throughput(n: int) -> float:
    """Send `n` messages to a worker task without replies, then one with; await it."""
    replies: Inbox = asyncio.Queue()
    async with _worker(_reply) as inbox:
        put = inbox.put_nowait
        start = time.perf_counter()
        for i in range(n):
            put((i, None))
        put((None, replies))
        await replies.get()
        return time.perf_counter() - start


async def spawn_stop(n: int) -> float:
    """Start a task waiting on a queue, tell it to stop, await it; `n` times."""
    create_task = asyncio.get_running_loop().create_task
    start = time.perf_counter()
    for _ in range(n):
        inbox: Inbox = asyncio.Queue()
        task = create_task(_wait(inbox))
        inbox.put_nowait(_STOP)
        await task
    return time.perf_counter() - start


@contextlib.asynccontextmanager
async def _live_workers(n: int) -> AsyncGenerator[None, None]:
    """Start `n` worker tasks and await a reply from each; stop them all at the end."""
    create_task = asyncio.get_running_loop().create_task
    workers: list[tuple[asyncio.Task[None], Inbox]] = []
    try:
        replies: Inbox = asyncio.Queue()
        for _ in range(n):
            inbox: Inbox = asyncio.Queue()
            workers.append((create_task(_reply(inbox)), inbox))
        for _task, inbox in workers:
            inbox.put_nowait((None, replies))
        for _ in range(n):
            await replies.get()
        yield
    finally:
        for _task, inbox in workers:
            inbox.put_nowait(_STOP)
        for task, _inbox in workers:
            await task


async def start_live(n: int) -> float:
    """Start `n` worker tasks and have each answer one message (stopping is untimed)."""
    start = time.perf_counter()
    async with _live_workers(n):
        return time.perf_counter() - start


async def _rss_per_task(n: int) -> float:
    gc.collect()
    before = resident_bytes()
    async with _live_workers(n):
        added = resident_bytes() - before
    return added / n / 1024


def rss_per_task(n: int) -> float:
    """The resident memory, in KiB, that each of `n` idle worker tasks adds.

    Meant for a fresh process, as ``threading_workloads.rss_per_actor`` is.
    """
    return run(asyncio.new_event_loop, _rss_per_task(n))


def thread_ask_round_trip(n: int) -> float:
    """From this thread, ask a worker task on a loop in another thread, `n` times.

    The floor under asking an event-loop actor from a plain thread: each
    message wakes the loop from outside (``call_soon_threadsafe``, which
    writes to the loop's self-pipe), and each reply wakes this thread through
    a ``queue.SimpleQueue``. The thread-to-thread ping-pong of
    :mod:`limelight._bench.raw` has neither the pipe nor the loop's turn.
    """
    loop = asyncio.new_event_loop()
    inboxes: queue.SimpleQueue[Inbox] = queue.SimpleQueue()

    async def serve() -> None:
        inbox: Inbox = asyncio.Queue()
        inboxes.put(inbox)
        await _reply(inbox)

    thread = threading.Thread(target=run, args=(lambda: loop, serve()), name="raw-loop")
    thread.start()
    inbox = inboxes.get()
    call_soon, put = loop.call_soon_threadsafe, inbox.put_nowait
    try:
        replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
        get = replies.get
        start = time.perf_counter()
        for i in range(n):
            call_soon(put, (i, replies))
            get()
        return time.perf_counter() - start
    finally:
        call_soon(put, _STOP)
        thread.join()
