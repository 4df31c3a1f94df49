"""The registry of running actors."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest import mock

import pytest

import limelight
from limelight import ActorRegistry
from tests.conformance.actors import TIMEOUT, Recorder
from tests.runtimes import Runtime


class Animal(limelight.Actor):
    def __init__(self, heard: list[Any]) -> None:
        super().__init__()
        self.heard = heard

    def on_receive(self, message: Any) -> Any:
        self.heard.append((type(self).__name__, message))


class Dog(Animal):
    pass


class Cat(Animal):
    pass


class Stopper(limelight.Actor):
    """Records its name in a shared list when it stops."""

    def __init__(self, name: str, stopped: list[str]) -> None:
        super().__init__()
        self.name = name
        self.stopped = stopped

    def on_stop(self) -> None:
        self.stopped.append(self.name)


def test_get_all_lists_running_actors_in_start_order(runtime: Runtime) -> None:
    heard = runtime.shared_list()
    refs = [runtime.actor(cls).start(heard) for cls in (Dog, Cat, Dog)]

    assert ActorRegistry.get_all() == refs

    refs[1].stop(timeout=TIMEOUT)

    assert ActorRegistry.get_all() == [refs[0], refs[2]]


def test_get_by_class_includes_subclasses(runtime: Runtime) -> None:
    heard = runtime.shared_list()
    dog = runtime.actor(Dog).start(heard)
    cat = runtime.actor(Cat).start(heard)

    assert ActorRegistry.get_by_class(runtime.actor(Dog)) == [dog]
    assert ActorRegistry.get_by_class(Dog) == [dog]
    assert ActorRegistry.get_by_class(Animal) == [dog, cat]
    assert ActorRegistry.get_by_class(limelight.Actor) == [dog, cat]
    assert ActorRegistry.get_by_class(runtime.actor_class) == [dog, cat]
    assert ActorRegistry.get_by_class(Stopper) == []


def test_get_by_class_name_matches_the_exact_name(runtime: Runtime) -> None:
    heard = runtime.shared_list()
    dog = runtime.actor(Dog).start(heard)
    runtime.actor(Cat).start(heard)

    assert ActorRegistry.get_by_class_name("Dog") == [dog]
    assert ActorRegistry.get_by_class_name("Animal") == []
    assert ActorRegistry.get_by_class_name("Nothing") == []


def test_get_by_urn_finds_a_running_actor_only(runtime: Runtime) -> None:
    ref = runtime.actor(Dog).start(runtime.shared_list())

    assert ActorRegistry.get_by_urn(ref.actor_urn) == ref
    assert ActorRegistry.get_by_urn("urn:uuid:not-an-actor") is None

    ref.stop(timeout=TIMEOUT)

    assert ActorRegistry.get_by_urn(ref.actor_urn) is None


def test_broadcast_to_all(runtime: Runtime) -> None:
    heard = runtime.shared_list()
    refs = [runtime.actor(cls).start(heard) for cls in (Dog, Cat)]

    ActorRegistry.broadcast("hello")
    for ref in refs:
        ref.stop(timeout=TIMEOUT)

    assert sorted(heard) == [("Cat", "hello"), ("Dog", "hello")]


def test_broadcast_by_class(runtime: Runtime) -> None:
    heard = runtime.shared_list()
    refs = [runtime.actor(cls).start(heard) for cls in (Dog, Cat)]

    ActorRegistry.broadcast("woof", target_class=Dog)
    ActorRegistry.broadcast("any animal", target_class=Animal)
    for ref in refs:
        ref.stop(timeout=TIMEOUT)

    assert sorted(heard) == [
        ("Cat", "any animal"),
        ("Dog", "any animal"),
        ("Dog", "woof"),
    ]


def test_broadcast_by_class_name(runtime: Runtime) -> None:
    heard = runtime.shared_list()
    refs = [runtime.actor(cls).start(heard) for cls in (Dog, Cat)]

    ActorRegistry.broadcast("meow", target_class="Cat")
    for ref in refs:
        ref.stop(timeout=TIMEOUT)

    assert list(heard) == [("Cat", "meow")]


def test_broadcast_skips_an_actor_that_stopped_meanwhile(runtime: Runtime) -> None:
    heard = runtime.shared_list()
    dead = runtime.actor(Dog).start(heard)
    alive = runtime.actor(Cat).start(heard)
    dead.stop(timeout=TIMEOUT)

    with mock.patch.object(ActorRegistry, "get_all", return_value=[dead, alive]):
        ActorRegistry.broadcast("still there?")  # no ActorDeadError
    alive.stop(timeout=TIMEOUT)

    assert list(heard) == [("Cat", "still there?")]


def test_unregister_and_register_by_hand(runtime: Runtime) -> None:
    ref = runtime.actor(Dog).start(runtime.shared_list())

    ActorRegistry.unregister(ref)

    assert ActorRegistry.get_all() == []
    assert ActorRegistry.get_by_urn(ref.actor_urn) is None
    assert ref.is_alive()  # unregistering does not stop the actor
    ActorRegistry.unregister(ref)  # unregistering twice is harmless

    ActorRegistry.register(ref)

    assert ActorRegistry.get_by_urn(ref.actor_urn) == ref


def test_stop_all_stops_in_reverse_start_order(runtime: Runtime) -> None:
    stopped = runtime.shared_list()
    cls = runtime.actor(Stopper)
    refs = [cls.start(name, stopped) for name in ("a", "b", "c", "d")]

    results = ActorRegistry.stop_all()

    assert results == [True, True, True, True]
    assert list(stopped) == ["d", "c", "b", "a"]
    assert not any(ref.is_alive() for ref in refs)
    assert ActorRegistry.get_all() == []


def test_stop_all_async_stops_in_reverse_start_order(runtime: Runtime) -> None:
    # Awaited from a coroutine on a loop of the test's own, whatever runtime
    # the actors run on.
    stopped = runtime.shared_list()
    cls = runtime.actor(Stopper)
    refs = [cls.start(name, stopped) for name in ("a", "b", "c")]

    results = asyncio.run(asyncio.wait_for(ActorRegistry.stop_all_async(), TIMEOUT))

    assert results == [True, True, True]
    assert list(stopped) == ["c", "b", "a"]
    assert not any(ref.is_alive() for ref in refs)
    assert ActorRegistry.get_all() == []


def test_stop_all_without_blocking_returns_futures(runtime: Runtime) -> None:
    log = runtime.shared_list()
    refs = [runtime.actor(Recorder).start(log) for _ in range(3)]

    futures = ActorRegistry.stop_all(block=False)

    assert len(futures) == 3
    assert all(isinstance(f, limelight.Future) for f in futures)
    assert limelight.get_all(futures, timeout=TIMEOUT) == [True, True, True]
    assert not any(ref.is_alive() for ref in refs)


def test_stop_all_with_nothing_running() -> None:
    assert ActorRegistry.stop_all() == []
    assert ActorRegistry.stop_all(block=False) == []


def test_registry_methods_can_be_patched(runtime: Runtime) -> None:
    with mock.patch.object(ActorRegistry, "register") as register:
        ref = runtime.actor(Dog).start(runtime.shared_list())

    register.assert_called_once_with(ref)
    assert ActorRegistry.get_all() == []  # the real register() never ran
    ActorRegistry.register(ref)  # the real one is back

    assert ActorRegistry.get_all() == [ref]

    with mock.patch.object(ActorRegistry, "get_by_urn", return_value=None) as lookup:
        assert ActorRegistry.get_by_urn(ref.actor_urn) is None
    lookup.assert_called_once_with(ref.actor_urn)

    with mock.patch.object(ActorRegistry, "stop_all", return_value=[]) as stop_all:
        assert ActorRegistry.stop_all() == []
    stop_all.assert_called_once_with()
    assert ref.is_alive()


@pytest.mark.parametrize(
    "method", ["get_all", "get_by_class", "broadcast", "unregister"]
)
def test_registry_methods_are_class_level(method: str) -> None:
    assert callable(getattr(ActorRegistry, method))
    with mock.patch.object(ActorRegistry, method) as patched:
        assert getattr(ActorRegistry, method) is patched
    assert getattr(ActorRegistry, method) is not patched
