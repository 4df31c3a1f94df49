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
from logging import CRITICAL, DEBUG, ERROR, INFO, WARNING
from typing import Any, cast

__all__ = ["RedirectableLogger", "log_as", "logger"]


class RedirectableLogger:
    """Forwards records to `target`, a `logging.Logger` that can be changed.

    Cheaper than calling the target itself when a level is off (the usual
    case for ``debug()``): one call and a dict lookup. Records name the
    caller as their origin (``stacklevel=2``), not this class.

    Hot paths check a level without any call: ``if logger.levels.get(DEBUG,
    True) and logger.target.isEnabledFor(DEBUG)``.
    """

    __slots__ = ("levels", "target")

    target: logging.Logger
    levels: dict[int, bool]

    def __init__(self, target: logging.Logger) -> None:
        self.redirect(target)

    def redirect(self, target: logging.Logger) -> None:
        """Send records to `target` from now on."""
        self.target = target
        # The target's own cache of isEnabledFor() answers (a dict, level ->
        # bool, that logging empties, never replaces, when a level changes):
        # a False found there is what isEnabledFor() would answer, read
        # without a Python call; a level not found there (or a logger
        # without that cache, or whose class answers isEnabledFor() its own
        # way) is asked of isEnabledFor() every time.
        levels = getattr(target, "_cache", None)
        if (
            isinstance(levels, dict)
            and type(target).isEnabledFor is logging.Logger.isEnabledFor
        ):
            self.levels = cast("dict[int, bool]", levels)
        else:
            self.levels = {}

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if self.levels.get(DEBUG, True) and target.isEnabledFor(DEBUG):
            target.log(DEBUG, msg, *args, stacklevel=2, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if self.levels.get(INFO, True) and target.isEnabledFor(INFO):
            target.log(INFO, msg, *args, stacklevel=2, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if self.levels.get(WARNING, True) and target.isEnabledFor(WARNING):
            target.log(WARNING, msg, *args, stacklevel=2, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if self.levels.get(ERROR, True) and target.isEnabledFor(ERROR):
            target.log(ERROR, msg, *args, stacklevel=2, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at ``ERROR`` with the exception being handled, as Logger's does."""
        target = self.target
        if self.levels.get(ERROR, True) and target.isEnabledFor(ERROR):
            kwargs.setdefault("exc_info", True)
            target.log(ERROR, msg, *args, stacklevel=2, **kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        target = self.target
        if self.levels.get(CRITICAL, True) and target.isEnabledFor(CRITICAL):
            target.log(CRITICAL, msg, *args, stacklevel=2, **kwargs)


logger = RedirectableLogger(logging.getLogger("limelight"))


def log_as(name: str) -> None:
    """Send every Limelight log record to the logger called `name` from now on."""
    logger.redirect(logging.getLogger(name))
