"""Classes made at run time, and finding classes by name in the other process.

Pickle sends a class by its module and qualified name, and the other
process imports it. A class made at run time, such as
``type("Echo", (Echo, ProcessActor), {})`` in a factory or a decorator,
cannot be found that way. If it only combines classes that can be found
(its body adds nothing), it is sent as that combination instead, and the
other process makes the same combination once and reuses it.
"""

from __future__ import annotations

import pickle
import sys
import threading
from typing import Any

from limelight._core._actor import Actor
from limelight._core._fork import released_at_fork

__all__ = ["find_class", "reduce_class"]

# What every class has in its own namespace, whatever its body: a class that
# holds nothing else is the combination of its bases.
_CLASS_BOOKKEEPING = frozenset(
    {
        "__module__",
        "__qualname__",
        "__doc__",
        "__dict__",
        "__weakref__",
        "__slotnames__",  # (copyreg's cache)
        "__abstractmethods__",  # (ABCMeta: Actor is an abc.ABC, as on Pykka)
        "_abc_impl",  # (ABCMeta's caches)
        "__firstlineno__",  # (a class statement, Python 3.13+)
        "__static_attributes__",  # (a class statement, Python 3.13+)
    }
)

# The combinations made here, by (module, qualname, bases), so that each is
# made once; and the latest by (module, qualname), so that refs find them.
_combinations: dict[tuple[str, str, tuple[type, ...]], type] = {}
_combinations_by_name: dict[tuple[str, str], type] = {}
_combinations_lock = released_at_fork(threading.Lock())


def reduce_class(cls: type) -> Any:
    """Send `cls` by name if it can be found so, else as a combination, else refuse."""
    module, qualname = cls.__module__, cls.__qualname__
    if _lookup(module, qualname) is cls:
        return NotImplemented  # by name, as pickle does
    extra = sorted(set(vars(cls)) - _CLASS_BOOKKEEPING)
    if extra and not issubclass(cls, Actor):
        return NotImplemented  # pickle's own rules (it sends type(None), say)
    if extra:
        msg = (
            f"class {module}.{qualname} cannot be imported by that name in another "
            "process: define it at the top level of a module (not in a function, "
            "nor in the __main__ of a script started with 'spawn'); a class made "
            "at run time can cross only if its body is empty, as in "
            "type(name, (Behaviour, ProcessActor), {}) "
            f"(this one defines {', '.join(extra)})"
        )
        raise pickle.PicklingError(msg)
    with _combinations_lock:
        _combinations_by_name[module, qualname] = cls
    return _combine, (cls.__name__, module, qualname, cls.__bases__, cls.__doc__)


def _combine(
    name: str, module: str, qualname: str, bases: tuple[type, ...], doc: str | None
) -> type:
    """The class that combines `bases`, named so, made once in this process."""
    key = (module, qualname, bases)
    with _combinations_lock:
        cls = _combinations.get(key)
        if cls is None:
            namespace = {"__module__": module, "__qualname__": qualname, "__doc__": doc}
            cls = _combinations[key] = type(name, bases, namespace)
        _combinations_by_name[module, qualname] = cls
        return cls


def _lookup(module: str, qualname: str) -> Any:
    """What `qualname` names in module `module` if it is imported here, else None."""
    obj: Any = sys.modules.get(module)
    for name in qualname.split("."):
        obj = getattr(obj, name, None)
    return obj


def find_class(module: str, qualname: str) -> type[Actor]:
    """The class named so if its module is imported here, else ``Actor``.

    A combination made at run time (see `_combine`) is found by its name
    too. Only a reader thread calls this: it must not import modules (their
    import could run anything), so a class that is not at hand is not used.
    """
    obj = _combinations_by_name.get((module, qualname)) or _lookup(module, qualname)
    return obj if isinstance(obj, type) and issubclass(obj, Actor) else Actor
