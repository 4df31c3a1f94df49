"""The behaviour of the actors that tests of deadlocks across processes ring.

A mixin, so that actors of every runtime (tests/process_actors.py,
tests/ray_relay.py, and thread actors in the tests) relay alike; it lives in
a module of its own, which worker processes import by name.
"""

from __future__ import annotations

import os
from typing import Any

import limelight

RELAY_TIMEOUT = 20.0
"""How long a relay waits for the next one: far past any deadlock's report."""


class Relaying:
    """Calls relay() on the actor it points at and blocks; the last one answers."""

    next: limelight.ActorRef[Any] | None = None
    actor_urn: str

    def point_at(self, next_actor: limelight.ActorRef[Any] | None) -> None:
        self.next = next_actor

    def relay(self) -> Any:
        if self.next is None:
            return self.actor_urn
        return self.next.proxy().relay().get(RELAY_TIMEOUT)

    def pid(self) -> int:
        return os.getpid()
