"""What an actor does with a message: the handler table, shared by every driver.

A message whose type (or a base of it) is in ``_BUILTIN_HANDLERS`` is one the
actor handles itself: a proxy's call or attribute access, a stop, a kill's
wake-up, a link's exit, a timer's tick, a message sent with its sender's
context. Anything else goes to ``on_receive()``. Drivers (the blocking loop
of ``_runtimes/blocking.py``, the event-loop drain of
``_runtimes/event_loop/driver.py``) look handlers up with :func:`handler_for`,
or inline its two lines on their hot path: ``handler_cache.get(cls, UNKNOWN)``,
then :func:`find_handler` for a type not seen yet.

A handler returns the reply. A stop's handler returns
:data:`REPLY_WHEN_STOPPED` instead: its asker is answered only once the actor
has ended (``Actor._actor_loop_teardown()``): every driver keeps the stop's
future as the actor's ``_limelight_stop_reply``, and sets any other asker's
future to the handler's result. An exception is settled by the actor's
``_limelight_reply_or_crash()``, which every driver calls.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from limelight._core import _context
from limelight._core._context import InContext, run_coroutine_in
from limelight._core._exceptions import LinkedActorFailed
from limelight._core._introspection import resolve
from limelight._core._timers import TimerTick
from limelight._core._wait_graph import enter_actor
from limelight.messages import (
    ProxyCall,
    ProxyGetAttr,
    ProxySetAttr,
    _ActorKilled,
    _ActorStop,
    _LinkExit,
)

if TYPE_CHECKING:
    from limelight._core._actor import Actor

__all__ = [
    "REPLY_WHEN_STOPPED",
    "STOP_HANDLER",
    "UNKNOWN",
    "dispatch",
    "find_handler",
    "handler_cache",
    "handler_for",
]


def _call(actor: Actor, message: ProxyCall) -> Any:
    # (Unpacked, not read by name; and a method of the actor itself, the
    # usual call, found without resolve(): two calls less per proxy call.)
    attr_path, args, kwargs = message
    method = (
        getattr(actor, attr_path[0])
        if len(attr_path) == 1
        else resolve(actor, attr_path)
    )
    # (Without `**kwargs` when there are none: a call with it copies them.)
    return method(*args, **kwargs) if kwargs else method(*args)


def _get_attr(actor: Actor, message: ProxyGetAttr) -> Any:
    return resolve(actor, message.attr_path)


def _set_attr(actor: Actor, message: ProxySetAttr) -> None:
    parent = resolve(actor, message.attr_path[:-1])
    setattr(parent, message.attr_path[-1], message.value)


# What a stop request is answered with at first: the reply is deferred until
# the actor is completely done (see Actor._actor_loop_teardown()).
REPLY_WHEN_STOPPED: Any = object()


def _stop(actor: Actor, _message: _ActorStop) -> Any:
    actor._stop()
    return REPLY_WHEN_STOPPED


def _killed(_actor: Actor, _message: _ActorKilled) -> None:
    """Nothing to do: the message only wakes the loop, which sees it must end."""


def _link_exit(actor: Actor, message: _LinkExit) -> Any:
    terminated = message.terminated
    if actor.trap_exits:
        return actor.on_receive(terminated)
    if terminated.reason != "normal":
        raise LinkedActorFailed(terminated)
    return None


def _timer_tick(actor: Actor, tick: TimerTick) -> Any:
    if not tick.timer._deliverable():
        return None  # cancelled after its message was queued: skipped
    message = tick.message
    handler = handler_for(message.__class__)
    if handler is None:
        return actor.on_receive(message)
    if handler is _stop:
        # Queued again, so that each runtime runs it its own way (on an
        # event loop, on_stop() may have to be awaited).
        actor.stop()
        return None
    return handler(actor, message)


def _in_context(actor: Actor, wrapped: InContext) -> Any:
    """Handle a message in the context it was sent from; see ``_core/_context.py``."""
    return wrapped.context.run(_handle_in_context, actor, wrapped)


def _handle_in_context(actor: Actor, wrapped: InContext) -> Any:
    enter_actor(actor._actor_ref)  # (in the sender's copy: the handler is this actor)
    observer = _context.observer
    if observer is not None:
        return observer(actor, wrapped.message, dispatch, wrapped.context)
    result = dispatch(actor, wrapped.message)
    if result.__class__ is CoroutineType:
        return run_coroutine_in(result, wrapped.context)
    return result


def dispatch(actor: Actor, message: Any) -> Any:
    """Handle `message` with its built-in handler or ``on_receive()``: the reply."""
    handler = handler_for(message.__class__)
    if handler is None:
        return actor.on_receive(message)
    return handler(actor, message)


# The messages an actor handles itself, by exact type; subclasses are found by
# isinstance() once and then cached here too. Anything else goes to on_receive().
_BUILTIN_HANDLERS: dict[type, Callable[[Actor, Any], Any]] = {
    ProxyCall: _call,
    ProxyGetAttr: _get_attr,
    ProxySetAttr: _set_attr,
    _ActorStop: _stop,
    _ActorKilled: _killed,
    _LinkExit: _link_exit,
    TimerTick: _timer_tick,
    InContext: _in_context,
}
handler_cache: dict[type, Callable[[Actor, Any], Any] | None] = dict(_BUILTIN_HANDLERS)
STOP_HANDLER = _stop
"""The handler_for() a stop request; async drivers run on_stop() themselves."""
_HANDLER_CACHE_LIMIT = 1024
UNKNOWN: Any = object()
"""What ``handler_cache.get()`` is given as default: a type not looked up yet."""


def find_handler(message_type: type) -> Callable[[Actor, Any], Any] | None:
    """Look up the handler of a type not in ``handler_cache`` yet, and cache it."""
    handler = next(
        (h for base, h in _BUILTIN_HANDLERS.items() if issubclass(message_type, base)),
        None,
    )
    if len(handler_cache) < _HANDLER_CACHE_LIMIT:
        handler_cache[message_type] = handler
    return handler


def handler_for(message_class: type) -> Callable[[Actor, Any], Any] | None:
    """The built-in handler of a message type, or None for ``on_receive()``."""
    handler: Callable[[Actor, Any], Any] | None = handler_cache.get(
        message_class, UNKNOWN
    )
    if handler is UNKNOWN:
        handler = find_handler(message_class)
    return handler
