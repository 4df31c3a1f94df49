"""The raw eventlet primitives: what the eventlet workloads come down to without actors.

Green threads and ``eventlet.queue.Queue``, driven by
:class:`~limelight._bench.raw_green.RawGreen`: the same floor as
``raw_gevent``, built from eventlet's own parts. Each function expects to run
in a green thread of a hub (see ``eventlet_workloads.in_hub``).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from limelight._bench.raw_green import GreenQueue, RawGreen

__all__ = [
    "ask_round_trip",
    "call_round_trip",
    "eventlet",
    "rss_per_greenlet",
    "spawn_stop",
    "tell_throughput",
]


def eventlet() -> Any:
    """The ``eventlet`` module (which has no types), imported without its warning.

    eventlet warns on import that it is in maintenance mode; the benchmark
    imports it on purpose, so the warning would only clutter its report.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("eventlet")


def _queue() -> GreenQueue:
    queue: GreenQueue = eventlet().queue.Queue()
    return queue


def _spawn(work: Any, *args: object) -> Any:
    return eventlet().spawn(work, *args)


def _join(worker: Any) -> None:
    worker.wait()


_RAW = RawGreen(_queue, _spawn, _join)
ask_round_trip = _RAW.ask_round_trip
call_round_trip = _RAW.call_round_trip
tell_throughput = _RAW.tell_throughput
spawn_stop = _RAW.spawn_stop
rss_per_greenlet = _RAW.rss_per_greenlet
