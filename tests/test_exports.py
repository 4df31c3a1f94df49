"""The public surface, pinned: a change to it must change this file too."""

from __future__ import annotations

import types

import pytest

import limelight
import limelight.asyncio
import limelight.debug
import limelight.messages
import limelight.observe
import limelight.process
import limelight.ray
import limelight.testing
import limelight.typing

PUBLIC_API = {
    limelight: [
        "Actor",
        "ActorDeadError",
        "ActorProxy",
        "ActorRef",
        "ActorRegistry",
        "CallableProxy",
        "ChildSpec",
        "DeadLetter",
        "DeadLetters",
        "DeadlockError",
        "Future",
        "LinkedActorFailed",
        "MailboxFull",
        "Pool",
        "PoolRef",
        "Routing",
        "Supervisor",
        "ThreadingActor",
        "ThreadingFuture",
        "Timeout",
        "Timer",
        "TooManyRestartsError",
        "__version__",
        "get_all",
        "traversable",
    ],
    limelight.messages: ["ProxyCall", "ProxyGetAttr", "ProxySetAttr", "Terminated"],
    limelight.typing: ["ActorMemberMixin", "proxy_field", "proxy_method"],
    limelight.debug: ["log_thread_tracebacks"],
    limelight.asyncio: ["AsyncioActor", "AsyncioFuture"],
    limelight.process: [
        "ProcessActor",
        "ProcessFuture",
        "RemoteRef",
        "configure",
        "shutdown",
        "workers",
    ],
    limelight.ray: [
        "ActorUnavailableError",
        "PlacementTimeout",
        "RayActor",
        "RayFuture",
        "RayRef",
        "Starter",
        "configure",
        "init",
        "lookup",
        "shutdown",
    ],
    limelight.observe: [
        "ActorInfo",
        "ActorState",
        "Endpoint",
        "default_socket_path",
        "instrument",
        "propagate_context",
        "serve",
        "snapshot",
    ],
    limelight.testing: [
        "ManualActor",
        "ManualFuture",
        "ManualScheduler",
        "Probe",
        "no_leaks",
        "scheduler",
    ],
}

try:
    import limelight.gevent
except ImportError:  # pragma: no cover -- gevent is installed for the tests
    pass
else:
    PUBLIC_API[limelight.gevent] = ["GeventActor", "GeventFuture"]

try:
    import limelight.eventlet
except ImportError:  # pragma: no cover -- eventlet is installed for the tests
    pass
else:
    PUBLIC_API[limelight.eventlet] = ["EventletActor", "EventletFuture"]

PUBLIC_SUBMODULES = {
    "actor",
    "as_pykka",
    "asyncio",
    "debug",
    "eventlet",
    "future",
    "gevent",
    "messages",
    "observe",
    "process",
    "proxy",
    "pytest_plugin",
    "ray",
    "registry",
    "testing",
    "typing",
}
"""Submodules of `limelight` that may show up in ``dir(limelight)`` once imported."""


MODULES = [
    limelight,
    limelight.asyncio,
    limelight.messages,
    limelight.typing,
    limelight.debug,
    limelight.testing,
    limelight.process,
    limelight.ray,
]


def public_names(module: types.ModuleType) -> set[str]:
    # (Not identifiers, so never importable: "@py_builtins" and "@pytest_ar",
    # which pytest's assertion rewriting adds to a package that ships a
    # pytest plugin, as Limelight does, once it is installed.)
    return {
        name for name in dir(module) if not name.startswith("_") and name.isidentifier()
    }


@pytest.mark.parametrize("module", PUBLIC_API, ids=lambda m: m.__name__)
def test_all_is_exactly_the_pinned_sorted_list(module: types.ModuleType) -> None:
    expected = PUBLIC_API[module]
    assert expected == sorted(expected)

    assert module.__all__ == expected


@pytest.mark.parametrize("module", PUBLIC_API, ids=lambda m: m.__name__)
def test_every_name_in_all_exists(module: types.ModuleType) -> None:
    for name in module.__all__:
        assert getattr(module, name) is not None, name


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_nothing_else_is_public(module: types.ModuleType) -> None:
    extra = public_names(module) - set(module.__all__)

    submodules = {
        name
        for name in extra
        if isinstance(getattr(module, name), types.ModuleType)
        and getattr(module, name).__name__ == f"{module.__name__}.{name}"
    }
    assert submodules <= PUBLIC_SUBMODULES
    assert extra - submodules == set()


def test_version_is_a_string() -> None:
    assert isinstance(limelight.__version__, str)
    assert limelight.__version__.count(".") == 2


def test_the_public_classes_say_they_are_limelight_s() -> None:
    for name in PUBLIC_API[limelight]:
        obj = getattr(limelight, name)
        if isinstance(obj, type):
            assert obj.__module__.startswith("limelight"), name
