"""Context propagation: the sender's ``contextvars`` context follows a message.

Off by default. Once switched on (``limelight.observe.propagate_context()``,
or ``limelight.observe.instrument()``), ``tell()`` and ``ask()`` (and so
proxy calls) wrap each message that is not a system message in an
:class:`InContext`, holding a copy of the sender's context. The actor's
built-in handler for :class:`InContext` runs the real handler inside that
copy, marked as the receiving actor's own (for deadlock detection), and an
``async def`` handler's coroutine is stepped inside it too.

Nothing changes in the envelope: an envelope stays ``(message, reply_to)``,
and every runtime and mailbox works as before. Switched off, a send pays for
one attribute check.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine, Generator
from typing import Any

__all__ = ["InContext", "Observer", "run_coroutine_in", "unwrap", "wrap"]

propagating = False
"""Whether ``tell()`` and ``ask()`` wrap messages: see the module docstring."""

Observer = Callable[
    [Any, Any, Callable[[Any, Any], Any], contextvars.Context],
    Any,
]
"""``observer(actor, message, dispatch, context)``: handles a wrapped message.

It must return what ``dispatch(actor, message)`` returns (through
:func:`run_coroutine_in` for a coroutine); tracing measures around it.
"""

observer: Observer | None = None
"""Set by ``limelight.observe.instrument()`` to time and trace handling."""


class InContext:
    """A message with the context of the code that sent it."""

    __slots__ = ("context", "message")

    def __init__(self, message: Any, context: contextvars.Context) -> None:
        self.message = message
        self.context = context

    def __repr__(self) -> str:
        return repr(self.message)


_copy_context = contextvars.copy_context


def wrap(message: Any) -> Any:
    """Wrap `message` with a copy of the current context, unless it is Limelight's.

    A message whose class is marked for the mailboxes (``_limelight_system``:
    stop requests and the like; ``_limelight_no_wait``: timer ticks) goes
    as it is, so that the marks still count: those messages are the
    runtime's, not sent on behalf of the code that sends them.
    """
    cls = message.__class__
    if (
        getattr(cls, "_limelight_system", False) is True
        or getattr(cls, "_limelight_no_wait", False) is True
    ):
        return message
    return InContext(message, _copy_context())


def unwrap(message: Any) -> Any:
    """The message a sender sent: `message` itself, or what it wraps."""
    if message.__class__ is InContext:
        return message.message
    return message


def run_coroutine_in(
    coroutine: Coroutine[Any, Any, Any], context: contextvars.Context
) -> Coroutine[Any, Any, Any]:
    """A coroutine that runs `coroutine`, each step of it inside `context`."""
    return _await(_Stepper(coroutine, context))


async def _await(stepper: _Stepper) -> Any:
    return await stepper


class _Stepper:
    """An awaitable that steps a coroutine inside a context, as a task would."""

    __slots__ = ("context", "coroutine")

    def __init__(
        self, coroutine: Coroutine[Any, Any, Any], context: contextvars.Context
    ) -> None:
        self.coroutine = coroutine
        self.context = context

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine = self.coroutine
        run = self.context.run
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                if error is None:
                    signal = run(coroutine.send, value)
                else:
                    signal = run(coroutine.throw, error)
            except StopIteration as stop:
                return stop.value
            try:
                value = yield signal
                error = None
            except GeneratorExit:
                run(coroutine.close)
                raise
            except BaseException as exc:  # noqa: BLE001 -- passed on to the coroutine
                value = None
                error = exc
