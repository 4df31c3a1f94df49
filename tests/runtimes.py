"""The runtimes the conformance suite runs against: the one place that names them.

Each runtime is described by a `Runtime`. Conformance tests receive one
through the `runtime` fixture and must use nothing runtime-specific besides
it: no direct import of an actor or future class of a runtime.

Actor classes in the tests are written as *behaviours*: plain subclasses of
`limelight.Actor`, which type checkers fully understand. `Runtime.actor()`
turns a behaviour into a startable class of that runtime, so the same
behaviour runs on every runtime. To add a runtime, append a `Runtime` to
`RUNTIMES`.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

import limelight
import limelight.asyncio
from limelight._core._stopped import StoppedEvent

__all__ = ["RUNTIMES", "Event", "Runtime"]

A = TypeVar("A", bound=limelight.Actor)


class Event(Protocol):
    """What the tests need of an event: the `threading.Event` interface."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class Runtime:
    """One runtime, as the conformance suite sees it."""

    name: str
    """Test id, such as ``"threading"``."""

    actor_class: type[limelight.Actor]
    """The runtime's actor base class, such as `limelight.ThreadingActor`."""

    future_class: type[limelight.Future[Any]]
    """The runtime's future class, such as `limelight.ThreadingFuture`."""

    event_class: Callable[[], Event]
    """Makes an event that both actors of this runtime and tests can use."""

    sleep: Callable[[float], None]
    """Sleeps without blocking other actors of this runtime."""

    shared_list: Callable[[], list[Any]]
    """Makes a list that actors append to and tests read (a plain list for threads)."""

    skips: Mapping[str, str] = field(
        default_factory=dict[str, str], compare=False, repr=False
    )
    """Conformance tests, by function name, that cannot apply to this runtime: why.

    The `runtime` fixture skips them with that reason. Keep it short, and
    test what such a test meant some other way, in the runtime's own tests.
    """

    _classes: dict[type[Any], type[Any]] = field(
        default_factory=dict[type[Any], type[Any]], compare=False, repr=False
    )

    def actor(self, behaviour: type[A]) -> type[A]:
        """Return `behaviour` as an actor class of this runtime.

        The class keeps the behaviour's name, so registry lookups by class
        name and refs' ``str()`` see the behaviour's name; it is a subclass
        of the behaviour, so lookups by class find it too. The same class is
        returned on every call.
        """
        if issubclass(behaviour, self.actor_class):
            return behaviour
        known = self._classes.get(behaviour)
        if known is not None:
            return cast("type[A]", known)
        qualname = f"{behaviour.__qualname__}__{self.name}"
        namespace: dict[str, Any] = {
            "__module__": behaviour.__module__,
            "__qualname__": qualname,
            "__doc__": behaviour.__doc__,
        }
        made = cast(
            "type[A]",
            type(behaviour.__name__, (behaviour, self.actor_class), namespace),
        )
        if "." not in qualname:
            # A module-level behaviour: make the runtime class findable by its
            # qualified name too, for runtimes that pickle actor classes.
            setattr(sys.modules[behaviour.__module__], qualname, made)
        self._classes[behaviour] = made
        return made


def _plain_list() -> list[Any]:
    return []


THREADING = Runtime(
    name="threading",
    actor_class=limelight.ThreadingActor,
    future_class=limelight.ThreadingFuture,
    event_class=threading.Event,
    sleep=time.sleep,
    shared_list=_plain_list,
)

ASYNCIO = Runtime(
    name="asyncio",
    actor_class=limelight.asyncio.AsyncioActor,
    future_class=limelight.asyncio.AsyncioFuture,
    # Tests start actors from plain code, so the actors live on the shared
    # background loop, and the tests' behaviours are plain (not `async def`)
    # methods. A plain handler cannot yield to its loop, so waiting for a
    # test's event or sleeping in one blocks the loop's thread: that holds up
    # the other actors on that loop, but never the test's own thread, which
    # sets the events, nor any other loop, and no conformance test needs a
    # second actor to go on while one is held up. Both are also called
    # outside actors, where blocking is what the tests want.
    event_class=threading.Event,
    sleep=time.sleep,
    shared_list=_plain_list,
    skips={
        "test_an_actor_can_stop_itself_after_its_queued_messages": (
            "races its second tell() against the actor handling the first: "
            "waking a loop from another thread is a system call, during which "
            "the loop's thread can take the GIL and stop the actor first; "
            "test_asyncio_runtime.py tests the same without the race"
        ),
    },
)

RUNTIMES: list[Runtime] = [THREADING, ASYNCIO]
"""Every runtime the conformance suite runs on; later runtimes are appended."""


class GreenEvent:
    """A `threading.Event` that a greenlet waits on without stopping its hub.

    Built on the core's `StoppedEvent`, which waits the way its caller's
    context needs: parked in a greenlet, on an OS lock in a plain thread.
    """

    def __init__(self) -> None:
        self._event = StoppedEvent()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


def _green_sleep(seconds: float) -> None:
    """`gevent.sleep()` in a greenlet of a hub, `time.sleep()` anywhere else."""
    from gevent import getcurrent, sleep  # noqa: PLC0415 -- only with gevent
    from gevent._hub_local import get_hub_if_exists  # noqa: PLC0415

    hub = get_hub_if_exists()
    if hub is None or getcurrent() is hub:
        time.sleep(seconds)
    else:
        sleep(seconds)


def _gevent_runtime() -> Runtime | None:
    """gevent's runtime, if gevent is installed (`limelight[gevent]`)."""
    try:
        import limelight.gevent  # noqa: PLC0415 -- only if installed
    except ImportError:  # pragma: no cover -- gevent is installed for the tests
        return None
    return Runtime(
        name="gevent",
        actor_class=limelight.gevent.GeventActor,
        future_class=limelight.gevent.GeventFuture,
        # Tests start actors from plain code, so they live on the background
        # hub; their events and sleeps let the hub's other actors go on.
        event_class=GreenEvent,
        sleep=_green_sleep,
        shared_list=_plain_list,
    )


GEVENT = _gevent_runtime()
"""gevent's runtime, or None without gevent: then its tests are skipped."""
if GEVENT is not None:  # pragma: no branch -- gevent is installed for the tests
    RUNTIMES.append(GEVENT)


def _eventlet_sleep(seconds: float) -> None:
    """`eventlet.sleep()` in a green thread of a hub, `time.sleep()` anywhere else."""
    from greenlet import getcurrent  # noqa: PLC0415 -- only with eventlet

    from limelight._runtimes.eventlet_hub import RUNTIME  # noqa: PLC0415

    hub = RUNTIME.adapter.current_hub()
    if hub is None or getcurrent() is hub.greenlet or not hub.runs(getcurrent()):
        time.sleep(seconds)
    else:
        eventlet: Any = importlib.import_module("eventlet")  # (no types)
        eventlet.sleep(seconds)


def _eventlet_runtime() -> Runtime | None:
    """eventlet's runtime, if eventlet is installed (`limelight[eventlet]`)."""
    try:
        import limelight.eventlet  # noqa: PLC0415 -- only if installed
    except ImportError:  # pragma: no cover -- eventlet is installed for the tests
        return None
    return Runtime(
        name="eventlet",
        actor_class=limelight.eventlet.EventletActor,
        future_class=limelight.eventlet.EventletFuture,
        # As gevent's: tests start actors from plain code, so they live on
        # the background hub; events and sleeps let its other actors go on.
        event_class=GreenEvent,
        sleep=_eventlet_sleep,
        shared_list=_plain_list,
        skips={
            "test_an_actor_can_stop_itself_after_its_queued_messages": (
                "races its second tell() against the actor handling the first, "
                "as on asyncio: waking an eventlet hub from another thread is a "
                "socket write, during which the hub's thread can take the GIL "
                "and stop the actor first; test_eventlet_runtime.py tests the "
                "same without the race"
            ),
        },
    )


EVENTLET = _eventlet_runtime()
"""eventlet's runtime, or None without eventlet: then its tests are skipped."""
if EVENTLET is not None:  # pragma: no branch -- eventlet is installed for the tests
    RUNTIMES.append(EVENTLET)
