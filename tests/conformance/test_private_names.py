"""An actor's own private names are its own: Limelight's are ``_limelight_*``.

Pykka programs keep state in everyday private names (``self._current``...)
and write private helpers; none of them may clash with what the library
keeps on the actor.
"""

from __future__ import annotations

from typing import Any

import limelight
from tests.conformance.actors import TIMEOUT
from tests.runtimes import Runtime


class OwnPrivates(limelight.Actor):
    """A player keeping its state and helpers under everyday private names.

    Each helper records its call and never touches the library: were the
    library to call one instead of its own, asks would hang, the actor would
    stay registered or the teardown would fail.
    """

    def __init__(self, stopped: list[Any]) -> None:
        super().__init__()
        self.stopped = stopped
        self.calls: list[str] = []
        self._current: Any = "track 1"
        self._phase: Any = "intro"
        self._exit: Any = True
        self._taken: Any = ["track 1"]
        self._timers: Any = {"fade": 5}
        self._handled: Any = "none yet"
        self._born: Any = "1999"
        self._runtime: Any = 0.0

    # -- The user's helpers, with the names of the library's old ones.

    def _reply(self, *args: Any) -> str:
        self.calls.append("_reply")
        return f"user reply {args!r}"

    def _unregister(self, *_args: Any) -> None:
        self.calls.append("_unregister")

    def _kill(self, *_args: Any) -> None:
        self.calls.append("_kill")

    def _run_hook(self, *_args: Any) -> None:
        self.calls.append("_run_hook")

    # -- Handlers that use them.

    def play(self, track: str, seconds: float) -> str:
        self._current = track
        self._phase = "playing"
        self._taken.append(track)
        self._runtime += seconds
        self._timers[track] = seconds
        return self._reply(track)

    def on_receive(self, message: Any) -> Any:
        if message == "state":
            return self.state()
        self._handled = f"told {message}"
        self._exit = message == "last"
        self._born = "2000"
        return None

    def on_stop(self) -> None:
        self.stopped.append(self.state())

    def state(self) -> dict[str, Any]:
        return {
            "current": self._current,
            "phase": self._phase,
            "exit": self._exit,
            "taken": list(self._taken),
            "timers": dict(self._timers),
            "handled": self._handled,
            "born": self._born,
            "runtime": self._runtime,
            "calls": list(self.calls),
        }


def test_an_actor_s_everyday_private_names_do_not_clash_with_the_library(
    runtime: Runtime,
) -> None:
    stopped = runtime.shared_list()
    ref = runtime.actor(OwnPrivates).start(stopped)
    proxy = ref.proxy()

    assert ref.ask("state", timeout=TIMEOUT) == {
        "current": "track 1",
        "phase": "intro",
        "exit": True,
        "taken": ["track 1"],
        "timers": {"fade": 5},
        "handled": "none yet",
        "born": "1999",
        "runtime": 0.0,
        "calls": [],
    }
    assert proxy.play("track 2", 1.5).get(timeout=TIMEOUT) == "user reply ('track 2',)"
    ref.tell("last")
    after = {
        "current": "track 2",
        "phase": "playing",
        "exit": True,
        "taken": ["track 1", "track 2"],
        "timers": {"fade": 5, "track 2": 1.5},
        "handled": "told last",
        "born": "2000",
        "runtime": 1.5,
        "calls": ["_reply"],
    }
    assert ref.ask("state", timeout=TIMEOUT) == after

    assert ref.stop(timeout=TIMEOUT) is True
    assert not ref.is_alive()
    assert limelight.ActorRegistry.get_by_urn(ref.actor_urn) is None
    assert list(stopped) == [after]
