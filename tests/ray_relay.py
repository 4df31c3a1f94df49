"""A Ray actor for the tests of deadlocks: Ray workers import it by name."""

from __future__ import annotations

from limelight.ray import RayActor
from tests.relays import Relaying


class RayRelay(Relaying, RayActor):
    """A relay (tests/relays.py) with a Ray host of its own (not pooled), so
    that a ring of them spans Ray worker processes."""
