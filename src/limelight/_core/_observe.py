"""Introspection: what every live actor is doing, read without stopping it.

Each actor keeps two numbers up to date on the hot path (see
``Actor._handle_envelope()``): how many messages it has taken, and since
when it has been handling the current one. Everything else is read here,
from other threads, when someone asks: the mailbox depth from the inbox,
who waits on whom from the wait-for graph, restarts from the supervisor.
"""

from __future__ import annotations

import collections
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from limelight._core._wait_graph import waits

if TYPE_CHECKING:
    from limelight._core._actor import Actor

__all__ = ["ActorInfo", "ActorState", "ended", "live_actors", "snapshot", "started"]

ActorState = Literal["starting", "running", "handling", "stopping"]
"""Where an actor is in its life: see :attr:`ActorInfo.state`."""

RATE_WINDOW = 10.0
"""Seconds over which :attr:`ActorInfo.rate` is measured, at most."""

# Actors from start() to the end of their loop's teardown: a stopping actor
# is no longer in the registry, but still here. Weak, so that an actor that
# is dropped without ever being run (a manual scheduler thrown away) goes.
_live: weakref.WeakValueDictionary[str, Actor] = weakref.WeakValueDictionary()
_born: weakref.WeakKeyDictionary[Actor, float] = weakref.WeakKeyDictionary()
# For rates: each actor's (time, messages handled) as earlier snapshots saw them.
_samples: dict[str, collections.deque[tuple[float, int]]] = {}
_samples_lock = threading.Lock()


def started(actor: Actor) -> None:
    """Note a new actor, as ``Actor.start()`` registers it."""
    _born[actor] = time.monotonic()
    _live[actor.actor_urn] = actor


def ended(actor: Actor) -> None:
    """Forget an actor whose loop is over."""
    _live.pop(actor.actor_urn, None)


def live_actors() -> list[Actor]:
    """The actors started and not yet ended, oldest first."""
    actors = list(_live.values())
    actors.sort(key=lambda actor: _born.get(actor, 0.0))
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
    ``RATE_WINDOW`` seconds), or since the actor started for its first one."""

    handling_for: float | None
    """Seconds spent so far on the message being handled; `None` when idle.

    A large value means a stuck actor."""

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

    def to_dict(self) -> dict[str, Any]:
        """The fields, as a dict of JSON-friendly values."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def snapshot() -> list[ActorInfo]:
    """An :class:`ActorInfo` for each live actor, oldest first.

    Safe to call from any thread, any time: it reads what the actors publish
    and never waits for them.
    """
    now = time.monotonic()
    edges = {
        waiter.actor_urn: producer.actor_urn for waiter, producer in waits().items()
    }
    actors = live_actors()
    infos = [_info(actor, now, edges) for actor in actors]
    with _samples_lock:
        for urn in set(_samples) - {actor.actor_urn for actor in actors}:
            del _samples[urn]
    return infos


def _info(actor: Actor, now: float, edges: dict[str, str]) -> ActorInfo:
    since = actor._busy_since
    handled = actor._handled
    ref = actor._actor_ref
    owner = ref._owner
    child_name, restarts = _child_of(owner, ref)
    state: ActorState
    if actor.actor_stopped._flag:
        state = "stopping"
    elif actor._phase == "starting":
        state = "starting"
    elif since:
        state = "handling"
    else:
        state = "running"
    born = _born.get(actor, now)
    return ActorInfo(
        actor_class=type(actor).__name__,
        urn=actor.actor_urn,
        runtime=getattr(actor._runtime, "name", "?"),
        state=state,
        mailbox=mailbox_depth(actor.actor_inbox),
        handled=handled,
        rate=_rate(actor.actor_urn, now, handled, born),
        handling_for=now - since if since else None,
        age=now - born,
        restarts=restarts,
        waits_for=edges.get(actor.actor_urn),
        supervisor=None if owner is None else owner.actor_urn,
        child_name=child_name,
    )


def _rate(urn: str, now: float, handled: int, born: float) -> float:
    with _samples_lock:
        samples = _samples.get(urn)
        if samples is None:
            samples = _samples[urn] = collections.deque()
        # The baseline: the newest sample at least RATE_WINDOW old, if any.
        while len(samples) > 1 and samples[1][0] <= now - RATE_WINDOW:
            samples.popleft()
        then, count = samples[0] if samples else (born, 0)
        samples.append((now, handled))
    elapsed = now - then
    return (handled - count) / elapsed if elapsed > 0 else 0.0


def _child_of(owner: Any, ref: Any) -> tuple[str | None, int]:
    """The child's name under its supervisor, and how often it was restarted."""
    supervisor = None if owner is None else owner._actor_weakref()
    if supervisor is None:
        return None, 0
    for name, child in list(supervisor._refs.items()):
        if child is ref:
            return name, supervisor._starts.get(name, 1) - 1
    return None, 0


def mailbox_depth(inbox: Any) -> int | None:
    """How many envelopes `inbox` holds, for any runtime's inbox."""
    mailbox = getattr(inbox, "mailbox", None)  # a bounded mailbox's doorbell
    if mailbox is not None:
        return len(mailbox)
    qsize = getattr(inbox, "qsize", None)  # queue.SimpleQueue (threads)
    if qsize is not None:
        return int(qsize())
    items = getattr(inbox, "_items", None)  # the deque of asyncio, gevent, manual
    if items is not None:
        return len(items)
    return None
