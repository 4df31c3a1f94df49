"""The hook names of 2011: ``react()``, ``post_start()``, ``pre_stop()``.

Pykka's first versions named the hooks so (see the blog posts of 2011). A
class that defines one gets it as the modern hook, unless it has that hook
from a base that wrote it: a Pykka 4 program's ``on_stop()`` may call a
``pre_stop()`` of its own, which must stay just that.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

__all__ = ["ALIASES", "apply"]

ALIASES = (
    ("react", "on_receive"),
    ("post_start", "on_start"),
    ("pre_stop", "on_stop"),
)
"""The 2011 hook names, each with the hook it stands for."""

_made_from_2011: weakref.WeakSet[Any] = weakref.WeakSet()
"""The hooks that :func:`apply` made from a 2011 name."""


def apply(cls: type, base: type) -> None:
    """Make the 2011 hooks that `cls` defines its modern hooks, where they apply.

    `base` is ``Actor``: a hook still inherited from it, or one made from a
    2011 name in a base class, is replaced; one that a base wrote is not.
    """
    for old, new in ALIASES:
        hook = cls.__dict__.get(old)
        if hook is None or new in cls.__dict__:
            continue
        inherited = getattr(cls, new)
        if inherited is getattr(base, new) or inherited in _made_from_2011:
            setattr(cls, new, hook)
            with contextlib.suppress(TypeError):  # (not weakly referable)
                _made_from_2011.add(hook)
