"""``RayFuture``, and how Ray's replies reach Limelight futures.

A reply from a host is a Ray object. Nothing waits for it per ask: the first
``get()`` of its future reads it with ``ray.get()`` in the caller's own
thread (as a raw Ray call would); the first ``await`` or combinator asks Ray
for a callback instead, which the completions thread (`Completions`) runs.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from limelight._core import _timeouts
from limelight._core._exceptions import ActorDeadError, Timeout
from limelight._core._fork import register, released_at_fork
from limelight._core._future import _PENDING, DEADLOCK_CHECK_AFTER, SettableFuture
from limelight._core._log import logger
from limelight._core._runtime import mark_service_thread
from limelight._core._wait_graph import current_actor_weakref as _current_actor_weakref

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import Callable

__all__ = [
    "ActorUnavailableError",
    "Completions",
    "Failure",
    "Outcome",
    "RayFuture",
    "complete",
    "complete_plain",
    "from_ray",
    "get",
    "ray",
    "when_done",
]

T = TypeVar("T")

Outcome = tuple[bool, Any]
"""``(True, value)`` or ``(False, exception)``: a Ray reply, once ready."""


def ray() -> Any:
    """The ``ray`` module, imported only by programs that use Ray (typed loosely)."""
    import ray  # noqa: PLC0415 -- only with Ray

    return ray


def _ray_exceptions() -> Any:
    import ray.exceptions  # noqa: PLC0415 -- only with Ray

    return ray.exceptions


class Failure:
    """What an ask raised in the host, returned as its reply (see ``RayHost.ask()``)."""

    __slots__ = ("exception",)

    def __init__(self, exception: BaseException) -> None:
        self.exception = exception


class RayFuture(SettableFuture[T]):
    """The future of asks to a Ray actor, completed when Ray delivers the reply.

    An ordinary settable future: wait for it from any thread, await it from
    any event loop, combine it with others.
    """

    __slots__ = ("_reply", "_settle")

    def __init__(self) -> None:
        super().__init__()
        self._reply: Any = None

    def _await_reply(self, reply: Any, settle: Callable[[Outcome], None]) -> None:
        """Be completed by ``settle(outcome)`` once the Ray object `reply` is ready.

        Nothing waits for it yet: the first ``get()`` reads it with
        ``ray.get()`` in the caller's own thread (as a raw Ray call would),
        and the first ``await`` or combinator asks Ray for a callback.
        """
        self._settle = settle
        self._reply = reply

    def get(self, timeout: float | None = None) -> T:
        if timeout is not None:  # (read before Ray is asked, which refuses less)
            timeout = _timeouts.seconds(timeout)
        reply = self._reply
        if reply is not None and self._state == _PENDING:
            if _current_actor_weakref() is None:  # (a plain thread: no graph)
                if not self._fetch(reply, timeout):
                    raise Timeout(f"{timeout} seconds")
            elif self._fetch(reply, _moment(timeout)):
                pass  # (most replies come within the moment)
            else:
                # The wait lasts: an actor's, in the wait-for graph (see
                # SettableFuture.get()), until Ray's callback completes it.
                self._add_done_callback(_nothing)
        return super().get(timeout)

    def _fetch(self, reply: Any, timeout: float | None) -> bool:
        """Read the reply with ``ray.get()``; False if it did not come in time."""
        try:
            # (Ray refuses a negative timeout: a deadline passed is 0 to it.)
            value = ray().get(
                reply, timeout=None if timeout is None else max(timeout, 0.0)
            )
        except _ray_exceptions().GetTimeoutError:
            return False
        except Exception as exc:  # noqa: BLE001 -- handed on, whatever it is
            outcome: Outcome = (False, from_ray(exc))
        else:
            outcome = (True, value)
        self._settle_once(outcome)
        return True

    def _settle_once(self, outcome: Outcome) -> None:
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
            when_done(reply, self._settle_once)
        return super()._add_done_callback(callback)


def _moment(timeout: float | None) -> float:
    """How long an actor waits for a reply before its wait joins the graph."""
    return (
        DEADLOCK_CHECK_AFTER if timeout is None else min(timeout, DEADLOCK_CHECK_AFTER)
    )


def _nothing() -> None:
    """A done callback that only makes Ray's callback complete the future."""


def when_done(object_ref: Any, callback: Callable[[Outcome], None]) -> None:
    """Call ``callback((ok, value))`` once `object_ref` is ready.

    Ray calls its done callbacks in a thread of its own, which must not call
    Ray (a ``.remote()`` there can deadlock); the callback, which completes
    futures and so runs whatever waits for them, runs in the completions
    thread instead, in the order the replies arrived.
    """
    future: Any = object_ref.future()
    future.limelight_callback = callback
    # (Only C code in Ray's thread: it puts the future in the queue.)
    future.add_done_callback(Completions.replies.put)


class Completions:
    """The thread that hands Ray's replies on to Limelight futures."""

    replies: ClassVar[queue.SimpleQueue[concurrent.futures.Future[Any]]] = (
        queue.SimpleQueue()
    )
    """The futures of Ray's replies, in the order they came."""
    thread: ClassVar[threading.Thread | None] = None
    lock = released_at_fork(threading.Lock())

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
    def forget_threads_at_fork(cls) -> None:
        """In a forked child: the parent's thread is not there (one starts anew)."""
        cls.thread = None
        cls.replies = queue.SimpleQueue()

    @classmethod
    def run(cls) -> None:
        get = cls.replies.get
        while True:
            future = get()
            callback: Callable[[Outcome], None] = getattr(future, "limelight_callback")  # noqa: B009 -- set by when_done()
            try:
                value = future.result()
            except BaseException as exc:  # noqa: BLE001 -- handed on, whatever it is
                outcome: Outcome = (False, from_ray(exc))
            else:
                outcome = (True, value)
            try:
                callback(outcome)
            except Exception:
                logger.exception("Handling a reply from Ray failed")


register(Completions)


class ActorUnavailableError(ConnectionError):
    """The Ray actor hosting the actor could not be reached, for now.

    Ray raises its own ``ActorUnavailableError`` when a call could not reach
    a Ray actor that it still holds alive: the connection to it was lost
    (a network blip, a restarted proxy), and may come back. The call may or
    may not have been handled. The actor has not ended: its ref stays alive,
    and a later call may well succeed. If the Ray actor has in fact died,
    Ray says so soon after, and the ref ends as failed
    ([`ActorDeadError`][limelight.ActorDeadError]).

    Retry an ask that is safe to repeat; otherwise ask the actor what it
    did. Its ``__cause__`` is Ray's error.
    """


def from_ray(exc: BaseException) -> BaseException:
    """The exception to raise for Ray's `exc`: a dead host is a dead actor.

    A host Ray cannot reach *for now* (Ray's ``ActorUnavailableError``, a
    subclass of its ``RayActorError``) is not dead: the call failed, not
    the actor (`ActorUnavailableError`).
    """
    exceptions = _ray_exceptions()
    error: BaseException
    if isinstance(exc, exceptions.ActorUnavailableError):
        error = ActorUnavailableError(
            f"the Ray actor hosting it cannot be reached for now: {exc}"
        )
    elif isinstance(exc, exceptions.RayActorError):
        error = ActorDeadError(f"the Ray actor hosting it has died: {exc}")
    else:
        return exc
    error.__cause__ = exc
    return error


def complete(future: SettableFuture[Any], outcome: Outcome) -> None:
    """Complete an ask's future from the host's reply (or `Failure`)."""
    ok, value = outcome
    if ok and type(value) is Failure:
        ok, value = False, value.exception
    complete_plain(future, (ok, value))


def complete_plain(future: SettableFuture[Any], outcome: Outcome) -> None:
    """Complete `future` from a reply that is never a `Failure`."""
    ok, value = outcome
    if ok:
        future.set(value)
    else:
        future.set_exception(value)


def get(object_ref: Any) -> Any:
    """``ray.get()``, raising a dead host as ``ActorDeadError``."""
    future: RayFuture[Any] = RayFuture()
    future._await_reply(object_ref, lambda outcome: complete_plain(future, outcome))
    return future.get()
