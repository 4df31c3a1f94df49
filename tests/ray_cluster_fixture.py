"""A real two-node Ray cluster on this machine, on loopback only, for tests.

``two_node_cluster()`` starts a head node and a second node, *node B*, with
``ray start``, and stops both, leaving no process behind. Node B has a
custom resource, ``node_b``, so that a test places an actor there with
``RayActor.options(resources={"node_b": 1})``; the head has ``head``
(1,000 units each: many actors fit).

``connected_to_two_nodes()`` starts one and connects this process to it
through ``limelight.ray.init(address=...)``. A process holds one Ray
connection, and other tests may have connected it to the session's local
Ray (the `local_ray` fixture of conftest.py): it disconnects that first and
connects it again afterwards, with the same arguments. A test module makes
it a fixture of module scope (the cluster takes seconds to start), as
tests/test_ray_two_nodes.py does:

```python
@pytest.fixture(scope="module", autouse=True)
def two_nodes() -> Iterator[TwoNodes]:
    with connected_to_two_nodes() as cluster:
        yield cluster
```

Why the details below:

- ``ray start`` replaces 127.0.0.1 with the machine's network address and
  listens on every interface. Each node is started by a small wrapper
  (`_RAY_START`) that turns that off (``resolve_ip_for_localhost``), so the
  cluster is reachable from this machine only.
  The driver joins as 127.0.0.1 too: ``connected_to_two_nodes()`` turns
  off, while connected, what ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` would
  (Ray read the variable when this process imported it).
- The cluster has a token of its own (``RAY_AUTH_MODE=token``,
  ``RAY_AUTH_TOKEN_PATH``): a token that another run left in ``~/.ray``
  would make the second node be refused. Ray's core caches the token it
  read first, so the driver has it read again on connecting, and again on
  leaving (for the local Ray, which uses ``~/.ray``'s).
- The GCS and the dashboard agents get free ports asked of the OS (two
  nodes on one machine cannot share the agent's default port); Ray picks
  the others. The cluster has its own temporary directory, which every one
  of its processes names on its command line: the teardown kills those
  (``ray stop`` would end every Ray on the machine, other runs' too).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"

NODE_B = "node_b"
"""The custom resource that only node B has (`UNITS` of it)."""

HEAD = "head"
"""The custom resource that only the head node has (`UNITS` of it)."""

UNITS = 1000
"""How much of its resource each node has: an actor asks for one unit, and a
dedicated host keeps its unit for a grace period after its actor has ended."""

START_TIMEOUT = 120.0
"""Seconds each ``ray start`` may take: the machine's two cores are shared."""

_RAY_START = """\
import sys
import ray._private.services as services
import ray.scripts.scripts as scripts

# Keep 127.0.0.1 as it is: ray start would put the network address instead.
services.resolve_ip_for_localhost = lambda host: host
sys.argv = ["ray", *sys.argv[1:]]
scripts.main()
"""


@dataclass
class TwoNodes:
    """A running two-node cluster: where to connect, and how to reach node B."""

    address: str
    """The head's GCS address, for ``limelight.ray.init(address=...)``."""
    temp_dir: Path
    """The cluster's Ray temporary directory (its logs are under it)."""
    env: dict[str, str]
    """The environment a driver needs to join (the token's)."""

    def node_ids(self) -> dict[str, str]:
        """The Ray node id of each node, by its custom resource (`HEAD`, `NODE_B`)."""
        import ray  # noqa: PLC0415 -- only with Ray

        nodes: Any = ray.nodes
        ids: dict[str, str] = {}
        for node in nodes():
            for name in (HEAD, NODE_B):
                if node["Alive"] and name in node["Resources"]:
                    ids[name] = node["NodeID"]
        return ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _ray_start(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _RAY_START, "start", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        msg = f"ray start {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        raise RuntimeError(msg)


def _node_args(temp_dir: Path, resources: dict[str, float]) -> list[str]:
    """What both nodes are started with: loopback, own ports, one CPU."""
    return [
        f"--node-ip-address={LOOPBACK}",
        f"--temp-dir={temp_dir}",
        f"--resources={json.dumps(resources)}",
        "--num-cpus=1",
        "--object-store-memory=100000000",
        f"--dashboard-agent-listen-port={_free_port()}",
        "--disable-usage-stats",
    ]


@contextlib.contextmanager
def two_node_cluster() -> Generator[TwoNodes]:
    """Start a head node and node B; stop them, and all they started, at the end."""
    # (Short: Ray's socket paths under it must stay below 108 characters.)
    temp_dir = Path(tempfile.mkdtemp(prefix="llray-", dir="/tmp"))
    token = temp_dir / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
    }
    env.pop("RAY_ADDRESS", None)
    env.pop("RAY_AUTH_TOKEN", None)
    port = _free_port()
    address = f"{LOOPBACK}:{port}"
    try:
        _ray_start(
            [
                "--head",
                f"--port={port}",
                "--include-dashboard=false",
                *_node_args(temp_dir, {HEAD: UNITS}),
            ],
            env,
        )
        _ray_start(
            [f"--address={address}", *_node_args(temp_dir, {NODE_B: UNITS})], env
        )
        yield TwoNodes(
            address,
            temp_dir,
            {key: env[key] for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")},
        )
    finally:
        _kill_cluster(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def cluster_processes(temp_dir: Path) -> list[int]:
    """The ids of the processes of the cluster whose directory is `temp_dir`.

    Every one names it: on its command line (Ray passes each its session's
    directory), or, for those that rename themselves
    (``ray::DashboardAgent``, which overwrites its command line and its
    environment), in the paths of the log files it holds open. Not this
    process nor its children, which may have inherited the token's path
    while connected (``ray start`` exited: its nodes are nobody's children).
    """
    found: list[int] = []
    mark = str(temp_dir)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if _names(entry, mark) and not _ours(int(entry.name)):
                found.append(int(entry.name))
    return found


def _names(process: Path, mark: str) -> bool:
    """Whether the process of `/proc` entry `process` names the path `mark`."""
    if mark.encode() in (process / "cmdline").read_bytes():
        return True
    for fd in (process / "fd").iterdir():
        with contextlib.suppress(OSError):  # (closed meanwhile)
            if os.readlink(fd).startswith(mark):
                return True
    return False


def _ours(pid: int) -> bool:
    """Whether `pid` is this process or descends from it."""
    while pid > 1:
        if pid == os.getpid():
            return True
        stat = Path(f"/proc/{pid}/stat").read_text()
        # (The parent's id follows the name, which may hold spaces: in parentheses.)
        pid = int(stat.rpartition(")")[2].split()[1])
    return False


def _kill_cluster(temp_dir: Path) -> None:
    """Kill every process of the cluster, and wait until none is left."""
    deadline = time.monotonic() + 30.0
    while True:
        pids = cluster_processes(temp_dir)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:  # pragma: no cover -- a stuck process
            msg = f"Ray processes left running: {pids}"
            raise RuntimeError(msg)
        time.sleep(0.05)  # (polled: they are not this process's children)


@contextlib.contextmanager
def connected_to_two_nodes() -> Generator[TwoNodes]:
    """This process connected to a two-node cluster, for the tests of one module.

    A local Ray that other tests connected to is disconnected first and
    connected again at the end, with the same ``init()`` arguments.
    """
    import ray  # noqa: PLC0415 -- only with Ray
    from ray._private import ray_constants  # noqa: PLC0415

    import limelight.ray  # noqa: PLC0415
    from limelight._runtimes.ray_cluster._cluster import Cluster  # noqa: PLC0415

    constants: Any = ray_constants
    was_local: dict[str, Any] | None = None
    if ray.is_initialized():
        was_local = dict(Cluster.init_kwargs)
        limelight.ray.shutdown()
    saved = {key: os.environ.get(key) for key in _DRIVER_ENV}
    clusters_allowed: bool = constants.ENABLE_RAY_CLUSTER
    with two_node_cluster() as cluster:
        os.environ.update(cluster.env)
        # What RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 does, read when Ray was
        # imported: the driver then joins as 127.0.0.1, not as the
        # machine's network address, at which no node listens.
        constants.ENABLE_RAY_CLUSTER = False
        _reset_auth()  # (Ray's core caches the token it read first)
        try:
            limelight.ray.init(address=cluster.address, log_to_driver=False)
            yield cluster
        finally:
            limelight.ray.shutdown()
            constants.ENABLE_RAY_CLUSTER = clusters_allowed
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _reset_auth()
    if was_local is not None:
        limelight.ray.init(**was_local)


_DRIVER_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_TOKEN")


def _reset_auth() -> None:
    """Have Ray's core read the token again, from the environment as it is now."""
    from ray._private import authentication_test_utils  # noqa: PLC0415

    authentication_test_utils.reset_auth_token_state()
