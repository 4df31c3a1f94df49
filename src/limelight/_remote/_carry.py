"""How an exception crosses a process boundary: as itself, or as what stands for it.

The reply to an ask may be an exception, and so may the reason an actor
ended. Pickled with everything else, an exception that cannot be pickled
(it holds a lock, a local actor's ref, a lambda) would fail the whole reply,
and the caller would learn nothing. So it is pickled on its own first, and
if that fails, a stand-in goes instead: a ``RuntimeError`` that shows what
the exception said, or, for a ``DeadlockError``, a ``DeadlockError`` still,
whose message names the actors of the cycle, with an empty ``cycle`` (a ref
in it may be one that cannot leave its process).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, TypeVar

from limelight._core._exceptions import DeadlockError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["carried", "detached", "stand_in"]

T = TypeVar("T")


def carried(exc: BaseException, dumps: Callable[[BaseException], T]) -> T:
    """``dumps(exc)``, or if `exc` cannot be pickled so, ``dumps()`` of its stand-in.

    `dumps` is the transport's pickling: it returns the bytes to send, or
    the exception itself once it has checked that it pickles.
    """
    try:
        return dumps(exc)
    except Exception:  # noqa: BLE001 -- pickling raises many kinds of error
        return dumps(stand_in(exc))


def stand_in(exc: BaseException) -> BaseException:
    """What crosses instead of `exc`, which cannot be pickled."""
    if isinstance(exc, DeadlockError):
        return DeadlockError(*exc.args)
    return RuntimeError(f"{exc!r} (could not be pickled)")


def detached(exc: BaseException, depth: int = 8) -> BaseException:
    """A copy of `exc` without its traceback: what a host keeps of an actor's end.

    Kept for long, `exc` itself would keep every frame of its traceback
    alive, and through them the actor that raised it, with all its state.
    The copy is what would reach another process anyway: the exception's
    class, arguments and attributes, and its cause, detached likewise; or
    its stand-in if it cannot be copied so. (Causes deeper than `depth`
    are left out: a chain of causes may loop.)
    """
    try:
        copied = copy.copy(exc)
    except Exception:  # noqa: BLE001 -- an __init__() that takes other arguments
        return stand_in(exc)
    cause = exc.__cause__
    if cause is not None and depth > 0:
        copied.__cause__ = detached(cause, depth - 1)
    return copied
