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

Queued: TypeAlias = Any
"""What ``handle_messages()`` (``_runtimes/blocking.py``) takes from its queue:
an envelope, or a told message by itself.

Cheaper still than a tuple is no tuple: an inbox may queue a told message
bare, without its ``(message, None)`` envelope, if the message can never be
taken for an envelope: if it is neither a plain ``tuple`` (which is what
marks an envelope: a tuple subclass, such as a named tuple, is a message)
nor None (which, stored as the envelope being handled, would read as idle).
Greenlet inboxes do (see ``_runtimes/greenlet/hub.py``); whatever reads such an inbox
from outside the loop gets envelopes (``get()``, ``get_nowait()``).
"""
