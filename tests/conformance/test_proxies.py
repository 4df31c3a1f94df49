"""Actor proxies: attributes and methods of an actor, used as if local."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from pytest_mock import MockerFixture

import limelight
from limelight.messages import ProxyCall, ProxyGetAttr, ProxySetAttr
from tests.conformance.actors import TIMEOUT, Echo
from tests.runtimes import Runtime


def double(x: int) -> int:
    return x * 2


class Account(limelight.Actor):
    """An actor with fields, a property, methods and private members."""

    currency = "EUR"

    def __init__(self) -> None:
        super().__init__()
        self.balance = 0
        self.history: list[int] = []
        self._secret = "hidden"
        self.property_reads = 0

    @property
    def summary(self) -> str:
        self.property_reads += 1
        return f"{self.balance} {self.currency}"

    @property
    def frozen(self) -> bool:
        return False

    def deposit(self, amount: int, *, note: str = "") -> int:
        self.balance += amount
        self.history.append(amount)
        return self.balance

    def fail(self, text: str) -> None:
        raise ValueError(text)

    def grow(self) -> None:
        self.added_later = "new field"
        self.added_method = double

    def _private_method(self) -> str:
        return "private"


class Looper(limelight.Actor):
    """Keeps a private proxy to itself, to queue work for later."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int] = []

    def on_start(self) -> None:
        self._self_proxy = self.actor_ref.proxy()

    def count_to(self, n: int) -> None:
        self.steps.append(len(self.steps) + 1)
        if len(self.steps) < n:
            self._self_proxy.count_to.defer(n)


class PublicLooper(limelight.Actor):
    """Keeps a *public* proxy to itself: proxies must skip it."""

    def on_start(self) -> None:
        self.myself = self.actor_ref.proxy()

    def ping(self) -> str:
        return "pong"


class Holder(limelight.Actor):
    """Holds a proxy to another actor."""

    def __init__(self, other: limelight.ActorProxy[Any]) -> None:
        super().__init__()
        self.other = other


def test_reading_an_attribute_gives_a_future_of_its_value(runtime: Runtime) -> None:
    proxy = runtime.actor(Account).start().proxy()

    future = proxy.balance

    assert isinstance(future, limelight.Future)
    assert future.get(TIMEOUT) == 0
    assert proxy.currency.get(TIMEOUT) == "EUR"


def test_properties_run_in_the_actor_only_when_read(runtime: Runtime) -> None:
    proxy = runtime.actor(Account).start().proxy()
    assert proxy.property_reads.get(TIMEOUT) == 0  # making the proxy ran nothing

    assert proxy.summary.get(TIMEOUT) == "0 EUR"
    assert proxy.property_reads.get(TIMEOUT) == 1


@pytest.mark.dedicated_host
def test_calling_a_method_gives_a_future_of_its_result(runtime: Runtime) -> None:
    proxy = runtime.actor(Account).start().proxy()

    first = proxy.deposit(10)
    second = proxy.deposit(5, note="keyword arguments pass through")

    assert isinstance(first, limelight.Future)
    assert first.get(TIMEOUT) == 10
    assert second.get(TIMEOUT) == 15
    assert proxy.history.get(TIMEOUT) == [10, 5]


@pytest.mark.dedicated_host
def test_an_exception_from_a_method_is_raised_by_get_and_the_actor_lives_on(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Account).start()
    proxy = ref.proxy()

    future = proxy.fail("bad input")

    with pytest.raises(ValueError, match="bad input"):
        future.get(TIMEOUT)
    assert ref.is_alive()
    assert proxy.deposit(1).get(TIMEOUT) == 1


class Watched(limelight.Actor):
    """Its `level` property records each value set in a list shared with the test."""

    def __init__(self, log: list[int]) -> None:
        super().__init__()
        self.log = log

    @property
    def level(self) -> int:
        return len(self.log)

    @level.setter
    def level(self, value: int) -> None:
        self.log.append(value)


@pytest.mark.dedicated_host
def test_setting_an_attribute_waits_until_the_actor_has_set_it(
    runtime: Runtime,
) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(Watched).start(log)
    writer, reader = ref.proxy(), ref.proxy()

    writer.level = 7

    assert list(log) == [7]  # already done when the assignment returned
    assert reader.level.get(TIMEOUT) == 1


def test_setting_a_plain_attribute_changes_it_in_the_actor(runtime: Runtime) -> None:
    ref = runtime.actor(Account).start()
    writer, reader = ref.proxy(), ref.proxy()

    writer.balance = 100
    writer.brand_new = "created by assignment"

    assert reader.balance.get(TIMEOUT) == 100
    assert reader.deposit(1).get(TIMEOUT) == 101
    assert reader.brand_new.get(TIMEOUT) == "created by assignment"


def test_setting_a_read_only_property_raises_in_the_caller(runtime: Runtime) -> None:
    ref = runtime.actor(Account).start()
    writer, reader = ref.proxy(), ref.proxy()

    with pytest.raises(AttributeError):
        writer.frozen = True

    assert reader.frozen.get(TIMEOUT) is False
    assert ref.is_alive()


def test_defer_calls_the_method_without_a_future(runtime: Runtime) -> None:
    proxy = runtime.actor(Account).start().proxy()

    proxy.deposit.defer(3)
    proxy.deposit.defer(4, note="deferred")

    assert proxy.balance.get(TIMEOUT) == 7


def test_private_attributes_are_not_exposed(runtime: Runtime) -> None:
    proxy = runtime.actor(Account).start().proxy()

    with pytest.raises(AttributeError, match="_secret"):
        proxy._secret  # noqa: B018 -- the access is the test
    with pytest.raises(AttributeError, match="_private_method"):
        proxy._private_method  # noqa: B018
    assert "_secret" not in dir(proxy)
    assert "_private_method" not in dir(proxy)


def test_a_missing_attribute_raises_attribute_error(runtime: Runtime) -> None:
    proxy = runtime.actor(Account).start().proxy()

    with pytest.raises(AttributeError, match="no_such_thing"):
        proxy.no_such_thing  # noqa: B018 -- the access is the test


@pytest.mark.dedicated_host
def test_attributes_added_at_run_time_become_reachable(runtime: Runtime) -> None:
    proxy = runtime.actor(Account).start().proxy()
    with pytest.raises(AttributeError):
        proxy.added_later  # noqa: B018 -- the access is the test

    proxy.grow().get(TIMEOUT)

    assert proxy.added_later.get(TIMEOUT) == "new field"
    assert proxy.added_method(21).get(TIMEOUT) == 42


def test_dir_lists_public_fields_and_methods(runtime: Runtime) -> None:
    proxy = runtime.actor(Account).start().proxy()

    names = dir(proxy)

    assert {"balance", "currency", "deposit", "summary", "history", "stop"} <= set(
        names
    )
    assert "actor_ref" in names
    assert names == sorted(names)
    assert not {"_secret", "_private_method"} & set(names)


def test_proxies_of_the_same_actor_are_equal_and_hash_alike(runtime: Runtime) -> None:
    ref = runtime.actor(Account).start()
    first, second = ref.proxy(), ref.proxy()
    other = runtime.actor(Account).start().proxy()

    assert first is not second
    assert first == second
    assert hash(first) == hash(second)
    assert first != other
    assert first != ref
    assert len({first, second, other}) == 2


def test_proxy_repr_names_the_actor(runtime: Runtime) -> None:
    ref = runtime.actor(Account).start()
    proxy = ref.proxy()

    assert repr(proxy) == f"<ActorProxy for {ref}, attr_path=()>"
    assert "deposit" in repr(proxy.deposit)
    assert proxy.actor_ref is ref


@pytest.mark.needs("shared_objects")
def test_an_actor_can_use_a_private_proxy_to_itself(runtime: Runtime) -> None:
    proxy = runtime.actor(Looper).start().proxy()

    proxy.count_to(5).get(TIMEOUT)

    # Every step queued the next one behind this read, or before it.
    assert proxy.steps.get(TIMEOUT) == [1, 2, 3, 4, 5]


@pytest.mark.needs("local_logs")
def test_a_public_proxy_to_itself_is_skipped_with_a_warning(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    ref = runtime.actor(PublicLooper).start()
    assert ref.ask(ProxyCall(attr_path=("ping",), args=(), kwargs={})) == "pong"

    proxy = ref.proxy()

    assert proxy.ping().get(TIMEOUT) == "pong"
    with pytest.raises(AttributeError, match="myself"):
        proxy.myself  # noqa: B018 -- the access is the test
    warnings = [
        r.getMessage()
        for r in limelight_logs.records
        if r.name == "limelight" and r.levelno == logging.WARNING
    ]
    assert warnings
    assert all("'myself' is a proxy to itself" in w for w in warnings)
    assert "'_myself'" in warnings[0]


def test_a_proxy_to_another_actor_is_an_ordinary_attribute(runtime: Runtime) -> None:
    other = runtime.actor(Account).start().proxy()
    holder = runtime.actor(Holder).start(other).proxy()

    got = holder.other.get(TIMEOUT)

    assert got == other
    assert got.deposit(2).get(TIMEOUT) == 2


@pytest.mark.dedicated_host
def test_proxies_of_a_dead_actor_raise_actor_dead_error(runtime: Runtime) -> None:
    ref = runtime.actor(Account).start()
    proxy = ref.proxy()
    ref.stop(timeout=TIMEOUT)

    with pytest.raises(limelight.ActorDeadError):
        ref.proxy()
    with pytest.raises(limelight.ActorDeadError):
        proxy.deposit(1).get(TIMEOUT)
    with pytest.raises(limelight.ActorDeadError):
        proxy.balance.get(TIMEOUT)
    with pytest.raises(limelight.ActorDeadError):
        proxy.balance = 5
    with pytest.raises(limelight.ActorDeadError):
        proxy.deposit.defer(1)


def test_an_unknown_attribute_of_a_dead_actors_proxy_is_an_attribute_error(
    runtime: Runtime,
) -> None:
    # As on Pykka, so that hasattr() and getattr() with a default still work.
    ref = runtime.actor(Account).start()
    proxy = ref.proxy()
    ref.stop(timeout=TIMEOUT)

    assert not hasattr(proxy, "no_such_attribute")
    with pytest.raises(AttributeError) as raised:
        _ = proxy.no_such_attribute
    assert isinstance(raised.value.__cause__, limelight.ActorDeadError)


@pytest.mark.needs("shared_objects")
def test_a_mocked_method_is_called_through_the_proxy(
    runtime: Runtime, mocker: MockerFixture
) -> None:
    mocked = mocker.patch.object(Account, "deposit", return_value=999)
    proxy = runtime.actor(Account).start().proxy()

    assert proxy.deposit(1, note="x").get(TIMEOUT) == 999
    mocked.assert_called_once_with(1, note="x")


@pytest.mark.dedicated_host
def test_proxy_messages_can_be_sent_without_a_proxy(runtime: Runtime) -> None:
    ref = runtime.actor(Account).start()

    reply = ref.ask(ProxyCall(attr_path=("deposit",), args=(5,), kwargs={"note": "n"}))
    ref.tell(ProxyCall(attr_path=("deposit",), args=(1,), kwargs={}))
    ref.ask(ProxySetAttr(attr_path=("currency",), value="SEK"))

    assert reply == 5
    assert ref.ask(ProxyGetAttr(attr_path=("balance",))) == 6
    assert ref.ask(ProxyGetAttr(attr_path=("currency",))) == "SEK"


def test_proxy_messages_never_reach_on_receive(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    # Echo would reply with the message itself; the actor answers instead.
    reply = ref.ask(ProxyCall(attr_path=("on_receive",), args=("x",), kwargs={}))

    assert reply == "x"
    with pytest.raises(AttributeError, match=re.escape("nothing_here")):
        ref.ask(ProxyGetAttr(attr_path=("nothing_here",)), timeout=TIMEOUT)


def test_a_private_attribute_set_on_a_proxy_stays_on_the_proxy(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Account).start()
    proxy = ref.proxy()

    proxy._note = "kept by the proxy"

    assert proxy._note == "kept by the proxy"
    with pytest.raises(AttributeError):
        ref.ask(ProxyGetAttr(attr_path=("_note",)), timeout=TIMEOUT)


class LoudCall(ProxyCall):
    """A subclass of a proxy message is still that proxy message."""


def test_subclasses_of_proxy_messages_are_handled_as_such(runtime: Runtime) -> None:
    ref = runtime.actor(Account).start()

    assert ref.ask(LoudCall(attr_path=("deposit",), args=(3,), kwargs={})) == 3


@pytest.mark.needs("shared_objects")
def test_messages_of_many_types_are_all_handled(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    kinds = [type(f"Kind{i}", (), {}) for i in range(1100)]  # more than any cache

    messages = [kind() for kind in kinds]
    replies = limelight.get_all(
        [ref.ask(message, block=False) for message in messages], timeout=TIMEOUT
    )

    assert list(replies) == messages
