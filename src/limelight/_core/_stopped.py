"""The event that tells the world an actor has stopped."""

from __future__ import annotations

from limelight._core import _waiting

__all__ = ["StoppedEvent"]


class StoppedEvent:
    """Set once, when the actor stops; like ``threading.Event``, for any runtime.

    Lighter than ``threading.Event`` (which allocates a lock and a condition
    up front): only a waiter allocates anything, and it waits in the way its
    own context needs (see ``_core/_waiting.py``), so a greenlet or a thread
    can wait for an actor of any runtime.
    """

    __slots__ = ("_flag", "_waiters")

    def __init__(self) -> None:
        self._flag = False
        self._waiters: list[_waiting.Waiter] | None = None

    def __repr__(self) -> str:
        return f"<StoppedEvent {'set' if self._flag else 'unset'}>"

    def is_set(self) -> bool:
        """Whether the actor has stopped."""
        return self._flag

    def set(self) -> None:
        """Mark the actor stopped and wake everyone waiting."""
        with _waiting.state_lock:
            if self._flag:
                return
            self._flag = True
            waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            waiter.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the actor has stopped or `timeout` seconds have passed.

        Returns:
            Whether the actor has stopped.
        """
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

    def _forget(self, waiter: _waiting.Waiter) -> None:
        with _waiting.state_lock:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
