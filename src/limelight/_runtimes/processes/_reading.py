"""Reading a channel: a background reader, and waiters that read for themselves.

Every channel has a background reader, a thread that reads and handles each
frame in turn until the pipe ends. On the parent's channels a thread that
waits for a reply may read too (it *leads*): it handles every frame that
comes, for every waiter, until its own reply has come, so the reply wakes
no other thread on its way to the asker. Frames are handled one at a time,
in order, by whoever holds the read lock:

- a waiting thread takes the read lock if it gets it within `_LEAD_WAIT`
  and nobody leads; else it *follows*: it waits as for any future, and the
  leader (or after it the background reader) completes its future;
- the background reader waits for a frame without the lock, then reads it
  under the lock if it is still there (a leader may have read it);
- after a leader, the background reader stands by for `_LINGER`, so that a
  thread asking one actor after another does not find it contending each
  time; a leader that leaves while other asks are pending wakes it at once.
"""

from __future__ import annotations

import contextvars
import pickle
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from limelight._core._future import _PENDING
from limelight._core._interrupts import HeldInterrupts
from limelight._core._log import logger
from limelight._runtimes.processes._pickling import receiving
from limelight._runtimes.processes._protocol import Requests
from limelight._runtimes.processes._relief import Turns
from limelight._runtimes.processes._wire import SHUTDOWN, read_frame, readable

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection

    from limelight._runtimes.processes._future import ProcessFuture

__all__ = ["Reading"]

# How long a waiting thread waits for the read lock before it lets another
# read for it: the background reader holds the lock for one frame at a time.
_LEAD_WAIT = 0.001

# How long the background reader stands aside after a waiting thread led.
_LINGER = 0.002


def _left(deadline: float | None) -> float | None:
    """Seconds until `deadline` (none left: 0), or ``None`` for no deadline."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


class Reading(Requests):
    """A channel's receiving side: who reads the pipe, and handles each frame."""

    # The handler of each kind of frame (Channel's).
    _handlers: ClassVar[dict[int, Callable[..., None]]] = {}

    def __init__(self, conn: Connection, name: str) -> None:
        super().__init__(conn, name)
        self._ready: Callable[[float | None], bool]
        # Held by whichever thread reads and handles frames, so that they
        # are handled one at a time, in order.
        self._read_lock = threading.Lock()
        # Whether a waiting thread holds _read_lock until its reply comes.
        self._leading = False
        # The contextvars context in which leaders handle frames.
        self._context = contextvars.Context()
        # Whether a leader met the end of the pipe: the reader closes.
        self._ended = False
        # Whether a waiting thread has led since the background reader looked.
        self._led = False
        # Where the background reader stands by while waiting threads lead.
        self._turn = threading.Condition(threading.Lock())
        # Who reads a pipe that waiting threads do not lead (a worker's),
        # and who takes over while the reader handles an ask itself.
        self.turns = Turns(self._read, self._enter, name)
        # Holds Ctrl-C while a leader reads and handles a frame (one leader
        # at a time: see wait_leading()).
        self._interrupts = HeldInterrupts()

    @property
    def leadable(self) -> bool:
        """Whether threads that wait for replies read the pipe themselves."""
        return self._leader is not None

    def serve(self) -> bool:
        """Read and handle frames until the other side closes the pipe.

        Returns whether the other side asked for a shutdown (rather than
        closing the pipe, or dying). The caller closes the channel. After a
        shutdown another thread reads on, until the pipe ends, so that the
        caller may wait for replies while it stops its actors.

        On a leadable channel, this background reader reads only while no
        waiting thread leads (see :meth:`wait_leading`). On another (a
        worker's), the reader may hand the reading to another thread while
        it handles an ask itself (see ``_relief.py``).
        """
        receiving.channel = self
        if not self.leadable:
            return self.turns.serve()
        try:
            while True:
                self._read_beside_leaders()
        except (EOFError, OSError):  # (OSError: closed here, under the reader)
            return False

    def _enter(self) -> None:
        receiving.channel = self

    def _read(self) -> bool:
        """Read and handle a frame; say whether it asked for a shutdown."""
        frame = pickle.loads(read_frame(self._fd))
        if frame[0] == SHUTDOWN:
            return True
        try:  # (_handle(), written out: a call less per frame)
            self._handlers[frame[0]](self, *frame[1:])
        except Exception:  # a bug, or a payload: never the reader's end
            logger.exception("Handling a frame from %s failed", self.name)
        return False

    def _read_beside_leaders(self) -> None:
        """Read and handle a frame, unless a leader has read it (never a shutdown)."""
        self._stand_by()
        self._ready(None)
        with self._read_lock:
            if self._ready(0):  # (else a leader read it)
                self._handle(pickle.loads(read_frame(self._fd)))

    def let_waiters_read(self) -> None:
        """Let threads that wait for replies read the pipe (see :meth:`wait_leading`).

        For the parent's channels only: a worker's channel must see its
        shutdown frame in its background reader.
        """
        self._ready = readable(self.conn)
        self._leader = self

    def _stand_by(self) -> None:
        """Wait while waiting threads take turns at reading (the background reader).

        It steps aside for as long as some thread led within the last
        `_LINGER` seconds, and then reads again: only a frame nobody waits
        for (a tell, an actor's end) may wait that long.
        """
        with self._turn:
            while self._led and not self._ended:
                self._led = False
                self._turn.wait(_LINGER)

    def _wake_reader(self) -> None:
        """Have the background reader read now (a leader left, and others wait)."""
        with self._turn:
            self._led = False
            self._turn.notify()

    def _handle(self, frame: tuple[Any, ...]) -> None:
        try:
            self._handlers[frame[0]](self, *frame[1:])
        except Exception:  # a bug, or a payload: never the reader's end
            logger.exception("Handling a frame from %s failed", self.name)

    def wait_leading(self, future: ProcessFuture[Any], timeout: float | None) -> bool:
        """Wait for `future`, reading the pipe in this thread while nobody else does.

        The thread becomes the channel's leader: it handles every frame
        that comes, for every waiter, until its own reply has come (or
        `timeout` has passed, or the pipe has ended), then lets go of the
        read lock, so that another waiter or the background reader reads
        on. A thread that finds another leader waits as for any future: the
        leader, or after it the background reader, completes it. Returns
        whether `future` is done.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if (
            self._leading
            or self._ended
            or not self._read_lock.acquire(True, _LEAD_WAIT)
        ):
            return future._follow(_left(deadline))
        self._leading = True
        reading = receiving.channel
        receiving.channel = self
        fd, ready, handlers = self._fd, self._ready, self._handlers
        try:
            # Ctrl-C lands at once while this waits for data, but is held
            # while a frame is read and handled: cut in half, the frame would
            # leave the pipe out of step for every later reader.
            with self._interrupts as interrupts:
                # (Its state, not _is_ready(): it has no get hook, since
                # get() ran none, and the test is two calls less per frame.)
                while future._state == _PENDING:
                    if not ready(None if deadline is None else _left(deadline)):
                        return future._is_ready()  # timed out
                    interrupts.holding = True
                    frame = pickle.loads(read_frame(fd))
                    try:  # (_handle(), written out: a call less per frame)
                        # (In a context of the channel's own, as in the
                        # background reader: not in the waiting thread's.)
                        self._context.run(handlers[frame[0]], self, *frame[1:])
                    except Exception:  # a bug, or a payload: never the reader's end
                        logger.exception("Handling a frame from %s failed", self.name)
                    interrupts.holding = False
                    if interrupts.held is not None:
                        interrupts.release()
        except (EOFError, OSError, ValueError):
            # The worker has gone (or the pipe was closed here): the
            # background reader, which sees the end too, closes the channel
            # and so fails the pending asks.
            self._ended = True
        else:
            return True
        finally:
            receiving.channel = reading
            self._leading = False
            self._read_lock.release()
            # (_hand_over(), written out: a call less per wait.)
            if self._pending:  # other asks wait for replies: read on for them
                self._wake_reader()
            else:
                self._led = True
        return future._follow(_left(deadline))
