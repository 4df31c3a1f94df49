"""Running an actor on an event loop, as callbacks rather than as a task.

An idle actor on an event loop costs no task and no coroutine: its inbox
schedules a drain callback when a message arrives, and the drain handles
messages one at a time, in order, with the same semantics as the blocking
driver of ``_runtimes/blocking.py``. Only a handler, hook or proxied method that
returns a coroutine (is an ``async def``) makes the actor start a task, which awaits it
and then keeps draining until the inbox is empty again. Handlers never run
concurrently: while the task runs, drain callbacks step aside.

The actor's timers are the loop's own (``call_at``), so they cost no thread
either.

This module needs only ``call_soon``, ``call_soon_threadsafe``, ``call_at``,
``time``, ``create_task`` and ``is_closed`` of an asyncio-compatible loop;
the asyncio runtime supplies the loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import sys
from collections.abc import Callable, Coroutine
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from limelight._core import _observe
from limelight._core._actor import NO_OP_ON_START, NO_OP_ON_STOP
from limelight._core._dispatch import STOP_HANDLER, UNKNOWN, handler_cache, handler_for
from limelight._core._exceptions import ActorDeadError
from limelight._core._log import logger
from limelight._core._runtime import DequeInbox
from limelight._core._wait_graph import enter_actor
from limelight._core._waiting import state_lock
from limelight._runtimes.event_loop.awaiting import actor_task
from limelight.messages import _ActorKilled

if TYPE_CHECKING:
    from limelight._core._actor import Actor
    from limelight._core._future import Future
    from limelight._core._types import Envelope

__all__ = ["LoopCall", "LoopInbox"]


_Work = Coroutine[Any, Any, None]

# Messages handled per drain before yielding to other callbacks and tasks.
BATCH = 128

_get_running_loop = asyncio._get_running_loop

# The inbox of an actor that has never been sent a message: an empty deque
# allocates a block of 64 slots (760 bytes), most of an idle actor's memory,
# so every such inbox shares this one, which put() replaces. (It is never
# appended to: maxlen 0 would silently discard.)
_NO_ITEMS: collections.deque[Envelope] = collections.deque(maxlen=0)

# LoopInbox._task while its task is being created (and may run, eagerly).
_TASK_STARTING: Any = object()


class LoopInbox(DequeInbox):
    """An actor's inbox on an event loop, and the driver of its messages.

    ``put()`` may be called from any thread; everything else runs in the
    loop's thread.
    """

    __slots__ = (
        "_actor",
        "_context",
        "_scheduled",
        "_started",
        "_task",
        "_torn_down",
        "loop",
    )

    def __init__(self, actor: Actor, loop: asyncio.AbstractEventLoop) -> None:
        self._actor = actor
        self.loop = loop
        self._items: collections.deque[Envelope] = _NO_ITEMS
        # The actor's own context, as a thread actor has its own thread's:
        # drains run in it, not in whichever sender's context scheduled them
        # (and its tasks copy it).
        self._context = contextvars.Context()
        # A drain is scheduled or running. Set by whoever schedules one and
        # cleared by the drain only once the inbox is empty; after the actor
        # has stopped it stays set, so nothing is scheduled any more. Set
        # from the start: until start() schedules the first drain, messages
        # (a broadcast to a registered actor) only queue, so that on_start()
        # runs once start() has entered the actor's context, and on the loop
        # that start() may have rebound.
        self._scheduled = True
        # The task running the actor (awaiting a coroutine of it), if one
        # is: held because a loop keeps only weak references to tasks, and
        # telling drain callbacks to step aside. (One slot for both: slots
        # are most of an idle actor's inbox.)
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self._torn_down = False

    # -- The Inbox protocol ---------------------------------------------------

    def put(self, envelope: Envelope, /) -> None:
        """Queue an envelope and make sure a drain will see it."""
        items = self._items
        if items is _NO_ITEMS:
            with state_lock:  # made once, even if two threads put at once
                if self._items is _NO_ITEMS:
                    first: collections.deque[Envelope] = collections.deque()
                    self._items = first
                items = self._items
        items.append(envelope)
        if not self._scheduled:
            self._scheduled = True
            self._schedule_drain()
        elif _get_running_loop() is not self.loop and self.loop.is_closed():
            # The loop closed with a drain (or the actor's task) pending,
            # which will never run: nothing would answer this message. (Not
            # asked on the loop itself, which runs: a call less per message
            # queued behind a drain, such as a stop right after a start.)
            self._loop_closed()
        elif self._task is not None and envelope[0].__class__ is _ActorKilled:
            # Killed while a handler awaits: the await may never end (a
            # reply that will not come), so the handler is cancelled.
            self._call_on_loop(self._cancel_task)

    def get(self) -> Envelope:
        """Not supported: an event loop's actor is driven by callbacks."""
        msg = "an event-loop actor's inbox cannot be read by blocking"
        raise TypeError(msg)

    def __len__(self) -> int:
        return len(self._items)

    def use_queue(self, items: collections.deque[Envelope]) -> None:
        """Keep envelopes in `items` (a bounded mailbox), not in a deque of its own.

        Called before the actor starts; ``put()`` appends to `items`, the
        drain pops from it.
        """
        self._items = items

    # -- Driving the actor ----------------------------------------------------

    def start(self) -> None:
        """Run on_start(), then the messages, from the loop."""
        context = self._context
        context.run(enter_actor, self._actor._actor_ref)
        loop = self.loop
        if _get_running_loop() is loop:  # (_call_on_loop(), its common case)
            loop.call_soon(self._drain, context=context)
        else:
            self._call_on_loop(self._drain)

    def _schedule_drain(self) -> None:
        self._call_on_loop(self._drain)

    def _call_on_loop(self, callback: Callable[[], object]) -> None:
        """Have the loop call `callback()` in the actor's context; from any thread."""
        loop = self.loop
        # (Whether this thread is running the loop, rather than whether it is
        # the thread that ran it when the actor started: a loop can be run by
        # one thread, then by another.)
        if _get_running_loop() is loop:
            loop.call_soon(callback, context=self._context)
            return
        try:
            loop.call_soon_threadsafe(callback, context=self._context)
        except RuntimeError:  # the only reason it raises: the loop is closed
            self._loop_closed()

    def _cancel_task(self) -> None:
        # (On the loop, so that _task is the task, not _TASK_STARTING.)
        task = self._task
        if task is not None:
            task.cancel()

    def call_later(self, delay: float, callback: Callable[[], object]) -> LoopCall:
        """Call `callback()` on the loop `delay` seconds from now; any thread."""
        loop = self.loop
        call = LoopCall(loop)
        if _get_running_loop() is loop:
            call.start(loop.time() + delay, callback)
            return call
        try:
            # (loop.time() is the loop's clock, readable from any thread.)
            loop.call_soon_threadsafe(call.start, loop.time() + delay, callback)
        except RuntimeError:  # the loop is closed: the actor can never run again
            self._loop_closed()
        return call

    def _loop_closed(self) -> None:
        """The actor's loop is closed, so nothing will ever run it: it is dead.

        Called in the sender's thread. Hooks do not run (they would have to
        run on the loop); asks still queued fail with ActorDeadError, so that
        nobody waits forever for a loop that is gone.
        """
        actor = self._actor
        logger.debug("Event loop of %s is closed: it is dead", actor)
        actor._limelight_record_exit("killed", None)
        if not actor.actor_stopped.is_set():
            actor._limelight_begin_stop()
        self._tear_down()

    def _drain(self) -> None:
        if self._task is not None:
            return  # the actor's task is running: it drains when done
        work = self._drain_step()
        if work is not None:
            # (Marked first: with an eager task factory, the task runs, and
            # may finish, inside create_task(); then it is not held.)
            self._task = _TASK_STARTING
            task = self.loop.create_task(self._run_task(work))
            if self._task is _TASK_STARTING:
                self._task = task

    async def _run_task(self, work: _Work) -> None:
        # (In this task's own context: see awaiting.actor_task.)
        actor_task.set(asyncio.current_task())
        next_work: _Work | None = work
        try:
            while next_work is not None:
                await next_work
                self._actor._limelight_current = None  # (introspection: idle again)
                next_work = self._drain_step()
        except asyncio.CancelledError:
            self._cancelled()
            raise
        finally:
            self._task = None

    def _drain_step(self) -> _Work | None:
        """Handle messages until one needs awaiting (returned) or none is left."""
        actor = self._actor
        stopped = actor.actor_stopped
        if not self._started:
            self._started = True
            on_start = actor.on_start
            if getattr(on_start, "__func__", None) is not NO_OP_ON_START:
                work = self._call_hook(on_start)
                if work is not None:
                    return work
        actor._limelight_phase = "running"  # (introspection: on_start() is over)
        items = self._items
        taken = actor._limelight_taken
        if taken is None:  # the first message: see Actor._limelight_taken
            taken = actor._limelight_taken = _observe.new_counter()
        budget = BATCH
        while not stopped._flag:
            if not items:
                self._scheduled = False
                # Re-checked, and through self: a put() may have seen
                # _scheduled still set, and may have made the first deque.
                items = self._items
                if not items:
                    return None
                self._scheduled = True
            if budget == 0:
                self.loop.call_soon(self._drain, context=self._context)
                return None
            budget -= 1
            envelope = items.popleft()
            actor._limelight_current = envelope  # (introspection: _core/_observe.py)
            next(taken)  # (introspection: one more message taken)
            message, reply_to = envelope
            work = self._handle(message, reply_to)
            if work is not None:
                return work
            actor._limelight_current = None
        self._tear_down()
        return None

    def _tear_down(self) -> None:
        # Once only, though senders that find the loop closed may race here.
        with state_lock:
            if self._torn_down:
                return
            self._torn_down = True
        self._scheduled = True  # for good: nothing needs scheduling any more
        self._actor._actor_loop_teardown()

    def _handle(self, message: Any, reply_to: Future[Any] | None) -> _Work | None:
        """Handle one message; return what is left to await, if anything."""
        actor = self._actor
        try:
            # (handler_for() inlined: this is the hot path of every message.)
            handler = handler_cache.get(message.__class__, UNKNOWN)
            if handler is UNKNOWN:
                handler = handler_for(message.__class__)
            if handler is None:
                result = actor.on_receive(message)
            elif handler is STOP_HANDLER:
                actor._limelight_begin_stop()
                if reply_to is not None:  # answered after the teardown
                    actor._limelight_stop_reply = reply_to
                on_stop = actor.on_stop
                if getattr(on_stop, "__func__", None) is NO_OP_ON_STOP:
                    return None
                return self._call_hook(on_stop)
            else:
                result = handler(actor, message)
        except Exception:  # noqa: BLE001 -- user code may raise anything
            return self._after_exception(reply_to)
        except BaseException as exc:  # noqa: BLE001 -- user code may raise anything
            return self._after_base_exception(exc, reply_to)
        if result.__class__ is CoroutineType:  # an `async def` handler's call
            return self._finish(result, reply_to)
        if reply_to is not None:
            reply_to.set(result)
        return None

    async def _finish(
        self, coroutine: Coroutine[Any, Any, Any], reply_to: Future[Any] | None
    ) -> None:
        """Await a handler's coroutine, then reply as a plain handler would."""
        try:
            result = await coroutine
        except asyncio.CancelledError:
            if reply_to is not None:
                error = ActorDeadError(
                    f"{self._actor.actor_ref} was cancelled (killed, or its "
                    "event loop shut down) while handling this message"
                )
                reply_to.set_exception(error)
            raise
        except Exception:  # noqa: BLE001 -- user code may raise anything
            work = self._after_exception(reply_to)
        except BaseException as exc:  # noqa: BLE001 -- user code may raise anything
            work = self._after_base_exception(exc, reply_to)
        else:
            if reply_to is not None:
                reply_to.set(result)
            return
        if work is not None:
            await work

    def _after_exception(self, reply_to: Future[Any] | None) -> _Work | None:
        actor = self._actor
        if actor._limelight_reply_or_crash(reply_to):
            return self._call_hook(actor.on_failure, *sys.exc_info())
        return None

    def _after_base_exception(
        self, exc: BaseException, reply_to: Future[Any] | None
    ) -> _Work | None:
        actor = self._actor
        logger.debug("%r in %s. Stopping all actors.", exc, actor)
        actor._limelight_begin_stop()
        work = self._call_hook(actor.on_stop)
        actor._limelight_stop_everything(exc, reply_to)
        return work

    def _call_hook(self, hook: Callable[..., Any], *args: Any) -> _Work | None:
        """Call a life-cycle hook; return its coroutine's wrapper if it is async."""
        actor = self._actor
        try:
            result = hook(*args)
        except Exception:  # noqa: BLE001 -- user code may raise anything
            actor._handle_failure(*sys.exc_info())
            return None
        except BaseException as exc:  # noqa: BLE001 -- user code may raise anything
            actor._limelight_hook_raised_base_exception(exc)
            return None
        if result.__class__ is CoroutineType:
            return self._await_hook(result)
        return None

    async def _await_hook(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 -- user code may raise anything
            self._actor._handle_failure(*sys.exc_info())
        except BaseException as exc:  # noqa: BLE001 -- user code may raise anything
            self._actor._limelight_hook_raised_base_exception(exc)

    def _cancelled(self) -> None:
        """The actor's task was cancelled (its loop is shutting down): it is dead."""
        actor = self._actor
        logger.debug("Task of %s was cancelled: stopping it", actor)
        actor._limelight_record_exit("killed", None)
        if not actor.actor_stopped.is_set():
            actor._limelight_begin_stop()
        self._tear_down()


class LoopCall:
    """A callback scheduled on an event loop from any thread; ``cancel()`` withdraws it.

    Scheduling and cancelling from another thread go through
    ``call_soon_threadsafe``, so they take effect in order, on the loop.
    """

    __slots__ = ("_cancelled", "_handle", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None
        self._cancelled = False

    def start(self, when: float, callback: Callable[[], object]) -> None:
        """Schedule `callback` at loop time `when`; in the loop's thread."""
        if not self._cancelled:
            self._handle = self._loop.call_at(when, callback)

    def cancel(self) -> None:
        """Withdraw the callback unless it has run; from any thread."""
        self._cancelled = True
        if _get_running_loop() is self._loop:
            self._cancel()
            return
        # (A closed loop raises RuntimeError: the callback never runs anyway.)
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._cancel)

    def _cancel(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.cancel()  # which drops the loop's reference to the callback
