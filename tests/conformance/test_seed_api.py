"""The 2011 API: the names Pykka's first users wrote, still accepted."""

from __future__ import annotations

import re
from typing import Any

import pytest

import limelight
from tests.conformance.actors import TIMEOUT, Blocker
from tests.runtimes import Runtime


class OldStyle(limelight.Actor):
    """An actor written with the 2011 hook names only."""

    def __init__(self, log: list[Any]) -> None:
        super().__init__()
        self.log = log

    def post_start(self) -> None:
        self.log.append("post_start")

    def pre_stop(self) -> None:
        self.log.append("pre_stop")

    def react(self, message: Any) -> Any:
        self.log.append(message)
        if message == "boom":
            raise ValueError("reacted badly")
        return f"reacted to {message}"


class OlderStyle(OldStyle):
    """Overrides the 2011 hook of a 2011-style parent."""

    def react(self, message: Any) -> Any:
        return f"the subclass reacted to {message}"


class BothNames(limelight.Actor):
    """Defines both names: the modern one wins."""

    def react(self, message: Any) -> Any:
        return "react"

    def on_receive(self, message: Any) -> Any:
        return "on_receive"


class WithCleanUp(limelight.Actor):
    """A Pykka 4 base whose hooks call helpers named like the 2011 hooks."""

    def __init__(self, log: list[Any]) -> None:
        super().__init__()
        self.log = log

    def on_start(self) -> None:
        self.log.append("on_start")
        self.post_start()

    def post_start(self) -> None:
        pass

    def on_stop(self) -> None:
        self.pre_stop()
        self.log.append("cleaned up")

    def pre_stop(self) -> None:
        pass


class WithMoreCleanUp(WithCleanUp):
    """Overrides only the helpers: the base's hooks must still run them."""

    def post_start(self) -> None:
        self.log.append("post_start")

    def pre_stop(self) -> None:
        self.log.append("pre_stop")


class B:
    def c(self) -> int:
        return 1 + 1


class A(limelight.Actor):
    b = B()


def test_the_2011_modules_hold_the_2011_names() -> None:
    from limelight.actor import Actor, ActorRef, ThreadingActor  # noqa: PLC0415
    from limelight.future import (  # noqa: PLC0415
        Future,
        ThreadingFuture,
        Timeout,
        get_all,
    )
    from limelight.proxy import ActorProxy, CallableProxy, traversable  # noqa: PLC0415
    from limelight.registry import ActorRegistry  # noqa: PLC0415

    assert ThreadingActor is limelight.ThreadingActor
    assert Actor is limelight.Actor
    assert ActorRef is limelight.ActorRef
    assert ThreadingFuture is limelight.ThreadingFuture
    assert Future is limelight.Future
    assert Timeout is limelight.Timeout
    assert get_all is limelight.get_all
    assert ActorProxy is limelight.ActorProxy
    assert CallableProxy is limelight.CallableProxy
    assert traversable is limelight.traversable
    assert ActorRegistry is limelight.ActorRegistry


def test_react_post_start_and_pre_stop_are_the_hooks(runtime: Runtime) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(OldStyle).start(log)

    assert ref.ask("hi", timeout=TIMEOUT) == "reacted to hi"
    ref.stop(timeout=TIMEOUT)

    assert list(log) == ["post_start", "hi", "pre_stop"]


def test_a_2011_name_is_no_hook_where_a_base_wrote_the_hook(runtime: Runtime) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(WithMoreCleanUp).start(log)
    ref.stop(timeout=TIMEOUT)

    assert list(log) == ["on_start", "post_start", "pre_stop", "cleaned up"]


def test_an_exception_in_react_goes_to_the_asker(runtime: Runtime) -> None:
    ref = runtime.actor(OldStyle).start(runtime.shared_list())

    with pytest.raises(ValueError, match="reacted badly"):
        ref.send_request_reply("boom", True, TIMEOUT)
    assert ref.is_alive()


def test_a_subclass_can_override_react(runtime: Runtime) -> None:
    ref = runtime.actor(OlderStyle).start(runtime.shared_list())

    assert ref.ask("x", timeout=TIMEOUT) == "the subclass reacted to x"


def test_on_receive_wins_over_react(runtime: Runtime) -> None:
    ref = runtime.actor(BothNames).start()

    assert ref.ask("x", timeout=TIMEOUT) == "on_receive"


def test_send_one_way_tells(runtime: Runtime) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(OldStyle).start(log)

    ref.send_one_way("one way")
    ref.stop(timeout=TIMEOUT)

    assert "one way" in list(log)
    with pytest.raises(limelight.ActorDeadError):
        ref.send_one_way("dead")


def test_send_request_reply_with_positional_block_and_timeout(runtime: Runtime) -> None:
    ref = runtime.actor(OldStyle).start(runtime.shared_list())

    assert ref.send_request_reply("blocking") == "reacted to blocking"
    assert ref.send_request_reply("with timeout", True, TIMEOUT) == (
        "reacted to with timeout"
    )
    future = ref.send_request_reply("later", False)
    assert isinstance(future, limelight.Future)
    assert future.get(TIMEOUT) == "reacted to later"
    keyword = ref.send_request_reply(message="keywords", block=False, timeout=None)
    assert keyword.get(TIMEOUT) == "reacted to keywords"


def test_send_request_reply_times_out(runtime: Runtime) -> None:
    ref = runtime.actor(Blocker).start()
    entered, gate = runtime.event_class(), runtime.event_class()
    blocked = ref.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)

    with pytest.raises(limelight.Timeout):
        ref.send_request_reply("stuck", True, 0.05)

    gate.set()
    assert blocked.get(TIMEOUT) is True


def test_send_request_reply_to_a_dead_actor(runtime: Runtime) -> None:
    ref = runtime.actor(OldStyle).start(runtime.shared_list())
    ref.stop(timeout=TIMEOUT)

    with pytest.raises(limelight.ActorDeadError):
        ref.send_request_reply("anyone?", True, TIMEOUT)


def test_a_missing_attribute_on_a_future_names_the_future_class(
    runtime: Runtime,
) -> None:
    a = runtime.actor(A).start().proxy()

    with pytest.raises(AttributeError) as info:
        a.b.c()

    name = runtime.future_class.__name__
    assert str(info.value) == f"'{name}' object has no attribute 'c'"
    assert a.b.get(TIMEOUT).c() == 2


def test_a_missing_attribute_on_a_threading_future_is_the_2011_error() -> None:
    from limelight.actor import ThreadingActor  # noqa: PLC0415

    class ThreadedA(ThreadingActor):
        b = B()

    a = ThreadedA.start().proxy()

    with pytest.raises(
        AttributeError,
        match=re.escape("'ThreadingFuture' object has no attribute 'c'") + "$",
    ):
        a.b.c()
