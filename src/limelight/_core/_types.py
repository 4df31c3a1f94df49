"""Type aliases shared by the core modules."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeAlias

AttrPath: TypeAlias = tuple[str, ...]
"""The names leading from an actor to one of its (nested) attributes."""

ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None]
"""A normalized ``sys.exc_info()`` triple: only the traceback may be ``None``."""

OptExcInfo: TypeAlias = tuple[
    type[BaseException] | None, BaseException | None, TracebackType | None
]
"""What ``sys.exc_info()`` returns, as accepted by ``Future.set_exception()``."""

Envelope: TypeAlias = tuple[Any, Any]
"""A message in an inbox: ``(message, reply_to)``; ``reply_to`` is a future or None.

A plain tuple, not a class: an envelope is built for every message sent, and a
tuple is the cheapest object Python can build.
"""
