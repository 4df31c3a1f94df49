"""Which libraries Limelight is measured against are here to be measured."""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
from dataclasses import dataclass

__all__ = ["PYKKA_VERSION", "Availability", "detect_pykka"]

PYKKA_VERSION = "4.5.0"
"""The Pykka release Limelight is a drop-in replacement for, and is measured against."""


@dataclass(frozen=True)
class Availability:
    """Whether a library can be measured, which version, and anything worth saying."""

    version: str | None
    """The installed version; `None` if the library cannot be measured."""

    note: str = ""
    """Why it cannot be measured, or a caveat about the version found."""

    @property
    def available(self) -> bool:
        """Whether the library can be measured."""
        return self.version is not None


def detect_pykka() -> Availability:
    """Find out whether ``import pykka`` gives the real Pykka.

    It does not when Pykka is not installed (it needs Python 3.11 or newer),
    nor when ``limelight.as_pykka`` made ``pykka`` an alias of Limelight.
    """
    try:
        pykka = importlib.import_module("pykka")
    except ImportError:
        return Availability(
            None,
            f"Pykka is not installed, so its column is left out: install it with "
            f"`pip install 'limelight[bench]'` (Pykka {PYKKA_VERSION} needs "
            f"Python 3.11 or newer; this is {platform.python_version()})",
        )
    if pykka.__name__ != "pykka":
        return Availability(
            None,
            "`import pykka` gives Limelight here (limelight.as_pykka is active), "
            "so Pykka's column is left out",
        )
    try:
        version = importlib.metadata.version("pykka")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    note = ""
    if version != PYKKA_VERSION:
        note = (
            f"Pykka {version} found; the targets are set against Pykka {PYKKA_VERSION}"
        )
    return Availability(version, note)
