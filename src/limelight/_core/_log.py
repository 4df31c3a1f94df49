"""The one logger that every Limelight module logs through.

Records go to the ``limelight`` logger, unless
[`log_as()`][limelight._core._log.log_as] names another: under
``limelight.as_pykka`` they go to ``pykka``, as Pykka's do, so that a
program's logging configuration for ``pykka`` (levels, handlers, filters,
``dictConfig()``) applies to them as written. The modules hold this one
object, not a `logging.Logger`, so that one assignment redirects them all,
including modules imported later.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["RedirectableLogger", "log_as", "logger"]


class RedirectableLogger:
    """Forwards records to `target`, a `logging.Logger` that can be changed.

    As cheap as calling the target itself when a level is off (the usual
    case for ``debug()``): one call and a cached level check. Records name
    the caller as their origin (``stacklevel=2``), not this class.
    """

    __slots__ = ("target",)

    def __init__(self, target: logging.Logger) -> None:
        self.target = target

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if target.isEnabledFor(logging.DEBUG):
            target.log(logging.DEBUG, msg, *args, stacklevel=2, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if target.isEnabledFor(logging.INFO):
            target.log(logging.INFO, msg, *args, stacklevel=2, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if target.isEnabledFor(logging.WARNING):
            target.log(logging.WARNING, msg, *args, stacklevel=2, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if target.isEnabledFor(logging.ERROR):
            target.log(logging.ERROR, msg, *args, stacklevel=2, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at ``ERROR`` with the exception being handled, as Logger's does."""
        target = self.target
        if target.isEnabledFor(logging.ERROR):
            kwargs.setdefault("exc_info", True)
            target.log(logging.ERROR, msg, *args, stacklevel=2, **kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if target.isEnabledFor(logging.CRITICAL):
            target.log(logging.CRITICAL, msg, *args, stacklevel=2, **kwargs)


logger = RedirectableLogger(logging.getLogger("limelight"))


def log_as(name: str) -> None:
    """Send every Limelight log record to the logger called `name` from now on."""
    logger.target = logging.getLogger(name)
