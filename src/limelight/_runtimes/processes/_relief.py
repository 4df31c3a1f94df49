"""Someone to read a worker's pipe while its reader handles an ask itself.

A worker's reader hands each ask to its actor, and an idle actor's ask it
handles itself (an inline ask, ``_runtimes/inline.py``): no thread switch
between the pipe and the handler, and the reply leaves from the thread
that read the ask. While the handler runs, nobody reads the pipe, and a
handler may wait for what only a later frame brings: the reply to its own
ask of an actor elsewhere, or a tell to another actor here. So the reader
is *relieved*: another thread takes over the reading, and the one relieved,
once its handler is over, stands by to relieve a reader in turn.

Relief comes at once when the handler waits for a reply through this
process's channel (``ProcessFuture``); otherwise (a handler that computes,
or waits for anything else) after `RELIEVE_AFTER` to `2 * RELIEVE_AFTER`,
from a watchdog thread that looks every `RELIEVE_AFTER` while asks are
handled inline, and sleeps once none has been for `WATCH_FOR`.

Exactly one thread reads at a time: the one named by ``reader``. A reader
is relieved only while it handles an ask (under the lock, which it takes
to say that the ask is over), and it reads no further frame once relieved.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["HERE", "RELIEVE_AFTER", "WATCH_FOR", "Turns"]

RELIEVE_AFTER = 0.005
"""Seconds an inline ask may hold the pipe before the watchdog relieves it."""

WATCH_FOR = 1.0
"""Seconds without an inline ask after which the watchdog sleeps."""

_NEW = -1
"""The reader's ident while a new thread, started to relieve, has none yet."""


class _Here(threading.local):
    """What pipe the current thread reads (or read)."""

    # (A class default: a thread that never read finds None without an
    # AttributeError raised and caught, which costs more than the rest of
    # the test, in every wait for a reply.)
    turns: Turns | None = None
    """The `Turns` of the pipe that this thread reads (or read)."""


HERE = _Here()
"""``HERE.turns``: the `Turns` of the pipe that this thread reads (or read)."""


class Turns:
    """Who reads one channel's pipe, and who stands by to take over.

    `read_one` reads and handles one frame, and says whether it was a
    shutdown; it raises ``EOFError`` or ``OSError`` at the end of the pipe.
    `enter` prepares a thread to read (thread-local state), once.
    """

    def __init__(
        self, read_one: Callable[[], bool], enter: Callable[[], None], name: str
    ) -> None:
        self._read_one = read_one
        self._enter = enter
        self._name = name
        self._lock = threading.Lock()
        self.reader = 0
        """The ident of the thread that reads now."""
        self._server = 0  # the ident of serve()'s caller
        self._parked: list[tuple[int, threading.Lock]] = []
        # Notified as a thread stands by (for whoever waits to see it).
        self.standing_by = threading.Condition(self._lock)
        self._outcome: bool | None = None
        self.handling = 0
        """The number of the inline ask the reader handles now (0: none)."""
        self._asks = 0  # inline asks begun so far
        self._watching = False
        self._watch = threading.Condition(self._lock)
        self._watchdog: threading.Thread | None = None
        self.closed = False

    def serve(self) -> bool:
        """Read until a shutdown frame (True) or the end of the pipe (False).

        After a shutdown frame another thread reads on, until the pipe ends:
        the caller may wait for replies while it stops its actors.
        """
        me = threading.get_ident()
        HERE.turns = self
        with self._lock:
            self._server = self.reader = me
        return self._take_turns(me)

    # -- Inline asks ---------------------------------------------------------------

    def begin_inline(self) -> None:
        """The reader is about to hand on an ask that may run in its thread."""
        with self._lock:
            self._asks += 1
            self.handling = self._asks
            if not self._watching:
                self._start_watching()

    def end_inline(self) -> None:
        """The ask handed on is over (if this thread still reads, it reads on)."""
        with self._lock:
            if self.reader == threading.get_ident():
                self.handling = 0

    def relieve_me(self) -> bool:
        """Before this thread waits: let another read; whether it reads no more.

        False for a thread that never read this pipe (nothing to do), and
        for the reader outside an inline ask, which must not wait for what
        the pipe brings.
        """
        if HERE.turns is not self:
            return False
        with self._lock:
            if self.reader != threading.get_ident():
                return True
            if not self.handling:
                return False
            self._hand_over()
            return True

    # -- Taking turns ------------------------------------------------------------

    def _take_turns(self, me: int) -> bool:
        """Read while this thread is the reader; stand by while it is not."""
        while True:
            outcome = self._read_while_reader(me)
            if outcome is not None:
                if not outcome or me == self._server:
                    self._end(outcome, me)
                    return outcome
                # A shutdown read by a relief: serve() returns (its thread
                # may be handling an ask), and this thread reads on.
                self._end(outcome, me, reading_on=True)
                continue
            if not self._stand_by(me):
                return bool(self._outcome)

    def _read_while_reader(self, me: int) -> bool | None:
        """Read frames; None once relieved, else whether they ended in a shutdown."""
        try:
            while True:
                if self._read_one():
                    return True
                if self.reader != me:
                    return None
        except (EOFError, OSError):  # (OSError: closed here, under the reader)
            return False

    def _end(self, outcome: bool, me: int, *, reading_on: bool = False) -> None:
        """Say how serve() ends; wake whoever stands by, to return or leave."""
        with self._lock:
            if self._outcome is None:
                self._outcome = outcome
            if outcome and not reading_on and me == self._server:
                # serve() returns to stop the actors: someone must read on.
                self._hand_over()
            parked, self._parked = self._parked, []
        for _, wake in parked:
            wake.release()

    def _stand_by(self, me: int) -> bool:
        """Wait to be the reader again (True), or for serve()'s end (False)."""
        wake = threading.Lock()
        wake.acquire()
        with self._lock:
            if self._outcome is not None:
                return False
            self._parked.append((me, wake))
            self.standing_by.notify_all()
        wake.acquire()
        return self.reader == me

    def _hand_over(self) -> None:
        """Make another thread the reader (under the lock): one standing by, or new.

        The ask being handled is no longer the reader's: the new reader's
        own will be.
        """
        self.handling = 0
        if self._parked:
            ident, wake = self._parked.pop()
            self.reader = ident
            wake.release()
            return
        self.reader = _NEW
        threading.Thread(
            target=self._relief, name=f"limelight-reader ({self._name})", daemon=True
        ).start()

    def _relief(self) -> None:
        me = threading.get_ident()
        HERE.turns = self
        self._enter()
        with self._lock:
            self.reader = me
        self._take_turns(me)

    # -- The watchdog ------------------------------------------------------------

    def _start_watching(self) -> None:
        """Start the watchdog, or wake it (under the lock)."""
        self._watching = True
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=self._watch_loop,
                name=f"limelight-relief ({self._name})",
                daemon=True,
            )
            self._watchdog.start()
        else:
            self._watch.notify()

    def _watch_loop(self) -> None:
        """Relieve a reader whose inline ask lasts; sleep while there are none."""
        seen = 0  # the inline ask seen at the last look
        asks = self._asks
        quiet = 0.0  # seconds without a new inline ask
        with self._lock:
            while not self.closed:
                if not self._watching:
                    self._watch.wait()
                    continue
                self._watch.wait(RELIEVE_AFTER)
                handling = self.handling
                if handling and handling == seen:
                    self._hand_over()
                    handling = 0
                seen = handling
                if self._asks != asks or handling:
                    asks, quiet = self._asks, 0.0
                    continue
                quiet += RELIEVE_AFTER
                if quiet >= WATCH_FOR:
                    self._watching = False  # (the next inline ask wakes it)
                    self._watch.notify_all()  # (and whoever waits to see it)

    def close(self) -> None:
        """End the watchdog (the pipe is closed: the readers end by themselves)."""
        with self._lock:
            self.closed = True
            self._watch.notify()
