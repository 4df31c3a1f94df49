"""Thread actors, asyncio actors, threads and event loops, talking to each other.

Every pairing is tested in both directions: plain threads and thread actors
use asyncio actors with tell(), ask() and proxies, blocking in get();
coroutines and asyncio actors await thread actors without blocking their
loop; and an asyncio actor bound to one loop is used from other loops and
other threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar, cast

import pytest

import limelight
from limelight import ActorProxy, ActorRef
from limelight.asyncio import AsyncioActor
from tests.conformance.actors import TIMEOUT

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, failing the test after TIMEOUT instead of hanging."""
    return asyncio.run(asyncio.wait_for(main, TIMEOUT))


class LoopThread:
    """An event loop running in a thread of its own, as a server's would."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="served")

    def __enter__(self) -> LoopThread:
        self.thread.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the loop; return its result here."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT)


class Account(AsyncioActor):
    """An asyncio actor with plain and `async def` methods."""

    def __init__(self) -> None:
        super().__init__()
        self.balance = 0
        self.told: list[Any] = []

    async def deposit(self, amount: int) -> int:
        await asyncio.sleep(0)
        self.balance += amount
        return self.balance

    def withdraw(self, amount: int) -> int:
        self.balance -= amount
        return self.balance

    def on_receive(self, message: Any) -> Any:
        self.told.append(message)
        return ("received", message)

    def where(self) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
        return asyncio.get_running_loop(), threading.current_thread()


class Teller(limelight.ThreadingActor):
    """A thread actor that uses an asyncio actor, blocking as thread actors may."""

    def ask_it(self, ref: ActorRef[Account], message: Any) -> Any:
        return ref.ask(message, timeout=TIMEOUT)

    def tell_it(self, ref: ActorRef[Account], message: Any) -> None:
        ref.tell(message)

    def deposit_through(self, account: ActorProxy[Account], amount: int) -> int:
        return cast("int", account.deposit(amount).get(TIMEOUT))


class Worker(limelight.ThreadingActor):
    """A thread actor whose methods block, as thread actors' may."""

    def square(self, x: int) -> int:
        return x * x

    def wait_for(self, entered: threading.Event, gate: threading.Event) -> bool:
        entered.set()
        return gate.wait(TIMEOUT)


class Relay(AsyncioActor):
    """An asyncio actor that awaits thread actors, and other asyncio actors."""

    async def squares(self, worker: ActorProxy[Worker], n: int) -> list[int]:
        return [await worker.square(i) for i in range(n)]

    async def wait_through(
        self,
        worker: ActorProxy[Worker],
        entered: threading.Event,
        gate: threading.Event,
    ) -> bool:
        return cast("bool", await worker.wait_for(entered, gate))

    def ask_blocking(self, ref: ActorRef[Any], message: Any) -> Any:
        return ref.ask(message, timeout=TIMEOUT)

    async def ask_awaiting(self, ref: ActorRef[Any], message: Any) -> Any:
        return await ref.ask(message, block=False)


# -- Threads and thread actors use asyncio actors -------------------------------------


def test_plain_thread_code_tells_asks_and_proxies_an_asyncio_actor() -> None:
    ref = Account.start()
    account = ref.proxy()

    ref.tell("told")
    assert ref.ask("asked", timeout=TIMEOUT) == ("received", "asked")
    assert account.deposit(10).get(TIMEOUT) == 10
    assert account.withdraw(3).get(TIMEOUT) == 7
    futures = [account.deposit(1) for _ in range(5)]
    assert limelight.get_all(futures, timeout=TIMEOUT) == [8, 9, 10, 11, 12]
    assert account.told.get(TIMEOUT) == ["told", "asked"]


def test_a_thread_actor_tells_asks_and_proxies_an_asyncio_actor() -> None:
    ref = Account.start()
    teller = Teller.start().proxy()

    teller.tell_it(ref, "from a thread actor").get(TIMEOUT)
    assert teller.ask_it(ref, "asked").get(TIMEOUT) == ("received", "asked")
    assert teller.deposit_through(ref.proxy(), 5).get(TIMEOUT) == 5
    assert ref.proxy().told.get(TIMEOUT) == ["from a thread actor", "asked"]


def test_many_threads_use_one_asyncio_actor_at_once() -> None:
    account = Account.start().proxy()
    balances: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(200):
            balance = account.deposit(1).get(TIMEOUT)
            with lock:
                balances.append(balance)

    clients = [threading.Thread(target=client) for _ in range(4)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(TIMEOUT)

    # One message at a time: every deposit saw a different balance.
    assert sorted(balances) == list(range(1, 801))


# -- Asyncio actors and coroutines use thread actors ---------------------------------


def test_an_asyncio_actor_awaits_a_thread_actor() -> None:
    worker = Worker.start().proxy()
    relay = Relay.start().proxy()  # on the background loop

    assert relay.squares(worker, 4).get(TIMEOUT) == [0, 1, 4, 9]


def test_an_asyncio_actor_awaiting_a_thread_actor_leaves_its_loop_free() -> None:
    worker = Worker.start().proxy()
    entered, gate = threading.Event(), threading.Event()

    async def main() -> bool:
        async with Relay.start() as relay:
            reply = relay.proxy().wait_through(worker, entered, gate)
            # Wait for the worker off the loop: if the relay's await blocked
            # the loop, this task could never go on to open the gate.
            assert await asyncio.get_running_loop().run_in_executor(
                None, entered.wait, TIMEOUT
            )
            gate.set()
            return cast("bool", await reply)

    assert run(main()) is True


def test_a_thread_actors_future_is_awaited_from_two_loops_at_once() -> None:
    worker = Worker.start().proxy()
    entered, gate = threading.Event(), threading.Event()
    blocked: limelight.Future[bool] = worker.wait_for(entered, gate)
    assert entered.wait(TIMEOUT)

    async def wait() -> bool:
        return await blocked

    with LoopThread() as other:
        elsewhere = asyncio.run_coroutine_threadsafe(wait(), other.loop)

        async def main() -> bool:
            here = asyncio.ensure_future(wait())
            await asyncio.sleep(0)  # (a loop not waiting yet reads the value)
            gate.set()
            return await here

        assert run(main()) is True
        assert elsewhere.result(TIMEOUT) is True


# -- An asyncio actor on one loop, used from elsewhere -------------------------------


def test_an_actor_on_one_loop_is_used_from_another_loop_and_another_thread() -> None:
    with LoopThread() as served:

        async def start() -> ActorRef[Account]:
            return Account.start()

        ref = served.run(start())
        account = ref.proxy()
        assert account.where().get(TIMEOUT) == (served.loop, served.thread)

        async def from_another_loop() -> tuple[int, Any]:
            return await account.deposit(5), await ref.ask("hi", block=False)

        assert run(from_another_loop()) == (5, ("received", "hi"))

        results: list[int] = []
        user = threading.Thread(
            target=lambda: results.append(account.withdraw(2).get(TIMEOUT))
        )
        user.start()
        user.join(TIMEOUT)
        assert results == [3]

        assert ref.stop(timeout=TIMEOUT) is True


class Gate(AsyncioActor):
    async def pass_gate(self, gate: asyncio.Event) -> str:
        await gate.wait()
        return "passed"


def test_cancelling_an_await_on_another_loop_leaves_the_reply_to_others() -> None:
    with LoopThread() as served:

        async def start() -> tuple[ActorRef[Gate], asyncio.Event]:
            return Gate.start(), asyncio.Event()

        ref, gate = served.run(start())
        reply: limelight.Future[str] = ref.proxy().pass_gate(gate)

        async def main() -> str:
            cancelled = asyncio.ensure_future(reply)
            patient = asyncio.ensure_future(reply)
            await asyncio.sleep(0)  # both wait for the actor on the other loop
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            served.loop.call_soon_threadsafe(gate.set)  # (an event of that loop)
            return await patient

        assert run(main()) == "passed"
        assert reply.get(TIMEOUT) == "passed"  # and for a thread as well
        assert ref.stop(timeout=TIMEOUT) is True


def test_asyncio_actors_on_different_loops_ask_each_other() -> None:
    background = Account.start()
    with LoopThread() as served:

        async def start() -> ActorRef[Relay]:
            return Relay.start()

        relay = served.run(start()).proxy()

        # Blocking on another loop's actor is slow, not a deadlock: allowed.
        assert relay.ask_blocking(background, "blocking").get(TIMEOUT) == (
            "received",
            "blocking",
        )
        assert relay.ask_awaiting(background, "awaiting").get(TIMEOUT) == (
            "received",
            "awaiting",
        )
        assert relay.actor_ref.stop(timeout=TIMEOUT) is True


class Ping(AsyncioActor):
    def __init__(self, done: threading.Event) -> None:
        super().__init__()
        self.done = done

    def on_receive(self, message: Any) -> Any:
        count, pong = cast("tuple[int, ActorRef[Pong]]", message)
        if count == 0:
            self.done.set()
        else:
            pong.tell((count - 1, self.actor_ref))


class Pong(limelight.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        count, ping = cast("tuple[int, ActorRef[Ping]]", message)
        ping.tell((count, self.actor_ref))


def test_a_thread_actor_and_an_asyncio_actor_tell_each_other_back_and_forth() -> None:
    done = threading.Event()
    ping = Ping.start(done)
    pong = Pong.start()

    pong.tell((1_000, ping))

    assert done.wait(TIMEOUT)


# -- Done when: an async web handler fanning out to blocking thread actors ----------

REQUESTS = 100
WORK = 0.05
"""Seconds of blocking work per request, in a thread actor."""


class Backend(limelight.ThreadingActor):
    """Does blocking work for one request at a time, in its own thread."""

    def __init__(self, entered: list[int], lock: threading.Lock) -> None:
        super().__init__()
        self.entered = entered
        self.lock = lock

    def handle(self, request: int, loop_ticked: threading.Event) -> tuple[int, bool]:
        with self.lock:
            self.entered.append(request)
        # Held here until a task of the frontend's loop has seen *every*
        # request in flight at once: proof of concurrency, and of a free loop.
        ticked = loop_ticked.wait(TIMEOUT)
        time.sleep(WORK)  # the blocking work itself
        return request, ticked


class Frontend(AsyncioActor):
    """An async web handler: serves many requests at once, each on a backend."""

    def __init__(self, backends: list[ActorProxy[Backend]]) -> None:
        super().__init__()
        self.backends = backends

    async def serve(self, loop_ticked: threading.Event) -> list[tuple[int, bool]]:
        async def one(request: int) -> tuple[int, bool]:
            backend = self.backends[request]
            return cast("tuple[int, bool]", await backend.handle(request, loop_ticked))

        return list(await asyncio.gather(*(one(r) for r in range(REQUESTS))))


def test_a_hundred_requests_awaiting_slow_thread_actors_take_the_time_of_one() -> None:
    entered: list[int] = []
    lock = threading.Lock()
    backends = [Backend.start(entered, lock).proxy() for _ in range(REQUESTS)]
    loop_ticked = threading.Event()

    async def main() -> tuple[list[tuple[int, bool]], float, int]:
        ticks = 0

        async def ticker() -> None:
            # Another task on the frontend's loop, ticking all along.
            nonlocal ticks
            while True:
                ticks += 1
                if len(entered) == REQUESTS:
                    loop_ticked.set()
                await asyncio.sleep(0.001)

        async with Frontend.start(backends) as frontend:
            ticking = asyncio.ensure_future(ticker())
            started = time.perf_counter()
            replies = await frontend.proxy().serve(loop_ticked)
            elapsed = time.perf_counter() - started
            ticking.cancel()
        return replies, elapsed, ticks

    replies, elapsed, ticks = run(main())

    assert replies == [(request, True) for request in range(REQUESTS)]
    assert sorted(entered) == list(range(REQUESTS))
    assert ticks > 1
    # Serially this would take REQUESTS * WORK = 5 s.
    assert WORK <= elapsed < 1.5, f"{REQUESTS} requests took {elapsed:.3f} s"
