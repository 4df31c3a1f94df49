"""limelight.observe: snapshots' details, context in coroutines, the endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import json
import math
import os
import queue
import select
import socket
import stat
import tempfile
import threading
import time
import weakref
from collections.abc import Generator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

import limelight
import limelight.asyncio
import limelight.observe
from limelight import _endpoint
from limelight._core import _observe
from limelight._core._context import InContext, run_coroutine_in, unwrap, wrap
from limelight._core._timers import Timer, TimerTick
from limelight.messages import ProxyCall, ProxyGetAttr, ProxySetAttr, _ActorStop
from limelight.testing import ManualActor
from tests.conformance.actors import TIMEOUT, Recorder
from tests.conformance.test_observe import request_id, wait_for_info
from tests.test_examples import python

# -- Snapshots ----------------------------------------------------------------


class Waiter(limelight.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        other: limelight.ActorRef[Any] = message
        return other.ask("anything", timeout=TIMEOUT)


class Gate(limelight.ThreadingActor):
    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def on_receive(self, message: Any) -> Any:
        return self.gate.wait(TIMEOUT)


def test_an_actor_blocked_on_an_ask_shows_whom_it_waits_for() -> None:
    gate = threading.Event()
    producer = Gate.start(gate)
    waiter = Waiter.start()
    reply = waiter.ask(producer, block=False)
    try:
        info = wait_for_info(waiter, lambda info: info.waits_for is not None)
        assert info.waits_for == producer.actor_urn
    finally:
        gate.set()
    assert reply.get(TIMEOUT) is True


class Child(Recorder, limelight.ThreadingActor):
    pass


def test_supervised_children_show_their_supervisor_and_restarts() -> None:
    supervisor = limelight.Supervisor.start(
        [limelight.ChildSpec("worker", Child, args=([],))]
    )
    first = supervisor.proxy().child("worker").get(TIMEOUT)
    info = wait_for_info(first, lambda info: True)
    assert (info.child_name, info.restarts) == ("worker", 0)
    assert info.supervisor == supervisor.actor_urn
    assert wait_for_info(supervisor, lambda info: True).supervisor is None

    first.tell(("fail", "boom"))

    deadline = time.monotonic() + TIMEOUT
    while True:
        later = next(
            (info for info in limelight.observe.snapshot() if info.restarts == 1),
            None,
        )
        if later is not None:
            break
        assert time.monotonic() < deadline, "no restarted child seen"
        time.sleep(0.005)
    assert later.child_name == "worker"
    assert later.urn != first.actor_urn


def test_a_child_unknown_to_its_supervisor_has_no_name() -> None:
    supervisor = limelight.Supervisor.start(
        [limelight.ChildSpec("other", Child, args=([],))]
    )
    assert supervisor.proxy().child("other").get(TIMEOUT) is not None
    loner = Child.start([])
    loner._owner = supervisor
    assert _observe._child_of(supervisor, loner) == (None, 0)
    gone: Any = type("Gone", (), {"_actor_weakref": staticmethod(lambda: None)})()
    assert _observe._child_of(gone, loner) == (None, 0)


def test_rates_count_messages_over_the_recent_window() -> None:
    urn = "urn:test:rate"
    try:
        assert _observe._rate(urn, 100.0, 0, 100.0) == 0.0  # no time passed
        assert _observe._rate(urn, 101.0, 10, 100.0) == 10.0  # since the first sample
        assert _observe._rate(urn, 102.0, 30, 100.0) == 15.0  # 30 in 2 s
        later = 102.0 + _observe.RATE_WINDOW + 1
        assert _observe._rate(urn, later, 30, 100.0) == 0.0  # old samples dropped
    finally:
        _observe._samples.pop(urn, None)


def test_snapshots_in_quick_succession_keep_few_rate_samples() -> None:
    # A client that snapshots in a loop must not make the memory of rates
    # grow with its speed: a sample is kept at most every RATE_WINDOW / 20.
    urn = "urn:test:rate"
    step = _observe.RATE_WINDOW / 1000
    try:
        for i in range(1000):
            _observe._rate(urn, 100.0 + i * step, i, 100.0)
        assert len(_observe._samples[urn]) == 20
    finally:
        _observe._samples.pop(urn, None)


def test_rate_samples_of_ended_actors_are_dropped() -> None:
    ref = Child.start([])
    wait_for_info(ref, lambda info: True)
    assert ref.actor_urn in _observe._samples
    ref.stop()
    limelight.observe.snapshot()
    assert ref.actor_urn not in _observe._samples


def test_an_inbox_that_cannot_tell_has_no_depth() -> None:
    class Forwarding:
        def qsize(self) -> int | None:
            return None

    assert _observe.mailbox_depth(cast("Any", Forwarding())) is None
    assert _observe.mailbox_depth(queue.SimpleQueue[Any]()) == 0


def test_a_bounded_threading_actors_mailbox_depth_is_read() -> None:
    class Bounded(Gate):
        mailbox_capacity = 5

    gate = threading.Event()
    ref = Bounded.start(gate)
    try:
        for _ in range(3):
            ref.tell("x")
        wait_for_info(ref, lambda info: info.mailbox == 2)
    finally:
        gate.set()


# -- Context propagation: the parts no runtime-neutral test reaches -------------


def test_only_messages_that_are_not_system_ones_are_wrapped() -> None:
    stop = _ActorStop()
    assert wrap(stop) is stop
    wrapped = wrap("hello")
    assert isinstance(wrapped, InContext)
    assert repr(wrapped) == "'hello'"
    assert unwrap(wrapped) == "hello"
    assert unwrap("plain") == "plain"


class Steps:
    """An awaitable yielding `count` times, to drive a stepped coroutine by hand."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __await__(self) -> Generator[str, Any, list[Any]]:
        got: list[Any] = []
        for _ in range(self.count):
            got.append((yield "step"))
        return got


def test_a_coroutine_runs_each_step_in_the_given_context() -> None:
    context = contextvars.copy_context()
    context.run(request_id.set, "inside")

    async def read() -> tuple[str, list[Any], str]:
        before = request_id.get()
        got = await Steps(2)
        request_id.set("changed")
        return before, got, request_id.get()

    stepped = run_coroutine_in(read(), context)
    assert stepped.send(None) == "step"
    assert stepped.send(1) == "step"
    with pytest.raises(StopIteration) as stop:
        stepped.send(2)
    assert stop.value.value == ("inside", [1, 2], "changed")
    assert request_id.get() == "none"
    assert context[request_id] == "changed"


def test_an_exception_thrown_into_a_stepped_coroutine_reaches_it() -> None:
    async def catch() -> str:
        try:
            await Steps(1)
        except ValueError as exc:
            return f"caught {exc}"
        return "not thrown"  # pragma: no cover -- the test throws

    stepped = run_coroutine_in(catch(), contextvars.copy_context())
    stepped.send(None)
    with pytest.raises(StopIteration) as stop:
        stepped.throw(ValueError("oops"))
    assert stop.value.value == "caught oops"


def test_closing_a_stepped_coroutine_closes_the_inner_one() -> None:
    closed: list[bool] = []

    async def body() -> None:
        try:
            await Steps(1)
        finally:
            closed.append(True)

    stepped = run_coroutine_in(body(), contextvars.copy_context())
    stepped.send(None)
    stepped.close()
    assert closed == [True]


def test_timer_ticks_keep_their_mailbox_mark_with_propagation_on() -> None:
    tick = TimerTick(cast("Timer", None), "tick")  # (only its class matters)

    assert wrap(tick) is tick  # so a full mailbox refuses it, never waiting


class AsyncReader(limelight.asyncio.AsyncioActor):
    async def on_receive(self, message: Any) -> Any:
        await asyncio.sleep(0)
        seen = request_id.get()
        await asyncio.sleep(0)
        return seen, request_id.get()


def test_an_async_handler_runs_in_the_senders_context() -> None:
    before = limelight.observe.propagate_context()
    try:
        ref = AsyncReader.start()
        token = request_id.set("async")
        try:
            assert ref.ask("go", timeout=TIMEOUT) == ("async", "async")
        finally:
            request_id.reset(token)
    finally:
        limelight.observe.propagate_context(before)


# -- The endpoint ----------------------------------------------------------------


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[limelight.observe.Endpoint]:
    with limelight.observe.serve(tmp_path / "top.sock") as served:
        yield served


def test_the_endpoint_serves_snapshots_to_its_owner_only(
    endpoint: limelight.observe.Endpoint,
) -> None:
    ref = Child.start([])
    mode = endpoint.path.stat().st_mode

    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    document = _endpoint.fetch(endpoint.path)
    assert document["version"] == _endpoint.PROTOCOL_VERSION
    assert document["pid"] == os.getpid()
    assert ref.actor_urn in [actor["urn"] for actor in document["actors"]]
    assert "serving" in repr(endpoint)


def test_closing_the_endpoint_removes_its_socket(tmp_path: Path) -> None:
    served = limelight.observe.serve(tmp_path / "top.sock")
    served.close()
    served.close()  # twice: harmless

    assert not served.path.exists()
    assert "closed" in repr(served)
    with pytest.raises(OSError):  # noqa: PT011 -- refused or not found
        _endpoint.fetch(served.path)


def _socket_inodes() -> set[str]:
    inodes: set[str] = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since listed
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _listening_inet_inodes() -> set[str]:
    listening: set[str] = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                listening.add(fields[9])
    return listening


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")
def test_serving_opens_no_listening_tcp_socket(tmp_path: Path) -> None:
    # (Not the process's listeners from before, such as the Ray driver's
    # once a Ray test of the session has started Ray.)
    before = _socket_inodes() & _listening_inet_inodes()
    with limelight.observe.serve(tmp_path / "top.sock") as endpoint:
        ours = _socket_inodes()
        unix_table = Path("/proc/self/net/unix").read_text()
        listening = _listening_inet_inodes()

    assert str(endpoint.path) in unix_table  # (the inspection sees our sockets)
    assert (ours & listening) - before == set()
    # The check itself works: a TCP listener of ours is seen.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        assert (_socket_inodes() & _listening_inet_inodes()) - before


def test_the_default_path_is_in_the_users_runtime_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    path = limelight.observe.default_socket_path()
    assert path == tmp_path / "limelight" / f"{os.getpid()}.sock"
    assert limelight.observe.default_socket_path(42).name == "42.sock"

    with limelight.observe.serve() as served:
        assert served.path == path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert _endpoint.fetch(path)["pid"] == os.getpid()
    with limelight.observe.serve() as again:  # the directory exists now: reused
        assert again.path == path


def test_without_a_runtime_directory_the_default_is_in_tempdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    path = limelight.observe.default_socket_path()

    assert path == tmp_path / f"limelight-{os.getuid()}" / f"{os.getpid()}.sock"


def test_a_shared_default_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "limelight").mkdir()
    (tmp_path / "limelight").chmod(0o777)

    with pytest.raises(PermissionError, match="writable only by it"):
        limelight.observe.serve()


def test_a_stale_socket_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "top.sock"
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(str(path))
    with limelight.observe.serve(path) as served:
        assert _endpoint.fetch(served.path)["pid"] == os.getpid()


def test_a_path_that_cannot_be_bound_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        limelight.observe.serve(tmp_path / "missing" / "top.sock")


def test_a_client_that_leaves_early_does_not_stop_the_endpoint(
    endpoint: limelight.observe.Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    left = threading.Event()
    sent = threading.Event()

    def slow_encode() -> bytes:
        assert left.wait(TIMEOUT)
        sent.set()
        return b"x" * (1 << 22)  # more than the socket buffer holds

    monkeypatch.setattr(_endpoint, "encode_snapshot", slow_encode)
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(endpoint.path))
    left.set()
    assert sent.wait(TIMEOUT)
    monkeypatch.undo()

    assert _endpoint.fetch(endpoint.path)["pid"] == os.getpid()


LARGE = 1 << 22
"""Bytes of a large snapshot: more than a socket's buffers hold."""


def _large_snapshot() -> bytes:
    return json.dumps({"padding": "x" * LARGE}).encode() + b"\n"


def _read_to_the_end(client: socket.socket) -> bytes:
    client.settimeout(TIMEOUT)
    chunks: list[bytes] = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _hung_up_on(client: socket.socket) -> bool:
    """Wait until the endpoint has closed its end of `client`'s connection."""
    poll = select.poll()
    poll.register(client, select.POLLRDHUP)
    return bool(poll.poll(TIMEOUT * 1000))


needs_rdhup = pytest.mark.skipif(
    not hasattr(select, "POLLRDHUP"), reason="needs Linux poll() (POLLRDHUP)"
)


def test_clients_that_never_read_delay_no_other_client(
    endpoint: limelight.observe.Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = _endpoint.encode_snapshot
    served: queue.SimpleQueue[None] = queue.SimpleQueue()

    def large_snapshot() -> bytes:
        document = json.loads(encoded())
        document["padding"] = "x" * LARGE
        served.put(None)
        return json.dumps(document).encode() + b"\n"

    monkeypatch.setattr(_endpoint, "encode_snapshot", large_snapshot)
    with contextlib.ExitStack() as idle_clients:
        for _ in range(3):
            idle = idle_clients.enter_context(socket.socket(socket.AF_UNIX))
            idle.connect(str(endpoint.path))
            idle.sendall(b'{"request": "snapshot"}\n')  # and never reads
        started = time.monotonic()
        document = _endpoint.fetch(endpoint.path, timeout=_endpoint.SEND_TIMEOUT / 2)
        elapsed = time.monotonic() - started

    assert document["pid"] == os.getpid()
    assert len(document["padding"]) == LARGE
    # Served after the idle clients (a listener hands out connections in
    # order), and without waiting for them to be hung up on.
    assert served.qsize() == 4
    assert elapsed < _endpoint.SEND_TIMEOUT


@needs_rdhup
def test_a_client_that_does_not_read_in_time_is_hung_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_endpoint, "encode_snapshot", _large_snapshot)
    with (
        limelight.observe.serve(tmp_path / "top.sock", send_timeout=0.05) as endpoint,
        socket.socket(socket.AF_UNIX) as idle,
    ):
        idle.connect(str(endpoint.path))

        assert _hung_up_on(idle)
        assert len(_read_to_the_end(idle)) < LARGE  # (what the buffers held)


@needs_rdhup
def test_one_client_too_many_hangs_up_on_the_oldest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_endpoint, "encode_snapshot", _large_snapshot)
    monkeypatch.setattr(_endpoint, "MAX_SENDING", 2)
    with (
        socket.socket(socket.AF_UNIX) as oldest,
        socket.socket(socket.AF_UNIX) as idle,
        limelight.observe.serve(tmp_path / "top.sock") as endpoint,
    ):
        oldest.connect(str(endpoint.path))
        idle.connect(str(endpoint.path))  # still being sent to as the endpoint closes

        document = _endpoint.fetch(endpoint.path)

        assert len(document["padding"]) == LARGE
        assert _hung_up_on(oldest)
        assert len(_read_to_the_end(oldest)) < LARGE


def test_the_send_timeout_is_checked_and_infinity_is_no_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "top.sock"
    with pytest.raises(TypeError, match=r"^send_timeout must be a number of seconds"):
        limelight.observe.serve(path, send_timeout="10")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match=r"^send_timeout must be .* not NaN$"):
        limelight.observe.serve(path, send_timeout=math.nan)
    assert not path.exists()  # (refused before anything was made)
    with limelight.observe.serve(path, send_timeout=None) as endpoint:
        assert endpoint.send_timeout is None

    monkeypatch.setattr(_endpoint, "encode_snapshot", _large_snapshot)
    with (
        socket.socket(socket.AF_UNIX) as idle,
        limelight.observe.serve(path, send_timeout=math.inf) as endpoint,
    ):
        assert endpoint.send_timeout is None
        idle.connect(str(endpoint.path))  # and never reads, for as long as it likes

        assert len(_endpoint.fetch(endpoint.path)["padding"]) == LARGE


# -- Requests: the current message, stacks -----------------------------------------


class Blocked(limelight.ThreadingActor):
    """Handles `play()` by waiting for `release`, once it has set `entered`."""

    def __init__(self, entered: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.entered = entered
        self.release = release

    def play(self) -> None:
        self.entered.set()
        self.release.wait(TIMEOUT)


class BlockedOnALoop(limelight.asyncio.AsyncioActor):
    """`wait_async()` awaits an asyncio event; `wait_blocking()` blocks the loop."""

    def __init__(self, entered: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.entered = entered
        self.release = release
        self.awaited = asyncio.Event()

    async def wait_async(self) -> None:
        # (Said once suspended on the event, so that the stack read from
        # another thread is the suspended one: the callback runs only after
        # this task has yielded to the loop.)
        asyncio.get_running_loop().call_soon(self.entered.set)
        await self.awaited.wait()

    def wait_blocking(self) -> None:
        self.entered.set()
        self.release.wait(TIMEOUT)


@pytest.fixture
def events() -> Iterator[tuple[threading.Event, threading.Event]]:
    entered, release = threading.Event(), threading.Event()
    yield entered, release
    release.set()


def test_a_snapshot_names_the_message_being_handled(
    events: tuple[threading.Event, threading.Event],
) -> None:
    entered, release = events
    ref = Blocked.start(entered, release)
    ref.proxy().play()
    assert entered.wait(TIMEOUT)

    (info,) = [i for i in limelight.observe.snapshot() if i.urn == ref.actor_urn]

    assert info.current_message == "ask: play()"
    release.set()
    wait_for_info(ref, lambda info: info.current_message is None)


def test_messages_are_described_by_kind_and_class() -> None:
    describe = _observe.describe_message
    assert describe(None) is None
    assert describe("bare") == "tell: str"
    assert describe(({"a": 1}, None)) == "tell: dict"
    assert describe((3, limelight.ThreadingFuture[int]())) == "ask: int"
    call = ProxyCall(attr_path=("player", "play"), args=(), kwargs={})
    assert describe((call, None)) == "tell: player.play()"
    assert describe(ProxyGetAttr(attr_path=("volume",))) == "tell: get volume"
    set_volume = ProxySetAttr(attr_path=("volume",), value=3)
    assert describe((set_volume, object())) == "ask: set volume"


def test_a_stuck_thread_actors_stack_is_served(
    endpoint: limelight.observe.Endpoint,
    events: tuple[threading.Event, threading.Event],
) -> None:
    entered, release = events
    ref = Blocked.start(entered, release)
    ref.proxy().play()
    assert entered.wait(TIMEOUT)

    answer = _endpoint.fetch_stack(endpoint.path, ref.actor_urn)

    assert answer["urn"] == ref.actor_urn
    assert answer["pid"] == os.getpid()
    assert answer["note"].startswith("thread ")
    assert "in play\n    self.release.wait(TIMEOUT)" in answer["stack"]


def test_an_async_handlers_stack_is_its_tasks(
    events: tuple[threading.Event, threading.Event],
) -> None:
    entered, _ = events
    ref = BlockedOnALoop.start(entered, threading.Event())
    proxy = ref.proxy()
    waiting = proxy.wait_async()
    assert entered.wait(TIMEOUT)

    stack, note = _endpoint.actor_stack(ref.actor_urn)

    assert note == "its task"
    assert stack is not None
    assert "in wait_async\n    await self.awaited.wait()" in stack
    # (Not a message: the actor handles none while its handler awaits.)
    actor = cast("BlockedOnALoop", ref._actor_weakref())
    actor.actor_inbox.loop.call_soon_threadsafe(actor.awaited.set)  # type: ignore[attr-defined]
    waiting.get(TIMEOUT)
    ref.stop()


def test_a_handler_blocking_its_loop_shows_the_loops_thread(
    events: tuple[threading.Event, threading.Event],
) -> None:
    entered, release = events
    ref = BlockedOnALoop.start(entered, release)
    waiting = ref.proxy().wait_blocking()
    assert entered.wait(TIMEOUT)

    stack, note = _endpoint.actor_stack(ref.actor_urn)

    assert note.startswith("its event loop's thread")
    assert stack is not None
    assert "in wait_blocking" in stack
    release.set()
    waiting.get(TIMEOUT)
    ref.stop()


def test_stacks_that_cannot_be_shown_say_why() -> None:
    ref = ManualActor.start()
    assert _endpoint.actor_stack("urn:uuid:nobody") == (
        None,
        "no live actor urn:uuid:nobody in this process",
    )
    assert _endpoint.actor_stack(ref.actor_urn) == (
        None,
        "stacks are shown for thread and asyncio actors only",
    )
    actor = ref._actor_weakref()
    assert actor is not None
    actor._limelight_thread_ident = -1  # a thread that is no more
    assert _endpoint.actor_stack(ref.actor_urn) == (None, "its thread has ended")
    stopped_loop = SimpleNamespace(_task=None, loop=SimpleNamespace())
    assert _endpoint._loop_stack(stopped_loop) == (
        None,
        "its event loop is not running",
    )
    ref.stop()


def _exchange(path: Path, request: bytes, *, shut: bool = False) -> Any:
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(path))
        client.sendall(request)
        if shut:
            client.shutdown(socket.SHUT_WR)
        return json.loads(_read_to_the_end(client))


def test_requests_that_are_not_understood_are_answered_with_an_error(
    endpoint: limelight.observe.Endpoint,
) -> None:
    def error(request: bytes) -> str:
        answer = _exchange(endpoint.path, request)
        assert answer["pid"] == os.getpid()
        return cast("str", answer["error"])

    assert error(b"{oops\n") == "the request is not JSON"
    assert error(b"[1]\n") == "the request is not a JSON object"
    assert error(b'{"request": "stack"}\n') == 'not a request: {"request": "stack"}'
    assert error(b"x" * (_endpoint.MAX_REQUEST + 1)) == "the request is too long"


def test_clients_of_the_first_protocol_still_get_the_snapshot(
    endpoint: limelight.observe.Endpoint,
) -> None:
    # Sending nothing at all, or shutting down without a request.
    assert _exchange(endpoint.path, b"")["pid"] == os.getpid()
    assert "actors" in _exchange(endpoint.path, b"", shut=True)
    # A request never finished: the snapshot, once the endpoint stops waiting.
    assert "actors" in _exchange(endpoint.path, b'{"request": ')


@contextlib.contextmanager
def one_connection(path: Path, answer: bytes) -> Generator[None]:
    """Within: an endpoint at `path` that sends `answer` and reads nothing.

    It keeps the connection until the client's request is there, unread,
    and then hangs up: the client's reads end in ECONNRESET, not at the end
    of the stream.
    """
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        listener.listen()

        def serve_once() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(answer)
                select.select([connection], [], [], TIMEOUT)

        server = threading.Thread(target=serve_once)
        server.start()
        try:
            yield
        finally:
            server.join()


def test_an_endpoint_of_the_first_protocol_is_still_read(tmp_path: Path) -> None:
    # As Limelight's endpoints were: answer at once, read nothing, hang up.
    path = tmp_path / "old.sock"
    with one_connection(path, b'{"pid": 1, "actors": []}\n'):
        document = _endpoint.fetch(path)

    assert document == {"pid": 1, "actors": []}


def test_a_reset_before_any_answer_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rude.sock"
    with one_connection(path, b""), pytest.raises(ConnectionResetError):
        _endpoint.fetch(path)


def test_an_endpoint_that_answers_no_stacks_is_an_error(
    endpoint: limelight.observe.Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    def only_snapshots(_line: bytes) -> bytes:
        return _endpoint.encode_snapshot()

    monkeypatch.setattr(_endpoint, "answer", only_snapshots)

    with pytest.raises(OSError, match="answers no stack requests"):
        _endpoint.fetch_stack(endpoint.path, "urn:uuid:anyone")


def test_the_endpoint_is_closed_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "exit.sock"
    result = python(
        "-c",
        "import sys, limelight.observe; limelight.observe.serve(sys.argv[1]); "
        "print('serving')",
        str(path),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "serving\n"
    assert not path.exists()


def test_importing_limelight_does_not_import_opentelemetry() -> None:
    result = python(
        "-c",
        "import sys, limelight, limelight.observe; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


def test_a_stopping_actor_collected_without_ending_is_forgotten() -> None:
    class Stub:
        pass

    stub = Stub()
    _observe.STOPPING["urn:uuid:stub"] = weakref.ref(stub)  # type: ignore[arg-type]

    del stub
    gc.collect()

    assert _observe.live_actors() == []  # (which drops what is gone)
    assert "urn:uuid:stub" not in _observe.STOPPING


def test_an_entry_stopping_anew_is_not_dropped_for_an_older_one_gone() -> None:
    # (live_actors() drops the dead reference it read, not whatever is
    # under that urn by the time it looks again.)
    class Stub:
        pass

    gone, alive = Stub(), Stub()
    dead = weakref.ref(gone)
    del gone
    gc.collect()

    class Racing(dict[str, "weakref.ref[Any]"]):
        def items(self) -> Any:  # what live_actors() reads: the dead one...
            items = [("urn:uuid:again", dead)]
            self["urn:uuid:again"] = weakref.ref(alive)  # ...then it stops anew
            return items

    racing = Racing()
    real = _observe.STOPPING
    _observe.STOPPING = racing
    try:
        assert _observe.live_actors() == []
    finally:
        _observe.STOPPING = real
    assert racing["urn:uuid:again"]() is alive


def test_a_stopping_actor_collected_as_a_snapshot_is_taken_is_left_out() -> None:
    # (Between the referent's end and its callback, another thread may find
    # the reference dead: as a reference without a callback shows.)
    class Stub:
        pass

    stub = Stub()
    stopping = _observe.STOPPING
    stopping["urn:uuid:gone"] = weakref.ref(stub)  # type: ignore[arg-type]
    del stub
    gc.collect()
    try:
        assert _observe.live_actors() == []
    finally:
        stopping.pop("urn:uuid:gone", None)
