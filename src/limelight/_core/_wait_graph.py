"""The wait-for graph: which actor is blocked waiting for which, right now.

An edge ``A -> B`` means: actor A is blocked in ``get()`` on a future that
only actor B can complete (the reply to an ask A sent B). A actor handles
one message at a time, so B cannot answer while B itself is blocked, and a
path of edges that leads back to A is a deadlock: nobody on it can ever go
on. ``get()``, once it has waited a few milliseconds in vain (see
``SettableFuture._wait_as()``), adds its edge and follows the path before
blocking on, under one lock, and refuses to block on a cycle: of two
actors racing to close a cycle, the second always sees the first's edge.

Only actors take part. An actor's context carries its own ref (see
:func:`enter_actor`, called once when its loop starts), so a plain thread,
which has none, adds nothing and pays nothing.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any, TypeAlias

from limelight._core._exceptions import DeadlockError
from limelight._core._fork import released_at_fork
from limelight._core._waiting import allocate_lock

if TYPE_CHECKING:
    import weakref

    from limelight._core._actor import Actor
    from limelight._core._future import Future
    from limelight._core._ref import ActorRef

__all__ = [
    "begin_wait",
    "current_actor",
    "current_actor_weakref",
    "end_wait",
    "enter_actor",
    "ref_of",
    "waits",
]

# A weak reference to the actor: an actor's context can outlive the actor in
# places it does not control (an event loop's cancelled timer handles keep
# theirs), and must not keep it alive there. (Its ref's own weak reference to
# it, shared: one more object per actor would be a good part of an idle
# actor's memory.)
_current: contextvars.ContextVar[weakref.ref[Actor] | None] = contextvars.ContextVar(
    "limelight_current_actor", default=None
)

current_actor_weakref = _current.get
"""Return a weak reference to the actor whose context this is.

None outside actors: a single context variable read tells a plain thread.
"""


def current_actor() -> ActorRef[Any] | None:
    """Return the ref of the actor whose context this is, or None outside actors."""
    return ref_of(_current.get())


def ref_of(marker: weakref.ref[Actor] | None) -> ActorRef[Any] | None:
    """The ref of the actor `marker` refers to; None if none, or it is gone."""
    if marker is None:
        return None
    actor = marker()
    return None if actor is None else actor.actor_ref


_Edge: TypeAlias = "tuple[ActorRef[Any], ActorRef[Any], Future[Any], _Edge | None]"
"""(waiter, producer, the future the waiter blocks on, the edge it hides).

An actor has one edge, unless a thread that copied its context waits at the
same time as the actor: then the newest edge is the actor's, and it keeps
the others under it, until their waits end.
"""

# Keyed by id(waiter): an actor has one ref object, which the edge keeps
# alive, and an int hashes in C where a ref's __hash__ is a Python call.
_waits: dict[int, _Edge] = {}
_lock = released_at_fork(allocate_lock())
# (acquire()/release() rather than `with`: half the cost, on every blocking
# get() of an actor.)
_acquire = _lock.acquire
_release = _lock.release


def enter_actor(actor_ref: ActorRef[Any]) -> None:
    """Mark the current context as `actor_ref`'s own, once, when its loop starts.

    Runtimes give every actor a context of its own, so this never needs
    undoing, and costs nothing per message.
    """
    _current.set(actor_ref._actor_weakref)


def begin_wait(
    waiter: ActorRef[Any], producer: ActorRef[Any], future: Future[Any]
) -> None:
    """Record that `waiter` blocks on `future`, which `producer` completes.

    Call :func:`end_wait` once the wait is over, however it ended.

    Raises:
        DeadlockError: if `producer` is `waiter`, or waits (through others)
            for `waiter`: the wait could never end. Nothing is recorded.
    """
    get = _waits.get
    _acquire()
    try:
        node = producer
        # Bounded: a stale cycle among the others (which their timeouts
        # would break) must not make this loop forever.
        steps = len(_waits)
        while node is not waiter:
            edge = get(id(node))
            if edge is None or steps == 0:
                break
            steps -= 1
            node = edge[1]
        else:
            cycle = _live_cycle(waiter, producer, future)
            if cycle is not None:
                raise _deadlock(cycle)
        key = id(waiter)
        _waits[key] = (waiter, producer, future, get(key))
    finally:
        _release()


def end_wait(waiter: ActorRef[Any], future: Future[Any]) -> None:
    """Undo :func:`begin_wait` of `waiter` on `future`."""
    key = id(waiter)
    _acquire()
    try:
        edge = _waits[key]
        if edge[2] is future:
            below = edge[3]
            if below is None:
                del _waits[key]
            else:  # (another thread in the actor's context waits on: rare)
                _waits[key] = below
        else:  # (another thread's newer edge is on top: take ours from under it)
            _waits[key] = _without(edge, future)
    finally:
        _release()


def waits() -> dict[ActorRef[Any], ActorRef[Any]]:
    """A snapshot of the graph: each blocked actor's ref, and whom it waits for."""
    with _lock:
        return {edge[0]: edge[1] for edge in _waits.values()}


def _live_cycle(
    waiter: ActorRef[Any], producer: ActorRef[Any], future: Future[Any]
) -> tuple[ActorRef[Any], ...] | None:
    """The cycle closed by `waiter` waiting for `producer`, unless it is stale.

    A wait on the way may already be over: its future done, its waiter woken
    but not yet gone from the graph. Then nobody is stuck, and this wait
    ends too. Checked only once a cycle is found, to keep the usual path
    short.
    """
    cycle = [waiter]
    node = producer
    while True:
        if future._is_ready():
            return None
        if node is waiter:
            return tuple(cycle)
        cycle.append(node)
        _, node, future, _ = _waits[id(node)]


def _without(edge: _Edge, future: Future[Any]) -> _Edge:
    """`edge`, with the edge of `future` taken out from under it."""
    below = edge[3]
    assert below is not None  # (every wait ends once, so it is in there)
    if below[2] is future:
        return (edge[0], edge[1], edge[2], below[3])
    return (edge[0], edge[1], edge[2], _without(below, future))


def _deadlock(cycle: tuple[ActorRef[Any], ...]) -> DeadlockError:
    path = " → ".join(str(ref) for ref in (*cycle, cycle[0]))
    if len(cycle) == 1:
        what = "the actor waits for a reply from itself"
        fix = (
            "call the method directly instead of through the actor's own ref "
            "or proxy, or tell() it without waiting; to stop itself, an "
            "actor calls self.stop(), which does not wait"
        )
    else:
        what = "each actor waits for the next one's reply"
        fix = (
            "make one of these asks non-blocking (`ask(block=False)` or a "
            "proxy call, keeping the future without calling get() in the "
            "handler), send a tell() instead, or restructure so that replies "
            "flow one way"
        )
    msg = f"{path}: {what}, which can never come; {fix}"
    return DeadlockError(msg, cycle=cycle)
