"""Leader/follower reads: a thread waiting for a process actor's reply reads it.

The parent's channel to a worker is read by the thread that waits for a
reply, when no other thread reads it (the leader), instead of by the
channel's background reader, which would have to wake the waiting thread.
Most tests here play the worker's side of a pipe by hand, so that they
decide which frame comes when; the last ones use real workers.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import limelight
import limelight.process
from limelight._core import _waiting
from limelight._core._future import SettableFuture
from limelight._runtimes import processes
from limelight._runtimes.processes import _wire
from tests.process_actors import Counter

TIMEOUT = 60.0
"""Generous: other test runs share this machine's two cores."""

# A greenlet runtime's waiter factory would have the main thread wait as a
# greenlet, which never reads the pipe, once a test made it a hub's thread.
pytestmark = pytest.mark.usefixtures("no_waiter_factories")


@pytest.fixture(autouse=True)
def no_workers_left() -> Iterator[None]:
    """End the workers a test started, and check that none is left running."""
    yield
    started = limelight.process.workers()
    limelight.process.shutdown(timeout=TIMEOUT)
    alive = [p for p in started if p.is_alive()]
    assert alive == [], f"worker processes left running: {alive}"


class Pipe:
    """A leadable channel, and the other end of its pipe, played by the test."""

    def __init__(self) -> None:
        mine, self.theirs = multiprocessing.Pipe()
        self.channel = processes.Channel(mine, "a test pipe")  # pyright: ignore[reportArgumentType] -- typeshed: Windows
        self.channel.let_waiters_read()
        self.rids: list[int] = []

    def ask(self) -> SignallingFuture:
        """Send an ask; its request id is appended to `rids`."""
        future = SignallingFuture()
        self.channel.request(future, _wire.ASK, "urn", b"")
        self.rids.append(pickle.loads(self.theirs.recv_bytes())[1])
        return future

    def reply(self, rid: int, value: Any) -> None:
        frame = (_wire.REPLY, rid, True, pickle.dumps(value))
        self.theirs.send_bytes(pickle.dumps(frame))

    def close(self) -> None:
        self.channel.close()
        self.theirs.close()


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    pipe = Pipe()
    yield pipe
    pipe.close()


def completed_in(future: limelight.Future[Any]) -> list[threading.Thread]:
    """Where the thread that completes `future` will be recorded."""
    threads: list[threading.Thread] = []
    future._add_done_callback(lambda: threads.append(threading.current_thread()))
    return threads


def serve_in_background(channel: processes.Channel) -> threading.Thread:
    """The channel's background reader, as the pool runs it."""
    thread = threading.Thread(target=channel.serve, name="reader", daemon=True)
    thread.start()
    return thread


def led(channel: processes.Channel) -> bool:
    """Whether a thread has led since the background reader looked (read anew)."""
    return channel._led


def leader_waits(timeout: float | None) -> bool:
    """Whether a wait for the pipe is a leader's, with a timeout (not the reader's)."""
    return bool(timeout)


class SignallingFuture(processes.ProcessFuture[Any]):
    """A process future that says when its waiter starts to follow."""

    def __init__(self) -> None:
        super().__init__()
        self.following = threading.Event()

    def _follow(self, timeout: float | None) -> bool:
        self.following.set()
        return super()._follow(timeout)


def signal_on_wait(
    channel: processes.Channel, *, when: Callable[[float | None], bool]
) -> threading.Event:
    """An event set when a wait for the pipe for which `when(timeout)` holds begins."""
    began = threading.Event()
    ready = channel._ready

    def waiting(timeout: float | None) -> bool:
        if when(timeout):
            began.set()
        return ready(timeout)

    channel._ready = waiting
    return began


# -- Leading ---------------------------------------------------------------------


def test_the_waiting_thread_reads_its_reply_itself(pipe: Pipe) -> None:
    future = pipe.ask()
    threads = completed_in(future)
    pipe.reply(pipe.rids[0], "hello")
    # No background reader runs: only the waiting thread can read the reply.
    assert future.get(TIMEOUT) == "hello"
    assert threads == [threading.current_thread()]
    assert not pipe.channel._leading
    assert not pipe.channel._read_lock.locked()


def test_without_a_timeout_the_leader_waits_as_long_as_it_takes(pipe: Pipe) -> None:
    future = pipe.ask()
    pipe.reply(pipe.rids[0], 1)
    assert future.get() == 1


def test_the_leader_handles_the_frames_of_others_on_its_way(pipe: Pipe) -> None:
    first, second = pipe.ask(), pipe.ask()
    pipe.reply(pipe.rids[1], "second")
    pipe.reply(pipe.rids[0], "first")
    assert first.get(TIMEOUT) == "first"
    assert second._is_ready()  # it came first, and was handled on the way
    assert second.get(0) == "second"


def test_frames_are_handled_in_the_channels_context_not_the_waiters(
    pipe: Pipe,
) -> None:
    import contextvars  # noqa: PLC0415

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="none")
    var.set("the waiter's")
    future = pipe.ask()
    seen: list[str] = []
    future._add_done_callback(lambda: seen.append(var.get()))
    pipe.reply(pipe.rids[0], None)
    future.get(TIMEOUT)
    assert seen == ["none"]


def test_a_thread_finding_a_leader_follows_and_the_leader_completes_it(
    pipe: Pipe,
) -> None:
    first, second = pipe.ask(), pipe.ask()
    leading = signal_on_wait(pipe.channel, when=leader_waits)
    results: list[Any] = []
    leader = threading.Thread(target=lambda: results.append(first.get(TIMEOUT)))
    leader.start()
    assert leading.wait(TIMEOUT)
    assert pipe.channel._leading
    threads = completed_in(second)
    pipe.reply(pipe.rids[1], "second")  # the follower's reply comes first
    assert second.get(TIMEOUT) == "second"
    assert threads == [leader]  # read and handled by the leader
    pipe.reply(pipe.rids[0], "first")
    leader.join(TIMEOUT)
    assert results == ["first"]


def test_a_leader_that_times_out_lets_the_next_waiter_read(pipe: Pipe) -> None:
    future = pipe.ask()
    with pytest.raises(limelight.Timeout):
        future.get(0.01)
    assert not pipe.channel._read_lock.locked()
    pipe.reply(pipe.rids[0], "late")  # no frame was lost
    assert future.get(TIMEOUT) == "late"


def get_in_a_thread(
    future: limelight.Future[Any],
) -> tuple[threading.Thread, list[Any]]:
    """Wait for `future` in another thread; its outcome goes to the list."""
    outcome: list[Any] = []

    def wait() -> None:
        try:
            outcome.append(future.get(TIMEOUT))
        except Exception as exc:  # noqa: BLE001 -- the outcome, whatever it is
            outcome.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    return thread, outcome


def test_a_thread_that_cannot_take_the_read_lock_follows(pipe: Pipe) -> None:
    future = pipe.ask()
    # The background reader holds the lock while it handles a frame; here,
    # for longer than a waiter waits for it.
    with pipe.channel._read_lock:
        waiter, outcome = get_in_a_thread(future)
        assert future.following.wait(TIMEOUT)
        pipe.channel._on_reply(pipe.rids[0], True, pickle.dumps("from the holder"))
    waiter.join(TIMEOUT)
    assert outcome == ["from the holder"]


def test_the_background_reader_reads_when_nobody_leads(pipe: Pipe) -> None:
    reader = serve_in_background(pipe.channel)
    future = pipe.ask()
    threads = completed_in(future)
    done = threading.Event()
    future._add_done_callback(done.set)
    pipe.reply(pipe.rids[0], "read in the background")
    assert done.wait(TIMEOUT)
    assert threads == [reader]
    pipe.theirs.close()  # the end of the pipe ends the background reader
    reader.join(TIMEOUT)
    assert not reader.is_alive()


@pytest.mark.parametrize("reader", ["leader", "background"])
def test_a_frame_that_fails_is_logged_and_the_reading_goes_on(
    pipe: Pipe, reader: str, limelight_logs: pytest.LogCaptureFixture
) -> None:
    future = pipe.ask()
    threads = completed_in(future)
    pipe.theirs.send_bytes(pickle.dumps((99, "no such kind of frame")))
    pipe.reply(pipe.rids[0], "the frame after it")
    if reader == "leader":
        assert future.get(TIMEOUT) == "the frame after it"
        assert threads == [threading.current_thread()]
    else:
        background = serve_in_background(pipe.channel)
        assert future._follow(TIMEOUT)  # (waits without reading)
        assert threads == [background]
        assert future.get(0) == "the frame after it"
    assert "Handling a frame from a test pipe failed" in limelight_logs.text


def test_the_background_reader_skips_a_frame_a_leader_read(pipe: Pipe) -> None:
    channel = pipe.channel
    read_by_leader = threading.Event()
    ready = channel._ready
    woken: list[bool] = []

    def background_wait(timeout: float | None) -> bool:
        # The background reader's wait ends on a frame that the leader,
        # which waited at the same time, reads first.
        if timeout is None and not woken:
            woken.append(True)
            assert read_by_leader.wait(TIMEOUT)
            return True
        return ready(timeout)

    channel._ready = background_wait
    reader = serve_in_background(channel)
    future = pipe.ask()
    pipe.reply(pipe.rids[0], "mine")
    assert future.get(TIMEOUT) == "mine"
    read_by_leader.set()
    # The reader finds nothing to read, and reads on: the next frame.
    second = pipe.ask()
    done = threading.Event()
    second._add_done_callback(done.set)
    pipe.reply(pipe.rids[1], "next")
    assert done.wait(TIMEOUT)
    assert second.get(0) == "next"
    pipe.theirs.close()
    reader.join(TIMEOUT)


def test_a_leader_hands_over_at_once_when_other_asks_are_pending(
    pipe: Pipe,
) -> None:
    first, second = pipe.ask(), pipe.ask()
    pipe.reply(pipe.rids[0], 1)
    assert first.get(TIMEOUT) == 1
    assert not led(pipe.channel)  # the background reader reads on at once
    pipe.reply(pipe.rids[1], 2)
    assert second.get(TIMEOUT) == 2
    assert led(pipe.channel)  # nobody else waited: it may stand by


def test_the_background_reader_stands_by_after_a_leader_then_reads_on(
    pipe: Pipe,
) -> None:
    channel = pipe.channel
    future = pipe.ask()
    pipe.reply(pipe.rids[0], 1)
    assert future.get(TIMEOUT) == 1
    assert led(channel)
    reader = serve_in_background(channel)
    # A frame nobody waits for is read once the reader has stood by.
    watched = channel.remote_ref("urn:uuid:remote", limelight.Actor)
    pickle.loads(pipe.theirs.recv_bytes())  # its subscription
    frame = (_wire.TERMINATED, "urn:uuid:remote", "normal", pickle.dumps(None))
    pipe.theirs.send_bytes(pickle.dumps(frame))
    assert watched.termination().get(TIMEOUT).reason == "normal"
    assert not led(channel)
    pipe.theirs.close()
    reader.join(TIMEOUT)


def test_closing_wakes_a_background_reader_standing_by(pipe: Pipe) -> None:
    channel = pipe.channel
    channel._led = True
    standing_by = threading.Event()
    wait = channel._turn.wait
    woken: list[bool] = []

    def stand_by(timeout: float | None = None) -> bool:
        standing_by.set()
        woken.append(wait(TIMEOUT))  # as long as it takes: closing wakes it
        return woken[-1]

    channel._turn.wait = stand_by  # type: ignore[method-assign]
    reader = serve_in_background(channel)
    assert standing_by.wait(TIMEOUT)
    pipe.close()
    reader.join(TIMEOUT)
    assert not reader.is_alive()
    assert woken == [True]


def test_a_leader_meeting_the_end_of_the_pipe_lets_the_reader_close(
    pipe: Pipe,
) -> None:
    channel = pipe.channel
    future = pipe.ask()
    leading = signal_on_wait(channel, when=leader_waits)
    waiter, outcome = get_in_a_thread(future)
    assert leading.wait(TIMEOUT)
    pipe.theirs.close()  # the worker dies under the leader
    # The leader follows from now on; the reader meets the end and closes,
    # as Pool._read() does, which fails the pending asks.
    ended: list[bool] = []
    reader = threading.Thread(target=lambda: ended.append(channel.serve()))
    reader.start()
    reader.join(TIMEOUT)
    assert ended == [False]
    channel.close(limelight.ActorDeadError("the worker died"))
    waiter.join(TIMEOUT)
    assert [str(exc) for exc in outcome] == ["the worker died"]
    assert channel._ended
    # Later waiters follow at once.
    late: processes.ProcessFuture[Any] = processes.ProcessFuture()
    channel.request(late, _wire.ASK, "urn", b"")
    with pytest.raises(limelight.ActorDeadError):
        late.get(TIMEOUT)


def test_a_leader_whose_pipe_is_closed_here_follows(pipe: Pipe) -> None:
    future = pipe.ask()
    pipe.channel.conn.close()  # (as close() does, before failing the asks)
    waiter, outcome = get_in_a_thread(future)
    assert future.following.wait(TIMEOUT)
    assert pipe.channel._ended
    pipe.channel._on_reply(pipe.rids[0], True, pickle.dumps("completed by another"))
    waiter.join(TIMEOUT)
    assert outcome == ["completed by another"]


# -- Who may lead ----------------------------------------------------------------


def test_only_process_futures_learn_their_channel(pipe: Pipe) -> None:
    plain: SettableFuture[Any] = SettableFuture()
    pipe.channel.request(plain, _wire.ASK, "urn", b"")
    assert not hasattr(plain, "_channel")
    future = pipe.ask()
    assert future._channel is pipe.channel


def test_a_worker_channel_is_not_led() -> None:
    mine, theirs = multiprocessing.Pipe()
    channel = processes.Channel(mine, "a worker's pipe")  # pyright: ignore[reportArgumentType] -- typeshed: Windows
    try:
        future: processes.ProcessFuture[Any] = processes.ProcessFuture()
        channel.request(future, _wire.ASK, "urn", b"")
        assert not hasattr(future, "_channel")
        rid = pickle.loads(theirs.recv_bytes())[1]
        theirs.send_bytes(pickle.dumps((_wire.REPLY, rid, True, b"")))
        with pytest.raises(limelight.Timeout):  # nobody reads: not the waiter
            future.get(0.01)
    finally:
        channel.close()
        theirs.close()


def test_an_event_loop_thread_never_reads_the_pipe(pipe: Pipe) -> None:
    future = pipe.ask()
    pipe.reply(pipe.rids[0], "there")

    async def blocking_get() -> None:
        with pytest.raises(limelight.Timeout):
            future.get(0.01)

    asyncio.run(blocking_get())
    assert not future._is_ready()


def test_a_process_future_is_awaited_without_reading_the_pipe(pipe: Pipe) -> None:
    reader = serve_in_background(pipe.channel)
    future = pipe.ask()
    threads = completed_in(future)

    async def main() -> Any:
        asyncio.get_running_loop().call_soon(pipe.reply, pipe.rids[0], "awaited")
        return await future

    assert asyncio.run(main()) == "awaited"
    assert threads == [reader]
    pipe.theirs.close()
    reader.join(TIMEOUT)


def test_greenlets_wait_their_own_way(pipe: Pipe) -> None:
    future = pipe.ask()
    pipe.reply(pipe.rids[0], "there")

    def green_waiter() -> threading.Semaphore:
        return threading.Semaphore(0)  # (as a greenlet's waiter would park)

    _waiting.register_waiter_factory(green_waiter)
    try:
        with pytest.raises(limelight.Timeout):  # nobody reads: not the greenlet
            future.get(0.01)
    finally:
        _waiting.unregister_waiter_factory(green_waiter)
    assert future.get(TIMEOUT) == "there"


def test_a_thread_leads_even_where_a_greenlet_runtime_is_installed(
    pipe: Pipe,
) -> None:
    def no_hub_here() -> None:
        return None  # (as a greenlet runtime's factory says in a plain thread)

    _waiting.register_waiter_factory(no_hub_here)
    try:
        future = pipe.ask()
        pipe.reply(pipe.rids[0], "read by the thread")
        assert future.get(TIMEOUT) == "read by the thread"
    finally:
        _waiting.unregister_waiter_factory(no_hub_here)


# -- With workers ----------------------------------------------------------------


def test_asks_from_many_threads_at_once() -> None:
    limelight.process.configure(processes=1)
    ref = Counter.start()
    barrier = threading.Barrier(4)
    results: dict[int, list[int]] = {}

    def ask_many(n: int) -> None:
        barrier.wait(TIMEOUT)
        results[n] = [ref.ask(n * 1000 + i, timeout=TIMEOUT) for i in range(200)]

    threads = [threading.Thread(target=ask_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert results == {n: [n * 1000 + i for i in range(200)] for n in range(4)}


def test_a_worker_killed_under_a_leader_fails_its_ask() -> None:
    limelight.process.configure(processes=1)
    ref = Counter.start()
    pid = ref.ask("pid", timeout=TIMEOUT)
    assert isinstance(ref, processes.RemoteRef)
    channel = ref._transport
    assert isinstance(channel, processes.Channel)
    leading = signal_on_wait(channel, when=leader_waits)
    pending = ref.proxy().sleep(TIMEOUT)
    waiter, outcome = get_in_a_thread(pending)
    assert leading.wait(TIMEOUT)
    os.kill(pid, signal.SIGKILL)
    waiter.join(TIMEOUT)
    assert not waiter.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], limelight.ActorDeadError)
    assert "killed by signal 9" in str(outcome[0])


def test_ctrl_c_while_a_leader_handles_a_frame_waits_until_the_frame_is_done(
    pipe: Pipe,
) -> None:
    # The main thread leads; Ctrl-C comes while it handles another ask's reply
    # (raised here by that future's callback). Cut short there, the frame
    # would be half handled, or the pipe half read: it is raised after.
    other, mine = pipe.ask(), pipe.ask()
    other._add_done_callback(lambda: signal.raise_signal(signal.SIGINT))
    pipe.reply(pipe.rids[0], "other's")

    with pytest.raises(KeyboardInterrupt):
        mine.get(TIMEOUT)

    assert other.get(0) == "other's"
    assert not pipe.channel._read_lock.locked()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    pipe.reply(pipe.rids[1], "mine")  # the pipe is still in step
    assert mine.get(TIMEOUT) == "mine"


def test_ctrl_c_while_a_leader_waits_for_data_is_raised_at_once(pipe: Pipe) -> None:
    future = pipe.ask()
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()

    with pytest.raises(KeyboardInterrupt):
        future.get(TIMEOUT)  # would wait the whole timeout if the interrupt were held

    timer.join()
    pipe.reply(pipe.rids[0], "late")
    assert future.get(TIMEOUT) == "late"
