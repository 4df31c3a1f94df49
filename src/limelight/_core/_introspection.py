"""Finding out what a proxy can offer: which attributes, callable or traversable.

Attributes are read from the instance's and classes' ``__dict__`` rather than
with ``getattr()``, so that inspecting an actor from the caller's thread never
runs a property or other descriptor of the actor: only the actor may run its
own code. Names starting with ``_`` are private and never proxied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, cast

from limelight._core._log import logger

if TYPE_CHECKING:
    from limelight._core._ref import ActorRef
    from limelight._core._types import AttrPath

__all__ = ["AttrInfo", "introspect", "is_traversable", "resolve"]


TRAVERSABLE_MARKERS = ("_pykka_traversable", "pykka_traversable")
"""Attribute names whose value ``True`` marks an object as traversable."""


class AttrInfo(NamedTuple):
    """What a proxy needs to know about one attribute."""

    callable: bool
    traversable: bool


def is_traversable(obj: Any) -> bool:
    """Whether `obj` was marked traversable (see `limelight.traversable`)."""
    return any(getattr(obj, marker, False) is True for marker in TRAVERSABLE_MARKERS)


def resolve(root: Any, attr_path: AttrPath) -> Any:
    """Return the attribute at `attr_path` below `root`, as ``getattr()`` sees it."""
    obj = root
    for name in attr_path:
        obj = getattr(obj, name)
    return obj


def _static_attrs(obj: Any) -> dict[str, Any]:
    """The attributes of `obj` from its own and its classes' ``__dict__``."""
    attrs: dict[str, Any] = {}
    for cls in reversed(type(obj).__mro__):
        attrs.update(vars(cls))
    instance_dict: object = getattr(obj, "__dict__", None)
    if isinstance(instance_dict, dict):
        attrs.update(cast("dict[str, Any]", instance_dict))
    return attrs


def introspect(actor: Any, actor_ref: ActorRef[Any]) -> dict[AttrPath, AttrInfo]:
    """Describe every public attribute of `actor`, descending into traversables."""
    from limelight._core._proxy import ActorProxy  # noqa: PLC0415 -- import cycle

    result: dict[AttrPath, AttrInfo] = {}
    # Each entry carries the ids of the objects above it, so that a traversable
    # that (indirectly) contains itself is not descended into forever.
    to_visit: list[tuple[Any, AttrPath, frozenset[int]]] = [(actor, (), frozenset())]
    while to_visit:
        parent, parent_path, ancestors = to_visit.pop()
        ancestors = ancestors | {id(parent)}
        for name, attr in _static_attrs(parent).items():
            if name.startswith("_"):
                continue
            path = (*parent_path, name)
            if isinstance(attr, ActorProxy):
                if attr.actor_ref == actor_ref:  # pyright: ignore[reportUnknownMemberType]
                    # Proxying a proxy to ourselves would recurse forever.
                    logger.warning(
                        f"{actor} attribute {'.'.join(path)!r} is a proxy to "
                        f"itself. Consider making it private by renaming it "
                        f"to {'_' + name!r}."
                    )
                    continue
                result[path] = AttrInfo(callable=False, traversable=False)
                continue
            info = AttrInfo(callable=callable(attr), traversable=is_traversable(attr))
            result[path] = info
            if info.traversable and id(attr) not in ancestors:
                to_visit.append((attr, path, ancestors))
    return result
