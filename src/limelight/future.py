"""The 2011 home of futures: ``from limelight.future import ThreadingFuture``."""

from limelight._core._exceptions import Timeout
from limelight._core._future import Future, get_all
from limelight._runtimes.threads import ThreadingFuture

__all__ = ["Future", "ThreadingFuture", "Timeout", "get_all"]
