"""A pytest plugin: run Pykka 4.5's own test suite on another Limelight runtime.

Pykka's suite takes its actor and future classes from ``pykka.ThreadingActor``
and ``pykka.ThreadingFuture``, both in a ``runtime`` fixture and by name, so
under ``limelight.as_pykka`` alone it tests the threading runtime. Loaded
with the shim, this plugin gives the suite a ``pykka`` module in which those
two names are another runtime's classes; everything else in it is Limelight's,
as under the shim. Pick the runtime with ``--pykka-runtime`` or, failing
that, the ``PYKKA_RUNTIME`` environment variable (default: ``threading``,
which changes nothing). From the unpacked sdist, with this file's folder on
``PYTHONPATH``::

    pytest -p limelight.as_pykka -p pykka_on_runtime --pykka-runtime=gevent tests

The ``pykka_suite`` nox session runs the suite so on each of :data:`RUNTIMES`.
For gevent and eventlet the plugin monkey-patches the program first, as a
program that runs on a greenlet library does, so that the suite's
``threading.Event`` and ``time.sleep`` wait cooperatively; it does so before
the suite is imported and before any thread or actor starts. (Limelight is
imported earlier, by the shim: it reads whether the program is patched when
it starts an actor, not at import.) The tests that cannot hold on a runtime
are deselected, each for the reason given in :data:`RUNTIMES`.

Left out, because the suite cannot run there at all: process actors and Ray
actors get pickled copies of their class and arguments, but the suite's actor
classes are defined inside fixtures and test functions, and are given
``threading.Event`` objects, which the test then waits on for the actor to
set: most tests cannot even start their actor there (on process actors, 42
of the 151 tests pass).
"""

from __future__ import annotations

import importlib
import os
import sys
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import limelight

OPTION = "--pykka-runtime"
ENVIRONMENT_VARIABLE = "PYKKA_RUNTIME"
DEFAULT = "threading"

Classes = tuple[type[limelight.Actor], type[limelight.Future[Any]]]
"""A runtime's actor class and future class."""

# The tests of `tests/test_threading_actor.py` check the OS thread that a
# `ThreadingActor` runs in, looking it up in `threading.enumerate()` by the
# actor class's name: the other runtimes do not run an actor in a thread of
# its own (an asyncio actor is callbacks on the `limelight-asyncio` loop's
# thread; a green actor, in a patched program, a greenlet in the main thread's
# hub), so there is no such thread, and `use_daemon_thread` means nothing.
NO_THREAD_OF_ITS_OWN = {
    "tests/test_threading_actor.py::"
    "test_actor_thread_is_named_after_pykka_actor_class": (
        "no thread is named after the actor's class: the actor has no thread"
    ),
    "tests/test_threading_actor.py::test_actor_thread_is_not_daemonic_by_default": (
        "no thread is named after the actor's class to check the daemon flag of"
    ),
    "tests/test_threading_actor.py::"
    "test_actor_thread_is_daemonic_if_use_daemon_thread_flag_is_set": (
        "no thread is named after the actor's class to check the daemon flag of"
    ),
}


@dataclass(frozen=True)
class Runtime:
    """A runtime that Pykka's suite runs on, and how to set it up."""

    classes: Callable[[], Classes]
    """Prepare the program for the runtime; return its classes."""

    deselected: dict[str, str]
    """The ids of the tests left out on this runtime, each with the reason."""


def _threading() -> Classes:
    return limelight.ThreadingActor, limelight.ThreadingFuture


def _asyncio() -> Classes:
    # Not patched: asyncio actors started from the suite's plain code live on
    # Limelight's background loop, and the test waits in its own thread.
    from limelight.asyncio import AsyncioActor, AsyncioFuture  # noqa: PLC0415

    return AsyncioActor, AsyncioFuture


def _gevent() -> Classes:
    from gevent import monkey  # noqa: PLC0415 -- only for this runtime

    monkey.patch_all()
    from limelight.gevent import GeventActor, GeventFuture  # noqa: PLC0415

    return GeventActor, GeventFuture


def _eventlet() -> Classes:
    with warnings.catch_warnings():
        # eventlet says, when imported, that it is in maintenance mode.
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        eventlet: Any = importlib.import_module("eventlet")  # (no types)
    eventlet.monkey_patch()
    from limelight.eventlet import EventletActor, EventletFuture  # noqa: PLC0415

    return EventletActor, EventletFuture


RUNTIMES = {
    "threading": Runtime(_threading, deselected={}),
    "asyncio": Runtime(_asyncio, deselected=NO_THREAD_OF_ITS_OWN),
    "gevent": Runtime(_gevent, deselected=NO_THREAD_OF_ITS_OWN),
    "eventlet": Runtime(_eventlet, deselected=NO_THREAD_OF_ITS_OWN),
}
"""The runtimes that Pykka's suite runs on, by name."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare ``--pykka-runtime``."""
    parser.addoption(
        OPTION,
        choices=sorted(RUNTIMES),
        default=os.environ.get(ENVIRONMENT_VARIABLE, DEFAULT),
        help=(
            "the Limelight runtime whose classes pykka.ThreadingActor and "
            f"pykka.ThreadingFuture are (default: ${ENVIRONMENT_VARIABLE}, "
            f"else {DEFAULT})"
        ),
    )


def _runtime_name(config: pytest.Config) -> str:
    # (Read from the options parsed early: `config.option` is filled in only
    # after the initial conftests are loaded.)
    name = str(getattr(config.known_args_namespace, "pykka_runtime", DEFAULT))
    if name not in RUNTIMES:  # from the environment: not checked by choices
        msg = f"{ENVIRONMENT_VARIABLE}={name!r}: choose one of {sorted(RUNTIMES)}"
        raise pytest.UsageError(msg)
    return name


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before the suite's conftest imports ``pykka``, give it the runtime's."""
    name = _runtime_name(early_config)
    if sys.modules.get("pykka") is not limelight:
        msg = "pykka_on_runtime needs the shim too: add -p limelight.as_pykka"
        raise pytest.UsageError(msg)
    if name == DEFAULT:
        return
    actor_class, future_class = RUNTIMES[name].classes()
    # A module of its own: Limelight's names stay what they are for everyone
    # else, Limelight's own modules included.
    pykka = types.ModuleType(limelight.__name__, limelight.__doc__)
    vars(pykka).update(
        vars(limelight), ThreadingActor=actor_class, ThreadingFuture=future_class
    )
    sys.modules["pykka"] = pykka


def pytest_configure(config: pytest.Config) -> None:
    """Deselect the tests that cannot hold on the runtime, as ``--deselect``."""
    deselected = RUNTIMES[_runtime_name(config)].deselected
    config.option.deselect = [*(config.option.deselect or []), *deselected]


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which runtime the suite runs on, and which tests are left out why."""
    name = _runtime_name(config)
    pykka = sys.modules["pykka"]
    lines = [
        f"pykka runtime: {name} (pykka.ThreadingActor is "
        f"{pykka.ThreadingActor.__qualname__}, pykka.ThreadingFuture is "
        f"{pykka.ThreadingFuture.__qualname__})"
    ]
    lines += [
        f"  deselected {test}: {why}" for test, why in RUNTIMES[name].deselected.items()
    ]
    return lines
