"""Ray actors on a real two-node cluster: placement, lost connections, no place.

The cluster (tests/ray_cluster_fixture.py) runs on this machine, on loopback
only: a head node and node B, which alone has the ``node_b`` resource.
Starting it takes some 5 to 15 s, so these tests run on one Python only.
Marked ``ray``, as the other tests of Ray; skipped without Ray.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest

import limelight

ray = pytest.importorskip("ray", reason="Ray is not installed (extra limelight[ray])")

import limelight.ray  # noqa: E402 -- needs Ray
from limelight._runtimes.ray_cluster import _cluster, _refs  # noqa: E402
from limelight.ray import RayRef  # noqa: E402
from tests.ray_actors import Counter  # noqa: E402
from tests.ray_cluster_fixture import (  # noqa: E402
    HEAD,
    NODE_B,
    TwoNodes,
    cluster_processes,
    connected_to_two_nodes,
)

pytestmark = [
    pytest.mark.ray,
    pytest.mark.skipif(
        sys.version_info[:2] != (3, 13),
        reason="a two-node cluster takes seconds to start: run on Python 3.13 only",
    ),
]

TIMEOUT = 60.0
"""Generous: other test runs share this machine's two cores."""

PLACEMENT_TIMEOUT = 2.0
"""Seconds these tests give Ray to place a Ray actor."""


@pytest.fixture(scope="module", autouse=True)
def two_nodes() -> Iterator[TwoNodes]:
    """This process connected to a two-node cluster (tests/ray_cluster_fixture.py)."""
    with connected_to_two_nodes() as cluster:
        yield cluster


@contextlib.contextmanager
def placement_within(seconds: float) -> Generator[None]:
    """Starts that Ray has not placed within `seconds` fail, for a while.

    Only around starts that must fail: one that Ray can place may take
    longer than that on a loaded machine (it starts a Ray worker process).
    """
    limelight.ray.configure(placement_timeout=seconds)
    try:
        yield
    finally:
        limelight.ray.configure(placement_timeout=_cluster.DEFAULT_PLACEMENT_TIMEOUT)


def _node_of(ref: limelight.ActorRef[Any]) -> str:
    """The Ray node id of the node that runs `ref`'s Ray actor."""
    assert isinstance(ref, RayRef)

    def node_id(_host: Any) -> str:
        node: str = ray.get_runtime_context().get_node_id()
        return node

    found: str = ray.get(ref.ray_actor.__ray_call__.remote(node_id), timeout=TIMEOUT)
    return found


def _pid_of(ref: limelight.ActorRef[Any]) -> int:
    """The process id of `ref`'s Ray actor."""
    assert isinstance(ref, RayRef)

    def pid(_host: Any) -> int:
        return os.getpid()

    found: int = ray.get(ref.ray_actor.__ray_call__.remote(pid), timeout=TIMEOUT)
    return found


def _ss(*args: str) -> str:
    result = subprocess.run(
        ["ss", *args], capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    return result.stdout


def _listening_ports(pid: int) -> list[str]:
    """The TCP ports on which process `pid` listens."""
    lines = _ss("-tlnpH").splitlines()
    return [
        line.split()[3].rsplit(":", 1)[1] for line in lines if f"pid={pid}," in line
    ]


def _can_kill_sockets() -> bool:
    """Whether ``ss -K`` can drop a connection here (it needs root, and a kernel
    that lets it)."""
    if shutil.which("ss") is None:
        return False
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            with accepted:
                try:
                    _ss("-K", "dst", "127.0.0.1", "dport", "=", str(port))
                except subprocess.CalledProcessError:
                    return False
                # (The kernel has dropped it by the time ss returns.)
                client.setblocking(False)
                try:
                    client.recv(1)
                except BlockingIOError:  # still connected: nothing to read
                    return False
                except OSError:  # dropped
                    return True
                return False  # pragma: no cover -- nothing was sent


def test_the_cluster_listens_on_loopback_only(two_nodes: TwoNodes) -> None:
    if shutil.which("ss") is None:
        pytest.skip("no ss here to list the listening sockets")
    pids = set(cluster_processes(two_nodes.temp_dir))
    listening = [
        line.split()[3]
        for line in _ss("-tlnpH").splitlines()
        if any(f"pid={pid}," in line for pid in pids)
    ]
    assert listening  # (the GCS, the raylets, the workers...)
    local = ("127.0.0.1:", "[::ffff:127.0.0.1]:")
    assert [address for address in listening if not address.startswith(local)] == []


def test_an_actor_placed_on_node_b_is_reached_by_ref_and_proxy(
    two_nodes: TwoNodes,
) -> None:
    nodes = two_nodes.node_ids()
    ref = Counter.options(resources={NODE_B: 1}).start(3)
    here = Counter.options(resources={HEAD: 1}).start()

    assert _node_of(ref) == nodes[NODE_B]
    assert _node_of(here) == nodes[HEAD]
    assert ref.proxy().add(4).get(TIMEOUT) == 7
    assert ref.ask("hello", timeout=TIMEOUT) == ("got", "hello")
    # An actor on the head node reaches it through the ref it is sent.
    assert here.proxy().ask_other(ref, "via").get(TIMEOUT) == ("got", "via")
    here.stop(timeout=TIMEOUT)
    assert ref.stop(timeout=TIMEOUT) is True
    assert ref.termination().get(TIMEOUT).reason == "normal"


def test_an_actor_whose_connections_drop_stays_alive_with_its_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not _can_kill_sockets():
        pytest.skip(
            "ss -K cannot drop connections here (needs root and a kernel that can)"
        )
    polls: queue.SimpleQueue[Any] = queue.SimpleQueue()
    ended = _refs.HostLink._ended

    def recording(link: _refs.HostLink, outcome: Any) -> None:
        polls.put(outcome)
        ended(link, outcome)

    monkeypatch.setattr(_refs.HostLink, "_ended", recording)
    ref = Counter.options(resources={NODE_B: 1}).start(5)
    ports = _listening_ports(_pid_of(ref))
    assert ports

    # Every connection to the idle host is dropped: its end notice's too.
    dropped = time.monotonic()
    for port in ports:
        _ss("-K", "state", "established", f"( sport = :{port} or dport = :{port} )")

    ok, error = polls.get(timeout=TIMEOUT)
    assert not ok
    assert isinstance(error, limelight.ray.ActorUnavailableError)
    assert time.monotonic() - dropped < TIMEOUT
    assert ref.is_alive()
    assert ref.proxy().add(1).get(TIMEOUT) == 6  # (its state intact)
    assert ref.is_alive()
    ref.stop(timeout=TIMEOUT)
    assert ref.termination().get(TIMEOUT).reason == "normal"


def test_a_start_pinned_to_a_resource_no_node_has_fails_in_time() -> None:
    started = time.monotonic()

    with (
        placement_within(PLACEMENT_TIMEOUT),
        pytest.raises(limelight.ray.PlacementTimeout, match="'node_c': 1"),
    ):
        Counter.options(resources={"node_c": 1}).start()

    assert time.monotonic() - started < PLACEMENT_TIMEOUT + 15


def test_a_supervisor_answers_once_a_child_could_not_be_placed() -> None:
    spec = limelight.ChildSpec("pinned", Counter.options(resources={"node_c": 1}).start)
    with (
        placement_within(PLACEMENT_TIMEOUT),
        pytest.raises(limelight.ray.PlacementTimeout),
    ):
        limelight.Supervisor.start([spec])

    placed = limelight.ChildSpec("on-b", Counter.options(resources={NODE_B: 1}).start)
    supervisor = limelight.Supervisor.start([placed])
    with (
        placement_within(PLACEMENT_TIMEOUT),
        pytest.raises(limelight.ray.PlacementTimeout),
    ):
        supervisor.proxy().start_child(spec).get(TIMEOUT)

    children = supervisor.proxy().which_children().get(TIMEOUT)
    assert [name for name, _ in children] == ["on-b"]
    on_b = supervisor.proxy().child("on-b").get(TIMEOUT)
    assert on_b.ask("still", timeout=TIMEOUT) == ("got", "still")
    supervisor.stop(timeout=TIMEOUT)


def test_a_cycle_of_asks_across_the_nodes_is_refused_within_a_second(
    two_nodes: TwoNodes,
) -> None:
    from tests.ray_relay import RayRelay  # noqa: PLC0415 -- (as the other classes)

    here = RayRelay.options(resources={HEAD: 1}).start()
    there = RayRelay.options(resources={NODE_B: 1}).start()
    here.proxy().point_at(there).get(TIMEOUT)
    there.proxy().point_at(here).get(TIMEOUT)
    nodes = two_nodes.node_ids()
    assert (_node_of(here), _node_of(there)) == (nodes[HEAD], nodes[NODE_B])

    began = time.monotonic()
    with pytest.raises(limelight.DeadlockError) as info:
        here.proxy().relay().get(TIMEOUT)
    took = time.monotonic() - began

    for future in [ref.proxy().point_at(None) for ref in (here, there)]:
        future.get(TIMEOUT)  # (open the ring: the refused relay goes round)
    assert took < 1.0
    assert str(here) in str(info.value)
    assert str(there) in str(info.value)
    here.stop()
    there.stop()


def test_a_future_sent_to_an_actor_on_node_b_is_refused_at_the_send() -> None:
    ref = Counter.options(resources={NODE_B: 1}).start()
    pending: limelight.ThreadingFuture[Any] = limelight.ThreadingFuture()
    refused = r"^<\w+Future pending> is a future: futures cannot be sent to Ray actors"

    with pytest.raises(TypeError, match=refused):
        ref.tell(pending)
    with pytest.raises(TypeError, match=refused):
        ref.proxy().echo_args(pending).get(TIMEOUT)

    assert ref.proxy().add(1).get(TIMEOUT) == 1  # (nothing was sent: it answers)
    ref.stop(timeout=TIMEOUT)
