"""Starting and stopping actors, and the order of their hooks."""

from __future__ import annotations

import abc
import asyncio
import logging
import threading
import unittest.mock
import uuid
from typing import Any

import pytest

import limelight
from limelight._core._stopped import StoppedEvent
from tests.conformance.actors import TIMEOUT, Blocker, Echo, Recorder
from tests.runtimes import Runtime


class Identity(limelight.Actor):
    """Answers questions about itself, asked from inside the actor."""

    def __init__(self, seen: list[Any]) -> None:
        super().__init__()
        # __init__ runs before the actor is registered...
        seen.append(("__init__", limelight.ActorRegistry.get_by_urn(self.actor_urn)))
        self.seen = seen

    def on_start(self) -> None:
        # ...on_start() after.
        self.seen.append(
            ("on_start", limelight.ActorRegistry.get_by_urn(self.actor_urn))
        )

    def describe(self) -> dict[str, Any]:
        return {
            "urn": self.actor_urn,
            "ref": self.actor_ref,
            "str": str(self),
            "stopped": self.actor_stopped.is_set(),
        }


class Plain(limelight.Actor):
    """An actor that overrides nothing."""


class ForgetsSuper(limelight.Actor):
    def __init__(self) -> None:  # deliberately no super().__init__()
        self.ready = True


class Named:
    """A non-actor base class whose ``__init__`` needs arguments."""

    name = "(Named.__init__ was not called)"

    def __init__(self, name: str, *, loud: bool = False) -> None:
        self.name = name.upper() if loud else name

    def greeting(self) -> str:
        return f"I am {self.name}"


class NamedActor(limelight.Actor, Named):
    """Inherits no ``__init__`` but the actor's, which calls no other."""


class NamedActorWithInit(limelight.Actor, Named):
    """Calls the other base's ``__init__`` itself, as a Pykka program must."""

    def __init__(self, name: str, *, loud: bool = False) -> None:
        super().__init__()
        Named.__init__(self, name, loud=loud)


class KeywordOnlyBase:
    """Like Mopidy's ``Backend``: an ``__init__`` with keyword-only arguments."""

    def __init__(self, *, config: dict[str, str], audio: object) -> None:
        self.config = config
        self.audio = audio


class MopidyStyleBackend(limelight.Actor, KeywordOnlyBase):
    """Mopidy's backends: ``super().__init__()`` with no arguments."""

    def __init__(self, config: dict[str, str], audio: object) -> None:
        super().__init__()
        self.config = config
        self.audio = audio


class WithSettings(limelight.Actor):
    """Sets attributes in ``__init__``, after ``super().__init__()``."""

    mailbox_capacity = 4

    def __init__(self, connection: object) -> None:
        super().__init__()
        self.connection = connection
        self.buffer = b""


class Overlapping(limelight.Actor):
    """Counts how many messages it is handling at the same time."""

    def __init__(self, runtime_sleep: Any) -> None:
        super().__init__()
        self.sleep = runtime_sleep
        self.active = 0
        self.most_active = 0
        self.handled = 0

    def on_receive(self, message: Any) -> Any:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        self.sleep(0)  # give any other handler a chance to run meanwhile
        self.handled += 1
        self.active -= 1
        return message


class Ordered(limelight.Actor):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[Any] = []

    def on_receive(self, message: Any) -> Any:
        if message == "get":
            return list(self.received)
        self.received.append(message)
        return None


@pytest.mark.dedicated_host
def test_start_returns_a_ref_to_a_running_registered_actor(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    assert isinstance(ref, limelight.ActorRef)
    assert ref.is_alive()
    assert issubclass(ref.actor_class, Echo)
    assert limelight.ActorRegistry.get_all() == [ref]
    assert ref.ask("hello", timeout=TIMEOUT) == "hello"


def test_actor_urn_is_a_uuid4_urn_unique_per_actor(runtime: Runtime) -> None:
    cls = runtime.actor(Echo)
    first, second = cls.start(), cls.start()

    assert first.actor_urn.startswith("urn:uuid:")
    assert uuid.UUID(first.actor_urn).version == 4
    assert uuid.UUID(first.actor_urn).urn == first.actor_urn
    assert first.actor_urn != second.actor_urn


@pytest.mark.needs("refs_in_shared_lists")
def test_the_actor_knows_its_urn_ref_and_name(runtime: Runtime) -> None:
    ref = runtime.actor(Identity).start(runtime.shared_list())

    facts = ref.proxy().describe().get(TIMEOUT)

    assert facts["urn"] == ref.actor_urn
    assert facts["ref"] == ref
    assert facts["str"] == f"Identity ({ref.actor_urn})"
    assert facts["stopped"] is False


@pytest.mark.needs("refs_in_shared_lists")
def test_init_runs_before_registration_and_on_start_after(runtime: Runtime) -> None:
    seen = runtime.shared_list()

    ref = runtime.actor(Identity).start(seen)
    ref.proxy().describe().get(TIMEOUT)  # on_start has run by now

    assert list(seen) == [("__init__", None), ("on_start", ref)]


@pytest.mark.dedicated_host
def test_hooks_run_in_order_around_the_messages(runtime: Runtime) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(Recorder).start(log)

    ref.tell("first")
    ref.tell("second")
    assert ref.stop(timeout=TIMEOUT) is True

    assert list(log) == ["on_start", "first", "second", "on_stop"]


@pytest.mark.needs("local_actor_object")
def test_hooks_patched_onto_a_class_that_inherits_them_are_called(
    runtime: Runtime,
) -> None:
    # Drivers skip the hooks Actor defines, which do nothing: a hook patched
    # in later, as tests do with mocks, must not be taken for one of those.
    cls = runtime.actor(Echo)
    with (
        unittest.mock.patch.object(cls, "on_start") as on_start,
        unittest.mock.patch.object(cls, "on_stop") as on_stop,
    ):
        on_start.return_value = on_stop.return_value = None
        ref = cls.start()
        ref.ask("ready", timeout=TIMEOUT)
        on_start.assert_called_once_with()
        assert ref.stop(timeout=TIMEOUT) is True
        on_stop.assert_called_once_with()


def test_on_start_runs_before_a_message_sent_right_after_start(
    runtime: Runtime,
) -> None:
    log = runtime.shared_list()

    ref = runtime.actor(Recorder).start(log)
    ref.ask("right away", timeout=TIMEOUT)

    assert list(log)[:2] == ["on_start", "right away"]


@pytest.mark.dedicated_host
def test_stop_returns_true_when_running_and_false_when_already_dead(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Echo).start()

    assert ref.stop(timeout=TIMEOUT) is True
    assert ref.stop(timeout=TIMEOUT) is False


@pytest.mark.dedicated_host
def test_stop_without_blocking_returns_a_future_of_the_same_bool(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Echo).start()

    first = ref.stop(block=False)
    assert isinstance(first, limelight.Future)
    assert first.get(TIMEOUT) is True
    assert ref.actor_stopped.is_set()

    second = ref.stop(block=False)
    assert isinstance(second, limelight.Future)
    assert second.get(TIMEOUT) is False


@pytest.mark.dedicated_host
def test_after_stop_returns_the_actor_is_stopped_and_unregistered(
    runtime: Runtime,
) -> None:
    log = runtime.shared_list()
    ref = runtime.actor(Recorder).start(log)

    ref.stop(timeout=TIMEOUT)

    assert "on_stop" in list(log)
    assert not ref.is_alive()
    assert ref.actor_stopped.is_set()
    assert limelight.ActorRegistry.get_by_urn(ref.actor_urn) is None


@pytest.mark.dedicated_host
def test_two_stops_queued_together_both_report_true(runtime: Runtime) -> None:
    ref = runtime.actor(Blocker).start()
    entered, gate = runtime.event_class(), runtime.event_class()
    blocked = ref.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)

    first = ref.stop(block=False)
    second = ref.stop(block=False)
    gate.set()

    assert blocked.get(TIMEOUT) is True
    assert first.get(TIMEOUT) is True
    assert second.get(TIMEOUT) is True


@pytest.mark.needs("uninterrupted_tells", "stopped_seen_before_on_stop")
def test_an_actor_can_stop_itself_after_its_queued_messages(runtime: Runtime) -> None:
    log = runtime.shared_list()
    done = runtime.event_class()
    ref = runtime.actor(Recorder).start(log, done)

    ref.tell(("stop",))
    ref.tell("queued before the stop message")

    assert done.wait(TIMEOUT)
    assert ref.actor_stopped.is_set()
    assert list(log) == [
        "on_start",
        "stop",
        "queued before the stop message",
        "on_stop",
    ]


@pytest.mark.dedicated_host
def test_messages_are_handled_in_the_order_they_arrive(runtime: Runtime) -> None:
    ref = runtime.actor(Ordered).start()

    for i in range(500):
        ref.tell(i)

    assert ref.ask("get", timeout=TIMEOUT) == list(range(500))


@pytest.mark.dedicated_host
def test_messages_are_handled_one_at_a_time(runtime: Runtime) -> None:
    ref = runtime.actor(Overlapping).start(runtime.sleep)
    proxy = ref.proxy()

    replies = [ref.ask(i, block=False) for i in range(300)]

    assert limelight.get_all(replies, timeout=TIMEOUT) == list(range(300))
    assert proxy.handled.get(TIMEOUT) == 300
    assert proxy.most_active.get(TIMEOUT) == 1


@pytest.mark.needs("local_logs")
def test_default_on_receive_logs_a_warning_and_replies_none(
    runtime: Runtime, limelight_logs: pytest.LogCaptureFixture
) -> None:
    ref = runtime.actor(Plain).start()

    assert ref.ask("unexpected", timeout=TIMEOUT) is None

    warnings = [
        r
        for r in limelight_logs.records
        if r.name == "limelight" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert "Unexpected message received by Plain" in warnings[0].getMessage()
    assert "unexpected" in warnings[0].getMessage()
    assert ref.is_alive()


def test_actor_itself_cannot_be_started() -> None:
    with pytest.raises(TypeError, match="has no runtime"):
        limelight.Actor.start()

    assert limelight.ActorRegistry.get_all() == []


def test_a_subclass_of_actor_without_a_runtime_cannot_be_started() -> None:
    with pytest.raises(TypeError, match="Plain has no runtime"):
        Plain.start()

    assert limelight.ActorRegistry.get_all() == []


@pytest.mark.dedicated_host
def test_forgetting_super_init_is_a_clear_error_at_start(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError, match=r"did not call super\(\)\.__init__\(\)"):
        runtime.actor(ForgetsSuper).start()

    assert limelight.ActorRegistry.get_all() == []


def test_init_ignores_its_arguments_and_calls_no_other_init(runtime: Runtime) -> None:
    ref = runtime.actor(NamedActor).start("ada", loud=True)

    assert ref.proxy().greeting().get(TIMEOUT) == "I am (Named.__init__ was not called)"
    assert ref.ask("anything", timeout=TIMEOUT) is None  # still an actor


def test_init_leaves_other_bases_init_to_the_subclass(runtime: Runtime) -> None:
    ref = runtime.actor(NamedActorWithInit).start("ada", loud=True)

    assert ref.proxy().greeting().get(TIMEOUT) == "I am ADA"


def test_super_init_with_no_arguments_skips_a_keyword_only_base(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(MopidyStyleBackend).start({"name": "dummy"}, audio=None)

    assert ref.proxy().config.get(TIMEOUT) == {"name": "dummy"}


@pytest.mark.parametrize("capacity", [None, 4])
def test_init_works_with_a_mock_of_the_class_as_self(
    runtime: Runtime, capacity: int | None
) -> None:
    # Pykka programs' tests call an actor's __init__() on a Mock(spec=...).
    cls = type(
        "WithSettings", (runtime.actor(WithSettings),), {"mailbox_capacity": capacity}
    )
    mock = unittest.mock.Mock(spec=cls)

    WithSettings.__init__(mock, "the connection")

    assert mock.connection == "the connection"
    assert mock.buffer == b""
    assert mock.actor_urn.startswith("urn:uuid:")
    assert isinstance(mock.actor_stopped, StoppedEvent)


class AbstractService(limelight.Actor):
    """An abstract actor base class, as plugin APIs define them."""

    @abc.abstractmethod
    def serve(self) -> str: ...


class Service(AbstractService):
    def serve(self) -> str:
        return "served"


def test_an_actor_with_an_abstract_method_cannot_start(runtime: Runtime) -> None:
    # As on Pykka, whose Actor is an abc.ABC.
    abstract: Any = AbstractService  # (type checkers refuse it: that is the point)
    with pytest.raises(TypeError, match="abstract"):
        runtime.actor(abstract).start()

    assert runtime.actor(Service).start().proxy().serve().get(TIMEOUT) == "served"


def test_a_stopped_actor_cannot_be_restarted_but_its_class_can_start_another(
    runtime: Runtime,
) -> None:
    cls = runtime.actor(Echo)
    old = cls.start()
    old.stop(timeout=TIMEOUT)

    new = cls.start()

    assert new != old
    assert not old.is_alive()
    assert new.ask("again", timeout=TIMEOUT) == "again"


@pytest.mark.dedicated_host
def test_stop_times_out_while_the_actor_is_busy(runtime: Runtime) -> None:
    ref = runtime.actor(Blocker).start()
    entered, gate = runtime.event_class(), runtime.event_class()
    blocked = ref.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)

    with pytest.raises(limelight.Timeout):
        ref.stop(timeout=0.05)

    gate.set()
    assert blocked.get(TIMEOUT) is True
    assert ref.actor_stopped.wait(TIMEOUT)  # the stop was queued all the same


def test_a_stop_future_can_be_awaited(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    async def main() -> bool:
        return await ref.stop(block=False)

    assert asyncio.run(main()) is True
    assert not ref.is_alive()


@pytest.mark.dedicated_host
def test_waiting_for_a_running_actor_to_stop_times_out(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()

    assert ref.actor_stopped.wait(0.01) is False
    assert ref.actor_stopped.wait(0) is False

    ref.stop(timeout=TIMEOUT)
    assert ref.actor_stopped.wait(0) is True
    assert ref.actor_stopped.wait() is True


def test_many_can_wait_for_an_actor_to_stop(runtime: Runtime) -> None:
    ref = runtime.actor(Echo).start()
    woken: list[bool] = []
    waiters = [
        threading.Thread(target=lambda: woken.append(ref.actor_stopped.wait(TIMEOUT)))
        for _ in range(4)
    ]
    for waiter in waiters:
        waiter.start()

    ref.stop(timeout=TIMEOUT)

    for waiter in waiters:
        waiter.join(TIMEOUT)
    assert woken == [True] * 4


def test_a_ref_as_a_context_manager_stops_the_actor(runtime: Runtime) -> None:
    with runtime.actor(Echo).start() as ref:
        assert ref.ask("inside", timeout=TIMEOUT) == "inside"

    assert not ref.is_alive()


def test_a_ref_as_an_async_context_manager_stops_the_actor(runtime: Runtime) -> None:
    async def main() -> limelight.ActorRef[Echo]:
        async with runtime.actor(Echo).start() as ref:
            assert await ref.ask("inside", block=False) == "inside"
        return ref

    assert not asyncio.run(main()).is_alive()


@pytest.mark.dedicated_host
def test_a_context_manager_stops_the_actor_when_the_block_raises(
    runtime: Runtime,
) -> None:
    ref = runtime.actor(Echo).start()

    with pytest.raises(KeyError), ref:
        raise KeyError("in the block")

    assert not ref.is_alive()
