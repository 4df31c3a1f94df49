"""The gevent runtime: what neither the conformance suite nor the shared tests say.

The conformance suite runs every behaviour on `GeventActor` too, and
test_green_runtimes.py what gevent and eventlet promise alike. These tests
cover the rest: where the actors that actors start live, a thread's plain code
waiting in its hub, the core's waiters and inbox races (driven on gevent's
hub), the loop watchers that hold gevent's hub, and a failing actor loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar, cast

import pytest

gevent = pytest.importorskip("gevent", reason="gevent is not installed")

import limelight  # noqa: E402 -- after the skip
from limelight import ActorRef  # noqa: E402
from limelight._core import _waiting  # noqa: E402
from limelight._runtimes import blocking  # noqa: E402
from limelight._runtimes.greenlet import gevent_hub  # noqa: E402
from limelight._runtimes.greenlet.gevent_hub import RUNTIME  # noqa: E402
from limelight._runtimes.greenlet.hub import GreenHub, GreenInbox, GreenWaiter  # noqa: E402
from limelight._runtimes.greenlet.runtime import inbox_of  # noqa: E402
from limelight.gevent import GeventActor, GeventFuture  # noqa: E402
from limelight.messages import Terminated  # noqa: E402
from tests.conformance.actors import TIMEOUT  # noqa: E402
from tests.test_green_runtimes import in_thread  # noqa: E402

T = TypeVar("T")


def in_greenlet(function: Callable[[], T]) -> T:
    """Run `function` in a new greenlet of this thread's hub; return its result."""
    greenlet = gevent.spawn(function)
    greenlet.join(TIMEOUT)
    assert greenlet.successful(), greenlet.exception
    return greenlet.value  # type: ignore[no-any-return]


class Echo(GeventActor):
    def on_receive(self, message: Any) -> Any:
        return message

    def where(self) -> tuple[GreenHub, str]:
        return inbox_of(self).hub, threading.current_thread().name

    def nap(self, seconds: float) -> float:
        gevent.sleep(seconds)
        return seconds

    def wait_for(self, future: limelight.Future[Any]) -> Any:
        return future.get(TIMEOUT)

    def start_child(self) -> ActorRef[Echo]:
        return Echo.start()


# -- Where an actor lives --------------------------------------------------------------


def test_an_actor_started_by_a_background_actor_lives_and_counts_there() -> None:
    background = RUNTIME.background
    before = set(background._actors)

    parent = Echo.start()
    child = parent.proxy().start_child().get(TIMEOUT)

    assert child.proxy().where().get(TIMEOUT) == parent.proxy().where().get(TIMEOUT)
    assert background._actors - before == {parent.actor_urn, child.actor_urn}
    child.stop(timeout=TIMEOUT)
    parent.stop(timeout=TIMEOUT)
    assert background._actors == before


def test_an_actor_started_from_a_thread_actor_or_a_coroutine_lives_in_background() -> (
    None
):
    class Starter(limelight.ThreadingActor):
        def start_echo(self) -> ActorRef[Echo]:
            return Echo.start()

    from_thread_actor = Starter.start().proxy().start_echo().get(TIMEOUT)

    async def start_in_loop() -> ActorRef[Echo]:
        return Echo.start()

    from_loop = asyncio.run(start_in_loop())

    for ref in (from_thread_actor, from_loop):
        hub, _thread = ref.proxy().where().get(TIMEOUT)
        assert RUNTIME.background.owns(hub)


class FailsInInit(GeventActor):
    def __init__(self) -> None:
        super().__init__()
        raise ValueError("bad argument")


def test_an_actor_whose_init_raises_does_not_hold_the_background_hub() -> None:
    before = set(RUNTIME.background._actors)

    with pytest.raises(ValueError, match="bad argument"):
        FailsInInit.start()

    assert RUNTIME.background._actors == before
    assert limelight.ActorRegistry.get_all() == []


# -- Waking a greenlet ---------------------------------------------------------------


def test_a_thread_s_plain_code_with_a_hub_waits_without_the_loop_ending() -> None:
    # Plain code of a thread that has a hub waits by parking in its hub (as a
    # monkey-patched main thread does); the reply comes from another thread,
    # so the wait holds the loop, which would otherwise end (LoopExit).
    ref = Echo.start()

    def main() -> Any:
        gevent.sleep(0)  # gives this thread a hub
        return ref.proxy().nap(0.01).get(TIMEOUT), ref.ask("hello", timeout=TIMEOUT)

    assert in_thread(main) == (0.01, "hello")


def test_a_waiter_released_before_it_waits_does_not_park() -> None:
    def main() -> tuple[bool, bool]:
        hub = RUNTIME.adapter.current_hub()
        assert hub is not None
        waiter = GreenWaiter(hub, gevent.getcurrent())
        early = waiter.acquire(False)
        waiter.release()
        return early, waiter.acquire(True, -1)

    assert in_greenlet(main) == (False, True)


def test_a_waiter_woken_after_its_timeout_stays_where_it_is() -> None:
    def main() -> tuple[bool, str]:
        hub = RUNTIME.adapter.current_hub()
        assert hub is not None
        waiter = GreenWaiter(hub, gevent.getcurrent())
        timed_out = waiter.acquire(True, 0.001)
        # Released late, from another thread: its wake-up finds nobody parked.
        releaser = threading.Thread(target=waiter.release)
        releaser.start()
        releaser.join(TIMEOUT)
        gevent.sleep(0.01)  # the wake-up runs here, and must not switch back
        return timed_out, repr(hub)

    timed_out, hub_repr = in_greenlet(main)

    assert not timed_out
    assert hub_repr.startswith("<GreenHub of thread 0x")


def test_the_waiter_factory_leaves_the_hub_s_greenlet_to_an_os_lock() -> None:
    hub = RUNTIME.background.hub()
    made: limelight.Future[object] = limelight.ThreadingFuture()
    hub.call(lambda: made.set(_waiting.new_waiter()))

    assert not isinstance(made.get(TIMEOUT), GreenWaiter)


def test_a_late_thread_safe_wake_does_not_resume_a_reader_that_is_not_parked() -> None:
    def main() -> list[Any]:
        hub = RUNTIME.adapter.current_hub()
        assert hub is not None
        inbox = GreenInbox(hub)
        inbox._wake()  # nothing parked: nothing to do
        # As another thread sees a parked reader with a wake-up on its way:
        inbox._parked = True
        inbox._wake_pending = True
        sender = threading.Thread(target=inbox.put, args=(("from a thread", None),))
        sender.start()
        sender.join(TIMEOUT)  # (without a second wake-up, or it would switch here)
        inbox._parked = False
        return [inbox.get(), inbox.empty()]

    assert in_greenlet(main) == [("from a thread", None), True]


class EmptyOnce(collections.deque[Any]):
    """A deque that looks empty the first time it is asked: a put racing a get."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def __len__(self) -> int:
        self.asked += 1
        return 0 if self.asked == 1 else super().__len__()


def test_a_reader_about_to_park_sees_an_envelope_that_arrived_meanwhile() -> None:
    def main() -> Any:
        hub = RUNTIME.adapter.current_hub()
        assert hub is not None
        inbox = GreenInbox(hub)
        items = EmptyOnce()
        inbox.use_queue(items)
        items.append(("arrived meanwhile", None))
        return inbox.get()  # would park for ever if it did not look again

    assert in_greenlet(main) == ("arrived meanwhile", None)


@pytest.mark.usefixtures("no_waiter_factories")
def test_without_waiter_factories_threads_wait_on_os_locks_of_their_own() -> None:
    future: GeventFuture[str] = GeventFuture()
    results: list[str] = []
    waiting = [threading.Thread(target=lambda: results.append(future.get(TIMEOUT)))]
    waiting.append(threading.Thread(target=lambda: results.append(future.get(TIMEOUT))))
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + TIMEOUT
    while len(future._callbacks) < 3:  # the claim token, then a lock per thread
        assert time.monotonic() < deadline
        time.sleep(0.001)

    future.set("to both")
    for thread in waiting:
        thread.join(TIMEOUT)

    assert results == ["to both", "to both"]


# -- Interop -------------------------------------------------------------------------


# -- Timers --------------------------------------------------------------------------


def test_a_loop_without_ref_counting_is_held_by_a_watcher() -> None:
    # (libuv's loop has no usable ref()/unref(): a referenced watcher does it.)
    def main() -> Any:
        native = gevent.get_hub()
        keepalive = gevent_hub._KeepAlive(native)
        got: list[Any] = []

        def wait_for_other_thread() -> None:
            keepalive.hold()
            keepalive.hold()  # nested: only the first starts the watcher
            waiter = GreenWaiter(RUNTIME.adapter.current_hub(), gevent.getcurrent())  # type: ignore[arg-type]
            threading.Thread(target=waiter.release).start()
            got.append(waiter.acquire(True, TIMEOUT))
            keepalive.unhold()
            keepalive.unhold()

        wait_for_other_thread()
        return got

    assert in_thread(main) == [True]


def test_a_loop_that_cannot_count_references_gets_a_keepalive_watcher() -> None:
    class Watcher:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def start(self, _callback: Callable[[], None]) -> None:
            self.calls.append("start")

        def stop(self) -> None:
            self.calls.append("stop")

    class Loop:  # like libuv's: ref() and unref() do nothing
        def __init__(self) -> None:
            self.watcher = Watcher()

        def async_(self) -> Watcher:
            return self.watcher

    loop = Loop()
    hold, unhold = gevent_hub._holds(cast("Any", SimpleNamespace(loop=loop)))
    hold()
    hold()
    unhold()
    unhold()

    assert loop.watcher.calls == ["start", "stop"]  # by the outermost only


# -- Life cycle ----------------------------------------------------------------------


def test_an_actor_loop_that_fails_is_logged(
    monkeypatch: pytest.MonkeyPatch, limelight_logs: pytest.LogCaptureFixture
) -> None:
    def broken(actor: limelight.Actor) -> bool:
        actor._limelight_begin_stop()
        raise RuntimeError("a bug in the loop")

    monkeypatch.setattr(blocking, "start", broken)
    ref = Echo.start()
    assert ref.actor_stopped.wait(TIMEOUT)
    monkeypatch.undo()
    ref.actor_stopped.terminate(Terminated(ref, "normal", None))  # nobody else will
    # Nor will anybody let go of the background hub, which would otherwise
    # keep the test process alive at exit.
    RUNTIME.background.release(ref.actor_urn)

    deadline = time.monotonic() + TIMEOUT
    while not any("a bug" in str(r.exc_info) for r in limelight_logs.records):
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert any(r.levelno == logging.ERROR for r in limelight_logs.records)
