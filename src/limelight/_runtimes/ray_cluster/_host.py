"""The hosts: Ray actors that run Limelight actors in their worker process.

Wrapped with ``ray.remote`` (see ``_cluster.host_class()``), a host's methods
are the protocol between a ``RayRef`` and the actor: Ray starts the calls of
one caller in the order they were made, so a caller's messages reach the
actor in the order sent. A host is the remote layer's host side
(``_remote/_hosting.py``): it starts the actor, answers what comes too late
by the one rule (``_remote/_late.py``), and remembers why its actors ended,
for the refs that ask (``wait_terminated``, a long poll each ref makes once).

The two hosts differ in how they wait for a reply: `RayHost`, an async Ray
actor, waits for many actors at once (the pool's); `RayThreadHost`, a
threaded one, blocks its call's thread (an actor with a Ray actor of its
own). They are plain classes, wrapped only when first needed, so that tests
can exercise them in-process too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from limelight._core._exceptions import ActorDeadError
from limelight._core._mailbox import stopped_before_handling
from limelight._remote._hosting import Hosting
from limelight._remote._late import tell_here
from limelight._runtimes import inline as _inline
from limelight._runtimes.ray_cluster._future import Failure, ray
from limelight._runtimes.ray_cluster._refs import Here
from limelight._runtimes.ray_cluster._serializers import (
    picklable,
    register_serializers,
)
from limelight._runtimes.ray_cluster._waits import report_from_host
from limelight.messages import ProxyCall, _ActorStop

if TYPE_CHECKING:
    from collections.abc import Callable

    from limelight._core._actor import Actor
    from limelight._core._future import Future
    from limelight._core._introspection import AttrInfo
    from limelight._core._ref import ActorRef
    from limelight._core._types import AttrPath
    from limelight._remote._ended import EndedActors
    from limelight.messages import ExitReason, Terminated

__all__ = ["RayHost", "RayThreadHost"]

_STOP = _ActorStop()

_Stopped = tuple[bool, "ExitReason", "BaseException | None"]

_GONE_KEPT = 10_000
"""How many ended actors a pooled host's turns remember (as many as late
messages are answered for: see ``_remote/_ended.py``)."""


class _HostBase:
    """Runs Limelight actors in the Ray worker process it lives in."""

    pooled: ClassVar[bool]
    """Whether it is a pooled host, whose calls name the actor (and number it)."""

    def __init__(self) -> None:
        Here.host = self
        register_serializers()
        report_from_host()  # (the waits of its actors: see _waits.py)
        self.hosting = Hosting(("ray", "host"), self._reported, self._gone)

    @property
    def actors(self) -> dict[str, ActorRef[Any]]:
        """The actors started here that have not ended, by urn."""
        return self.hosting.running

    @property
    def ended(self) -> EndedActors:
        """Why the latest actors ended, for their refs' questions.

        A kill may reach the host, and end the actor, before a ref's
        question (``wait_terminated()``), and every copy of a ref (unpickled
        in another process, such as a watcher's) asks too, each once.
        """
        return self.hosting.ended

    def _reported(self, urn: str, terminated: Terminated) -> None:
        """Actor `urn` has ended (its refs ask: nothing to send)."""

    def _gone(self, urn: str) -> None:
        """Actor `urn` no longer runs here, and why it ended is remembered."""

    def _start(self, urn: str, make: Callable[[], Actor]) -> BaseException | None:
        """Start the actor that ``make()`` makes; return what it raised, if anything.

        Returned rather than raised, so that the caller raises the exception
        itself rather than Ray's wrapper of it.
        """
        try:
            self.hosting.start(urn, make)
        except Exception as exc:  # noqa: BLE001 -- __init__() may raise anything
            return picklable(exc)
        return None

    def _target(self, urn: str) -> ActorRef[Any]:
        ref = self.actors.get(urn)
        if ref is None:
            name = self.hosting.name(urn)
            if name is not None:
                raise stopped_before_handling(name)
            raise ActorDeadError(f"actor {urn} not found")
        return ref

    def _ended(self, urn: str) -> tuple[ExitReason, BaseException | None]:
        """Why an actor that has ended did (if it ended long ago: "normal")."""
        end = self.ended.get(urn)
        if end is None:
            return "normal", None
        exception = end.exception
        return end.reason, None if exception is None else picklable(exception)

    def _stopped(self, stopping: Future[Any], urn: str) -> _Stopped:
        """The reply to a stop, once answered and the actor has ended.

        Whether the stop succeeded (``_remote/_late.py``: a late one does,
        for an actor the host knows), and how the actor ended.
        """
        try:
            stopping.get(0)
        except ActorDeadError:
            stopped = False
        else:
            stopped = True
        return (stopped, *self._ended(urn))

    def _describe(self) -> tuple[str, type[Any]]:
        for urn, ref in self.actors.items():
            return urn, ref.actor_class
        msg = "the Ray actor hosts no Limelight actor any more"
        raise ActorDeadError(msg)

    def _tell(self, urn: str, message: Any) -> None:
        tell_here(self.actors.get(urn), urn, message, "a Ray caller")

    def _kill(self, urn: str) -> None:
        ref = self.actors.get(urn)
        if ref is not None:
            ref.kill()


class _Turns:
    """Each caller's messages to an actor, let in one at a time, in the order sent.

    Ray starts an *async* actor's calls in no guaranteed order, even those
    of one caller. So every ref numbers what it sends to an actor (its
    *sender* id and a sequence number, from 0), and a pooled host lets each
    call put its message into the actor's inbox only when all those sent
    before it by the same ref have. Used in the host's event loop only.
    """

    __slots__ = ("_gone", "_next", "_waiting")

    def __init__(self) -> None:
        # By urn, by sender: the sequence number whose turn it is.
        self._next: dict[str, dict[str, int]] = {}
        # By urn: the calls waiting for their turn, by (sender, number).
        self._waiting: dict[str, dict[tuple[str, int], asyncio.Future[None]]] = {}
        # The latest actors forgotten (an ordered set, oldest first): what
        # arrives for them takes no turn, and a call that was let in before
        # the end and is done after it numbers no turn in again.
        self._gone: dict[str, None] = {}

    async def wait(self, urn: str, sender: str | None, seq: int) -> None:
        """Return when it is the turn of message `seq` from `sender` to `urn`."""
        if (
            sender is None
            or urn in self._gone
            or self._next.get(urn, {}).get(sender, 0) == seq
        ):
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(urn, {})[sender, seq] = turn
        await turn

    def done(self, urn: str, sender: str | None, seq: int) -> None:
        """Message `seq` from `sender` is in the inbox: let the next one in."""
        if sender is None or urn in self._gone:
            return
        self._next.setdefault(urn, {})[sender] = seq + 1
        waiting = self._waiting.get(urn)
        if waiting:
            turn = waiting.pop((sender, seq + 1), None)
            if turn is not None:
                turn.set_result(None)

    def forget(self, urn: str) -> None:
        """The actor has ended: let everyone waiting in (to find it gone)."""
        self._gone[urn] = None
        if len(self._gone) > _GONE_KEPT:
            del self._gone[next(iter(self._gone))]
        self._next.pop(urn, None)
        for turn in self._waiting.pop(urn, {}).values():
            turn.set_result(None)


class RayHost(_HostBase):
    """The host of pooled actors: a Ray async actor, which waits for many at once.

    Each method puts its message into the actor's inbox before it first
    awaits anything, so a caller's messages reach the actor in the order
    sent.
    """

    pooled = True

    def __init__(self) -> None:
        self.turns = _Turns()
        # The host's event loop, where the turns are kept (known from the
        # first start(), which Ray calls in it: before any actor can end).
        self._loop: asyncio.AbstractEventLoop | None = None
        super().__init__()

    async def start(
        self,
        actor_class: type[Actor],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        urn: str,
    ) -> BaseException | None:
        """Start an actor here, named `urn`; return what ``__init__()`` raised."""
        self._loop = asyncio.get_running_loop()
        return self._start(urn, functools.partial(actor_class, *args, **kwargs))

    async def describe(self) -> tuple[str, type[Any]]:
        """The urn and class of the actor of a dedicated host (for lookups)."""
        return self._describe()

    def _gone(self, urn: str) -> None:
        # Told in the thread the actor ended in: the turns, and the asyncio
        # futures of the calls waiting for one, are the loop's, which must
        # also be woken to let them in. (Once the actor is no longer running
        # here: a call let in finds it ended, and why.)
        loop = self._loop
        assert loop is not None  # (set by start(), which made the actor)
        with contextlib.suppress(RuntimeError):  # (the loop has closed: no call waits)
            loop.call_soon_threadsafe(self.turns.forget, urn)

    async def _turn(self, urn: str, sender: str | None, seq: int) -> None:
        # Only while the actor runs: once it has ended, what arrives is
        # refused in any order, and its turn may never come (the messages
        # before it may have been refused before they were numbered in).
        if urn in self.actors:
            await self.turns.wait(urn, sender, seq)

    async def tell(
        self, urn: str, message: Any, sender: str | None = None, seq: int = 0
    ) -> None:
        """Put `message` into the actor's inbox, in its turn (see `_Turns`)."""
        await self._turn(urn, sender, seq)
        self._tell(urn, message)
        self.turns.done(urn, sender, seq)

    async def ask(
        self, urn: str, message: Any, sender: str | None = None, seq: int = 0
    ) -> Any:
        """Ask the actor; return the reply, or the exception as a `Failure`.

        The exception is returned, not raised, so that the caller raises the
        actor's own exception rather than Ray's wrapper of it. (A reply is
        returned as it is: Ray sends plain values, such as numbers, cheaper
        than a tuple around them.)
        """
        await self._turn(urn, sender, seq)
        try:
            reply = self.hosting.ask(urn, message)
        finally:
            self.turns.done(urn, sender, seq)
        try:
            value = await reply
        except Exception as exc:  # noqa: BLE001 -- the asker gets it
            return Failure(picklable(exc))
        return value

    async def stop(self, urn: str, sender: str | None = None, seq: int = 0) -> _Stopped:
        """Stop the actor; once it has ended, say whether this call stopped it."""
        await self._turn(urn, sender, seq)
        try:
            stopping = self.hosting.ask(urn, _STOP)
        finally:
            self.turns.done(urn, sender, seq)
        with contextlib.suppress(ActorDeadError):
            await stopping
        await self.wait_terminated(urn)
        return self._stopped(stopping, urn)

    async def kill(self, urn: str) -> None:
        """Kill the actor: its queued messages are dropped."""
        self._kill(urn)

    async def introspect(self, urn: str) -> dict[AttrPath, AttrInfo]:
        """What a proxy of the actor needs to know about its attributes."""
        return self._target(urn)._introspect()

    async def wait_terminated(
        self, urn: str
    ) -> tuple[ExitReason, BaseException | None]:
        """Return, once the actor has ended, why it did (a long poll)."""
        ref = self.actors.get(urn)
        if ref is not None:
            await ref.termination()
        return self._ended(urn)

    async def count(self) -> int:
        """How many actors this host runs."""
        return len(self.actors)


class RayThreadHost(_HostBase):
    """The host of an actor with a Ray actor of its own: a threaded Ray actor.

    A plain Ray actor runs a call in the thread that receives it; an async
    one hands it to its event loop first, which makes each call dearer. This
    host blocks that thread on the actor's reply instead. Its calls run one
    at a time, in the order sent (Ray's default group, of one thread), as
    the actor handles its messages anyway; kills, introspection and end
    notices run in groups of their own, never behind a long ask.
    """

    pooled = False

    def __init__(self) -> None:
        super().__init__()
        self.urn = ""  # (its actor's, once started)

    def start(
        self,
        actor_class: type[Actor],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        urn: str,
    ) -> BaseException | None:
        """Start the actor here, named `urn`; return what ``__init__()`` raised.

        A `RayActor` made here gets an inbox that lets the blocking asks
        below run in the call's own thread while it is idle (see
        ``_runtimes/inline.py``).
        """
        self.urn = urn
        with _inline.hosting():
            return self._start(urn, functools.partial(actor_class, *args, **kwargs))

    def describe(self) -> tuple[str, type[Any]]:
        """The urn and class of the actor (for lookups)."""
        return self._describe()

    # Tells, asks and stops take the message alone: the host has one actor,
    # and Ray runs a single-threaded actor's calls of one caller in order,
    # so neither the urn nor the numbers that a pooled host needs are sent
    # (each argument makes a Ray call dearer).

    def tell(self, message: Any) -> None:
        """Put `message` into the actor's inbox."""
        self._tell(self.urn, message)

    def _ask_inline(self, message: Any) -> Future[Any]:
        """Ask the actor, which handles it in this thread if idle (``inline.py``)."""
        here = _inline.HOST_THREAD
        ref = self.actors.get(self.urn)
        here.inline = None if ref is None else ref.actor_inbox
        try:
            return self.hosting.ask(self.urn, message)
        finally:
            here.inline = None

    def ask(self, message: Any) -> Any:
        """Ask the actor and wait; return the reply, or the exception as a `Failure`."""
        try:
            return self._ask_inline(message).get()
        except Exception as exc:  # noqa: BLE001 -- the asker gets it
            return Failure(picklable(exc))

    def call(self, request: list[Any]) -> Any:
        """Ask the actor a proxy call sent as a list (see ``_refs._as_request``)."""
        attr_path, args, kwargs = request
        return self.ask(ProxyCall(tuple(attr_path), tuple(args), kwargs))

    def stop(self) -> _Stopped:
        """Stop the actor; once it has ended, say whether this call stopped it."""
        stopping = self._ask_inline(_STOP)
        with contextlib.suppress(ActorDeadError):
            stopping.get()
        self.wait_terminated(self.urn)
        return self._stopped(stopping, self.urn)

    def kill(self, urn: str) -> None:
        """Kill the actor: its queued messages are dropped."""
        self._kill(urn)

    def introspect(self, urn: str) -> dict[AttrPath, AttrInfo]:
        """What a proxy of the actor needs to know about its attributes."""
        return self._target(urn)._introspect()

    def wait_terminated(self, urn: str) -> tuple[ExitReason, BaseException | None]:
        """Return, once the actor has ended, why it did (a long poll)."""
        ref = self.actors.get(urn)
        if ref is not None:
            ref.termination().get()
        return self._ended(urn)

    def count(self) -> int:
        """How many actors this host runs (one, until it ends)."""
        return len(self.actors)

    def retire(self, grace: float) -> NoReturn:
        """End this Ray actor once nothing more is owed: its actor is gone.

        Its owner calls it on learning of the end, or on killing the actor
        (whose handler may never return). For `grace` seconds the host
        still answers, as before: a stop queued behind the one that ended
        the actor, another host's watcher asking why it ended. Then Ray
        ends the process once the calls running have returned and their
        replies are sent (the reply of a handler that ``kill()`` left
        running, of an ask whose handler stopped the actor); calls that come
        later fail as to a dead actor. A call that never returns (a handler
        left running for good) is cut off `grace` seconds later.
        """
        time.sleep(grace)
        _exit_host(cut_off_after=grace)


def _exit_host(cut_off_after: float) -> NoReturn:
    """Exit the Ray actor of this call, once its running calls have returned.

    Those that have not after `cut_off_after` seconds are cut off: the host
    is then killed as by ``ray.kill()``.
    """
    module = ray()
    host = module.get_runtime_context().current_actor
    cut_off = threading.Timer(
        cut_off_after, functools.partial(module.kill, host, no_restart=True)
    )
    cut_off.daemon = True
    cut_off.start()
    module.actor.exit_actor()  # (raises: Ray exits once the running calls have)
    raise AssertionError  # pragma: no cover -- exit_actor() raises
