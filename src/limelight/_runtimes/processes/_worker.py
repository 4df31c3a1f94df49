"""The worker process: serve the parent until it closes the pipe or dies."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar, NoReturn

from limelight._core import _wait_graph
from limelight._core._registry import ActorRegistry
from limelight._remote._waits import Upstream
from limelight._runtimes.processes._channel import Channel
from limelight._runtimes.processes._waits import ChannelLink

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["Worker", "worker_main"]


class Worker:
    """State of this process when it is a worker."""

    channel: ClassVar[Channel | None] = None
    stop_timeout: ClassVar[float] = 10.0


def worker_main(conn: Connection) -> None:
    """Run a worker process: serve the parent until it closes the pipe or dies."""
    channel = Channel(conn, f"parent process {os.getppid()}")
    Worker.channel = channel
    # The parent keeps the program's wait-for graph: report our waits there.
    _wait_graph.report_to(Upstream(ChannelLink(channel)))
    if channel.serve():
        # The parent asked us to stop: stop our actors (their ends are
        # reported to it), then exit. The channel is read on meanwhile, by
        # another thread: an actor may be waiting for a reply (from an actor
        # of another worker, say), which must reach it for it to stop.
        ActorRegistry.stop_all(timeout=Worker.stop_timeout)
        channel.close()
        return
    # The parent has gone: nobody is left to talk to. Exit now, without
    # waiting for actors that may be blocked on the parent.
    channel.close()
    _exit(0)


def _exit(code: int) -> NoReturn:
    # Coverage data of this process is saved by coverage's "_exit" patch.
    os._exit(code)
