"""Soak: clients that never read keep no one else waiting, and leave nothing.

Run by ``nox -s soak`` (see soak_restarts.py for why a plain `pytest`
skips this file). With `LIVE_ACTORS` actors running (3,000: a snapshot
several times larger than a Unix socket's buffers), the observability
endpoint (``limelight.observe.serve()``, what ``limelight top`` reads) is
sent ``LIMELIGHT_SOAK_ENDPOINT_WAVES`` waves (40 by default) of
`IDLE_CLIENTS` clients that connect and never read. In each wave, while
they are still connected, a good client takes `GOOD_SNAPSHOTS` snapshots:
each must be whole and arrive within the endpoint's send timeout
(`SEND_TIMEOUT`, short so that the waves are) and a `MARGIN`; then the
endpoint must hang up on every idle client, and forget it.

After a warm-up (the first tenth of the waves, or four), the test
process's RSS, fds, threads, live objects and allocated blocks must stay
where they were: each idle client's socket and unsent snapshot must be
freed once it is hung up on.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import select
import socket
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

import limelight
import limelight.asyncio
import limelight.observe
from limelight import _endpoint
from limelight._core import _observe
from tests.soak._measure import Limits, env_int, needs_proc, report, soak

WAVES = env_int("LIMELIGHT_SOAK_ENDPOINT_WAVES", 40)
LIVE_ACTORS = 3_000
IDLE_CLIENTS = 6
"""Clients per wave that never read: with the good one, fewer than MAX_SENDING."""
GOOD_SNAPSHOTS = 3
"""Snapshots the good client takes per wave, while the idle clients wait."""
SEND_TIMEOUT = 1.0
"""The endpoint's send timeout here: seconds an idle client is kept."""
MARGIN = 5.0
"""Seconds a good snapshot may take beyond SEND_TIMEOUT (encoding the idle
clients' snapshots first, on a loaded machine)."""
SOCKET_BUFFER = 1 << 18
"""More than a Unix socket's buffers hold on Linux (some 200 KiB each way)."""


class Idle(limelight.asyncio.AsyncioActor):
    """An actor that only exists, to fill the snapshot: thousands share one loop."""


def hung_up_on(client: socket.socket, timeout: float) -> bool:
    """Wait until the endpoint has closed its end of `client`'s connection."""
    poll = select.poll()
    poll.register(client, select.POLLRDHUP)
    return bool(poll.poll(timeout * 1000))


@contextlib.contextmanager
def idle_clients(path: Path) -> Generator[list[socket.socket]]:
    """`IDLE_CLIENTS` clients of the endpoint at `path` that never read."""
    with contextlib.ExitStack() as stack:
        clients = [
            stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
            for _ in range(IDLE_CLIENTS)
        ]
        for client in clients:
            client.connect(str(path))
        yield clients


def wave(endpoint: limelight.observe.Endpoint, took: array.array[float]) -> None:
    """Idle clients connect; the good one takes its snapshots; they are hung up on.

    Counts the good snapshots in ``took[0]``, and keeps the slowest one's
    time in ``took[1]`` (in place: a list of times would be a growth).
    """
    with idle_clients(endpoint.path) as idle:
        for _ in range(GOOD_SNAPSHOTS):
            started = time.monotonic()
            document: dict[str, Any] = _endpoint.fetch(
                endpoint.path, timeout=SEND_TIMEOUT + MARGIN
            )
            took[0] += 1
            took[1] = max(took[1], time.monotonic() - started)
            assert document["pid"] == os.getpid()
            assert len(document["actors"]) >= LIVE_ACTORS
        for client in idle:
            assert hung_up_on(client, SEND_TIMEOUT + MARGIN)
    assert endpoint._clients == {}  # (it forgets whom it hung up on)


@needs_proc
@pytest.mark.skipif(not hasattr(select, "POLLRDHUP"), reason="needs Linux poll()")
@pytest.mark.timeout(1800)
def test_clients_that_never_read_delay_no_one_and_leave_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # For its rate, each actor keeps some twenty samples of the last
    # RATE_WINDOW seconds, which fill up for longer than this soak warms up:
    # keep the latest only. What is measured is the endpoint's own.
    monkeypatch.setattr(_observe, "RATE_WINDOW", 0.0)
    actors = [Idle.start() for _ in range(LIVE_ACTORS)]
    took = array.array("d", [0.0, 0.0])  # (good snapshots, the slowest's time)
    with limelight.observe.serve(
        tmp_path / "soak.sock", send_timeout=SEND_TIMEOUT
    ) as endpoint:
        size = len(_endpoint.encode_snapshot())
        assert size > SOCKET_BUFFER  # (else an idle client would hold up nothing)
        started = time.monotonic()
        growth = soak(lambda _: wave(endpoint, took), WAVES, max(4, WAVES // 10)).growth
        elapsed = time.monotonic() - started
    report(
        f"endpoint: {WAVES} waves of {IDLE_CLIENTS} idle clients, "
        f"{LIVE_ACTORS} actors ({size / 2**20:.1f} MiB snapshots)",
        growth,
        f"{took[0]:.0f} good snapshots, the slowest in {took[1]:.2f} s, "
        f"in {elapsed:.0f} s",
    )
    assert took[0] == WAVES * GOOD_SNAPSHOTS
    assert took[1] < SEND_TIMEOUT + MARGIN
    # (Each wave makes and frees nine snapshots of a MiB or so, and as many
    # sockets: none may be kept.)
    Limits(objects=WAVES // 2).check(growth)
    stopping = [actor.stop(block=False) for actor in actors]
    assert list(limelight.get_all(stopping, timeout=60.0)) == [True] * LIVE_ACTORS
    assert json.loads(_endpoint.encode_snapshot())["actors"] == []
