"""How frames cross a process actor's pipe, and how an ask from the pipe is answered.

A channel reads and writes the pipe's descriptor itself, in the format of
``multiprocessing.Connection`` (so the test plays the other end with one);
plain messages and values travel in the frame itself; and the answer to an
ask that came through the pipe is sent by whoever completes its `_Reply`.
Most tests here play the other process by hand; the first uses a real
worker, and shuts it down.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import struct
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

import limelight
import limelight.process
from limelight._core import _context
from limelight._core._registry import ActorRegistry
from limelight._remote._ref import RemoteRef
from limelight._runtimes import processes
from limelight._runtimes.processes import _wire
from tests.process_actors import Counter
from tests.test_process_leading import Pipe as LeadablePipe

TIMEOUT = 60.0
"""Generous: other test runs share this machine's two cores."""


class Pipe(LeadablePipe):
    """A channel, and the other end of its pipe, played by the test."""

    def frame(self) -> tuple[Any, ...]:
        """The next frame the channel sent."""
        assert self.theirs.poll(TIMEOUT)
        frame: tuple[Any, ...] = pickle.loads(self.theirs.recv_bytes())
        return frame

    def error(self, rid: int) -> BaseException:
        """The exception the channel sent as the reply to `rid`."""
        kind, replied_to, ok, payload = self.frame()
        assert (kind, replied_to, ok) == (_wire.REPLY, rid, False)
        error = pickle.loads(payload)
        assert isinstance(error, BaseException)
        return error


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    pipe = Pipe()
    yield pipe
    pipe.close()


class Gate(limelight.ThreadingActor):
    """An actor in this process, asked through the pipe."""

    def on_receive(self, message: Any) -> Any:
        return ("gate", message)


@pytest.fixture
def gate() -> Iterator[limelight.ActorRef[Gate]]:
    ref = Gate.start()
    yield ref
    ref.stop()


class FakeInbox:
    """An inbox whose put() does something first: fail, or stop the actor."""

    def __init__(self, before_put: Callable[[], None]) -> None:
        self.before_put = before_put
        self.queued: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def put(self, envelope: Any) -> None:
        self.before_put()
        self.queued.put(envelope)

    def get_nowait(self) -> Any:
        return self.queued.get_nowait()

    def empty(self) -> bool:
        return self.queued.empty()


@contextlib.contextmanager
def registered(ref: limelight.ActorRef[Any]) -> Generator[None]:
    ActorRegistry.register(ref)
    try:
        yield
    finally:
        ActorRegistry.unregister(ref)


def _remote(pipe: Pipe, urn: str) -> processes.RemoteRef:
    """A ref in this process to `urn` (its own channel is never read)."""
    return RemoteRef(pipe.channel, urn, limelight.Actor, processes.ProcessFuture)


# -- Through a worker ------------------------------------------------------------------


def test_long_messages_and_replies_cross() -> None:
    long = bytes(range(256)) * 400  # over _SHORT_FRAME: written by the Connection
    assert len(long) > _wire.SHORT_FRAME
    try:
        ref = Counter.start()
        assert ref.ask(long, timeout=TIMEOUT) == long
        assert ref.ask(("short", 1), timeout=TIMEOUT) == ("short", 1)
    finally:
        limelight.process.shutdown(timeout=TIMEOUT)
    assert limelight.process.workers() == []


# -- Reading and writing the pipe ------------------------------------------------------


def test_a_frame_read_in_pieces(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_3(fd: int, n: int) -> bytes:
        return os.read(fd, min(n, 3))

    monkeypatch.setattr(_wire, "_read", read_3)
    pipe.theirs.send_bytes(b"in pieces")
    assert _wire.read_frame(pipe.channel._fd) == b"in pieces"


def test_a_pipe_that_ends_within_a_frame(pipe: Pipe) -> None:
    os.write(pipe.theirs.fileno(), struct.pack("!i", 10) + b"short")
    pipe.theirs.close()
    with pytest.raises(EOFError):
        _wire.read_frame(pipe.channel._fd)


def test_a_frame_with_a_long_length(pipe: Pipe) -> None:
    # (How a Connection sends a frame past 2 GiB: its length after a -1.)
    data = b"as if long"
    header = struct.pack("!i", -1) + struct.pack("!Q", len(data))
    os.write(pipe.theirs.fileno(), header + data)
    assert _wire.read_frame(pipe.channel._fd) == data


def test_a_write_cut_short(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    def write_5(fd: int, data: bytes) -> int:
        return os.write(fd, data[:5])

    monkeypatch.setattr(_wire, "_write", write_5)
    pipe.channel.send((_wire.TELL_PLAIN, "urn", "cut in pieces"))
    assert pipe.frame() == (_wire.TELL_PLAIN, "urn", "cut in pieces")


def test_plain_messages_travel_in_the_frame(pipe: Pipe) -> None:
    ref = _remote(pipe, "urn:uuid:there")
    ref.tell(("plain", 1))
    assert pipe.frame() == (_wire.TELL_PLAIN, "urn:uuid:there", ("plain", 1))
    future = ref.ask(2.5, block=False)
    kind, rid, urn, message = pipe.frame()
    assert (kind, urn, message) == (_wire.ASK_PLAIN, "urn:uuid:there", 2.5)
    reply = (_wire.REPLY_PLAIN, rid, "two and a half")
    pipe.theirs.send_bytes(pickle.dumps(reply))
    pipe.channel._handle(pickle.loads(_wire.read_frame(pipe.channel._fd)))
    assert future.get(TIMEOUT) == "two and a half"
    pipe.channel._on_reply_plain(rid, "again")  # a reply nobody waits for any more


# -- Asks that come through the pipe ---------------------------------------------------


def test_an_ask_is_answered_by_the_actors_thread(
    pipe: Pipe, gate: limelight.ActorRef[Gate]
) -> None:
    pipe.channel._on_ask_plain(7, gate.actor_urn, "hello")
    assert pipe.frame() == (_wire.REPLY_PLAIN, 7, ("gate", "hello"))


def test_an_ask_with_propagated_context(
    pipe: Pipe, gate: limelight.ActorRef[Gate], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_context, "propagating", True)
    pipe.channel._on_ask_plain(8, gate.actor_urn, "wrapped")
    assert pipe.frame() == (_wire.REPLY_PLAIN, 8, ("gate", "wrapped"))


def test_an_ask_of_nobody(pipe: Pipe) -> None:
    pipe.channel._on_ask_plain(9, "urn:uuid:nobody", "anyone?")
    error = pipe.error(9)
    assert isinstance(error, limelight.ActorDeadError)
    assert "not found" in str(error)


def test_an_ask_of_an_actor_marked_stopped(pipe: Pipe) -> None:
    # (As between kill() marking an actor stopped and unregistering it.)
    ref = _remote(pipe, "urn:uuid:marked")
    ref.actor_stopped.set()
    with registered(ref):
        pipe.channel._on_ask_plain(10, ref.actor_urn, "too late")
    assert isinstance(pipe.error(10), limelight.ActorDeadError)


def test_an_ask_refused_by_the_mailbox(pipe: Pipe) -> None:
    def refuse() -> None:
        raise limelight.MailboxFull("full")

    ref = _remote(pipe, "urn:uuid:full")
    ref.actor_inbox = FakeInbox(refuse)  # type: ignore[assignment]
    with registered(ref):
        pipe.channel._on_ask_plain(11, ref.actor_urn, "one more")
    assert isinstance(pipe.error(11), limelight.MailboxFull)


def test_an_ask_to_an_actor_that_stops_as_it_goes_in(pipe: Pipe) -> None:
    ref = _remote(pipe, "urn:uuid:stopping")

    def stop() -> None:
        ref.actor_stopped.set()

    ref.actor_inbox = FakeInbox(stop)  # type: ignore[assignment]
    with registered(ref):
        pipe.channel._on_ask_plain(12, ref.actor_urn, "in the door")
    error = pipe.error(12)
    assert isinstance(error, limelight.ActorDeadError)
    assert "stopped before handling" in str(error)


def test_a_reply_to_a_process_gone(pipe: Pipe) -> None:
    pipe.channel.close()
    pipe.channel.send_value(13, "nobody hears it")  # (and says nothing)
    pipe.channel.send_error(14, ValueError("nor this"), "urn:uuid:any")
