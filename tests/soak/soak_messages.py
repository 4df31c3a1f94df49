"""Soak: long runs of tells and asks leave nothing behind, and lose nothing.

Run by ``nox -s soak`` (see soak_restarts.py for why a plain `pytest`
skips this file). On each runtime, ``LIMELIGHT_SOAK_MESSAGES`` messages
(2,000,000 by default) go to ``LIMELIGHT_SOAK_MESSAGE_ACTORS`` actors (4),
in turn: three tells to every ask, in batches of `BATCH`, whose asks are
awaited at the batch's end (which also keeps the inboxes short: an ask
replied to means the tells sent before it were handled). Actors in
another process take a round trip or more per message: limelight.process
sends ``LIMELIGHT_SOAK_PROCESS_MESSAGES`` (200,000), and Ray's pooled
hosts ``LIMELIGHT_SOAK_RAY_MESSAGES`` (20,000). The first tenth warm up.

After the warm-up, the test process's RSS, threads, fds and live objects
must stay where the warm-up left them: every envelope, future and reply
must be freed once handled; on the process runtime, the workers' too
(measured by a probe actor in each). At the end, each actor must have counted every
tell and ask it was sent, and every ask must have had its own reply.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import pytest

import limelight
from tests.runtimes import Runtime
from tests.soak._measure import (
    TIMEOUT,
    Limits,
    Workers,
    env_int,
    needs_proc,
    report,
    soak,
)
from tests.soak.soak_churn import RAY_LIMITS

MESSAGES = env_int("LIMELIGHT_SOAK_MESSAGES", 2_000_000)
MESSAGES_ON = {
    "process": env_int("LIMELIGHT_SOAK_PROCESS_MESSAGES", 200_000),
    "ray": env_int("LIMELIGHT_SOAK_RAY_MESSAGES", 20_000),
}
"""The messages of the runtimes whose actors are in another process."""
ACTORS = env_int("LIMELIGHT_SOAK_MESSAGE_ACTORS", 4)
BATCH = 400
"""Messages per round: its asks are awaited at its end."""
ASK_EVERY = 4
"""One message in this many is an ask; the others are tells."""


class Counter(limelight.Actor):
    """Counts the tells and asks it handles; replies to an ask with its number."""

    def __init__(self) -> None:
        super().__init__()
        self.told = 0
        self.asked = 0

    def on_receive(self, message: Any) -> Any:
        kind, number, payload = message
        if kind == "count":
            return self.told, self.asked
        assert len(payload) == 64
        if kind == "tell":
            self.told += 1
            return None
        self.asked += 1
        return number


def send_batch(refs: list[limelight.ActorRef[Counter]], number: int) -> None:
    """Send batch `number` to `refs` in turn; check each ask's reply."""
    payload = bytes(64)  # (a fresh object per batch: each message carries some)
    first = number * BATCH
    asks: list[limelight.Future[Any]] = []
    asked: list[int] = []
    for message in range(first, first + BATCH):
        ref = refs[message % len(refs)]
        if message % ASK_EVERY == 0:
            asks.append(ref.ask(("ask", message, payload), block=False))
            asked.append(message)
        else:
            ref.tell(("tell", message, payload))
    assert list(limelight.get_all(asks, timeout=TIMEOUT)) == asked


def expected_counts(messages: int, actors: int) -> list[tuple[int, int]]:
    """The (tells, asks) each of `actors` must have counted after `messages`."""
    counts = [[0, 0] for _ in range(actors)]
    for message in range(messages):
        counts[message % actors][message % ASK_EVERY == 0] += 1
    return [(told, asked) for told, asked in counts]


@needs_proc
@pytest.mark.timeout(1800)
def test_long_ask_and_tell_runs_leave_nothing_behind(runtime: Runtime) -> None:
    rounds = MESSAGES_ON.get(runtime.name, MESSAGES) // BATCH
    warm_up = max(1, rounds // 10)
    cls = runtime.actor(Counter)
    refs = [cls.start() for _ in range(ACTORS)]

    with contextlib.ExitStack() as stack:
        workers = None
        if runtime.name == "process":  # (the counters started its workers)
            workers = stack.enter_context(Workers(runtime))
        soaked = soak(
            lambda number: send_batch(refs, number),
            rounds,
            warm_up,
            None if workers is None else workers.usage,
        )

    sent = rounds * BATCH
    rate = (rounds - warm_up) * BATCH / soaked.elapsed
    what = f"{runtime.name}: {sent:,} messages to {ACTORS} actors"
    report(what, soaked.growth, f"{rate:,.0f} messages a second")
    if soaked.elsewhere is not None:
        report(f"{what}, in the workers", soaked.elsewhere)
    counted = [ref.ask(("count", 0, b""), timeout=TIMEOUT) for ref in refs]
    assert counted == expected_counts(sent, ACTORS)
    # An object per batch would fail; see soak_churn.py for Ray's limits.
    limits = Limits(objects=(rounds - warm_up) // 2)
    if runtime.name == "ray":
        limits = dataclasses.replace(limits, **RAY_LIMITS)
    limits.check(soaked.growth)
    if soaked.elsewhere is not None:
        limits.check(soaked.elsewhere)
    stopping = [ref.stop(block=False) for ref in refs]
    assert list(limelight.get_all(stopping, timeout=TIMEOUT)) == [True] * ACTORS
