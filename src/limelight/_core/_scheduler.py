"""One thread that calls callbacks when they are due, for any number of timers.

Timers must not cost a thread each: a runtime without an event loop of its
own (threads now, processes later) hands its timers to a :class:`Scheduler`,
which keeps them in a heap ordered by due time and waits, in one thread, for
the earliest. The thread starts with the first timer and ends once no timer
has been pending for `keep_alive` seconds; the next timer starts it again.

Callbacks run in the scheduler's thread, one after the other, so they must
be quick and must not block: a timer's callback only puts a message in an
inbox.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

from limelight._core import _fork
from limelight._core._log import logger
from limelight._core._runtime import mark_service_thread
from limelight._core._waiting import allocate_lock

__all__ = ["THREAD_NAME", "ScheduledCall", "Scheduler"]


THREAD_NAME = "limelight-timers"
"""The name of a scheduler's thread."""

# Cancelled calls stay in the heap until they come up (removing one from the
# middle of a heap costs a scan); the heap is rebuilt without them once they
# are this many and more than half of it, so that long timers cancelled early
# cannot pile up.
_COMPACT_AT = 64


class ScheduledCall:
    """A callback waiting in a :class:`Scheduler`; ``cancel()`` withdraws it."""

    __slots__ = ("_scheduler", "callback", "due", "seq")

    def __init__(
        self,
        scheduler: Scheduler,
        due: float,
        seq: int,
        callback: Callable[[], object],
    ) -> None:
        self._scheduler = scheduler
        self.due = due
        self.seq = seq
        # None once called or cancelled: the heap then holds no reference to
        # the callback, nor through it to an actor.
        self.callback: Callable[[], object] | None = callback

    def __lt__(self, other: ScheduledCall) -> bool:
        # (seq breaks ties, so that calls due at once run in the order made.)
        return (self.due, self.seq) < (other.due, other.seq)

    def cancel(self) -> None:
        """Withdraw the call, unless it is already running or done; any thread."""
        self._scheduler._cancel(self)


class Scheduler:
    """Calls callbacks at their due times, in one lazily started daemon thread."""

    def __init__(self, *, keep_alive: float = 2.0) -> None:
        self.keep_alive = keep_alive
        self._wake = threading.Condition(allocate_lock())
        self._heap: list[ScheduledCall] = []
        self._cancelled = 0  # cancelled calls still in the heap
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        _fork.register(self)

    def forget_threads_at_fork(self) -> None:
        """In a forked child: the next call_later() starts a thread here.

        The parent's pending calls are dropped: they are for its actors,
        whose threads the child does not have.
        """
        self._wake = threading.Condition(allocate_lock())
        self._heap = []
        self._cancelled = 0
        self._thread = None

    def call_later(self, delay: float, callback: Callable[[], object]) -> ScheduledCall:
        """Call `callback()` in the scheduler's thread after `delay` seconds."""
        call = ScheduledCall(self, time.monotonic() + delay, next(self._seq), callback)
        with self._wake:
            heapq.heappush(self._heap, call)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=THREAD_NAME, daemon=True
                )
                mark_service_thread(self._thread)
                self._thread.start()
            elif self._heap[0] is call:
                self._wake.notify()  # due before whatever the thread waits for
        return call

    def pending(self) -> int:
        """How many calls wait to be called (cancelled ones do not count)."""
        with self._wake:
            return len(self._heap) - self._cancelled

    def is_running(self) -> bool:
        """Whether the scheduler's thread is running."""
        with self._wake:
            return self._thread is not None

    def _cancel(self, call: ScheduledCall) -> None:
        with self._wake:
            if call.callback is None:
                return
            call.callback = None
            heap = self._heap
            self._cancelled += 1
            if heap[0] is call:
                # The thread waits for this one: let it wait for the next.
                self._wake.notify()
            elif self._cancelled >= _COMPACT_AT and self._cancelled * 2 > len(heap):
                heap[:] = [c for c in heap if c.callback is not None]
                heapq.heapify(heap)
                self._cancelled = 0

    def _run(self) -> None:
        while True:
            callback = self._next_due()
            if callback is None:
                return
            try:
                callback()
            except Exception:
                logger.exception("Timer callback %r failed", callback)
            # Not kept (nor, through it, an actor) while waiting for the next.
            del callback

    def _next_due(self) -> Callable[[], object] | None:
        """Wait until a call is due and take it; None once idle for long."""
        heap = self._heap
        with self._wake:
            while True:
                while heap and heap[0].callback is None:
                    heapq.heappop(heap)
                    self._cancelled -= 1
                if not heap:
                    self._wake.wait(self.keep_alive)
                    if heap:
                        continue
                    self._thread = None  # the next call_later() starts another
                    return None
                call = heap[0]
                delay = call.due - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(heap)
                callback, call.callback = call.callback, None
                return callback
