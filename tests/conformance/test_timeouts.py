"""Timeouts: every call that takes one reads it the same way, on every runtime.

`None` and infinity (or any wait too long for the platform) wait for ever;
a negative timeout is a deadline already passed; anything that is not a
real number, and NaN, is refused at the call, before anything is sent, with
a message that names the parameter.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import limelight
from limelight import ActorRegistry
from tests.conformance.actors import TIMEOUT, Blocker
from tests.runtimes import Runtime

BAD_TIMEOUTS = [
    pytest.param("x", TypeError, id="str"),
    pytest.param(True, TypeError, id="bool"),
    pytest.param(object(), TypeError, id="object"),
    pytest.param(1j, TypeError, id="complex"),
    pytest.param(math.nan, ValueError, id="nan"),
]
"""Values no timeout parameter accepts, with the error each gets."""

FOREVER = [
    pytest.param(math.inf, id="inf"),
    pytest.param(1e12, id="1e12"),  # beyond what the platform's waits take
    pytest.param(10**400, id="huge-int"),  # beyond what a float holds
]
"""Values that mean "no timeout", as None does."""


class Counter(limelight.Actor):
    """Counts the messages it handled; ``"count"`` asks for the count."""

    def __init__(self) -> None:
        super().__init__()
        self.handled = 0

    def on_receive(self, message: Any) -> Any:
        if message == "count":
            return self.handled
        self.handled += 1
        return message


def refused(error: type[Exception], parameter: str = "timeout") -> Any:
    """`pytest.raises()` for a bad value: the message names the parameter."""
    return pytest.raises(error, match=rf"^{parameter} must be a number of seconds")


# -- Refused at the call ---------------------------------------------------------


@pytest.mark.parametrize(("bad", "error"), BAD_TIMEOUTS)
def test_get_refuses_a_bad_timeout_even_when_the_value_is_there(
    runtime: Runtime, bad: Any, error: type[Exception]
) -> None:
    pending: limelight.Future[int] = runtime.future_class()
    done: limelight.Future[int] = runtime.future_class()
    done.set(1)

    with refused(error):
        pending.get(timeout=bad)
    with refused(error):
        done.get(timeout=bad)


@pytest.mark.parametrize(("bad", "error"), BAD_TIMEOUTS)
def test_ask_refuses_a_bad_timeout_before_sending(
    runtime: Runtime, bad: Any, error: type[Exception]
) -> None:
    ref = runtime.actor(Counter).start()

    with refused(error):
        ref.ask("hello", timeout=bad)
    with refused(error):
        ref.ask("hello", block=False, timeout=bad)
    with refused(error):
        ref.proxy().on_receive("hello").get(timeout=bad)

    assert ref.ask("count", timeout=TIMEOUT) == 1  # only the proxy call's


@pytest.mark.parametrize(("bad", "error"), BAD_TIMEOUTS)
def test_stop_refuses_a_bad_timeout_without_stopping(
    runtime: Runtime, bad: Any, error: type[Exception]
) -> None:
    ref = runtime.actor(Counter).start()

    with refused(error):
        ref.stop(timeout=bad)
    with refused(error):
        ActorRegistry.stop_all(timeout=bad)

    assert ref.is_alive()
    assert ref.ask("count", timeout=TIMEOUT) == 0


@pytest.mark.parametrize(("bad", "error"), BAD_TIMEOUTS)
def test_get_all_and_a_stopped_wait_refuse_a_bad_timeout(
    runtime: Runtime, bad: Any, error: type[Exception]
) -> None:
    ref = runtime.actor(Counter).start()
    future = ref.ask("hello", block=False)

    with refused(error):
        limelight.get_all([future], timeout=bad)
    with refused(error):
        future.join(future).get(timeout=bad)
    with refused(error):
        ref.actor_stopped.wait(bad)

    assert future.get(TIMEOUT) == "hello"


def test_get_all_refuses_what_is_not_a_future(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()
    future.set(1)
    # (Typed as Any: what a caller without type checks may pass.)
    with_a_number: Any = [future, 42]
    a_future: Any = future
    a_number: Any = 42

    with pytest.raises(TypeError, match=r"item 1 is 42 \(int\), not a future"):
        limelight.get_all(with_a_number)
    with pytest.raises(TypeError, match=r"not a future: get_all\(\[future\]\)"):
        limelight.get_all(a_future)
    with pytest.raises(TypeError, match=r"^join\(\) takes futures, but item 1 is 42"):
        future.join(a_number)


# -- Infinity waits for ever, as None does -----------------------------------------


@pytest.mark.parametrize("forever", FOREVER)
def test_an_endless_timeout_waits_for_the_reply(runtime: Runtime, forever: Any) -> None:
    ref = runtime.actor(Counter).start()
    future = ref.ask("later", block=False)

    assert ref.ask("hello", timeout=forever) == "hello"
    assert ref.proxy().on_receive("proxied").get(timeout=forever) == "proxied"
    assert future.get(timeout=forever) == "later"
    assert limelight.get_all([future], timeout=forever) == ["later"]
    assert future.join(future).get(timeout=forever) == ["later", "later"]


@pytest.mark.parametrize("forever", FOREVER)
def test_an_endless_timeout_waits_for_a_pending_reply(
    runtime: Runtime, forever: Any
) -> None:
    ref = runtime.actor(Blocker).start()
    entered, gate = runtime.event_class(), runtime.event_class()
    blocked = ref.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)

    gate.set()

    assert blocked.get(timeout=forever) is True


@pytest.mark.parametrize("forever", FOREVER)
def test_an_endless_timeout_waits_for_a_stop(runtime: Runtime, forever: Any) -> None:
    first, second = runtime.actor(Counter).start(), runtime.actor(Counter).start()

    assert first.stop(timeout=forever) is True
    assert first.actor_stopped.wait(forever) is True
    assert ActorRegistry.stop_all(timeout=forever) == [True]
    assert not second.is_alive()


# -- A negative timeout is a deadline already passed ----------------------------------


def test_a_negative_timeout_reads_a_value_that_is_there(runtime: Runtime) -> None:
    ref = runtime.actor(Counter).start()
    future = ref.ask("hello", block=False)
    assert future.get(TIMEOUT) == "hello"

    assert future.get(timeout=-1) == "hello"
    assert limelight.get_all([future], timeout=-math.inf) == ["hello"]


def test_a_negative_timeout_does_not_wait(runtime: Runtime) -> None:
    ref = runtime.actor(Blocker).start()
    entered, gate = runtime.event_class(), runtime.event_class()
    blocked = ref.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)

    try:
        with pytest.raises(limelight.Timeout):
            blocked.get(timeout=-1)
        with pytest.raises(limelight.Timeout):
            ref.proxy().value(1).get(timeout=-0.5)
    finally:
        gate.set()
    assert blocked.get(TIMEOUT) is True
