"""The manual runtime: actors that run only when a test says so, in its thread.

A [`ManualActor`][limelight.testing.ManualActor] has no thread and no event
loop. Its inbox is a plain deque, and the one
[`ManualScheduler`][limelight.testing.ManualScheduler] runs the actors, one
message at a time, in the thread that asks it to: a test's own thread,
usually. The order is fixed: messages are handled in the order they were
sent, across all manual actors, and timers fire when the test moves a
virtual clock forward. The same test therefore always runs the same way.

Each step reuses the blocking driver (``_runtimes/blocking.py``): ``start()``
(``on_start()``), ``handle_envelope()`` for one message, and the actor's
``_actor_loop_teardown()``; only the *when* is the runtime's.
"""

from __future__ import annotations

import collections
import contextvars
import heapq
import itertools
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar

from limelight._core import _timeouts
from limelight._core._actor import Actor
from limelight._core._exceptions import DeadlockError, Timeout
from limelight._core._future import _PENDING, SettableFuture
from limelight._core._runtime import DequeInbox, Runtime
from limelight._core._timers import check_seconds
from limelight._core._waiting import allocate_lock
from limelight._runtimes import blocking

if TYPE_CHECKING:
    from collections.abc import Callable

    from limelight._core._types import Envelope

__all__ = [
    "ManualActor",
    "ManualFuture",
    "ManualInbox",
    "ManualRuntime",
    "ManualScheduler",
]

T = TypeVar("T")

MAX_STEPS = 100_000
"""Default bound of `run_until_idle()`: actors that never stop sending run forever."""


class ManualFuture(SettableFuture[T]):
    """The future of a [`ManualActor`][limelight.testing.ManualActor]'s ask.

    ``get()`` does not wait for another thread: it runs the manual actors
    (see [`ManualScheduler.step()`][limelight.testing.ManualScheduler.step])
    until the value is there. If every manual actor is idle and the future
    is still pending, nothing could ever complete it: ``get()`` raises
    [`DeadlockError`][limelight.DeadlockError] (or, given a `timeout`, waits
    that long for a message from another thread, then raises
    [`Timeout`][limelight.Timeout]).
    """

    __slots__ = ()

    def get(self, timeout: float | None = None) -> T:
        if timeout is not None:  # (read before the steps run, which it bounds)
            timeout = _timeouts.seconds(timeout)
        if self._state == _PENDING and self._hook is None:
            RUNTIME.scheduler._run_until_done(self, timeout)
        return super().get(timeout)


class _Call:
    """A callback due at a virtual time; ``cancel()`` withdraws it."""

    __slots__ = ("callback", "due", "seq")

    def __init__(self, due: float, seq: int, callback: Callable[[], object]) -> None:
        self.due = due
        self.seq = seq
        self.callback: Callable[[], object] | None = callback

    def __lt__(self, other: _Call) -> bool:
        # (seq breaks ties: calls due at once run in the order they were made.)
        return (self.due, self.seq) < (other.due, other.seq)

    def cancel(self) -> None:
        """Withdraw the call, unless it has run; it leaves the heap when due."""
        self.callback = None


class ManualInbox(DequeInbox):
    """A manual actor's inbox: a deque the scheduler drains, one envelope a step."""

    __slots__ = ("_actor", "_context", "_done", "_scheduler", "_started")

    def __init__(self, actor: Actor, scheduler: ManualScheduler) -> None:
        self._actor = actor
        self._scheduler = scheduler
        self._items: collections.deque[Envelope] = collections.deque()
        # The actor's own context, as a thread actor has its thread's.
        self._context = contextvars.Context()
        self._started = False
        self._done = False

    def put(self, envelope: Envelope, /) -> None:
        """Queue an envelope; the scheduler handles it in its turn. Any thread."""
        self._items.append(envelope)
        self._scheduler._ready(self)

    def get(self) -> Envelope:
        """Not supported: the scheduler takes envelopes, one a step."""
        msg = "a manual actor's inbox is drained by its scheduler, not by blocking"
        raise TypeError(msg)

    def use_queue(self, items: collections.deque[Envelope]) -> None:
        """Keep envelopes in `items` (a bounded mailbox); before the actor starts."""
        self._items = items

    def _has_work(self) -> bool:
        return not self._done and (not self._started or bool(self._items))

    def _run_one(self) -> None:
        """Start the actor, or handle its oldest envelope: one step."""
        actor = self._actor
        if not self._started:
            self._started = True
            if not blocking.start(actor):
                actor._actor_loop_teardown()
        elif actor.actor_stopped._flag:
            # Killed (or crashed) while messages waited: they are not handled.
            actor._actor_loop_teardown()
        elif not blocking.handle_envelope(actor, self._items.popleft()):
            actor._actor_loop_teardown()


class ManualScheduler:
    """Runs [`ManualActor`][limelight.testing.ManualActor]s when told, and their clock.

    There is one, [`limelight.testing.scheduler`][limelight.testing.scheduler].
    Every message sent to a manual actor (and every actor started) queues
    one step; steps run in the order they were queued, so messages are
    handled in the order they were sent, across all manual actors. Nothing
    runs on its own: call [`step()`][limelight.testing.ManualScheduler.step],
    [`run_until_idle()`][limelight.testing.ManualScheduler.run_until_idle]
    or [`advance()`][limelight.testing.ManualScheduler.advance], or
    ``get()`` a manual actor's future, which runs steps until it is done.

    Timers (``send_after()``, ``send_every()``) run on a virtual clock that
    starts at 0 and moves only with
    [`advance()`][limelight.testing.ManualScheduler.advance], so a test of
    an hour-long timeout takes no time at all.

    Steps run in whichever thread calls, one at a time (a lock makes other
    threads wait). A handler that blocks on another manual actor's future
    runs steps itself, skipping the actors that are busy, as itself.
    """

    def __init__(self) -> None:
        # Held while a step runs: one actor at a time, whichever thread steps.
        self._stepping = threading.RLock()
        # Guards the queue of steps and the timers; notified when work arrives.
        self._changed = threading.Condition(allocate_lock())
        self._queue: collections.deque[ManualInbox] = collections.deque()
        self._running: set[ManualInbox] = set()
        self._timers: list[_Call] = []
        self._seq = itertools.count()
        self._now = 0.0

    @property
    def time(self) -> float:
        """The virtual clock: seconds advanced since the program started."""
        return self._now

    def monotonic(self) -> float:
        """The virtual clock, for the core's timers (as ``time.monotonic()``)."""
        return self._now

    def pending(self) -> int:
        """How many steps are queued (stale ones, of stopped actors, included)."""
        with self._changed:
            return len(self._queue)

    def pending_timers(self) -> int:
        """How many timer calls wait for the virtual clock (cancelled ones excluded)."""
        with self._changed:
            return sum(1 for call in self._timers if call.callback is not None)

    def step(self) -> bool:
        """Run one step: start one actor, or handle one message.

        Timers due at the current virtual time fire first (their messages
        queue behind those already queued).

        Returns:
            Whether there was a step to run (`False`: all idle).
        """
        with self._stepping:
            self._fire_due_timers(self._now)
            inbox = self._take()
            if inbox is None:
                return False
            self._running.add(inbox)
            try:
                inbox._context.run(inbox._run_one)
            finally:
                self._running.discard(inbox)
            return True

    def run_until_idle(self, max_steps: int = MAX_STEPS) -> int:
        """Run steps until no actor has anything to do.

        Args:
            max_steps: how many steps to allow before giving up.

        Returns:
            How many steps ran.

        Raises:
            RuntimeError: after `max_steps` steps, when actors still keep
                each other busy (one that sends itself a message for every
                message it handles never becomes idle).
        """
        steps = 0
        while self.step():
            steps += 1
            if steps >= max_steps:
                msg = (
                    f"manual actors were still busy after {max_steps} steps: "
                    "one probably sends a message for every message it handles; "
                    "use step() to run a few steps, or raise max_steps"
                )
                raise RuntimeError(msg)
        return steps

    def advance(self, seconds: float) -> int:
        """Move the virtual clock forward, running everything that falls due.

        Runs until idle first; then fires each timer due within `seconds`,
        in order of due time, each at its own virtual time and followed by
        everything it sets off; then sets the clock to the end.

        Args:
            seconds: how far to move the clock; ``0`` fires what is due now.

        Returns:
            How many steps ran.

        Raises:
            ValueError: if `seconds` is negative, infinite or NaN (the
                clock only goes forward).
            TypeError: if `seconds` is not a number.
        """
        seconds = check_seconds(seconds, "seconds", zero_ok=True)
        with self._stepping:
            end = self._now + seconds
            steps = self.run_until_idle()
            while (due := self._next_due(end)) is not None:
                self._now = max(self._now, due)
                steps += self.run_until_idle()
            self._now = end
            return steps + self.run_until_idle()

    # -- For the runtime ------------------------------------------------------

    def _ready(self, inbox: ManualInbox) -> None:
        with self._changed:
            self._queue.append(inbox)
            self._changed.notify_all()

    def _call_later(self, delay: float, callback: Callable[[], object]) -> _Call:
        call = _Call(self._now + delay, next(self._seq), callback)
        with self._changed:
            heapq.heappush(self._timers, call)
        return call

    def _take(self) -> ManualInbox | None:
        """Take the first queued step of an actor that is not busy; None if none."""
        with self._changed:
            queue_ = self._queue
            index = 0
            while index < len(queue_):
                inbox = queue_[index]
                if inbox in self._running:
                    index += 1  # busy higher up this thread's stack: later
                    continue
                del queue_[index]
                if inbox._has_work():
                    return inbox
            return None

    def _next_due(self, end: float) -> float | None:
        """The due time of the first live timer due by `end`, or None."""
        with self._changed:
            timers = self._timers
            while timers and timers[0].callback is None:
                heapq.heappop(timers)
            if timers and timers[0].due <= end:
                return timers[0].due
            return None

    def _fire_due_timers(self, now: float) -> None:
        while True:
            with self._changed:
                timers = self._timers
                if not timers or timers[0].due > now:
                    return
                call = heapq.heappop(timers)
                callback, call.callback = call.callback, None
            if callback is not None:
                callback()

    def _run_until_done(self, future: ManualFuture[Any], timeout: float | None) -> None:
        """Run steps until `future` is done; see ``ManualFuture.get()``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not future._is_ready():
            if self.step():
                continue
            if deadline is None:
                raise DeadlockError(self._idle_message(future))
            # Idle: only another thread can help now, with a message.
            future._add_done_callback(self._wake)
            with self._changed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Timeout(f"{timeout} seconds")
                # (Work or the value may have come since the step: no wait.)
                if not self._queue and not future._is_ready():  # pragma: no branch
                    self._changed.wait(remaining)

    def _wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _idle_message(self, future: ManualFuture[Any]) -> str:
        producer = getattr(future, "_producer", None)
        whose = "" if producer is None else f" (the reply of {producer})"
        busy = ", ".join(sorted(str(inbox._actor) for inbox in self._running))
        waiting = (
            f"; {busy} cannot run: it is busy handling the message that waits"
            if busy
            else ""
        )
        timers = self.pending_timers()
        hint = (
            f"; {timers} timer(s) wait for the virtual clock: call "
            "limelight.testing.scheduler.advance(seconds) first if the reply "
            "depends on one"
            if timers
            else ""
        )
        return (
            f"get() on {future!r}{whose} would wait forever: every manual actor "
            f"is idle at virtual time {self._now:g} s{waiting}{hint}. Check that "
            "the message is answered, or pass a timeout to get()"
        )


class ManualRuntime(Runtime):
    """The runtime of [`ManualActor`][limelight.testing.ManualActor]."""

    name = "manual"

    def __init__(self) -> None:
        self.scheduler = ManualScheduler()

    def future_factory(self, actor: Actor) -> type[ManualFuture[Any]]:
        return ManualFuture

    def create_inbox(self, actor: Actor) -> ManualInbox:
        return ManualInbox(actor, self.scheduler)

    def start(self, actor: Actor) -> None:
        self.scheduler._ready(_inbox_of(actor))  # its first step: on_start()

    def release(self, actor: Actor) -> None:
        _inbox_of(actor)._done = True

    def call_later(
        self, actor: Actor, delay: float, callback: Callable[[], object]
    ) -> _Call:
        return self.scheduler._call_later(delay, callback)

    def monotonic(self) -> float:
        """The virtual clock, which the core's timers count on."""
        return self.scheduler.monotonic()


def _inbox_of(actor: Actor) -> ManualInbox:
    inbox = actor.actor_inbox
    assert isinstance(inbox, ManualInbox)  # (it offers use_queue(): never wrapped)
    return inbox


RUNTIME = ManualRuntime()


class ManualActor(Actor):
    """An actor that runs only when the test says so, in the test's thread.

    For unit tests of an actor's logic: subclass it instead of
    [`ThreadingActor`][limelight.ThreadingActor] (or make a test subclass
    of your actor with it), start it as usual, then let
    [`limelight.testing.scheduler`][limelight.testing.scheduler] run it:

    ```python
    from limelight.testing import ManualActor, scheduler

    class Counter(ManualActor):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def on_receive(self, message: Any) -> Any:
            self.count += 1
            return self.count

    ref = Counter.start()
    ref.tell("+1")
    assert ref.ask("+1") == 2   # runs both messages, in order, right here
    ```

    Everything else is as for any actor: stop, kill, crashes, watches,
    links, timers (on the virtual clock), proxies. Manual actors are meant
    to run with each other, not with actors of other runtimes: a thread
    actor may send them messages, but nothing runs them until the test
    steps, so the order is no longer fixed.
    """

    _limelight_runtime = RUNTIME
