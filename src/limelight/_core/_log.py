"""The one logger that every Limelight module logs through.

Records go to the ``limelight`` logger, unless
[`log_as()`][limelight._core._log.log_as] names another: under
``limelight.as_pykka`` they go to ``pykka``, as Pykka's do, so that a
program's logging configuration for ``pykka`` (levels, handlers, filters,
``dictConfig``) applies to them as written. The modules hold this adapter,
not a `logging.Logger`, so that one assignment redirects them all, including
modules imported later.
"""

from __future__ import annotations

import logging

__all__ = ["log_as", "logger"]

logger = logging.LoggerAdapter(logging.getLogger("limelight"))


def log_as(name: str) -> None:
    """Send every Limelight log record to the logger called `name` from now on."""
    logger.logger = logging.getLogger(name)
