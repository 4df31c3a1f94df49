"""``RayRef``: the ref to an actor hosted by a Ray actor, and its transport.

A Ray ref is a ``RemoteRef`` (``_remote/_ref.py``) whose transport, a
`HostLink` of its own, turns each envelope into a call on the host: a tell
is a call whose result nobody reads; an ask's reply is a Ray object that
completes its ``RayFuture``; a stop's reply also says how the actor ended,
so that the ref has ended by the time ``stop()`` returns. Every ref asks its
host once, with a long poll (``wait_terminated``), to be told when the actor
ends; if the host dies, that call fails with Ray's actor-died error, which
ends the ref. If Ray only lost its connection to the host, which it still
holds alive, the poll is made again: the actor has not ended.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from limelight._core._exceptions import ActorDeadError
from limelight._core._fork import released_at_fork
from limelight._core._ref import ActorRef, ended_reason
from limelight._core._scheduler import Scheduler
from limelight._remote._ref import RemoteRef, dead_on_arrival
from limelight._runtimes.inline import InlineRuntime
from limelight._runtimes.ray_cluster._future import (
    ActorUnavailableError,
    Completions,
    RayFuture,
    complete,
    complete_plain,
    get,
    when_done,
)
from limelight._runtimes.threads import RUNTIME as THREADS
from limelight.messages import ProxyCall, _ActorStop

if TYPE_CHECKING:
    from collections.abc import Callable

    from limelight._core._future import Future, SettableFuture
    from limelight._core._introspection import AttrInfo
    from limelight._core._types import AttrPath, Envelope
    from limelight._runtimes.ray_cluster._future import Outcome
    from limelight.messages import ExitReason

__all__ = [
    "CONTROL",
    "RAY_ACTOR_RUNTIME",
    "RETIRE",
    "WAIT",
    "Here",
    "HostLink",
    "RayRef",
    "UnsendableError",
    "rebuild_ref",
    "refusal",
]

# Calls that must not wait behind a long ask run in groups of their own
# (both hosts have them, so that a caller need not know which it talks to).
CONTROL = "limelight-control"  # kill, introspect, describe
WAIT = "limelight-wait"  # the long polls of wait_terminated
RETIRE = "limelight-retire"  # a dedicated host's retire(), which ends it

POLL_AGAIN_AFTER = 0.2
"""Seconds before a long poll that could not reach its host is made again.

Not at once: while Ray cannot reach a host (a node it has not yet found
dead, say), each call fails at once, and the polls would spin.
"""

# When the long polls are made again (one thread, started when first needed).
_polls = Scheduler()


class _Hosts(Protocol):
    """What a ref needs to know of a host in its own process (``_host.py``)."""

    pooled: ClassVar[bool]

    @property
    def actors(self) -> dict[str, ActorRef[Any]]: ...


class Here:
    """State of this process when it is a Ray worker running a host."""

    host: ClassVar[_Hosts | None] = None


RAY_ACTOR_RUNTIME = InlineRuntime(THREADS)
"""The runtime of ``RayActor``: a thread actor, inline in a dedicated host.

Its own instance, so that a ref's class tells a RayActor of this host
(``_serializers.py``) from any other thread actor.
"""


def in_group(method: Any, group: str) -> Any:
    """A host's `method`, to be called in concurrency group `group`."""
    return method.options(concurrency_group=group)


class HostLink:
    """The transport of one Ray ref: calls on the Ray actor that hosts its actor."""

    __slots__ = ("host", "on_end", "pooled", "ref", "sender", "sending", "sent")

    ref: RayRef

    def __init__(self, host: Any, *, pooled: bool) -> None:
        self.host = host
        # Whether the host is a pooled one (RayHost), whose calls take more
        # arguments than a dedicated one's (see _send()).
        self.pooled = pooled
        # Called once the actor has ended (or been killed), to let go of the
        # host: set for the ref that started the actor only.
        self.on_end: Callable[[], None] | None = None
        # What this ref sends to a pooled host is numbered, so that the host
        # lets it in in the order sent (see _host._Turns); each ref, or copy
        # of one, has its own numbers. A number is taken only once its call is made.
        self.sender = uuid.uuid4().hex
        self.sent = 0
        self.sending = threading.Lock()

    def forward(self, urn: str, envelope: Envelope, /) -> None:
        """Call the host with a tell, an ask or a stop."""
        message, reply_to = envelope
        host = self.host
        if reply_to is None:
            self._send(host.tell, message)
            return
        try:
            if isinstance(message, _ActorStop):
                reply = self._send(host.stop)
            elif message.__class__ is ProxyCall and not self.pooled:
                reply = self._send(host.call, _as_request(message))
            else:
                reply = self._send(host.ask, message)
        except TypeError as exc:
            reply_to.set_exception(exc)
            return
        if isinstance(message, _ActorStop):
            # Completed as soon as the reply comes, so that the ref has
            # ended by the time stop() returns.
            when_done(reply, functools.partial(self._stopped, reply_to))
        elif isinstance(reply_to, RayFuture):
            reply_to._await_reply(reply, functools.partial(_complete, reply_to))
        else:  # pragma: no cover -- asks of a RayRef make RayFutures
            when_done(reply, functools.partial(_complete, reply_to))

    def _send(self, method: Any, *message: Any) -> Any:
        """Call `method` on the host with `message` (none for a stop request).

        A dedicated host gets the message alone: it has one actor, and Ray
        keeps one caller's calls to it in order. Every argument makes a Ray
        call dearer (see docs/ray.md), so that is what brings a call close
        to a raw Ray call. A pooled host also needs the actor's urn, and
        this ref's sender id and next number (see ``_host._Turns``).
        """
        if not self.pooled:
            return call(method, *message, what=message)
        with self.sending:
            sent = self.sent
            reply = call(
                method, self.ref.actor_urn, *message, self.sender, sent, what=message
            )
            self.sent = sent + 1
        return reply

    def _stopped(self, future: SettableFuture[Any], outcome: Outcome) -> None:
        ok, value = outcome
        if not ok:
            future.set_exception(value)
            return
        stopped_by_us, reason, exception = value
        self.ref._terminate(reason, exception)
        if stopped_by_us:
            future.set(None)
        else:
            future.set_exception(ActorDeadError(f"{self.ref} not found"))

    def kill(self, ref: RemoteRef, /) -> None:
        """Kill the actor, and wait for the host to have killed it.

        (Ray's call takes longer than letting a queued message in.)
        """
        with contextlib.suppress(Exception):  # the host is gone: dead anyway
            get(in_group(self.host.kill, CONTROL).remote(ref.actor_urn))
        if not self.pooled:
            # Its host retires now, not once the actor has ended: a handler
            # that never returns would keep the actor, and the host's
            # process, for good. (One that does gets the grace period.)
            self._run_on_end()

    def introspect(self, ref: RemoteRef, /) -> Future[dict[AttrPath, AttrInfo]]:
        """Ask the host what a proxy of the actor needs to know."""
        future: RayFuture[dict[AttrPath, AttrInfo]] = RayFuture()
        future._producer = ref
        reply = in_group(self.host.introspect, CONTROL).remote(ref.actor_urn)
        when_done(reply, functools.partial(complete_plain, future))
        return future

    def subscribe(self, ref: RemoteRef, /) -> None:
        """Learn from the host when the actor ends, or that the host has died."""
        reply = in_group(self.host.wait_terminated, WAIT).remote(ref.actor_urn)
        when_done(reply, self._ended)

    def _ended(self, outcome: Outcome) -> None:
        ok, value = outcome
        if ok:
            reason, exception = value
            self.ref._terminate(reason, exception)
        elif isinstance(value, ActorUnavailableError):
            # The poll was cut off, not the actor: ask again (the host
            # remembers an end that came meanwhile). If the host has died,
            # Ray says so to the next poll.
            _polls.call_later(POLL_AGAIN_AFTER, self._poll_again)
        else:
            self.ref._terminate("failure", value)

    def _poll_again(self) -> None:
        ref = self.ref
        if ref.actor_stopped.terminated is None:  # (not if it ended meanwhile)
            self.subscribe(ref)

    def ended(self, ref: RemoteRef, /) -> None:
        """Forget the ref (see `rebuild_ref`), and let go of the host."""
        forget(ref.actor_urn)
        self._run_on_end()

    def _run_on_end(self) -> None:
        on_end, self.on_end = self.on_end, None
        if on_end is not None:
            on_end()


def _complete(future: SettableFuture[Any], outcome: Outcome) -> None:
    """``complete()``; a reply refused as it left the host fails with the refusal.

    The host's reply is pickled once the host's call has returned, so Ray
    raises a refusal there (a future in the reply) as a task error of its
    own, whose message is a traceback; the asker gets the refusal itself.
    """
    ok, value = outcome
    if not ok:
        value = refusal(value) or value
    complete(future, (ok, value))


class RayRef(RemoteRef):
    """A ref to a Limelight actor hosted by a Ray actor.

    It is an [`ActorRef`][limelight.ActorRef] in every way the caller sees:
    ``tell()``, ``ask()``, ``proxy()``, ``stop()``, ``kill()``,
    ``termination()``. It can be pickled into Ray tasks and into messages to
    other Ray actors, where it reaches the same actor.
    """

    __slots__ = ("_link",)

    def __init__(
        self, host: Any, urn: str, actor_class: type[Any], *, pooled: bool
    ) -> None:
        link = HostLink(host, pooled=pooled)
        super().__init__(link, urn, actor_class, RayFuture)
        link.ref = self
        self._link = link

    def __reduce__(self) -> tuple[Any, ...]:
        link = self._link
        # (A ref to an actor that has ended arrives dead.)
        reaches = (link.host, self.actor_urn, self.actor_class)
        return rebuild_ref, (*reaches, ended_reason(self), link.pooled)

    @property
    def ray_actor(self) -> Any:
        """The Ray actor handle of the host running the actor."""
        return self._link.host


def _as_request(message: ProxyCall) -> list[Any]:
    """A proxy call as Ray sends cheapest: a list (see ``RayThreadHost.call``).

    Ray packs lists, dicts, strings and numbers with msgpack, and pickles
    anything else, a named tuple such as ``ProxyCall`` included, which
    costs several times as much. Each argument of the call, a tuple or not,
    goes as Ray sends the arguments of a raw call, so it arrives as it was.
    """
    attr_path, args, kwargs = message
    return [list(attr_path), list(args), kwargs]


class UnsendableError(TypeError):
    """What Limelight refuses to let cross Ray: a local actor's ref, a future.

    Raised by the serializers (``_serializers.py``) as Ray pickles; its
    message says why and what to send instead. Ray raises an error of its
    own from it, which `call()` unwraps.
    """


def refusal(exc: BaseException) -> UnsendableError | None:
    """The `UnsendableError` that `exc`, an error of Ray's, was raised from, if any."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, UnsendableError):
            # (A task error is of a class that is both Ray's and the error's,
            # and holds the error itself as its `cause`.)
            refused: UnsendableError = getattr(cause, "cause", cause)
            return refused
        cause = cause.__cause__
    return None


def call(method: Any, *args: Any, what: str | tuple[Any, ...]) -> Any:
    """``method.remote(*args)``, or a ``TypeError`` if an argument cannot be pickled.

    `what` names the arguments in the error, such as ``"Worker or its
    arguments"``, or is ``(message,)``, the message sent: the error then
    names it, worded only if there is an error (a message's repr would
    cost every send). A stop request, ``()``, has nothing that could fail.
    """
    try:
        return method.remote(*args)
    except Exception as exc:  # Ray's serializer raises many kinds of error
        refused = refusal(exc)
        if refused is not None:
            # (Its message says it all; Ray's wrapper adds a long report.)
            raise refused from None
        if not isinstance(what, str):
            what = f"message {what[0]!r}"
        msg = f"{what} cannot be pickled, so it cannot reach a Ray actor: {exc}"
        raise TypeError(msg) from exc


# Refs unpickled in this process, by urn, until their actor ends: one
# subscription per actor and process however often a ref arrives.
_known: dict[str, RayRef] = {}
_known_lock = released_at_fork(threading.Lock())


def know(ref: RayRef) -> None:
    """Keep `ref` as this process's ref to its actor, until the actor ends."""
    with _known_lock:
        _known[ref.actor_urn] = ref


def rebuild_ref(
    host: Any,
    urn: str,
    actor_class: type[Any],
    ended: ExitReason | None,
    pooled: bool,
) -> ActorRef[Any]:
    """The ref here to actor `urn` of `host`: the actor's own, if it lives here."""
    here = Here.host
    if here is not None and urn in here.actors:  # the actor lives in this process
        return here.actors[urn]
    if ended is not None:
        return dead_on_arrival(RayRef(host, urn, actor_class, pooled=pooled), ended)
    with _known_lock:
        known = _known.get(urn)
        if known is not None:
            return known
        ref = _known[urn] = RayRef(host, urn, actor_class, pooled=pooled)
    Completions.start()  # (in a Ray task or worker, the first ref starts it)
    ref._subscribe()
    return ref


def forget(urn: str) -> None:
    """Forget this process's ref to actor `urn`, which has ended."""
    with _known_lock:
        _known.pop(urn, None)
