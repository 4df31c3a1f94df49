"""Actor refs: identity, and sending messages with tell() and ask()."""

from __future__ import annotations

import re
import unittest.mock
from typing import Any

import pytest

import limelight
from tests.conformance.actors import TIMEOUT, Blocker, Echo
from tests.runtimes import Runtime

URN = r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


class SelfAware(limelight.Actor):
    def own_ref(self) -> limelight.ActorRef[Any]:
        return self.actor_ref


def test_refs_to_the_same_actor_are_equal_and_hash_alike(runtime: Runtime) -> None:
    ref = runtime.actor(SelfAware).start()
    found = limelight.ActorRegistry.get_by_urn(ref.actor_urn)
    from_inside = ref.proxy().own_ref().get(TIMEOUT)

    assert found is not None
    assert found == ref
    assert from_inside == ref
    assert hash(found) == hash(ref) == hash(from_inside) == hash(ref.actor_urn)
    assert len({ref, found, from_inside}) == 1
    assert (from_inside != ref) is False


def test_refs_to_different_actors_are_not_equal(runtime: Runtime) -> None:
    cls = runtime.actor(Echo)
    first, second = cls.start(), cls.start()

    assert first != second
    assert len({first, second}) == 2


def test_a_ref_is_not_equal_to_other_objects(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    assert ref != ref.actor_urn
    assert ref != str(ref)
    assert ref != None  # noqa: E711 -- exercising __eq__ with None
    assert ref.__eq__("text") is NotImplemented


def test_repr_and_str_name_the_class_and_urn(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    assert re.fullmatch(rf"Echo \({URN}\)", str(ref))
    assert repr(ref) == f"<ActorRef for Echo ({ref.actor_urn})>"


def test_is_alive_follows_the_actor(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    assert ref.is_alive() is True

    ref.stop(timeout=TIMEOUT)

    assert ref.is_alive() is False


def test_ref_exposes_the_actor_class_urn_and_stopped_event(runtime: Runtime) -> None:
    cls = runtime.actor(Echo)
    ref = cls.start()

    assert ref.actor_class is cls
    assert isinstance(ref.actor_urn, str)
    assert not ref.actor_stopped.is_set()
    ref.stop(block=False)
    assert ref.actor_stopped.wait(TIMEOUT)


class Collector(limelight.Actor):
    """Appends each message to a list shared with the test."""

    def __init__(self, log: list[object]) -> None:
        super().__init__()
        self.log = log

    def on_receive(self, message: object) -> object:
        self.log.append(message)
        return "ignored reply"


def test_tell_returns_none_and_delivers(runtime: Runtime) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(Collector).start(log)

    ref.tell("told")  # a tell has no reply to look at
    ref.ask("asked", timeout=TIMEOUT)

    assert list(log) == ["told", "asked"]


def test_ask_returns_the_reply(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    assert ref.ask({"some": "message"}, timeout=TIMEOUT) == {"some": "message"}
    assert ref.ask("no timeout") == "no timeout"


def test_ask_without_blocking_returns_a_future_of_the_reply(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    future = ref.ask("later", block=False)

    assert isinstance(future, limelight.Future)
    assert isinstance(future, runtime.future_class)
    assert future.get(TIMEOUT) == "later"


def test_ask_times_out_while_the_actor_is_busy_and_the_actor_lives_on(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Blocker).start()
    entered, gate = runtime.event_class(), runtime.event_class()
    blocked = ref.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)

    with pytest.raises(limelight.Timeout):
        ref.ask("stuck behind block()", timeout=0.05)
    late = ref.ask("also stuck", block=False)
    with pytest.raises(limelight.Timeout):
        late.get(timeout=0.01)

    gate.set()
    assert blocked.get(TIMEOUT) is True
    assert ref.is_alive()
    assert ref.proxy().value(42).get(TIMEOUT) == 42


def test_tell_to_a_dead_actor_raises_actor_dead_error(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    ref.stop(timeout=TIMEOUT)

    with pytest.raises(limelight.ActorDeadError, match=re.escape(str(ref))):
        ref.tell("anyone there?")


def test_ask_to_a_dead_actor_raises_actor_dead_error(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    ref.stop(timeout=TIMEOUT)

    with pytest.raises(limelight.ActorDeadError):
        ref.ask("anyone there?", timeout=TIMEOUT)


def test_ask_without_blocking_to_a_dead_actor_returns_a_failing_future(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Echo).start()
    ref.stop(timeout=TIMEOUT)

    future = ref.ask("anyone there?", block=False)  # does not raise

    with pytest.raises(limelight.ActorDeadError):
        future.get(TIMEOUT)


def test_asks_queued_behind_a_stop_fail_with_actor_dead_error(runtime: Runtime) -> None:
    ref = runtime.actor(Blocker).start()
    proxy = ref.proxy()
    entered, gate = runtime.event_class(), runtime.event_class()
    blocked = proxy.block(entered, gate)
    assert entered.wait(TIMEOUT)
    before = proxy.value("before")
    stopping = ref.stop(block=False)
    after = [ref.ask(i, block=False) for i in range(5)]
    after_proxy = proxy.value("after")

    gate.set()

    assert blocked.get(TIMEOUT) is True
    assert before.get(TIMEOUT) == "before"
    assert stopping.get(TIMEOUT) is True
    for future in [*after, after_proxy]:
        with pytest.raises(limelight.ActorDeadError, match="stopped before handling"):
            future.get(TIMEOUT)


def test_proxy_returns_a_proxy_for_the_same_actor(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    proxy = ref.proxy()

    assert isinstance(proxy, limelight.ActorProxy)
    assert proxy.actor_ref is ref


def test_a_test_can_patch_a_refs_and_a_futures_methods(runtime: Runtime) -> None:
    # Pykka programs' tests spy on refs and futures with unittest.mock.
    ref = runtime.actor(Echo).start()
    with unittest.mock.patch.object(ref, "tell") as tell:
        ref.tell("spied on")
    tell.assert_called_once_with("spied on")

    future = ref.ask("real", block=False)
    with unittest.mock.patch.object(future, "get", return_value="patched"):
        assert future.get() == "patched"
    assert future.get(TIMEOUT) == "real"
    ref.stop(timeout=TIMEOUT)
