"""Pools: many actors of one class behind one ref, which routes each message.

A pool is a [`Supervisor`][limelight.Supervisor] of its members (the
[`Pool`][limelight.Pool] actor, a thread actor) and a ref to it that routes
(the [`PoolRef`][limelight.PoolRef]). Routing happens in the sender's
thread, with no hop through the pool actor: a message goes straight to the
member chosen for it, so a pool costs a routing decision per message, not a
second hand-over. The pool actor only starts, restarts and stops members.
"""

from __future__ import annotations

import bisect
import collections
import functools
import itertools
import queue
import random
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    NamedTuple,
    TypeVar,
    get_args,
    overload,
)

from limelight._core import _timeouts
from limelight._core._actor import Actor
from limelight._core._exceptions import ActorDeadError, Timeout
from limelight._core._future import Future, SettableFuture
from limelight._core._log import logger
from limelight._core._ref import ActorRef
from limelight._core._waiting import allocate_lock
from limelight._supervision import ChildSpec, Supervisor, check_count, check_seconds
from limelight.messages import ProxyCall

if TYPE_CHECKING:
    from limelight._core._introspection import AttrInfo
    from limelight._core._types import AttrPath

__all__ = ["Pool", "PoolRef", "Routing"]

A = TypeVar("A", bound=Actor)

Routing = Literal[
    "round_robin",
    "random",
    "smallest_mailbox",
    "consistent_hash",
    "broadcast",
    "first_answer",
]
"""How a [`PoolRef`][limelight.PoolRef] picks the member for a message.

- ``"round_robin"``: each member in turn.
- ``"random"``: any member, at random.
- ``"smallest_mailbox"``: the member with the fewest queued messages
  (members whose queue cannot be read here, in another process, count as
  empty; ties go in turn).
- ``"consistent_hash"``: the member that the message's key (``hash_key``)
  maps to on a hash ring: the same key, the same member slot, across
  restarts of that member.
- ``"broadcast"``: every member; an ask's answer is the list of every
  member's answer, in member order.
- ``"first_answer"``: every member; an ask's answer is the first one to
  come (scatter-gather), and the others are dropped.
"""

_ROUTINGS: tuple[str, ...] = get_args(Routing)

# Points per member slot on the consistent-hash ring: enough for an even
# spread over a few dozen members, cheap to search (bisect).
_RING_POINTS = 64
_KEY_SALT = "limelight.pool"


class _Resize(NamedTuple):
    """Grow or shrink the pool if its members' load says so (told by a timer)."""


_RESIZE = _Resize()


class _Slots:
    """The running member of each slot: written by the pool actor, read by its refs.

    A restarted member replaces its slot's entry in place; growing or
    shrinking publishes a new list, so that a list a reader holds never
    changes length under it.

    A resizable pool also counts the asks its refs have in flight to each
    member: the backlog of a member whose queue is in another process,
    where this one cannot read it.
    """

    __slots__ = ("_asked", "_lock", "counting", "members")

    def __init__(self, size: int, *, counting: bool) -> None:
        self.members: list[ActorRef[Any] | None] = [None] * size
        self.counting = counting
        self._asked: collections.Counter[str] = collections.Counter()
        self._lock = allocate_lock()

    def count(self, member: ActorRef[Any], future: Future[Any]) -> None:
        """Count `future`, an ask of `member`, until it is answered."""
        urn = member.actor_urn
        with self._lock:
            self._asked[urn] += 1
        future._add_done_callback(  # pyright: ignore[reportPrivateUsage]
            functools.partial(self._answered, urn)
        )

    def _answered(self, urn: str) -> None:
        with self._lock:
            self._asked[urn] -= 1
            if self._asked[urn] <= 0:
                del self._asked[urn]

    def backlog(self, member: ActorRef[Any]) -> int:
        """How many messages wait for `member`: its queue, or its asks in flight."""
        queued = member.actor_inbox.qsize()
        if queued is not None:
            return queued
        with self._lock:  # (one of them is being handled, not waiting)
            return max(self._asked[member.actor_urn] - 1, 0)


class Pool(Supervisor):
    """The actor that starts, supervises and stops the members of a pool.

    ```python
    class Worker(limelight.ThreadingActor):
        def work(self, n: int) -> int:
            return n * n

    pool = limelight.Pool.start(Worker, size=4)
    assert pool.proxy().work(3).get() == 9
    assert pool.map("work", range(5)) == [0, 1, 4, 9, 16]
    pool.stop()
    ```

    [`start()`][limelight.Pool.start] returns a [`PoolRef`][limelight.PoolRef]:
    use it wherever a ref to a single actor was used. Members are children
    of the pool (``"member-0"``, ``"member-1"``, ...), restarted one for
    one when they crash, up to `max_restarts` within `within` seconds (then
    the pool gives up and stops, as a supervisor does). Messages queued for
    a member that crashed are not handed to its successor: asks among them
    fail with [`ActorDeadError`][limelight.ActorDeadError], as for any
    restarted child. Ask again to have another member (or the restarted
    one) handle it: only the caller knows whether that is safe.
    """

    def __init__(  # noqa: PLR0913 -- the members', the sizing's and the supervision's settings
        self,
        member: type[Actor] | Callable[..., ActorRef[Any]],
        size: int,
        *,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        max_size: int | None = None,
        grow_at: int = 4,
        resize_every: float = 1.0,
        max_restarts: int = 3,
        within: float = 5.0,
    ) -> None:
        check_count("a pool's size", size, minimum=1)
        if max_size is not None:
            check_count("max_size", max_size, minimum=size)
            check_count("grow_at", grow_at, minimum=1)
            check_seconds("resize_every", resize_every, allow_none=False)
        self._limelight_spec_of = functools.partial(
            ChildSpec, start=member, args=args, kwargs=dict(kwargs or {})
        )
        specs = [self._limelight_spec_of(f"member-{slot}") for slot in range(size)]
        super().__init__(specs, max_restarts=max_restarts, within=within)
        self._limelight_slots = _Slots(size, counting=max_size is not None)
        self._limelight_sizes = (size, size if max_size is None else max_size)
        self._limelight_grow_at = grow_at
        self._limelight_resize_every = resize_every

    @classmethod
    def start(  # noqa: PLR0913 # pyright: ignore[reportIncompatibleMethodOverride] -- a pool starts members: its own signature
        cls,
        member: type[A],
        size: int,
        *,
        routing: Routing = "round_robin",
        hash_key: Callable[[Any], Hashable] | None = None,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        max_size: int | None = None,
        grow_at: int = 4,
        resize_every: float = 1.0,
        max_restarts: int = 3,
        within: float = 5.0,
    ) -> PoolRef[A]:
        """Start `size` actors of the class `member`; return the pool's ref.

        Each member is started with `args` and `kwargs`, one after another,
        each once the one before has finished its ``on_start()``. Members
        may be actors of any runtime.

        Called in a running event loop, it returns at once, as
        [`Supervisor.start()`][limelight.Supervisor.start] does: the members
        start meanwhile, and a message sent before the first has started
        fails with [`ActorDeadError`][limelight.ActorDeadError].

        Args:
            member: the members' actor class.
            size: how many members.
            routing: how the ref picks the member for a message: see
                [`Routing`][limelight.Routing].
            hash_key: for ``"consistent_hash"`` (and only then): the key of
                a message, such as ``lambda message: message.user_id``.
                For a proxy call, the message is a
                [`ProxyCall`][limelight.messages.ProxyCall]: its ``args``
                hold the call's arguments.
            args: positional arguments for every member's ``__init__()``.
            kwargs: keyword arguments for every member's ``__init__()``.
            max_size: make the pool resizable, between `size` and
                `max_size` members (see "Resizing" in the guide). `None`
                (the default): `size` members for good.
            grow_at: with `max_size`, add a member when every member has
                at least this many messages queued.
            resize_every: with `max_size`, seconds between two looks at
                the members' queues; at most one member is added or
                stopped per look.
            max_restarts: restarts of crashed members allowed within
                `within` seconds before the pool gives up.
            within: seconds, for `max_restarts`.

        Raises:
            TypeError, ValueError: for a bad argument, before anything
                starts.
            Exception: whatever the first member that could not start
                raised (the members started before it are stopped).
        """
        if routing not in _ROUTINGS:
            msg = (
                f"routing must be one of {', '.join(map(repr, _ROUTINGS))}, "
                f"not {routing!r}"
            )
            raise ValueError(msg)
        if (routing == "consistent_hash") != (hash_key is not None):
            msg = (
                'routing="consistent_hash" needs hash_key (a function giving a '
                "message's key), and only it takes one"
            )
            raise ValueError(msg)
        if routing == "consistent_hash" and max_size is not None:
            msg = (
                'a pool with routing="consistent_hash" has a fixed size: resizing '
                "would move keys to members that do not have their state; leave "
                "out max_size"
            )
            raise ValueError(msg)
        pool_ref: ActorRef[Any] = super().start(
            member,
            size,
            args=args,
            kwargs=kwargs,
            max_size=max_size,
            grow_at=grow_at,
            resize_every=resize_every,
            max_restarts=max_restarts,
            within=within,
        )
        pool = pool_ref._actor_weakref()
        assert pool is not None  # (a thread actor of this process, just started)
        return PoolRef(pool_ref, member, pool._limelight_slots, routing, hash_key)

    def on_start(self) -> None:
        super().on_start()
        smallest, largest = self._limelight_sizes
        if largest > smallest:
            self.send_every(self._limelight_resize_every, _RESIZE)

    def on_receive(self, message: Any) -> Any:
        if message.__class__ is _Resize:
            self._limelight_resize()
            return None
        return super().on_receive(message)

    def _limelight_resize(self) -> None:
        """Add a member if all are backlogged; stop the last if none has work."""
        slots = self._limelight_slots.members
        running = [ref for ref in slots if ref is not None and ref.is_alive()]
        if len(running) < len(slots):
            return  # (a restart under way: its slot has no member to weigh)
        backlog = [self._limelight_slots.backlog(ref) for ref in running]
        smallest, largest = self._limelight_sizes
        if min(backlog) >= self._limelight_grow_at and len(slots) < largest:
            # The slot first, which the member's start fills in.
            self._limelight_slots.members = [*slots, None]
            name = f"member-{len(slots)}"
            try:
                self.start_child(self._limelight_spec_of(name))
            except Exception:
                logger.exception("Adding a member to %s failed", self)
                self._limelight_slots.members = slots
                return
            if self._limelight_start_failed:  # (its on_start() raised: logged)
                logger.error("Adding a member to %s failed: it did not start", self)
                self.stop_child(name)
                self._limelight_slots.members = slots
        elif sum(backlog) == 0 and len(slots) > smallest:
            # Out of the routing first, then stopped once its queue is done.
            self._limelight_slots.members = slots[:-1]
            self.stop_child(f"member-{len(slots) - 1}")

    def _limelight_start_child(self, spec: ChildSpec) -> ActorRef[Any]:
        ref = super()._limelight_start_child(spec)
        slot = int(spec.name.rpartition("-")[2])
        self._limelight_slots.members[slot] = ref
        return ref


class PoolRef(ActorRef[A]):
    """The ref of a [`Pool`][limelight.Pool]: an actor ref that routes.

    ``tell()``, ``ask()`` and ``proxy()`` go to a member picked by the
    pool's [`Routing`][limelight.Routing]; ``stop()``, ``kill()``,
    ``is_alive()``, ``termination()`` and ``actor_stopped`` are the pool's
    own (stopping the pool stops every member first). ``actor_class`` is
    the members' class, so a proxy of the pool has the members' methods, and
    type checkers see it so: ``PoolRef[Worker]`` is an ``ActorRef[Worker]``.

    A member that is not running (it crashed, and is being restarted) is
    passed over; with no member running, a message fails with
    [`ActorDeadError`][limelight.ActorDeadError].
    """

    __slots__ = (
        "_next",
        "_pool_ref",
        "_ring",
        "_route",
        "_scatters",
        "_slots",
        "routing",
    )

    routing: Routing
    """How the pool routes messages."""

    def __init__(
        self,
        pool_ref: ActorRef[Pool],
        member: type[A],
        slots: _Slots,
        routing: Routing,
        hash_key: Callable[[Any], Hashable] | None,
    ) -> None:
        # (Not ActorRef.__init__(): the pool actor's state, with the
        # members' class.)
        pool_actor: Any = pool_ref._actor_weakref  # (a Pool, not an A)
        self._limelight_bind(
            pool_actor,
            member,
            pool_ref.actor_urn,
            pool_ref.actor_inbox,
            pool_ref.actor_stopped,
            pool_ref._create_future,
        )
        self._pool_ref = pool_ref
        self._slots = slots
        self._next = itertools.count()
        self.routing = routing
        self._scatters = routing in ("broadcast", "first_answer")
        self._ring: list[tuple[int, int]] = []
        pick: Callable[[Any], ActorRef[Any]]
        if routing == "random":
            pick = self._pick_random
        elif routing == "smallest_mailbox":
            pick = self._pick_least_busy
        elif routing == "consistent_hash":
            assert hash_key is not None  # (checked by Pool.start())
            self._ring = sorted(
                (hash((slot, point)), slot)
                for slot in range(len(slots.members))
                for point in range(_RING_POINTS)
            )
            key_of = hash_key
            pick = lambda message: self._pick_by_key(key_of(message))  # noqa: E731
        else:  # (round robin; broadcasts do not pick)
            pick = self._pick_in_turn
        self._route = pick

    _limelight_travels = False

    def __repr__(self) -> str:
        return f"<PoolRef for {self}>"

    def __reduce__(self) -> tuple[Any, ...]:
        """Refuse to travel to another process, saying what to send instead.

        The routing is this process's: the pool's members are known here,
        and its ref elsewhere would reach only the pool's own actor.
        """
        msg = (
            f"{self} is a pool's ref, which routes in this process and cannot "
            "be sent to another: send one of its members (pool.members), or "
            "have the other side ask an actor here that holds the pool"
        )
        raise TypeError(msg)

    @property
    def supervisor(self) -> ActorRef[Pool]:
        """The ref of the pool's own actor, which supervises the members.

        A plain ref: its proxy has the [`Supervisor`][limelight.Supervisor]'s
        methods and attributes (``restarts``, ``which_children()``).
        """
        return self._pool_ref

    @property
    def members(self) -> list[ActorRef[A]]:
        """The refs of the members running now, in slot order."""
        return [
            ref for ref in self._slots.members if ref is not None and ref.is_alive()
        ]

    # -- Routing ---------------------------------------------------------------

    def _running(self) -> list[ActorRef[Any]]:
        running = self.members
        if not running:
            raise ActorDeadError(f"{self} has no member running")
        return running

    def _pick_in_turn(self, _message: Any) -> ActorRef[Any]:
        members = self._slots.members
        member = members[next(self._next) % len(members)]
        if member is not None and not member.actor_stopped._flag:
            return member  # (the usual case: no list made per message)
        running = self._running()
        return running[next(self._next) % len(running)]

    def _pick_random(self, _message: Any) -> ActorRef[Any]:
        return random.choice(self._running())

    def _pick_least_busy(self, _message: Any) -> ActorRef[Any]:
        members = self._slots.members
        count = len(members)
        start = next(self._next)  # (ties go in turn)
        best: ActorRef[Any] | None = None
        fewest = 0
        for step in range(count):
            member = members[(start + step) % count]
            if member is None or member.actor_stopped._flag:
                continue
            queued = member.actor_inbox.qsize() or 0  # (None: in another process)
            if best is None or queued < fewest:
                best, fewest = member, queued
                if queued == 0:
                    break  # (none can have fewer)
        if best is None:
            raise ActorDeadError(f"{self} has no member running")
        return best

    def _pick_by_key(self, key: Hashable) -> ActorRef[Any]:
        ring = self._ring
        members = self._slots.members
        # (Hashed in a tuple: small ints hash to themselves, which would all
        # land on the ring's first point.)
        index = bisect.bisect(ring, (hash((_KEY_SALT, key)), len(members)))
        # From the key's point on, the first slot whose member runs.
        for _turn in range(len(ring)):
            slot = ring[index % len(ring)][1]
            member = members[slot]
            if member is not None and member.is_alive():
                return member
            index += 1
        raise ActorDeadError(f"{self} has no member running")

    # -- Sending ---------------------------------------------------------------

    def tell(self, message: Any) -> None:
        """Send `message` to the member the routing picks (every member, to broadcast).

        Raises:
            ActorDeadError: if the pool, or every member, has stopped.
        """
        if self.actor_stopped._flag:  # (_check_running(), a call less per tell)
            raise ActorDeadError(f"{self} not found")
        if self._scatters:
            for member in self._running():
                member.tell(message)
            return
        self._route(message).tell(message)

    @overload
    def ask(
        self, message: Any, block: Literal[False], timeout: float | None = None
    ) -> Future[Any]: ...

    @overload
    def ask(
        self, message: Any, block: Literal[True] = True, timeout: float | None = None
    ) -> Any: ...

    @overload
    def ask(
        self, message: Any, block: bool = True, timeout: float | None = None
    ) -> Any | Future[Any]: ...

    def ask(  # pyright: ignore[reportIncompatibleMethodOverride] -- the overloads of ActorRef.ask(), which hold
        self, message: Any, block: bool = True, timeout: float | None = None
    ) -> Any | Future[Any]:
        """Send `message` to the member the routing picks; get its answer.

        With ``"broadcast"``, the answer is the list of every running
        member's answer; with ``"first_answer"``, the first answer to come.
        Otherwise, as [`ActorRef.ask()`][limelight.ActorRef.ask].
        """
        if timeout is not None:
            timeout = _timeouts.seconds(timeout)
        try:
            self._check_running()
            if self._scatters:
                future = self._scatter(message)
            elif self._slots.counting:
                future = self._ask_member(self._route(message), message)
            else:
                # The member's own ask, blocking or not: its fast paths
                # (inline asks, say) are the pool's.
                return self._route(message).ask(message, block, timeout)
        except ActorDeadError as error:
            if block:
                raise
            failed: SettableFuture[Any] = self._create_future()
            failed.set_exception(error)
            return failed
        if block:
            return future.get(timeout)
        return future

    def _ask_member(self, member: ActorRef[Any], message: Any) -> Future[Any]:
        """Ask `member`; counted, for a resizable pool (see `_Slots`)."""
        future: Future[Any] = member.ask(message, block=False)
        if self._slots.counting:
            self._slots.count(member, future)
        return future

    def _scatter(self, message: Any) -> Future[Any]:
        """Ask every running member; a future of all answers, or of the first."""
        futures = [member.ask(message, block=False) for member in self._running()]
        if self.routing == "broadcast":
            return futures[0].join(*futures[1:])
        return _first_of(futures, self._create_future())

    def _check_running(self) -> None:
        if not self.is_alive():
            raise ActorDeadError(f"{self} not found")

    def _introspect(self) -> dict[AttrPath, AttrInfo]:
        self._check_running()
        return self._running()[0]._introspect()

    # -- Data-parallel work ------------------------------------------------------

    def map(
        self,
        work: str | Callable[[Any], Any],
        items: Iterable[Any],
        *,
        max_in_flight: int = 2,
        timeout: float | None = None,
    ) -> list[Any]:
        """Handle every item on the members; return the answers in item order.

        `work` is the name of the members' method to call with each item
        (``pool.map("resize", images)``), or a function making the message
        to ask for each item (``pool.map(lambda path: Load(path), paths)``).
        Items are handed out as members finish, with at most
        `max_in_flight` asked of each member at a time, so every member is
        kept busy without queueing the whole input at once (which a
        crashed member would take with it). Blocks until all are answered;
        the first item whose ask fails raises its exception (the rest are
        still handled, their answers dropped).

        Raises:
            Timeout: if `timeout` seconds pass before every answer came.
        """
        answers: dict[int, Any] = {}
        for index, answer in self._map_indexed(work, items, max_in_flight, timeout):
            answers[index] = answer
        return [answers[index] for index in range(len(answers))]

    def map_unordered(
        self,
        work: str | Callable[[Any], Any],
        items: Iterable[Any],
        *,
        max_in_flight: int = 2,
        timeout: float | None = None,
    ) -> Iterator[Any]:
        """As [`map()`][limelight.PoolRef.map], yielding answers as they come.

        Raises:
            Timeout: if `timeout` seconds pass before every answer came.
        """
        for _index, answer in self._map_indexed(work, items, max_in_flight, timeout):
            yield answer

    def _map_indexed(
        self,
        work: str | Callable[[Any], Any],
        items: Iterable[Any],
        max_in_flight: int,
        timeout: float | None,
    ) -> Iterator[tuple[int, Any]]:
        check_count("max_in_flight", max_in_flight, minimum=1)
        if isinstance(work, str):
            name = work
            make: Callable[[Any], Any] = lambda item: ProxyCall((name,), (item,), {})  # noqa: E731
        else:
            make = work
        deadline = _timeouts.deadline(_timeouts.optional_seconds(timeout))
        done: queue.SimpleQueue[tuple[int, ActorRef[Any], Future[Any]]] = (
            queue.SimpleQueue()
        )
        in_flight: collections.Counter[ActorRef[Any]] = collections.Counter()
        pending = enumerate(items)
        outstanding = 0
        exhausted = False
        while True:
            # Hand out items while some member has room.
            while not exhausted:
                member = self._member_with_room(in_flight, max_in_flight)
                if member is None:
                    break
                try:
                    index, item = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                future = self._ask_member(member, make(item))
                in_flight[member] += 1
                outstanding += 1
                future._add_done_callback(  # pyright: ignore[reportPrivateUsage]
                    functools.partial(done.put, (index, member, future))
                )
            if outstanding == 0:
                return
            try:
                index, member, future = done.get(timeout=_timeouts.remaining(deadline))
            except queue.Empty:
                raise Timeout(f"{timeout} seconds") from None
            in_flight[member] -= 1
            outstanding -= 1
            yield index, future.get()

    def _member_with_room(
        self, in_flight: collections.Counter[ActorRef[Any]], limit: int
    ) -> ActorRef[Any] | None:
        """The running member with the fewest asks in flight, if below `limit`."""
        member = min(self._running(), key=in_flight.__getitem__)
        return member if in_flight[member] < limit else None


def _first_of(futures: list[Future[Any]], first: SettableFuture[Any]) -> Future[Any]:
    """`first`: the first value to come, or the last failure if all fail."""
    # (C counters: a step is atomic, and the callbacks come from any thread.)
    failed = itertools.count(1)
    answered = itertools.count(1)

    def one_done(future: Future[Any]) -> None:
        try:
            value = future.get(0)
        except BaseException as error:  # noqa: BLE001 -- handed to the asker
            if next(failed) == len(futures):
                first.set_exception(error)
            return
        if next(answered) == 1:
            first.set(value)

    for future in futures:
        future._add_done_callback(  # pyright: ignore[reportPrivateUsage]
            functools.partial(one_done, future)
        )
    return first
