"""The eventlet runtime's workloads: ``EventletActor`` against raw eventlet.

The rows are the greenlet runtimes' (:mod:`limelight._bench.green_rows`),
measured in an eventlet hub, against two green threads talking through
``eventlet.queue.Queue`` (:mod:`limelight._bench.raw_eventlet`). Without
eventlet installed (``pip install 'limelight[eventlet]'``) there are no rows.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from limelight._bench import green_rows, raw_eventlet

if TYPE_CHECKING:
    import limelight
    from limelight._bench.harness import Workload

__all__ = [
    "LIBRARY",
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


def _actor_class() -> type[limelight.Actor]:
    raw_eventlet.eventlet()  # (imported quietly, before the runtime)
    from limelight.eventlet import EventletActor  # noqa: PLC0415 -- needs eventlet

    return EventletActor


def _spawn_and_wait(measure: Callable[[int], T], n: int) -> T:
    result: T = raw_eventlet.eventlet().spawn(measure, n).wait()
    return result


def _destroy_hub() -> None:
    raw_eventlet.eventlet()  # (imported quietly, before the runtime)
    from limelight._runtimes.greenlet.eventlet_hub import RUNTIME  # noqa: PLC0415

    RUNTIME.adapter.destroy_hub(RUNTIME.adapter.make_hub())


def _prepare() -> None:
    # (In the caller's thread: eventlet imported first in a sample's own
    # thread can hang on Python 3.10.)
    raw_eventlet.eventlet()  # (imported quietly, before the runtime)
    importlib.import_module("limelight._runtimes.greenlet.eventlet_hub")


LIBRARY = green_rows.GreenLibrary(
    name=RUNTIME_NAME,
    module=__name__,
    green_thread="green thread",
    raw=raw_eventlet,
    actor_class=_actor_class,
    spawn_and_wait=_spawn_and_wait,
    destroy_hub=_destroy_hub,
    prepare=_prepare,
)


def in_hub(measure: Callable[[int], T], n: int) -> T:
    """Run `measure(n)` in a green thread of a new eventlet hub, in a new thread."""
    return green_rows.in_hub(LIBRARY, measure, n)


ask_in_hub: Callable[[int], float] = functools.partial(green_rows.ask_in_hub, LIBRARY)
proxy_in_hub: Callable[[int], float] = functools.partial(
    green_rows.proxy_in_hub, LIBRARY
)
tell_in_hub: Callable[[int], float] = functools.partial(green_rows.tell_in_hub, LIBRARY)
spawn_stop_in_hub: Callable[[int], float] = functools.partial(
    green_rows.spawn_stop_in_hub, LIBRARY
)
rss_limelight: Callable[[int], float] = functools.partial(
    green_rows.rss_limelight, LIBRARY
)
rss_raw: Callable[[int], float] = functools.partial(green_rows.rss_raw, LIBRARY)


def workloads() -> list[Workload]:
    """The eventlet runtime's workloads, in order; none without eventlet."""
    return green_rows.workloads(LIBRARY)
