"""Futures: values available now or later."""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
import traceback
from collections.abc import Generator, Iterable
from typing import Any

import pytest

import limelight
from tests.conformance.actors import TIMEOUT, Blocker
from tests.runtimes import Event, Runtime


class Completer(limelight.Actor):
    """Completes futures it is given, from inside the actor."""

    def complete(self, future: limelight.Future[Any], value: Any) -> None:
        future.set(value)

    def fail(self, future: limelight.Future[Any], text: str) -> None:
        try:
            raise_inside_actor(text)
        except ValueError:
            future.set_exception()

    def wait_then_answer(self, gate: Event, answer: Any) -> Any:
        if not gate.wait(TIMEOUT):
            return "the gate was never opened"
        return answer


def raise_inside_actor(text: str) -> None:
    raise ValueError(text)


def concatenate(acc: str, item: str) -> str:
    return acc + item


def append_digit(acc: int, digit: int) -> int:
    return acc * 10 + digit


def frame_names(exc: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]


# -- get() and set() -------------------------------------------------------------


def test_get_returns_the_value_set(runtime: Runtime) -> None:
    future: limelight.Future[list[int]] = runtime.future_class()

    future.set([1, 2])

    assert future.get() == [1, 2]
    assert future.get(timeout=0) == [1, 2]  # readable again, without waiting


def test_set_without_a_value_sets_none(runtime: Runtime) -> None:
    future: limelight.Future[Any] = runtime.future_class()

    future.set()

    assert future.get(TIMEOUT) is None


def test_get_times_out_on_a_future_nobody_sets(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()

    with pytest.raises(limelight.Timeout):
        future.get(timeout=0.01)
    with pytest.raises(limelight.Timeout):
        future.get(timeout=0)


@pytest.mark.needs("futures_sent_to_actors")
def test_get_wakes_up_when_an_actor_sets_the_value(runtime: Runtime) -> None:
    proxy = runtime.actor(Completer).start().proxy()
    future: limelight.Future[str] = runtime.future_class()

    proxy.complete(future, "from the actor")

    assert future.get(TIMEOUT) == "from the actor"


def test_set_twice_raises_queue_full(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()
    future.set(1)

    with pytest.raises(queue.Full):
        future.set(2)
    with pytest.raises(queue.Full):
        future.set_exception(ValueError("too late"))
    assert future.get(TIMEOUT) == 1


def test_set_after_set_exception_raises_queue_full(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()
    future.set_exception(ValueError("first"))

    with pytest.raises(queue.Full):
        future.set(2)
    with pytest.raises(ValueError, match="first"):
        future.get(TIMEOUT)


# -- set_exception() ---------------------------------------------------------------


def test_set_exception_with_an_exc_info_triple(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()
    try:
        raise_inside_actor("triple")
    except ValueError:
        future.set_exception(sys.exc_info())

    with pytest.raises(ValueError, match="triple") as info:
        future.get(TIMEOUT)
    assert "raise_inside_actor" in frame_names(info.value)


def test_set_exception_with_an_exception_instance(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()

    future.set_exception(KeyError("instance"))

    with pytest.raises(KeyError, match="instance"):
        future.get(TIMEOUT)
    with pytest.raises(KeyError, match="instance"):  # again: a future keeps its value
        future.get(TIMEOUT)


def test_set_exception_with_an_exception_type_and_no_value(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()

    future.set_exception((LookupError, None, None))

    with pytest.raises(LookupError):
        future.get(TIMEOUT)


@pytest.mark.needs("futures_sent_to_actors")
def test_set_exception_without_arguments_uses_the_exception_being_handled(
    runtime: Runtime,
) -> None:
    proxy = runtime.actor(Completer).start().proxy()
    future: limelight.Future[int] = runtime.future_class()

    proxy.fail(future, "handled in the actor")

    with pytest.raises(ValueError, match="handled in the actor") as info:
        future.get(TIMEOUT)
    assert "raise_inside_actor" in frame_names(info.value)


def test_set_exception_without_arguments_outside_except_is_a_type_error(
    runtime: Runtime,
) -> None:
    future: limelight.Future[int] = runtime.future_class()

    with pytest.raises(TypeError, match="except"):
        future.set_exception()


# -- set_get_hook() ----------------------------------------------------------------


def test_get_hook_computes_the_value_with_the_timeout(runtime: Runtime) -> None:
    future: limelight.Future[str] = runtime.future_class()
    calls: list[float | None] = []

    def hook(timeout: float | None) -> str:
        calls.append(timeout)
        return "computed"

    future.set_get_hook(hook)

    assert calls == []  # lazy
    assert future.get(timeout=5.0) == "computed"
    assert len(calls) == 1
    assert calls[0] is not None
    assert 0 < calls[0] <= 5.0


def test_get_hook_result_is_computed_once(runtime: Runtime) -> None:
    future: limelight.Future[None] = runtime.future_class()
    calls: list[float | None] = []
    future.set_get_hook(calls.append)  # returns None

    assert future.get() is None
    assert future.get() is None
    assert calls == [None]


def test_get_hook_exception_is_raised_by_get(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()

    def hook(timeout: float | None) -> int:
        raise ArithmeticError(f"hook failed, timeout={timeout}")

    future.set_get_hook(hook)

    with pytest.raises(ArithmeticError, match="timeout=None"):
        future.get()


def test_a_future_with_a_get_hook_cannot_be_set(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()
    future.set_get_hook(lambda _timeout: 1)

    with pytest.raises(queue.Full):
        future.set(2)
    assert future.get() == 1


def test_a_completed_future_cannot_get_a_get_hook(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()
    future.set(1)

    with pytest.raises(queue.Full):
        future.set_get_hook(lambda _timeout: 2)
    assert future.get() == 1


# -- Combinators -------------------------------------------------------------------


def test_map_applies_a_function_to_the_whole_value(runtime: Runtime) -> None:
    future: limelight.Future[list[int]] = runtime.future_class()
    applied: list[list[int]] = []

    def total(values: list[int]) -> int:
        applied.append(values)
        return sum(values)

    mapped = future.map(total)
    future.set([1, 2, 3])

    assert applied == []  # lazy
    assert mapped.get(TIMEOUT) == 6
    assert mapped.get(TIMEOUT) == 6
    assert applied == [[1, 2, 3]]


def test_map_passes_an_exception_through(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()
    mapped = future.map(lambda x: x + 1)

    future.set_exception(ValueError("original"))

    with pytest.raises(ValueError, match="original"):
        mapped.get(TIMEOUT)


def test_map_times_out_like_its_source(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()

    with pytest.raises(limelight.Timeout):
        future.map(lambda x: x + 1).get(timeout=0.01)


def test_filter_keeps_the_items_for_which_the_function_is_true(
    runtime: Runtime,
) -> None:
    future: limelight.Future[Iterable[int]] = runtime.future_class()

    filtered = future.filter(lambda x: x % 2 == 0)
    future.set(range(7))

    assert filtered.get(TIMEOUT) == [0, 2, 4, 6]


def test_filter_of_a_non_iterable_raises_type_error(runtime: Runtime) -> None:
    future: limelight.Future[Any] = runtime.future_class()

    filtered = future.filter(bool)
    future.set(42)

    with pytest.raises(TypeError):
        filtered.get(TIMEOUT)


def test_reduce_without_an_initial_value(runtime: Runtime) -> None:
    future: limelight.Future[Iterable[str]] = runtime.future_class()

    reduced = future.reduce(concatenate)
    future.set(["a", "b", "c"])

    assert reduced.get(TIMEOUT) == "abc"


def test_reduce_with_an_initial_value(runtime: Runtime) -> None:
    future: limelight.Future[Iterable[int]] = runtime.future_class()

    reduced = future.reduce(append_digit, 7)
    future.set([1, 2])

    assert reduced.get(TIMEOUT) == 712


def test_reduce_of_nothing_is_the_initial_value_or_a_type_error(
    runtime: Runtime,
) -> None:
    with_initial: limelight.Future[Iterable[int]] = runtime.future_class()
    without: limelight.Future[Iterable[int]] = runtime.future_class()
    with_initial.set([])
    without.set([])

    assert with_initial.reduce(append_digit, 5).get(TIMEOUT) == 5
    with pytest.raises(TypeError):
        without.reduce(append_digit).get(TIMEOUT)


def test_join_collects_values_in_order(runtime: Runtime) -> None:
    first: limelight.Future[str] = runtime.future_class()
    second: limelight.Future[int] = runtime.future_class()
    third: limelight.Future[None] = runtime.future_class()

    joined = first.join(second, third)
    third.set(None)
    second.set(2)
    first.set("one")

    assert joined.get(TIMEOUT) == ["one", 2, None]


def test_join_raises_the_first_failure(runtime: Runtime) -> None:
    first: limelight.Future[int] = runtime.future_class()
    second: limelight.Future[int] = runtime.future_class()
    first.set(1)
    second.set_exception(OSError("second failed"))

    with pytest.raises(OSError, match="second failed"):
        first.join(second).get(TIMEOUT)


def test_combinators_chain(runtime: Runtime) -> None:
    future: limelight.Future[Iterable[int]] = runtime.future_class()

    chained = future.filter(lambda x: x > 1).map(lambda xs: [x * x for x in xs])
    future.set([1, 2, 3])

    assert chained.get(TIMEOUT) == [4, 9]


# -- get_all() ---------------------------------------------------------------------


def test_get_all_returns_the_values_in_order(runtime: Runtime) -> None:
    futures: list[limelight.Future[int]] = [runtime.future_class() for _ in range(3)]
    for i, future in enumerate(reversed(futures)):
        future.set(i)

    assert limelight.get_all(futures) == [2, 1, 0]
    assert limelight.get_all(futures, timeout=TIMEOUT) == [2, 1, 0]
    assert limelight.get_all([]) == []


def test_get_all_times_out_if_any_value_is_missing(runtime: Runtime) -> None:
    done: limelight.Future[int] = runtime.future_class()
    done.set(1)
    never: limelight.Future[int] = runtime.future_class()

    with pytest.raises(limelight.Timeout):
        limelight.get_all([done, never], timeout=0.01)


def test_get_all_gives_each_future_the_whole_timeout(runtime: Runtime) -> None:
    # As on Pykka: `timeout` applies to each get(), not to the call as a whole.
    timeouts: list[float | None] = []

    def slow_hook(timeout: float | None) -> int:
        timeouts.append(timeout)
        runtime.sleep(0.1)  # would leave the third < 0.3 s of a shared 0.5 s
        return len(timeouts)

    futures: list[limelight.Future[int]] = [runtime.future_class() for _ in range(3)]
    for future in futures:
        future.set_get_hook(slow_hook)

    assert limelight.get_all(futures, timeout=0.5) == [1, 2, 3]

    assert len(timeouts) == 3
    assert all(t is not None and 0.4 < t <= 0.5 for t in timeouts), timeouts


class KeywordOnlyFuture(limelight.ThreadingFuture[int]):
    """Written to Pykka's signature of ``get()``: `timeout` by keyword only."""

    def get(self, *, timeout: float | None = None) -> int:  # type: ignore[override]
        return super().get(timeout=timeout)


def test_get_all_and_combinators_pass_timeout_by_keyword() -> None:
    future = KeywordOnlyFuture()
    future.set(4)

    assert limelight.get_all([future], timeout=TIMEOUT) == [4]
    assert future.map(lambda x: x + 1).get(timeout=TIMEOUT) == 5
    assert future.join(future).get(timeout=TIMEOUT) == [4, 4]


# -- await and yield from ------------------------------------------------------------


@pytest.mark.needs("futures_sent_to_actors")
def test_await_a_future_set_by_an_actor(runtime: Runtime) -> None:
    proxy = runtime.actor(Completer).start().proxy()

    async def main() -> str:
        future: limelight.Future[str] = runtime.future_class()
        proxy.complete(future, "awaited")
        return await future

    assert asyncio.run(main()) == "awaited"


def test_await_a_proxy_call(runtime: Runtime) -> None:
    ref = runtime.actor(Blocker).start()

    async def main() -> Any:
        return await ref.proxy().value("through the proxy")

    assert asyncio.run(main()) == "through the proxy"


def test_await_a_future_that_is_already_set(runtime: Runtime) -> None:
    future: limelight.Future[int] = runtime.future_class()
    future.set(3)

    async def main() -> int:
        return await future

    assert asyncio.run(main()) == 3


@pytest.mark.needs("futures_sent_to_actors")
def test_await_raises_the_exception(runtime: Runtime) -> None:
    proxy = runtime.actor(Completer).start().proxy()

    async def main() -> None:
        future: limelight.Future[None] = runtime.future_class()
        proxy.fail(future, "awaited failure")
        await future

    with pytest.raises(ValueError, match="awaited failure"):
        asyncio.run(main())


@pytest.mark.needs("futures_sent_to_actors")
def test_await_derived_futures(runtime: Runtime) -> None:
    proxy = runtime.actor(Completer).start().proxy()

    async def main() -> tuple[int, list[Any], int]:
        first: limelight.Future[int] = runtime.future_class()
        second: limelight.Future[int] = runtime.future_class()
        mapped = first.map(lambda x: x * 2)
        joined = first.join(second)
        proxy.complete(first, 20)
        proxy.complete(second, 22)
        return await mapped, list(await joined), await second

    assert asyncio.run(main()) == (40, [20, 22], 22)


@pytest.mark.needs("futures_sent_to_actors")
def test_await_a_future_with_an_opaque_get_hook(runtime: Runtime) -> None:
    proxy = runtime.actor(Completer).start().proxy()
    source: limelight.Future[str] = runtime.future_class()
    lazy: limelight.Future[str] = runtime.future_class()
    lazy.set_get_hook(lambda timeout: source.get(timeout).upper())

    async def main() -> str:
        proxy.complete(source, "hooked")
        return await lazy

    assert asyncio.run(main()) == "HOOKED"


def test_a_cancelled_await_leaves_the_future_usable(runtime: Runtime) -> None:
    future: limelight.Future[str] = runtime.future_class()

    async def main() -> bool:
        async def wait() -> str:
            return await future

        task = asyncio.ensure_future(wait())
        await asyncio.sleep(0)  # let the task start waiting
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert asyncio.run(main()) is True
    future.set("still fine")
    assert future.get(TIMEOUT) == "still fine"


def test_awaiting_a_slow_actor_does_not_block_the_event_loop(runtime: Runtime) -> None:
    proxy = runtime.actor(Completer).start().proxy()
    gate = runtime.event_class()

    async def main() -> tuple[Any, bool]:
        other_task_ran = asyncio.Event()

        async def other_task() -> None:
            # Runs only if awaiting the actor below left the loop free.
            other_task_ran.set()
            gate.set()

        slow = asyncio.ensure_future(proxy.wait_then_answer(gate, "answered"))
        other = asyncio.ensure_future(other_task())
        answer = await slow
        await other
        return answer, other_task_ran.is_set()

    answer, other_ran = asyncio.run(main())

    assert answer == "answered"
    assert other_ran


def test_yield_from_a_future(runtime: Runtime) -> None:
    ready: limelight.Future[int] = runtime.future_class()
    ready.set(1)
    pending: limelight.Future[int] = runtime.future_class()

    def consume(future: limelight.Future[int]) -> Generator[Any, None, int]:
        value = yield from future
        return value * 10

    with pytest.raises(StopIteration) as done:
        next(consume(ready))
    assert done.value.value == 10

    waiting = consume(pending)
    next(waiting)  # suspends until the future is set
    pending.set(2)
    with pytest.raises(StopIteration) as done:
        next(waiting)
    assert done.value.value == 20


# -- The interface ------------------------------------------------------------------


def test_a_runtime_future_is_a_future(runtime: Runtime) -> None:
    future = runtime.future_class()

    assert isinstance(future, limelight.Future)
    assert runtime.future_class.__name__ in repr(future)


def test_the_future_interface_itself_cannot_be_set_or_read() -> None:
    future: limelight.Future[int] = limelight.Future()

    with pytest.raises(NotImplementedError):
        future.get()
    with pytest.raises(NotImplementedError):
        future.set(1)
    with pytest.raises(NotImplementedError):
        future.set_exception(ValueError())


def test_the_future_interface_with_a_get_hook_works() -> None:
    future: limelight.Future[int] = limelight.Future()
    future.set_get_hook(lambda _timeout: 5)

    assert future.get() == 5
    assert future.map(lambda x: x + 1).get() == 6


def test_a_second_get_of_a_lazy_future_waits_for_the_first(runtime: Runtime) -> None:
    entered, gate = runtime.event_class(), runtime.event_class()
    calls: list[float | None] = []

    def slow_hook(timeout: float | None) -> str:
        calls.append(timeout)
        entered.set()
        assert gate.wait(TIMEOUT)
        return "computed once"

    lazy: limelight.Future[str] = runtime.future_class()
    lazy.set_get_hook(slow_hook)
    first: list[str] = []
    getter = threading.Thread(target=lambda: first.append(lazy.get(TIMEOUT)))
    getter.start()
    assert entered.wait(TIMEOUT)

    with pytest.raises(limelight.Timeout):
        lazy.get(timeout=0.01)  # the hook is still running for the first getter

    gate.set()
    getter.join(TIMEOUT)
    assert first == ["computed once"]
    assert lazy.get(TIMEOUT) == "computed once"
    assert len(calls) == 1


@pytest.mark.needs("futures_sent_to_actors")
def test_await_a_join_of_a_computed_lazy_future_and_a_pending_one(
    runtime: Runtime,
) -> None:
    proxy = runtime.actor(Completer).start().proxy()
    lazy: limelight.Future[str] = runtime.future_class()
    lazy.set_get_hook(lambda _timeout: "lazy")
    assert lazy.get() == "lazy"  # computed: ready, though its sources are unknown
    pending: limelight.Future[str] = runtime.future_class()

    async def main() -> list[Any]:
        joined = lazy.join(pending)
        proxy.complete(pending, "pending")
        return list(await joined)

    assert asyncio.run(main()) == ["lazy", "pending"]
