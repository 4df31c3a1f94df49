"""What is particular to the threading runtime: threads, their names, their reuse."""

from __future__ import annotations

import contextvars
import copy
import os
import pickle
import re
import select
import signal
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import limelight
from limelight._core import _observe, _timers, _wait_graph, _waiting
from limelight._runtimes import threads
from limelight._runtimes.threads import IDLE_THREAD_NAME, RUNTIME, ThreadCache

TIMEOUT = 10.0


class WhereAmI(limelight.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.init_thread = threading.current_thread().name

    def on_start(self) -> None:
        self.start_thread = threading.current_thread().name

    def here(self) -> dict[str, Any]:
        thread = threading.current_thread()
        return {
            "init": self.init_thread,
            "on_start": self.start_thread,
            "method": thread.name,
            "daemon": thread.daemon,
        }

    def thread(self) -> threading.Thread:
        return threading.current_thread()


class DaemonWhereAmI(WhereAmI):
    use_daemon_thread = True


class LocalReader(limelight.ThreadingActor):
    """Reports what a thread-local holds when it starts, then marks it."""

    local = threading.local()

    def on_start(self) -> None:
        self.found = getattr(self.local, "owner", None)
        self.local.owner = self.actor_urn

    def found_at_start(self) -> str | None:
        return self.found


def end_idle_threads() -> None:
    """End the runtime's idle threads and wait until they are gone; no sleeping."""
    assert RUNTIME.end_idle_threads(TIMEOUT), "an idle thread did not end"


@pytest.fixture
def no_idle_threads() -> Iterator[None]:
    end_idle_threads()
    yield
    end_idle_threads()


def test_an_actor_runs_in_its_own_thread_named_after_its_class() -> None:
    ref = WhereAmI.start()

    seen = ref.proxy().here().get(TIMEOUT)

    caller = threading.current_thread().name
    assert seen["init"] == caller  # __init__ runs in the caller
    assert re.fullmatch(r"WhereAmI-\d+", seen["on_start"])
    assert seen["method"] == seen["on_start"]
    assert seen["daemon"] is False


def test_use_daemon_thread_runs_the_actor_in_a_daemon_thread() -> None:
    ref = DaemonWhereAmI.start()

    seen = ref.proxy().here().get(TIMEOUT)

    assert seen["daemon"] is True
    assert re.fullmatch(r"DaemonWhereAmI-\d+", seen["method"])


def test_every_running_actor_has_a_thread_of_its_own() -> None:
    refs = [WhereAmI.start() for _ in range(10)]

    names = {ref.proxy().here().get(TIMEOUT)["method"] for ref in refs}

    assert len(names) == 10


@pytest.mark.usefixtures("no_idle_threads")
def test_a_stopped_actor_s_thread_is_idle_and_ends_when_closed() -> None:
    # The actors' own threads are asked for, not found by diffing
    # threading.enumerate(): a thread of an earlier test may still be on its
    # way to idle and be taken by one of these actors.
    refs = [WhereAmI.start() for _ in range(3)]
    threads_of_actors = [ref.proxy().thread().get(TIMEOUT) for ref in refs]
    assert len(set(threads_of_actors)) == 3
    assert sorted(t.name.split("-")[0] for t in threads_of_actors) == ["WhereAmI"] * 3

    for ref in refs:
        ref.stop()

    assert [t.name for t in threads_of_actors] == [IDLE_THREAD_NAME] * 3
    end_idle_threads()
    assert not any(t.is_alive() for t in threads_of_actors)


def test_a_forked_child_runs_actors_and_timers_of_its_own() -> None:
    # The parent is left with an idle thread and a running timer thread,
    # neither of which exists in a child forked now.
    WhereAmI.start().stop()
    fired = threading.Event()
    RUNTIME.timers.call_later(0, fired.set)
    assert fired.wait(TIMEOUT)
    assert RUNTIME.threads.idle_count() >= 1
    assert RUNTIME.timers.is_running()
    read_end, write_end = os.pipe()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
        pid = os.fork()
    if pid == 0:  # pragma: no cover -- the child; coverage follows it anyway
        try:
            ref = WhereAmI.start()
            answer = ref.proxy().here().get(TIMEOUT)["method"]
            ref.stop(timeout=TIMEOUT)
            ticked = threading.Event()
            RUNTIME.timers.call_later(0, ticked.set)
            report = f"{answer.split('-')[0]} timer={ticked.wait(TIMEOUT)}"
        except BaseException as exc:  # noqa: BLE001 -- reported to the parent
            report = repr(exc)
        os.write(write_end, report.encode())
        os._exit(0)
    os.close(write_end)
    ready: list[int] = []
    try:
        ready, _, _ = select.select([read_end], [], [], 3 * TIMEOUT)
        report = os.read(read_end, 1000).decode() if ready else "(no answer)"
    finally:
        os.close(read_end)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

    assert report == "WhereAmI timer=True"


def test_a_forked_child_finds_limelights_locks_released() -> None:
    # Another thread holds each module-wide lock while the main one forks:
    # in the child, where that thread does not exist, each must be free.
    locks = [
        _waiting.state_lock,
        limelight.DeadLetters._lock,  # pyright: ignore[reportPrivateUsage]
        _wait_graph._lock,  # pyright: ignore[reportPrivateUsage]
        _timers._lock,  # pyright: ignore[reportPrivateUsage]
        _observe._samples_lock,  # pyright: ignore[reportPrivateUsage]
    ]
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        for lock in locks:
            lock.acquire()
        holding.set()
        done.wait(TIMEOUT)
        for lock in locks:
            lock.release()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(TIMEOUT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
            pid = os.fork()
        if pid == 0:  # pragma: no cover -- the child; coverage follows it anyway
            free = sum(lock.acquire(timeout=TIMEOUT) for lock in locks)
            os._exit(free)
    finally:
        done.set()
        holder.join()
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == len(locks)


class ThreadLocalUser(LocalReader):
    """Sets thread-local state, so it does not hand its thread to another actor."""

    reuse_thread = False


class ContextReader(limelight.ThreadingActor):
    """Reports what a context variable holds when it starts, then sets it."""

    def on_start(self) -> None:
        self.found = OWNER.get(None)
        OWNER.set(self.actor_urn)

    def found_at_start(self) -> str | None:
        return self.found


OWNER: contextvars.ContextVar[str] = contextvars.ContextVar("OWNER")


def test_an_actor_that_opts_out_of_thread_reuse_leaves_no_thread_local_state() -> None:
    first = ThreadLocalUser.start()
    assert first.proxy().found_at_start().get(TIMEOUT) is None
    first.stop()

    second = LocalReader.start()

    assert second.proxy().found_at_start().get(TIMEOUT) is None


def test_a_reused_thread_keeps_thread_local_state_as_documented() -> None:
    # The documented cost of thread reuse (see ThreadingActor.reuse_thread):
    # pinned here so that a change to it is a deliberate one.
    end_idle_threads()
    first = LocalReader.start()
    first_urn = first.actor_urn
    first.stop()

    second = LocalReader.start()

    assert second.proxy().found_at_start().get(TIMEOUT) == first_urn


def test_every_actor_starts_with_a_fresh_context_even_in_a_reused_thread() -> None:
    end_idle_threads()
    first = ContextReader.start()
    assert first.proxy().found_at_start().get(TIMEOUT) is None
    first.stop()

    second = ContextReader.start()

    assert second.proxy().found_at_start().get(TIMEOUT) is None


class Remembers(limelight.ThreadingActor):
    """Remembers the thread it ran in, in a list shared with the test."""

    def __init__(self, threads_seen: list[threading.Thread]) -> None:
        super().__init__()
        self.threads_seen = threads_seen

    def on_start(self) -> None:
        self.threads_seen.append(threading.current_thread())


def run_and_stop(cache: ThreadCache, count: int) -> list[threading.Thread]:
    """Run `count` actors in `cache`'s threads, stop them; return their threads."""
    seen: list[threading.Thread] = []
    actors = [Remembers(seen) for _ in range(count)]
    for actor in actors:
        limelight.ActorRegistry.register(actor.actor_ref)  # as start() does
        cache.run(actor)
    for actor in actors:
        assert actor.actor_ref.stop(timeout=TIMEOUT) is True
    assert len(seen) == count
    return seen


def test_a_cache_with_max_idle_zero_keeps_no_thread() -> None:
    cache = ThreadCache(daemon=True, max_idle=0)

    for thread in run_and_stop(cache, 3):
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    assert cache.idle_count() == 0


def test_an_idle_thread_ends_after_keep_alive() -> None:
    cache = ThreadCache(daemon=True, keep_alive=0.01)

    (thread,) = run_and_stop(cache, 1)

    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert cache.idle_count() == 0


def test_a_closed_cache_ends_idle_threads_and_reopens() -> None:
    cache = ThreadCache(daemon=True, keep_alive=TIMEOUT)
    (first,) = run_and_stop(cache, 1)

    cache.close()
    first.join(TIMEOUT)
    assert not first.is_alive()

    cache.reopen()
    (second,) = run_and_stop(cache, 1)
    assert second is not first
    cache.close()
    second.join(TIMEOUT)
    assert not second.is_alive()


def test_the_runtime_module_exports() -> None:
    assert threads.ThreadingActor is limelight.ThreadingActor
    assert threads.ThreadingFuture is limelight.ThreadingFuture
    assert RUNTIME.name == "threading"


class AsyncHookOnThreads(limelight.ThreadingActor):
    async def on_start(self) -> None:  # a mistake: nothing on a thread awaits it
        pass


def test_an_async_hook_on_a_thread_actor_is_a_clear_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ref = AsyncHookOnThreads.start()

    assert ref.actor_stopped.wait(TIMEOUT)
    messages = [str(record.exc_info[1]) for record in caplog.records if record.exc_info]
    assert any("is an `async def`" in message for message in messages)


def test_a_ref_refuses_plain_pickling_and_says_what_to_do() -> None:
    from limelight.asyncio import AsyncioActor  # noqa: PLC0415 -- only here

    class AsyncEcho(AsyncioActor):
        pass

    for ref in (WhereAmI.start(), AsyncEcho.start()):
        with pytest.raises(TypeError) as raised:
            pickle.dumps(ref)
        message = str(raised.value)
        assert message.startswith(f"{ref} cannot be pickled: ")
        assert "limelight.process" in message
        assert "limelight.ray" in message
        assert "look it up" in message
        # A copy of a ref is the ref itself, as good as any other copy.
        assert copy.copy(ref) is ref
        assert copy.deepcopy([ref]) == [ref]
        ref.stop()
