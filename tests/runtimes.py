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
import importlib.util
import multiprocessing
import multiprocessing.managers
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.managers import BaseProxy, ListProxy, SyncManager
from typing import Any, Protocol, TypeVar, cast

import limelight
import limelight.asyncio
import limelight.ray
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

    marks: tuple[str, ...] = ()
    """Names of the pytest marks its tests carry, such as ``"ray"``."""

    conformance_only: bool = False
    """Whether only the conformance suite runs on it, not every test with `runtime`.

    For a runtime whose every message is a network call: the stress and
    fault-injection tests send far too many for their time budget.
    """

    runs_only: frozenset[str] = frozenset()
    """The conformance tests it runs, by function name; all of them if empty.

    For a runtime whose every actor is slow to start: it runs the tests of
    what differs on it, and skips the others with `others_skipped`.
    """

    others_skipped: str = ""
    """Why it skips the conformance tests not in `runs_only`."""

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


# -- Process actors ------------------------------------------------------------------


class SharedList(ListProxy):  # type: ignore[type-arg]  # noqa: PLW1641 # pyright: ignore[reportMissingTypeArgument] -- (not subscriptable on 3.10; unhashable, as a list)
    """A list kept by the manager process: actors in workers append to it.

    Reading it in the test copies it (one round trip), so comparing it with a
    list and showing it in an assertion work as for a plain list.
    """

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


# Why conformance tests cannot apply to process actors (see docs/processes.md).
_LOCAL_CLASS = (
    "the behaviour is a class defined in the test function, which a worker "
    "cannot import (refused with a TypeError that says so)"
)
_LOGS = "the actor logs in its worker process, where the test's log capture is not"
_PER_PROCESS = (
    "the registry, dead letters, limelight.observe and deadlock detection "
    "see the actors of their own process: the actor's are in the worker"
)
_BASE_EXCEPTION = (
    "a BaseException stops every actor of the worker it is raised in, not "
    "those of the test's process"
)
_TRACEBACK = (
    "a traceback is not pickled: the caller's exception cannot show the worker's frames"
)
_MAILBOX = (
    "mailbox_capacity limits the worker's inbox: the parent's sends neither"
    " block nor raise MailboxFull, and the parent cannot see that inbox"
)
_COPIES = (
    "objects cross as pickled copies: the test's object, mock or future is "
    "not the one the actor sees (a future sent to a worker is completed "
    "from where it was sent, not set there)"
)
_TIMERS = (
    "the test is handed the actor's Timer or the actor itself, which hold "
    "locks and queues of the worker and cannot be pickled"
)
_REFS_IN_SHARED_LIST = (
    "the actor records Terminated messages, which hold refs, in the test's "
    "shared list: a multiprocessing manager's list, which pickles what it is "
    "given outside any limelight channel, where refs cannot be pickled"
)
_STOPS_ITSELF = (
    "races its second tell() (across a pipe) against the actor stopping "
    "itself, and the parent's ref learns that the actor stopped only once its "
    "on_stop() has run"
)
_QUEUED_FROM_THE_PIPE = (
    "expects two messages sent together to be queued before the first is "
    "handled, but the worker queues each only when its reader takes it from "
    "the pipe: under load, the first (which sets a zero-delay timer) can be "
    "handled before the second is read (see docs/processes.md)"
)
_INTERMITTENT = (
    "failed once, under load, in about six runs of the whole suite: "
    "the restarted inner supervisor sees a failure of its new process child "
    "and gives up; a known bug of the process runtime, under investigation "
    "(see docs/processes.md)"
)
_THREADS = (
    "counts the test process's threads, and the pool adds a reader thread "
    "for each worker it starts"
)
_INSIDE = (
    "looks inside the actor object, which lives in the worker: the parent "
    "holds only its ref"
)
_PROCESS_SKIPS: dict[str, str] = {
    "test_a_child_crashing_a_thousand_times_under_load": _THREADS,
    "test_concurrent_starts_stops_and_broadcasts_keep_the_registry_consistent": (
        _LOCAL_CLASS
    ),
    "test_a_zero_block_timeout_refuses_at_once": _LOCAL_CLASS,
    "test_bad_settings_made_later_fail_at_start": _LOCAL_CLASS,
    "test_starting_and_stopping_actors_are_seen": _PER_PROCESS,
    "test_the_senders_context_follows_asks_tells_and_proxy_calls": _LOCAL_CLASS,
    "test_a_public_proxy_to_itself_is_skipped_with_a_warning": _LOGS,
    "test_an_exception_in_a_deferred_call_is_a_crash": _LOGS,
    "test_an_exception_in_ask_is_logged_at_info_only": _LOGS,
    "test_an_exception_in_on_failure_is_logged_too": _LOGS,
    "test_an_exception_in_on_start_is_logged_and_stops_the_actor": _LOGS,
    "test_an_exception_in_on_stop_is_logged_and_the_actor_still_stops": _LOGS,
    "test_an_exception_in_tell_is_logged_calls_on_failure_and_stops": _LOGS,
    "test_default_on_receive_logs_a_warning_and_replies_none": _LOGS,
    "test_a_propagated_message_that_is_dropped_is_a_dead_letter_as_sent": _PER_PROCESS,
    "test_a_ring_of_three_gets_deadlock_error_and_goes_on": _PER_PROCESS,
    "test_a_running_actor_is_described": _PER_PROCESS,
    "test_every_message_taken_is_counted": _PER_PROCESS,
    "test_a_kill_s_reason_is_noted_before_the_actor_is_seen_stopped": _INSIDE,
    "test_a_stuck_actor_and_its_queued_messages_are_seen": _PER_PROCESS,
    "test_deadlock_detection_sees_the_handler_in_a_propagated_context": _PER_PROCESS,
    "test_init_runs_before_registration_and_on_start_after": _PER_PROCESS,
    "test_messages_left_in_a_crashed_actor_s_inbox_are_dead_letters": _PER_PROCESS,
    "test_the_actor_knows_its_urn_ref_and_name": _PER_PROCESS,
    "test_two_actors_asking_each_other_both_get_deadlock_error": _PER_PROCESS,
    "test_a_base_exception_in_a_hook_stops_every_actor": _BASE_EXCEPTION,
    "test_a_base_exception_in_ask_stops_every_actor_and_fails_the_ask": _BASE_EXCEPTION,
    "test_a_base_exception_in_tell_stops_every_actor": _BASE_EXCEPTION,
    "test_an_exception_in_ask_goes_to_the_caller_with_its_traceback": _TRACEBACK,
    "test_block_refuses_to_block_an_event_loop": _MAILBOX,
    "test_block_times_out_with_mailbox_full": _MAILBOX,
    "test_block_waits_for_room": _MAILBOX,
    "test_block_wakes_waiting_senders_in_turn": _MAILBOX,
    "test_broadcast_skips_a_full_mailbox": _MAILBOX,
    "test_drop_newest_drops_the_new_message": _MAILBOX,
    "test_drop_oldest_drops_the_oldest_queued_message": _MAILBOX,
    "test_drop_oldest_never_drops_a_system_message": _MAILBOX,
    "test_every_message_is_handled_or_dropped_under_concurrency": _MAILBOX,
    "test_mailboxes_are_unbounded_by_default": _MAILBOX,
    "test_raise_refuses_tells_and_asks_at_once": _MAILBOX,
    "test_room_freed_under_system_messages_only_wakes_once_below_capacity": _MAILBOX,
    "test_stopping_releases_blocked_senders_with_actor_dead_error": _MAILBOX,
    "test_system_messages_bypass_capacity": _MAILBOX,
    "test_a_mocked_method_is_called_through_the_proxy": _COPIES,
    "test_await_a_future_set_by_an_actor": _COPIES,
    "test_await_a_future_with_an_opaque_get_hook": _COPIES,
    "test_await_a_join_of_a_computed_lazy_future_and_a_pending_one": _COPIES,
    "test_await_derived_futures": _COPIES,
    "test_await_raises_the_exception": _COPIES,
    "test_get_wakes_up_when_an_actor_sets_the_value": _COPIES,
    "test_messages_of_many_types_are_all_handled": _COPIES,
    "test_set_exception_without_arguments_uses_the_exception_being_handled": _COPIES,
    "test_a_crash_cancels_the_actor_s_timers": _TIMERS,
    "test_a_stopped_actor_cannot_set_a_timer": _TIMERS,
    "test_a_timer_can_stop_its_actor": _TIMERS,
    "test_a_timer_cancelled_before_it_is_due_sends_nothing": _TIMERS,
    "test_a_timer_message_can_be_a_proxy_call": _TIMERS,
    "test_a_timer_says_what_it_is": _TIMERS,
    "test_send_after_delivers_the_message_once_after_the_delay": _TIMERS,
    "test_send_every_ticks_until_cancelled": _TIMERS,
    "test_send_every_waits_initial_delay_first": _TIMERS,
    "test_stopping_an_actor_cancels_its_timers_and_frees_it": _TIMERS,
    "test_timers_can_be_set_and_cancelled_from_another_thread": _TIMERS,
    "test_timers_of_many_actors_share_at_most_one_thread": _TIMERS,
    "test_a_child_that_does_not_stop_in_time_is_killed": _REFS_IN_SHARED_LIST,
    "test_a_watcher_is_told_how_the_watched_actor_ended": _REFS_IN_SHARED_LIST,
    "test_an_actor_trapping_exits_receives_every_end": _REFS_IN_SHARED_LIST,
    "test_an_old_ref_is_dead_and_queued_asks_fail": _REFS_IN_SHARED_LIST,
    "test_supervisors_nest": _INTERMITTENT,
    "test_many_watchers_are_all_told": _REFS_IN_SHARED_LIST,
    "test_unlinked_actors_no_longer_share_their_fate": _REFS_IN_SHARED_LIST,
    "test_watchers_are_told_before_stop_returns": _REFS_IN_SHARED_LIST,
    "test_watching_an_ended_actor_tells_at_once": _REFS_IN_SHARED_LIST,
    "test_watching_twice_tells_once": _REFS_IN_SHARED_LIST,
    "test_an_actor_can_stop_itself_after_its_queued_messages": _STOPS_ITSELF,
    "test_send_after_zero_sends_behind_the_queued_messages": _QUEUED_FROM_THE_PIPE,
    "test_an_actor_can_use_a_private_proxy_to_itself": _COPIES,
}


def _process_runtime() -> Runtime:
    import limelight.process  # noqa: PLC0415 -- imports multiprocessing

    return Runtime(
        name="process",
        actor_class=limelight.process.ProcessActor,
        future_class=limelight.process.ProcessFuture,
        event_class=_process_event,
        sleep=time.sleep,  # (in a worker, the actor has a thread of its own)
        shared_list=_process_list,
        skips=_PROCESS_SKIPS,
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


# Why conformance tests cannot apply to Ray actors (see docs/ray.md). A Ray
# host is a worker process too: what cannot exist across processes cannot
# exist there either. But classes made in a test function travel (by value),
# and so do refs, also in the test's shared lists.
_ACROSS_PROCESSES = (
    _LOGS,
    _PER_PROCESS,
    _BASE_EXCEPTION,
    _TRACEBACK,
    _MAILBOX,
    _TIMERS,
    _INSIDE,
)
_RAY_COPIES = (
    "objects cross as pickled copies: the test's object or mock is not the "
    "one the actor sees, and a future cannot be sent to a Ray actor at all "
    "(refused with a TypeError)"
)
_THREADING_EVENT = (
    "the test hands the actor a threading.Event of its own process, "
    "which cannot be pickled"
)
_LOCAL_REF = (
    "the actor is handed a ref to a local actor of the test process (a "
    "probe), which cannot reach a Ray actor (refused with a TypeError)"
)
_RAY_STOPS_ITSELF = (
    "races its second tell() (a Ray call) against the actor stopping "
    "itself, and the test's ref learns that the actor stopped only once "
    "its on_stop() has run"
)
_CONTEXT_VAR = (
    "the behaviour, defined in the test function, refers to a ContextVar, "
    "which cannot be pickled (and the observed context is the worker's)"
)
_WATCHED_ELSEWHERE = (
    "a watcher in another host learns of the end from that host's own "
    "call to the watched actor's host, which may come after stop() returns "
    "and after the test's next message to the watcher (the pool places "
    "the actors of a test in different hosts)"
)
_ENDS_FROM_TWO_HOSTS = (
    "expects the ends of two linked actors in the order they happened, but "
    "the watcher learns of each from that actor's host, by calls from two "
    "hosts, which can arrive in either order (failed once in a full run)"
)
# Skipped on process actors as per-process, these run on Ray: the actor looks
# itself up in its own process's registry, and its own ref leaves its host as
# a ref to it, which the test compares with its own.
_RAY_RUNS = {
    "test_the_actor_knows_its_urn_ref_and_name",
    "test_init_runs_before_registration_and_on_start_after",
}
_TIMER_OVERTAKES = (
    "sets the gate that holds the actor before the test's messages have "
    "crossed to its host: the zero-delay timer's message, sent by the "
    "actor itself, can be queued before the test's second one arrives"
)
_RAY_SKIPS: dict[str, str] = {
    "test_send_after_zero_sends_behind_the_queued_messages": _TIMER_OVERTAKES,
    "test_an_old_ref_is_dead_and_queued_asks_fail": _THREADING_EVENT,
    "test_a_child_that_does_not_stop_in_time_is_killed": _THREADING_EVENT,
    "test_a_probe_receives_from_an_actor": _LOCAL_REF,
    "test_an_actor_can_stop_itself_after_its_queued_messages": _RAY_STOPS_ITSELF,
    "test_the_senders_context_follows_asks_tells_and_proxy_calls": _CONTEXT_VAR,
    "test_a_zero_block_timeout_refuses_at_once": _MAILBOX,
    "test_many_watchers_are_all_told": _WATCHED_ELSEWHERE,
    "test_watchers_are_told_before_stop_returns": _WATCHED_ELSEWHERE,
    "test_watching_twice_tells_once": _WATCHED_ELSEWHERE,
    "test_an_actor_trapping_exits_receives_every_end": _ENDS_FROM_TWO_HOSTS,
    **{
        name: reason
        for name, reason in _PROCESS_SKIPS.items()
        if reason in _ACROSS_PROCESSES and name not in _RAY_RUNS
    },
    **{
        name: _RAY_COPIES
        for name, reason in _PROCESS_SKIPS.items()
        if reason == _COPIES
    },
}


# What a host of its own changes: how the actor's end is learnt and its host
# retired (stop, kill, failures, watches, links, supervision), asks handled
# in Ray's thread (deadlocks, order) and proxy calls sent as lists.
_DEDICATED_TESTS = frozenset(
    {
        # test_lifecycle.py
        "test_start_returns_a_ref_to_a_running_registered_actor",
        "test_forgetting_super_init_is_a_clear_error_at_start",
        "test_hooks_run_in_order_around_the_messages",
        "test_stop_returns_true_when_running_and_false_when_already_dead",
        "test_stop_without_blocking_returns_a_future_of_the_same_bool",
        "test_after_stop_returns_the_actor_is_stopped_and_unregistered",
        "test_two_stops_queued_together_both_report_true",
        "test_messages_are_handled_in_the_order_they_arrive",
        "test_messages_are_handled_one_at_a_time",
        "test_stop_times_out_while_the_actor_is_busy",
        "test_waiting_for_a_running_actor_to_stop_times_out",
        "test_a_context_manager_stops_the_actor_when_the_block_raises",
        # test_failures.py
        "test_asks_queued_behind_a_crash_fail_with_actor_dead_error",
        # test_watch.py
        "test_termination_says_a_stopped_actor_ended_normally",
        "test_termination_carries_the_exception_that_ended_the_actor",
        "test_termination_comes_after_on_stop_and_before_stop_returns",
        "test_a_failing_on_start_ends_the_actor_with_a_failure",
        "test_kill_skips_the_queued_messages_and_on_stop",
        "test_kill_lets_the_running_handler_finish_and_reply",
        "test_kill_wakes_an_idle_actor",
        "test_kill_of_an_ended_actor_returns_false",
        "test_stop_of_a_killed_actor_returns_false",
        "test_a_watcher_is_told_how_the_watched_actor_ended",
        "test_watching_an_ended_actor_tells_at_once",
        "test_a_linked_actor_crashes_with_an_abnormal_end",
        "test_links_work_both_ways",
        "test_failure_spreads_along_a_chain_of_links",
        "test_a_normal_end_does_not_spread",
        "test_linking_to_a_failed_actor_crashes_at_once",
        # test_supervision.py (not those whose supervisor starts several
        # children before the test's 10 s asks: worker starts take seconds
        # each on a loaded machine)
        "test_a_killed_supervisor_takes_its_children_with_it",
        "test_a_child_may_take_as_long_as_it_needs_to_stop",
        # test_proxies.py
        "test_calling_a_method_gives_a_future_of_its_result",
        "test_an_exception_from_a_method_is_raised_by_get_and_the_actor_lives_on",
        "test_setting_an_attribute_waits_until_the_actor_has_set_it",
        "test_attributes_added_at_run_time_become_reachable",
        "test_proxies_of_a_dead_actor_raise_actor_dead_error",
        "test_proxy_messages_can_be_sent_without_a_proxy",
        # test_deadlocks.py
        "test_an_actor_waiting_for_itself_gets_deadlock_error",
        "test_stopping_itself_and_waiting_gets_deadlock_error_yet_stops",
    }
)
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
    some 9 minutes per Python: it runs only `_DEDICATED_TESTS`, those of
    what a host of its own changes, less what Ray skips anyway.
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
        runs_only=frozenset() if pooled else _DEDICATED_TESTS,
        others_skipped="" if pooled else _DEDICATED_SKIPPED,
        skips=_RAY_SKIPS,
    )


RAY = _ray_runtime(pooled=True)
"""limelight.ray with pooled hosts, or None without Ray: then its tests are skipped."""
RAY_DEDICATED = _ray_runtime(pooled=False)
"""limelight.ray with a host per actor, or None without Ray."""
RUNTIMES.extend(ray for ray in (RAY, RAY_DEDICATED) if ray is not None)
