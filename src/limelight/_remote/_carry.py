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

from typing import TYPE_CHECKING, TypeVar

from limelight._core._exceptions import DeadlockError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["carried", "stand_in"]

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
