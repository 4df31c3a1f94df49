"""The registry of running actors."""

from __future__ import annotations

from logging import DEBUG
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, cast, overload

from limelight._core import _awaiting, _timeouts
from limelight._core._exceptions import ActorDeadError, DeadlockError, MailboxFull
from limelight._core._future import Future, SettableFuture
from limelight._core._log import logger
from limelight._core._ref import ActorRef

if TYPE_CHECKING:
    from limelight._core._actor import Actor

__all__ = ["ActorRegistry"]


A = TypeVar("A", bound="Actor")


class ActorRegistry:
    """Every running actor, for looking actors up, broadcasting and stopping all.

    Actors are registered when started and unregistered when they stop. All
    methods are class methods and thread-safe.
    """

    # URN -> ref, in start order (dicts keep insertion order). A dict makes
    # unregistering O(1), which matters when thousands of actors stop. Each
    # method reads or writes it in one step that calls no Python code (keys
    # are strings), which is atomic: no lock, whose `with` would cost a
    # tenth of an actor's start and stop on a loop.
    _refs: ClassVar[dict[str, ActorRef[Any]]] = {}

    @classmethod
    def broadcast(
        cls, message: Any, target_class: str | type[Actor] | None = None
    ) -> None:
        """Tell `message` to every running actor, or to those of `target_class`.

        Actors that stop meanwhile, and actors whose bounded mailbox refuses
        the message (see [`MailboxFull`][limelight.MailboxFull]), are skipped;
        either way the message is a [`DeadLetter`][limelight.DeadLetter].

        Args:
            message: the message to send.
            target_class: an actor class (subclasses included) or class name.
        """
        if isinstance(target_class, str):
            targets = cls.get_by_class_name(target_class)
        elif target_class is not None:
            targets = cls.get_by_class(target_class)
        else:
            targets = cls.get_all()
        for ref in targets:
            try:
                ref.tell(message)
            except ActorDeadError:  # it stopped since get_all(): skip it
                logger.debug("Broadcast skipped %s: it stopped", ref)
            except MailboxFull:  # one full mailbox must not starve the others
                logger.debug("Broadcast skipped %s: its mailbox is full", ref)

    @classmethod
    def get_all(cls) -> list[ActorRef[Any]]:
        """Return refs to all running actors, in the order they were started."""
        return list(cls._refs.values())

    @classmethod
    def get_by_class(cls, actor_class: type[A]) -> list[ActorRef[A]]:
        """Return refs to the running actors of `actor_class` or a subclass of it."""
        return [
            ref for ref in cls.get_all() if issubclass(ref.actor_class, actor_class)
        ]

    @classmethod
    def get_by_class_name(cls, actor_class_name: str) -> list[ActorRef[Any]]:
        """Return refs to the running actors whose class is named `actor_class_name`."""
        return [
            ref for ref in cls.get_all() if ref.actor_class.__name__ == actor_class_name
        ]

    @classmethod
    def get_by_urn(cls, actor_urn: str) -> ActorRef[Any] | None:
        """Return a ref to the running actor with `actor_urn`, or `None`."""
        return cls._refs.get(actor_urn)

    @classmethod
    def register(cls, actor_ref: ActorRef[Any]) -> None:
        """Add an actor; [`Actor.start()`][limelight.Actor.start] does this for you."""
        cls._refs[actor_ref.actor_urn] = actor_ref
        # (The level checked here, without a call: see RedirectableLogger.)
        if logger.levels.get(DEBUG, True) and logger.target.isEnabledFor(DEBUG):
            logger.debug("Registered %s", actor_ref)

    @classmethod
    def unregister(cls, actor_ref: ActorRef[Any]) -> None:
        """Remove an actor; stopping it does this for you."""
        removed = cls._refs.pop(actor_ref.actor_urn, None) is not None
        if logger.levels.get(DEBUG, True) and logger.target.isEnabledFor(DEBUG):
            if removed:
                logger.debug("Unregistered %s", actor_ref)
            else:
                logger.debug("Unregistered %s (not found in registry)", actor_ref)

    @overload
    @classmethod
    def stop_all(
        cls, block: Literal[True] = True, timeout: float | None = None
    ) -> list[bool]: ...

    @overload
    @classmethod
    def stop_all(
        cls, block: Literal[False], timeout: float | None = None
    ) -> list[Future[bool]]: ...

    @overload
    @classmethod
    def stop_all(
        cls, block: bool = True, timeout: float | None = None
    ) -> list[bool] | list[Future[bool]]: ...

    @classmethod
    def stop_all(
        cls, block: bool = True, timeout: float | None = None
    ) -> list[bool] | list[Future[bool]]:
        """Stop every running actor, the most recently started first.

        With `block`, each actor has stopped before the next is asked to, so
        an actor started after the ones it depends on is stopped before them.
        A [`Supervisor`][limelight.Supervisor] is stopped before the
        children it started, so that it stops them itself, in its own order,
        instead of restarting them.
        For other dependencies, stop actors yourself in the order you need,
        or from each other's [`on_stop()`][limelight.Actor.on_stop].

        In a coroutine, ``await``
        [`stop_all_async()`][limelight.ActorRegistry.stop_all_async]
        instead: blocking there holds up the event loop, and if an actor
        runs on that loop, it could never stop (then this raises
        [`DeadlockError`][limelight.DeadlockError], which says so).

        Args:
            block: wait for each stop (the default), or return futures.
            timeout: with `block`, seconds to wait for *each* actor; `None`
                (or infinity) waits forever.

        Returns:
            What [`ActorRef.stop()`][limelight.ActorRef.stop] returned for
            each actor, in stop order.

        Raises:
            Timeout: if an actor had not stopped within `timeout` seconds.
            DeadlockError: if called in the thread of an event loop on which
                an actor it must wait for runs. The actors go on stopping,
                in order, once the loop runs again.
            TypeError: if `timeout` is not a number (nor `None`), and
                ValueError if it is NaN: no actor is asked to stop.
        """
        if timeout is not None:
            timeout = _timeouts.seconds(timeout)
        refs = _stop_order(cls.get_all())
        if not block:
            return [ref.stop(False) for ref in refs]
        chain = _StopChain(refs)
        chain.advance()
        results: list[bool] = []
        for index, started in enumerate(chain.started):
            # Each actor is asked to stop only once the one before it has
            # stopped, so waiting for the request to go out is part of the
            # per-actor timeout.
            try:
                results.append(_result_of(started.get(timeout), timeout))
            except DeadlockError as error:
                # No cycle of actors: the caller runs the loop that must
                # stop this actor. Name the way that does not block it.
                if error.cycle or not _awaiting.on_event_loop():
                    raise
                msg = (
                    f"ActorRegistry.stop_all() would block the event loop that "
                    f"must stop {refs[index]}, forever: in a coroutine, use "
                    "`await ActorRegistry.stop_all_async()` instead (the "
                    "actors go on stopping, in order, once the loop runs again)"
                )
                raise DeadlockError(msg) from error
        return results

    @classmethod
    async def stop_all_async(cls) -> list[bool]:
        """Stop every running actor from a coroutine, without blocking its loop.

        In the order of [`stop_all()`][limelight.ActorRegistry.stop_all]
        (newest first, each actor stopped before the next is asked to), but
        the coroutine awaits each stop instead of blocking its event loop,
        so actors on that very loop can stop meanwhile. Await it from any
        event loop, whatever runtimes the actors run on:

        ```python
        await ActorRegistry.stop_all_async()
        ```

        For a time limit, wrap it, as any coroutine, in
        ``asyncio.wait_for()`` (or ``asyncio.timeout()``): the limit is then
        for all the actors together. Cancelling it only stops the waiting:
        the actors go on stopping, in order.

        Returns:
            What [`ActorRef.stop()`][limelight.ActorRef.stop] returned for
            each actor, in stop order.
        """
        chain = _StopChain(_stop_order(cls.get_all()))
        chain.advance()
        results: list[bool] = []
        for started in chain.started:
            stopped: Any = await started
            if isinstance(stopped, Future):
                future: Future[Any] = stopped  # pyright: ignore[reportUnknownVariableType]
                stopped = await future
            results.append(stopped)
        return results


def _stop_order(refs: list[ActorRef[Any]]) -> list[ActorRef[Any]]:
    """The order `stop_all()` and `stop_all_async()` stop `refs` in.

    Newest first, as Pykka does, but supervisors before what they supervise.
    """
    return _owners_first(list(reversed(refs)))


def _owners_first(refs: list[ActorRef[Any]]) -> list[ActorRef[Any]]:
    """Sort `refs` so that supervisors come before what they supervise (stable)."""

    def depth(ref: ActorRef[Any]) -> int:
        hops = 0
        owner = _owner_of(ref)
        while owner is not None:
            hops += 1
            owner = _owner_of(owner)
        return hops

    return sorted(refs, key=depth)


def _owner_of(ref: object) -> ActorRef[Any] | None:
    # Only of a real ref: a test double (a Mock, say) would make up an owner,
    # and that owner another, without end. (type(), not isinstance(): a Mock
    # with a spec claims to be an instance of its spec's class.)
    if issubclass(type(ref), ActorRef):
        return cast("ActorRef[Any]", ref)._owner
    return None


def _result_of(stopped: Any, timeout: float | None) -> Any:
    """The bool a stop() future holds (or what a test double's stop() returned)."""
    if isinstance(stopped, Future):
        future: Future[Any] = stopped  # pyright: ignore[reportUnknownVariableType]
        return future.get(timeout)
    return stopped


class _StopChain:
    """Stop actors one after another, each stop started by the previous actor.

    When an actor's stop completes, its own thread asks the next actor to
    stop (in a future callback), so the order is kept while the caller is
    off the critical path: one hand-over per actor instead of a round trip
    through the caller.
    """

    def __init__(self, refs: list[ActorRef[Any]]) -> None:
        self._refs = refs
        self._next = 0
        # started[i] gets what refs[i].stop(block=False) returned, once called:
        # a future of bool (or whatever a test double's stop() returns).
        self.started: list[Future[Any]] = [SettableFuture() for _ in refs]

    def advance(self) -> None:
        # A loop, not recursion: a dead actor's stop completes at once.
        while self._next < len(self._refs):
            index = self._next
            self._next += 1
            stopped: Any = self._refs[index].stop(False)
            self.started[index].set(stopped)
            if isinstance(stopped, Future) and not stopped._is_ready():
                stopped._add_done_callback(self.advance)
                return
