"""Actor refs: the safe handle through which everyone else talks to an actor."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, overload

from limelight._core import _context, _dead_letters, _mailbox, _timeouts
from limelight._core._exceptions import ActorDeadError
from limelight._core._introspection import introspect
from limelight._core._proxy import ActorProxy
from limelight.messages import _ActorStop

if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import Self

    from limelight._core._actor import Actor
    from limelight._core._future import Future, SettableFuture
    from limelight._core._introspection import AttrInfo
    from limelight._core._runtime import Inbox
    from limelight._core._stopped import StoppedEvent
    from limelight._core._types import AttrPath
    from limelight.messages import ExitReason, Terminated

__all__ = ["ActorRef"]

A = TypeVar("A", bound="Actor")

_STOP = _ActorStop()


class _Gone:
    """Weakly referenced once, and at once collected: a dead weak reference."""


NO_LOCAL_ACTOR: weakref.ref[Any] = weakref.ref(_Gone())
"""The actor weak reference of a ref to an actor in another process (a
process or Ray actor): there is no actor object in this one."""


class ActorRef(Generic[A]):
    """A reference to an actor, safe to pass around and share between threads.

    [`Actor.start()`][limelight.Actor.start] and the lookups of
    [`ActorRegistry`][limelight.ActorRegistry] return refs; you never create
    one yourself. Two refs are equal when they refer to the same actor.
    """

    # Slots: an idle actor's ref is a good part of its memory. "__dict__" is
    # one pointer, its dict made only on first use: tests patch a ref's
    # methods (mock.patch.object(ref, "tell")), as they may on Pykka.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_actor_weakref",
        "_create_future",
        "_owner",
        "actor_class",
        "actor_inbox",
        "actor_stopped",
        "actor_urn",
    )

    actor_class: type[A]
    """The class of the referenced actor."""

    actor_urn: str
    """The actor's unique URN; see [`Actor.actor_urn`][limelight.Actor.actor_urn]."""

    actor_inbox: Inbox
    """The actor's inbox; [`tell()`][limelight.ActorRef.tell] and friends fill it."""

    actor_stopped: StoppedEvent
    """Set when the actor stops; see ``Actor.actor_stopped``."""

    # The supervisor that started the actor, if any: it stops the actor
    # itself, so ActorRegistry.stop_all() stops it first.
    _owner: ActorRef[Any] | None

    # The actor object, while it lives in this process (``NO_LOCAL_ACTOR``
    # for a ref to an actor in another process).
    _actor_weakref: weakref.ref[A]

    _limelight_bounded_class: ClassVar[type[ActorRef[Any]] | None] = None
    """The class of a bounded actor's ref, where it is not this one: a ref
    class whose ``tell()`` queues without the inbox's ``put()`` (``GreenRef``)
    names one that goes through it, so that the mailbox sees every message.
    ``_bounded.bind()`` reads it: the common, unbounded, case pays nothing."""

    _limelight_travels: ClassVar[bool] = True
    """Whether the runtimes that carry refs to other processes may carry this
    one; if not, they call its ``__reduce__()``, which says why not."""

    def __init__(self, actor: A) -> None:
        runtime = actor._limelight_runtime
        assert runtime is not None  # Actor.__init__() refuses to run without
        # (_limelight_bind(), written out: a call less per actor.)
        self._actor_weakref = weakref.ref(actor)
        self.actor_class = actor.__class__
        self.actor_urn = actor.actor_urn
        self.actor_inbox = actor.actor_inbox
        self.actor_stopped = actor.actor_stopped
        self._create_future = runtime.future_factory(actor)
        self._owner = None

    def _limelight_bind(  # noqa: PLR0913, PLR0917 -- a ref's whole state
        self,
        actor_weakref: weakref.ref[A],
        actor_class: type[A],
        urn: str,
        inbox: Inbox,
        stopped: StoppedEvent,
        create_future: Callable[[], SettableFuture[Any]],
    ) -> None:
        """Set the ref's state, for an actor here or in another process.

        A ref to an actor in another process (``_remote/_ref.py``) has no
        actor object here: its `actor_weakref` is ``NO_LOCAL_ACTOR``, and
        its inbox forwards to the other process.
        """
        self._actor_weakref = actor_weakref
        self.actor_class = actor_class
        self.actor_urn = urn
        self.actor_inbox = inbox
        self.actor_stopped = stopped
        self._create_future = create_future
        self._owner = None

    def __repr__(self) -> str:
        return f"<ActorRef for {self}>"

    def __str__(self) -> str:
        return f"{self.actor_class.__name__} ({self.actor_urn})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActorRef):
            return NotImplemented
        return self.actor_urn == other.actor_urn  # pyright: ignore[reportUnknownMemberType]

    def __hash__(self) -> int:
        return hash(self.actor_urn)

    def __reduce__(self) -> tuple[Any, ...]:  # (RayRef's returns one)
        """Refuse to be pickled, saying why and what to do instead.

        A ref points at an actor object in this process's memory (or at a
        channel of this process), which no other process can use. The
        runtimes that carry refs across (``limelight.process``,
        ``limelight.ray``) pickle them their own way, which pickle consults
        before this method: the process runtime's pickler in its
        ``reducer_override()``, Ray by a serializer registered for the class
        and by ``RayRef.__reduce__()``.
        """
        msg = (
            f"{self} cannot be pickled: a ref holds this process's link to its "
            "actor (for a thread, asyncio or greenlet actor, the actor object "
            "itself), which no other process can use. Refs travel only in the "
            "messages Limelight sends to and from process actors "
            "(limelight.process) and Ray actors (limelight.ray): start the actor "
            "as one of those, or send the actor's name and look it up on the "
            "other side"
        )
        raise TypeError(msg)

    def __copy__(self) -> Self:
        # (copy would otherwise call __reduce__(): a ref is its own copy.)
        return self

    def __deepcopy__(self, _memo: dict[int, Any]) -> Self:
        return self

    def is_alive(self) -> bool:
        """Whether the actor is running (it may still stop at any moment)."""
        return not self.actor_stopped._flag

    def tell(self, message: Any) -> None:
        """Send `message` to the actor without waiting for it to be handled.

        Raises:
            ActorDeadError: if the actor is not running.
            MailboxFull: if the actor's bounded mailbox is full and its
                policy says so; see
                [`Actor.mailbox_overflow`][limelight.Actor.mailbox_overflow].
        """
        if self.actor_stopped._flag or _context.propagating:
            if not self._enqueue(message, None):
                _dead_letters.record(message, self, "stopped")
                raise ActorDeadError(f"{self} not found")
            return
        # The common case of _enqueue(), written out: a call to it would cost
        # more than the rest of this method (about 2% of a thread actor's ask
        # round trip, as counted by callgrind).
        self.actor_inbox.put((message, None))
        # inline _mailbox.after_put(self)
        # (Through a new name, which type checkers do not think still False.)
        stopped = self.actor_stopped
        if stopped._flag:
            _mailbox.reject_late_messages(self)
        # end inline

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

    def ask(
        self, message: Any, block: bool = True, timeout: float | None = None
    ) -> Any | Future[Any]:
        """Send `message` to the actor and get its reply.

        The reply is what [`on_receive()`][limelight.Actor.on_receive]
        returns; an exception it raises is raised here instead, and the actor
        goes on running.

        Args:
            message: the message; any object.
            block: wait for the reply (the default), or return a
                [`Future`][limelight.Future] of it at once.
            timeout: with `block`, seconds to wait; `None` (or infinity)
                waits forever. Checked before the message is sent, even
                without `block`.

        Returns:
            The reply, or with ``block=False`` a future of it.

        Raises:
            ActorDeadError: if the actor is not running (with
                ``block=False``, set on the future instead).
            Timeout: if the reply did not arrive within `timeout` seconds.
            TypeError: if `timeout` is not a number (nor `None`), and
                ValueError if it is NaN: nothing is sent.
            MailboxFull: if the actor's bounded mailbox is full and its policy
                says so (at once, even with ``block=False``); see
                [`Actor.mailbox_overflow`][limelight.Actor.mailbox_overflow].
        """
        if timeout is not None:  # (refused before anything is sent)
            timeout = _timeouts.seconds(timeout)
        future: SettableFuture[Any] = self._create_future()
        future._producer = self  # who answers: for deadlock detection in get()
        if self.actor_stopped._flag or _context.propagating:
            if not self._enqueue(message, future):
                _dead_letters.record(message, self, "stopped")
                future.set_exception(ActorDeadError(f"{self} not found"))
        else:  # (the common case of _enqueue(), written out, as in tell())
            self.actor_inbox.put((message, future))
            # inline _mailbox.after_put(self)
            # (Through a new name, which type checkers do not think still False.)
            stopped = self.actor_stopped
            if stopped._flag:
                _mailbox.reject_late_messages(self)
            # end inline
        if block:
            return future.get(timeout)
        return future

    def _enqueue(self, message: Any, reply_to: Future[Any] | None) -> bool:
        """Put `message` into the actor's inbox, its reply (if any) to go to `reply_to`.

        What every sender does, in this order: refuse a stopped actor, wrap
        the message in the sender's context if contexts propagate
        (``_core/_context.py``), put it in, and check the stopped flag
        again, in case the actor stopped while the message went in: then the
        inbox is emptied here, so the message is answered, never stranded
        (``_core/_mailbox.py``). A worker process queues an ask from another
        process this way, with a `reply_to` that writes the reply to the
        pipe; ``tell()`` and ``ask()`` (and ``GreenRef.tell()``) call this
        for what is not their common case, and write out the common case
        itself (actor running, no context to wrap: put, check again).

        Returns:
            False if the actor had stopped: nothing was queued, and the
            sender answers (or refuses) the message its own way.

        Raises:
            MailboxFull: from the inbox's ``put()``, for a bounded mailbox
                whose policy says so.
        """
        if self.actor_stopped._flag:
            return False
        if _context.propagating:
            message = _context.wrap(message)
        self.actor_inbox.put((message, reply_to))
        # inline _mailbox.after_put(self)
        # (Through a new name, which type checkers do not think still False.)
        stopped = self.actor_stopped
        if stopped._flag:
            _mailbox.reject_late_messages(self)
        # end inline
        return True

    @overload
    def stop(
        self, block: Literal[True] = True, timeout: float | None = None
    ) -> bool: ...

    @overload
    def stop(
        self, block: Literal[False], timeout: float | None = None
    ) -> Future[bool]: ...

    @overload
    def stop(
        self, block: bool = True, timeout: float | None = None
    ) -> bool | Future[bool]: ...

    def stop(
        self, block: bool = True, timeout: float | None = None
    ) -> bool | Future[bool]:
        """Ask the actor to stop once it has handled the messages sent before.

        Messages sent after this are answered with
        [`ActorDeadError`][limelight.ActorDeadError]. A stopped actor cannot
        be restarted.

        Args:
            block: wait for the actor to stop (the default), or return a
                future at once.
            timeout: with `block`, seconds to wait; `None` (or infinity)
                waits forever.

        Returns:
            `True` if the actor was running (or already stopping) when asked,
            `False` if it had already stopped; with ``block=False``, a future
            of that.

        Raises:
            Timeout: if the actor had not stopped within `timeout` seconds.
            TypeError: if `timeout` is not a number (nor `None`), and
                ValueError if it is NaN: the actor is not asked to stop.
        """
        if timeout is not None:
            timeout = _timeouts.seconds(timeout)
        result = self._ask_to_stop()
        if block:
            return result.get(timeout)
        return result

    def _ask_to_stop(self) -> Future[bool]:
        """Queue a stop request; return the future of ``stop()``'s answer.

        The actor (in this process) answers a stop request `True` itself,
        once it has ended (``Actor._actor_loop_teardown()``, or
        ``_mailbox.answer_too_late()`` for a request that came too late), so
        the request's own future is the answer: no second future to turn its
        reply into a bool. `False` is for an actor already stopped when
        asked. (A ref to an actor in another process turns the other side's
        answers into that bool: ``RemoteRef``.)
        """
        future: SettableFuture[bool] = self._create_future()
        future._producer = self  # who answers: for deadlock detection in get()
        if not self._enqueue(_STOP, future):
            _dead_letters.record(_STOP, self, "stopped")
            future.set(False)
        return future

    def kill(self) -> bool:
        """Stop the actor as soon as it is done with the message it is handling.

        Unlike [`stop()`][limelight.ActorRef.stop], the messages waiting in
        its inbox are not handled (asks among them fail with
        [`ActorDeadError`][limelight.ActorDeadError]) and ``on_stop()`` does
        not run. Python cannot interrupt a running handler, so one that is
        running finishes first; but an ``async def`` handler (or hook) of an
        asyncio actor that is suspended in an ``await`` is cancelled, since
        what it awaits may never come. Watchers learn that it was
        ``"killed"``, and linked actors crash with it. Does not wait.

        Returns:
            `True` if the actor was running, `False` if it had already stopped.
        """
        actor = self._actor_weakref()
        return actor is not None and actor._limelight_kill()

    def termination(self) -> Future[Terminated]:
        """Return a future of how the actor ended.

        The future's value is a
        [`Terminated`][limelight.messages.Terminated]. It completes once the
        actor has completely ended (at once, if it has). ``get()`` it or
        ``await`` it; it does not stop the actor.
        """
        future: SettableFuture[Terminated] = self._create_future()
        # Produced by the actor, as far as waiting goes: it cannot end while
        # it waits for whoever waits for its end.
        future._producer = self
        self.actor_stopped.add_termination_callback(future, future.set)
        return future

    def __enter__(self) -> Self:
        """``with Actor.start() as ref:`` stops the actor when the block ends."""
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        """``async with Actor.start() as ref:`` stops the actor when the block ends.

        The stop is awaited, so the event loop keeps running meanwhile.
        """
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.stop(block=False)

    def proxy(self) -> ActorProxy[A]:
        """Return an [`ActorProxy`][limelight.ActorProxy] for this actor.

        Raises:
            ActorDeadError: if the actor is not running.
        """
        return ActorProxy(actor_ref=self)

    def _introspect(self) -> dict[AttrPath, AttrInfo]:
        """Describe the actor's public attributes, for a proxy."""
        actor = self._actor_weakref()
        if actor is None or not self.is_alive():
            raise ActorDeadError(f"{self} not found")
        return introspect(actor, self)

    # -- The 2011 API ----------------------------------------------------------

    def send_one_way(self, message: Any) -> None:
        """Send `message` without waiting: the 2011 name of ``tell()``."""
        self.tell(message)

    def send_request_reply(
        self, message: Any, block: bool = True, timeout: float | None = None
    ) -> Any:
        """Send `message` and get the reply: the 2011 name of ``ask()``."""
        return self.ask(message, block, timeout)


def ended_reason(ref: ActorRef[Any]) -> ExitReason | None:
    """None while `ref`'s actor runs; once it has ended, why.

    What a ref sent to another process carries, so that it arrives dead
    (with the reason) if its actor has ended.
    """
    if ref.is_alive():
        return None
    terminated = ref.actor_stopped.terminated
    return terminated.reason if terminated is not None else "normal"
