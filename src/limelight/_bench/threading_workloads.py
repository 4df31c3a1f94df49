"""The threading runtime's workloads: Limelight, Pykka and raw threads, side by side.

Each workload's measuring code is written once, for a :class:`Library`: the
same loop runs Limelight's actor and Pykka's, each a subclass of its own
library's ``ThreadingActor`` (Pykka's are in
:mod:`limelight._bench.pykka_actors`, imported only when Pykka is measured).
The raw column comes from :mod:`limelight._bench.raw`.

Every sample stops every actor it started, even when interrupted.
"""

from __future__ import annotations

import functools
import gc
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import limelight
from limelight._bench import fresh, raw
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
from limelight._runtimes.threads import IDLE_THREAD_NAME, RUNTIME

__all__ = [
    "Library",
    "LimelightEcho",
    "leftover_actors",
    "limelight_library",
    "pool_ask_round_trip",
    "pool_tell_throughput",
    "pykka_library",
    "workloads",
]

RUNTIME_NAME = "threading"


@dataclass(frozen=True)
class Library:
    """One actor library, as the workloads use it."""

    name: str
    start_echo: Callable[[], Any]
    """Start an actor that answers each message with itself; return its ref.

    Typed `Any`: it is a Limelight or a Pykka ``ActorRef``, whose methods
    the workloads call the same way.
    """

    get_all: Callable[[list[Any]], Iterable[Any]]
    """The library's ``get_all()``."""

    stop_all: Callable[[], object]
    """The library's ``ActorRegistry.stop_all()``."""

    count_actors: Callable[[], int]
    """How many actors the library's registry holds."""

    settle: Callable[[], None] = lambda: None
    """Let go of any thread kept for reuse, so that memory is measured from scratch."""


class _LimelightSub:
    def call(self, value: Any) -> Any:
        return value


class LimelightEcho(limelight.ThreadingActor):
    """Replies to every message with the message; ``call()`` returns its argument.

    ``sub`` is traversable: ``proxy.sub.call(x)`` calls ``call()`` on it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sub = limelight.traversable(_LimelightSub())

    def on_receive(self, message: Any) -> Any:
        """Reply with the message itself."""
        return message

    def call(self, value: Any) -> Any:
        """Return `value`."""
        return value

    def ask_other(self, other: limelight.ActorRef[Any], n: int) -> float:
        """Ask `other` `n` times, blocking for each reply; return the seconds."""
        ask = other.ask
        start = time.perf_counter()
        for i in range(n):
            ask(i)
        return time.perf_counter() - start


class LimelightInlineEcho(LimelightEcho):
    """`LimelightEcho` whose blocking asks run in the asking thread when it is idle."""

    inline_asks = True


def _end_idle_threads() -> None:
    """End the threads Limelight keeps for reuse, and wait until they have ended."""
    RUNTIME.end_idle_threads()


def limelight_library() -> Library:
    """Limelight, as the workloads use it."""
    return Library(
        name=SUBJECT,
        start_echo=LimelightEcho.start,
        get_all=limelight.get_all,
        stop_all=limelight.ActorRegistry.stop_all,
        count_actors=lambda: len(limelight.ActorRegistry.get_all()),
        settle=_end_idle_threads,
    )


@functools.cache
def pykka_library() -> Library:
    """Pykka, as the workloads use it; imports it, so call it only if it is there."""
    import pykka  # noqa: PLC0415 -- optional, and checked for before

    from limelight._bench.pykka_actors import start_echo  # noqa: PLC0415

    return Library(
        name=PYKKA,
        start_echo=start_echo,
        get_all=pykka.get_all,
        stop_all=pykka.ActorRegistry.stop_all,
        count_actors=lambda: len(pykka.ActorRegistry.get_all()),
    )


# -- The measurements, written once for both libraries ------------------------


def ask_round_trip(library: Library, n: int) -> float:
    """``ref.ask(message)``, `n` times, on one actor."""
    ref = library.start_echo()
    try:
        ask = ref.ask
        start = time.perf_counter()
        for i in range(n):
            ask(i)
        return time.perf_counter() - start
    finally:
        ref.stop()


def inline_ask_round_trip(n: int) -> float:
    """`ask_round_trip` of an actor with ``inline_asks``: no thread switch."""
    library = replace(limelight_library(), start_echo=LimelightInlineEcho.start)
    return ask_round_trip(library, n)


POOL_SIZE = 4
"""Members of the pools the pool rows measure."""


def pool_ask_round_trip(n: int) -> float:
    """``pool.ask(message)``, `n` times, on a smallest-mailbox pool of `POOL_SIZE`."""
    pool = limelight.Pool.start(LimelightEcho, POOL_SIZE, routing="smallest_mailbox")
    try:
        ask = pool.ask
        start = time.perf_counter()
        for i in range(n):
            ask(i)
        return time.perf_counter() - start
    finally:
        pool.stop()


def pool_tell_throughput(n: int) -> float:
    """`n` ``pool.tell(message)`` to a round-robin pool, then one ask per member."""
    pool = limelight.Pool.start(LimelightEcho, POOL_SIZE)
    try:
        tell = pool.tell
        start = time.perf_counter()
        for i in range(n):
            tell(i)
        for member in pool.members:
            member.ask(None)
        return time.perf_counter() - start
    finally:
        pool.stop()


def ask_round_trip_observed(n: int, interval: float = 0.1) -> float:
    """`ask_round_trip` of Limelight, while another thread takes snapshots.

    The thread calls ``limelight.observe.snapshot()`` every `interval`
    seconds, by default 0.1 s, ten times
    as often as ``limelight top`` does by default: what watching a program
    costs it, on top of the always-on bookkeeping (a counter and a timestamp
    per message, which the plain ``ask`` row already pays).
    """
    from limelight.observe import snapshot  # noqa: PLC0415 -- only when measured

    done = threading.Event()

    def watch() -> None:
        snapshot()
        while not done.wait(interval):
            snapshot()

    watcher = threading.Thread(target=watch, name="bench-snapshots")
    watcher.start()
    try:
        return ask_round_trip(limelight_library(), n)
    finally:
        done.set()
        watcher.join()


def actor_ask_round_trip(library: Library, n: int) -> float:
    """An actor's ``ref.ask(message)`` of another actor, `n` times.

    The blocking ask of one actor by another is the path deadlock detection
    watches, unlike an ask from a plain thread.
    """
    asker = library.start_echo()
    target = library.start_echo()
    try:
        seconds: float = asker.proxy().ask_other(target, n).get()
        return seconds
    finally:
        asker.stop()
        target.stop()


def proxy_call(library: Library, n: int) -> float:
    """``proxy.call(value).get()``, `n` times, on one actor."""
    ref = library.start_echo()
    try:
        proxy = ref.proxy()
        start = time.perf_counter()
        for i in range(n):
            proxy.call(i).get()
        return time.perf_counter() - start
    finally:
        ref.stop()


def traversable_call(library: Library, n: int) -> float:
    """``proxy.sub.call(value).get()``, `n` times; `sub` is traversable."""
    ref = library.start_echo()
    try:
        proxy = ref.proxy()
        start = time.perf_counter()
        for i in range(n):
            proxy.sub.call(i).get()
        return time.perf_counter() - start
    finally:
        ref.stop()


def tell_throughput(library: Library, n: int) -> float:
    """`n` ``ref.tell(message)``, then one ``ref.ask()`` to know all were handled."""
    ref = library.start_echo()
    try:
        tell = ref.tell
        start = time.perf_counter()
        for i in range(n):
            tell(i)
        ref.ask(None)
        return time.perf_counter() - start
    finally:
        ref.stop()


def pipelined_asks(library: Library, n: int) -> float:
    """`n` ``ref.ask(message, block=False)``, then ``get_all()`` of the futures."""
    ref = library.start_echo()
    try:
        ask = ref.ask
        start = time.perf_counter()
        futures = [ask(i, block=False) for i in range(n)]
        library.get_all(futures)
        return time.perf_counter() - start
    finally:
        ref.stop()


def spawn_stop(library: Library, n: int) -> float:
    """Start an actor and ``stop()`` it, `n` times."""
    start_echo = library.start_echo
    start = time.perf_counter()
    for _ in range(n):
        start_echo().stop()
    return time.perf_counter() - start


def _start_live(library: Library, n: int) -> list[Any]:
    """Start `n` actors and wait until each has handled a message."""
    refs = [library.start_echo() for _ in range(n)]
    for ref in refs:
        ref.ask(None)
    return refs


def start_ask_stop(library: Library, n: int) -> float:
    """Start `n` actors, ask each once, then ``stop_all()``: all of it timed."""
    start = time.perf_counter()
    try:
        _start_live(library, n)
        library.stop_all()
        return time.perf_counter() - start
    finally:
        library.stop_all()


def stop_all(library: Library, n: int) -> float:
    """``ActorRegistry.stop_all()`` of `n` live actors (starting them is not timed)."""
    try:
        _start_live(library, n)
        start = time.perf_counter()
        library.stop_all()
        return time.perf_counter() - start
    finally:
        library.stop_all()


def rss_per_actor(library: Library, n: int) -> float:
    """The resident memory, in KiB, that each of `n` live, idle actors adds.

    Meant for a fresh process (see `rss_limelight`): in one that has run
    other workloads, memory they freed is reused and the figure is too low.
    """
    library.settle()
    gc.collect()
    before = resident_bytes()
    try:
        _start_live(library, n)
        added = resident_bytes() - before
    finally:
        library.stop_all()
    return added / n / 1024


def rss_limelight(n: int) -> float:
    """`rss_per_actor` of Limelight, for a fresh process."""
    return rss_per_actor(limelight_library(), n)


def rss_pykka(n: int) -> float:
    """`rss_per_actor` of Pykka, for a fresh process."""
    return rss_per_actor(pykka_library(), n)


# -- The workloads --------------------------------------------------------------


def _pykka(measure: Callable[[Library, int], float]) -> Implementation:
    """`measure` for Pykka, which is imported only when it first runs."""
    return lambda n: measure(pykka_library(), n)


def _implementations(
    measure: Callable[[Library, int], float], raw_measure: Implementation
) -> dict[str, Implementation]:
    limelight_ = limelight_library()
    return {
        SUBJECT: lambda n: measure(limelight_, n),
        PYKKA: _pykka(measure),
        RAW: raw_measure,
    }


def leftover_actors() -> list[str]:
    """Actors either library still has registered (Pykka only once it is loaded)."""
    libraries = [limelight_library()]
    if pykka_library.cache_info().currsize:
        libraries.append(pykka_library())
    problems: list[str] = []
    for library in libraries:
        count = library.count_actors()
        if count:
            problems.append(f"{count} {library.name} actor(s) still registered")
    return problems


def _is_idle_limelight_thread(thread: threading.Thread) -> bool:
    return thread.name == IDLE_THREAD_NAME


# Round trips are sampled often and briefly. How fast one is depends on where
# the scheduler puts the two threads (one core or two), which it decides anew
# for each sample's actor: the rows whose threads hand work to each other are
# pinned to one CPU (Workload.pin), and many samples make the median steady.
_TWICE_PYKKA = Target("≥2× pykka", PYKKA, 2.0)
_NEAR_RAW = Target("≤1.5× raw", RAW, 1 / 1.5)


def workloads() -> list[Workload]:
    """The threading runtime's workloads, in the order they run."""
    threading_workload = functools.partial(
        Workload,
        runtime=RUNTIME_NAME,
        check=leftover_actors,
        may_linger=_is_idle_limelight_thread,
    )
    asks = _implementations(ask_round_trip, raw.ask_round_trip)
    return [
        threading_workload(
            name="ask",
            pin=True,
            group="round trips",
            label="ask round trip",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=asks,
            size=2_000,
            quick_size=2_000,
            samples=31,
            quick_samples=61,
            raw_meaning="2 threads ping-pong via SimpleQueue",
            targets=[_TWICE_PYKKA, _NEAR_RAW],
        ),
        threading_workload(
            name="ask_inline",
            pin=True,
            group="round trips",
            label="ask round trip, inline_asks = True",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations={SUBJECT: inline_ask_round_trip, RAW: raw.ask_round_trip},
            size=2_000,
            quick_size=2_000,
            samples=31,
            quick_samples=31,
            raw_meaning="2 threads ping-pong via SimpleQueue",
            targets=[Target("≤0.5× raw", RAW, 2.0)],
        ),
        # The ask row holds the ask to the ping-pong of two queues; this one
        # to the least any ask returning a future does in Python (a handler
        # called, a future made, a lock per reply), which that ping-pong
        # does not pay.
        threading_workload(
            name="ask_floor",
            pin=True,
            full_only=True,
            group="round trips",
            label="ask round trip, against a raw ask with a future",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations={
                SUBJECT: asks[SUBJECT],
                RAW: raw.ask_with_future_round_trip,
            },
            size=2_000,
            quick_size=2_000,
            samples=31,
            quick_samples=31,
            raw_meaning="ping-pong; worker calls a handler, sets a one-lock future",
        ),
        threading_workload(
            name="pool_ask",
            pin=True,
            full_only=True,
            group="round trips",
            label=f"ask round trip via a smallest-mailbox pool of {POOL_SIZE}",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations={SUBJECT: pool_ask_round_trip},
            size=2_000,
            quick_size=2_000,
            samples=31,
            quick_samples=31,
            targets=[Target("≤1.2× ask", SUBJECT, 1 / 1.2, workload="ask")],
        ),
        threading_workload(
            name="ask_observed",
            pin=True,
            full_only=True,
            group="round trips",
            label="ask, with snapshot() read every 0.1 s",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations={SUBJECT: ask_round_trip_observed, RAW: raw.ask_round_trip},
            size=2_000,
            quick_size=400,
            samples=31,
            quick_samples=11,
            raw_meaning="2 threads ping-pong via SimpleQueue",
            targets=[Target("≤1.05× ask", SUBJECT, 1 / 1.05, workload="ask")],
        ),
        threading_workload(
            name="actor_ask",
            pin=True,
            full_only=True,
            group="round trips",
            label="ask from one actor to another, round trip",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=_implementations(actor_ask_round_trip, raw.ask_round_trip),
            size=2_000,
            quick_size=400,
            samples=31,
            quick_samples=11,
            raw_meaning="2 threads ping-pong via SimpleQueue",
            targets=[_TWICE_PYKKA, _NEAR_RAW],
        ),
        threading_workload(
            name="proxy",
            pin=True,
            group="round trips",
            label="proxy method call round trip",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=_implementations(proxy_call, raw.call_round_trip),
            size=2_000,
            quick_size=2_000,
            samples=31,
            quick_samples=61,
            raw_meaning="ping-pong; worker calls method by name",
            targets=[_TWICE_PYKKA, _NEAR_RAW],
        ),
        threading_workload(
            name="traversable",
            pin=True,
            full_only=True,
            group="round trips",
            label="traversable call proxy.sub.method()",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=_implementations(
                traversable_call, raw.nested_call_round_trip
            ),
            size=2_000,
            quick_size=400,
            samples=31,
            quick_samples=11,
            raw_meaning="ping-pong; worker calls obj.sub.method",
            targets=[Target("≤1.1× proxy call", SUBJECT, 1 / 1.1, workload="proxy")],
        ),
        threading_workload(
            name="tell",
            pin=True,
            group="tells",
            label="tell throughput",
            kind=Kind.THROUGHPUT,
            unit="msg/s",
            implementations=_implementations(tell_throughput, raw.tell_throughput),
            size=50_000,
            quick_size=50_000,
            quick_samples=21,
            warmup=1_000,
            raw_meaning="SimpleQueue.put to a worker thread",
            targets=[Target("≥5× pykka", PYKKA, 5.0)],
        ),
        threading_workload(
            name="pool_tell",
            pin=True,
            full_only=True,
            group="tells",
            label=f"tell throughput, round-robin pool of {POOL_SIZE}",
            kind=Kind.THROUGHPUT,
            unit="msg/s",
            implementations={SUBJECT: pool_tell_throughput},
            size=50_000,
            quick_size=50_000,
            quick_samples=21,
            warmup=1_000,
            notes=[
                "For comparison with the tell row above: with the GIL, thread "
                "members handle tells no faster than one actor, so the row shows "
                "what routing and waking several threads cost."
            ],
        ),
        threading_workload(
            name="pipelined",
            pin=True,
            full_only=True,
            label="pipelined asks + get_all",
            kind=Kind.THROUGHPUT,
            unit="asks/s",
            implementations=_implementations(pipelined_asks, raw.pipelined_asks),
            size=20_000,
            quick_size=5_000,
            warmup=1_000,
            raw_meaning="n puts, then n gets of the replies",
            targets=[Target("≥6× pykka", PYKKA, 6.0)],
        ),
        threading_workload(
            name="spawn",
            pin=True,
            label="spawn + stop",
            kind=Kind.THROUGHPUT,
            unit="actors/s",
            implementations=_implementations(spawn_stop, raw.spawn_stop),
            size=1_000,
            quick_size=1_000,
            quick_samples=21,
            warmup=20,
            raw_meaning="Thread start, stop via SimpleQueue, join",
            targets=[_TWICE_PYKKA],
        ),
        threading_workload(
            name="live",
            pin=True,
            full_only=True,
            label="{n:,} live actors: started, asked once, all stopped",
            kind=Kind.THROUGHPUT,
            unit="actors/s",
            implementations=_implementations(start_ask_stop, raw.start_ask_stop),
            size=500,
            quick_size=500,
            samples=9,
            quick_samples=5,
            warmup=0,
            raw_meaning="n threads on queues: start, one echo each, stop & join",
            targets=[_TWICE_PYKKA],
        ),
        threading_workload(
            name="stop_all",
            full_only=True,
            label="ActorRegistry.stop_all(), {n:,} actors",
            kind=Kind.DURATION,
            unit="s",
            implementations=_implementations(stop_all, raw.stop_all),
            size=10_000,
            # Starting the threads, untimed, takes most of a sample's time.
            quick_size=500,
            samples=3,
            quick_samples=3,
            warmup=0,
            raw_meaning="stop & join n threads blocked on queues",
            targets=[_TWICE_PYKKA],
        ),
        threading_workload(
            name="rss",
            label="memory per live actor, {n:,} actors",
            kind=Kind.AMOUNT,
            unit="KiB",
            # Each sample in a new process, where no freed memory is reused.
            implementations={
                SUBJECT: functools.partial(fresh.sample, f"{__name__}:rss_limelight"),
                PYKKA: functools.partial(fresh.sample, f"{__name__}:rss_pykka"),
                RAW: functools.partial(fresh.sample, f"{raw.__name__}:rss_per_thread"),
            },
            size=2_000,
            quick_size=200,
            samples=5,
            quick_samples=3,
            warmup=0,
            raw_meaning="a thread blocked on a SimpleQueue",
        ),
    ]
