"""Actors: the message loop and the life cycle every runtime shares."""

from __future__ import annotations

import abc
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from logging import DEBUG
from types import CoroutineType
from typing import TYPE_CHECKING, Any, ClassVar, cast

from limelight._core import _bounded, _mailbox, _observe
from limelight._core import _hooks_2011 as hooks_2011
from limelight._core._exceptions import ActorDeadError
from limelight._core._links import (
    Forget,
    SendLinkExit,
    TellTerminated,
    link_key,
    watch_key,
    watching_key,
)
from limelight._core._log import logger
from limelight._core._ref import ActorRef
from limelight._core._registry import ActorRegistry
from limelight._core._stopped import StoppedEvent
from limelight._core._timers import (
    Timer,
    cancel_timers,
    check_seconds,
    start_timer,
)
from limelight.messages import (
    Terminated,
    _ActorKilled,
    _ActorStop,
)

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from limelight._core._bounded import Overflow
    from limelight._core._future import Future
    from limelight._core._runtime import Inbox, Runtime
    from limelight.messages import ExitReason

__all__ = ["Actor", "new_actor_urn"]


class Actor(abc.ABC):
    """An actor: an object that handles its messages one at a time, in its own context.

    To make one:

    1. subclass a runtime's actor class, such as
       [`ThreadingActor`][limelight.ThreadingActor];
    2. write your methods (and ``__init__()``, calling ``super().__init__()``);
    3. call [`start()`][limelight.Actor.start] on the class with the
       arguments for ``__init__()``; you get an [`ActorRef`][limelight.ActorRef].

    ```python
    class Greeter(limelight.ThreadingActor):
        def __init__(self, greeting: str) -> None:
            super().__init__()
            self.greeting = greeting

        def on_receive(self, message: Any) -> Any:
            return f"{self.greeting}, {message}!"

    ref = Greeter.start("Hello")
    assert ref.ask("Ada") == "Hello, Ada!"
    ref.stop()
    ```

    Messages are handled one at a time, in the order they arrive. An
    exception raised while handling an [`ask()`][limelight.ActorRef.ask] goes
    back to the asker and the actor goes on; one raised while handling a
    [`tell()`][limelight.ActorRef.tell] is a crash: it is logged,
    [`on_failure()`][limelight.Actor.on_failure] runs and the actor stops. A
    `BaseException` that is not an `Exception` (``SystemExit``,
    ``KeyboardInterrupt``) stops every actor.

    The 2011 hook names work too: an actor may define ``react(message)``
    instead of ``on_receive()``, ``post_start()`` instead of ``on_start()``
    and ``pre_stop()`` instead of ``on_stop()``.
    """

    _limelight_runtime: ClassVar[Runtime | None] = None

    actor_urn: str
    """The actor's universally unique identifier, a ``urn:uuid:`` string.

    [`ActorRegistry.get_by_urn()`][limelight.ActorRegistry.get_by_urn] finds
    an actor by it.
    """

    actor_inbox: Inbox
    """The actor's inbox.

    Fill it with [`ActorRef.tell()`][limelight.ActorRef.tell] and friends.
    """

    actor_stopped: StoppedEvent
    """An event (``threading.Event``-like) that is set when the actor stops.

    Use [`stop()`][limelight.Actor.stop] to stop the actor, not this event.
    """

    trap_exits: ClassVar[bool] = False
    """Receive linked actors' ends as messages instead of crashing with them.

    See [`link()`][limelight.Actor.link]. With it set, the actor receives a
    [`Terminated`][limelight.messages.Terminated] in
    [`on_receive()`][limelight.Actor.on_receive] whenever a linked actor
    ends, normally or not, and goes on running.
    """

    mailbox_capacity: ClassVar[int | None] = None
    """The most messages the actor's mailbox holds; `None` (the default): no limit.

    Messages queued and not yet taken by the actor count; when there are
    this many, [`mailbox_overflow`][limelight.Actor.mailbox_overflow] says
    what happens to one more. Stop requests never count against the limit,
    so [`stop()`][limelight.ActorRef.stop] works on a full mailbox.
    Unbounded actors pay nothing for this feature. A bad value (not a
    positive int) raises when the class is defined.
    """

    mailbox_overflow: ClassVar[Overflow] = "block"
    """What a full mailbox does with one more message.

    - ``"block"`` (the default): the sender waits for room, at most
      [`mailbox_block_timeout`][limelight.Actor.mailbox_block_timeout]
      seconds, then gets [`MailboxFull`][limelight.MailboxFull]. A sender
      running in an event loop gets it at once: waiting would block the loop.
    - ``"raise"``: the sender gets [`MailboxFull`][limelight.MailboxFull] at once.
    - ``"drop_oldest"``: the oldest queued message is dropped to make room.
    - ``"drop_newest"``: the new message is dropped.

    A dropped message is logged at ``WARNING`` and becomes a
    [`DeadLetter`][limelight.DeadLetter]; a dropped ask's future fails with
    [`MailboxFull`][limelight.MailboxFull].
    """

    mailbox_block_timeout: ClassVar[float | None] = None
    """Seconds a sender waits for room under ``"block"``; `None`: for ever."""

    _actor_ref: ActorRef[Any]
    # The stop request that stopped the actor, answered once it is done. (Only
    # one is ever handled: later ones find the actor stopped, and are
    # answered at once; see _mailbox.reject().)
    _limelight_stop_reply: Future[Any] | None = None
    # Why the actor is ending, once known to be other than a normal stop:
    # the first failure or kill wins.
    _limelight_exit: tuple[ExitReason, BaseException | None] | None = None
    # The active timers, made with the first one: most actors never have any.
    _limelight_timers: dict[Timer, None] | None = None
    # -- Introspection (limelight.observe), read by snapshot() from other
    # threads. Per message: a step of a C counter and two stores of objects
    # that exist anyway (no clock read): see docs/design.md.
    # (_limelight_current is set in __init__(), not here: a class attribute
    # of the same name keeps the interpreter from specializing the hot
    # path's stores.)
    _limelight_current: Any
    """The envelope being handled (or a told message queued bare: see
    ``Queued`` in ``_core/_types.py``); None when idle."""
    _limelight_taken: Iterator[None] | None = None
    """Steps once per message taken, by every driver (``_observe.new_counter()``).

    Made by the driver when the actor starts (on an event loop: when it
    first takes a message, so that an idle actor costs nothing more)."""
    _limelight_thread_ident: int | None = None
    """The ident of the OS thread running the actor, for a thread actor (set
    by the threading runtime at start): ``limelight top`` shows its stack."""
    _limelight_phase: str = "starting"
    """``"starting"`` until on_start() is over, then ``"running"``."""
    _limelight_born: float
    """When ``start()`` was called (``time.monotonic()``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hooks_2011.apply(cls, Actor)
        # Resolved once per class, not per actor; set only where it changes
        # (a runtime's actor class), so that other classes' bodies stay as
        # written (the process runtime sends empty ones by value).
        ref_class = getattr(cls._limelight_runtime, "ref_class", ActorRef)
        if ref_class is not cls._limelight_ref_class:
            cls._limelight_ref_class = ref_class
        _bounded.check_settings(cls)

    _limelight_ref_class: ClassVar[type[ActorRef[Any]]] = ActorRef
    """The class of the actor's ref: its runtime's ``ref_class``, if it has one."""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        """Set up the actor's identity, inbox and ref.

        Override ``__init__()`` freely, but call ``super().__init__()``. It
        runs in the thread that calls [`start()`][limelight.Actor.start],
        before the actor is registered or started.

        The arguments are accepted and ignored, and no other class's
        ``__init__()`` is called: with multiple inheritance (an actor that is
        also some other base class, the 2011 "traits" pattern), the subclass
        calls the other base's ``__init__()`` itself, with the arguments that
        one takes, as on Pykka:

        ```python
        class Frontend:
            def __init__(self, *, config: dict[str, str]) -> None:
                self.config = config

        class Scrobbler(limelight.ThreadingActor, Frontend):
            def __init__(self, config: dict[str, str]) -> None:
                super().__init__()  # the actor's: sets nothing of Frontend's
                Frontend.__init__(self, config=config)

        ref = Scrobbler.start({"user": "ada"})
        assert ref.proxy().config.get() == {"user": "ada"}
        ref.stop()
        ```

        Only attributes of `self` are set, and the class's settings are read
        from ``self.__class__``, so that a test may call an actor class's
        ``__init__()`` with a ``unittest.mock.Mock(spec=ThatClass)`` as
        `self`.
        """
        # self.__class__, not type(self): a Mock(spec=C) answers C here.
        cls = self.__class__
        runtime = cls._limelight_runtime
        if runtime is None:
            msg = (
                f"{cls.__name__} has no runtime: subclass a runtime's "
                "actor class, such as limelight.ThreadingActor, not Actor itself"
            )
            raise TypeError(msg)
        self.actor_urn = new_actor_urn()
        self._limelight_current = None
        self.actor_inbox = runtime.create_inbox(self)
        self.actor_stopped = StoppedEvent()
        if cls.mailbox_capacity is None:
            self._actor_ref = cls._limelight_ref_class(self)
        else:
            self._actor_ref = _bounded.bind(self)  # which wraps the inbox first

    @property
    def actor_ref(self) -> ActorRef[Self]:
        """The actor's own [`ActorRef`][limelight.ActorRef]."""
        return self._actor_ref

    def __str__(self) -> str:
        return f"{type(self).__name__} ({self.actor_urn})"

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:
        """Create the actor with `args` and `kwargs`, register it and start it.

        ``__init__()`` runs in the calling thread, then the actor is added to
        [`ActorRegistry`][limelight.ActorRegistry], then its loop starts:
        [`on_start()`][limelight.Actor.on_start] runs, then messages are
        handled.

        Returns:
            A ref to the running actor.

        Raises:
            RuntimeError: if ``__init__()`` did not call ``super().__init__()``.
        """
        return cls(*args, **kwargs)._limelight_register_and_run()

    def _limelight_register_and_run(self, urn: str | None = None) -> ActorRef[Self]:
        """Register this actor, just made, and start its loop; return its ref.

        The steps of [`start()`][limelight.Actor.start] after ``__init__()``,
        in one place for every way an actor is started. `urn` replaces the
        one ``__init__()`` gave the actor: an actor started for another
        process keeps the URN its ref there already has.

        Raises:
            RuntimeError: if ``__init__()`` did not call ``super().__init__()``.
        """
        ref: ActorRef[Self] | None = getattr(self, "_actor_ref", None)
        if ref is None:
            msg = (
                f"{type(self).__name__}.__init__() did not call super().__init__(); "
                "add `super().__init__()` at the start of it"
            )
            raise RuntimeError(msg)
        if urn is not None:
            self.actor_urn = ref.actor_urn = urn
        runtime = self._limelight_runtime
        assert runtime is not None  # checked in __init__()
        self._limelight_born = time.monotonic()  # (introspection: _observe.py)
        ActorRegistry.register(ref)
        if logger.levels.get(DEBUG, True) and logger.target.isEnabledFor(DEBUG):
            logger.debug("Starting %s", self)
        runtime.start(self)
        return ref

    def stop(self) -> None:
        """Stop the actor once the messages already in its inbox are handled.

        Callable from inside the actor; the same as
        [`ActorRef.stop(block=False)`][limelight.ActorRef.stop].
        """
        self._actor_ref.tell(_ActorStop())

    # -- Watching and linking ------------------------------------------------

    def watch(self, actor_ref: ActorRef[Any]) -> None:
        """Learn when `actor_ref` ends, from a message.

        A [`Terminated`][limelight.messages.Terminated] message arrives in
        [`on_receive()`][limelight.Actor.on_receive] once the watched actor
        has completely ended, and says why: a normal
        stop, a failure (with the exception), or a kill. If it has already
        ended, the message is sent at once. Watching the same actor twice
        still sends one message; watching does not affect the watched actor.
        Once either actor has ended, neither keeps anything for the watch.

        Raises:
            ValueError: if `actor_ref` is this actor's own ref.
        """
        me = self._limelight_own_ref_other_than(actor_ref, "watch")
        watched = actor_ref.actor_stopped
        # This side's note first: if the watched actor has ended, the
        # callback runs at once and removes it again.
        me.actor_stopped.add_termination_callback(
            watching_key(actor_ref.actor_urn), Forget(watched, watch_key(me.actor_urn))
        )
        watched.add_termination_callback(
            watch_key(me.actor_urn), TellTerminated(me, actor_ref.actor_urn)
        )

    def unwatch(self, actor_ref: ActorRef[Any]) -> None:
        """Stop watching `actor_ref`; a message already sent stays in the inbox."""
        actor_ref.actor_stopped.remove_termination_callback(watch_key(self.actor_urn))
        self.actor_stopped.remove_termination_callback(
            watching_key(actor_ref.actor_urn)
        )

    def link(self, actor_ref: ActorRef[Any]) -> None:
        """Tie this actor's fate to `actor_ref`'s, both ways.

        When either actor fails or is killed, the other crashes too, with
        [`LinkedActorFailed`][limelight.LinkedActorFailed] (so its
        ``on_failure()`` runs, and its own links and watchers learn of it in
        turn). A normal stop does not spread. An actor that sets
        [`trap_exits`][limelight.Actor.trap_exits] receives a
        [`Terminated`][limelight.messages.Terminated] message instead, for
        every end of a linked actor, normal or not. The news travels as a
        message, so it is handled after the messages already queued.

        Linking to an actor that has already ended acts at once, as if it
        had just ended. Once either actor has ended, the other keeps
        nothing for the link: an actor that outlives many linked actors
        (a supervisor) does not hold on to them.

        Raises:
            ValueError: if `actor_ref` is this actor's own ref.
        """
        me = self._limelight_own_ref_other_than(actor_ref, "link")
        # This side first: if the other has ended, its callback runs at once
        # and removes this side's again (see _links).
        me.actor_stopped.add_termination_callback(
            link_key(actor_ref.actor_urn), SendLinkExit(actor_ref, me.actor_urn)
        )
        actor_ref.actor_stopped.add_termination_callback(
            link_key(me.actor_urn), SendLinkExit(me, actor_ref.actor_urn)
        )

    def unlink(self, actor_ref: ActorRef[Any]) -> None:
        """Undo [`link()`][limelight.Actor.link], both ways."""
        actor_ref.actor_stopped.remove_termination_callback(link_key(self.actor_urn))
        self.actor_stopped.remove_termination_callback(link_key(actor_ref.actor_urn))

    def _limelight_own_ref_other_than(
        self, actor_ref: ActorRef[Any], verb: str
    ) -> ActorRef[Any]:
        if not isinstance(cast("object", actor_ref), ActorRef):
            msg = (
                f"{verb}() takes an ActorRef, such as Actor.start() returns, "
                f"not {actor_ref!r}"
            )
            raise TypeError(msg)
        if actor_ref.actor_urn == self.actor_urn:
            msg = f"{self} cannot {verb} itself; pass another actor's ref"
            raise ValueError(msg)
        return self._actor_ref

    # -- Timers --------------------------------------------------------------

    def send_after(self, delay: float, message: Any) -> Timer:
        """Send `message` to this actor once, `delay` seconds from now.

        The message arrives as ``self.actor_ref.tell(message)`` would
        deliver it, so [`on_receive()`][limelight.Actor.on_receive] (or, for
        a proxy message, the proxied method) handles it. No thread is used
        per timer. Callable from inside the actor and from any other thread.

        ```python
        def on_start(self) -> None:
            self.deadline = self.send_after(5.0, "give up")
        ```

        Args:
            delay: seconds to wait; ``0`` sends at once (behind the
                messages already queued).
            message: the message; any object.

        Returns:
            The [`Timer`][limelight.Timer], to cancel it; it is cancelled
            anyway when the actor stops.

        Raises:
            ValueError: if `delay` is negative, infinite or NaN.
            TypeError: if `delay` is not a number.
            ActorDeadError: if the actor has stopped.
        """
        delay = check_seconds(delay, "delay", zero_ok=True)
        return start_timer(self, delay, message, None)

    def send_every(
        self, interval: float, message: Any, *, initial_delay: float | None = None
    ) -> Timer:
        """Send `message` to this actor every `interval` seconds, until cancelled.

        Each message arrives as with [`send_after()`][limelight.Actor.send_after].
        The rate is fixed: the *n*th message is due ``initial_delay + (n - 1)
        * interval`` seconds after the call, however long handling takes. A
        message that falls due late does not make the next ones come in a
        burst to catch up: the next is due one interval after the late one
        was due, or at once if that has passed too.

        ```python
        def on_start(self) -> None:
            self.ticker = self.send_every(1.0, "tick")

        def on_receive(self, message: Any) -> Any:
            if message == "tick":
                self.poll()
        ```

        Args:
            interval: seconds between two messages; more than ``0``.
            message: the message, the same object every time.
            initial_delay: seconds until the first message; the default is
                `interval`.

        Returns:
            The [`Timer`][limelight.Timer], to cancel it; it is cancelled
            anyway when the actor stops.

        Raises:
            ValueError: if `interval` is not positive, `initial_delay` is
                negative, or either is infinite or NaN.
            TypeError: if either is not a number.
            ActorDeadError: if the actor has stopped.
        """
        interval = check_seconds(interval, "interval", zero_ok=False)
        delay = (
            interval
            if initial_delay is None
            else check_seconds(initial_delay, "initial_delay", zero_ok=True)
        )
        return start_timer(self, delay, message, interval)

    # -- Hooks ---------------------------------------------------------------

    def on_start(self) -> object:  # noqa: B027 -- optional: does nothing
        """Run once, in the actor's context, before the first message is handled.

        If it raises, the exception is logged and the actor stops. Actors on
        an event loop may make this (and the other hooks) an ``async def``;
        other actors' hooks return nothing.
        """

    def on_stop(self) -> object:  # noqa: B027 -- optional: does nothing
        """Run once, in the actor's context, when the actor stops normally.

        Not called when the actor stops because of a crash; see
        [`on_failure()`][limelight.Actor.on_failure]. If it raises, the
        exception is logged.
        """

    def on_failure(  # noqa: B027 -- optional: does nothing
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> object:
        """Run in the actor's context when a told message raised, before it stops.

        The arguments are those of ``sys.exc_info()``. If it raises, that
        exception is logged too.
        """

    def on_receive(self, message: Any) -> Any:
        """Handle a message that is not a proxy call; return the reply, if any.

        The default logs the message as unexpected, at ``WARNING`` level, and
        replies `None`; call ``super().on_receive(message)`` for messages you
        do not handle to get the same.
        """
        logger.warning("Unexpected message received by %s: %s", self, message)

    # -- Steps shared by every driver of the loop ----------------------------

    def _limelight_run_hook(self, hook: Callable[..., Any], *args: Any) -> None:
        """Call a life-cycle hook; an exception in it is a crash."""
        try:
            result = hook(*args)
            if result.__class__ is CoroutineType:
                result.close()  # never to be awaited: say so once, below
                msg = (
                    f"{hook.__qualname__}() is an `async def`, which only actors "
                    "on an event loop (AsyncioActor) can run"
                )
                raise TypeError(msg)
        except Exception:  # noqa: BLE001 -- user code may raise anything
            self._handle_failure(*sys.exc_info())
        except BaseException as exc:  # noqa: BLE001 -- user code may raise anything
            self._limelight_hook_raised_base_exception(exc)

    def _limelight_hook_raised_base_exception(self, exc: BaseException) -> None:
        """A hook raised SystemExit or the like: stop this actor, then all others.

        ``on_stop()`` is not run again (nor at all, for a failing ``on_start()``:
        an actor that did not start is not stopped, it crashed).
        """
        logger.debug("%r in %s. Stopping all actors.", exc, self)
        if not self.actor_stopped.is_set():
            self._limelight_begin_stop()
        self._limelight_stop_everything(exc, None)

    def _limelight_reply_or_crash(self, reply_to: Future[Any] | None) -> bool:
        """Deal with the exception being handled; True if it is a crash.

        An asker gets the exception; without an asker, the exception is a
        crash: it is logged, the actor is marked stopped, and the caller must
        then run ``on_failure()``.
        """
        if reply_to is not None:
            logger.info("Exception returned from %s to caller:", self, exc_info=True)
            reply_to.set_exception()
            return False
        self._handle_failure(*sys.exc_info())
        return True

    def _limelight_stop_everything(
        self, exc: BaseException, reply_to: Future[Any] | None
    ) -> None:
        """After a BaseException (SystemExit...) stopped this actor: stop all others."""
        self._limelight_record_exit("failure", exc)
        if reply_to is not None:
            error = ActorDeadError(f"{self._actor_ref} stopped by {exc!r}")
            error.__cause__ = exc
            reply_to.set_exception(error)
        ActorRegistry.stop_all(block=False)

    def _actor_loop_teardown(self) -> None:
        """Cancel timers, release the context, fail what is queued, tell, answer.

        Watchers and links learn of the end before stop requests are
        answered, so that when ``stop()`` returns, they have been told.
        """
        if self._limelight_timers is not None:
            cancel_timers(self._limelight_timers)
        _observe.STOPPING.pop(self.actor_urn, None)  # (ended: see STOPPING)
        runtime = self._limelight_runtime
        assert runtime is not None
        runtime.release(self)
        _mailbox.reject_late_messages(self._actor_ref)
        reason, exception = self._limelight_exit or ("normal", None)
        # (Made by tuple.__new__(): a NamedTuple's own __new__ is a Python call.)
        terminated = tuple.__new__(  # pyright: ignore[reportUnknownMemberType]
            Terminated, (self._actor_ref, reason, exception)
        )
        self.actor_stopped.terminate(terminated)
        if self._limelight_stop_reply is not None:
            self._limelight_stop_reply.set(True)  # (stop()'s answer: see ActorRef)

    def _limelight_begin_stop(self) -> None:
        """Unregister and mark the actor stopped: no message is handled after this."""
        # (_limelight_unregister(), written out: a call less per actor.)
        ref = self._actor_ref
        _observe.STOPPING[self.actor_urn] = ref._actor_weakref
        ActorRegistry.unregister(ref)
        self.actor_stopped.set()
        if logger.levels.get(DEBUG, True) and logger.target.isEnabledFor(DEBUG):
            logger.debug("Stopped %s", self)

    def _limelight_unregister(self) -> None:
        """Leave the registry; introspection still sees the actor until its end."""
        ref = self._actor_ref
        _observe.STOPPING[self.actor_urn] = ref._actor_weakref
        ActorRegistry.unregister(ref)

    def _limelight_record_exit(
        self, reason: ExitReason, exception: BaseException | None
    ) -> None:
        """Note why the actor is ending, unless an earlier failure or kill was noted."""
        if self._limelight_exit is None:
            self._limelight_exit = (reason, exception)

    def _limelight_kill(self) -> bool:
        """Stop at once, from any thread: see ``ActorRef.kill()``."""
        if not self.actor_stopped.set(self._limelight_note_killed):
            return False
        self._limelight_unregister()
        logger.debug("Killed %s", self)
        # Wake the loop if it waits for a message; it finds itself stopped.
        # (Straight into the inbox: tell() refuses a stopped actor.)
        self.actor_inbox.put((_ActorKilled(), None))
        return True

    def _limelight_note_killed(self) -> None:
        # Before the actor is marked stopped: its loop, which may end at once
        # on seeing the mark, must not take the end for a normal one.
        self._limelight_record_exit("killed", None)

    def _stop(self) -> None:
        """Stop now, without handling the rest of the inbox."""
        self._limelight_begin_stop()
        on_stop = self.on_stop
        if getattr(on_stop, "__func__", None) is not NO_OP_ON_STOP:
            self._limelight_run_hook(on_stop)

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Log a crash, unregister and mark the actor stopped."""
        logger.error(
            "Unhandled exception in %s:",
            self,
            exc_info=(exception_type, exception_value, traceback),
        )
        self._limelight_record_exit("failure", exception_value)
        self._limelight_unregister()
        self.actor_stopped.set()


# The hooks as Actor defines them, doing nothing: drivers skip calling them
# (two calls each). A hook looked up on an actor is compared by its
# ``__func__``: anything else (an override, a hook from a 2011 name, a mock
# patched in) is called.
NO_OP_ON_START = Actor.on_start
NO_OP_ON_STOP = Actor.on_stop


def new_actor_urn() -> str:
    """Return a new random (version 4) UUID URN, as ``uuid.uuid4().urn`` would.

    ``uuid.uuid4()`` makes a system call per actor; a generator of
    Python's ``random`` seeded from the OS, and reseeded in a forked child,
    gives 128 bits as unique for naming actors, at a fraction of the cost.
    It is Limelight's own, so that a program that seeds ``random`` (a test,
    say, in each of its processes) does not get the same URNs twice.
    """
    # (to_bytes().hex(), not a format spec: a third cheaper.)
    bits = (_urn_bits(128) & _VERSION_CLEAR) | _VERSION_4
    h = bits.to_bytes(16, "big").hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_urn_random = random.Random()  # (seeded from the OS)
os.register_at_fork(after_in_child=_urn_random.seed)
_urn_bits = _urn_random.getrandbits
_VERSION_CLEAR = ~((0xF << 76) | (0x3 << 62))
_VERSION_4 = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant
