"""Holding Ctrl-C back while the main thread does what must not be cut in half.

Python runs signal handlers in the main thread only, between two bytecodes:
so a ``KeyboardInterrupt`` can land in the middle of reading one message
from a pipe, after its length was read and before its body was. The stream
is then out of step for good. A thread that reads a pipe shared with
others (see ``Reading.wait_leading()`` in ``_runtimes/processes/_reading.py``) holds
interrupts over such stretches; an interrupt that comes during one is
raised as soon as the stretch is over. Outside them (waiting for data, say)
it is raised at once, as usual.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any

__all__ = ["HeldInterrupts"]

# The C functions under ``signal.signal()`` and ``signal.getsignal()``. The
# wrappers turn numbers and handlers into enums and back, and a handler that
# is a Python function takes them through two raised and caught exceptions:
# a waiting thread swaps SIGINT's handler on every wait for a reply, so
# this is most of that wait's cost. (``signal`` imports ``_signal``, which
# only CPython has: elsewhere the wrappers are used.)
_c_signal: Any = getattr(signal, "_signal", signal)
_set_handler = _c_signal.signal
_get_handler = _c_signal.getsignal
_SIGINT = int(signal.SIGINT)
_get_ident = threading.get_ident

# The main thread's ident, without a call per wait (main_thread().ident is
# two). A forked child's main thread is the one that forked.
_main_ident = threading.main_thread().ident


def _note_main_thread() -> None:
    global _main_ident  # noqa: PLW0603 -- one per process, re-read at each wait
    _main_ident = _get_ident()


os.register_at_fork(after_in_child=_note_main_thread)


class HeldInterrupts:
    """A context in which SIGINT's Python handler waits while interrupts are held.

    Hold them by setting `holding`; `release()` stops holding, and hands an
    interrupt held meanwhile to the handler. (A loop that holds them once
    per turn may set `holding` back itself, and call `release()` only when
    `held` says that one came: a call less per turn.)

    Only in the main thread, and only when SIGINT's handler is a Python
    callable (the default one raises ``KeyboardInterrupt``); anywhere else
    it changes nothing, since no interrupt can land there. On exit, the
    handler is put back, and an interrupt still held is handed to it. One
    object may serve one ``with`` block after another (never two at once).
    """

    __slots__ = ("_original", "held", "holding")

    def __init__(self) -> None:
        self.holding = False
        """Whether an interrupt that comes now waits, until `release()`."""
        self.held: tuple[int, FrameType | None] | None = None
        """The interrupt that came while held, if one did."""
        self._original: Any = None

    def release(self) -> None:
        """Stop holding interrupts, and hand one held meanwhile to the handler."""
        self.holding = False
        held, self.held = self.held, None
        if held is not None:
            self._original(*held)

    def __enter__(self) -> HeldInterrupts:
        if _get_ident() == _main_ident:
            original = _get_handler(_SIGINT)
            if callable(original):
                self._original = original
                _set_handler(_SIGINT, self._on_interrupt)
        return self

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self.held = (signum, frame)
        else:
            self._original(signum, frame)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.holding = False
        original, self._original = self._original, None
        if original is None:
            return
        _set_handler(_SIGINT, original)
        held, self.held = self.held, None
        if held is not None:
            original(*held)
