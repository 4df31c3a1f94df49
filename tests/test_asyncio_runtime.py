"""The asyncio runtime: what the conformance suite cannot say about it.

The conformance suite runs every behaviour on `AsyncioActor` too, with
plain handlers on the background loop. These tests cover the rest: actors
bound to a running loop, `async def` handlers and hooks, deadlock
detection, cancellation, loops that close under their actors, and the
background loop's life cycle. Some reach into private names on purpose, to
trigger races on demand.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sys
import textwrap
import threading
import traceback
from collections.abc import Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import pytest

import limelight
from limelight import ActorDeadError, ActorRef, ActorRegistry, DeadlockError
from limelight._core._dispatch import handler_for
from limelight._core._mailbox import reject_late_messages
from limelight._runtimes.event_loop.driver import BATCH, LoopInbox
from limelight._runtimes.event_loop.runtime import (
    RUNTIME,
    AsyncioRuntime,
    BackgroundLoop,
)
from limelight.asyncio import AsyncioActor, AsyncioFuture
from limelight.messages import ProxyCall
from tests.conformance.actors import TIMEOUT, Blocker, Recorder
from tests.conformance.test_failures import LogWaiter
from tests.runtimes import ASYNCIO
from tests.test_examples import python

if TYPE_CHECKING:
    from limelight._core._types import Envelope

T = TypeVar("T")

Where = tuple[asyncio.AbstractEventLoop, threading.Thread]


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, failing the test after TIMEOUT instead of hanging."""
    return asyncio.run(asyncio.wait_for(main, TIMEOUT))


def thread_of(loop: asyncio.AbstractEventLoop) -> threading.Thread:
    """The thread running `loop`."""

    async def current() -> threading.Thread:
        return threading.current_thread()

    return asyncio.run_coroutine_threadsafe(current(), loop).result(TIMEOUT)


def inbox_of(ref: ActorRef[Any]) -> LoopInbox:
    inbox = ref.actor_inbox
    assert isinstance(inbox, LoopInbox)
    return inbox


def errors(logs: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in logs.records if r.name == "limelight" and r.levelno >= logging.ERROR
    ]


def raise_in_actor(text: str) -> None:
    raise ValueError(text)


class Settable(Protocol):
    """A `threading.Event` or an `asyncio.Event`: what the actor sets."""

    def set(self) -> None: ...


class Echo(AsyncioActor):
    """Replies with the message, after yielding to its loop once."""

    async def on_receive(self, message: Any) -> Any:
        await asyncio.sleep(0)
        return message

    def where(self) -> Where:
        return asyncio.get_running_loop(), threading.current_thread()


class AsyncRecorder(AsyncioActor):
    """Records its hooks and messages; every hook is a coroutine that yields."""

    def __init__(self, log: list[Any], done: Settable | None = None) -> None:
        super().__init__()
        self.log = log
        self.done = done

    async def on_start(self) -> None:
        self.log.append("on_start begins")
        await asyncio.sleep(0)
        self.log.append("on_start ends")

    async def on_stop(self) -> None:
        self.log.append("on_stop begins")
        await asyncio.sleep(0)
        self.log.append("on_stop ends")
        if self.done is not None:
            self.done.set()

    async def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.log.append("on_failure begins")
        await asyncio.sleep(0)
        self.log.append(("on_failure", exception_type, str(exception_value)))
        if self.done is not None:
            self.done.set()

    async def on_receive(self, message: Any) -> Any:
        self.log.append(message)
        await asyncio.sleep(0)
        return f"handled {message}"

    async def fail(self, text: str) -> None:
        await asyncio.sleep(0)
        raise_in_actor(text)

    def fail_plainly(self, text: str) -> None:
        raise_in_actor(text)

    async def exit(self) -> None:
        await asyncio.sleep(0)
        raise SystemExit("from an async method")

    def interrupt(self) -> None:
        raise KeyboardInterrupt


class Bystander(limelight.ThreadingActor):
    """A thread actor, to see a BaseException in an asyncio actor stop it too."""


# -- Where an actor lives ------------------------------------------------------------


def test_an_actor_started_in_a_running_loop_lives_on_that_loop() -> None:
    async def main() -> None:
        async with Echo.start() as ref:
            loop, thread = await ref.proxy().where()

            assert loop is asyncio.get_running_loop()
            assert thread is threading.current_thread()
            assert not RUNTIME.background.owns(loop)

    run(main())


def test_actors_started_from_plain_code_share_the_background_loop() -> None:
    first, second = Echo.start(), Echo.start()

    loop, thread = first.proxy().where().get(TIMEOUT)

    assert second.proxy().where().get(TIMEOUT) == (loop, thread)
    assert RUNTIME.background.owns(loop)
    assert thread is not threading.current_thread()
    assert thread.name == "limelight-asyncio"
    assert not thread.daemon  # it keeps the program alive while actors run


class Parent(AsyncioActor):
    """Starts a child from inside the background loop."""

    def on_start(self) -> None:
        self.child = Echo.start()

    def child_ref(self) -> ActorRef[Echo]:
        return self.child


def test_an_actor_started_by_a_background_actor_counts_as_running_there() -> None:
    background = RUNTIME.background
    before = set(background._actors)

    parent = Parent.start()
    child = parent.proxy().child_ref().get(TIMEOUT)

    loop, _thread = child.proxy().where().get(TIMEOUT)
    assert background.owns(loop)
    assert background._actors - before == {parent.actor_urn, child.actor_urn}
    child.stop(timeout=TIMEOUT)
    assert background._actors - before == {parent.actor_urn}
    parent.stop(timeout=TIMEOUT)
    assert background._actors == before


def test_a_message_to_a_registered_actor_not_yet_started_waits_for_its_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An actor is registered just before it starts, so a broadcast from
    # another thread can reach it in between. (That once ran on_start() on
    # the loop while start() entered the actor's context in the starter's
    # thread: "cannot enter context ... is already entered".)
    log: list[Any] = []
    start = AsyncioRuntime.start

    def broadcast_then_start(runtime: AsyncioRuntime, actor: limelight.Actor) -> None:
        ActorRegistry.broadcast("early", target_class=AsyncRecorder)
        inbox = actor.actor_inbox
        assert isinstance(inbox, LoopInbox)
        loop = inbox.loop
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(TIMEOUT)
        assert log == []  # the loop went round, and the actor did not run
        start(runtime, actor)

    monkeypatch.setattr(AsyncioRuntime, "start", broadcast_then_start)
    ref = AsyncRecorder.start(log)
    monkeypatch.undo()

    assert ref.ask("later", timeout=TIMEOUT) == "handled later"
    assert log == ["on_start begins", "on_start ends", "early", "later"]
    ref.stop(timeout=TIMEOUT)


class FailsInInit(AsyncioActor):
    def __init__(self) -> None:
        super().__init__()
        raise ValueError("bad argument")


def test_an_actor_whose_init_raises_does_not_hold_the_background_loop() -> None:
    before = set(RUNTIME.background._actors)

    with pytest.raises(ValueError, match="bad argument"):
        FailsInInit.start()

    assert RUNTIME.background._actors == before  # it would delay exit forever
    assert ActorRegistry.get_all() == []


# -- Handlers and hooks that are coroutines ------------------------------------------


class Overlapping(AsyncioActor):
    """Counts how many messages it handles at once, and their order."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.most_active = 0
        self.order: list[int] = []

    def _enter(self, i: int) -> None:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        self.order.append(i)

    async def slow(self, i: int) -> int:
        self._enter(i)
        await asyncio.sleep(0)  # other tasks, and other drains, run here
        await asyncio.sleep(0)
        self.active -= 1
        return i

    def quick(self, i: int) -> int:
        self._enter(i)
        self.active -= 1
        return i


def test_async_and_plain_methods_are_handled_one_at_a_time_in_order() -> None:
    proxy = Overlapping.start().proxy()

    futures = [(proxy.quick if i % 3 == 0 else proxy.slow)(i) for i in range(300)]

    assert limelight.get_all(futures, timeout=TIMEOUT) == list(range(300))
    assert proxy.most_active.get(TIMEOUT) == 1
    assert proxy.order.get(TIMEOUT) == list(range(300))


class Gatekeeper(AsyncioActor):
    async def pass_gate(self, entered: Settable, gate: asyncio.Event) -> str:
        entered.set()
        await gate.wait()
        return "passed"

    def ping(self) -> str:
        return "pong"


def test_an_async_handler_lets_other_tasks_of_its_loop_run_while_it_awaits() -> None:
    async def main() -> str:
        entered, gate = asyncio.Event(), asyncio.Event()
        async with Gatekeeper.start() as ref:
            reply = ref.proxy().pass_gate(entered, gate)
            await entered.wait()  # the handler now waits for the gate...
            gate.set()  # ...which only this task, running meanwhile, opens
            return cast("str", await reply)

    assert run(main()) == "passed"


def test_async_hooks_run_in_order_around_the_messages() -> None:
    log: list[Any] = []
    ref = AsyncRecorder.start(log)

    ref.tell("first")  # sent while on_start() may still be awaiting
    assert ref.ask("second", timeout=TIMEOUT) == "handled second"
    assert ref.stop(timeout=TIMEOUT) is True

    # stop() returned only once the async on_stop() had finished.
    assert log == [
        "on_start begins",
        "on_start ends",
        "first",
        "second",
        "on_stop begins",
        "on_stop ends",
    ]


def test_an_exception_in_an_async_method_goes_to_the_asker(
    limelight_logs: pytest.LogCaptureFixture,
) -> None:
    ref = AsyncRecorder.start([])

    with pytest.raises(ValueError, match="for the asker") as info:
        ref.proxy().fail("for the asker").get(TIMEOUT)

    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "raise_in_actor" in frames
    assert "fail" in frames
    assert ref.is_alive()
    assert ref.ask("still here", timeout=TIMEOUT) == "handled still here"
    assert errors(limelight_logs) == []


@pytest.mark.parametrize("method", ["fail", "fail_plainly"])
def test_an_exception_in_a_deferred_call_runs_async_on_failure_and_stops(
    limelight_logs: pytest.LogCaptureFixture, method: str
) -> None:
    log: list[Any] = []
    done = threading.Event()
    ref = AsyncRecorder.start(log, done)

    getattr(ref.proxy(), method).defer("deferred")

    assert done.wait(TIMEOUT)
    assert not ref.is_alive()
    assert ActorRegistry.get_all() == []
    with pytest.raises(ActorDeadError):
        ref.ask("too late", timeout=TIMEOUT)
    assert log == [  # on_failure ran to its end; on_stop never ran
        "on_start begins",
        "on_start ends",
        "on_failure begins",
        ("on_failure", ValueError, "deferred"),
    ]
    (error,) = errors(limelight_logs)
    assert error.getMessage() == f"Unhandled exception in {ref}:"


class FailingHooks(AsyncioActor):
    """Raises from the async hook it is told to."""

    def __init__(self, hook: str, log: list[str]) -> None:
        super().__init__()
        self.hook = hook
        self.log = log

    async def on_start(self) -> None:
        await asyncio.sleep(0)
        if self.hook == "on_start":
            raise RuntimeError("on_start failed")

    async def on_stop(self) -> None:
        self.log.append("on_stop")
        await asyncio.sleep(0)
        if self.hook == "on_stop":
            raise RuntimeError("on_stop failed")
        if self.hook == "on_stop exits":
            raise SystemExit("from on_stop")

    async def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.log.append("on_failure")
        await asyncio.sleep(0)
        raise RuntimeError("on_failure failed")

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("crash")
        return message


def test_an_exception_in_async_on_start_stops_the_actor(
    limelight_logs: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    ref = FailingHooks.start("on_start", log)
    asked = ref.ask("hello", block=False)

    with pytest.raises(ActorDeadError):
        asked.get(TIMEOUT)

    assert not ref.is_alive()
    (error,) = errors(limelight_logs)
    assert error.exc_info is not None
    assert str(error.exc_info[1]) == "on_start failed"
    assert log == []  # neither on_stop nor on_failure


def test_an_exception_in_async_on_stop_is_logged_and_the_actor_stops(
    limelight_logs: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    ref = FailingHooks.start("on_stop", log)

    assert ref.stop(timeout=TIMEOUT) is True

    assert not ref.is_alive()
    assert log == ["on_stop"]
    (error,) = errors(limelight_logs)
    assert error.exc_info is not None
    assert str(error.exc_info[1]) == "on_stop failed"


def test_an_exception_in_async_on_failure_is_logged_too(
    limelight_logs: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    ref = FailingHooks.start("", log)
    logged = LogWaiter(
        lambda r: "on_failure failed" in str(r.exc_info and r.exc_info[1])
    )

    with logged:
        ref.tell("crash")
        assert logged.seen.wait(TIMEOUT)

    assert not ref.is_alive()
    messages = [str(r.exc_info[1]) for r in errors(limelight_logs) if r.exc_info]
    assert messages == ["crash", "on_failure failed"]
    assert log == ["on_failure"]


def test_a_base_exception_in_an_async_method_stops_every_actor() -> None:
    log: list[Any] = []
    done = threading.Event()
    bystander = Bystander.start()
    ref = AsyncRecorder.start(log, done)

    with pytest.raises(ActorDeadError) as info:
        ref.proxy().exit().get(TIMEOUT)

    assert isinstance(info.value.__cause__, SystemExit)
    assert done.wait(TIMEOUT)  # its async on_stop ran to the end
    assert log[-2:] == ["on_stop begins", "on_stop ends"]
    assert bystander.actor_stopped.wait(TIMEOUT)
    assert ref.actor_stopped.is_set()


def test_a_base_exception_in_a_plain_handler_awaits_an_async_on_stop() -> None:
    log: list[Any] = []
    done = threading.Event()
    bystander = Bystander.start()
    ref = AsyncRecorder.start(log, done)

    ref.proxy().interrupt.defer()

    assert done.wait(TIMEOUT)
    assert log[-2:] == ["on_stop begins", "on_stop ends"]
    assert bystander.actor_stopped.wait(TIMEOUT)
    assert ref.actor_stopped.is_set()


class ExitsInAsyncOnStart(AsyncioActor):
    async def on_start(self) -> None:
        await asyncio.sleep(0)
        raise SystemExit("from async on_start")


@pytest.mark.parametrize("hook", ["on_start", "on_stop"])
def test_a_base_exception_in_an_async_hook_stops_every_actor(hook: str) -> None:
    bystander = Bystander.start()
    if hook == "on_start":
        ref: ActorRef[Any] = ExitsInAsyncOnStart.start()
    else:
        ref = FailingHooks.start("on_stop exits", [])
        assert ref.stop(timeout=TIMEOUT) is True
    pending = ref.ask("pending", block=False)

    with pytest.raises(ActorDeadError):
        pending.get(TIMEOUT)
    assert ref.actor_stopped.wait(TIMEOUT)
    assert bystander.actor_stopped.wait(TIMEOUT)
    assert ActorRegistry.get_all() == []


class StopsItself(AsyncioActor):
    def __init__(self, log: list[Any], stopped: Settable) -> None:
        super().__init__()
        self.log = log
        self.stopped = stopped

    def on_receive(self, message: Any) -> Any:
        self.log.append(message)
        if message == "stop":
            self.stop()

    def on_stop(self) -> None:
        self.log.append("on_stop")
        self.stopped.set()


def test_an_actor_can_stop_itself_after_messages_queued_on_its_loop() -> None:
    # The conformance test of this, without its race (see tests/runtimes.py):
    # sent from the actor's own loop, without yielding, both messages are in
    # the inbox before the actor handles the first.
    async def main() -> list[Any]:
        log: list[Any] = []
        stopped = asyncio.Event()
        ref = StopsItself.start(log, stopped)
        ref.tell("stop")
        ref.tell("queued before the stop message")
        await stopped.wait()
        return log

    assert run(main()) == ["stop", "queued before the stop message", "on_stop"]


def test_an_actor_can_stop_itself_after_messages_sent_from_another_thread() -> None:
    # The same from this thread: the loop's thread is held up by another
    # actor on it while both messages are sent, so neither can be handled
    # before both are queued.
    blocker = ASYNCIO.actor(Blocker).start()
    entered, gate = threading.Event(), threading.Event()
    blocked = blocker.proxy().block(entered, gate)
    assert entered.wait(TIMEOUT)
    log: list[Any] = []
    done = threading.Event()

    ref = ASYNCIO.actor(Recorder).start(log, done)
    ref.tell(("stop",))
    ref.tell("queued before the stop message")
    gate.set()

    assert blocked.get(TIMEOUT) is True
    assert done.wait(TIMEOUT)
    assert log == ["on_start", "stop", "queued before the stop message", "on_stop"]


# -- Conveniences --------------------------------------------------------------------


class Counter(AsyncioActor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def add(self, n: int) -> int:
        await asyncio.sleep(0)
        self.count += n
        return self.count

    async def add_at_once(self, n: int) -> int:
        self.count += n  # a coroutine that never suspends
        return self.count

    def double(self) -> int:
        self.count *= 2
        return self.count


def test_await_proxy_methods_and_attributes() -> None:
    async def main() -> tuple[int, int, int, int]:
        async with Counter.start() as ref:
            counter = ref.proxy()
            return (
                await counter.add(2),
                await counter.add_at_once(1),
                await counter.double(),
                await counter.count,
            )

    assert run(main()) == (2, 3, 6, 6)


def test_async_with_stops_the_actor_when_the_block_ends_or_raises() -> None:
    async def main() -> tuple[ActorRef[Echo], ActorRef[Echo]]:
        async with Echo.start() as ref:
            assert await ref.ask("inside", block=False) == "inside"
        other = Echo.start()
        with pytest.raises(KeyError):
            async with other:
                raise KeyError("in the block")
        return ref, other

    ref, other = run(main())

    assert not ref.is_alive()
    assert not other.is_alive()


def test_await_stop_without_blocking() -> None:
    async def main() -> tuple[bool, bool]:
        ref = Echo.start()
        return await ref.stop(block=False), await ref.stop(block=False)

    assert run(main()) == (True, False)


# -- Deadlocks -----------------------------------------------------------------------


class Asker(AsyncioActor):
    """Asks itself, or a peer, in the ways that can and cannot work on a loop."""

    def __init__(self, peer: ActorRef[Any] | None = None) -> None:
        super().__init__()
        self.peer = peer

    def on_receive(self, message: Any) -> Any:
        return message

    def ask_myself(self) -> Any:
        return self.actor_ref.ask("me")

    def get_from_my_proxy(self) -> Any:
        return self.actor_ref.proxy().on_receive("me").get(TIMEOUT)

    def ask_peer(self) -> Any:
        assert self.peer is not None
        return self.peer.ask("peer")

    async def await_peer(self) -> Any:
        assert self.peer is not None
        return await self.peer.ask("peer", block=False)


@pytest.mark.parametrize("method", ["ask_myself", "get_from_my_proxy"])
def test_get_on_an_ask_to_itself_raises_deadlock_error_at_once(method: str) -> None:
    ref = Asker.start()

    with pytest.raises(DeadlockError, match="await"):
        getattr(ref.proxy(), method)().get(TIMEOUT)

    assert ref.ask("alive", timeout=TIMEOUT) == "alive"


def test_get_on_an_ask_to_a_peer_on_the_same_loop_raises_deadlock_error() -> None:
    peer = Asker.start()
    ref = Asker.start(peer)

    with pytest.raises(DeadlockError):
        ref.proxy().ask_peer().get(TIMEOUT)

    assert ref.proxy().await_peer().get(TIMEOUT) == "peer"  # awaiting works


def test_blocking_in_a_coroutine_on_the_actors_loop_raises_deadlock_error() -> None:
    async def main() -> None:
        ref = Asker.start()

        with pytest.raises(DeadlockError):
            ref.ask("x")
        with pytest.raises(DeadlockError):
            ref.ask("x", timeout=1.0)  # it could only ever time out
        with pytest.raises(DeadlockError):
            ref.proxy().on_receive("x").get()

        future = ref.ask("awaited", block=False)
        assert await future == "awaited"
        assert future.get() == "awaited"  # done: get() does not block
        with pytest.raises(DeadlockError):
            ref.stop()  # (through the stop future's get hook)
        assert await ref.stop(block=False) is True  # the stop went out all the same

    run(main())


def test_get_of_futures_no_actor_of_the_loop_produces_does_not_raise() -> None:
    async def main() -> tuple[int, type[BaseException]]:
        lazy: AsyncioFuture[int] = AsyncioFuture(asyncio.get_running_loop())
        lazy.set_get_hook(lambda _timeout: 1)  # computed by get(): no deadlock
        unbound: AsyncioFuture[int] = AsyncioFuture()
        with pytest.raises(limelight.Timeout) as info:
            unbound.get(timeout=0)
        return lazy.get(), info.type

    assert run(main()) == (1, limelight.Timeout)


def test_get_of_a_future_bound_to_the_running_loop_by_hand_raises() -> None:
    async def main() -> None:
        bound: AsyncioFuture[int] = AsyncioFuture(asyncio.get_running_loop())
        with pytest.raises(DeadlockError):
            bound.get(timeout=TIMEOUT)

    run(main())


def test_get_in_a_coroutine_on_another_loop_blocks_but_is_answered() -> None:
    ref = Echo.start()  # on the background loop

    async def main() -> Any:
        return ref.ask("across loops", timeout=TIMEOUT)

    assert run(main()) == "across loops"


# -- Cancellation --------------------------------------------------------------------


def test_cancelling_a_task_awaiting_a_reply_leaves_the_reply_to_others() -> None:
    async def main() -> tuple[str, str, str]:
        entered, gate = asyncio.Event(), asyncio.Event()
        async with Gatekeeper.start() as ref:
            reply = ref.proxy().pass_gate(entered, gate)

            async def wait() -> str:
                return cast("str", await reply)

            cancelled = asyncio.ensure_future(wait())
            patient = asyncio.ensure_future(wait())
            await entered.wait()
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            gate.set()
            return await patient, reply.get(), await ref.proxy().ping()

    assert run(main()) == ("passed", "passed", "pong")


class Hanger(AsyncioActor):
    """Awaits forever in a handler or in on_stop, until its task is cancelled."""

    def __init__(
        self, tasks: list[asyncio.Task[Any]], entered: Settable, log: list[str]
    ) -> None:
        super().__init__()
        self.tasks = tasks
        self.entered = entered
        self.log = log
        self.hang_in_on_stop = False

    async def _hang(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.append(task)
        self.entered.set()
        await asyncio.Event().wait()

    async def hang(self) -> str:
        await self._hang()
        return "never"  # pragma: no cover -- only cancelled

    async def on_stop(self) -> None:
        self.log.append("on_stop begins")
        if self.hang_in_on_stop:
            await self._hang()
        self.log.append("on_stop ends")


def cancel(task: asyncio.Task[Any]) -> None:
    """Cancel a task of any loop, from any thread."""
    task.get_loop().call_soon_threadsafe(task.cancel)


def test_cancelling_the_actors_own_task_stops_it_and_fails_its_asks() -> None:
    tasks: list[asyncio.Task[Any]] = []
    entered = threading.Event()
    log: list[str] = []
    ref = Hanger.start(tasks, entered, log)
    pending = ref.proxy().hang()
    queued = ref.ask("queued", block=False)
    assert entered.wait(TIMEOUT)

    cancel(tasks[0])

    with pytest.raises(ActorDeadError, match="was cancelled"):
        pending.get(TIMEOUT)
    with pytest.raises(ActorDeadError, match="stopped before handling"):
        queued.get(TIMEOUT)
    assert not ref.is_alive()
    assert ActorRegistry.get_all() == []
    assert log == []  # the actor was cut off: on_stop() did not run
    with pytest.raises(ActorDeadError):
        ref.ask("later", timeout=TIMEOUT)


def test_cancelling_the_actors_task_while_it_handles_a_tell_stops_it() -> None:
    tasks: list[asyncio.Task[Any]] = []
    entered = threading.Event()
    ref = Hanger.start(tasks, entered, [])
    ref.proxy().hang.defer()
    assert entered.wait(TIMEOUT)

    cancel(tasks[0])

    assert ref.actor_stopped.wait(TIMEOUT)
    with pytest.raises(ActorDeadError):
        ref.ask("later", timeout=TIMEOUT)


def test_cancelling_the_actors_task_in_async_on_stop_ends_the_stop() -> None:
    tasks: list[asyncio.Task[Any]] = []
    entered = threading.Event()
    log: list[str] = []
    ref = Hanger.start(tasks, entered, log)
    ref.proxy().hang_in_on_stop = True
    stopping = ref.stop(block=False)
    assert entered.wait(TIMEOUT)

    cancel(tasks[0])

    assert stopping.get(TIMEOUT) is True
    assert log == ["on_stop begins"]
    assert not ref.is_alive()


def test_asyncio_run_ending_while_an_actor_awaits_stops_the_actor() -> None:
    async def main() -> tuple[ActorRef[Hanger], limelight.Future[str]]:
        entered = asyncio.Event()
        ref = Hanger.start([], entered, [])
        pending: limelight.Future[str] = ref.proxy().hang()
        await entered.wait()
        return ref, pending  # asyncio.run() then cancels the actor's task

    ref, pending = run(main())

    with pytest.raises(ActorDeadError, match="was cancelled"):
        pending.get(0)
    assert not ref.is_alive()
    assert ActorRegistry.get_all() == []


# -- Loops that close under their actors -------------------------------------------


def test_an_idle_actor_whose_loop_closed_is_found_dead_by_the_next_message(
    limelight_logs: pytest.LogCaptureFixture,
) -> None:
    log: list[Any] = []

    async def main() -> ActorRef[AsyncRecorder]:
        ref = AsyncRecorder.start(log)
        assert await ref.ask("ready", block=False) == "handled ready"
        return ref  # alive and idle as asyncio.run() closes its loop

    ref = run(main())
    assert ref.is_alive()  # nothing has noticed yet

    ref.tell("lost")  # finds the loop closed: the actor is dead, the message lost

    assert not ref.is_alive()
    assert ActorRegistry.get_all() == []
    with pytest.raises(ActorDeadError):
        ref.tell("after")
    with pytest.raises(ActorDeadError):
        ref.ask("after", timeout=TIMEOUT)
    assert log == ["on_start begins", "on_start ends", "ready"]  # no on_stop
    dropped = [r.getMessage() for r in limelight_logs.records]
    assert any("Dropped message to stopped" in m and "lost" in m for m in dropped)

    # A sender that found the actor alive just before "lost" was sent puts
    # its message now: the inbox finds the loop closed again, harmlessly,
    # and the sender's own check then rejects the message.
    racing: AsyncioFuture[Any] = AsyncioFuture()
    inbox_of(ref).put(("racing", racing))
    reject_late_messages(ref)
    with pytest.raises(ActorDeadError):
        racing.get(0)


def test_an_ask_to_an_actor_whose_loop_closed_fails_at_once() -> None:
    async def main() -> ActorRef[Echo]:
        return Echo.start()

    ref = run(main())
    failures: list[BaseException] = []

    def ask() -> None:
        try:
            ref.ask("anyone there?", timeout=TIMEOUT)
        except ActorDeadError as exc:
            failures.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    asker.join(TIMEOUT)

    assert len(failures) == 1
    assert not ref.is_alive()
    later = ref.ask("later", block=False)
    with pytest.raises(ActorDeadError):
        later.get(0)


def test_a_message_pending_when_its_loop_closed_is_not_stranded() -> None:
    loop = asyncio.new_event_loop()

    async def start() -> ActorRef[Echo]:
        ref = Echo.start()
        assert await ref.ask("ready", block=False) == "ready"
        return ref

    ref = loop.run_until_complete(start())
    ref.tell("pending")  # schedules a drain that the stopped loop never runs...
    stranded = ref.ask("stranded", block=False)
    loop.close()  # ...and that closing it drops

    with pytest.raises(ActorDeadError):  # found out here, instead of hanging
        ref.ask("after", timeout=TIMEOUT)
    with pytest.raises(ActorDeadError):
        stranded.get(0)
    assert not ref.is_alive()


def test_stop_all_stops_an_actor_whose_loop_closed() -> None:
    async def main() -> ActorRef[Echo]:
        return Echo.start()

    ref = run(main())

    assert ActorRegistry.stop_all(timeout=TIMEOUT) == [True]
    assert not ref.is_alive()


# -- The background loop -------------------------------------------------------------

OUTLIVES_MAIN = """
import asyncio
import threading

from limelight.asyncio import AsyncioActor


def tell_when_main_has_ended(ref):
    threading.main_thread().join()
    ref.tell("main has ended")


class Worker(AsyncioActor):
    def __init__(self):
        super().__init__()
        # Started by the main thread: Python 3.12.0 and 3.12.1 refuse to
        # start a thread once the main thread is done.
        threading.Thread(
            target=tell_when_main_has_ended, args=(self.actor_ref,), daemon=True
        ).start()

    async def on_receive(self, message):
        await asyncio.sleep(0)
        print(f"{message}, and the actor still works", flush=True)
        self.stop()

    async def on_stop(self):
        await asyncio.sleep(0)
        print("stopped", flush=True)


Worker.start()
print("main ends", flush=True)
"""

STOPS_ITS_ACTOR = """
from limelight.asyncio import AsyncioActor


class Echo(AsyncioActor):
    async def on_receive(self, message):
        return message


ref = Echo.start()
print(ref.ask("hello"))
print(ref.stop())
"""

INIT_RAISES = """
from limelight.asyncio import AsyncioActor


class Broken(AsyncioActor):
    def __init__(self):
        super().__init__()  # the background loop starts here
        raise ValueError("bad argument")


try:
    Broken.start()
except ValueError as exc:
    print(exc)
"""

CHILD_STOPS_FIRST = OUTLIVES_MAIN.replace(
    "class Worker(AsyncioActor):",
    """class Child(AsyncioActor):
    pass


class Worker(AsyncioActor):
    async def on_start(self):
        # Started inside the background loop; stopped while Worker runs on.
        await Child.start().stop(block=False)
""",
)


@pytest.mark.parametrize(
    ("program", "output"),
    [
        (
            OUTLIVES_MAIN,
            "main ends\nmain has ended, and the actor still works\nstopped\n",
        ),
        (
            CHILD_STOPS_FIRST,
            "main ends\nmain has ended, and the actor still works\nstopped\n",
        ),
        (STOPS_ITS_ACTOR, "hello\nTrue\n"),
        (INIT_RAISES, "bad argument\n"),
    ],
    ids=["outlives-main", "child-stops-first", "stops-its-actor", "init-raises"],
)
def test_a_program_exits_cleanly_once_its_background_actors_stop(
    program: str, output: str
) -> None:
    # -X dev: ResourceWarnings, unawaited coroutines and asyncio's debug
    # checks all end up on stderr.
    result = python("-X", "dev", "-c", textwrap.dedent(program))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == output


def test_a_background_loop_starts_once_and_ends_when_closed_while_idle() -> None:
    background = BackgroundLoop()
    loop = background.loop()
    assert background.loop() is loop
    thread = thread_of(loop)
    assert thread.name == "limelight-asyncio"

    background.close_when_idle()  # as at interpreter exit

    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert loop.is_closed()
    assert background.owns(loop)


def test_closing_a_background_loop_that_never_started_does_nothing() -> None:
    background = BackgroundLoop()

    background.close_when_idle()
    background.release("urn:uuid:never-acquired")

    assert background._loop is None


class WhereAmI(AsyncioActor):
    def where(self) -> Where:
        return asyncio.get_running_loop(), threading.current_thread()


def test_a_closing_background_loop_ends_after_its_last_actor() -> None:
    runtime = AsyncioRuntime()  # its own loop: closing it ends no other test's

    class OnPrivateLoop(WhereAmI):
        _limelight_runtime = runtime

    first, second = OnPrivateLoop.start(), OnPrivateLoop.start()
    loop, thread = first.proxy().where().get(TIMEOUT)

    runtime.background.close_when_idle()  # as at exit, with two actors running
    first.stop(timeout=TIMEOUT)

    assert second.proxy().where().get(TIMEOUT) == (loop, thread)  # still running
    second.stop(timeout=TIMEOUT)
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert loop.is_closed()


def test_an_actor_created_as_its_loop_ends_runs_on_a_new_loop() -> None:
    runtime = AsyncioRuntime()

    class EndsItsLoop(WhereAmI):
        _limelight_runtime = runtime

        def __init__(self) -> None:
            super().__init__()
            self.created_on = inbox_of(self.actor_ref).loop
            # As at exit, between __init__() and start(): the loop ends, idle.
            runtime.background.close_when_idle()

    ref = EndsItsLoop.start()

    loop, thread = ref.proxy().where().get(TIMEOUT)
    assert loop is not ref.proxy().created_on.get(TIMEOUT)
    assert runtime.background.owns(loop)
    assert ref.stop(timeout=TIMEOUT) is True
    thread.join(TIMEOUT)  # the new loop ends with its last actor too
    assert not thread.is_alive()


def test_an_actor_found_dead_before_it_started_never_runs() -> None:
    runtime = AsyncioRuntime()
    log: list[str] = []

    class DiesBeforeStart(AsyncioActor):
        _limelight_runtime = runtime

        def __init__(self) -> None:
            super().__init__()
            loop = inbox_of(self.actor_ref).loop
            thread = thread_of(loop)
            runtime.background.close_when_idle()  # the loop ends (as at exit)...
            thread.join(TIMEOUT)
            self.actor_ref.tell("early")  # ...and a message finds the actor dead

        def on_start(self) -> None:
            log.append("on_start")

    ref = DiesBeforeStart.start()

    assert not ref.is_alive()
    assert ActorRegistry.get_all() == []
    assert runtime.background._actors == set()
    with pytest.raises(ActorDeadError):
        ref.ask("hello", timeout=TIMEOUT)
    assert log == []


@pytest.mark.stress
def test_background_actors_answer_many_threads_at_once() -> None:
    class PlainEcho(AsyncioActor):
        def on_receive(self, message: Any) -> Any:
            return message

    refs: list[ActorRef[Any]] = [PlainEcho.start(), Echo.start()]
    wrong: list[Any] = []
    answered = [0] * 4

    def client(n: int) -> None:
        for i in range(5_000):
            message = (n, i)
            reply = refs[i % 2].ask(message, timeout=TIMEOUT)
            if reply != message:
                wrong.append((message, reply))
            answered[n] += 1

    clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(TIMEOUT * 6)

    assert answered == [5_000] * 4
    assert wrong == []


# -- How the inbox drives the actor --------------------------------------------------


class Sampler(AsyncioActor):
    """Notes, for each message, how many times another task has ticked."""

    def __init__(self, ticks: list[int]) -> None:
        super().__init__()
        self.ticks = ticks
        self.seen: list[int] = []

    def on_receive(self, message: Any) -> Any:
        self.seen.append(len(self.ticks))


def test_a_busy_actor_lets_other_tasks_run_after_each_batch_of_messages() -> None:
    async def main() -> list[int]:
        ticks: list[int] = []
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                ticks.append(1)
                await asyncio.sleep(0)

        ticking = asyncio.ensure_future(ticker())
        async with Sampler.start(ticks) as ref:
            for i in range(3 * BATCH):
                ref.tell(i)
            seen: list[int] = await ref.proxy().seen
        done.set()
        await ticking
        return seen

    seen = run(main())

    assert len(seen) == 3 * BATCH
    assert seen[0] == seen[BATCH - 1]  # a batch is handled without a break...
    assert seen[BATCH - 1] < seen[BATCH] < seen[2 * BATCH]  # ...then others run


class Reentrant(AsyncioActor):
    def __init__(self) -> None:
        super().__init__()
        self.handled: list[str] = []

    def on_receive(self, message: Any) -> Any:
        self.handled.append(message)

    async def drain_while_busy(self) -> list[str]:
        self.actor_ref.tell("queued")  # behind this handler
        inbox_of(self.actor_ref)._drain()  # a drain while the task runs...
        await asyncio.sleep(0)
        return list(self.handled)  # ...handled nothing


def test_a_drain_while_the_actors_task_runs_steps_aside() -> None:
    ref = Reentrant.start()

    assert ref.proxy().drain_while_busy().get(TIMEOUT) == []
    assert ref.proxy().handled.get(TIMEOUT) == ["queued"]


class LatePut(collections.deque[Any]):
    """An inbox where a put() lands just as a drain finds it empty.

    The put happens between the drain's two emptiness checks, and the sender
    saw a drain still scheduled, so it scheduled none: only the drain's
    second check can find the message.
    """

    def __init__(self, late: Envelope) -> None:
        super().__init__()
        self.late: Envelope | None = late
        self.found_empty = False

    def __len__(self) -> int:
        length = super().__len__()
        if length or self.late is None:
            return length
        if not self.found_empty:
            self.found_empty = True
            return 0
        self.append(self.late)
        self.late = None
        return 1

    def __bool__(self) -> bool:  # (Python 3.10's deque does not ask __len__)
        return self.__len__() != 0


def test_a_put_racing_the_end_of_a_drain_is_not_lost() -> None:
    reply: AsyncioFuture[Any] = AsyncioFuture()

    class Racy(AsyncioActor):
        def __init__(self) -> None:
            super().__init__()
            inbox_of(self.actor_ref)._items = LatePut(("late", reply))

        def on_receive(self, message: Any) -> Any:
            return message

    Racy.start()

    assert reply.get(TIMEOUT) == "late"


def test_async_handlers_work_with_an_eager_task_factory() -> None:
    if sys.version_info < (3, 12):
        pytest.skip("asyncio.eager_task_factory is new in Python 3.12")
    else:

        async def main() -> list[int]:
            asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
            async with Counter.start() as ref:
                counter = ref.proxy()
                # The actor's task may now finish inside create_task().
                return [
                    await counter.add_at_once(1),
                    await counter.add_at_once(1),
                    await counter.add(1),
                    await counter.double(),
                ]

        assert run(main()) == [1, 2, 3, 6]


def test_an_event_loop_inbox_cannot_be_read_by_blocking() -> None:
    ref = Echo.start()
    inbox = inbox_of(ref)

    with pytest.raises(TypeError, match="blocking"):
        inbox.get()
    assert inbox.empty()
    assert len(inbox) == 0


def test_handlers_are_found_by_message_type_and_remembered() -> None:
    class Custom:
        pass

    assert handler_for(Custom) is None  # on_receive() handles it...
    assert handler_for(Custom) is None  # ...as remembered the second time
    assert handler_for(ProxyCall) is not None


@pytest.mark.parametrize("where", ["on the loop", "in another thread"])
def test_a_future_completed_just_after_its_awaiting_task_was_cancelled(
    where: str,
) -> None:
    future: limelight.Future[str] = limelight.ThreadingFuture()

    async def main() -> bool:
        async def wait() -> str:
            return await future

        task = asyncio.ensure_future(wait())
        await asyncio.sleep(0)  # the task now waits for the future
        task.cancel()  # cancels what the task awaits at once...
        # ...so the wake-up finds nothing left to wake: at once on the loop,
        # or handed to the loop from another thread (joined here: the loop
        # runs it only after).
        if where == "on the loop":
            future.set("done")
        else:
            setter = threading.Thread(target=future.set, args=("done",))
            setter.start()
            setter.join()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert run(main()) is True
    assert future.get(0) == "done"
