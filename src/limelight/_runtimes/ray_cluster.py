"""The Ray runtime: Limelight actors hosted by Ray actors, anywhere on a cluster.

A *host* is a Ray actor that runs Limelight actors as thread actors inside
its worker process: a blocking handler blocks its own thread, never the
host. By default each Limelight actor gets a host of its own
(:class:`RayThreadHost`, a threaded Ray actor), so that Ray's options (CPUs,
GPUs, custom resources, a name) apply to it; a class with ``ray_pool = True``
shares a small pool of hosts instead (:class:`RayHost`, an async Ray actor,
which waits for many actors at once), so that starting one is a call to a
running process rather than a process start.

The caller holds a :class:`RayRef`: an ``ActorRef`` whose inbox turns each
envelope into a call on the host. A tell is a call whose result nobody
reads; an ask's reply is a Ray object, read with ``ray.get()`` by the first
``get()`` of the future, or handed on by a callback if the future is awaited
or combined first (no thread waits per ask). Every ref asks its host once,
with a long poll (``wait_terminated``), to be told when the actor ends; if
the host dies, that call fails with Ray's actor-died error, which ends the
ref. So watchers, links and supervisors work without polling. Once a
dedicated host's actor has ended, its owner tells it to retire: it answers
what is still owed, and late questions for a grace period, then exits.

The hosts' logic is plain classes, wrapped with ``ray.remote`` only when
first needed, so that tests can exercise it in-process too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar, cast

from limelight._core._actor import Actor, new_actor_urn
from limelight._core._exceptions import ActorDeadError, DeadlockError, Timeout
from limelight._core._future import _PENDING, SettableFuture
from limelight._core._log import logger
from limelight._core._mailbox import stopped_before_handling
from limelight._core._proxy import ActorProxy, lazy_proxy
from limelight._core._ref import NO_LOCAL_ACTOR, ActorRef, ended_reason
from limelight._core._registry import ActorRegistry
from limelight._core._runtime import mark_service_thread
from limelight._core._stopped import StoppedEvent
from limelight._runtimes import ray_inline
from limelight._runtimes.threads import ThreadingActor
from limelight.messages import ProxyCall, Terminated, _ActorStop

if TYPE_CHECKING:
    import concurrent.futures

    from typing_extensions import Self

    from limelight._core._introspection import AttrInfo
    from limelight._core._types import AttrPath, Envelope
    from limelight.messages import ExitReason

__all__ = [
    "RayActor",
    "RayFuture",
    "RayHost",
    "RayRef",
    "Starter",
    "configure",
    "init",
    "lookup",
    "shutdown",
]


T = TypeVar("T")

RAY_OPTION_NAMES = frozenset(
    {
        "num_cpus",
        "num_gpus",
        "memory",
        "resources",
        "accelerator_type",
        "name",
        "namespace",
        "lifetime",
        "scheduling_strategy",
        "runtime_env",
        "label_selector",
    }
)
"""The ``ray.remote()`` options a Limelight actor may set for its host."""

_DEFAULT_POOL_SIZE = 2


class RayFuture(SettableFuture[T]):
    """The future of asks to a Ray actor, completed when Ray delivers the reply.

    An ordinary settable future: wait for it from any thread, await it from
    any event loop, combine it with others.
    """

    __slots__ = ("_reply", "_settle")

    def __init__(self) -> None:
        super().__init__()
        self._reply: Any = None

    def _await_reply(self, reply: Any, settle: Callable[[_Outcome], None]) -> None:
        """Be completed by ``settle(outcome)`` once the Ray object `reply` is ready.

        Nothing waits for it yet: the first ``get()`` reads it with
        ``ray.get()`` in the caller's own thread (as a raw Ray call would),
        and the first ``await`` or combinator asks Ray for a callback.
        """
        self._settle = settle
        self._reply = reply

    def get(self, timeout: float | None = None) -> T:
        reply = self._reply
        if reply is not None and self._state == _PENDING:
            self._fetch(reply, timeout)
        return super().get(timeout)

    def _fetch(self, reply: Any, timeout: float | None) -> None:
        try:
            value = _ray().get(reply, timeout=timeout)
        except _ray_exceptions().GetTimeoutError:
            raise Timeout(f"{timeout} seconds") from None
        except Exception as exc:  # noqa: BLE001 -- handed on, whatever it is
            outcome: _Outcome = (False, _from_ray(exc))
        else:
            outcome = (True, value)
        self._settle_once(outcome)

    def _settle_once(self, outcome: _Outcome) -> None:
        # (Not contextlib.suppress(): this runs for every reply read, and
        # making the context manager cost some 4,000 instructions, a tenth
        # of the caller's part of a call.)
        try:  # noqa: SIM105
            self._settle(outcome)
        except queue.Full:  # another thread was first
            pass

    def _add_done_callback(self, callback: Callable[[], None]) -> bool:
        reply, self._reply = self._reply, None
        if reply is not None:
            _when_done(reply, self._settle_once)
        return super()._add_done_callback(callback)


# -- The host: a Ray actor that runs Limelight actors ------------------------------


class _HostBase:
    """Runs Limelight actors in the Ray worker process it lives in.

    Wrapped with ``ray.remote`` (see :func:`_host_class`), a host's methods
    are the protocol between a :class:`RayRef` and the actor: Ray starts the
    calls of one caller in the order they were made, so a caller's messages
    reach the actor in the order sent. The two hosts below differ only in
    how they wait for a reply.
    """

    def __init__(self) -> None:
        _Here.host = self
        _register_serializers()
        # The actors started here, by urn: the host answers for these.
        self.actors: dict[str, ActorRef[Any]] = {}
        # Why the latest actors ended, for their refs' questions
        # (wait_terminated()): a kill may reach the host, and end the actor,
        # before a ref's question, and every copy of a ref (unpickled in
        # another process, such as a watcher's) asks too, each once.
        self.ended: dict[str, tuple[ExitReason, BaseException | None]] = {}

    def _target(self, urn: str) -> ActorRef[Any]:
        ref = self.actors.get(urn)
        if ref is None:
            if urn in self.ended:
                # Sent while the sender's ref saw it running, as a message
                # left in its inbox when it stopped: said the same way.
                raise stopped_before_handling(f"actor {urn}")
            raise ActorDeadError(f"actor {urn} not found")
        return ref

    def _start_reporting(
        self,
        actor_class: type[Actor],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        urn: str,
    ) -> BaseException | None:
        try:
            # (The caller named the actor already: its ref there has this urn.)
            ref = actor_class(*args, **kwargs)._limelight_register_and_run(urn)
        except Exception as exc:  # noqa: BLE001 -- __init__() may raise anything
            return _picklable(exc)
        self.actors[urn] = ref
        ref.actor_stopped.add_termination_callback(
            ("ray", "host"), lambda terminated: self._forget(urn, terminated)
        )
        return None

    ends_kept: ClassVar[int] = 10_000
    """How many of the latest ends `ended` keeps (the oldest go first)."""

    def _forget(self, urn: str, terminated: Terminated) -> None:
        self.actors.pop(urn, None)
        self.ended[urn] = _why(terminated)
        if len(self.ended) > self.ends_kept:
            del self.ended[next(iter(self.ended))]

    def _ended(self, urn: str) -> tuple[ExitReason, BaseException | None]:
        """Why an actor that has ended did (if it ended long ago: "normal")."""
        return self.ended.get(urn, ("normal", None))

    def _stopped_already(
        self, urn: str
    ) -> tuple[bool, ExitReason, BaseException | None]:
        """The answer to a stop that reaches the host after the actor ended.

        Sent while the sender's ref saw it running, it succeeds however the
        actor ended, as a stop queued when it ended does on every runtime
        (``_core/_mailbox.answer_too_late()``); not if the host never had it.
        """
        reason, exception = self.ended.get(urn, ("normal", None))
        return urn in self.ended, reason, exception

    def _describe(self) -> tuple[str, type[Any]]:
        for urn, ref in self.actors.items():
            return urn, ref.actor_class
        msg = "the Ray actor hosts no Limelight actor any more"
        raise ActorDeadError(msg)

    def _tell(self, urn: str, message: Any) -> None:
        try:
            self._target(urn).tell(message)
        except Exception:
            logger.warning("Dropped a message to %s", urn, exc_info=True)

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

    __slots__ = ("_next", "_waiting")

    def __init__(self) -> None:
        # By urn, by sender: the sequence number whose turn it is.
        self._next: dict[str, dict[str, int]] = {}
        # By urn: the calls waiting for their turn, by (sender, number).
        self._waiting: dict[str, dict[tuple[str, int], asyncio.Future[None]]] = {}

    async def wait(self, urn: str, sender: str | None, seq: int) -> None:
        """Return when it is the turn of message `seq` from `sender` to `urn`."""
        if sender is None or self._next.get(urn, {}).get(sender, 0) == seq:
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(urn, {})[sender, seq] = turn
        await turn

    def done(self, urn: str, sender: str | None, seq: int) -> None:
        """Message `seq` from `sender` is in the inbox: let the next one in."""
        if sender is None:
            return
        self._next.setdefault(urn, {})[sender] = seq + 1
        waiting = self._waiting.get(urn)
        if waiting:
            turn = waiting.pop((sender, seq + 1), None)
            if turn is not None:
                turn.set_result(None)

    def forget(self, urn: str) -> None:
        """The actor has ended: let everyone waiting in (to find it gone)."""
        self._next.pop(urn, None)
        for turn in self._waiting.pop(urn, {}).values():
            turn.set_result(None)


class RayHost(_HostBase):
    """The host of pooled actors: a Ray async actor, which waits for many at once.

    Each method puts its message into the actor's inbox before it first
    awaits anything, so a caller's messages reach the actor in the order
    sent.
    """

    async def start(
        self,
        actor_class: type[Actor],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        urn: str,
    ) -> BaseException | None:
        """Start an actor here, named `urn`; return what ``__init__()`` raised.

        Returned rather than raised, so that the caller raises the exception
        itself rather than Ray's wrapper of it.
        """
        return self._start_reporting(actor_class, args, kwargs, urn)

    async def describe(self) -> tuple[str, type[Any]]:
        """The urn and class of the actor of a dedicated host (for lookups)."""
        return self._describe()

    def __init__(self) -> None:
        super().__init__()
        self.turns = _Turns()

    def _forget(self, urn: str, terminated: Terminated) -> None:
        super()._forget(urn, terminated)
        self.turns.forget(urn)

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
            try:
                reply = self._target(urn).ask(message, block=False)
            finally:
                self.turns.done(urn, sender, seq)
            value = await reply
        except Exception as exc:  # noqa: BLE001 -- the asker gets it
            return Failure(_picklable(exc))
        return value

    async def stop(
        self, urn: str, sender: str | None = None, seq: int = 0
    ) -> tuple[bool, ExitReason, BaseException | None]:
        """Stop the actor; once it has ended, say whether this call stopped it."""
        await self._turn(urn, sender, seq)
        try:
            ref = self._target(urn)
        except ActorDeadError:
            return self._stopped_already(urn)
        finally:
            self.turns.done(urn, sender, seq)
        stopped_by_us = await ref.stop(block=False)
        reason, exception = await self.wait_terminated(urn, ref)
        return stopped_by_us, reason, exception

    async def kill(self, urn: str) -> None:
        """Kill the actor: its queued messages are dropped."""
        self._kill(urn)

    async def introspect(self, urn: str) -> dict[AttrPath, AttrInfo]:
        """What a proxy of the actor needs to know about its attributes."""
        return self._target(urn)._introspect()

    async def wait_terminated(
        self, urn: str, ref: ActorRef[Any] | None = None
    ) -> tuple[ExitReason, BaseException | None]:
        """Return, once the actor has ended, why it did (a long poll)."""
        if ref is None:
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
        ``_runtimes/ray_inline.py``).
        """
        self.urn = urn
        with ray_inline.hosting():
            return self._start_reporting(actor_class, args, kwargs, urn)

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

    def ask(self, message: Any) -> Any:
        """Ask the actor and wait; return the reply, or the exception as a `Failure`.

        An idle actor handles it in this thread (see ``_runtimes/ray_inline.py``).
        """
        here = ray_inline.HOST_THREAD
        try:
            ref = self._target(self.urn)
            here.inline = ref.actor_inbox
            value = ref.ask(message)
        except Exception as exc:  # noqa: BLE001 -- the asker gets it
            return Failure(_picklable(exc))
        finally:
            here.inline = None
        return value

    def call(self, request: list[Any]) -> Any:
        """Ask the actor a proxy call sent as a list (see `_as_request`)."""
        attr_path, args, kwargs = request
        return self.ask(ProxyCall(tuple(attr_path), tuple(args), kwargs))

    def stop(self) -> tuple[bool, ExitReason, BaseException | None]:
        """Stop the actor; once it has ended, say whether this call stopped it."""
        try:
            ref = self._target(self.urn)
        except ActorDeadError:
            return self._stopped_already(self.urn)
        here = ray_inline.HOST_THREAD
        here.inline = ref.actor_inbox
        try:
            stopped_by_us = ref.stop()
        finally:
            here.inline = None
        reason, exception = self.wait_terminated(self.urn, ref)
        return stopped_by_us, reason, exception

    def kill(self, urn: str) -> None:
        """Kill the actor: its queued messages are dropped."""
        self._kill(urn)

    def introspect(self, urn: str) -> dict[AttrPath, AttrInfo]:
        """What a proxy of the actor needs to know about its attributes."""
        return self._target(urn)._introspect()

    def wait_terminated(
        self, urn: str, ref: ActorRef[Any] | None = None
    ) -> tuple[ExitReason, BaseException | None]:
        """Return, once the actor has ended, why it did (a long poll)."""
        if ref is None:
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


class Failure:
    """What an ask raised in the host, returned as its reply (see ``ask()``)."""

    __slots__ = ("exception",)

    def __init__(self, exception: BaseException) -> None:
        self.exception = exception


def _why(terminated: Terminated) -> tuple[ExitReason, BaseException | None]:
    exception = terminated.exception
    return terminated.reason, None if exception is None else _picklable(exception)


def _ray() -> Any:
    """The ``ray`` module, imported only by programs that use Ray (typed loosely)."""
    import ray  # noqa: PLC0415 -- only with Ray

    return ray


def _exit_host(cut_off_after: float) -> NoReturn:
    """Exit the Ray actor of this call, once its running calls have returned.

    Those that have not after `cut_off_after` seconds are cut off: the host
    is then killed as by ``ray.kill()``.
    """
    ray = _ray()
    host = ray.get_runtime_context().current_actor
    cut_off = threading.Timer(
        cut_off_after, functools.partial(ray.kill, host, no_restart=True)
    )
    cut_off.daemon = True
    cut_off.start()
    ray.actor.exit_actor()  # (raises: Ray exits once the running calls have)
    raise AssertionError  # pragma: no cover -- exit_actor() raises


def _ray_exceptions() -> Any:
    import ray.exceptions  # noqa: PLC0415 -- only with Ray

    return ray.exceptions


def _picklable(exc: BaseException) -> BaseException:
    """`exc`, or if it cannot be pickled, a ``RuntimeError`` saying what it was.

    A ``DeadlockError`` whose cycle holds a ref that cannot leave this
    worker (a local actor's) goes as a ``DeadlockError`` still, whose
    message names the actors of the cycle, with an empty ``cycle``.
    """
    try:
        # (Ray's pickler, which Ray sends it with: it knows how refs cross.)
        _ray().cloudpickle.dumps(exc)
    except Exception:  # noqa: BLE001 -- pickling raises many kinds of error
        if isinstance(exc, DeadlockError):
            return DeadlockError(*exc.args)
        return RuntimeError(f"{exc!r} (could not be pickled)")
    return exc


class _Here:
    """State of this process when it is a Ray worker running a host."""

    host: ClassVar[_HostBase | None] = None


# -- Refs --------------------------------------------------------------------------


class _HostInbox:
    """The inbox of a Ray ref: everything put in it becomes a call on the host."""

    __slots__ = ("ref",)

    def __init__(self, ref: RayRef) -> None:
        self.ref = ref

    def put(self, envelope: Envelope, /) -> None:
        self.ref._forward(envelope)

    def get(self) -> NoReturn:
        raise _empty()

    def get_nowait(self) -> NoReturn:
        raise _empty()

    def empty(self) -> bool:
        return True


def _empty() -> Exception:
    return queue.Empty()


class RayRef(ActorRef[Any]):
    """A ref to a Limelight actor hosted by a Ray actor.

    It is an [`ActorRef`][limelight.ActorRef] in every way the caller sees:
    ``tell()``, ``ask()``, ``proxy()``, ``stop()``, ``kill()``,
    ``termination()``. It can be pickled into Ray tasks and into messages to
    other Ray actors, where it reaches the same actor.
    """

    __slots__ = ("_host", "_on_end", "_pooled", "_sender", "_sending", "_sent")

    def __init__(
        self, host: Any, urn: str, actor_class: type[Any], *, pooled: bool
    ) -> None:
        # (ActorRef.__init__() reads a local actor; there is none here.)
        self.actor_class = actor_class
        self.actor_urn = urn
        self.actor_inbox = _HostInbox(self)
        self.actor_stopped = StoppedEvent()
        self._create_future = RayFuture
        self._owner = None
        self._actor_weakref = NO_LOCAL_ACTOR
        self._host = host
        self._on_end: Callable[[], None] | None = None
        # Whether the host is a pooled one (RayHost), whose calls take more
        # arguments than a dedicated one's (see _send()).
        self._pooled = pooled
        # What this ref sends to a pooled host is numbered, so that the host
        # lets it in in the order sent (see _Turns); each ref, or copy of
        # one, has its own numbers. A number is taken only once its call is made.
        self._sender = uuid.uuid4().hex
        self._sent = 0
        self._sending = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild_ref, (
            self._host,
            self.actor_urn,
            self.actor_class,
            ended_reason(self),
            self._pooled,
        )

    @property
    def ray_actor(self) -> Any:
        """The Ray actor handle of the host running the actor."""
        return self._host

    def _forward(self, envelope: Envelope) -> None:
        message, reply_to = envelope
        host = self._host
        if reply_to is None:
            self._send(host.tell, message)
            return
        try:
            if isinstance(message, _ActorStop):
                reply = self._send(host.stop)
            elif message.__class__ is ProxyCall and not self._pooled:
                reply = self._send(host.call, _as_request(message))
            else:
                reply = self._send(host.ask, message)
        except TypeError as exc:
            reply_to.set_exception(exc)
            return
        if isinstance(message, _ActorStop):
            # Completed as soon as the reply comes, so that the ref has
            # ended by the time stop() returns.
            _when_done(reply, functools.partial(self._stopped, reply_to))
        elif isinstance(reply_to, RayFuture):
            reply_to._await_reply(reply, functools.partial(_complete, reply_to))
        else:  # pragma: no cover -- asks of a RayRef make RayFutures
            _when_done(reply, functools.partial(_complete, reply_to))

    def _send(self, method: Any, *message: Any) -> Any:
        """Call `method` on the host with `message` (none for a stop request).

        A dedicated host gets the message alone: it has one actor, and Ray
        keeps one caller's calls to it in order. Every argument makes a Ray
        call dearer (see docs/ray.md), so that is what brings a call close
        to a raw Ray call. A pooled host also needs the actor's urn, and
        this ref's sender id and next number (see `_Turns`).
        """
        if not self._pooled:
            return _call(method, *message, what=message)
        with self._sending:
            sent = self._sent
            reply = _call(
                method, self.actor_urn, *message, self._sender, sent, what=message
            )
            self._sent = sent + 1
        return reply

    def _stopped(self, future: SettableFuture[Any], outcome: _Outcome) -> None:
        ok, value = outcome
        if not ok:
            future.set_exception(value)
            return
        stopped_by_us, reason, exception = value
        self._terminate(reason, exception)
        if stopped_by_us:
            future.set(None)
        else:
            future.set_exception(ActorDeadError(f"{self} not found"))

    def kill(self) -> bool:
        if not self.actor_stopped.set():
            return False
        ActorRegistry.unregister(self)
        with contextlib.suppress(Exception):  # the host is gone: dead anyway
            # Waited for, so that no queued message is handled after kill()
            # returns (Ray's call would take longer than letting one in).
            _get(_in_group(self._host.kill, _CONTROL).remote(self.actor_urn))
        if not self._pooled:
            # Its host retires now, not once the actor has ended: a handler
            # that never returns would keep the actor, and the host's
            # process, for good. (One that does gets the grace period.)
            self._run_on_end()
        return True

    def _introspect(self) -> dict[AttrPath, AttrInfo]:
        if not self.is_alive():
            raise ActorDeadError(f"{self} not found")
        future: RayFuture[dict[AttrPath, AttrInfo]] = RayFuture()
        future._producer = self
        reply = _in_group(self._host.introspect, _CONTROL).remote(self.actor_urn)
        _when_done(reply, lambda outcome: _complete_plain(future, outcome))
        return future.get()

    def _subscribe(self) -> None:
        """Learn from the host when the actor ends, or that the host has died."""
        reply = _in_group(self._host.wait_terminated, _WAIT).remote(self.actor_urn)
        _when_done(reply, self._ended)

    def _ended(self, outcome: _Outcome) -> None:
        ok, value = outcome
        if ok:
            reason, exception = value
            self._terminate(reason, exception)
        else:
            self._terminate("failure", value)

    def _terminate(self, reason: ExitReason, exception: BaseException | None) -> None:
        """The actor has ended in its host: say so here."""
        self.actor_stopped.set()
        ActorRegistry.unregister(self)
        self.actor_stopped.terminate(Terminated(self, reason, exception))
        _forget(self.actor_urn)
        self._run_on_end()

    def _run_on_end(self) -> None:
        """Let go of the host, once (only the ref that started the actor does)."""
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()


_Outcome = tuple[bool, Any]


def _as_request(call: ProxyCall) -> list[Any]:
    """A proxy call as Ray sends cheapest: a list (see `RayThreadHost.call`).

    Ray packs lists, dicts, strings and numbers with msgpack, and pickles
    anything else, a named tuple such as ``ProxyCall`` included, which
    costs several times as much. Each argument of the call, a tuple or not,
    goes as Ray sends the arguments of a raw call, so it arrives as it was.
    """
    attr_path, args, kwargs = call
    return [list(attr_path), list(args), kwargs]


def _call(method: Any, *args: Any, what: str | tuple[Any, ...]) -> Any:
    """``method.remote(*args)``, or a ``TypeError`` if an argument cannot be pickled.

    `what` names the arguments in the error, such as ``"Worker or its
    arguments"``, or is ``(message,)``, the message sent: the error then
    names it, worded only if there is an error (a message's repr would
    cost every send). A stop request, ``()``, has nothing that could fail.
    """
    try:
        return method.remote(*args)
    except Exception as exc:  # Ray's serializer raises many kinds of error
        if isinstance(exc, TypeError) and "reaches a Ray actor" in str(exc):
            raise  # a local actor's ref: that error says it all
        if not isinstance(what, str):
            what = f"message {what[0]!r}"
        msg = f"{what} cannot be pickled, so it cannot reach a Ray actor: {exc}"
        raise TypeError(msg) from exc


def _when_done(object_ref: Any, callback: Callable[[_Outcome], None]) -> None:
    """Call ``callback((ok, value))`` once `object_ref` is ready.

    Ray calls its done callbacks in a thread of its own, which must not call
    Ray (a ``.remote()`` there can deadlock); the callback, which completes
    futures and so runs whatever waits for them, runs in the completions
    thread instead, in the order the replies arrived.
    """
    future: Any = object_ref.future()
    future.limelight_callback = callback
    # (Only C code in Ray's thread: it puts the future in the queue.)
    future.add_done_callback(_Completions.queue.put)


class _Completions:
    """The thread that hands Ray's replies on to Limelight futures."""

    queue: ClassVar[queue.SimpleQueue[concurrent.futures.Future[Any]]] = (
        queue.SimpleQueue()
    )
    thread: ClassVar[threading.Thread | None] = None
    lock = threading.Lock()

    @classmethod
    def start(cls) -> None:
        """Start the thread, unless it runs (from the thread that connects to Ray)."""
        with cls.lock:
            if cls.thread is None:
                thread = threading.Thread(
                    target=cls.run, name="limelight-ray-replies", daemon=True
                )
                mark_service_thread(thread)
                thread.start()
                cls.thread = thread

    @classmethod
    def run(cls) -> None:
        get = cls.queue.get
        while True:
            future = get()
            callback: Callable[[_Outcome], None] = getattr(future, "limelight_callback")  # noqa: B009 -- set by _when_done()
            try:
                value = future.result()
            except BaseException as exc:  # noqa: BLE001 -- handed on, whatever it is
                outcome: _Outcome = (False, _from_ray(exc))
            else:
                outcome = (True, value)
            try:
                callback(outcome)
            except Exception:
                logger.exception("Handling a reply from Ray failed")


def _from_ray(exc: BaseException) -> BaseException:
    """The exception to raise for Ray's `exc`: a dead host is a dead actor."""
    if isinstance(exc, _ray_exceptions().RayActorError):
        error = ActorDeadError(f"the Ray actor hosting it has died: {exc}")
        error.__cause__ = exc
        return error
    return exc


def _complete(future: SettableFuture[Any], outcome: _Outcome) -> None:
    """Complete an ask's future from the host's reply (or `Failure`)."""
    ok, value = outcome
    if ok and type(value) is Failure:
        ok, value = False, value.exception
    if ok:
        future.set(value)
    else:
        future.set_exception(value)


def _complete_plain(future: SettableFuture[Any], outcome: _Outcome) -> None:
    ok, value = outcome
    if ok:
        future.set(value)
    else:
        future.set_exception(value)


# Refs unpickled in this process, by urn, until their actor ends: one
# subscription per actor and process however often a ref arrives.
_known: dict[str, RayRef] = {}
_known_lock = threading.Lock()


def _rebuild_ref(
    host: Any,
    urn: str,
    actor_class: type[Any],
    ended: ExitReason | None,
    pooled: bool,
) -> ActorRef[Any]:
    here = _Here.host
    if here is not None and urn in here.actors:  # the actor lives in this process
        return here.actors[urn]
    if ended is not None:
        ref = RayRef(host, urn, actor_class, pooled=pooled)
        ref._terminate(ended, None)
        return ref
    with _known_lock:
        known = _known.get(urn)
        if known is not None:
            return known
        ref = _known[urn] = RayRef(host, urn, actor_class, pooled=pooled)
    _Completions.start()  # (in a Ray task or worker, the first ref starts it)
    ref._subscribe()
    return ref


def _forget(urn: str) -> None:
    with _known_lock:
        _known.pop(urn, None)


_HostedRef = tuple[Any, str, type[Any], "ExitReason | None", bool]


def _reduce_local_ref(ref: ActorRef[Any]) -> _HostedRef:
    """What crosses Ray for a local ref: in a host, its actor's, as a Ray ref.

    Inside a host, an actor's own ref is a local one: ``self.actor_ref``, the
    ref in the `Terminated` message of its end, the refs of a
    `DeadlockError`'s cycle. Sent anywhere, it becomes a `RayRef` through
    this host, as any of its callers' refs. The ref of a local actor that
    has ended crosses as a dead ref, which names it and nothing more: the
    notice of its end to a Ray actor linked to it holds it. The ref of any
    other, running, local actor cannot reach a Ray worker at all.
    """
    if _Here.host is not None and issubclass(ref.actor_class, RayActor):
        host = _ray().get_runtime_context().current_actor
    elif not ref.is_alive():
        host = None  # (never called: the ref is dead)
    else:
        _refuse_local_ref(ref)
    pooled = host is not None and isinstance(_Here.host, RayHost)
    return host, ref.actor_urn, ref.actor_class, ended_reason(ref), pooled


def _rebuild_hosted_ref(reduced: _HostedRef) -> ActorRef[Any]:
    return _rebuild_ref(*reduced)


def _reduce_proxy(proxy: ActorProxy[Any]) -> tuple[ActorRef[Any], AttrPath]:
    return proxy.actor_ref, proxy._attr_path


def _rebuild_proxy(reduced: tuple[ActorRef[Any], AttrPath]) -> ActorProxy[Any]:
    return lazy_proxy(*reduced)


def _refuse_local_ref(ref: ActorRef[Any]) -> NoReturn:
    msg = (
        f"{ref} is a local actor: a ref to it cannot be pickled, so it never "
        "reaches a Ray actor or task; start that actor as a limelight.ray.RayActor "
        "so that other Ray workers can reach it"
    )
    raise TypeError(msg)


_registered = False


def _register_serializers() -> None:
    """How refs and proxies cross Ray (a local actor's ref: see below)."""
    global _registered  # noqa: PLW0603 -- once per process
    if _registered:
        return
    # (By exact class: a RayRef pickles by its own __reduce__().)
    ray = _ray()
    ray.util.register_serializer(
        ActorRef, serializer=_reduce_local_ref, deserializer=_rebuild_hosted_ref
    )
    # (Unpickled as is, a proxy would ask its actor about its attributes.)
    ray.util.register_serializer(
        ActorProxy, serializer=_reduce_proxy, deserializer=_rebuild_proxy
    )
    _registered = True


# -- Placement: dedicated hosts and the pool ---------------------------------------


# Calls that must not wait behind a long ask run in groups of their own
# (both hosts have them, so that a caller need not know which it talks to).
_CONTROL = "limelight-control"  # kill, introspect, describe
_WAIT = "limelight-wait"  # the long polls of wait_terminated
_RETIRE = "limelight-retire"  # a dedicated host's retire(), which ends it

_host_classes: dict[bool, Any] = {}


def _host_class(*, pooled: bool = True) -> Any:
    """A host class as a Ray actor class: async for the pool, threaded if not."""
    made = _host_classes.get(pooled)
    if made is None:
        ray = _ray()
        if pooled:
            # Async: it waits for many actors' replies, and ends, at once.
            made = ray.remote(
                max_concurrency=10_000,
                concurrency_groups={_CONTROL: 100, _WAIT: 10_000},
            )(RayHost)
        else:
            # Threaded: one call at a time in order; each end notice holds a
            # thread (later ones queue, and are answered once the actor ends).
            made = ray.remote(
                max_concurrency=1,
                concurrency_groups={_CONTROL: 2, _WAIT: 16, _RETIRE: 1},
            )(RayThreadHost)
        _host_classes[pooled] = made
    return made


def _in_group(method: Any, group: str) -> Any:
    return method.options(concurrency_group=group)


class _Pool:
    """The hosts shared by this process's pooled actors, started on demand."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hosts: dict[Any, int] = {}  # host → how many live actors it has
        self.lock = threading.Lock()

    def take(self) -> Any:
        """The host for one more actor: a new one, or the least busy."""
        with self.lock:
            if len(self.hosts) < self.size:
                host = _host_class().options(num_cpus=0).remote()
                self.hosts[host] = 0
            else:
                host = min(self.hosts, key=self.hosts.__getitem__)
            self.hosts[host] += 1
            return host

    def give_back(self, host: Any, *, dead: bool) -> None:
        with self.lock:
            if host in self.hosts:  # (not if the pool was closed meanwhile)
                if dead:
                    del self.hosts[host]
                else:
                    self.hosts[host] -= 1

    def close(self) -> list[Any]:
        with self.lock:
            hosts, self.hosts = list(self.hosts), {}
        return hosts


class _Cluster:
    """This process's link to Ray: settings and the pool."""

    lock = threading.Lock()
    pool: ClassVar[_Pool | None] = None
    pool_size: ClassVar[int] = _DEFAULT_POOL_SIZE
    init_kwargs: ClassVar[dict[str, Any]] = {}
    started_ray: ClassVar[bool] = False
    """Whether this module started (or connected) Ray, so shutdown() ends it."""
    retire_after: ClassVar[float] = 2.0
    """Seconds a dedicated host still answers once its actor has ended.

    For the questions that come late: another host's watcher or linked
    actor asking why it ended, a second stop. (A reply still on its way
    needs no grace: the host exits only once its running calls have
    returned.)
    """
    retiring: ClassVar[set[Any]] = set()
    """Dedicated hosts told to retire, until they have: shutdown() kills them."""


def _ensure_ray() -> None:
    """Connect to Ray (or start a local cluster) unless that is done already."""
    ray = _ray()

    if not ray.is_initialized():
        with _Cluster.lock:
            if not ray.is_initialized():  # pragma: no branch -- a race
                ray.init(**{"include_dashboard": False, **_Cluster.init_kwargs})
                _Cluster.started_ray = True
    _register_serializers()
    _Completions.start()


def _pool() -> _Pool:
    with _Cluster.lock:
        if _Cluster.pool is None:
            _Cluster.pool = _Pool(_Cluster.pool_size)
        return _Cluster.pool


def _start(
    actor_class: type[RayActor],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: dict[str, Any],
) -> RayRef:
    """Start an actor in a host (its own, or a pooled one); return a ref to it."""
    _ensure_ray()
    pooled = actor_class.ray_pool and not options
    pool = _pool() if pooled else None
    if pool is not None:
        host = pool.take()
    else:
        settings = {"num_cpus": 0, **actor_class.ray_options, **options}
        _check_options(actor_class, settings)
        host = _host_class(pooled=False).options(**settings).remote()
    ref = RayRef(host, new_actor_urn(), actor_class, pooled=pool is not None)
    try:
        started = _call(
            host.start,
            actor_class,
            args,
            kwargs,
            ref.actor_urn,
            what=f"{actor_class.__name__} or its arguments",
        )
        failure = _get(started)
        if failure is not None:
            raise failure
    except BaseException as exc:
        if pool is not None:
            pool.give_back(host, dead=isinstance(exc, ActorDeadError))
        else:
            _kill_host(host)
        raise
    ActorRegistry.register(ref)
    with _known_lock:
        _known[ref.actor_urn] = ref
    if pool is not None:
        ref._on_end = lambda: pool.give_back(host, dead=_ended_by_death(ref))
    else:
        ref._on_end = lambda: _retire(host)
    ref._subscribe()
    return ref


def _retire(host: Any) -> None:
    """Have a dedicated host exit once nothing more is owed (see its ``retire()``).

    Not ``ray.kill()`` at once: that would cut off the replies still on
    their way and the answers to late questions about the end.
    """
    with _Cluster.lock:
        _Cluster.retiring.add(host)
    exited = _in_group(host.retire, _RETIRE).remote(_Cluster.retire_after)
    _when_done(exited, lambda _outcome: _retired(host))


def _retired(host: Any) -> None:
    with _Cluster.lock:
        _Cluster.retiring.discard(host)


def _ended_by_death(ref: RayRef) -> bool:
    terminated = ref.actor_stopped.terminated
    return terminated is not None and isinstance(terminated.exception, ActorDeadError)


def _check_options(actor_class: type[Any], options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - RAY_OPTION_NAMES)
    if unknown:
        msg = (
            f"{actor_class.__name__}: unknown Ray option(s) {', '.join(unknown)}; "
            f"use some of {', '.join(sorted(RAY_OPTION_NAMES))}"
        )
        raise TypeError(msg)


def _get(object_ref: Any) -> Any:
    """``ray.get()``, raising a dead host as ``ActorDeadError``."""
    future: RayFuture[Any] = RayFuture()
    future._await_reply(object_ref, functools.partial(_complete_plain, future))
    return future.get()


def _kill_host(host: Any) -> None:
    ray = _ray()

    with contextlib.suppress(Exception):  # gone already
        ray.kill(host, no_restart=True)


class Starter:
    """Starts actors of one class with Ray options; see `RayActor.options`."""

    def __init__(self, actor_class: type[RayActor], options: dict[str, Any]) -> None:
        self.actor_class = actor_class
        self.options = options

    def start(self, *args: Any, **kwargs: Any) -> ActorRef[Any]:
        """Start the actor in a Ray actor of its own, with these options."""
        return _start(self.actor_class, args, kwargs, self.options)


class RayActor(ThreadingActor):
    """An actor that runs in a Ray actor, on a Ray cluster.

    Subclass it as you would [`ThreadingActor`][limelight.ThreadingActor]
    and call [`start()`][limelight.Actor.start]: ``__init__()`` runs in a
    Ray worker process, and you get an [`ActorRef`][limelight.ActorRef]
    through which ``tell()``, ``ask()``, ``proxy()`` and ``stop()`` work as
    for any actor. Messages, replies and the constructor's arguments are
    pickled, and the class must be importable by the Ray workers. See the
    [Ray](../ray.md) guide.

    Inside its Ray worker the actor is a thread actor. In a Ray actor of its
    own, an ask that finds it idle is handled in the thread of Ray's that
    received the call, saving two thread switches; set ``reuse_thread =
    False`` on an actor that keeps ``threading.local`` state, so that its
    handlers all run in its own thread.
    """

    _limelight_runtime = ray_inline.RAY_ACTOR_RUNTIME

    ray_options: ClassVar[dict[str, Any]] = {}
    """Options for the Ray actor that hosts each actor of this class.

    Any of ``num_cpus``, ``num_gpus``, ``memory``, ``resources``,
    ``accelerator_type``, ``name``, ``namespace``, ``lifetime``,
    ``scheduling_strategy``, ``runtime_env`` and ``label_selector``, as
    ``ray.remote()`` takes them. ``num_cpus`` defaults to 0 (the host's
    event loop is idle but for the messages). Not ``max_restarts``: a
    restarted Ray actor would have lost its Limelight actor; restarting is
    the job of a [`Supervisor`][limelight.Supervisor].
    """

    ray_pool: ClassVar[bool] = False
    """Host actors of this class in a pool of shared Ray actors.

    Starting one is then a call to a running Ray actor, not a Ray worker
    process start; `ray_options` do not apply (the pool's hosts are
    ordinary Ray actors). The default gives each actor a Ray actor of its own.
    """

    @classmethod
    def options(cls, **ray_options: Any) -> Starter:
        """Start actors of this class with these Ray options (and a host each).

        ```python
        ref = Trainer.options(num_gpus=1, name="trainer").start(config)
        ```

        The options are added to [`ray_options`][limelight.ray.RayActor.ray_options].

        Raises:
            TypeError: for an option that Ray actors do not take (when started).
        """
        return Starter(cls, ray_options)

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:  # pyright: ignore[reportIncompatibleMethodOverride] -- the same signature as Actor.start(); pyright binds Self apart
        """Start the actor in a Ray actor and return a ref to it.

        Connects to Ray first if this process has not (see
        [`init()`][limelight.ray.init]).

        Raises:
            TypeError: if the class or an argument cannot be pickled, or an
                option is unknown.
            ActorDeadError: if the Ray actor died while starting it.
            Exception: whatever ``__init__()`` raised, in the Ray worker.
        """
        return _start(cls, args, kwargs, {})


# -- Public functions --------------------------------------------------------------


def init(address: str | None = None, **ray_init_kwargs: Any) -> None:
    """Connect to a Ray cluster, or start a local one (``address=None``).

    Optional: the first ``RayActor.start()`` calls it with no arguments.
    The keyword arguments go to ``ray.init()``; the dashboard is off unless
    you pass ``include_dashboard=True``. Does nothing if Ray is initialised.
    """
    ray = _ray()

    with _Cluster.lock:
        _Cluster.init_kwargs = {"address": address, **ray_init_kwargs}
    if not ray.is_initialized():
        _ensure_ray()


def configure(*, pool_size: int = _DEFAULT_POOL_SIZE) -> None:
    """Set how many Ray actors the pool of pooled actors (``ray_pool``) has.

    Raises:
        RuntimeError: if the pool has hosts; call
            [`shutdown()`][limelight.ray.shutdown] first.
        ValueError: if `pool_size` is not a positive int.
    """
    size = cast("object", pool_size)
    if not isinstance(size, int) or size < 1:
        msg = f"pool_size must be a positive int, not {pool_size!r}"
        raise ValueError(msg)
    with _Cluster.lock:
        if _Cluster.pool is not None and _Cluster.pool.hosts:
            msg = "pooled Ray actors are running: call limelight.ray.shutdown() first"
            raise RuntimeError(msg)
        _Cluster.pool = None
        _Cluster.pool_size = pool_size


def lookup(name: str, namespace: str | None = None) -> ActorRef[Any]:
    """The ref to the actor started with the Ray name `name`, from anywhere.

    Raises:
        LookupError: if no Ray actor has that name (in that namespace).
        ActorDeadError: if its Limelight actor has ended.
    """
    _ensure_ray()
    ray = _ray()

    try:
        host = ray.get_actor(name, namespace=namespace)
    except ValueError as exc:
        msg = f"no Ray actor is named {name!r}: {exc}"
        raise LookupError(msg) from exc
    urn, actor_class = _get(_in_group(host.describe, _CONTROL).remote())
    return _rebuild_ref(host, urn, actor_class, None, False)  # (named: dedicated)


def shutdown(timeout: float = 10.0) -> None:
    """Stop this process's Ray actors, end their hosts, and disconnect.

    The pool's hosts, and the dedicated hosts that have not yet retired (see
    [Ray](../ray.md)), are killed.

    Calls ``ray.shutdown()`` only if ``limelight.ray`` connected to Ray (not
    if your program called ``ray.init()`` itself). Actors started afterwards
    connect again.
    """
    ray = _ray()

    for ref in ActorRegistry.get_all():
        if isinstance(ref, RayRef):
            with contextlib.suppress(Exception):  # a dead or hung one: killed below
                ref.stop(timeout=timeout)
    with _Cluster.lock:
        pool, _Cluster.pool = _Cluster.pool, None
        retiring, _Cluster.retiring = list(_Cluster.retiring), set()
    # (Dedicated hosts would exit by themselves, but not before the grace
    # period for late questions: nothing will ask any more.)
    for host in [*(pool.close() if pool is not None else []), *retiring]:
        _kill_host(host)
    if _Cluster.started_ray:
        _Cluster.started_ray = False
        ray.shutdown()
