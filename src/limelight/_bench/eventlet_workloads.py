"""The eventlet runtime's workloads: ``EventletActor`` against raw eventlet.

As for gevent, every row runs *in the hub*: a green thread talks to an actor
that lives in its own hub, which is how eventlet programs use actors, and
the raw column does the same exchange between two green threads through
``eventlet.queue.Queue`` (:mod:`limelight._bench.raw_eventlet`). Each sample
gets a new thread with a hub of its own, destroyed afterwards, so that no
other workload finds a hub in its thread.

Without eventlet installed (``pip install 'limelight[eventlet]'``) there are
no rows.
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from limelight._bench import fresh, raw_eventlet
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
    "RUNTIME_NAME",
    "ask_in_hub",
    "in_hub",
    "proxy_in_hub",
    "rss_limelight",
    "rss_raw",
    "spawn_stop_in_hub",
    "tell_in_hub",
    "workloads",
]

RUNTIME_NAME = "eventlet"

T = TypeVar("T")


def in_hub(measure: Callable[[int], T], n: int) -> T:
    """Run `measure(n)` in a green thread of a new hub, in a new thread; return it."""
    eventlet = raw_eventlet.eventlet()  # (imported quietly, before the runtime)
    from limelight._runtimes.eventlet_hub import RUNTIME  # noqa: PLC0415

    def run() -> None:
        try:
            result.append(eventlet.spawn(measure, n).wait())
        except BaseException as exc:  # noqa: BLE001 -- raised in the caller
            errors.append(exc)
        finally:
            RUNTIME.adapter.destroy_hub(RUNTIME.adapter.make_hub())

    result: list[T] = []
    errors: list[BaseException] = []
    thread = threading.Thread(target=run, name="limelight-bench-eventlet")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def _hub(measure: Callable[[int], T]) -> Callable[[int], T]:
    return functools.partial(in_hub, measure)


def _start_echo() -> limelight.ActorRef[Any]:
    raw_eventlet.eventlet()  # (imported quietly, before the runtime)
    from limelight.eventlet import EventletActor  # noqa: PLC0415 -- needs eventlet

    class EventletEcho(EventletActor):
        """Answers every message with itself; ``call()`` returns its argument."""

        def on_receive(self, message: Any) -> Any:
            return message

        def call(self, value: Any) -> Any:
            return value

    global _start_echo  # noqa: PLW0603 -- the class is made once, on first use
    _start_echo = EventletEcho.start
    return _start_echo()


def ask_in_hub(n: int) -> float:
    """``ref.ask(message)``, `n` times, from a green thread of the actor's hub."""
    ref = _start_echo()
    try:
        ask = ref.ask
        start = time.perf_counter()
        for i in range(n):
            ask(i)
        return time.perf_counter() - start
    finally:
        ref.stop()


def proxy_in_hub(n: int) -> float:
    """``proxy.call(value).get()``, `n` times, from a green thread in the hub."""
    ref = _start_echo()
    try:
        call = ref.proxy().call
        start = time.perf_counter()
        for i in range(n):
            call(i).get()
        return time.perf_counter() - start
    finally:
        ref.stop()


def tell_in_hub(n: int) -> float:
    """`n` ``ref.tell(message)`` from the actor's hub, then one ask."""
    ref = _start_echo()
    try:
        tell = ref.tell
        start = time.perf_counter()
        for i in range(n):
            tell(i)
        ref.ask(None)
        return time.perf_counter() - start
    finally:
        ref.stop()


def spawn_stop_in_hub(n: int) -> float:
    """Start an actor in the hub and ``stop()`` it, `n` times."""
    _start_echo().stop()  # the class is made outside the timing
    start_echo = _start_echo
    start = time.perf_counter()
    for _ in range(n):
        start_echo().stop()
    return time.perf_counter() - start


def _rss_per_actor(n: int) -> float:
    # What the first actor sets up once is no single actor's cost.
    _start_echo().stop()
    gc.collect()
    before = resident_bytes()
    refs = [_start_echo() for _ in range(n)]
    try:
        for future in [ref.ask(None, block=False) for ref in refs]:
            future.get()
        added = resident_bytes() - before
    finally:
        for future in [ref.stop(block=False) for ref in refs]:
            future.get()
    return added / n / 1024


def rss_limelight(n: int) -> float:
    """The resident memory, in KiB, that each of `n` live, idle actors in a hub adds.

    Meant for a fresh process (see ``threading_workloads.rss_per_actor``).
    """
    return in_hub(_rss_per_actor, n)


def rss_raw(n: int) -> float:
    """:func:`raw_eventlet.rss_per_greenlet` in a hub; for a fresh process."""
    return in_hub(raw_eventlet.rss_per_greenlet, n)


# -- The workloads --------------------------------------------------------------------


_NEAR_RAW = Target("≤1.5× raw", RAW, 1 / 1.5)
_TELLS = Target.fixed("≥2M msg/s", 2e6)


def workloads() -> list[Workload]:
    """The eventlet workloads, in the order they run; none without eventlet."""
    if importlib.util.find_spec("eventlet") is None:
        return []
    workload = functools.partial(
        Workload,
        runtime=RUNTIME_NAME,
        check=tw.leftover_actors,
        may_linger=lambda thread: thread.name == "limelight-eventlet",
    )

    def implementations(
        measure: Callable[[int], float], raw_measure: Callable[[int], float]
    ) -> dict[str, Implementation]:
        return {SUBJECT: _hub(measure), RAW: _hub(raw_measure)}

    return [
        workload(
            name="ask",
            group="eventlet round trips",
            label="in-hub ask: ref.ask() from a green thread",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=implementations(ask_in_hub, raw_eventlet.ask_round_trip),
            size=5_000,
            quick_size=1_000,
            samples=31,
            quick_samples=11,
            raw_meaning="2 green threads ping-pong via 2 eventlet Queues",
            targets=[_NEAR_RAW],
        ),
        workload(
            name="proxy",
            group="eventlet round trips",
            label="in-hub proxy call: proxy.method().get()",
            kind=Kind.LATENCY,
            unit="µs/op",
            implementations=implementations(proxy_in_hub, raw_eventlet.call_round_trip),
            size=5_000,
            quick_size=1_000,
            samples=31,
            quick_samples=11,
            raw_meaning="green thread ping-pong; worker calls method by name",
            targets=[_NEAR_RAW],
        ),
        workload(
            name="tell",
            label="in-hub tell throughput",
            kind=Kind.THROUGHPUT,
            unit="msg/s",
            implementations=implementations(tell_in_hub, raw_eventlet.tell_throughput),
            size=100_000,
            quick_size=20_000,
            warmup=1_000,
            raw_meaning="Queue.put to a worker green thread",
            targets=[_TELLS],
        ),
        workload(
            name="spawn",
            label="in-hub spawn + stop",
            kind=Kind.THROUGHPUT,
            unit="actors/s",
            implementations=implementations(spawn_stop_in_hub, raw_eventlet.spawn_stop),
            size=5_000,
            quick_size=1_000,
            warmup=50,
            raw_meaning="spawn, stop via Queue, wait",
        ),
        workload(
            name="rss",
            label="memory per live actor in a hub, {n:,} actors",
            kind=Kind.AMOUNT,
            unit="KiB",
            # Each sample in a new process, where no freed memory is reused.
            implementations={
                SUBJECT: functools.partial(fresh.sample, f"{__name__}:rss_limelight"),
                RAW: functools.partial(fresh.sample, f"{__name__}:rss_raw"),
            },
            size=100_000,
            quick_size=100_000,
            samples=3,
            quick_samples=1,
            warmup=0,
            raw_meaning="a green thread blocked on an eventlet Queue",
        ),
    ]
