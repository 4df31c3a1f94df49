"""Supervisors restarting children of every runtime."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import weakref
from typing import Any

import pytest

import limelight
from limelight import ChildSpec, Supervisor
from limelight.asyncio import AsyncioActor
from limelight.messages import Terminated
from tests.conformance.actors import TIMEOUT
from tests.runtimes import Runtime


class Child(limelight.Actor):
    """Logs ``("start", name)``/``("stop", name)``; fails, stops, or answers.

    Messages: ``"fail"`` raises; ``"stop"`` stops the actor; ``"hang"``
    blocks until `release` is set; anything else is answered with
    ``(name, message)``.
    """

    def __init__(
        self, name: str, log: list[Any], release: threading.Event | None = None
    ) -> None:
        super().__init__()
        self.name = name
        self.log = log
        self.release = release

    def on_start(self) -> None:
        self.log.append(("start", self.name))

    def on_stop(self) -> None:
        self.log.append(("stop", self.name))

    def on_receive(self, message: Any) -> Any:
        if message == "fail":
            raise RuntimeError(f"{self.name} failed")
        if message == "stop":
            self.stop()
        if message == "hang":
            assert self.release is not None
            self.release.wait(TIMEOUT)
        return (self.name, message)


def specs(
    runtime: Runtime, log: list[Any], *names: str, **options: Any
) -> list[ChildSpec]:
    return [
        ChildSpec(name, runtime.actor(Child), args=(name, log), **options)
        for name in names
    ]


def child(supervisor: limelight.ActorRef[Supervisor], name: str) -> Any:
    return supervisor.proxy().child(name).get(TIMEOUT)


def restarted(
    supervisor: limelight.ActorRef[Supervisor], name: str, old: Any
) -> limelight.ActorRef[Any]:
    """Wait for `old` to end and the supervisor to have dealt with it."""
    old.termination().get(TIMEOUT)
    new: limelight.ActorRef[Any] | None = child(supervisor, name)
    assert new is not None  # (asked after the supervisor got the news)
    assert new != old
    return new


def test_children_start_in_order_and_stop_in_reverse(runtime: Runtime) -> None:
    log = runtime.shared_list()
    supervisor = Supervisor.start(specs(runtime, log, "a", "b", "c"))
    assert child(supervisor, "c").ask("ping") == ("c", "ping")
    supervisor.stop()
    assert log == [
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
        ("stop", "c"),
        ("stop", "b"),
        ("stop", "a"),
    ]
    assert limelight.ActorRegistry.get_all() == []


def test_one_for_one_restarts_only_the_failed_child(runtime: Runtime) -> None:
    log = runtime.shared_list()
    supervisor = Supervisor.start(specs(runtime, log, "a", "b"))
    a, b = child(supervisor, "a"), child(supervisor, "b")
    a.tell("fail")
    new_a = restarted(supervisor, "a", a)
    assert new_a.ask("ping") == ("a", "ping")
    assert child(supervisor, "b") == b
    assert b.is_alive()
    assert supervisor.proxy().restarts.get(TIMEOUT) == 1


def test_one_for_all_restarts_every_child(runtime: Runtime) -> None:
    log = runtime.shared_list()
    supervisor = Supervisor.start(
        specs(runtime, log, "a", "b", "c"), strategy="one_for_all"
    )
    b = child(supervisor, "b")
    b.tell("fail")
    restarted(supervisor, "b", b)
    assert log[3:] == [
        ("stop", "c"),
        ("stop", "a"),
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
    ]
    assert supervisor.proxy().restarts.get(TIMEOUT) == 1


def test_rest_for_one_restarts_the_failed_child_and_those_after_it(
    runtime: Runtime,
) -> None:
    log = runtime.shared_list()
    supervisor = Supervisor.start(
        specs(runtime, log, "a", "b", "c"), strategy="rest_for_one"
    )
    a, b = child(supervisor, "a"), child(supervisor, "b")
    b.tell("fail")
    restarted(supervisor, "b", b)
    assert log[3:] == [("stop", "c"), ("start", "b"), ("start", "c")]
    assert child(supervisor, "a") == a


@pytest.mark.parametrize(
    ("restart", "how", "restarts"),
    [
        ("permanent", "stop", True),
        ("permanent", "fail", True),
        ("permanent", "kill", True),
        ("transient", "stop", False),
        ("transient", "fail", True),
        ("transient", "kill", True),
        ("temporary", "stop", False),
        ("temporary", "fail", False),
        ("temporary", "kill", False),
    ],
)
def test_restart_types(
    runtime: Runtime, restart: str, how: str, restarts: bool
) -> None:
    log = runtime.shared_list()
    supervisor = Supervisor.start(specs(runtime, log, "a", restart=restart))
    a = child(supervisor, "a")
    if how == "kill":
        a.kill()
    else:
        a.tell(how)
    a.termination().get(TIMEOUT)
    now = child(supervisor, "a")
    if restarts:
        assert now is not None
        assert now != a
    else:
        assert now is None
        assert supervisor.proxy().which_children().get(TIMEOUT) == [("a", None)]


def test_too_many_restarts_stops_the_children_and_fails_the_supervisor(
    runtime: Runtime,
) -> None:
    log = runtime.shared_list()
    supervisor = Supervisor.start(
        specs(runtime, log, "a", "b"), max_restarts=2, within=60
    )
    for _ in range(2):
        a = child(supervisor, "a")
        a.tell("fail")
        restarted(supervisor, "a", a)
    b = child(supervisor, "b")
    child(supervisor, "a").tell("fail")
    terminated = supervisor.termination().get(TIMEOUT)
    assert terminated.reason == "failure"
    assert isinstance(terminated.exception, limelight.TooManyRestartsError)
    assert "more than 2 restarts within 60 seconds" in str(terminated.exception)
    assert not b.is_alive()
    assert log[-1] == ("stop", "b")
    assert limelight.ActorRegistry.get_all() == []


def test_restarts_older_than_the_period_do_not_count(runtime: Runtime) -> None:
    supervisor = Supervisor.start(
        specs(runtime, runtime.shared_list(), "a"), max_restarts=1, within=0.001
    )
    for _ in range(5):
        a = child(supervisor, "a")
        a.tell("fail")
        restarted(supervisor, "a", a)
        # So that the next restart is more than `within` after this one,
        # however late this one came (not to wait for anything: time must
        # pass).
        threading.Event().wait(0.002)
    assert supervisor.is_alive()


def test_supervisors_nest(runtime: Runtime) -> None:
    log = runtime.shared_list()
    inner = ChildSpec(
        "inner",
        Supervisor,
        args=(specs(runtime, log, "a"),),
        kwargs={"max_restarts": 0},
    )
    outer = Supervisor.start([inner])
    first_inner = child(outer, "inner")
    a = child(first_inner, "a")
    a.tell("fail")  # too many for the inner supervisor: it fails
    second_inner = restarted(outer, "inner", first_inner)
    new_a = child(second_inner, "a")
    assert new_a.ask("ping") == ("a", "ping")
    assert new_a != a
    outer.stop()
    assert log[-1] == ("stop", "a")
    assert limelight.ActorRegistry.get_all() == []


@pytest.mark.needs("threading_events")
def test_an_old_ref_is_dead_and_queued_asks_fail(runtime: Runtime) -> None:
    release = threading.Event()
    supervisor = Supervisor.start(
        [ChildSpec("a", runtime.actor(Child), args=("a", [], release))]
    )
    a = child(supervisor, "a")
    a.tell("hang")
    a.tell("fail")
    queued = a.ask("queued", block=False)
    release.set()
    with pytest.raises(limelight.ActorDeadError):
        queued.get(TIMEOUT)
    restarted(supervisor, "a", a)
    with pytest.raises(limelight.ActorDeadError):
        a.ask("ping")


@pytest.mark.dedicated_host
def test_a_killed_supervisor_takes_its_children_with_it(runtime: Runtime) -> None:
    supervisor = Supervisor.start(specs(runtime, runtime.shared_list(), "a"))
    a = child(supervisor, "a")
    supervisor.kill()
    terminated = a.termination().get(TIMEOUT)
    assert terminated.reason == "failure"
    assert isinstance(terminated.exception, limelight.LinkedActorFailed)


@pytest.mark.needs("threading_events")
def test_a_child_that_does_not_stop_in_time_is_killed(runtime: Runtime) -> None:
    release = threading.Event()
    supervisor = Supervisor.start(
        [
            ChildSpec(
                "a",
                runtime.actor(Child),
                args=("a", [], release),
                shutdown_timeout=0.01,
            )
        ]
    )
    a = child(supervisor, "a")
    a.tell("hang")
    supervisor.stop()
    release.set()
    assert a.termination().get(TIMEOUT).reason == "killed"


def test_children_can_be_added_and_removed(runtime: Runtime) -> None:
    log = runtime.shared_list()
    supervisor = Supervisor.start(specs(runtime, log, "a"))
    proxy = supervisor.proxy()
    (b_spec,) = specs(runtime, log, "b")
    b = proxy.start_child(b_spec).get(TIMEOUT)
    assert b.ask("ping") == ("b", "ping")
    with pytest.raises(ValueError, match="already has a child called 'b'"):
        proxy.start_child(b_spec).get(TIMEOUT)
    proxy.stop_child("a").get(TIMEOUT)
    assert [name for name, _ in proxy.which_children().get(TIMEOUT)] == ["b"]
    with pytest.raises(KeyError, match="no child called 'a'"):
        proxy.child("a").get(TIMEOUT)
    supervisor.stop()
    assert log == [("start", "a"), ("start", "b"), ("stop", "a"), ("stop", "b")]


def test_a_start_function_may_start_the_child(runtime: Runtime) -> None:
    log = runtime.shared_list()
    actor_class = runtime.actor(Child)

    def start(name: str) -> limelight.ActorRef[Any]:
        return actor_class.start(name, log)

    supervisor = Supervisor.start([ChildSpec("a", start, args=("a",))])
    assert child(supervisor, "a").ask("ping") == ("a", "ping")


def test_a_child_that_cannot_be_restarted_exhausts_the_restarts(
    runtime: Runtime,
) -> None:
    actor_class = runtime.actor(Child)
    starts: list[int] = []

    def start() -> limelight.ActorRef[Any]:
        starts.append(1)
        if len(starts) > 1:
            raise OSError("cannot start")
        return actor_class.start("a", [])

    supervisor = Supervisor.start([ChildSpec("a", start)], max_restarts=3)
    child(supervisor, "a").tell("fail")
    terminated = supervisor.termination().get(TIMEOUT)
    assert isinstance(terminated.exception, limelight.TooManyRestartsError)
    assert len(starts) == 4  # the first start, then three failed restarts


def only_supervisor() -> limelight.ActorRef[Supervisor]:
    """The one supervisor registered (the registry has nothing else of its class)."""
    (supervisor,) = limelight.ActorRegistry.get_by_class(Supervisor)
    return supervisor


def test_a_failing_first_start_fails_the_supervisor(runtime: Runtime) -> None:
    log = runtime.shared_list()

    def broken() -> Any:
        return "not a ref"

    with pytest.raises(TypeError, match="returned 'not a ref', not the ActorRef"):
        Supervisor.start([*specs(runtime, log, "a"), ChildSpec("b", broken)])
    assert log == [("start", "a"), ("stop", "a")]
    assert limelight.ActorRegistry.get_by_class(Supervisor) == []


class BrokenInit(Child):
    def __init__(self, name: str, log: list[Any]) -> None:
        super().__init__(name, log)
        raise TypeError(f"{name} cannot be made")


class BrokenStart(Child):
    def on_start(self) -> None:
        super().on_start()
        raise RuntimeError(f"{self.name} cannot start")


@pytest.mark.parametrize(
    ("behaviour", "error", "message"),
    [
        (BrokenInit, TypeError, "b cannot be made"),
        (BrokenStart, RuntimeError, "b cannot start"),
    ],
)
def test_a_child_that_cannot_start_fails_the_supervisor_s_start(
    runtime: Runtime, behaviour: type[Child], error: type[Exception], message: str
) -> None:
    # Not a ref to a supervisor found dead at the next call: the child's
    # own error, at once, with the children started before it stopped.
    log = runtime.shared_list()
    broken = ChildSpec("b", runtime.actor(behaviour), args=("b", log))
    with pytest.raises(Exception, match=message) as raised:
        Supervisor.start([*specs(runtime, log, "a"), broken, *specs(runtime, log, "c")])
    # (An exception from another process arrives as a stand-in of its class.)
    assert isinstance(raised.value, error)
    assert ("stop", "a") in log
    assert ("start", "c") not in log
    assert limelight.ActorRegistry.get_by_class(Supervisor) == []


def test_a_child_that_ends_normally_at_once_does_not_fail_the_start(
    runtime: Runtime,
) -> None:
    actor_class = runtime.actor(Child)

    def start_ended() -> limelight.ActorRef[Any]:
        ref = actor_class.start("a", [])
        ref.stop()
        return ref

    supervisor = Supervisor.start([ChildSpec("a", start_ended, restart="transient")])
    assert child(supervisor, "a") is None  # ended normally: not restarted
    supervisor.stop()


def test_other_messages_are_unexpected(runtime: Runtime) -> None:
    supervisor = Supervisor.start(specs(runtime, runtime.shared_list(), "a"))
    assert supervisor.ask("hello") is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": ""}, ValueError, "non-empty string"),
        ({"start": 42}, TypeError, "must be an actor class or a function"),
        ({"restart": "sometimes"}, ValueError, "restart must be one of"),
        ({"shutdown_timeout": -1}, ValueError, "positive number of seconds"),
        ({"shutdown_timeout": True}, ValueError, "positive number of seconds"),
    ],
)
def test_bad_child_specs_are_refused(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    arguments: dict[str, Any] = {"name": "a", "start": limelight.ThreadingActor}
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        ChildSpec(**arguments)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    list[tuple[tuple[Any, ...], dict[str, Any], type[Exception], str]](
        [
            (([object()],), {}, TypeError, "must be ChildSpec objects"),
            (
                ([ChildSpec("a", limelight.ThreadingActor)] * 2,),
                {},
                ValueError,
                r"unique within a supervisor: \['a'\]",
            ),
            (
                ([],),
                {"strategy": "all_for_none"},
                ValueError,
                "strategy must be one of",
            ),
            (([],), {"max_restarts": 1.5}, TypeError, "max_restarts must be an int"),
            (([],), {"max_restarts": -1}, ValueError, "max_restarts must be 0 or more"),
            (([],), {"within": 0}, ValueError, "within must be a positive number"),
            (([],), {"within": None}, ValueError, "within must be a positive number"),
        ]
    ),
)
def test_bad_supervisor_arguments_are_refused(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Supervisor.start(*args, **kwargs)


def test_stop_all_stops_supervisors_before_their_children(runtime: Runtime) -> None:
    log = runtime.shared_list()
    inner = ChildSpec("inner", Supervisor, args=(specs(runtime, log, "b", "c"),))
    outer = Supervisor.start([*specs(runtime, log, "a"), inner])
    assert child(child(outer, "inner"), "c").ask("ping") == ("c", "ping")
    results = limelight.ActorRegistry.stop_all(timeout=TIMEOUT)
    # The outer supervisor stopped everything: the others were stopped already.
    assert results == [True, False, False, False, False]
    assert log[3:] == [("stop", "c"), ("stop", "b"), ("stop", "a")]


def test_news_of_an_actor_that_is_not_a_current_child_is_ignored(
    runtime: Runtime,
) -> None:
    supervisor = Supervisor.start(specs(runtime, runtime.shared_list(), "a"))
    a = child(supervisor, "a")
    stranger = runtime.actor(Child).start("stranger", [])
    stranger.stop()
    supervisor.tell(Terminated(stranger, "failure", RuntimeError("not mine")))
    assert child(supervisor, "a") == a
    assert supervisor.proxy().restarts.get(TIMEOUT) == 0


@pytest.mark.dedicated_host
def test_a_child_may_take_as_long_as_it_needs_to_stop(runtime: Runtime) -> None:
    log = runtime.shared_list()
    supervisor = Supervisor.start(specs(runtime, log, "a", shutdown_timeout=None))
    supervisor.stop()
    assert log == [("start", "a"), ("stop", "a")]


def termination_callbacks(ref: limelight.ActorRef[Any]) -> int:
    """How many callbacks wait for the end of `ref`'s actor: its bookkeeping."""
    return len(ref.actor_stopped._on_terminated or {})


def crash(
    supervisor: limelight.ActorRef[Supervisor], name: str
) -> limelight.ActorRef[Any]:
    """Crash the running child `name` once; return its successor's ref."""
    old = child(supervisor, name)
    old.tell("fail")
    return restarted(supervisor, name, old)


def crash_weakly(
    supervisor: limelight.ActorRef[Supervisor], name: str
) -> weakref.ref[limelight.Actor]:
    """Crash the running child `name` once; return a weak ref to the crashed actor.

    (A function, so that no ref to the crashed child is left in the caller.)
    """
    old = child(supervisor, name)
    crashed: weakref.ref[limelight.Actor] = old._actor_weakref
    old.tell("fail")
    restarted(supervisor, name, old)
    return crashed


def test_restarts_leave_the_supervisor_s_bookkeeping_constant(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    # Each restart links the supervisor to a new child: what it noted for
    # the old one must go when the old one ends, not pile up.
    caplog.set_level(logging.CRITICAL, logger="limelight")  # 100 crashes' logs
    supervisor = Supervisor.start(
        specs(runtime, [], "a", "b"), max_restarts=10**9, within=1.0
    )
    crash(supervisor, "a")  # (warm-up: whatever a first restart makes once)
    before = termination_callbacks(supervisor)
    for _ in range(100):
        crash(supervisor, "a")
    assert termination_callbacks(supervisor) == before == 2  # a link per child
    assert supervisor.proxy().restarts.get(TIMEOUT) == 101
    supervisor.stop()


@pytest.mark.needs("local_actor_object")
def test_a_crashed_child_is_freed(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    # A dead child's traceback holds it, with all its state: nothing the
    # supervisor keeps may hold the dead child's ref once it is replaced.
    caplog.set_level(logging.CRITICAL, logger="limelight")  # (a log holds tracebacks)
    supervisor = Supervisor.start(specs(runtime, [], "a"), max_restarts=10**9)
    crashed = [crash_weakly(supervisor, "a") for _ in range(200)]
    gc.collect()
    alive = [actor for actor in (ref() for ref in crashed) if actor is not None]
    assert alive == []
    supervisor.stop()


def test_a_supervisor_stopped_while_its_children_start_fails_its_start() -> None:
    entered, gate = threading.Event(), threading.Event()

    class Slow(limelight.ThreadingActor):
        def on_start(self) -> None:
            entered.set()
            gate.wait(TIMEOUT)

    outcome: list[BaseException | limelight.ActorRef[Any]] = []

    def start() -> None:
        try:
            outcome.append(Supervisor.start([ChildSpec("slow", Slow)]))
        except limelight.ActorDeadError as error:
            outcome.append(error)

    starting = threading.Thread(target=start)
    starting.start()
    assert entered.wait(TIMEOUT)
    assert only_supervisor().kill()
    gate.set()
    starting.join(TIMEOUT)
    assert len(outcome) == 1
    assert isinstance(outcome[0], limelight.ActorDeadError)


def test_a_supervisor_started_in_an_event_loop_does_not_block_it() -> None:
    # Its children may be actors of that very loop: waiting for them there
    # would wait forever. A failure shows in termination() instead.
    class LoopChild(AsyncioActor):
        def on_receive(self, message: Any) -> Any:
            return message

    async def main() -> tuple[Any, Terminated]:
        supervisor = Supervisor.start([ChildSpec("a", LoopChild)])
        a = await supervisor.proxy().child("a")
        answer = await a.ask("ping", block=False)
        broken = Supervisor.start([ChildSpec("b", BrokenInit, args=("b", []))])
        return answer, await broken.termination()

    answer, terminated = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert answer == "ping"
    assert isinstance(terminated.exception, TypeError)
    limelight.ActorRegistry.stop_all()
