"""Pytest plugin: let Mopidy 4.0.5 import on a GStreamer older than 1.26.2.

When ``mopidy._lib.gi`` is first imported, it exits the process unless
``Gst.version()`` is at least (1, 26, 2). Debian 12 has GStreamer 1.22, which
has all that Mopidy's and Mopidy-MPD's test suites use. Loaded early, with
``-p gst_version_shim`` (this folder on ``PYTHONPATH``), this plugin imports
that module once while ``Gst.version()`` answers 1.26.2, then puts the real
function back: everything after, tests included, sees the real version.

``gi`` and ``mopidy`` are imported by name at run time, so that type checkers
need neither installed.
"""

from __future__ import annotations

import importlib

PRETENDED_VERSION = (1, 26, 2, 0)
"""What ``Gst.version()`` answers while ``mopidy._lib.gi`` is imported."""

_ABSENT = object()


def _pretended_version() -> tuple[int, int, int, int]:
    return PRETENDED_VERSION


def import_mopidy_gi() -> None:
    """Import ``mopidy._lib.gi`` with ``Gst.version()`` answering 1.26.2."""
    gi = importlib.import_module("gi")
    gi.require_version("Gst", "1.0")
    gst = importlib.import_module("gi.repository.Gst")
    # The module object's own attributes: PyGObject looks a name up in the
    # typelib only when it is not there, so setting one here shadows it, and
    # removing it again brings the real function back.
    namespace = vars(gst)
    saved = namespace.get("version", _ABSENT)
    namespace["version"] = _pretended_version
    try:
        importlib.import_module("mopidy._lib.gi")
    finally:
        if saved is _ABSENT:
            del namespace["version"]
        else:
            namespace["version"] = saved


import_mopidy_gi()
