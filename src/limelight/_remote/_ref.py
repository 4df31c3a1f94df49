"""``RemoteRef``: the ref to an actor that lives in another process.

It is an ``ActorRef`` in every way its caller sees, and ``tell()``,
``ask()`` and ``stop()`` are the core's own (but for how a stop's answer
becomes a bool): they put envelopes into the
ref's inbox, a ``ForwardingInbox``, which hands each to the ref's
*transport* instead of queueing it. The rest of what a ref does needs the
other side too, and so goes to the transport as well, through the
``Transport`` protocol:

- ``forward(urn, envelope)``: send a tell, or an ask whose reply completes
  the envelope's future (a stop is an ask of ``_ActorStop``);
- ``kill(ref)``: kill the actor there, returning once no queued message
  will be handled any more (the ref is marked stopped already);
- ``introspect(ref)``: a future of what a proxy needs to know about the
  actor's attributes;
- ``subscribe(ref)``: have ``ref._terminate()`` called when the actor ends
  there, or when the other side is lost (``"failure"``, with
  ``ActorDeadError``);
- ``ended(ref)``: the ref has ended; let go of what was kept for it.

A process channel is one transport for every ref through it; a Ray ref has
a transport of its own (the Ray actor that hosts it, and the numbering of
what it sends).
"""

from __future__ import annotations

import queue
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from limelight._core._exceptions import ActorDeadError
from limelight._core._ref import NO_LOCAL_ACTOR, ActorRef
from limelight._core._registry import ActorRegistry
from limelight._core._stopped import StoppedEvent
from limelight.messages import Terminated, _ActorStop

if TYPE_CHECKING:
    from collections.abc import Callable

    from limelight._core._future import Future, SettableFuture
    from limelight._core._introspection import AttrInfo
    from limelight._core._types import AttrPath, Envelope
    from limelight.messages import ExitReason

__all__ = ["ForwardingInbox", "RemoteRef", "Transport", "dead_on_arrival"]

R = TypeVar("R", bound="RemoteRef")

_STOP = _ActorStop()


class Transport(Protocol):
    """How remote refs reach the other side (see the module's docstring)."""

    def forward(self, urn: str, envelope: Envelope, /) -> None:
        """Send a tell or an ask (whose future the reply completes) to actor `urn`."""

    def kill(self, ref: RemoteRef, /) -> None:
        """Kill `ref`'s actor; return once it handles no more messages."""

    def introspect(self, ref: RemoteRef, /) -> Future[dict[AttrPath, AttrInfo]]:
        """What a proxy of `ref`'s actor needs to know about its attributes."""
        ...

    def subscribe(self, ref: RemoteRef, /) -> None:
        """Have ``ref._terminate()`` called when its actor ends."""

    def ended(self, ref: RemoteRef, /) -> None:
        """`ref` has ended: let go of what was kept for it."""


class ForwardingInbox:
    """The inbox of a remote ref: what is put in it goes to the transport."""

    __slots__ = ("_forward", "_urn")

    def __init__(self, transport: Transport, urn: str) -> None:
        self._forward = transport.forward
        self._urn = urn

    def put(self, envelope: Envelope, /) -> None:
        self._forward(self._urn, envelope)

    def get(self) -> NoReturn:
        raise queue.Empty  # nothing is ever queued here

    def get_nowait(self) -> NoReturn:
        raise queue.Empty

    def empty(self) -> bool:
        return True

    def qsize(self) -> int | None:
        return None  # (the actor's inbox is in the other process)


class RemoteRef(ActorRef[Any]):
    """A ref to an actor in another process, reached through a transport.

    It is an [`ActorRef`][limelight.ActorRef] in every way the caller sees:
    ``tell()``, ``ask()``, ``proxy()``, ``stop()``, ``kill()``,
    ``termination()``; it learns from the other process when the actor ends.
    """

    __slots__ = ("_transport",)

    def __init__(
        self,
        transport: Transport,
        urn: str,
        actor_class: type[Any],
        future_factory: Callable[[], SettableFuture[Any]],
    ) -> None:
        # (Not ActorRef.__init__(), which reads a local actor object: the
        # state it binds, for an actor that has none in this process.)
        self._limelight_bind(
            NO_LOCAL_ACTOR,
            actor_class,
            urn,
            ForwardingInbox(transport, urn),
            StoppedEvent(),
            future_factory,
        )
        self._transport = transport

    def _ask_to_stop(self) -> Future[bool]:
        # The other side answers a stop request as the actor there ends; it
        # fails with ActorDeadError when the actor was gone already (or its
        # process is lost): a stop of an actor that had stopped, False.
        asked = self.ask(_STOP, block=False)
        return asked._derive(lambda timeout: _stopped_by_us(asked, timeout), (asked,))

    def kill(self) -> bool:
        if not self.actor_stopped.set():
            return False
        ActorRegistry.unregister(self)
        self._transport.kill(self)
        return True

    def _introspect(self) -> dict[AttrPath, AttrInfo]:
        if not self.is_alive():
            raise ActorDeadError(f"{self} not found")
        return self._introspect_future().get()

    def _introspect_future(self) -> Future[dict[AttrPath, AttrInfo]]:
        """What a proxy needs to know, asked of the other side (not waited for)."""
        return self._transport.introspect(self)

    def _subscribe(self) -> None:
        """Learn from the other side when the actor ends."""
        self._transport.subscribe(self)

    def _terminate(self, reason: ExitReason, exception: BaseException | None) -> None:
        """The actor has ended in its process (or is lost): say so here."""
        self.actor_stopped.set()
        ActorRegistry.unregister(self)
        self.actor_stopped.terminate(Terminated(self, reason, exception))
        self._transport.ended(self)


def dead_on_arrival(ref: R, reason: ExitReason) -> R:
    """`ref`, ended: a ref sent once its actor had ended arrives so, with why."""
    ref._terminate(reason, None)
    return ref


def _stopped_by_us(asked: Future[Any], timeout: float | None) -> bool:
    try:
        asked.get(timeout)
    except ActorDeadError:
        return False
    return True
