"""The Ray runtime: limelight.ray.RayActor, its hosts, refs and placement.

Marked ``ray``: a local Ray is started once for the session (it takes a few
seconds and some 700 MiB; the `local_ray` fixture of conftest.py); skip these
with ``-m "not ray"``. Skipped when Ray
is not installed. The actor classes live in tests/ray_actors.py, since Ray
workers import them by module name. Most tests use pooled actors, which
start in a running Ray actor; a dedicated one costs a Ray worker process.

The host's own logic runs in Ray workers, which coverage does not see: the
tests at the end run it in this process, without Ray.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

import limelight
from limelight._core._registry import ActorRegistry
from limelight.messages import ProxyCall, Terminated

ray = pytest.importorskip("ray", reason="Ray is not installed (extra limelight[ray])")

import limelight.ray  # noqa: E402 -- needs Ray
from limelight._bench import harness  # noqa: E402
from limelight._bench import ray_workloads as rw  # noqa: E402
from limelight._remote._ended import EndedActors  # noqa: E402
from limelight._runtimes import ray_cluster  # noqa: E402
from limelight._runtimes.ray_cluster import (  # noqa: E402
    _cluster,
    _future,
    _host,
    _refs,
    _serializers,
)
from limelight.ray import RayRef  # noqa: E402
from tests.ray_actors import (  # noqa: E402
    NAMESPACE,
    Counter,
    FailsInit,
    ForgetsSuper,
    Pooled,
    UnpicklableError,
)
from tests.runtimes import _ray_event  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("local_ray")]

TIMEOUT = 60.0
"""Generous: other test runs share this machine's two cores."""

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_ray_refs_left() -> Iterator[None]:
    """Every test stops the Ray actors it started."""
    yield
    left = [r for r in ActorRegistry.get_all() if isinstance(r, RayRef)]
    for ref in left:
        ref.stop(timeout=TIMEOUT)
    assert left == []


class Recorder(limelight.ThreadingActor):
    """A local actor: records what it is told."""

    def __init__(self) -> None:
        super().__init__()
        self.received: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def on_receive(self, message: Any) -> Any:
        self.received.put(message)


def _received(ref: limelight.ActorRef[Any]) -> Any:
    actor = ref._actor_weakref()
    assert isinstance(actor, Recorder)
    return actor.received.get(timeout=TIMEOUT)


def _ask_in_a_task(ref: limelight.ActorRef[Any], message: Any) -> Any:
    return ref.ask(message, timeout=TIMEOUT)


def _ask_by_name_in_a_task(name: str, message: Any) -> Any:
    return limelight.ray.lookup(name, NAMESPACE).ask(message, timeout=TIMEOUT)


ask_in_a_task: Any = ray.remote(_ask_in_a_task)
ask_by_name_in_a_task: Any = ray.remote(_ask_by_name_in_a_task)


# -- The caller's API --------------------------------------------------------------


def test_tells_and_asks_arrive_in_order_and_replies_come_back() -> None:
    ref = Pooled.start(3)
    proxy = ref.proxy()
    for n in range(1, 11):
        proxy.add.defer(n)
    assert proxy.count.get(TIMEOUT) == 58
    assert ref.ask("hi", timeout=TIMEOUT) == ("got", "hi")
    assert isinstance(ref, RayRef)
    assert ref.is_alive()
    ref.stop(timeout=TIMEOUT)


def test_proxy_attributes_traversables_and_setting() -> None:
    ref = Pooled.start()
    proxy = ref.proxy()
    assert proxy.inner.hello().get(TIMEOUT) == "inner"
    assert proxy.inner.calls.get(TIMEOUT) == 1
    proxy.count = 41
    assert proxy.add(1).get(TIMEOUT) == 42
    assert "add" in dir(proxy)
    ref.stop(timeout=TIMEOUT)


def test_futures_are_awaitable_and_combine() -> None:
    ref = Pooled.start()
    proxy = ref.proxy()

    async def main() -> Any:
        return await proxy.add(5)

    assert asyncio.run(main()) == 5
    joined = proxy.add(1).join(proxy.add(1)).map(sorted)
    assert joined.get(TIMEOUT) == [6, 7]
    ref.stop(timeout=TIMEOUT)


def test_an_exception_in_the_actor_is_raised_as_itself() -> None:
    ref = Pooled.start()
    with pytest.raises(ValueError, match="boom"):
        ref.proxy().fail().get(TIMEOUT)
    with pytest.raises(RuntimeError, match="could not be pickled"):
        ref.proxy().fail_unpicklably().get(TIMEOUT)
    with pytest.raises(limelight.Timeout):
        ref.proxy().hang(0.5).get(0.01)
    ref.stop(timeout=TIMEOUT)


def test_a_dedicated_hosts_proxy_calls_carry_their_arguments_as_they_were() -> None:
    ref = Counter.start()
    proxy = ref.proxy()
    args = ((1, 2), [3], {4: "four"}, None, b"\x00", 1.5)
    assert proxy.echo_args(*args, key=(5,)).get(TIMEOUT) == (args, {"key": (5,)})
    assert proxy.inner.hello().get(TIMEOUT) == "inner"
    proxy.add.defer(2)
    assert proxy.count.get(TIMEOUT) == 2
    assert ref.ask("plain", timeout=TIMEOUT) == ("got", "plain")
    ref.stop(timeout=TIMEOUT)


def test_a_deadlock_in_a_ray_actor_arrives_as_a_deadlock_error_naming_it() -> None:
    ref = Pooled.start()
    with pytest.raises(limelight.DeadlockError) as raised:
        ref.proxy().ask_other(ref, "myself").get(TIMEOUT)
    assert str(raised.value).startswith(f"{ref} → {ref}: the actor waits for a reply")
    # Its cycle's refs crossed too, as refs through the actor's host.
    assert raised.value.cycle == (ref,)
    assert ref.ask("alive", timeout=TIMEOUT) == ("got", "alive")
    ref.stop(timeout=TIMEOUT)


def test_an_unpicklable_message_is_refused_at_the_send() -> None:
    ref = Pooled.start()
    lock = threading.Lock()
    with pytest.raises(TypeError, match=r"^message <unlocked _thread\.lock"):
        ref.tell(lock)
    future = ref.ask(lock, block=False)
    with pytest.raises(TypeError, match="cannot reach a Ray actor"):
        future.get(TIMEOUT)
    ref.stop(timeout=TIMEOUT)


def test_a_local_actors_ref_cannot_be_sent_to_a_ray_actor() -> None:
    local = Recorder.start()
    ref = Pooled.start()
    with pytest.raises(TypeError, match="is a local actor"):
        ref.tell(local)
    local.stop()
    ref.stop(timeout=TIMEOUT)


class _ArrivesAsAFuture:
    """Not a future, but unpickled as a new one: a Ray actor's reply holds it."""

    def __reduce__(self) -> tuple[Any, ...]:
        return limelight.ThreadingFuture, ()


@pytest.mark.parametrize("actor_class", [Pooled, Counter])
def test_a_future_is_refused_at_the_send_to_and_from_a_ray_actor(
    actor_class: type[Counter],
) -> None:
    class OwnFuture(limelight.ThreadingFuture[Any]):
        """Defined after Ray's serializers were registered."""

    ref = actor_class.start()
    proxy = ref.proxy()
    pending: limelight.Future[Any] = limelight.ThreadingFuture()
    refused = r"^<\w+Future pending> is a future: futures cannot be sent to Ray actors"

    for future in (pending, ref.ask("an ask's", block=False), OwnFuture()):
        with pytest.raises(TypeError, match=refused):
            ref.tell(future)
    with pytest.raises(TypeError, match=refused):
        ref.tell({"nested": [pending]})
    with pytest.raises(TypeError, match=refused):
        ref.ask(pending, timeout=TIMEOUT)
    with pytest.raises(TypeError, match=refused):
        proxy.echo_args(1, key=pending).get(TIMEOUT)
    with pytest.raises(TypeError, match=refused) as raised:
        proxy.echo_args(pending).get(TIMEOUT)
    assert "Send the value instead, once the future has it" in str(raised.value)
    # A future made in the actor's process is refused there, in the reply.
    with pytest.raises(TypeError, match=refused):
        proxy.echo_args(_ArrivesAsAFuture()).get(TIMEOUT)

    assert proxy.add(1).get(TIMEOUT) == 1  # (it still answers)
    ref.stop(timeout=TIMEOUT)


def test_a_pickler_without_a_chain_of_tables_gets_no_table_for_later_futures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pickler = ray.cloudpickle.CloudPickler
    tables = pickler.dispatch_table
    monkeypatch.setattr(_serializers._Registered, "done", False)
    # (As a Ray might have it: its pickler's tables are not a public interface.)
    monkeypatch.setattr(pickler, "dispatch_table", dict(tables))

    _serializers.register_serializers()
    monkeypatch.undo()

    assert sum(isinstance(t, _serializers._FutureReducers) for t in tables.maps) == 1
    with pytest.raises(KeyError):
        _serializers._FutureReducers()[Pooled]  # (only futures)


def test_a_ref_reaches_the_actor_from_a_ray_task_and_another_ray_actor() -> None:
    ref = Pooled.start()
    other = Pooled.start()
    assert ray.get(ask_in_a_task.remote(ref, "from a task")) == ("got", "from a task")
    assert other.proxy().ask_other(ref, "via").get(TIMEOUT) == ("got", "via")
    back = ray.get(ray.put(ref))  # unpickled in this process: the same ref
    assert back is ref
    other.stop(timeout=TIMEOUT)
    ref.stop(timeout=TIMEOUT)
    ended = pickle.loads(pickle.dumps(ref))
    assert not ended.is_alive()
    with pytest.raises(limelight.ActorDeadError):
        ended.ask("late", timeout=TIMEOUT)


def test_a_named_actor_is_found_from_anywhere_in_the_cluster() -> None:
    ref = Counter.options(name="the-counter", namespace=NAMESPACE).start(7)
    found = limelight.ray.lookup("the-counter", NAMESPACE)
    assert found == ref
    assert ray.get(ask_by_name_in_a_task.remote("the-counter", "x")) == ("got", "x")
    with pytest.raises(LookupError, match="no Ray actor is named 'nobody'"):
        limelight.ray.lookup("nobody")
    ref.stop(timeout=TIMEOUT)


def test_ray_options_reach_the_host() -> None:
    ref = Counter.options(resources={"widget": 1}).start()
    assert ref.proxy().assigned_resources().get(TIMEOUT).get("widget") == 1.0
    ref.stop(timeout=TIMEOUT)
    with pytest.raises(TypeError, match="unknown Ray option"):
        Counter.options(colour="red").start()


def test_pooled_actors_share_the_pools_ray_actors() -> None:
    refs = [Pooled.start(n) for n in range(6)]
    hosts = {id(ref.ray_actor) for ref in refs}  # type: ignore[attr-defined]
    assert len(hosts) == 2  # the pool's size
    assert [r.ask("n", timeout=TIMEOUT) for r in refs] == [("got", "n")] * 6
    for ref in refs:
        ref.stop(timeout=TIMEOUT)


def test_starting_fails_as_init_fails() -> None:
    with pytest.raises(KeyError, match="no config") as raised:
        FailsInit.start()
    assert type(raised.value) is KeyError
    with pytest.raises(RuntimeError, match="did not call super"):
        ForgetsSuper.start()
    with pytest.raises(TypeError, match=r"^Pooled or its arguments cannot be pickled"):
        Pooled.start(threading.Lock())


# -- Ends: stop, kill, a dead host ---------------------------------------------------


def test_stop_ends_the_actor_and_later_messages_fail() -> None:
    ref = Pooled.start()
    assert ref.stop(timeout=TIMEOUT) is True
    assert not ref.is_alive()
    terminated = ref.termination().get(TIMEOUT)
    assert terminated.reason == "normal"
    assert ref.stop(timeout=TIMEOUT) is False
    with pytest.raises(limelight.ActorDeadError):
        ref.ask("late", timeout=TIMEOUT)
    with pytest.raises(limelight.ActorDeadError):
        ref.tell("late")


def test_kill_ends_the_actor_as_killed() -> None:
    ref = Pooled.start()
    assert ref.kill() is True
    assert ref.kill() is False
    assert ref.termination().get(TIMEOUT).reason == "killed"


def test_a_killed_host_fails_pending_asks_and_tells_watchers() -> None:
    ref = Counter.start()
    watcher = Recorder.start()
    actor = watcher._actor_weakref()
    assert actor is not None
    actor.watch(ref)
    pending = ref.proxy().hang()
    ray.kill(ref.ray_actor)  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(limelight.ActorDeadError, match="has died"):
        pending.get(TIMEOUT)
    assert time.monotonic() - started < 10
    terminated = _received(watcher)
    assert isinstance(terminated, Terminated)
    assert terminated.actor_ref == ref
    assert terminated.reason == "failure"
    with pytest.raises(limelight.ActorDeadError):
        ref.ask("late", timeout=TIMEOUT)
    watcher.stop()


def test_a_supervisor_restarts_an_actor_whose_host_died() -> None:
    supervisor = limelight.Supervisor.start(
        [limelight.ChildSpec("counter", Counter)], max_restarts=5
    )
    first = supervisor.proxy().child("counter").get(TIMEOUT)
    ray.kill(first.ray_actor)
    first.termination().get(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while True:
        second = supervisor.proxy().child("counter").get(TIMEOUT)
        if second is not None and second != first:
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert second.ask("restarted", timeout=TIMEOUT) == ("got", "restarted")
    supervisor.stop(timeout=TIMEOUT)
    assert not second.is_alive()


def test_a_pooled_host_that_dies_leaves_the_pool() -> None:
    ref = Pooled.start()
    ray.kill(ref.ray_actor)  # type: ignore[attr-defined]
    ref.termination().get(TIMEOUT)
    again = Pooled.start()
    assert again.ask("alive", timeout=TIMEOUT) == ("got", "alive")
    again.stop(timeout=TIMEOUT)


# -- A host Ray cannot reach for now is not dead --------------------------------


def _unavailable() -> BaseException:
    """Ray's error for a call to an actor it holds alive but could not reach."""
    error: BaseException = ray.exceptions.ActorUnavailableError("connection lost", None)
    return error


def _cut_off() -> NoReturn:
    raise _unavailable()


cut_off: Any = ray.remote(_cut_off)


def test_a_call_cut_off_from_its_host_fails_as_unavailable_not_dead() -> None:
    error = _future.from_ray(_unavailable())
    assert isinstance(error, limelight.ray.ActorUnavailableError)
    assert isinstance(error, ConnectionError)
    assert not isinstance(error, limelight.ActorDeadError)
    assert isinstance(error.__cause__, ray.exceptions.ActorUnavailableError)
    died = ray.exceptions.ActorDiedError()
    assert isinstance(_future.from_ray(died), limelight.ActorDeadError)

    # As Ray raises it from a reply: an error of its own, of the same class too.
    future: ray_cluster.RayFuture[Any] = ray_cluster.RayFuture()
    future._await_reply(
        cut_off.remote(), functools.partial(_future.complete_plain, future)
    )
    with pytest.raises(limelight.ray.ActorUnavailableError, match="connection lost"):
        future.get(TIMEOUT)


def test_a_ref_whose_end_notice_was_cut_off_asks_again_and_stays_alive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_refs, "POLL_AGAIN_AFTER", 0.0)
    asked_again = threading.Event()
    subscribe = _refs.HostLink.subscribe

    def recording(link: _refs.HostLink, ref: Any) -> None:
        asked_again.set()
        subscribe(link, ref)

    ref = Pooled.start(5)
    assert isinstance(ref, RayRef)
    host = ref.ray_actor
    monkeypatch.setattr(_refs.HostLink, "subscribe", recording)

    # What the completions thread hands the ref when Ray cuts its poll off.
    ref._link._ended((False, _future.from_ray(_unavailable())))

    assert asked_again.wait(TIMEOUT)
    assert ref.is_alive()
    assert ref.proxy().add(1).get(TIMEOUT) == 6  # (its state intact)
    ref.stop(timeout=TIMEOUT)
    assert ref.termination().get(TIMEOUT).reason == "normal"
    pool = _cluster.Cluster.pool
    assert pool is not None
    assert host in pool.hosts  # (given back alive, not dropped as dead)


def test_a_poll_due_again_is_not_made_for_a_ref_that_ended_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = RayRef(None, "urn:test:ended-before-polling-again", Counter, pooled=False)
    ref._terminate("normal", None)

    def fail(_link: Any, _ref: Any) -> NoReturn:
        raise AssertionError("polled again")

    monkeypatch.setattr(_refs.HostLink, "subscribe", fail)

    ref._link._poll_again()


# -- A start that Ray cannot place fails in time --------------------------------


@pytest.fixture
def placement_timeout() -> Iterator[float]:
    """Dedicated hosts that Ray has not placed within a second fail their start."""
    limelight.ray.configure(placement_timeout=1.0)
    yield 1.0
    limelight.ray.configure(placement_timeout=_cluster.DEFAULT_PLACEMENT_TIMEOUT)


def _recording_killed_hosts(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The hosts that ``start()`` kills from now on."""
    killed: list[Any] = []
    kill_host = _cluster.kill_host

    def recording(host: Any) -> None:
        killed.append(host)
        kill_host(host)

    monkeypatch.setattr(_cluster, "kill_host", recording)
    return killed


def test_a_start_that_ray_cannot_place_fails_in_time_and_leaves_nothing(
    placement_timeout: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed = _recording_killed_hosts(monkeypatch)
    started = time.monotonic()

    with pytest.raises(limelight.ray.PlacementTimeout) as raised:
        Counter.options(resources={"nonexistent": 1}).start()

    assert time.monotonic() - started < placement_timeout + 10
    assert isinstance(raised.value, limelight.Timeout)
    message = str(raised.value)
    assert "Counter did not start" in message
    assert "'nonexistent': 1" in message
    assert f"within {placement_timeout} seconds" in message
    assert "configure(placement_timeout=...)" in message
    # The Ray actor waiting for a node was withdrawn.
    (host,) = killed
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(host.count.remote(), timeout=TIMEOUT)


def _pinned_after_first(resource: str) -> Any:
    """A child's start function: a counter; from the second start on, pinned.

    Pinned to `resource`, which no node has: it cannot be placed. (The
    first is pooled, so that its start is not timed: starting a Ray worker
    process can take more than a second on a loaded machine.)
    """
    starts = iter(range(1_000))

    def start() -> limelight.ActorRef[Any]:
        if next(starts) == 0:
            return Pooled.start()
        return Counter.options(resources={resource: 1}).start()

    return start


@pytest.mark.usefixtures("placement_timeout")
def test_a_supervisor_gives_up_on_a_child_that_cannot_be_placed() -> None:
    spec = limelight.ChildSpec("pinned", _pinned_after_first("nonexistent"))
    supervisor = limelight.Supervisor.start([spec], max_restarts=2, within=TIMEOUT)
    first = supervisor.proxy().child("pinned").get(TIMEOUT)

    first.kill()

    # Each restart fails in a second: the restart limit applies, as it
    # would to a child whose __init__() fails.
    terminated = supervisor.termination().get(TIMEOUT)
    assert isinstance(terminated.exception, limelight.TooManyRestartsError)


@pytest.mark.usefixtures("placement_timeout")
def test_a_supervisor_answers_again_once_a_child_it_adds_could_not_be_placed() -> None:
    supervisor = limelight.Supervisor.start([])
    spec = limelight.ChildSpec(
        "pinned", Counter.options(resources={"nonexistent": 1}).start
    )

    with pytest.raises(limelight.ray.PlacementTimeout):
        supervisor.proxy().start_child(spec).get(TIMEOUT)

    assert supervisor.proxy().which_children().get(TIMEOUT) == []
    supervisor.stop(timeout=TIMEOUT)


def _placement_timeout() -> float | None:
    return _cluster.Cluster.placement_timeout


def test_configure_checks_and_keeps_the_placement_timeout() -> None:
    try:
        limelight.ray.configure(placement_timeout=2.5)
        assert _placement_timeout() == 2.5
        limelight.ray.configure()  # (what is left out keeps its value)
        assert _placement_timeout() == 2.5
        limelight.ray.configure(placement_timeout=None)
        assert _placement_timeout() is None
        limelight.ray.configure(placement_timeout=float("inf"))
        assert _placement_timeout() is None
        with pytest.raises(ValueError, match="placement_timeout must be positive"):
            limelight.ray.configure(placement_timeout=0)
        with pytest.raises(TypeError, match="placement_timeout must be a number"):
            limelight.ray.configure(placement_timeout="soon")  # type: ignore[arg-type]
    finally:
        limelight.ray.configure(placement_timeout=_cluster.DEFAULT_PLACEMENT_TIMEOUT)


# -- A dedicated host retires once its actor has ended --------------------------


@pytest.fixture
def quick_retirement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dedicated hosts answer for a tenth of a second after their actor ended."""
    monkeypatch.setattr(_cluster.Cluster, "retire_after", 0.1)


def _live(hosts: list[Any]) -> list[Any]:
    """Those of `hosts` (Ray actor handles) that still answer a call."""
    live: list[Any] = []
    for host in hosts:
        try:
            ray.get(host.count.remote(), timeout=TIMEOUT)
        except ray.exceptions.RayActorError:
            continue
        live.append(host)
    return live


def _until_none_live(hosts: list[Any]) -> None:
    # (Polled: nothing in this process hears of a Ray worker's exit.)
    deadline = time.monotonic() + TIMEOUT
    while _live(hosts):
        assert time.monotonic() < deadline, f"hosts left running: {_live(hosts)}"
        time.sleep(0.05)


@pytest.mark.usefixtures("quick_retirement")
def test_dedicated_hosts_exit_once_their_actors_ended() -> None:
    hosts: list[Any] = []
    for n in range(4):
        ref = Counter.start()
        hosts.append(ref.ray_actor)  # type: ignore[attr-defined]
        assert ref.ask(n, timeout=TIMEOUT) == ("got", n)
        if n % 2:
            ref.kill()
        else:
            ref.stop(timeout=TIMEOUT)

    _until_none_live(hosts)
    deadline = time.monotonic() + TIMEOUT
    while _cluster.Cluster.retiring:  # (their retire() replies come last)
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.usefixtures("quick_retirement")
def test_a_killed_actor_s_host_exits_though_a_handler_never_returns() -> None:
    ref = Counter.start()
    host = ref.ray_actor  # type: ignore[attr-defined]
    entered = _ray_event()
    never = ref.proxy().enter_and_hang(entered)
    assert entered.wait(TIMEOUT)
    ref.kill()

    with pytest.raises(limelight.ActorDeadError, match="has died"):
        never.get(TIMEOUT)
    _until_none_live([host])
    # (Its host was cut off before the actor could end as killed.)
    assert ref.termination().get(TIMEOUT).reason == "failure"


def test_a_host_still_answers_a_late_question_about_the_end() -> None:
    # A ref unpickled after the end (as in another host, for a watcher)
    # asks the host why the actor ended: it hears "killed", not "failure".
    ref = Counter.start()
    sent_while_alive = pickle.dumps(ref)
    ref.kill()
    ref.termination().get(TIMEOUT)

    late = pickle.loads(sent_while_alive)

    assert late is not ref
    assert late.termination().get(TIMEOUT).reason == "killed"


def test_shutdown_ends_the_dedicated_hosts_still_retiring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cluster.Cluster, "retire_after", TIMEOUT)
    # (Not ray.shutdown(): the session's Ray serves the other tests.)
    monkeypatch.setattr(_cluster.Cluster, "started_ray", False)
    ref = Counter.start()
    host = ref.ray_actor  # type: ignore[attr-defined]
    ref.stop(timeout=TIMEOUT)
    assert _live([host]) == [host]  # (answering late questions)

    limelight.ray.shutdown()

    assert _cluster.Cluster.retiring == set()
    _until_none_live([host])


# -- Settings ----------------------------------------------------------------------


def test_configure_checks_the_pool_size() -> None:
    with pytest.raises(ValueError, match="positive int"):
        limelight.ray.configure(pool_size=0)
    ref = Pooled.start()
    with pytest.raises(RuntimeError, match="shutdown"):
        limelight.ray.configure(pool_size=3)
    ref.stop(timeout=TIMEOUT)
    # (The hosts stay until shutdown(); with none made yet, it is allowed.)
    pool = _cluster.Cluster.pool
    _cluster.Cluster.pool = None
    try:
        limelight.ray.configure(pool_size=3)
        assert _cluster.Cluster.pool_size == 3
    finally:
        limelight.ray.configure(pool_size=2)
        _cluster.Cluster.pool = pool


def test_init_does_nothing_when_ray_is_running() -> None:
    limelight.ray.init()  # (ray.init() again would raise)
    assert ray.is_initialized()


def test_importing_limelight_does_not_import_ray() -> None:
    script = (
        "import sys, limelight, limelight.ray, limelight._bench.ray_workloads; "
        "print('ray' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "False\n"


# -- The host, in this process (what coverage cannot see in Ray's workers) ---------


@pytest.fixture
def host() -> Iterator[ray_cluster.RayHost]:
    host = ray_cluster.RayHost()
    yield host
    _refs.Here.host = None
    for ref in list(host.actors.values()):
        ref.stop()


class HostedCounter(limelight.ThreadingActor):
    def __init__(self, start: int = 0) -> None:
        super().__init__()
        self.count = start

    def add(self, numbers: tuple[int, ...]) -> int:
        self.count += sum(numbers)
        return self.count

    def on_receive(self, message: Any) -> Any:
        if message == "fail":
            raise UnpicklableError(threading.Lock())
        self.count += message
        return self.count


class Forgetful(limelight.ThreadingActor):
    def __init__(self) -> None:  # pyright: ignore[reportMissingSuperCall] -- on purpose
        pass


def test_the_host_runs_actors_and_answers_for_them(
    host: ray_cluster.RayHost, caplog: pytest.LogCaptureFixture
) -> None:
    urn = "urn:test:1"

    async def main() -> Any:
        assert await host.start(HostedCounter, (1,), {}, urn) is None
        assert await host.describe() == (urn, HostedCounter)
        await host.tell(urn, 1)
        await host.tell("urn:none", 1)
        assert await host.ask(urn, 1) == 3
        failed = await host.ask(urn, "fail")
        assert isinstance(failed, ray_cluster.Failure)
        assert "could not be pickled" in str(failed.exception)
        failed = await host.ask("urn:none", 1)
        assert isinstance(failed, ray_cluster.Failure)
        assert isinstance(failed.exception, limelight.ActorDeadError)
        assert ("count",) in await host.introspect(urn)
        assert await host.count() == 1
        return await host.stop(urn)

    assert asyncio.run(main()) == (True, "normal", None)
    assert "Dropped a message to urn:none" in caplog.text
    assert host.actors == {}

    async def after() -> Any:
        with pytest.raises(limelight.ActorDeadError):
            await host.describe()
        await host.kill("urn:none")
        return await host.stop(urn), await host.stop("urn:none")

    # (A late stop succeeds, as one queued behind the first; an unknown fails.)
    assert asyncio.run(after()) == ((True, "normal", None), (False, "normal", None))


def test_a_pooled_host_lets_each_ref_s_messages_in_in_the_order_sent(
    host: ray_cluster.RayHost,
) -> None:
    # Ray may start an async actor's calls in any order, even one caller's:
    # here the ask and the stop arrive before the tells sent ahead of them.
    urn = "urn:test:in-order"

    async def main() -> Any:
        assert await host.start(HostedCounter, (), {}, urn) is None
        stop = asyncio.ensure_future(host.stop(urn, "ref-a", 4))
        asked = asyncio.ensure_future(host.ask(urn, 0, "ref-a", 3))
        await host.tell(urn, 100, "ref-b", 0)  # another ref: its own numbers
        later = asyncio.ensure_future(host.tell(urn, 10, "ref-a", 2))
        await asyncio.sleep(0)
        assert not asked.done()
        await host.tell(urn, 1, "ref-a", 0)
        await host.tell(urn, 5, "ref-a", 1)
        await later
        return await asked, await stop

    assert asyncio.run(main()) == (116, (True, "normal", None))
    assert host.turns._next == {}
    assert host.turns._waiting == {}


def test_messages_waiting_their_turn_are_let_in_when_the_actor_ends(
    host: ray_cluster.RayHost, caplog: pytest.LogCaptureFixture
) -> None:
    urn = "urn:test:ends-with-waiters"

    async def main() -> Any:
        assert await host.start(HostedCounter, (), {}, urn) is None
        asked = asyncio.ensure_future(host.ask(urn, 1, "ref-a", 1))
        stopped = asyncio.ensure_future(host.stop(urn, "ref-a", 2))
        told = asyncio.ensure_future(host.tell(urn, 1, "ref-a", 3))
        await asyncio.sleep(0)
        await host.kill(urn)  # (kills skip the queue): message 0 never comes
        await host.wait_terminated(urn)
        await told
        return await asked, await stopped, told.done()

    failed, stopped, told = asyncio.run(main())

    assert isinstance(failed, ray_cluster.Failure)
    assert isinstance(failed.exception, limelight.ActorDeadError)
    assert stopped == (True, "killed", None)  # as a stop queued when it ended
    assert told
    assert f"Dropped a message to {urn}" in caplog.text


def test_an_end_told_in_the_actor_s_thread_wakes_the_calls_waiting_their_turn(
    host: ray_cluster.RayHost,
) -> None:
    # The end is told in the thread the actor ended in, and the host's
    # loop, waiting for nothing else, must be woken to let the call in.
    urn = "urn:test:end-in-its-thread"

    async def main() -> Any:
        assert await host.start(HostedCounter, (), {}, urn) is None
        asked = asyncio.ensure_future(host.ask(urn, 1, "ref-a", 1))
        await asyncio.sleep(0)
        assert not asked.done()  # (message 0 never comes)
        reporter = threading.Thread(target=host._gone, args=(urn,))  # pyright: ignore[reportPrivateUsage]
        reporter.start()
        reporter.join()
        # (Handed to the loop, not done in the reporter's thread: the
        # waiting call's future is the loop's, and the loop must wake.)
        assert urn in host.turns._waiting  # pyright: ignore[reportPrivateUsage]
        return await asyncio.wait_for(asked, TIMEOUT)

    assert asyncio.run(main()) == 1  # (the actor runs on: only its end was said)


def test_a_call_for_a_forgotten_actor_takes_no_turn(
    host: ray_cluster.RayHost,
) -> None:
    # Forgotten turns stay forgotten: a call arriving while the host still
    # lists the actor must not wait for a turn that nobody will give.
    urn = "urn:test:forgotten"

    async def main() -> Any:
        assert await host.start(HostedCounter, (), {}, urn) is None
        host.turns.forget(urn)
        assert urn in host.actors
        await asyncio.wait_for(host.tell(urn, 1, "ref-a", 2), TIMEOUT)
        return await asyncio.wait_for(host.ask(urn, 1, "ref-a", 5), TIMEOUT)

    assert asyncio.run(main()) == 2
    assert urn not in host.turns._next  # pyright: ignore[reportPrivateUsage]


def test_a_host_remembers_a_bounded_number_of_ended_actors() -> None:
    turns = _host._Turns()  # pyright: ignore[reportPrivateUsage]
    for number in range(_host._GONE_KEPT + 1):  # pyright: ignore[reportPrivateUsage]
        turns.forget(f"urn:test:{number}")

    gone = turns._gone  # pyright: ignore[reportPrivateUsage]
    assert len(gone) == _host._GONE_KEPT  # pyright: ignore[reportPrivateUsage]
    assert "urn:test:0" not in gone
    assert f"urn:test:{_host._GONE_KEPT}" in gone  # pyright: ignore[reportPrivateUsage]


def test_a_ref_numbers_what_it_sends_and_skips_no_number_on_a_refused_message() -> None:
    calls: list[tuple[Any, ...]] = []

    class Method:
        def remote(self, *args: Any) -> None:
            pickle.dumps(args)  # as Ray would: an unpicklable message is refused
            calls.append(args)

    class Host:
        tell = ask = stop = Method()

    ref = RayRef(Host(), "urn:test:numbered", HostedCounter, pooled=True)
    ref._link.forward(ref.actor_urn, (1, None))
    with pytest.raises(TypeError, match="message"):
        ref._link.forward(ref.actor_urn, (threading.Lock(), None))
    ref._link.forward(ref.actor_urn, (2, None))

    assert [call[-1] for call in calls] == [0, 1]
    assert {call[-2] for call in calls} == {ref._link.sender}
    assert (
        RayRef(Host(), "urn:test:numbered", HostedCounter, pooled=True)._link.sender
        != ref._link.sender
    )


def test_a_ref_to_a_dedicated_host_sends_the_message_alone() -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    class Method:
        def __init__(self, name: str) -> None:
            self.name = name

        def remote(self, *args: Any) -> None:
            calls.append((self.name, args))

    class Host:
        tell, ask, call = Method("tell"), Method("ask"), Method("call")

    ref = RayRef(Host(), "urn:test:dedicated", HostedCounter, pooled=False)
    ref._link.forward(ref.actor_urn, (1, None))
    ref._link.forward(ref.actor_urn, (ProxyCall(("add",), (2,), {"k": 3}), None))
    future: ray_cluster.RayFuture[Any] = ray_cluster.RayFuture()
    ref._link.forward(ref.actor_urn, (ProxyCall(("inner", "add"), ((4,),), {}), future))
    ref._link.forward(ref.actor_urn, ("plain", future))

    assert calls == [
        ("tell", (1,)),
        ("tell", (ProxyCall(("add",), (2,), {"k": 3}),)),
        ("call", ([["inner", "add"], [(4,)], {}],)),
        ("ask", ("plain",)),
    ]


def test_the_host_reports_a_kill_and_refuses_a_bad_class(
    host: ray_cluster.RayHost,
) -> None:
    async def main() -> Any:
        await host.start(HostedCounter, (), {}, "urn:test:2")
        waiting = asyncio.ensure_future(host.wait_terminated("urn:test:2"))
        await asyncio.sleep(0)  # (a caller subscribes as soon as it has started one)
        await host.kill("urn:test:2")
        return await waiting

    assert asyncio.run(main()) == ("killed", None)
    failure = asyncio.run(host.start(Forgetful, (), {}, "urn:test:3"))
    assert isinstance(failure, RuntimeError)
    assert "did not call super" in str(failure)


def test_a_ref_unpickled_in_its_actors_host_is_the_local_ref(
    host: ray_cluster.RayHost,
) -> None:
    asyncio.run(host.start(HostedCounter, (), {}, "urn:test:4"))
    remote = RayRef(None, "urn:test:4", HostedCounter, pooled=True)
    assert pickle.loads(pickle.dumps(remote)) is host.actors["urn:test:4"]


def test_a_ray_future_without_a_reply_is_an_ordinary_future() -> None:
    future: ray_cluster.RayFuture[int] = ray_cluster.RayFuture()
    future.set(3)
    assert future.get() == 3
    assert future._add_done_callback(lambda: None)


def test_a_failing_reply_handler_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_outcome: Any) -> None:
        raise RuntimeError("handler broke")

    done = threading.Event()
    _future.when_done(ray.put(1), broken)
    _future.when_done(ray.put(2), lambda _outcome: done.set())
    assert done.wait(TIMEOUT)
    assert "Handling a reply from Ray failed" in caplog.text


def test_what_a_ray_ref_does_without_its_host() -> None:
    ref = RayRef(None, "urn:test:5", Counter, pooled=False)
    inbox = ref.actor_inbox
    assert inbox.empty()
    with pytest.raises(queue.Empty):
        inbox.get()
    with pytest.raises(queue.Empty):
        inbox.get_nowait()
    failed: ray_cluster.RayFuture[Any] = ray_cluster.RayFuture()
    ref._link._stopped(failed, (False, limelight.ActorDeadError("gone")))
    with pytest.raises(limelight.ActorDeadError, match="gone"):
        failed.get(0)
    not_by_us: ray_cluster.RayFuture[Any] = ray_cluster.RayFuture()
    ref._link._stopped(not_by_us, (True, (False, "normal", None)))
    with pytest.raises(limelight.ActorDeadError, match="not found"):
        not_by_us.get(0)
    assert not ref.is_alive()
    with pytest.raises(limelight.ActorDeadError):
        ref.proxy()
    other = ValueError("not about the host")
    assert _future.from_ray(other) is other
    plain: ray_cluster.RayFuture[Any] = ray_cluster.RayFuture()
    _future.complete_plain(plain, (False, KeyError("k")))
    with pytest.raises(KeyError):
        plain.get(0)


def test_a_ref_unpickled_afresh_subscribes_to_its_actors_end() -> None:
    ref = Pooled.start()
    data = pickle.dumps(ref)
    _refs.forget(ref.actor_urn)
    fresh = pickle.loads(data)
    assert fresh is not ref
    assert fresh.ask("fresh", timeout=TIMEOUT) == ("got", "fresh")
    ref.stop(timeout=TIMEOUT)
    assert fresh.termination().get(TIMEOUT).reason == "normal"


def test_a_host_given_back_to_a_closed_pool_is_forgotten() -> None:
    pool = _cluster.Pool(1)
    pool.give_back(object(), dead=False)
    assert pool.hosts == {}


# -- The bench's rows ----------------------------------------------------------------


def test_the_bench_rows_run_clean_at_a_tiny_size() -> None:
    found = rw.workloads()
    assert [w.name for w in found] == ["proxy", "spawn", "pool_map"]
    result = harness.run(found, harness.Settings(size=3, repeat=1))
    assert result.problems == []
    for res in result.results:
        assert res.errors == {}
        assert all(f.median > 0 for f in res.figures.values())
    assert list(result.results[0].figures) == [harness.SUBJECT, harness.RAW]


def test_the_bench_has_no_ray_rows_without_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    def find_nothing(_name: str) -> None:
        return None

    monkeypatch.setattr(importlib.util, "find_spec", find_nothing)
    assert rw.workloads() == []


def test_the_bench_actors_echo() -> None:
    # (Run here too: in the bench, they run in Ray workers, unmeasured.)
    assert rw.Echo().echo(2) == 2
    assert rw.PooledEcho.ray_pool
    assert rw._RawEcho().echo(3) == 3
    assert rw.Spinner().spin(4) == rw._RawSpinner().spin(4) == 0 ^ 1 ^ 2 ^ 3


def test_ray_rows_let_rays_threads_linger() -> None:
    assert rw._may_linger(threading.Thread(name="ray_listen_error_messages"))
    assert rw._may_linger(threading.Thread(name="limelight-ray-replies"))
    assert not rw._may_linger(threading.Thread(name="limelight-timers-elsewhere"))


def test_the_threaded_host_runs_its_actor_and_answers_for_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = ray_cluster.RayThreadHost()
    urn = "urn:test:6"
    try:
        assert host.start(HostedCounter, (1,), {}, urn) is None
        assert host.describe() == (urn, HostedCounter)
        host.tell(1)
        assert host.ask(1) == 3
        assert host.call([["add"], [(2, 3)], {}]) == 8
        failed = host.ask("fail")
        assert isinstance(failed, ray_cluster.Failure)
        assert "could not be pickled" in str(failed.exception)
        assert ("count",) in host.introspect(urn)
        assert host.count() == 1
        assert host.stop() == (True, "normal", None)
        host.tell(1)
        assert f"Dropped a message to {urn}" in caplog.text
        late = host.ask(1)
        assert isinstance(late, ray_cluster.Failure)
        assert isinstance(late.exception, limelight.ActorDeadError)
        # A stop that comes once the actor was stopped succeeds, as a stop
        # queued behind another does.
        assert host.stop() == (True, "normal", None)
        assert host.wait_terminated(urn) == ("normal", None)
        failure = host.start(Forgetful, (), {}, "urn:test:7")
        assert isinstance(failure, RuntimeError)
        assert host.start(HostedCounter, (), {}, "urn:test:8") is None
        host.kill("urn:test:8")
        assert host.wait_terminated("urn:test:8") == ("killed", None)
    finally:
        _refs.Here.host = None


def test_a_threaded_host_retires_once_its_running_calls_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Context:
        current_actor = "the host's Ray handle"

        def get_actor_id(self) -> None:
            return None  # (made in-process: it reports no waits)

    class Exiting(Exception):  # noqa: N818 -- what Ray's exit_actor() raises, here
        pass

    def exit_actor() -> NoReturn:
        raise Exiting

    killed: queue.SimpleQueue[tuple[Any, dict[str, Any]]] = queue.SimpleQueue()

    def kill(host: Any, **options: Any) -> None:
        killed.put((host, options))

    monkeypatch.setattr(ray, "get_runtime_context", Context)
    monkeypatch.setattr(ray.actor, "exit_actor", exit_actor)
    monkeypatch.setattr(ray, "kill", kill)
    host = ray_cluster.RayThreadHost()
    _refs.Here.host = None

    with pytest.raises(Exiting):
        host.retire(0.0)
    # (Had calls still run, Ray would have waited for them, but not for long.)
    cut_off = ("the host's Ray handle", {"no_restart": True})
    assert killed.get(timeout=TIMEOUT) == cut_off


class AsksItself(limelight.ThreadingActor):
    def ask_myself(self) -> Any:
        return self.actor_ref.ask("again")


def test_a_host_sends_a_deadlock_as_a_deadlock_error_without_its_refs() -> None:
    host = ray_cluster.RayThreadHost()
    urn = "urn:test:deadlock"
    try:
        assert host.start(AsksItself, (), {}, urn) is None
        ref = host._target(urn)
        failed = host.call([["ask_myself"], [], {}])
        host.stop()
    finally:
        _refs.Here.host = None

    assert isinstance(failed, ray_cluster.Failure)
    error = pickle.loads(pickle.dumps(failed.exception))
    assert isinstance(error, limelight.DeadlockError)
    assert str(error).startswith(f"{ref} → {ref}: the actor waits for a reply")
    assert error.cycle == ()


def test_a_host_tells_why_an_actor_ended_before_its_ref_asked(
    host: ray_cluster.RayHost,
) -> None:
    # A kill, in the host's control group, may end the actor before its
    # ref's question (in another group) reaches the host.
    urn = "urn:test:ended-early"
    assert asyncio.run(host.start(HostedCounter, (), {}, urn)) is None
    killed = host._target(urn)
    asyncio.run(host.kill(urn))
    killed.termination().get(TIMEOUT)

    assert asyncio.run(host.wait_terminated(urn)) == ("killed", None)
    # (And to every copy of its ref that asks, such as a watcher's.)
    assert asyncio.run(host.wait_terminated(urn)) == ("killed", None)


def test_a_host_keeps_only_the_latest_ends(
    host: ray_cluster.RayHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EndedActors, "kept", 2)
    urns = [f"urn:test:end-{n}" for n in range(3)]
    for urn in urns:
        assert asyncio.run(host.start(HostedCounter, (), {}, urn)) is None
        killed = host._target(urn)
        asyncio.run(host.kill(urn))
        killed.termination().get(TIMEOUT)

    assert list(host.ended) == urns[1:]
    assert asyncio.run(host.wait_terminated(urns[0])) == ("normal", None)


def test_a_host_answers_messages_that_arrive_after_the_end_as_left_behind(
    host: ray_cluster.RayHost,
) -> None:
    urn = "urn:test:late"
    assert asyncio.run(host.start(HostedCounter, (), {}, urn)) is None
    assert asyncio.run(host.stop(urn, "sender", 0))[0] is True

    # Numbered after messages that never came: no turn to wait for.
    late = asyncio.run(host.ask(urn, "late", "sender", 3))

    assert isinstance(late, ray_cluster.Failure)
    assert isinstance(late.exception, limelight.ActorDeadError)
    assert "stopped before handling the message" in str(late.exception)


def test_a_host_refuses_to_introspect_an_actor_it_does_not_run(
    host: ray_cluster.RayHost,
) -> None:
    urn = "urn:test:introspected"
    assert asyncio.run(host.start(HostedCounter, (), {}, urn)) is None
    assert asyncio.run(host.stop(urn))[0] is True

    with pytest.raises(limelight.ActorDeadError, match="stopped before handling"):
        asyncio.run(host.introspect(urn))
    with pytest.raises(limelight.ActorDeadError, match="not found"):
        asyncio.run(host.introspect("urn:test:never"))


def test_a_forked_child_forgets_the_replies_thread_and_held_locks() -> None:
    completions = _future.Completions
    completions.start()
    locks = [completions.lock, _refs._known_lock, _cluster.Cluster.lock]
    with completions.lock, _refs._known_lock, _cluster.Cluster.lock:  # (at the fork)
        pid = os.fork()
        if pid == 0:  # pragma: no cover -- the child (measured by coverage's patch)
            held = any(lock.locked() for lock in locks)
            os._exit(0 if completions.thread is None and not held else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


class Blocking(limelight.ThreadingActor):
    """Handles a message only once `release` is set, having set `started`."""

    def __init__(self, started: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.started = started
        self.release = release

    def on_receive(self, message: Any) -> Any:
        self.started.set()
        assert self.release.wait(TIMEOUT)
        return message


def test_a_stop_that_reaches_the_host_after_a_kill_succeeds(
    host: ray_cluster.RayHost,
) -> None:
    # The one rule of late messages (_remote/_late.py): killed, its handler
    # still running, the actor is ending; a stop that comes then is answered
    # as one queued when it ended (it succeeds), an ask as one left behind.
    urn = "urn:test:killed-then-stopped"
    started, release = threading.Event(), threading.Event()

    async def main() -> Any:
        assert await host.start(Blocking, (started, release), {}, urn) is None
        busy = asyncio.ensure_future(host.ask(urn, "busy"))
        await asyncio.sleep(0)  # (the ask is queued: it awaits its reply)
        assert started.wait(TIMEOUT)
        await host.kill(urn)
        assert urn in host.actors  # ending, not ended: its handler runs
        stopping = asyncio.ensure_future(host.stop(urn))
        late = await host.ask(urn, "late")
        release.set()
        return await stopping, late, await busy

    stopped, late, busy = asyncio.run(main())

    assert stopped == (True, "killed", None)
    assert isinstance(late, ray_cluster.Failure)
    assert "stopped before handling the message" in str(late.exception)
    assert busy == "busy"  # (a kill lets the running handler finish)


def test_a_hosted_actors_own_ref_and_proxy_cross_as_a_ref_through_its_host(
    host: ray_cluster.RayHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Context:
        current_actor = "the host's Ray handle"

    monkeypatch.setattr(ray, "get_runtime_context", Context)
    urn = "urn:test:own-ref"
    assert asyncio.run(host.start(Pooled, (), {}, urn)) is None
    own = host._target(urn)

    reduced = _serializers._reduce_local_ref(own)

    assert reduced == ("the host's Ray handle", urn, own.actor_class, None, True)
    assert _serializers._rebuild_hosted_ref(reduced) is own  # (here: itself)
    proxy = _serializers._rebuild_proxy(_serializers._reduce_proxy(own.proxy()))
    assert proxy.actor_ref is own
    assert proxy.add(2).get(TIMEOUT) == 2
    # A local actor that is not hosted stays local.
    local = HostedCounter.start()
    with pytest.raises(TypeError, match="is a local actor"):
        _serializers._reduce_local_ref(local)
    local.stop()
    # Once it has ended, its ref crosses as a dead one.
    reduced = _serializers._reduce_local_ref(local)
    assert reduced == (None, local.actor_urn, HostedCounter, "normal", False)
    dead = _serializers._rebuild_hosted_ref(reduced)
    assert dead == local
    assert not dead.is_alive()


def test_a_reply_that_comes_once_its_future_was_settled_is_dropped() -> None:
    # (A get() and a callback may both read the reply: the first one wins.)
    future: ray_cluster.RayFuture[int] = ray_cluster.RayFuture()
    settle = functools.partial(_future.complete_plain, future)
    future._await_reply("the Ray object", settle)
    future.set(1)

    future._settle_once((True, 2))

    assert future.get(0) == 1


@pytest.mark.parametrize("bad", ["x", float("nan")])
def test_shutdown_reads_its_timeout_before_stopping_anything(bad: object) -> None:
    # (The stops swallow their errors: a bad timeout would stop nothing.)
    with pytest.raises((TypeError, ValueError), match="timeout must be"):
        limelight.ray.shutdown(timeout=bad)  # type: ignore[arg-type]
