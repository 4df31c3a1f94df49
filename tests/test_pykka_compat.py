"""Limelight offers every public name of Pykka, called the same way.

Compared against the real Pykka when it is installed (it needs Python 3.11
or newer); skipped otherwise.
"""

from __future__ import annotations

import importlib
import inspect
import types
from collections.abc import Callable
from typing import Any

import pytest

import limelight

pykka = pytest.importorskip("pykka")
if pykka is limelight:  # pragma: no cover -- the shim is active in this process
    pytest.skip("`pykka` is Limelight here", allow_module_level=True)

SUBMODULES = ["messages", "typing", "debug"]
MODULE_PAIRS = [(pykka, limelight)] + [
    (
        importlib.import_module(f"pykka.{name}"),
        importlib.import_module(f"limelight.{name}"),
    )
    for name in SUBMODULES
]


def public_names(module: types.ModuleType) -> list[str]:
    names: list[str] | None = getattr(module, "__all__", None)
    if names is None:  # pykka.messages has no __all__: its own public classes
        names = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and getattr(value, "__module__", None) == module.__name__
        ]
    return sorted(names)


def param(label: str, theirs: object, ours: object) -> Any:
    return pytest.param(label, theirs, ours, id=label)


def callables() -> list[Any]:
    """A param (label, Pykka's callable, Limelight's) for each public callable."""
    found: list[Any] = []
    for theirs_module, ours_module in MODULE_PAIRS:
        for name in public_names(theirs_module):
            theirs = getattr(theirs_module, name)
            ours = getattr(ours_module, name, None)
            label = f"{ours_module.__name__}.{name}"
            if not isinstance(theirs, type):
                if callable(theirs):
                    found.append(param(label, theirs, ours))
                continue
            for attr, value in vars(theirs).items():
                public = not attr.startswith("_") or attr == "__init__"
                if public and (callable(value) or isinstance(value, classmethod)):
                    found.append(
                        param(
                            f"{label}.{attr}",
                            getattr(theirs, attr),
                            getattr(ours, attr, None),
                        )
                    )
    return found


@pytest.mark.parametrize(("theirs", "ours"), MODULE_PAIRS, ids=lambda m: m.__name__)
def test_every_public_name_of_pykka_exists(
    theirs: types.ModuleType, ours: types.ModuleType
) -> None:
    missing = [name for name in public_names(theirs) if not hasattr(ours, name)]

    assert missing == []


@pytest.mark.parametrize(("label", "theirs", "ours"), callables())
def test_callables_take_the_same_parameters(
    label: str, theirs: Callable[..., Any], ours: Callable[..., Any] | None
) -> None:
    assert ours is not None, f"{label} is missing"
    their_params = inspect.signature(theirs).parameters
    our_params = inspect.signature(ours).parameters
    ours_by_kind = {p.kind for p in our_params.values()}

    for name, theirs_param in their_params.items():
        if theirs_param.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            assert theirs_param.kind in ours_by_kind, f"{label}: no {theirs_param}"
            continue
        assert name in our_params, f"{label}: no parameter {name!r}"
        our_param = our_params[name]
        if theirs_param.kind is not inspect.Parameter.KEYWORD_ONLY:
            # Keyword-only in Pykka may be looser here; the reverse breaks callers.
            assert our_param.kind is theirs_param.kind, f"{label}: {name!r} kind"
        assert our_param.default == theirs_param.default, f"{label}: {name!r} default"
