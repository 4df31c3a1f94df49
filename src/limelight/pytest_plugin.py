"""Limelight's pytest plugin: leak checks and probes as fixtures.

Installed with Limelight (through the ``pytest11`` entry point), so pytest
loads it by itself; it changes nothing until a suite asks for it:

- the ``limelight_no_leaks`` fixture runs a test inside
  [`limelight.testing.no_leaks()`][limelight.testing.no_leaks];
- ``limelight_no_leaks = true`` in the pytest configuration does that for
  every test, and the ``limelight_no_leaks`` marker for some: mark a test,
  a class or a module (``pytestmark``). The marker's keyword arguments
  override the check's options: ``timeout``, ``running_actors``, and
  ``enabled=False`` to leave a test out;
- ``limelight_leak_timeout`` in the configuration sets the default timeout;
- the ``limelight_probe`` fixture is a started
  [`Probe`][limelight.testing.Probe], stopped after the test.

A leak fails the test at teardown: pytest reports it as an error of the
test, with the list of what leaked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from limelight import testing

__all__ = ["limelight_no_leaks", "limelight_probe"]

_MARKER = "limelight_no_leaks"
_INI_ENABLED = "limelight_no_leaks"
_INI_TIMEOUT = "limelight_leak_timeout"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the ini options."""
    parser.addini(
        _INI_ENABLED,
        type="bool",
        default=False,
        help="check every test for leaked Limelight actors, threads and tasks",
    )
    parser.addini(
        _INI_TIMEOUT,
        default=str(testing.DEFAULT_TIMEOUT),
        help="seconds the Limelight leak check waits for things to stop",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so that ``--strict-markers`` accepts it; check the ini."""
    _ini_timeout(config)  # a typo fails the run at once, not every test
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(enabled=True, timeout=None, running_actors='stop'): check "
        "that the test leaks no Limelight actor, thread or asyncio task",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(_MARKER)
    options: dict[str, Any] = {} if marker is None else dict(marker.kwargs)
    options.pop("enabled", None)
    if options.get("timeout") is None:
        options["timeout"] = _ini_timeout(request.config)
    return options


def _ini_timeout(config: pytest.Config) -> float:
    value = config.getini(_INI_TIMEOUT)
    try:
        return float(value)
    except ValueError:
        msg = f"{_INI_TIMEOUT} must be a number of seconds, got {value!r}"
        raise pytest.UsageError(msg) from None


@pytest.fixture
def limelight_no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run the test inside [`no_leaks()`][limelight.testing.no_leaks].

    Actors the test leaves running are stopped after it; a leak fails it.
    Request it before the fixtures that start actors (first in the
    argument list), so that it checks after their own clean-up.
    """
    with testing.no_leaks(**_options(request)):
        yield


@pytest.fixture(autouse=True)
def _limelight_leak_check_if_asked(request: pytest.FixtureRequest) -> None:
    """Apply the leak check where the configuration or a marker asks for it."""
    marker = request.node.get_closest_marker(_MARKER)
    if marker is None:
        enabled = bool(request.config.getini(_INI_ENABLED))
    else:
        enabled = bool(marker.kwargs.get("enabled", True))
    if enabled:
        request.getfixturevalue("limelight_no_leaks")


@pytest.fixture
def limelight_probe() -> Iterator[testing.Probe]:
    """A started [`Probe`][limelight.testing.Probe], stopped after the test."""
    with testing.Probe.start() as probe:
        yield probe
