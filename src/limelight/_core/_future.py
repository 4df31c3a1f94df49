"""Futures: handles to values that are available now or later.

:class:`Future` is the interface (Pykka's): ``get()``, ``set()``,
``set_exception()``, ``set_get_hook()``, the combinators and ``await``.
:class:`SettableFuture` holds all the semantics of a future that is completed
by ``set()``/``set_exception()``; every runtime's future is a thin subclass of
it. How a caller *blocks* is decided by the caller's context, not by the
future (see :mod:`limelight._core._waiting`), so a thread can wait for an
asyncio actor's future and a coroutine can await a thread actor's future.
"""

from __future__ import annotations

import _thread
import contextlib
import functools
import queue
import sys
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from limelight._core import _awaiting, _timeouts, _wait_graph, _waiting
from limelight._core._exceptions import Timeout
from limelight._core._log import logger

if TYPE_CHECKING:
    import weakref

    from limelight._core._actor import Actor
    from limelight._core._ref import ActorRef
    from limelight._core._types import ExcInfo, OptExcInfo

__all__ = ["Future", "GetHookFunc", "SettableFuture", "get_all"]


T = TypeVar("T")
J = TypeVar("J")  # item type, when T is Iterable[J]
M = TypeVar("M")  # result of map()
R = TypeVar("R")  # result of reduce()

GetHookFunc = Callable[[float | None], T]
"""A function computing a future's value on ``get()``; it gets the timeout."""

DoneCallback = Callable[[], None]

DEADLOCK_CHECK_AFTER = 0.005
"""Seconds an actor waits for a reply before checking the wait for a deadlock."""

CONFIRM_CYCLE_AFTER = 0.1
"""Seconds a wait that closes a cycle through another process's wait waits on.

Long enough for the end of that wait, if it has ended, to arrive (see
``_wait_graph.begin_wait()``); the cycle is refused only if it still holds.
"""

_state_lock = _waiting.state_lock
_allocate_lock = _waiting.allocate_lock
_waiter_factories = _waiting.waiter_factories
_context_waiter = _waiting.context_waiter
_current_actor_weakref = _wait_graph.current_actor_weakref
_seconds = _timeouts.seconds


_UNSET: Any = object()  # no value yet (None is a value)


class _Unclaimed:
    """The first item of a pending future's callback list: see SettableFuture."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unclaimed>"

    def __reduce__(self) -> str:
        # By name, so that a pickled or deep-copied future is still settable.
        return "_UNCLAIMED"


_UNCLAIMED: Any = _Unclaimed()

# Why a second set() or set_exception() is refused.
_SET_ONCE = "a future can be set only once"

# The class of the locks threads wait on: what _allocate_lock() makes (in a
# program monkey-patched before import, that may not be _thread.LockType).
_LockType = type(_allocate_lock())

# Held OS locks that threads waited on, kept for the next thread's wait: a
# lock is made and freed at the cost of a third of a thread ask. Only a lock
# whose wait ended by being woken comes back (nothing can release it again);
# there are as many as threads ever waited at once.
_spare_locks: list[_thread.LockType] = []


class Future(Generic[T]):
    """A handle to a value which is available now or in the future.

    Actor methods called through a proxy and
    [`ActorRef.ask(block=False)`][limelight.ActorRef.ask] return futures.
    Call [`get()`][limelight.Future.get] to wait for the value, or ``await``
    the future from a coroutine: awaiting never blocks the event loop,
    whichever runtime produces the value.

    ``Future`` itself is the interface; the futures you get from actors are
    instances of a runtime's subclass, such as
    [`ThreadingFuture`][limelight.ThreadingFuture].
    """

    # "__dict__": made only on first use, for tests that patch a future's
    # methods (mock.patch.object(future, "get")), as they may on Pykka.
    __slots__ = ("__dict__", "__weakref__", "_hook")

    _hook: _GetHook[T] | None

    def __init__(self) -> None:
        self._hook = None

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"

    def get(self, timeout: float | None = None) -> T:
        """Return the value, blocking until it is available.

        If the value is an exception, it is raised instead, with the
        traceback from where it was first raised (for example inside the
        actor) kept.

        The value can be read any number of times; only the first call
        blocks.

        Args:
            timeout: seconds to wait; `None` (or infinity) waits forever,
                and a negative number as 0: the value, if it is there now.

        Raises:
            Timeout: if the value did not arrive within `timeout` seconds.
            TypeError: if `timeout` is not a number (nor `None`).
            ValueError: if `timeout` is NaN.
            Exception: the exception the future was completed with.
        """
        if timeout is not None:
            timeout = _seconds(timeout)
        if self._hook is not None:
            return self._hook.run(timeout)
        msg = (
            f"{self.__class__.__name__} does not implement get(); use a "
            "runtime's future such as ThreadingFuture"
        )
        raise NotImplementedError(msg)

    def set(self, value: T | None = None) -> None:
        """Complete the future with `value`.

        Raises:
            queue.Full: if the future is already completed or has a get hook.
        """
        msg = (
            f"{self.__class__.__name__} does not implement set(); use a "
            "runtime's future such as ThreadingFuture"
        )
        raise NotImplementedError(msg)

    def set_exception(self, exc_info: OptExcInfo | BaseException | None = None) -> None:
        """Complete the future with an exception.

        Args:
            exc_info: a ``sys.exc_info()`` triple or an exception instance.
                By default, the exception being handled right now, so that
                calling ``set_exception()`` in an ``except`` block does the
                right thing.

        Raises:
            queue.Full: if the future is already completed or has a get hook.
        """
        msg = (
            f"{self.__class__.__name__} does not implement set_exception(); use "
            "a runtime's future such as ThreadingFuture"
        )
        raise NotImplementedError(msg)

    def set_get_hook(self, func: GetHookFunc[T]) -> None:
        """Compute the value with `func` when ``get()`` is first called.

        `func` receives the timeout passed to ``get()``. Its return value (or
        exception) is what ``get()`` returns (or raises); a successful result
        is computed once and reused.

        Raises:
            queue.Full: if the future is already completed.
        """
        self._hook = _GetHook(func)

    # -- Readiness, for await and combinators -------------------------------

    def _is_ready(self) -> bool:
        """Whether get() would return without blocking."""
        return self._hook is not None and self._hook.is_ready()

    def _add_done_callback(self, callback: DoneCallback) -> bool:
        """Call `callback()` once get() would not block; False if unknowable.

        The callback runs in the thread that completes the future, or right
        away if it is ready now.
        """
        return self._hook is not None and self._hook.add_done_callback(callback)

    def _remove_done_callback(self, callback: DoneCallback) -> None:
        """Forget a callback that is no longer wanted (best effort)."""

    # -- Combinators ---------------------------------------------------------

    def _derive(
        self, hook: GetHookFunc[M], sources: tuple[Future[Any], ...]
    ) -> Future[M]:
        # (Typed through Any, not cast(): no call at run time.)
        made: Any = self.__class__()
        made.set_get_hook(hook)
        made._hook.sources = sources
        future: Future[M] = made
        return future

    def filter(
        self: Future[Iterable[J]], func: Callable[[J], bool]
    ) -> Future[Iterable[J]]:
        """Return a future of a list of the items for which `func(item)` is true.

        The value must be iterable; if it is not, ``get()`` on the new future
        raises `TypeError`. `func` runs in the thread that calls ``get()``.

        Example:
            ```python
            >>> f = limelight.ThreadingFuture()
            >>> g = f.filter(lambda x: x > 10)
            >>> f.set(range(5, 15))
            >>> g.get()
            [11, 12, 13, 14]
            ```
        """
        return self._derive(
            lambda timeout: list(filter(func, self.get(timeout=timeout))), (self,)
        )

    def join(self: Future[Any], *futures: Future[Any]) -> Future[Iterable[Any]]:
        """Return a future of a list of this future's and `futures`' values.

        Example:
            ```python
            >>> f1, f2 = limelight.ThreadingFuture(), limelight.ThreadingFuture()
            >>> f = f1.join(f2)
            >>> f1.set("abc"); f2.set(123)
            >>> f.get()
            ['abc', 123]
            ```
        """
        everything = (self, *futures)
        _check_futures("join()", everything)
        return self._derive(
            lambda timeout: list(get_all(everything, timeout=timeout)), everything
        )

    def map(self, func: Callable[[T], M]) -> Future[M]:
        """Return a future of `func(value)`.

        The whole value is passed to `func`, even when it is iterable. `func`
        runs in the thread that calls ``get()`` (or the coroutine that awaits).

        Example:
            ```python
            >>> f = limelight.ThreadingFuture()
            >>> g = f.map(lambda x: x + 10)
            >>> f.set(30)
            >>> g.get()
            40
            ```
        """
        return self._derive(lambda timeout: func(self.get(timeout=timeout)), (self,))

    def reduce(
        self: Future[Iterable[J]], func: Callable[[R, J], R], *args: R
    ) -> Future[R]:
        """Return a future of the value's items folded with `func`, from the left.

        Like ``functools.reduce()``: an optional second
        argument is the initial value, which is also the result for an empty
        iterable.

        Example:
            ```python
            >>> f = limelight.ThreadingFuture()
            >>> g = f.reduce(lambda x, y: x + y, 5)
            >>> f.set([1, 2, 3])
            >>> g.get()
            11
            ```
        """
        return self._derive(
            lambda timeout: functools.reduce(func, self.get(timeout=timeout), *args),
            (self,),
        )

    # -- await ----------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, T]:
        """Wait for the value without blocking the event loop."""
        if not self._is_ready():
            waiting = _awaiting.waiting_for(self)
            if waiting is None:  # not on an event loop: get() waits
                yield None
            elif not (yield from waiting):
                # Readiness cannot be observed (a get hook of unknown
                # sources): compute the value off the event loop.
                return cast("T", (yield from _awaiting.get_off_loop(self)))
        return self.get()

    __iter__ = __await__


_PENDING = 0
_DONE = 1
_FAILED = 2


class SettableFuture(Future[T]):
    """A future completed by ``set()`` or ``set_exception()``: all runtimes' base.

    Completion is thread-safe and wakes every waiter, whatever kind of
    context each waits in.

    It takes no lock. Every waiter, a thread's OS lock included, is a
    callback in one list, ``_callbacks``, whose first item is a token,
    ``_UNCLAIMED``, until the future is completed; and a list's ``remove()``,
    ``append()`` and ``pop()`` are atomic (under the GIL, and by the list's
    own lock without it):

    - the one ``set()``, ``set_exception()`` or ``set_get_hook()`` that
      removes the token may complete the future; any other finds no token
      and raises ``queue.Full``;
    - completion writes the state, then takes the callbacks out of the list
      one ``pop(0)`` at a time and calls them; a callback is added by
      appending it, then reading the state: if the future was completed
      meanwhile, the adder takes them out too. One of the two sees the
      other's write, and ``pop()`` gives each callback to one of them, so
      every callback is called once.

    (A ``with`` on one shared lock, as before, cost some 1,500 instructions
    per completion and per wait: a quarter of a thread ask.)
    """

    __slots__ = ("_callbacks", "_producer", "_result", "_state")

    _state: int  # _PENDING, _DONE or _FAILED
    _result: Any  # the value, or the ExcInfo when failed
    # [_UNCLAIMED, callbacks...] while pending; what is left once completed.
    _callbacks: list[Any]
    # The actor that completes the future, for deadlock detection: set by
    # ActorRef.ask() only, and deliberately not by __init__() (one store per
    # ask, not two), so read it with getattr() and a default of None.
    _producer: ActorRef[Any]

    def __init__(self) -> None:
        # Future.__init__ inlined: a future is built for every ask.
        self._hook = None
        self._state = _PENDING
        self._callbacks = [_UNCLAIMED]

    def __repr__(self) -> str:
        if self._state == _PENDING:
            state = "pending" if self._hook is None else "lazy"
        else:
            state = "done" if self._state == _DONE else "failed"
        return f"<{self.__class__.__name__} {state}>"

    def get(self, timeout: float | None = None) -> T:
        if timeout is not None:  # (checked even when the value is there)
            timeout = _seconds(timeout)
        if self._state == _PENDING:
            if self._hook is not None:
                return self._hook.run(timeout)
            # (A plain thread is no actor: one context variable read, no more.)
            in_actor = _current_actor_weakref()
            if in_actor is not None:
                self._wait_as(in_actor, timeout)
            elif not self._wait_for(timeout):  # (self._wait(), written out)
                raise Timeout(f"{timeout} seconds")
        if self._state == _DONE:
            result: T = self._result  # (typed, not cast(): a call less)
            return result
        exc_info: ExcInfo = self._result
        raise exc_info[1].with_traceback(exc_info[2])

    def _wait_as(self, in_actor: weakref.ref[Actor], timeout: float | None) -> None:
        """Wait in an actor: record its wait, unless that closes a cycle.

        An actor blocked on another actor's reply is an edge of the wait-for
        graph, checked for a cycle before it blocks (see ``_wait_graph``).
        Most replies come within microseconds, so the actor first waits for
        a moment without recording anything; only a longer wait pays for
        the bookkeeping, and a deadlock is reported after that moment.
        """
        producer: ActorRef[Any] | None = getattr(self, "_producer", None)
        if producer is None:  # (not an ask's future: nobody knows who sets it)
            self._wait(timeout)
            return
        if timeout is None or timeout > DEADLOCK_CHECK_AFTER:
            if self._wait_for(DEADLOCK_CHECK_AFTER):
                return
            if timeout is not None:
                timeout -= DEADLOCK_CHECK_AFTER
        # (None in a thread that copied a since collected actor's context.)
        waiter = _wait_graph.ref_of(in_actor)
        if waiter is None:
            self._wait(timeout)
        else:
            self._wait_recorded(waiter, producer, timeout)

    def _wait_recorded(
        self, waiter: ActorRef[Any], producer: ActorRef[Any], timeout: float | None
    ) -> None:
        """Wait as `waiter`, recorded in the graph (and reported, if kept elsewhere)."""
        confirm = _wait_graph.begin_wait(waiter, producer, self)
        try:
            if confirm is None:  # (the report, once the wait has lasted)
                confirm = _wait_graph.report(waiter, producer, self)
            if confirm is not None:
                timeout = self._confirm(confirm, timeout)
            self._wait(timeout)
        finally:
            _wait_graph.end_wait(waiter, self)

    def _confirm(
        self, confirm: _wait_graph.Confirm, timeout: float | None
    ) -> float | None:
        """Wait a moment for the value; if none comes, raise the deadlock if it holds.

        The wait closed a cycle through a wait of another process, which may
        have ended there already (see ``_wait_graph.begin_wait()``). Returns
        what is left of `timeout`.
        """
        moment = (
            CONFIRM_CYCLE_AFTER
            if timeout is None
            else min(timeout, CONFIRM_CYCLE_AFTER)
        )
        if self._wait_for(moment):
            return timeout
        error = confirm()
        if error is not None:
            raise error
        return None if timeout is None else timeout - moment

    def _wait(self, timeout: float | None) -> None:
        if not self._wait_for(timeout):
            raise Timeout(f"{timeout} seconds")

    def _wait_for(self, timeout: float | None) -> bool:
        """Block until the future is completed or `timeout` passed; say which."""
        if _waiter_factories:  # (a greenlet, say, must not block its thread)
            waiter = _context_waiter()
            if waiter is not None:
                return self._wait_with(waiter, timeout)
        # (_wait_with() a held OS lock, written out: acquiring one is the
        # cheapest way for a thread to wait for another. The lock itself is
        # the callback, which completion releases: a bound method would be
        # made and freed per wait.)
        try:
            lock = _spare_locks.pop()
        except IndexError:
            lock = _allocate_lock()
            lock.acquire()
        callbacks = self._callbacks
        callbacks.append(lock)
        if self._state != _PENDING:  # (completed meanwhile: see the class)
            return True  # (and the lock may yet be released: not kept)
        # (Without arguments when there is no timeout: parsing them is a
        # tenth of the wait's cost.)
        if lock.acquire() if timeout is None else lock.acquire(True, max(timeout, 0.0)):
            _spare_locks.append(lock)  # (held again, and released by nobody)
            return True
        with contextlib.suppress(ValueError):  # (taken, if completed meanwhile)
            callbacks.remove(lock)
        return self._is_ready()  # (it may have completed at the deadline)

    def _wait_with(self, waiter: _waiting.Waiter, timeout: float | None) -> bool:
        """Wait with `waiter`, a runtime's for the caller's context (see _waiting)."""
        wake = waiter.release
        self._add_done_callback(wake)  # (no get hook here: always registers)
        if waiter.acquire(True, -1 if timeout is None else max(timeout, 0.0)):
            return True
        self._remove_done_callback(wake)
        return self._is_ready()

    def _claim(self, refusal: str) -> list[Any]:
        """Take the claim token (see the class); return the callbacks to call.

        Raises:
            queue.Full: saying `refusal`, if another call took it.
        """
        callbacks = self._callbacks
        try:
            callbacks.remove(_UNCLAIMED)
        except ValueError:
            raise queue.Full(f"{self!r} is already completed; {refusal}") from None
        return callbacks

    def set(self, value: T | None = None) -> None:
        # (self._claim(_SET_ONCE), written out: set() answers every ask.)
        callbacks = self._callbacks
        try:
            callbacks.remove(_UNCLAIMED)
        except ValueError:
            raise queue.Full(f"{self!r} is already completed; {_SET_ONCE}") from None
        self._result = value
        self._state = _DONE
        if callbacks:
            # (A thread ask's one callback, the lock of the thread that
            # waits, taken out here: _run_callbacks() is a call more.)
            try:
                callback = callbacks.pop(0)
            except IndexError:  # another thread took it
                return
            if callback.__class__ is _LockType:
                callback.release()
            else:
                # (_run_callback(), written out: a call less for every
                # await, and every wait of a greenlet.)
                try:
                    callback()
                except Exception:
                    logger.exception("Future callback %r failed", callback)
            if callbacks:
                _run_callbacks(callbacks)

    def set_exception(self, exc_info: OptExcInfo | BaseException | None = None) -> None:
        exc_info = _normalize_exc_info(exc_info)
        callbacks = self._claim(_SET_ONCE)
        self._result = exc_info
        self._state = _FAILED
        _run_callbacks(callbacks)

    def set_get_hook(self, func: GetHookFunc[T]) -> None:
        # The claim, as a completion's: set() cannot complete a future with
        # a get hook.
        self._claim("it cannot get a get hook")
        super().set_get_hook(func)

    def _is_ready(self) -> bool:
        # (Future._is_ready() written out: a call less for every pending await.)
        return self._state != _PENDING or (
            self._hook is not None and self._hook.is_ready()
        )

    def __await__(self) -> Generator[Any, None, T]:
        # Future.__await__() with the state read here, not through
        # _is_ready() and get() (four calls of an asyncio ask's forty). Every
        # runtime's get() does its own work only while the future is pending.
        if self._state == _PENDING:
            if self._hook is not None:
                return (yield from super().__await__())
            waiting = _awaiting.waiting_for(self)
            if waiting is None:  # not on an event loop: get() waits
                yield None
                return self.get()
            # (Readiness is always known without a hook: no False to handle.)
            yield from waiting
        if self._state == _DONE:
            result: T = self._result
            return result
        exc_info: ExcInfo = self._result
        raise exc_info[1].with_traceback(exc_info[2])

    __iter__ = __await__

    def _add_done_callback(self, callback: DoneCallback) -> bool:
        if self._hook is not None:
            return super()._add_done_callback(callback)
        if self._state != _PENDING:
            callback()
            return True
        callbacks = self._callbacks
        callbacks.append(callback)
        if self._state != _PENDING:  # completed meanwhile: see the class
            _run_callbacks(callbacks)
        return True

    def _remove_done_callback(self, callback: DoneCallback) -> None:
        # (Gone already if completion took it: it is being called.)
        with contextlib.suppress(ValueError):
            self._callbacks.remove(callback)


class _GetHook(Generic[T]):
    """A get hook, its cached result, and what it is known to read from."""

    __slots__ = ("func", "lock", "result", "sources")

    def __init__(self, func: GetHookFunc[T]) -> None:
        self.func = func
        self.result: T = _UNSET
        # Serializes getters, so that the hook runs once however many call.
        self.lock = _allocate_lock()
        # The futures the hook reads, when known: once they are all ready
        # the hook can run without blocking, which makes it awaitable.
        self.sources: tuple[Future[Any], ...] | None = None

    def run(self, timeout: float | None) -> T:
        deadline = _timeouts.deadline(timeout)
        if not self.lock.acquire(True, -1 if timeout is None else max(timeout, 0.0)):
            raise Timeout(f"{timeout} seconds")
        try:
            if self.result is _UNSET:
                self.result = self.func(_timeouts.remaining(deadline))
            return self.result
        finally:
            self.lock.release()

    def is_ready(self) -> bool:
        if self.result is not _UNSET:
            return True
        sources = self.sources
        if sources is None:
            return False
        if len(sources) == 1:  # (most derived futures: no generator)
            return sources[0]._is_ready()
        return all(s._is_ready() for s in sources)

    def add_done_callback(self, callback: DoneCallback) -> bool:
        sources = self.sources
        if sources is None:
            if self.result is _UNSET:
                return False
            callback()
            return True
        if len(sources) == 1:  # (most derived futures: nothing to count)
            return sources[0]._add_done_callback(callback)
        pending = [len(sources)]

        def source_done() -> None:
            with _state_lock:
                pending[0] -= 1
                last = pending[0] == 0
            if last:
                callback()

        # (Never empty: a derived future reads at least the future it came from.)
        return all(source._add_done_callback(source_done) for source in sources)


def _run_callbacks(callbacks: list[Any]) -> None:
    """Take the callbacks of a completed future out of `callbacks` and call them.

    Another thread may be doing the same (see ``SettableFuture``): each
    callback goes to one of them, in the order they were added.
    """
    while callbacks:
        try:
            callback = callbacks.pop(0)
        except IndexError:  # another thread took the last one
            return
        if callback.__class__ is _LockType:  # a waiting thread's (see _wait_for())
            callback.release()
        else:
            _run_callback(callback)


def _run_callback(callback: DoneCallback) -> None:
    try:
        callback()
    except Exception:
        logger.exception("Future callback %r failed", callback)


def _normalize_exc_info(exc_info: OptExcInfo | BaseException | None) -> ExcInfo:
    if exc_info is None:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        return (type(exc_info), exc_info, exc_info.__traceback__)
    exc_type, exc_value, traceback = exc_info
    if exc_type is None:
        msg = (
            "set_exception() needs an exception: call it inside an except "
            "block, or pass an exception or a sys.exc_info() triple"
        )
        raise TypeError(msg)
    if exc_value is None:
        exc_value = exc_type()
    return (exc_type, exc_value, traceback)


def get_all(
    futures: Iterable[Future[T]], *, timeout: float | None = None
) -> Iterable[T]:
    """Return the values of all `futures`, in order, waiting for each.

    Args:
        futures: the futures to read.
        timeout: seconds to wait for *each* of them, as on Pykka (so the
            whole call may take longer); `None` waits forever.

    Raises:
        Timeout: if a value did not arrive within `timeout` seconds of
            starting to wait for it.
        TypeError: if an item of `futures` is not a future, or `timeout` is
            not a number (nor `None`); before waiting for any.
        ValueError: if `timeout` is NaN.
    """
    if timeout is not None:
        timeout = _seconds(timeout)
    if isinstance(futures, Future):  # (iterable, for `yield from`: not a list)
        msg = "get_all() takes an iterable of futures, not a future: get_all([future])"
        raise TypeError(msg)
    futures = list(futures)
    _check_futures("get_all()", futures)
    # By keyword: a Future subclass may take `timeout` only so, as on Pykka.
    return [future.get(timeout=timeout) for future in futures]


def _check_futures(caller: str, futures: Iterable[object]) -> None:
    """Refuse what is not a future, before waiting for any of `futures`.

    An object with a ``get()`` method passes, as on Pykka, which asks no
    more of a future there (a test double, say).
    """
    for index, future in enumerate(futures):
        if not isinstance(future, Future) and not callable(
            getattr(future, "get", None)
        ):
            msg = (
                f"{caller} takes futures, but item {index} is "
                f"{future!r} ({type(future).__name__}), not a future"
            )
            raise TypeError(msg)
