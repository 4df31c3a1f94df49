"""The typing helpers: they only change what type checkers see."""

from __future__ import annotations

from typing import cast

import limelight
import limelight.typing
from limelight.typing import ActorMemberMixin, proxy_field, proxy_method
from tests.conformance.actors import TIMEOUT
from tests.runtimes import Runtime
from tests.typing_checks import proxy_typing


class Lamp(limelight.Actor):
    lit: bool = False

    def switch(self, on: bool) -> bool:
        self.lit = on
        return self.lit


class LampProxy(ActorMemberMixin, limelight.ActorProxy[Lamp]):
    lit = proxy_field(Lamp.lit)
    switch = proxy_method(Lamp.switch)


def test_proxy_field_and_proxy_method_return_their_argument() -> None:
    def method(_self: object, x: int) -> int:
        return x

    marker = object()

    typed_method: object = proxy_method(method)

    assert proxy_field(marker) is marker
    assert typed_method is method


def test_actor_member_mixin_types_the_members_every_actor_has() -> None:
    members = vars(ActorMemberMixin)

    for name in ("stop", "on_start", "on_stop", "on_failure", "on_receive"):
        assert members[name] is getattr(limelight.Actor, name)


def test_a_cast_typed_proxy_works_as_the_plain_proxy(runtime: Runtime) -> None:
    ref = runtime.actor(Lamp).start()
    lamp = cast("LampProxy", ref.proxy())

    assert lamp.switch(True).get(TIMEOUT) is True
    assert lamp.lit.get(TIMEOUT) is True
    lamp.stop().get(TIMEOUT)
    assert ref.actor_stopped.wait(TIMEOUT)


def test_the_typing_checks_file_runs() -> None:
    seen = proxy_typing.main()

    assert seen == {
        "count": 1,
        "add": 7,
        "describe": ("counter", 7),
        "mapped": "1",
        "together": [1, 1],
        "after_reset": 0,
        "pool": 2,
        "stopped": True,
    }


def test_typing_module_exports() -> None:
    assert limelight.typing.__all__ == [
        "ActorMemberMixin",
        "proxy_field",
        "proxy_method",
    ]
