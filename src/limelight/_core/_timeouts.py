"""Timeouts: the one reading of a ``timeout`` argument, for every entry point.

Every public call that takes a timeout (``get()``, ``ask()``, ``stop()``,
``get_all()``, ``stop_all()``, the test helpers, ...) reads it here, before
it does anything else, so that a bad value is refused at the call, with a
message naming the parameter, and means the same on every runtime:

- ``None`` waits for ever;
- so does infinity, or any wait longer than the platform's waits can take
  (``_thread.TIMEOUT_MAX``, some 292 years): they are read as ``None``;
- a negative number is a deadline already passed: a wait does not wait
  (as on Pykka: the value is returned if it is there, else ``Timeout`` at
  once, saying ``"-1 seconds"``), so waits pass ``max(timeout, 0)`` on;
- NaN is refused with ``ValueError``; anything that is not a real number
  (a string, a bool, ``None``'s look-alikes) with ``TypeError``.

Callers test ``timeout is not None`` before calling :func:`seconds`, so
that the common case, no timeout, costs no call.
"""

from __future__ import annotations

import _thread
import math
import numbers
import time

__all__ = ["MAX", "deadline", "optional_seconds", "remaining", "seconds"]

MAX: float = _thread.TIMEOUT_MAX
"""The longest wait an OS lock takes: anything longer waits for ever."""


def seconds(timeout: object, name: str = "timeout") -> float | None:
    """Read `timeout` as seconds to wait, or None to wait for ever.

    Args:
        timeout: what the caller passed (not None: callers check that first).
        name: the parameter's name, for the error message.

    Returns:
        `timeout` itself for an ``int`` or ``float`` in range (so that a
        ``Timeout`` still says ``"5 seconds"``), another real number as a
        ``float``, or None for no limit.

    Raises:
        TypeError: if `timeout` is not a real number (a bool is refused too:
            ``get(True)`` is a mistake for ``block=True``, not one second).
        ValueError: if `timeout` is NaN.
    """
    value: float
    if type(timeout) is float or type(timeout) is int:  # the usual: no conversion
        value = timeout
    elif type(timeout) is not bool and isinstance(timeout, numbers.Real):
        try:
            value = float(timeout)
        except OverflowError:  # (a Fraction too large for a float)
            value = -math.inf if timeout < 0 else math.inf
    else:
        msg = f"{name} must be a number of seconds or None, not {timeout!r}"
        raise TypeError(msg)
    if value > MAX:  # infinity included
        return None
    if value != value:  # noqa: PLR0124 -- only NaN differs from itself
        msg = f"{name} must be a number of seconds or None, not NaN"
        raise ValueError(msg)
    return value


def optional_seconds(timeout: object, name: str = "timeout") -> float | None:
    """:func:`seconds` of `timeout`, or None for None: for calls off the hot paths."""
    return None if timeout is None else seconds(timeout, name)


def deadline(timeout: float | None) -> float | None:
    """When a wait of `timeout` seconds (a result of :func:`seconds`) ends."""
    return None if timeout is None else time.monotonic() + timeout


def remaining(deadline: float | None) -> float | None:
    """Seconds left until `deadline` (never negative), or None for no deadline."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())
