"""The asyncio runtime's workloads: ``AsyncioActor`` against raw asyncio, and Pykka.

Most rows run *in the loop*: a task on an event loop talks to an actor that
lives on that same loop, as asyncio programs do, and the raw column is the
same exchange between two tasks through ``asyncio.Queue``
(:mod:`limelight._bench.raw_asyncio`). One row asks from a plain thread, with
the actor on Limelight's background loop; its raw column is two threads
ping-ponging through ``queue.SimpleQueue`` (:mod:`limelight._bench.raw`), and
a second row measures the same ask against the floor of reaching a loop from
a thread: a raw thread waking a task on a loop, the reply coming back
through a ``SimpleQueue``.

Pykka has no asyncio actors, so the in-loop rows have no Pykka column:
they are held to raw asyncio. The row that asks from a plain thread has one,
Pykka's ``ThreadingActor`` asked from a plain thread, the same call.

Each sample runs on a new event loop. When uvloop is installed, the in-loop
rows are measured on its loop too (the raw column as well).

Every sample stops every actor it started, even when interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib
import threading
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import limelight
from limelight._bench import fresh, raw, raw_asyncio
from limelight._bench import threading_workloads as tw
from limelight._bench.harness import (
    PYKKA,
    RAW,
    SUBJECT,
    Implementation,
    Kind,
    Target,
    Workload,
    resident_bytes,
)
from limelight._bench.raw_asyncio import LoopFactory
from limelight.asyncio import AsyncioActor

__all__ = [
    "BACKGROUND_THREAD_NAME",
    "RUNTIME_NAME",
    "AsyncEcho",
    "Loop",
    "ask_in_loop",
    "find_uvloop",
    "proxy_in_loop",
    "rss_limelight",
    "spawn_stop_in_loop",
    "start_live",
    "tell_in_loop",
    "thread_ask",
    "workloads",
]

RUNTIME_NAME = "asyncio"

BACKGROUND_THREAD_NAME = "limelight-asyncio"
"""The thread of the shared loop for actors started outside any loop.

It runs until the program ends, so it may outlive the workload that started it.
"""

XOSCAR_NOTE = (
    "For reference, not measured here: xoscar's in-process actors were "
    "measured at 36.6 µs per ask and 13.5k spawn + stop/s."
)
PYKKA_NOTE = (
    "Pykka's column here is Pykka's ThreadingActor asked from a plain thread, "
    "the same call; Pykka has no asyncio actors, so the in-loop rows have no "
    "Pykka column."
)


class AsyncEcho(AsyncioActor):
    """Replies to every message with the message; ``call()`` returns its argument."""

    def on_receive(self, message: Any) -> Any:
        """Reply with the message itself."""
        return message

    def call(self, value: Any) -> Any:
        """Return `value`."""
        return value


@dataclass(frozen=True)
class Loop:
    """A kind of event loop to measure on."""

    name: str
    """How the table names it: ``""`` for asyncio's own, ``"uvloop"``..."""

    new: LoopFactory
    """Makes a new loop of this kind."""

    def run(
        self, measure: Callable[[int], Coroutine[Any, Any, float]]
    ) -> Implementation:
        """`measure`, run to its end on a new loop of this kind for each call."""
        return lambda n: raw_asyncio.run(self.new, measure(n))


ASYNCIO_LOOP = Loop("", asyncio.new_event_loop)


def find_uvloop() -> tuple[Loop | None, str]:
    """The loop of uvloop if ``import uvloop`` works, and a note for the table."""
    try:
        module = importlib.import_module("uvloop")
    except ImportError:
        return None, (
            "uvloop is not installed, so --full has no [uvloop] twin of this "
            "row: install it with `pip install 'limelight[uvloop]'`."
        )
    version = getattr(module, "__version__", "unknown")
    new_loop: LoopFactory = module.new_event_loop
    note = f"The same, on uvloop {version}'s event loop, raw included."
    return Loop("uvloop", new_loop), note


# -- The measurements --------------------------------------------------------------


async def _stop(refs: list[limelight.ActorRef[AsyncEcho]]) -> None:
    """Stop the actors of `refs`, all at once, and await them."""
    for stopped in [ref.stop(block=False) for ref in refs]:
        await stopped


async def ask_in_loop(n: int) -> float:
    """``await ref.ask(message, block=False)``, `n` times, from the actor's loop."""
    ref = AsyncEcho.start()
    try:
        ask = ref.ask
        start = time.perf_counter()
        for i in range(n):
            await ask(i, block=False)
        return time.perf_counter() - start
    finally:
        await _stop([ref])


async def proxy_in_loop(n: int) -> float:
    """``await proxy.call(value)``, `n` times, from the actor's loop."""
    ref = AsyncEcho.start()
    try:
        call = ref.proxy().call
        start = time.perf_counter()
        for i in range(n):
            await call(i)
        return time.perf_counter() - start
    finally:
        await _stop([ref])


async def tell_in_loop(n: int) -> float:
    """`n` ``ref.tell(message)`` from the actor's loop, then one awaited ask."""
    ref = AsyncEcho.start()
    try:
        tell = ref.tell
        start = time.perf_counter()
        for i in range(n):
            tell(i)
        await ref.ask(None, block=False)
        return time.perf_counter() - start
    finally:
        await _stop([ref])


async def spawn_stop_in_loop(n: int) -> float:
    """Start an actor on the running loop and await its stop, `n` times."""
    start_echo = AsyncEcho.start
    start = time.perf_counter()
    for _ in range(n):
        await start_echo().stop(block=False)
    return time.perf_counter() - start


@contextlib.asynccontextmanager
async def _live_actors(n: int) -> AsyncGenerator[None, None]:
    """Start `n` actors on the running loop and await a reply from each.

    The asks are all sent before the first is awaited, so one pass of the
    loop starts the actors and answers them. The actors are stopped at the end.
    """
    refs: list[limelight.ActorRef[AsyncEcho]] = []
    try:
        start_echo = AsyncEcho.start
        refs += [start_echo() for _ in range(n)]
        for replied in [ref.ask(None, block=False) for ref in refs]:
            await replied
        yield
    finally:
        await _stop(refs)


async def start_live(n: int) -> float:
    """Start `n` actors and have each answer one message (stopping is untimed)."""
    start = time.perf_counter()
    async with _live_actors(n):
        return time.perf_counter() - start


async def _rss_per_actor(n: int) -> float:
    # Whatever the first actor sets up once (caches, lazy imports) is no
    # one actor's cost.
    await AsyncEcho.start().stop(block=False)
    gc.collect()
    before = resident_bytes()
    async with _live_actors(n):
        added = resident_bytes() - before
    return added / n / 1024


def rss_limelight(n: int) -> float:
    """The resident memory, in KiB, that each of `n` live, idle actors on a loop adds.

    Meant for a fresh process (see ``threading_workloads.rss_per_actor``).
    """
    return raw_asyncio.run(asyncio.new_event_loop, _rss_per_actor(n))


def _background_library() -> tw.Library:
    """``AsyncEcho`` as the threading workloads use an actor: from plain threads."""
    return tw.Library(
        name=SUBJECT,
        start_echo=AsyncEcho.start,
        get_all=limelight.get_all,
        stop_all=limelight.ActorRegistry.stop_all,
        count_actors=lambda: len(limelight.ActorRegistry.get_all()),
    )


def thread_ask(n: int) -> float:
    """``ref.ask(message)``, `n` times, from this thread to a background-loop actor."""
    return tw.ask_round_trip(_background_library(), n)


def _pykka(measure: Callable[[tw.Library, int], float]) -> Implementation:
    """`measure` for Pykka's thread actors, imported only when it first runs."""
    return lambda n: measure(tw.pykka_library(), n)


# -- The workloads --------------------------------------------------------------------


def _may_linger(thread: threading.Thread) -> bool:
    return thread.name == BACKGROUND_THREAD_NAME


_NEAR_RAW = Target("≤1.5× raw", RAW, 1 / 1.5)
_MILLION_TELLS = Target.fixed("≥1M msg/s", 1e6)
_SPAWNS = Target.fixed("≥100k/s", 1e5)


def _in_loop_rows(
    loop: Loop, notes: tuple[str, ...]
) -> tuple[list[Workload], list[Workload], list[Workload]]:
    """The rows measured in the loop: round trips, tells and spawns, on `loop`.

    Only asyncio's own loop has rows in the default run; uvloop's are in
    the full one. `notes` go to every row; asyncio's ask and spawn rows also
    get the figures of xoscar, for reference.
    """
    suffix = f" [{loop.name}]" if loop.name else ""
    name_suffix = f"_{loop.name}" if loop.name else ""
    # Pinned too, as the thread rows sampled with them in --full are: then
    # a row's figures do not depend on which run it is in, and the loop's
    # thread does not move between CPUs mid-sample.
    workload = functools.partial(
        Workload,
        runtime=RUNTIME_NAME,
        check=tw.leftover_actors,
        may_linger=_may_linger,
        notes=notes,
        pin=True,
    )
    default = functools.partial(workload, full_only=bool(loop.name))
    full_only = functools.partial(workload, full_only=True)
    for_reference = () if loop.name else (XOSCAR_NOTE,)

    def implementations(
        measure: Callable[[int], Coroutine[Any, Any, float]],
        raw_measure: Callable[[int], Coroutine[Any, Any, float]],
    ) -> dict[str, Implementation]:
        return {SUBJECT: loop.run(measure), RAW: loop.run(raw_measure)}

    round_trips = [
        default(
            name=f"ask{name_suffix}",
            group="asyncio round trips",
            label=f"in-loop ask: await ref.ask(){suffix}",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=implementations(ask_in_loop, raw_asyncio.ask_round_trip),
            size=5_000,
            quick_size=5_000,
            samples=31,
            quick_samples=31,
            raw_meaning="2 tasks ping-pong via 2 asyncio.Queues",
            targets=[_NEAR_RAW],
            notes=(*notes, *for_reference),
        ),
        full_only(
            name=f"proxy{name_suffix}",
            group="asyncio round trips",
            label=f"in-loop proxy call: await proxy.method(){suffix}",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=implementations(proxy_in_loop, raw_asyncio.call_round_trip),
            size=5_000,
            quick_size=500,
            samples=31,
            quick_samples=11,
            raw_meaning="task ping-pong; worker calls method by name",
            targets=[_NEAR_RAW],
        ),
    ]
    tells = [
        full_only(
            name=f"tell{name_suffix}",
            group="asyncio tells",
            label=f"in-loop tell throughput{suffix}",
            kind=Kind.THROUGHPUT,
            unit="msg/s",
            implementations=implementations(tell_in_loop, raw_asyncio.tell_throughput),
            size=100_000,
            quick_size=20_000,
            warmup=1_000,
            raw_meaning="Queue.put_nowait to a worker task",
            targets=[_MILLION_TELLS],
        )
    ]
    spawns = [
        default(
            name=f"spawn{name_suffix}",
            group="asyncio spawns",
            label=f"in-loop spawn + stop{suffix}",
            kind=Kind.THROUGHPUT,
            unit="actors/s",
            implementations=implementations(spawn_stop_in_loop, raw_asyncio.spawn_stop),
            size=2_000,
            quick_size=2_000,
            quick_samples=15,
            warmup=50,
            raw_meaning="create_task, stop via Queue, await task",
            targets=[_SPAWNS],
            notes=(*notes, *for_reference),
        )
    ]
    return round_trips, tells, spawns


def workloads() -> list[Workload]:
    """The asyncio runtime's workloads, in the order they run."""
    uvloop, uvloop_note = find_uvloop()
    # The note goes to the rows it is about: uvloop's, or asyncio's in-loop
    # rows, which have no uvloop twin without it.
    loops: list[tuple[Loop, tuple[str, ...]]] = [(ASYNCIO_LOOP, (uvloop_note,))]
    if uvloop is not None:
        loops = [(ASYNCIO_LOOP, ()), (uvloop, (uvloop_note,))]
    round_trips: list[Workload] = []
    tells: list[Workload] = []
    spawns: list[Workload] = []
    for loop, notes in loops:
        more_round_trips, more_tells, more_spawns = _in_loop_rows(loop, notes)
        round_trips += more_round_trips
        tells += more_tells
        spawns += more_spawns
    asyncio_workload = functools.partial(
        Workload,
        runtime=RUNTIME_NAME,
        check=tw.leftover_actors,
        may_linger=_may_linger,
        full_only=True,
    )
    return [
        *round_trips,
        asyncio_workload(
            name="thread_ask",
            group="asyncio round trips",
            label="ask from a thread: ref.ask() to a background-loop actor",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations={
                SUBJECT: thread_ask,
                PYKKA: _pykka(tw.ask_round_trip),
                RAW: raw.ask_round_trip,
            },
            size=2_000,
            quick_size=400,
            samples=31,
            quick_samples=11,
            raw_meaning="2 threads ping-pong via SimpleQueue",
            targets=[_NEAR_RAW],
            notes=[PYKKA_NOTE],
            pin=True,
        ),
        # The row above holds the ask to issue 3's yardstick, a thread-to-
        # thread ping-pong; this one to the floor of reaching a loop from a
        # thread at all, which that yardstick does not pay.
        asyncio_workload(
            name="thread_ask_floor",
            group="asyncio round trips",
            label="ask from a thread, against a raw thread → loop ping-pong",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations={
                SUBJECT: thread_ask,
                RAW: raw_asyncio.thread_ask_round_trip,
            },
            size=2_000,
            quick_size=400,
            samples=31,
            quick_samples=11,
            raw_meaning="thread wakes a loop task; reply via SimpleQueue",
            targets=[_NEAR_RAW],
            pin=True,
        ),
        *tells,
        *spawns,
        asyncio_workload(
            name="start",
            label="start {n:,} live actors in a loop",
            kind=Kind.THROUGHPUT,
            unit="actors/s",
            implementations={
                SUBJECT: ASYNCIO_LOOP.run(start_live),
                RAW: ASYNCIO_LOOP.run(raw_asyncio.start_live),
            },
            size=100_000,
            quick_size=10_000,
            samples=3,
            quick_samples=3,
            warmup=100,
            raw_meaning="n tasks, each answers one Queue message",
            targets=[Target.fixed("≥100k/s (100,000 in ≤1 s)", 1e5)],
        ),
        asyncio_workload(
            name="rss",
            label="memory per live actor in a loop, {n:,} actors",
            kind=Kind.AMOUNT,
            unit="KiB",
            # Each sample in a new process, where no freed memory is reused.
            implementations={
                SUBJECT: functools.partial(fresh.sample, f"{__name__}:rss_limelight"),
                RAW: functools.partial(
                    fresh.sample, f"{raw_asyncio.__name__}:rss_per_task"
                ),
            },
            size=100_000,
            quick_size=10_000,
            samples=3,
            quick_samples=3,
            warmup=0,
            raw_meaning="a task blocked on an asyncio.Queue",
            targets=[Target.fixed("≤2 KiB", 2.0)],
        ),
    ]
