"""The runtimes the conformance suite runs against: the one place that names them.

Each runtime is described by a `Runtime`. Conformance tests receive one
through the `runtime` fixture and must use nothing runtime-specific besides
it: no direct import of an actor or future class of a runtime.

Actor classes in the tests are written as *behaviours*: plain subclasses of
`limelight.Actor`, which type checkers fully understand. `Runtime.actor()`
turns a behaviour into a startable class of that runtime, so the same
behaviour runs on every runtime. To add a runtime, append a `Runtime` to
`RUNTIMES`.

Runtimes differ as data, not as lists of tests: `CAPABILITIES` names what
a runtime may lack, and why; a `Runtime` says what it `lacks`. A test that
needs a capability says so with ``@pytest.mark.needs("name", ...)``, and
the `runtime` fixture (tests/conftest.py) skips it, with the reason, on a
runtime that lacks one. A capability a runtime has but with a known
intermittent failure is in its `intermittent`: the tests that need it are
marked ``xfail(strict=False)`` there, with the reason.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import multiprocessing
import multiprocessing.managers
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.managers import BaseProxy, ListProxy, SyncManager
from typing import Any, Protocol, TypeVar, cast

import limelight
import limelight.asyncio
import limelight.ray
from limelight._core._stopped import StoppedEvent

__all__ = ["CAPABILITIES", "RUNTIMES", "Event", "Runtime"]

A = TypeVar("A", bound=limelight.Actor)


class Event(Protocol):
    """What the tests need of an event: the `threading.Event` interface."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


CAPABILITIES: Mapping[str, str] = {
    # -- What an actor in another process (a worker, a Ray host) cannot offer.
    "local_classes": (
        "the behaviour is a class defined in the test function, which a worker "
        "process cannot import (refused with a TypeError that says so)"
    ),
    "local_context_vars": (
        "the behaviour refers to a ContextVar of the test's process, which cannot "
        "be pickled (and the context an actor elsewhere observes is its process's)"
    ),
    "local_logs": (
        "the actor logs in its own process, where the test's log capture is not"
    ),
    "local_introspection": (
        "the registry, dead letters, limelight.observe and deadlock detection "
        "see the actors of their own process: the actor's are in another"
    ),
    "base_exception_spreads": (
        "a BaseException stops every actor of the process it is raised in, not "
        "those of the test's process"
    ),
    "local_tracebacks": (
        "a traceback is not pickled: the caller's exception cannot show the "
        "frames of the actor's process"
    ),
    "local_mailbox_capacity": (
        "mailbox_capacity limits the inbox in the actor's process: the test's "
        "sends neither block nor raise MailboxFull, and the test cannot see "
        "that inbox"
    ),
    "shared_objects": (
        "objects cross as pickled copies: the test's object or mock is not the "
        "one the actor sees"
    ),
    "futures_sent_to_actors": (
        "a future cannot be set from another process: one sent to a worker "
        "process is a copy, completed from where it was sent, not set there, "
        "and Ray refuses to send one (TypeError)"
    ),
    "threading_events": (
        "the test hands the actor a threading.Event of its own process, which "
        "cannot be pickled"
    ),
    "local_timers": (
        "the test is handed the actor's Timer or the actor itself, which hold "
        "locks and queues of the actor's process and cannot be pickled"
    ),
    "local_actor_object": (
        "the test looks inside the actor object, which lives in another "
        "process: the test holds only its ref"
    ),
    "others_run_while_one_is_held": (
        "a plain handler waiting for the test's event holds up the actors' "
        "event loop, and every other actor on it: a second actor could not "
        "start, nor answer, until the first is let go"
    ),
    "queued_when_sent": (
        "a message is queued only once it reaches the actor's process (read "
        "from the pipe by the worker, or a Ray call arriving at the host), not "
        "when tell() returns: a message the actor sends itself, such as a "
        "zero-delay timer's, can be queued before the test's second one "
        "(see docs/processes.md)"
    ),
    "uninterrupted_tells": (
        "the actor can handle a message before the test's next tell() has "
        "queued its own: waking an asyncio loop or an eventlet hub from another "
        "thread is a system call (for eventlet, a socket write), during which "
        "the loop's thread can take the GIL; a worker process or Ray host "
        "queues a message only once it arrives"
    ),
    "stopped_seen_before_on_stop": (
        "the test's ref learns that the actor stopped only once its on_stop() "
        "has run, in the actor's process"
    ),
    # -- What the process runtime's worker pool cannot offer.
    "refs_in_shared_lists": (
        "the actor puts refs (its own, or in Terminated messages) in the test's "
        "shared list: a multiprocessing manager's list, which pickles what it is "
        "given outside any limelight channel, where refs cannot be pickled"
    ),
    "steady_thread_count": (
        "counts the test process's threads, and the process pool adds a reader "
        "thread for each worker it starts"
    ),
    # -- What an actor in a Ray host cannot offer.
    "refs_to_the_test_process": (
        "the actor is handed a ref to a local actor of the test process (a "
        "probe), which cannot reach a Ray actor (refused with a TypeError)"
    ),
    "watchers_told_before_stop_returns": (
        "a watcher in another host learns of the end from that host's own call "
        "to the watched actor's host, which may come after stop() returns and "
        "after the test's next message to the watcher (the pool places the "
        "actors of a test in different hosts)"
    ),
    "ends_told_in_order": (
        "the watcher learns of the ends of two linked actors from their hosts, "
        "by calls from two hosts, which can arrive in either order (failed once "
        "in a full run)"
    ),
}
"""What a conformance test may need that some runtime lacks: why it may lack it.

A test names what it needs with ``@pytest.mark.needs(...)``; a runtime's
`Runtime.lacks` and `Runtime.intermittent` name entries of this table.
Before adding one, test what it stands for some other way, in the runtime's
own tests.
"""


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

    marks: tuple[str, ...] = ()
    """Names of the pytest marks its tests carry, such as ``"ray"``."""

    conformance_only: bool = False
    """Whether only the conformance suite runs on it, not every test with `runtime`.

    For a runtime whose every message is a network call: the stress and
    fault-injection tests send far too many for their time budget.
    """

    lacks: frozenset[str] = frozenset()
    """The `CAPABILITIES` it lacks: tests that need one are skipped, with its reason."""

    intermittent: frozenset[str] = frozenset()
    """The `CAPABILITIES` it has, but with a known intermittent failure.

    Tests that need one are marked ``xfail(strict=False)`` with its reason:
    they still run, and a failure is reported as expected, not hidden.
    """

    only_marked: str = ""
    """The mark of the conformance tests it runs; all of them if empty.

    For a runtime whose every actor is slow to start: it runs the tests of
    what differs on it, and skips the others with `others_skipped`.
    """

    others_skipped: str = ""
    """Why it skips the conformance tests without the `only_marked` mark."""

    def lacked(self, needed: Iterable[str]) -> str | None:
        """The first of the `needed` capabilities that this runtime lacks, if any."""
        return next((name for name in needed if name in self.lacks), None)

    def unreliable(self, needed: Iterable[str]) -> str | None:
        """The first of the `needed` capabilities it has only intermittently, if any."""
        return next((name for name in needed if name in self.intermittent), None)

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
        # (A class that only combines two importable classes: the process
        # runtime rebuilds it in its workers.)
        made = cast(
            "type[A]",
            type(behaviour.__name__, (behaviour, self.actor_class), namespace),
        )
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
    # (test_asyncio_runtime.py tests a stop behind queued tells without the race.)
    lacks=frozenset({"uninterrupted_tells", "others_run_while_one_is_held"}),
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

    from limelight._runtimes.greenlet.eventlet_hub import RUNTIME  # noqa: PLC0415

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
        # (test_eventlet_runtime.py tests a stop behind queued tells without the race.)
        lacks=frozenset({"uninterrupted_tells"}),
    )


EVENTLET = _eventlet_runtime()
"""eventlet's runtime, or None without eventlet: then its tests are skipped."""
if EVENTLET is not None:  # pragma: no branch -- eventlet is installed for the tests
    RUNTIMES.append(EVENTLET)


# -- Process actors ------------------------------------------------------------------


class SharedList(ListProxy):  # type: ignore[type-arg]  # noqa: PLW1641 # pyright: ignore[reportMissingTypeArgument] -- (not subscriptable on 3.10; unhashable, as a list)
    """A list kept by the manager process: actors in workers append to it.

    Reading it in the test copies it (one round trip), so comparing it with a
    list and showing it in an assertion work as for a plain list.
    """

    def _callmethod(
        self, methodname: str, args: tuple[Any, ...] = (), kwds: Any = None
    ) -> Any:
        """As a proxy does, again if this thread's connection was closed under it.

        CPython's proxies share one connection per thread, and the finalizer
        of any proxy to the same list (an ended actor's, collected at any
        allocation of this thread) closes it once it counts no proxy left to
        the list, though others remain: the call then fails before anything
        was sent (``TypeError``, ``OSError``), and is made again on a new
        connection.
        """
        kwds = {} if kwds is None else kwds
        try:
            return super()._callmethod(methodname, args, kwds)
        except (TypeError, OSError):
            # (The proxy's per-thread state: not in the stubs.)
            tls: Any = getattr(self, "_tls")  # noqa: B009
            connection = getattr(tls, "connection", None)
            if connection is not None and not connection.closed:
                raise  # (not that: a real error)
            with contextlib.suppress(AttributeError):
                del tls.connection
            return super()._callmethod(methodname, args, kwds)

    def _copy(self) -> list[Any]:
        copy: list[Any] = self[:]  # pyright: ignore[reportUnknownVariableType] -- (untyped proxy)
        return copy

    def __eq__(self, other: object) -> bool:
        return self._copy() == other

    def __iter__(self) -> Iterator[Any]:
        return iter(self._copy())

    def __repr__(self) -> str:
        return repr(self._copy())


class _SharedState(SyncManager):
    """The manager process that holds what tests share with process actors."""


_SharedState.register("shared_list", list, SharedList)
_shared_state: list[_SharedState] = []  # one, started on first use
_shared_state_lock = threading.Lock()


def _shared() -> _SharedState:
    """The session's manager process, started on first use, ended at exit."""
    with _shared_state_lock:
        if not _shared_state:
            from limelight._runtimes import processes  # noqa: PLC0415

            method = processes.default_start_method()
            manager = _SharedState(ctx=multiprocessing.get_context(method))
            manager.start()
            _shared_state.append(manager)
        return _shared_state[0]


def _process_event() -> Event:
    """An event in the manager process: set or waited for in any process."""
    return _shared().Event()


def _process_list() -> list[Any]:
    return cast("list[Any]", cast("Any", _shared()).shared_list())


_ACROSS_PROCESSES = frozenset(
    {
        "local_context_vars",
        "local_logs",
        "local_introspection",
        "base_exception_spreads",
        "local_tracebacks",
        "local_mailbox_capacity",
        "shared_objects",
        "futures_sent_to_actors",
        "threading_events",
        "local_timers",
        "local_actor_object",
        "queued_when_sent",
        "uninterrupted_tells",
        "stopped_seen_before_on_stop",
    }
)
"""What an actor in another process lacks: a worker process or a Ray host."""


def _process_runtime() -> Runtime:
    import limelight.process  # noqa: PLC0415 -- imports multiprocessing

    return Runtime(
        name="process",
        actor_class=limelight.process.ProcessActor,
        future_class=limelight.process.ProcessFuture,
        event_class=_process_event,
        sleep=time.sleep,  # (in a worker, the actor has a thread of its own)
        shared_list=_process_list,
        lacks=_ACROSS_PROCESSES
        | {"local_classes", "refs_in_shared_lists", "steady_thread_count"},
    )


PROCESS = _process_runtime()
"""limelight.process: actors in a warm pool of worker processes (see conftest)."""
RUNTIMES.append(PROCESS)


# -- Ray actors ----------------------------------------------------------------------


class _Travelling(BaseProxy):
    """A manager's proxy that takes the manager's authkey wherever it is pickled.

    multiprocessing sends the key only to processes it starts itself; a Ray
    worker was not, so it could not connect to the manager without it. (For
    tests only: the key then travels in Ray's object store.)
    """

    def __reduce__(self) -> tuple[Any, ...]:
        authkey = bytes(cast("Any", self)._authkey)
        token, serializer = cast("Any", self)._token, cast("Any", self)._serializer
        rebuild: Any = getattr(multiprocessing.managers, "RebuildProxy")  # noqa: B009 -- (not in typeshed)
        return rebuild, (type(self), token, serializer, {"authkey": authkey})


class RayEvent(_Travelling):
    """An event in the manager process: set or waited for in any Ray worker."""

    _exposed_ = ("set", "is_set", "wait")

    def set(self) -> None:
        self._callmethod("set")

    def is_set(self) -> bool:
        return bool(cast("Any", self)._callmethod("is_set"))

    def wait(self, timeout: float | None = None) -> bool:
        return bool(cast("Any", self)._callmethod("wait", (timeout,)))


class RaySharedList(_Travelling, SharedList):
    """A list in the manager process, appended to from any Ray worker.

    Each item is kept pickled by Ray's cloudpickle, and unpickled where the
    list is read: the manager must not unpickle a Ray ref itself, which
    would connect it to Ray.
    """

    def append(self, item: Any) -> None:
        self._callmethod("append", (_ray_pickle().dumps(item),))

    def __contains__(self, item: object) -> bool:
        return item in self._copy()

    def __getitem__(self, index: Any) -> Any:
        kept = cast("Any", self)._callmethod("__getitem__", (index,))
        loads = _ray_pickle().loads
        return (
            [loads(item) for item in kept] if isinstance(index, slice) else loads(kept)
        )


def _ray_pickle() -> Any:
    """Ray's cloudpickle, which pickles classes made in a test function by value."""
    import ray.cloudpickle  # noqa: PLC0415 -- only with Ray

    return ray.cloudpickle


_SharedState.register("ray_event", threading.Event, RayEvent)
_SharedState.register("ray_list", list, RaySharedList)


def _ray_event() -> Event:
    return cast("Event", cast("Any", _shared()).ray_event())


def _ray_list() -> list[Any]:
    return cast("list[Any]", cast("Any", _shared()).ray_list())


# A Ray host is a worker process too: what an actor in another process lacks,
# an actor in a host lacks too. But classes made in a test function travel
# (by value), and so do refs, also in the test's shared lists.
_RAY_LACKS = _ACROSS_PROCESSES | {
    "refs_to_the_test_process",
    "watchers_told_before_stop_returns",
    "ends_told_in_order",
}
DEDICATED_HOST = "dedicated_host"
"""The mark of the conformance tests of what a host of its own changes.

How the actor's end is learnt and its host retired (stop, kill, failures,
watches, links, supervision), asks handled in Ray's thread (deadlocks,
order) and proxy calls sent as lists. Not the tests whose supervisor starts
several children before the test's 10 s asks: worker starts take seconds
each on a loaded machine.
"""
_DEDICATED_SKIPPED = (
    "each actor starts a Ray worker process, so only the tests of what a "
    "host of its own changes run here; this one runs on pooled hosts"
)


def _ray_runtime(*, pooled: bool) -> Runtime | None:
    """Ray's runtime, if Ray is installed (`limelight[ray]`): pooled hosts or not.

    With `pooled`, the suite's actors share the pool's hosts, so that its
    many short-lived actors start with a call to a running host. Without,
    each has a host of its own, as a `RayActor` by default: it answers for
    its actor alone, handles an idle actor's asks in Ray's thread, and
    retires once the actor has ended. Each such actor starts a Ray worker
    process (a third of a second or more), so the whole suite would take
    some 9 minutes per Python: it runs only the tests marked
    `DEDICATED_HOST`, those of what a host of its own changes, less those
    that need what Ray lacks.
    """
    if importlib.util.find_spec("ray") is None:  # pragma: no cover -- installed
        return None
    from tests.ray_actors import DedicatedActor, PooledActor  # noqa: PLC0415 -- imports limelight.ray

    return Runtime(
        name="ray" if pooled else "ray-dedicated",
        actor_class=PooledActor if pooled else DedicatedActor,
        future_class=limelight.ray.RayFuture,
        event_class=_ray_event,
        sleep=time.sleep,  # (in its host, the actor has a thread of its own)
        shared_list=_ray_list,
        marks=("ray",),
        conformance_only=True,
        lacks=_RAY_LACKS,
        only_marked="" if pooled else DEDICATED_HOST,
        others_skipped="" if pooled else _DEDICATED_SKIPPED,
    )


RAY = _ray_runtime(pooled=True)
"""limelight.ray with pooled hosts, or None without Ray: then its tests are skipped."""
RAY_DEDICATED = _ray_runtime(pooled=False)
"""limelight.ray with a host per actor, or None without Ray."""
RUNTIMES.extend(ray for ray in (RAY, RAY_DEDICATED) if ray is not None)


def runtime_params(runtimes: Iterable[Runtime]) -> list[Any]:
    """The params of a `runtime` fixture over `runtimes`: one each, with its marks."""
    import pytest  # noqa: PLC0415 -- (this module is imported by workers too)

    return [
        pytest.param(
            runtime,
            id=runtime.name,
            marks=[getattr(pytest.mark, mark) for mark in runtime.marks],
        )
        for runtime in runtimes
    ]


def skip_unless_capable(node: Any, runtime: Runtime) -> None:
    """Skip the test `node` if `runtime` lacks a capability it ``needs``.

    Fails it if it names a capability that `CAPABILITIES` does not know.
    """
    import pytest  # noqa: PLC0415 -- (as above)

    needed = needed_by(node)
    unknown = [name for name in needed if name not in CAPABILITIES]
    if unknown:
        pytest.fail(
            f"needs unknown capabilities {unknown}: see CAPABILITIES in "
            "tests/runtimes.py",
            pytrace=False,
        )
    lacked = runtime.lacked(needed)
    if lacked is not None:
        pytest.skip(f"{runtime.name} lacks {lacked}: {CAPABILITIES[lacked]}")


def needed_by(node: Any) -> list[str]:
    """The capabilities that the test `node` ``needs`` (its marks say)."""
    return [name for mark in node.iter_markers("needs") for name in mark.args]
