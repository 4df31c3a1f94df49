"""The event that tells the world an actor has stopped, and then why it ended."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from limelight._core import _timeouts, _waiting
from limelight._core._log import logger

if TYPE_CHECKING:
    from limelight.messages import Terminated

__all__ = ["StoppedEvent", "TerminationCallback"]


TerminationCallback = Callable[["Terminated"], None]


class StoppedEvent:
    """Set once, when the actor stops; like ``threading.Event``, for any runtime.

    Lighter than ``threading.Event`` (which allocates a lock and a condition
    up front): only a waiter allocates anything, and it waits in the way its
    own context needs (see ``_core/_waiting.py``), so a greenlet or a thread
    can wait for an actor of any runtime.

    An actor ends in two steps. It *stops* first: this event is set, and it
    handles no more messages. It *terminates* once its ``on_stop()`` or
    ``on_failure()`` has run and its inbox is emptied: then
    :meth:`terminate` records why it ended and calls the termination
    callbacks, through which watchers, links and supervisors learn of it.
    The event is shared by the actor and its ref, so the record outlives the
    actor object.
    """

    __slots__ = ("_flag", "_on_terminated", "_waiters", "terminated")

    def __init__(self) -> None:
        self._flag = False
        self._waiters: list[_waiting.Waiter] | None = None
        self.terminated: Terminated | None = None
        """Why the actor ended, once it has terminated."""
        # Made on first use: most actors are never watched.
        self._on_terminated: dict[Hashable, TerminationCallback] | None = None

    def __repr__(self) -> str:
        return f"<StoppedEvent {'set' if self._flag else 'unset'}>"

    def is_set(self) -> bool:
        """Whether the actor has stopped."""
        return self._flag

    def set(self, first: Callable[[], None] | None = None) -> bool:
        """Mark the actor stopped and wake everyone waiting.

        Args:
            first: Called just before the mark, if this call sets it: so
                that whoever sees the actor stopped sees what `first` did
                too (a kill notes its reason there, which the actor's
                teardown, racing it, reads once it sees the mark).

        Returns:
            Whether this call set it (`False`: it was set already).
        """
        with _waiting.state_lock:
            if self._flag:
                return False
            if first is not None:
                first()
            self._flag = True
            waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            waiter.release()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the actor has stopped or `timeout` seconds have passed.

        `timeout` is read as everywhere (``_core/_timeouts.py``): `None` or
        infinity waits for ever; a bad value raises at once.

        Returns:
            Whether the actor has stopped.
        """
        if timeout is not None:
            timeout = _timeouts.seconds(timeout)
        if self._flag:
            return True
        waiter = _waiting.new_waiter()
        with _waiting.state_lock:
            # (is_set(), not _flag: it may have changed since the check above,
            # which type checkers would otherwise assume it cannot.)
            if self.is_set():
                return True
            if self._waiters is None:
                self._waiters = [waiter]
            else:
                self._waiters.append(waiter)
        if not waiter.acquire(True, -1 if timeout is None else max(timeout, 0.0)):
            self._forget(waiter)
        return self.is_set()

    def add_termination_callback(
        self, key: Hashable, callback: TerminationCallback
    ) -> None:
        """Call `callback(terminated)` when the actor terminates, or now if it has.

        `key` names the callback for :meth:`remove_termination_callback`; a
        callback with the same key replaces it. The callback runs in the
        terminating actor's context (or the caller's, if it has terminated):
        it must be quick and must not block.
        """
        with _waiting.state_lock:
            terminated = self.terminated
            if terminated is None:
                if self._on_terminated is None:
                    self._on_terminated = {}
                self._on_terminated[key] = callback
                return
        _run(callback, terminated)

    def remove_termination_callback(self, key: Hashable) -> None:
        """Forget the callback added with `key`, if it is still there."""
        with _waiting.state_lock:
            if self._on_terminated is not None:
                self._on_terminated.pop(key, None)

    def terminate(self, terminated: Terminated) -> None:
        """Record why the actor ended and call the termination callbacks, once."""
        with _waiting.state_lock:
            if self.terminated is not None:
                return
            self.terminated = terminated
            callbacks, self._on_terminated = self._on_terminated, None
        for callback in (callbacks or {}).values():
            _run(callback, terminated)

    def _forget(self, waiter: _waiting.Waiter) -> None:
        with _waiting.state_lock:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


def _run(callback: TerminationCallback, terminated: Terminated) -> None:
    try:
        callback(terminated)
    except Exception:
        logger.exception("Termination callback %r failed", callback)
