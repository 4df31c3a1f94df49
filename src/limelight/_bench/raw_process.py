"""The raw multiprocessing primitive under process actors: a pipe ping-pong.

Like the actor workloads, each function returns the seconds its timed part
took and leaves no process behind. The echo process is started with the
same start method as Limelight's workers, and started outside the timing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["ask_round_trip"]


def _echo(conn: Connection) -> None:
    """Send back every object received, until ``None``."""
    recv = conn.recv
    send = conn.send
    while (message := recv()) is not None:
        send(message)


def ask_round_trip(n: int) -> float:
    """Send `n` objects one at a time to another process, waiting for each echo."""
    import multiprocessing  # noqa: PLC0415 -- only when the process rows run

    from limelight._runtimes.processes import default_start_method  # noqa: PLC0415

    # (Typed loosely: each start method's context has its own Process class.)
    context: Any = multiprocessing.get_context(default_start_method())
    mine, theirs = context.Pipe()
    process = context.Process(target=_echo, args=(theirs,), daemon=True)
    process.start()
    theirs.close()
    try:
        send = mine.send
        recv = mine.recv
        send(0)
        recv()  # the echo process is up
        start = time.perf_counter()
        for i in range(n):
            send(i)
            recv()
        return time.perf_counter() - start
    finally:
        mine.send(None)
        process.join()
        mine.close()
