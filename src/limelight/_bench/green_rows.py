"""What the greenlet runtimes' workloads share: rows measured *in the hub*.

A greenlet talks to an actor that lives in its own hub, as programs built
on a greenlet library do, and the raw column is the same exchange between
two greenlets through the library's own queue. Each sample runs in a new
thread with a hub of its own, which is destroyed after it, so that no other
workload finds a hub in its thread.

A library's module (``gevent_workloads``, ``eventlet_workloads``) describes
the library once, as a :class:`GreenLibrary`, and binds these functions to
it; without the library installed, it has no rows. They are all in the
full run only (`--full`).
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from limelight._bench import fresh
from limelight._bench import threading_workloads as tw
from limelight._bench.harness import (
    RAW,
    SUBJECT,
    Implementation,
    Kind,
    Target,
    Workload,
    resident_bytes,
)

if TYPE_CHECKING:
    import limelight

__all__ = [
    "GreenLibrary",
    "RawGreen",
    "ask_in_hub",
    "in_hub",
    "proxy_in_hub",
    "rss_limelight",
    "rss_raw",
    "spawn_stop_in_hub",
    "tell_in_hub",
    "workloads",
]

T = TypeVar("T")


class RawGreen(Protocol):
    """A library's raw module (``raw_gevent``, ``raw_eventlet``): its own rows."""

    def ask_round_trip(self, n: int) -> float: ...
    def call_round_trip(self, n: int) -> float: ...
    def tell_throughput(self, n: int) -> float: ...
    def spawn_stop(self, n: int) -> float: ...
    def rss_per_greenlet(self, n: int) -> float: ...


@dataclass(frozen=True)
class GreenLibrary:
    """A greenlet library, as its benchmark rows need it."""

    name: str
    """The library's (and its runtime's) name: ``"gevent"``."""
    module: str
    """The module of its workloads, whose memory rows run in fresh processes."""
    green_thread: str
    """What the library calls a greenlet, for the rows' wording."""
    raw: RawGreen
    """Its raw rows."""
    actor_class: Callable[[], type[limelight.Actor]]
    """Import the runtime and return its actor class (only when rows run)."""
    spawn_and_wait: Callable[[Callable[[int], Any], int], Any]
    """Run ``measure(n)`` in a new greenlet of the calling thread's hub; its result."""
    destroy_hub: Callable[[], None]
    """Destroy the calling thread's hub, and its loop."""
    prepare: Callable[[], None] = lambda: None
    """Import what a sample needs, in the caller's thread, before the hub's."""


def in_hub(library: GreenLibrary, measure: Callable[[int], T], n: int) -> T:
    """Run `measure(n)` in a greenlet of a new hub, in a new thread, and return it."""
    library.prepare()

    def run() -> None:
        try:
            result.append(library.spawn_and_wait(measure, n))
        except BaseException as exc:  # noqa: BLE001 -- raised in the caller
            errors.append(exc)
        finally:
            library.destroy_hub()

    result: list[T] = []
    errors: list[BaseException] = []
    thread = threading.Thread(target=run, name=f"limelight-bench-{library.name}")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


# Each library's echo actor class, made once, on first use.
_echo_classes: dict[str, type[limelight.Actor]] = {}


def _start_echo(library: GreenLibrary) -> limelight.ActorRef[Any]:
    echo = _echo_classes.get(library.name)
    if echo is None:

        class Echo(library.actor_class()):  # type: ignore[misc]
            """Replies to every message with itself; ``call()`` returns its argument."""

            def on_receive(self, message: Any) -> Any:
                return message

            def call(self, value: Any) -> Any:
                return value

        echo = _echo_classes[library.name] = Echo
    return echo.start()


def ask_in_hub(library: GreenLibrary, n: int) -> float:
    """``ref.ask(message)``, `n` times, from a greenlet of the actor's hub."""
    ref = _start_echo(library)
    try:
        ask = ref.ask
        start = time.perf_counter()
        for i in range(n):
            ask(i)
        return time.perf_counter() - start
    finally:
        ref.stop()


def proxy_in_hub(library: GreenLibrary, n: int) -> float:
    """``proxy.call(value).get()``, `n` times, from a greenlet of the actor's hub."""
    ref = _start_echo(library)
    try:
        call = ref.proxy().call
        start = time.perf_counter()
        for i in range(n):
            call(i).get()
        return time.perf_counter() - start
    finally:
        ref.stop()


def tell_in_hub(library: GreenLibrary, n: int) -> float:
    """`n` ``ref.tell(message)`` from the actor's hub, then one ask."""
    ref = _start_echo(library)
    try:
        tell = ref.tell
        start = time.perf_counter()
        for i in range(n):
            tell(i)
        ref.ask(None)
        return time.perf_counter() - start
    finally:
        ref.stop()


def spawn_stop_in_hub(library: GreenLibrary, n: int) -> float:
    """Start an actor in the hub and ``stop()`` it, `n` times."""
    _start_echo(library).stop()  # the class is made outside the timing
    echo = _echo_classes[library.name]
    start = time.perf_counter()
    for _ in range(n):
        echo.start().stop()
    return time.perf_counter() - start


def _rss_per_actor(library: GreenLibrary, n: int) -> float:
    # Whatever the first actor sets up once is no one actor's cost.
    _start_echo(library).stop()
    gc.collect()
    before = resident_bytes()
    refs = [_start_echo(library) for _ in range(n)]
    try:
        for future in [ref.ask(None, block=False) for ref in refs]:
            future.get()
        added = resident_bytes() - before
    finally:
        for future in [ref.stop(block=False) for ref in refs]:
            future.get()
    return added / n / 1024


def rss_limelight(library: GreenLibrary, n: int) -> float:
    """The resident memory, in KiB, that each of `n` live, idle actors in a hub adds.

    Meant for a fresh process (see ``threading_workloads.rss_per_actor``).
    """
    return in_hub(library, functools.partial(_rss_per_actor, library), n)


def rss_raw(library: GreenLibrary, n: int) -> float:
    """The raw module's ``rss_per_greenlet()`` in a hub; for a fresh process."""
    return in_hub(library, library.raw.rss_per_greenlet, n)


# -- The workloads --------------------------------------------------------------------


_NEAR_RAW = Target("≤1.5× raw", RAW, 1 / 1.5)
_TELLS = Target.fixed("≥2M msg/s", 2e6)


def workloads(library: GreenLibrary) -> list[Workload]:
    """The library's workloads, in the order they run; none without the library."""
    if importlib.util.find_spec(library.name) is None:
        return []
    name = library.name
    green_thread = library.green_thread
    raw = library.raw
    workload = functools.partial(
        Workload,
        runtime=name,
        check=tw.leftover_actors,
        may_linger=lambda thread: thread.name == f"limelight-{name}",
        full_only=True,
    )

    def implementations(
        measure: Callable[[GreenLibrary, int], float],
        raw_measure: Callable[[int], float],
    ) -> dict[str, Implementation]:
        return {
            SUBJECT: functools.partial(
                in_hub, library, functools.partial(measure, library)
            ),
            RAW: functools.partial(in_hub, library, raw_measure),
        }

    return [
        workload(
            name="ask",
            group=f"{name} round trips",
            label=f"in-hub ask: ref.ask() from a {green_thread}",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=implementations(ask_in_hub, raw.ask_round_trip),
            size=5_000,
            quick_size=1_000,
            samples=31,
            quick_samples=11,
            raw_meaning=f"2 {green_thread}s ping-pong via 2 {name} Queues",
            targets=[_NEAR_RAW],
        ),
        workload(
            name="proxy",
            group=f"{name} round trips",
            label="in-hub proxy call: proxy.method().get()",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=implementations(proxy_in_hub, raw.call_round_trip),
            size=5_000,
            quick_size=1_000,
            samples=31,
            quick_samples=11,
            raw_meaning=f"{green_thread} ping-pong; worker calls method by name",
            targets=[_NEAR_RAW],
        ),
        workload(
            name="tell",
            label="in-hub tell throughput",
            kind=Kind.THROUGHPUT,
            unit="msg/s",
            implementations=implementations(tell_in_hub, raw.tell_throughput),
            size=100_000,
            quick_size=20_000,
            warmup=1_000,
            raw_meaning=f"Queue.put to a worker {green_thread}",
            targets=[_TELLS],
        ),
        workload(
            name="spawn",
            label="in-hub spawn + stop",
            kind=Kind.THROUGHPUT,
            unit="actors/s",
            implementations=implementations(spawn_stop_in_hub, raw.spawn_stop),
            size=5_000,
            quick_size=1_000,
            warmup=50,
            raw_meaning="spawn, stop via Queue, join",
            targets=[_NEAR_RAW],
        ),
        workload(
            name="rss",
            label="memory per live actor in a hub, {n:,} actors",
            kind=Kind.AMOUNT,
            unit="KiB",
            # Each sample in a new process, where no freed memory is reused.
            implementations={
                SUBJECT: functools.partial(
                    fresh.sample, f"{library.module}:rss_limelight"
                ),
                RAW: functools.partial(fresh.sample, f"{library.module}:rss_raw"),
            },
            size=100_000,
            quick_size=100_000,
            samples=3,
            quick_samples=1,
            warmup=0,
            raw_meaning=f"a {green_thread} blocked on a {name}.queue.Queue",
        ),
    ]
