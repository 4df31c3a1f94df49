"""Traversable attributes: proxies that reach into an actor's objects."""

from __future__ import annotations

from typing import cast

import pytest

import limelight
from tests.conformance.actors import TIMEOUT
from tests.runtimes import Runtime


class Volume:
    """A plain object: proxies hand out copies of it, unless it is marked."""

    def __init__(self) -> None:
        self.level = 50

    def louder(self, step: int = 10) -> int:
        self.level += step
        return self.level


class MarkedByClassAttribute(Volume):
    pykka_traversable = True


@limelight.traversable
class MarkedByDecorator(Volume):
    pass


class Mixer:
    """Two levels deep: the mixer holds a traversable volume."""

    pykka_traversable = True

    def __init__(self) -> None:
        self.volume = MarkedByClassAttribute()
        self.muted = False

    def mute(self) -> bool:
        self.muted = True
        return self.muted


class Slotted:
    __slots__ = ("level",)

    def __init__(self) -> None:
        self.level = 1


class SlottedButMarked:
    __slots__ = ("level",)
    pykka_traversable = True

    def __init__(self) -> None:
        self.level = 1

    def read(self) -> int:
        return self.level


class Player(limelight.Actor):
    def __init__(self) -> None:
        super().__init__()
        self.plain = Volume()
        self.by_class = MarkedByClassAttribute()
        self.by_decorator = MarkedByDecorator()
        self.by_function = limelight.traversable(Volume())
        self.by_instance_attribute = Volume()
        self.by_instance_attribute.pykka_traversable = True  # type: ignore[attr-defined]
        self.mixer = Mixer()
        self.slotted = SlottedButMarked()
        self.looping = MarkedByClassAttribute()
        self.looping.myself = self.looping  # type: ignore[attr-defined]

    def where(self) -> str:
        return "player"


TRAVERSABLES = ["by_class", "by_decorator", "by_function", "by_instance_attribute"]


@pytest.mark.parametrize("name", TRAVERSABLES)
def test_a_marked_attribute_gives_a_proxy_that_runs_in_the_actor(
    runtime: Runtime, name: str
) -> None:
    ref = runtime.actor(Player).start()
    proxy = ref.proxy()

    found = getattr(proxy, name)

    assert isinstance(found, limelight.ActorProxy)
    sub = cast("limelight.ActorProxy[Player]", found)
    assert sub.actor_ref == ref
    assert sub.louder(5).get(TIMEOUT) == 55
    assert sub.level.get(TIMEOUT) == 55  # the actor's object changed, not a copy
    assert repr(sub) == f"<ActorProxy for {ref}, attr_path=({name!r},)>"


def test_an_unmarked_attribute_gives_a_future_of_the_object(runtime: Runtime) -> None:
    proxy = runtime.actor(Player).start().proxy()

    future = proxy.plain
    with pytest.raises(AttributeError):
        future.louder  # noqa: B018 -- a future has no such attribute

    copy = future.get(TIMEOUT)
    assert isinstance(copy, Volume)
    assert copy.louder() == 60  # runs here, in the caller


def test_attributes_of_a_traversable_can_be_read_and_set(runtime: Runtime) -> None:
    ref = runtime.actor(Player).start()
    writer, reader = ref.proxy(), ref.proxy()

    writer.by_class.level = 3

    assert reader.by_class.level.get(TIMEOUT) == 3
    assert reader.by_class.louder(1).get(TIMEOUT) == 4


def test_traversal_nests(runtime: Runtime) -> None:
    proxy = runtime.actor(Player).start().proxy()

    assert proxy.mixer.volume.louder(1).get(TIMEOUT) == 51
    assert proxy.mixer.volume.level.get(TIMEOUT) == 51
    assert proxy.mixer.mute().get(TIMEOUT) is True
    assert proxy.mixer.muted.get(TIMEOUT) is True


def test_traversable_proxies_are_cached(runtime: Runtime) -> None:
    proxy = runtime.actor(Player).start().proxy()

    first = proxy.mixer
    second = proxy.mixer

    assert first is second
    assert first.volume is second.volume


def test_traversable_proxies_compare_by_actor_and_path(runtime: Runtime) -> None:
    ref = runtime.actor(Player).start()
    first, second = ref.proxy(), ref.proxy()

    assert first.mixer == second.mixer
    assert hash(first.mixer) == hash(second.mixer)
    assert first.mixer != first
    assert first.mixer != first.mixer.volume
    assert first.by_class != first.by_decorator


def test_dir_of_a_traversable_proxy_lists_its_own_attributes(runtime: Runtime) -> None:
    proxy = runtime.actor(Player).start().proxy()

    names = set(dir(proxy.mixer))

    assert {"volume", "mute", "muted"} <= names
    assert "where" not in names


def test_a_marked_object_with_slots_traverses(runtime: Runtime) -> None:
    proxy = runtime.actor(Player).start().proxy()

    assert proxy.slotted.read().get(TIMEOUT) == 1


def test_a_traversable_that_contains_itself_does_not_loop(runtime: Runtime) -> None:
    proxy = runtime.actor(Player).start().proxy()  # introspection terminates

    assert proxy.looping.louder(1).get(TIMEOUT) == 51
    assert isinstance(proxy.looping.myself, limelight.ActorProxy)


def test_the_traversable_marker_cannot_go_on_an_object_with_slots() -> None:
    with pytest.raises(ValueError, match="slots"):
        limelight.traversable(Slotted())


def test_traversable_returns_what_it_marks() -> None:
    volume = Volume()

    assert limelight.traversable(volume) is volume
    assert limelight.traversable(Volume) is Volume
