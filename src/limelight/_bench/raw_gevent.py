"""The raw gevent primitives: what the gevent workloads boil down to without actors.

Greenlets and ``gevent.queue.Queue``, driven by
:class:`~limelight._bench.raw_green.RawGreen`: two greenlets, two queues, the
floor a gevent actor is measured from. Each function must run in a greenlet
of a hub (see ``gevent_workloads.in_hub``).
"""

from __future__ import annotations

from typing import Any, cast

from limelight._bench.raw_green import GreenQueue, RawGreen

__all__ = [
    "ask_round_trip",
    "call_round_trip",
    "rss_per_greenlet",
    "spawn_stop",
    "tell_throughput",
]


def _queue() -> GreenQueue:
    from gevent.queue import Queue  # noqa: PLC0415 -- only when gevent's rows run

    queue: Queue[Any] = Queue()
    return queue


def _spawn(work: Any, *args: object) -> Any:
    import gevent  # noqa: PLC0415 -- only when gevent's rows run

    return cast("Any", gevent.spawn(work, *args))


def _join(worker: Any) -> None:
    worker.join()


_RAW = RawGreen(_queue, _spawn, _join)
ask_round_trip = _RAW.ask_round_trip
call_round_trip = _RAW.call_round_trip
tell_throughput = _RAW.tell_throughput
spawn_stop = _RAW.spawn_stop
rss_per_greenlet = _RAW.rss_per_greenlet
