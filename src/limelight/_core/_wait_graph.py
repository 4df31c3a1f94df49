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

A program of several processes has one graph, kept by the process that
owns the program: each other process reports its edges there (through the
remote layer's :class:`Reporter`), where they are recorded as waits on an
:class:`Elsewhere`, and hears back when one of them closes a cycle. Since
the end of such a wait arrives late, a cycle through one is confirmed after
a moment rather than reported at once.
"""

from __future__ import annotations

import contextvars
import functools
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from limelight._core._exceptions import DeadlockError
from limelight._core._fork import released_at_fork
from limelight._core._waiting import allocate_lock

if TYPE_CHECKING:
    import weakref
    from collections.abc import Callable

    from limelight._core._actor import Actor
    from limelight._core._ref import ActorRef

__all__ = [
    "ActorName",
    "Confirm",
    "Elsewhere",
    "Pending",
    "Reporter",
    "WaitNode",
    "begin_wait",
    "current_actor",
    "current_actor_weakref",
    "deadlock",
    "end_wait",
    "enter_actor",
    "ref_of",
    "report",
    "report_to",
    "reporting",
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


class WaitNode(Protocol):
    """An actor as the graph sees it: a ref, or what stands for one elsewhere."""

    @property
    def actor_urn(self) -> str:
        """The actor's urn: the same in every process."""
        ...  # pragma: no cover


class Pending(Protocol):
    """What a waiter waits on: a future, or what stands for another process's."""

    def _is_ready(self) -> bool:
        """Whether the wait is over (or would be, at once)."""
        ...  # pragma: no cover


class Reporter(Protocol):
    """Where a process that does not keep the program's graph sends its waits.

    The remote layer sets one (:func:`report_to`) in a worker process: the
    edges recorded here then also go to the process that keeps the graph of
    the whole program, which finds the cycles that span processes.
    """

    def began(
        self, waiter: WaitNode, producer: WaitNode, pending: Pending, /
    ) -> Confirm | None:
        """Record the wait there; as :func:`begin_wait`, which it may raise from."""
        ...  # pragma: no cover

    def ended(self, waiter: WaitNode, pending: Pending, /) -> None:
        """The wait of `waiter` on `pending` is over (if reported: else nothing)."""


Confirm: TypeAlias = "Callable[[], DeadlockError | None]"
"""Called a moment later: the deadlock, if the suspected cycle still holds."""


_Edge: TypeAlias = "tuple[WaitNode, WaitNode, Pending, _Edge | None]"
"""(waiter, producer, what the waiter waits on, the edge it hides).

An actor has one edge, unless a thread that copied its context waits at the
same time as the actor: then the newest edge is the actor's, and it keeps
the others under it, until their waits end.
"""

# Keyed by the waiter's urn: an edge may come from another process, where
# the same actor has another ref (or none), and its urn is the same there.
_waits: dict[str, _Edge] = {}
_lock = released_at_fork(allocate_lock())
# (acquire()/release() rather than `with`: half the cost, on every blocking
# get() of an actor.)
_acquire = _lock.acquire
_release = _lock.release


class _Upstream:
    reporter: Reporter | None = None


def report_to(reporter: Reporter | None) -> None:
    """Send every edge recorded from now on to `reporter` too (None: stop)."""
    _Upstream.reporter = reporter


def enter_actor(actor_ref: ActorRef[Any]) -> None:
    """Mark the current context as `actor_ref`'s own, once, when its loop starts.

    Runtimes give every actor a context of its own, so this never needs
    undoing, and costs nothing per message.
    """
    _current.set(actor_ref._actor_weakref)


def begin_wait(
    waiter: WaitNode, producer: WaitNode, pending: Pending
) -> Confirm | None:
    """Record that `waiter` waits on `pending`, which `producer` completes.

    Call :func:`end_wait` once the wait is over, however it ended.

    Returns:
        None; or, when the wait closes a cycle through a wait reported by
        another process, what confirms it. The wait is recorded all the
        same: the other wait may have ended there without its end having
        arrived here yet. Wait a moment longer, then call it.

    Raises:
        DeadlockError: if `producer` is `waiter`, or waits (through others)
            for `waiter`: the wait could never end. Nothing is recorded.
    """
    get = _waits.get
    urn = waiter.actor_urn
    suspect = None
    _acquire()
    try:
        node = producer
        # Bounded: a stale cycle among the others (which their timeouts
        # would break) must not make this loop forever.
        steps = len(_waits)
        while node.actor_urn != urn:
            edge = get(node.actor_urn)
            if edge is None or steps == 0:
                break
            steps -= 1
            node = edge[1]
        else:
            cycle = _live_cycle(waiter, producer, pending)
            if cycle is not None:
                if not any(_is_remote(edge[2]) for edge in cycle[1:]):
                    raise deadlock(tuple(edge[0] for edge in cycle))
                suspect = cycle
        edge = _waits[urn] = (waiter, producer, pending, get(urn))
    finally:
        _release()
    if suspect is None:
        return None
    # (Confirmed by identity: the edge recorded, and the others as found.)
    return functools.partial(_confirm, (edge, *suspect[1:]))


def reporting() -> bool:
    """Whether waits here are reported to another process (see :func:`report`)."""
    return _Upstream.reporter is not None


def report(waiter: WaitNode, producer: WaitNode, pending: Pending) -> Confirm | None:
    """Report a wait recorded by :func:`begin_wait` to the program's graph.

    (If that graph is kept by another process: else nothing is done.)

    Call it once the wait has lasted a moment (the report costs a round trip
    to another process). Returns and raises as :func:`begin_wait`, but the
    wait stays recorded here until :func:`end_wait`, whatever it does.
    """
    reporter = _Upstream.reporter
    if reporter is None:
        return None
    return reporter.began(waiter, producer, pending)


def _confirm(cycle: tuple[_Edge, ...]) -> DeadlockError | None:
    """The deadlock, if every wait of `cycle` (from :func:`begin_wait`) is still on."""
    with _lock:
        for edge in cycle:
            if _waits.get(edge[0].actor_urn) is not edge or edge[2]._is_ready():
                return None
    return deadlock(tuple(edge[0] for edge in cycle))


def end_wait(waiter: WaitNode, pending: Pending) -> None:
    """Undo :func:`begin_wait` of `waiter` on `pending`."""
    key = waiter.actor_urn
    _acquire()
    try:
        edge = _waits[key]
        if edge[2] is pending:
            below = edge[3]
            if below is None:
                del _waits[key]
            else:  # (another thread in the actor's context waits on: rare)
                _waits[key] = below
        else:  # (another thread's newer edge is on top: take ours from under it)
            _waits[key] = _without(edge, pending)
    finally:
        _release()
    reporter = _Upstream.reporter
    if reporter is not None:
        reporter.ended(waiter, pending)


def waits() -> dict[WaitNode, WaitNode]:
    """A snapshot of the graph: each blocked actor, and whom it waits for.

    Actors are refs, but for the waits that other processes report here
    (see :class:`Elsewhere`), whose actors are named by `ActorName`.
    """
    with _lock:
        return {edge[0]: edge[1] for edge in _waits.values()}


class Elsewhere:
    """What a wait in another process waits on, as this process records it.

    The remote layer records such waits here (in the process that keeps the
    program's graph) with one of these, a subclass of it, in place of the
    future; a cycle through one is a cycle to confirm (see
    :func:`begin_wait`), since its end is learned late.
    """

    __slots__ = ()

    def _is_ready(self) -> bool:
        return False  # (it is over once its end arrives, and is removed)


class ActorName:
    """An actor of another process, named by a wait reported here."""

    __slots__ = ("actor_urn", "name")

    def __init__(self, actor_urn: str, name: str) -> None:
        self.actor_urn = actor_urn
        self.name = name

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__


def _is_remote(pending: Pending) -> bool:
    return isinstance(pending, Elsewhere)


def _live_cycle(
    waiter: WaitNode, producer: WaitNode, pending: Pending
) -> tuple[_Edge, ...] | None:
    """The cycle closed by `waiter` waiting for `producer`, unless it is stale.

    A wait on the way may already be over: its future done, its waiter woken
    but not yet gone from the graph. Then nobody is stuck, and this wait
    ends too. Checked only once a cycle is found, to keep the usual path
    short. (The first edge returned is the one `waiter` is about to record.)
    """
    urn = waiter.actor_urn
    edges: list[_Edge] = [(waiter, producer, pending, None)]
    node = producer
    while True:
        if pending._is_ready():
            return None
        if node.actor_urn == urn:
            return tuple(edges)
        edge = _waits[node.actor_urn]
        edges.append(edge)
        node, pending = edge[1], edge[2]


def _without(edge: _Edge, pending: Pending) -> _Edge:
    """`edge`, with the edge of `pending` taken out from under it."""
    below = edge[3]
    assert below is not None  # (every wait ends once, so it is in there)
    if below[2] is pending:
        return (edge[0], edge[1], edge[2], below[3])
    return (edge[0], edge[1], edge[2], _without(below, pending))


def deadlock(cycle: tuple[WaitNode, ...]) -> DeadlockError:
    """The error for `cycle`: actors each waiting for the next, the last for the first.

    Its ``cycle`` holds their refs; if an actor of another process has no
    ref here, it is empty, and the message names them all.
    """
    path = " → ".join(str(node) for node in (*cycle, cycle[0]))
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
            "proxy call, keeping the future without calling get() on it or "
            "awaiting it in the handler), send a tell() instead, or "
            "restructure so that replies flow one way"
        )
    msg = f"{path}: {what}, which can never come; {fix}"
    return DeadlockError(msg, cycle=_refs(cycle))


def _refs(cycle: tuple[WaitNode, ...]) -> tuple[ActorRef[Any], ...]:
    """The refs of `cycle`'s actors here; empty if one of them has none."""
    from limelight._core._ref import ActorRef  # noqa: PLC0415 -- (it imports us)
    from limelight._core._registry import ActorRegistry  # noqa: PLC0415 -- likewise

    refs: list[ActorRef[Any]] = []
    for node in cycle:
        ref: ActorRef[Any] | None
        if isinstance(node, ActorRef):
            ref = node  # pyright: ignore[reportUnknownVariableType] -- (mypy: Any)
        else:
            ref = ActorRegistry.get_by_urn(node.actor_urn)
        if ref is None:
            return ()
        refs.append(ref)
    return tuple(refs)
