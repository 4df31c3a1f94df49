"""limelight.testing with every runtime: the leak check and the probe."""

from __future__ import annotations

from typing import Any

import pytest

import limelight
from limelight.messages import Terminated
from limelight.testing import Probe, no_leaks
from tests.conformance.actors import TIMEOUT, Echo
from tests.runtimes import Runtime


class Forwarder(limelight.Actor):
    """Tells ``("done", x)`` to the ref in a ``(x, ref)`` message."""

    def on_receive(self, message: Any) -> Any:
        value, reply_to = message
        reply_to.tell(("done", value))


def test_the_leak_check_stops_the_block_s_actors(runtime: Runtime) -> None:
    with no_leaks():
        ref = runtime.actor(Echo).start()
        assert ref.ask("hi") == "hi"
    assert not ref.is_alive()
    assert limelight.ActorRegistry.get_all() == []


@pytest.mark.needs("refs_to_the_test_process")
def test_a_probe_receives_from_an_actor(runtime: Runtime) -> None:
    with no_leaks(), Probe.start() as probe:
        ref = runtime.actor(Forwarder).start()
        ref.tell((1, probe.ref))
        ref.tell((2, probe.ref))
        assert probe.expect(("done", 2), timeout=TIMEOUT) == ("done", 2)
        assert probe.expect(timeout=TIMEOUT) == ("done", 1)
        probe.expect_no_message(within=0.01)


def test_a_probe_watches_an_actor(runtime: Runtime) -> None:
    with no_leaks(), Probe.start() as probe:
        ref = runtime.actor(Echo).start()
        probe.watch(ref)
        ref.kill()
        terminated = probe.expect(Terminated, timeout=TIMEOUT)
        assert (terminated.actor_ref, terminated.reason) == (ref, "killed")
