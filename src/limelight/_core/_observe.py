"""Introspection: what every live actor is doing, read without stopping it.

Per message, an actor does three cheap things on its hot path (see
``handle_messages()`` in ``_runtimes/blocking.py`` and, on an event loop,
``LoopInbox._drain_step()``): it steps its counter (:func:`new_counter`), and
stores the envelope it is handling in ``_limelight_current``, then None once
it has no message left to handle (a burst of queued messages costs one store
each, not two). No clock is read. Everything else
is worked out here, from other threads, when a snapshot is taken: the
mailbox depth from the inbox, who waits on whom from the wait-for graph,
restarts from the supervisor, what the current message is (its class's
name, from the envelope), and how long it has been handled, timed from
the first snapshot that saw the actor handling it.
"""

from __future__ import annotations

import collections
import functools
import itertools
import operator
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from limelight._core import _timeouts
from limelight._core._fork import released_at_fork
from limelight._core._registry import ActorRegistry
from limelight._core._wait_graph import waits
from limelight._core._waiting import allocate_lock
from limelight.messages import ProxyCall, ProxyGetAttr, ProxySetAttr

if TYPE_CHECKING:
    from limelight._core._actor import Actor
    from limelight._core._runtime import Inbox

__all__ = [
    "STOPPING",
    "ActorInfo",
    "ActorState",
    "add_source",
    "describe_message",
    "live_actors",
    "snapshot",
]

ActorState = Literal["starting", "running", "handling", "stopping"]
"""Where an actor is in its life: see :attr:`ActorInfo.state`."""

RATE_WINDOW = 10.0
"""Seconds over which :attr:`ActorInfo.rate` is measured, at most."""

STOPPING: dict[str, weakref.ref[Actor]] = {}
"""The actors that are stopping: unregistered, but their loop's teardown not over.

The live actors are the registry's, plus these. An actor adds itself here
(``_limelight_begin_stop()``, its URN to its ref's weak reference to it) and
removes itself at the end of its teardown, each a dict operation written out
in ``_core/_actor.py``, not a call. Only stopping actors cost an entry: a
table of every actor would be a good part of an idle actor's memory.
(Weak: an actor whose loop never ends, as when a test breaks it, must not be
kept alive, nor listed, for ever once it is gone. The entry of one that is
gone is dropped by the next live_actors(): a callback per entry, to drop
it at once, would cost a closure per actor stopped. Weak references in a
plain dict, not a WeakValueDictionary: its Python methods made five calls
per actor stopped.)
"""
# For rates: each actor's (time, messages handled) as earlier snapshots saw them.
_samples: dict[str, collections.deque[tuple[float, int]]] = {}
# For stuck times: the message each busy actor was first seen handling, as
# (id of its envelope, messages handled then), and when.
_first_seen: dict[str, tuple[int, int, float]] = {}
# (An OS lock, even in a monkey-patched program: its sections never yield.)
_samples_lock = released_at_fork(allocate_lock())


def _birth(actor: Actor) -> float:
    return actor._limelight_born


def live_actors() -> list[Actor]:
    """The actors started and not yet ended, oldest first."""
    by_urn: dict[str, Actor] = {}
    for urn, stopping_actor in list(STOPPING.items()):  # (others add and remove)
        actor = stopping_actor()
        if actor is not None:
            by_urn[urn] = actor
        elif STOPPING.get(urn) is stopping_actor:  # gone without ending
            STOPPING.pop(urn, None)
    for ref in ActorRegistry.get_all():
        # (None for a ref to an actor of another process: not this one's.)
        actor = ref._actor_weakref()
        if actor is not None:
            by_urn[actor.actor_urn] = actor
    actors = list(by_urn.values())
    actors.sort(key=_birth)
    return actors


@dataclass(frozen=True)
class ActorInfo:
    """What one actor was doing when the snapshot was taken; immutable."""

    actor_class: str
    """The actor's class name, such as ``"Cache"``."""

    urn: str
    """The actor's URN (see [`Actor.actor_urn`][limelight.Actor.actor_urn])."""

    runtime: str
    """The runtime's name: ``"threading"``, ``"asyncio"``, ``"gevent"``, ..."""

    state: ActorState
    """``"starting"`` (in ``on_start()``), ``"running"`` (waiting for a
    message), ``"handling"`` (a message) or ``"stopping"`` (stopped, its loop
    not yet over: in ``on_stop()``, say, or killed while handling)."""

    mailbox: int | None
    """Messages queued and not yet taken; `None` if the inbox cannot tell."""

    handled: int
    """Messages taken for handling so far, the current one included."""

    rate: float
    """Messages per second, over the last few snapshots (up to
    10 seconds), or since the actor started for its first one."""

    handling_for: float | None
    """Seconds spent so far on the message being handled; `None` when idle.

    A large value means a stuck actor. Timed from the first snapshot that
    saw the actor handling this message (the hot path reads no clock), so
    it is 0.0 in the first snapshot and grows in the next ones: take
    snapshots regularly, as ``limelight top`` does."""

    age: float
    """Seconds since the actor was started."""

    restarts: int
    """How many times its supervisor has restarted this child (under the
    same name) before; 0 for an actor without a supervisor."""

    waits_for: str | None
    """The URN of the actor whose reply this one is blocked on, if any."""

    supervisor: str | None
    """The URN of the supervisor that started it, if any."""

    child_name: str | None
    """Its name among its supervisor's children, if it has a supervisor."""

    current_message: str | None = None
    """What the message being handled is, by name; `None` when idle.

    ``"ask: Play"`` or ``"tell: Play"`` (the message's class, and whether a
    reply is awaited); for a proxy's message, the attribute instead of the
    class: ``"ask: play()"`` (a method call), ``"ask: get volume"``,
    ``"tell: set volume"``. Worked out when the snapshot is taken: the
    actor only keeps a reference to the message it handles."""

    def to_dict(self) -> dict[str, Any]:
        """The fields, as a dict of JSON-friendly values."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# Where the actors of this program's other processes are found (a process
# runtime's workers): each source returns theirs, waiting at most the
# timeout it is given.
_sources: list[Callable[[float | None], list[ActorInfo]]] = []


def add_source(source: Callable[[float | None], list[ActorInfo]]) -> None:
    """Have ``snapshot(include_workers=True)`` add what `source(timeout)` returns."""
    _sources.append(source)


def snapshot(
    *, include_workers: bool = False, timeout: float | None = 1.0
) -> list[ActorInfo]:
    """An :class:`ActorInfo` for each live actor, oldest first.

    Safe to call from any thread, any time: it reads what the actors publish
    and never waits for them.

    Args:
        include_workers: also ask this program's worker processes (those of
            ``limelight.process``) for theirs, and add them after this
            process's actors; their ``runtime`` says which process.
        timeout: with `include_workers`, how long to wait for the workers,
            in all, in seconds (None or infinity: as long as they take); a
            worker that does not answer in time is left out.

    Raises:
        TypeError, ValueError: if `timeout` is not a number of seconds.
    """
    timeout = _timeouts.optional_seconds(timeout)  # (even without workers)
    infos = _local_snapshot()
    if include_workers:
        for source in list(_sources):
            infos.extend(source(timeout))
    return infos


def _local_snapshot() -> list[ActorInfo]:
    now = time.monotonic()
    edges = {
        waiter.actor_urn: producer.actor_urn for waiter, producer in waits().items()
    }
    actors = live_actors()
    infos = [_info(actor, now, edges) for actor in actors]
    with _samples_lock:
        live = {actor.actor_urn for actor in actors}
        for table in (_samples, _first_seen):
            for urn in set(table) - live:
                del table[urn]
    return infos


def _info(actor: Actor, now: float, edges: dict[str, str]) -> ActorInfo:
    current = actor._limelight_current
    handled = handled_count(actor)
    ref = actor._actor_ref
    owner = ref._owner
    child_name, restarts = _child_of(owner, ref)
    state: ActorState
    if actor.actor_stopped._flag:
        state = "stopping"
    elif actor._limelight_phase == "starting":
        state = "starting"
    elif current is not None:
        state = "handling"
    else:
        state = "running"
    born = actor._limelight_born
    return ActorInfo(
        actor_class=type(actor).__name__,
        urn=actor.actor_urn,
        runtime=getattr(actor._limelight_runtime, "name", "?"),
        state=state,
        mailbox=mailbox_depth(actor.actor_inbox),
        handled=handled,
        rate=_rate(actor.actor_urn, now, handled, born),
        handling_for=_handling_for(actor.actor_urn, current, handled, now),
        age=now - born,
        restarts=restarts,
        waits_for=edges.get(actor.actor_urn),
        supervisor=None if owner is None else owner.actor_urn,
        child_name=child_name,
        current_message=describe_message(current),
    )


def describe_message(current: Any) -> str | None:
    """The :attr:`ActorInfo.current_message` of an actor handling `current`.

    `current` is what the actor stores while it handles a message: an
    envelope ``(message, reply_to)``, a told message queued bare (see
    ``Queued`` in ``_core/_types.py``), or None when idle.
    """
    if current is None:
        return None
    message: Any
    if current.__class__ is tuple:
        message, reply_to = current  # (an envelope)
        kind = "tell" if reply_to is None else "ask"
    else:
        message, kind = current, "tell"
    message_class: type = message.__class__
    if message_class is ProxyCall:
        what = ".".join(message.attr_path) + "()"
    elif message_class is ProxyGetAttr:
        what = "get " + ".".join(message.attr_path)
    elif message_class is ProxySetAttr:
        what = "set " + ".".join(message.attr_path)
    else:
        what = message_class.__name__
    return f"{kind}: {what}"


# Where a counter of messages taken starts: it counts down.
_COUNTER_START = sys.maxsize


# A counter of messages taken, which a driver steps once per message:
# ``new_counter()`` makes one for an actor as it starts. It is an
# ``itertools.repeat`` of None, counting down: the blocking driver's loop is
# a ``for`` over it, so a step costs no call and allocates nothing (an int
# attribute added to costs a new int per message past 256, about 300
# instructions of a thread actor's 4,000-instruction tell), and
# :func:`handled_count` reads it back. (A partial, not a function: making
# one is then a C call, no Python frame.)
new_counter: Callable[[], Iterator[None]] = functools.partial(
    itertools.repeat, None, _COUNTER_START
)


def handled_count(actor: Actor) -> int:
    """How many messages `actor` has taken, the current one included."""
    taken = actor._limelight_taken
    if taken is None:
        return 0
    return _COUNTER_START - operator.length_hint(taken)


def _handling_for(urn: str, current: object, handled: int, now: float) -> float | None:
    """Seconds since a snapshot first saw the actor handle `current`."""
    with _samples_lock:
        if current is None:
            _first_seen.pop(urn, None)
            return None
        key = (id(current), handled)
        seen = _first_seen.get(urn)
        if seen is None or seen[:2] != key:
            seen = _first_seen[urn] = (*key, now)
    return now - seen[2]


def _rate(urn: str, now: float, handled: int, born: float) -> float:
    with _samples_lock:
        samples = _samples.get(urn)
        if samples is None:
            samples = _samples[urn] = collections.deque()
        # The baseline: the newest sample at least RATE_WINDOW old, if any.
        while len(samples) > 1 and samples[1][0] <= now - RATE_WINDOW:
            samples.popleft()
        then, count = samples[0] if samples else (born, 0)
        # (Not one per snapshot, but some twenty per window: a client
        # snapshotting in a loop would make the memory grow with its speed.)
        if not samples or now - samples[-1][0] >= RATE_WINDOW / 20:
            samples.append((now, handled))
    elapsed = now - then
    return (handled - count) / elapsed if elapsed > 0 else 0.0


def _child_of(owner: Any, ref: Any) -> tuple[str | None, int]:
    """The child's name under its supervisor, and how often it was restarted."""
    supervisor = None if owner is None else owner._actor_weakref()
    if supervisor is None:
        return None, 0
    for name, child in list(supervisor._limelight_refs.items()):
        if child is ref:
            return name, supervisor._limelight_starts.get(name, 1) - 1
    return None, 0


def mailbox_depth(inbox: Inbox) -> int | None:
    """How many envelopes `inbox` holds; None if it cannot tell (see ``Inbox``)."""
    return inbox.qsize()
