"""The gevent runtime's workloads: ``GeventActor`` against raw gevent.

The rows are the greenlet runtimes' (:mod:`limelight._bench.green_rows`),
measured in a gevent hub, against two greenlets talking through
``gevent.queue.Queue`` (:mod:`limelight._bench.raw_gevent`). Without gevent
installed (``pip install 'limelight[gevent]'``) there are no rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from limelight._bench import green_rows, raw_gevent

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

RUNTIME_NAME = "gevent"

T = TypeVar("T")


def _actor_class() -> type[limelight.Actor]:
    from limelight.gevent import GeventActor  # noqa: PLC0415 -- needs gevent

    return GeventActor


def _spawn_and_wait(measure: Callable[[int], T], n: int) -> T:
    import gevent  # noqa: PLC0415 -- only when gevent's rows run

    return gevent.spawn(measure, n).get()  # pyright: ignore[reportUnknownVariableType] -- untyped in the stubs


def _destroy_hub() -> None:
    import gevent  # noqa: PLC0415 -- only when gevent's rows run

    gevent.get_hub().destroy(destroy_loop=True)


LIBRARY = green_rows.GreenLibrary(
    name=RUNTIME_NAME,
    module=__name__,
    green_thread="greenlet",
    raw=raw_gevent,
    actor_class=_actor_class,
    spawn_and_wait=_spawn_and_wait,
    destroy_hub=_destroy_hub,
)


def in_hub(measure: Callable[[int], T], n: int) -> T:
    """Run `measure(n)` in a greenlet of a new gevent hub, in a new thread."""
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
    """The gevent runtime's workloads, in the order they run; none without gevent."""
    return green_rows.workloads(LIBRARY)
