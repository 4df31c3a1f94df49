"""``ProcessFuture``: the future of an ask to a process actor."""

from __future__ import annotations

import _thread
import sys
from typing import TYPE_CHECKING, TypeVar

from limelight._core import _waiting
from limelight._core._future import SettableFuture
from limelight._runtimes.processes._relief import HERE

if TYPE_CHECKING:
    from limelight._runtimes.processes._reading import Reading

__all__ = ["ProcessFuture"]

T = TypeVar("T")


class ProcessFuture(SettableFuture[T]):
    """The future of asks to a process actor, completed by its channel's reader.

    It is an ordinary settable future: wait for it from any thread, await it
    from any event loop, combine it. Pickled into a message to another
    process, it becomes a future there that completes when this one does.

    A thread that blocks in ``get()`` on the reply to an ask through one of
    the parent's channels reads that channel itself while nobody else does
    (see ``Channel.wait_leading()``): the reply then wakes no other thread
    on its way to the asker.
    """

    # The channel whose reader completes it, when its waiters may read it.
    # Set by Channel.request() only (so read it with getattr()).
    __slots__ = ("_channel",)

    _channel: Reading

    def _wait_for(self, timeout: float | None) -> bool:
        # A worker's reader that handles an ask itself (an inline ask) lets
        # another thread read on first: the reply comes through the pipe.
        turns = HERE.turns
        if turns is not None:
            turns.relieve_me()
        channel: Reading | None = getattr(self, "_channel", None)
        # Not in a greenlet (reading the pipe would block its hub), nor in
        # an event loop's thread (to await is how to wait there).
        # (Without importing asyncio: if nobody has, no loop runs.)
        asyncio = sys.modules.get("asyncio")
        if (
            channel is None
            or (asyncio is not None and asyncio._get_running_loop() is not None)
            or (_waiting.waiter_factories and _in_a_greenlet())
        ):
            return super()._wait_for(timeout)
        return channel.wait_leading(self, timeout)

    def _follow(self, timeout: float | None) -> bool:
        """Wait as any future does: someone else reads the reply."""
        return super()._wait_for(timeout)


def _in_a_greenlet() -> bool:
    """Whether a wait here parks a greenlet (a runtime's waiter), not a thread.

    (Only asked once a runtime has registered a waiter factory.)
    """
    # (context_waiter(), not new_waiter(): no lock made for a plain thread.)
    waiter = _waiting.context_waiter()
    return waiter is not None and not isinstance(waiter, _thread.LockType)
