"""Tools for finding out what a stuck program is doing."""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Any

from limelight._core._log import logger

__all__ = ["log_thread_tracebacks"]


def log_thread_tracebacks(*_args: Any, **_kwargs: Any) -> None:
    """Log the current stack of every thread, at ``CRITICAL`` level.

    It takes and ignores any arguments, so that it can be a signal handler.
    Register it from the main thread, and send the signal when the program
    hangs:

    ```python
    import logging, signal
    import limelight.debug

    logging.basicConfig(level=logging.DEBUG)
    signal.signal(signal.SIGUSR1, limelight.debug.log_thread_tracebacks)
    ```

    ```sh
    kill -SIGUSR1 <pid>
    ```

    Python runs signal handlers in the main thread only, between bytecodes:
    if the main thread itself is blocked (in ``Future.get()``, say), the
    handler runs only when it wakes. Park the main thread in
    ``time.sleep()`` or ``signal.pause()``, which signals do interrupt.
    """
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        stack = "".join(traceback.format_stack(frame))
        logger.critical(
            f"Current state of {names.get(ident, '?')} (ident: {ident}):\n{stack}"
        )


def __dir__() -> list[str]:
    # The public names only, not what the implementation imports.
    return sorted(__all__)
