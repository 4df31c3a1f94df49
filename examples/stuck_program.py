"""A program in trouble: one actor is stuck, another's mailbox keeps growing.

Run on its own, it finds both in a snapshot and says so:

    python examples/stuck_program.py

With ``--serve PATH`` it serves its snapshots at PATH and keeps going until
its standard input closes, so that ``limelight top`` can look at it from
another terminal:

    python examples/stuck_program.py --serve /tmp/stuck.sock
    limelight top --socket /tmp/stuck.sock

``--idle N`` adds N idle actors (on asyncio: they cost no thread), for a
table to scroll and filter:

    python examples/stuck_program.py --serve /tmp/stuck.sock --idle 1000
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import limelight
import limelight.asyncio
import limelight.observe


class StuckWorker(limelight.ThreadingActor):
    """Waits, in its handler, for an event that nobody sets: stuck."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def on_receive(self, message: Any) -> Any:
        self.release.wait()


class BackloggedSink(limelight.ThreadingActor):
    """Handles a message every 50 ms at best: slower than it is fed."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def on_receive(self, message: Any) -> Any:
        self.release.wait(0.05)


class Idle(limelight.asyncio.AsyncioActor):
    """Does nothing: one of many."""


def feed(sink: limelight.ActorRef[Any], release: threading.Event) -> None:
    """Tell the sink 100 messages a second until released."""
    number = 0
    while not release.wait(0.01):
        number += 1
        sink.tell(number)


def main() -> None:
    release = threading.Event()
    stuck = StuckWorker.start(release)
    sink = BackloggedSink.start(release)
    stuck.tell("work")
    feeder = threading.Thread(target=feed, args=(sink, release))
    feeder.start()
    print("Started StuckWorker and BackloggedSink")
    if sys.argv[3:4] == ["--idle"]:
        for _ in range(int(sys.argv[4])):
            Idle.start()
    try:
        if sys.argv[1:2] == ["--serve"]:
            with limelight.observe.serve(sys.argv[2]) as endpoint:
                print(f"Serving at {endpoint.path}", flush=True)
                sys.stdin.read()  # until the standard input closes
        else:
            report(stuck, sink)
    finally:
        release.set()
        feeder.join()
        limelight.ActorRegistry.stop_all()


def report(stuck: limelight.ActorRef[Any], sink: limelight.ActorRef[Any]) -> None:
    """Wait until a snapshot shows both problems, and print them."""
    deadline = time.monotonic() + 30
    depths: list[int] = []
    while time.monotonic() < deadline:
        infos = {info.urn: info for info in limelight.observe.snapshot()}
        worker, backlog = infos[stuck.actor_urn], infos[sink.actor_urn]
        if worker.state == "handling" and backlog.mailbox is not None:
            depths.append(backlog.mailbox)
            if len(depths) >= 2 and depths[-1] > depths[0]:
                print("StuckWorker is stuck handling a message")
                print("BackloggedSink's mailbox is growing")
                return
        time.sleep(0.1)
    print("Nothing wrong found")


if __name__ == "__main__":
    main()
