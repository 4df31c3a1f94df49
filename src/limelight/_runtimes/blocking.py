"""The blocking driver: an actor's loop, for runtimes whose waiting blocks.

A thread actor's loop runs in a thread of its own, a greenlet actor's in a
greenlet; either may block while it waits for a message (a greenlet parks,
and its hub runs the others). Both run :func:`run`: ``on_start()``, then
messages one at a time until the actor stops, then the teardown. Drivers
that are handed one message at a time (the manual runtime of
``limelight.testing``, a Ray host's inline asks) call :func:`start`,
:func:`handle_envelope` and ``actor._actor_loop_teardown()`` themselves.

An event loop cannot block, so its driver is another one
(``_runtimes/event_loop/driver.py``); both handle a message the same way:
the handler table of ``_core/_dispatch.py``; the asker's future set with
the handler's result (a stop's kept for the teardown to answer), or
settled by the actor's ``_limelight_reply_or_crash()`` if it raised.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from limelight._core import _observe
from limelight._core._actor import NO_OP_ON_START
from limelight._core._dispatch import (
    REPLY_WHEN_STOPPED,
    UNKNOWN,
    find_handler,
    handler_cache,
)
from limelight._core._log import logger
from limelight._core._wait_graph import enter_actor

if TYPE_CHECKING:
    from limelight._core._actor import Actor
    from limelight._core._types import Envelope, Queued

__all__ = ["handle_envelope", "handle_messages", "run", "start"]

# The queue of a driver whose every message comes from its inbox's get():
# always empty (and never appended to: maxlen 0 would silently discard).
_NOTHING_QUEUED: collections.deque[Envelope] = collections.deque(maxlen=0)


def run(actor: Actor) -> None:
    """Run `actor`: ``on_start()``, messages until it stops, teardown.

    What a thread runs for its actor, in a fresh ``contextvars`` context.
    """
    if start(actor):
        handle_messages(actor, _NOTHING_QUEUED, actor.actor_inbox.get)
    actor._actor_loop_teardown()


def start(actor: Actor) -> bool:
    """Run ``on_start()`` in the actor's context; return whether the actor runs on.

    The first step of every blocking driver: :func:`run`, the greenlet loop,
    and drivers that handle one envelope at a time, which then call
    :func:`handle_envelope` and ``_actor_loop_teardown()`` themselves.
    """
    enter_actor(actor._actor_ref)  # (the runtime gave the loop a fresh context)
    actor._limelight_taken = _observe.new_counter()
    on_start = actor.on_start
    if getattr(on_start, "__func__", None) is not NO_OP_ON_START:
        actor._limelight_run_hook(on_start)
    actor._limelight_phase = "running"
    return not actor.actor_stopped._flag


def handle_envelope(actor: Actor, envelope: Envelope) -> bool:
    """Handle one message; return whether the actor is still running."""
    return handle_messages(actor, collections.deque((envelope,)), None)


def handle_messages(  # noqa: PLR0912, PLR0915 -- inline on purpose: see the docstring
    actor: Actor,
    queued: collections.deque[Queued],
    get: Callable[[], Queued] | None,
) -> bool:
    """Handle messages, one at a time, until the actor stops; return False then.

    The messages come from `queued` while it has any, popped here without a
    call, then from ``get()``, which blocks until there is one. Without
    `get`, the run ends (True) once `queued` is empty: see
    :func:`handle_envelope`. Each is an envelope, or a told message queued
    bare (see ``Queued`` in ``_core/_types.py``).

    The one implementation of handling a message for every blocking driver:
    :func:`run` (threads: nothing queued, every message from the inbox's
    ``get()``), the greenlet loop (the inbox's deque, and ``get()`` to park
    when it is empty) and :func:`handle_envelope` (one message). It is the
    hot path of every message, so it is all inline: the handler lookup
    (``handler_for()``), the introspection and the reply cost no call.
    """
    stopped = actor.actor_stopped
    cached_handler = handler_cache.get
    unknown = UNKNOWN
    last_class: type | None = None
    last_handler: Callable[[Actor, Any], Any] | None = None
    taken = actor._limelight_taken
    assert taken is not None  # made by start()
    if queued:
        envelope = queued.popleft()
    else:
        assert get is not None  # (handle_envelope() passes none, and one message)
        envelope = get()
    # One turn per message taken: each step of `taken` counts one for
    # snapshot() (see _core/_observe.py), in C, without a call and without
    # allocating.
    for _ in taken:
        # (An attribute of an object of any class costs more than most of
        # what is done here: __class__ is read once per object.)
        message_class = envelope.__class__
        if message_class is tuple:
            message, reply_to = envelope
            message_class = message.__class__
        else:  # a told message queued bare (see _core/_types.py's Queued)
            message = envelope
            reply_to = None
        actor._limelight_current = envelope  # (introspection: _core/_observe.py)
        try:
            # A burst is mostly of one class: the handler of the last class
            # is kept, which saves a dict lookup per message.
            if message_class is not last_class:
                handler = cached_handler(message_class, unknown)
                if handler is unknown:
                    handler = find_handler(message_class)
                last_class = message_class
                last_handler = handler
            else:
                handler = last_handler
            if handler is None:
                result = actor.on_receive(message)
            else:
                result = handler(actor, message)
        except Exception:  # noqa: BLE001 -- user code may raise anything
            if actor._limelight_reply_or_crash(reply_to):
                actor._limelight_run_hook(actor.on_failure, *sys.exc_info())
        except BaseException as exc:  # noqa: BLE001 -- user code may raise anything
            logger.debug("%r in %s. Stopping all actors.", exc, actor)
            actor._stop()
            actor._limelight_stop_everything(exc, reply_to)
        else:
            if reply_to is not None:
                # (A stop is answered by the teardown: see _dispatch.py.)
                if result is REPLY_WHEN_STOPPED:
                    actor._limelight_stop_reply = reply_to
                else:
                    reply_to.set(result)
        if stopped._flag:
            actor._limelight_current = None
            return False
        # Idle (for snapshots) only once there is nothing left to take: a
        # message queued behind this one is handled right away, and the
        # store in between would be one more per message.
        if queued:
            envelope = queued.popleft()
        else:
            actor._limelight_current = None
            if get is None:
                return True
            envelope = get()
    raise AssertionError  # pragma: no cover -- taken counts 2**63 messages
