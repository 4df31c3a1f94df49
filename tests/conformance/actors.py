"""Behaviours shared by several conformance test modules.

Each is a subclass of `limelight.Actor`; tests turn one into a startable
class with ``runtime.actor(Behaviour)``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, cast

import limelight
from tests.runtimes import Event

TIMEOUT = 10.0
"""Seconds to wait for something that should happen promptly.

Generous, so that a slow machine never fails a test; a broken library fails
it anyway, later.
"""


class Echo(limelight.Actor):
    """Replies with the message it got."""

    def on_receive(self, message: Any) -> Any:
        return message


class Recorder(limelight.Actor):
    """Appends every hook call and message to a list it shares with the test.

    Messages: ``("fail", text)`` raises `RuntimeError(text)`; ``("stop",)``
    makes the actor stop itself; ``("wait", gate)`` blocks until `gate` is
    set; anything else is recorded and answered with ``"ok"``.

    `done`, if given, is set when ``on_stop()`` or ``on_failure()`` has
    finished: the stopped event is set *before* those hooks run, so it cannot
    tell a test that they did.
    """

    def __init__(self, log: list[Any], done: Event | None = None) -> None:
        super().__init__()
        self.log = log
        self.done = done

    def on_start(self) -> None:
        self.log.append("on_start")

    def on_stop(self) -> None:
        self.log.append("on_stop")
        if self.done is not None:
            self.done.set()

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.log.append(("on_failure", exception_type, str(exception_value)))
        if self.done is not None:
            self.done.set()

    def on_receive(self, message: Any) -> Any:
        match message:
            case ("fail", str(text)):
                self.log.append(("fail", text))
                raise RuntimeError(text)
            case ("stop",):
                self.log.append("stop")
                self.stop()
            case ("wait", gate):
                self.log.append("wait")
                cast("Event", gate).wait(TIMEOUT)
            case _:
                self.log.append(message)
        return "ok"


class Blocker(limelight.Actor):
    """Holds its messages up on demand, to let tests queue messages behind one.

    ``block(entered, gate)`` sets `entered` and returns once `gate` is set
    (or after `TIMEOUT`, returning False).
    """

    def block(self, entered: Event, gate: Event) -> bool:
        entered.set()
        return gate.wait(TIMEOUT)

    def value(self, x: Any) -> Any:
        return x


class Member(Blocker):
    """A pool member: answers with its URN; ``"fail"`` makes it raise.

    ``square(n)`` is for ``map()``; ``block()`` (of `Blocker`) holds it up.
    """

    def on_receive(self, message: Any) -> Any:
        if message == "fail":
            raise RuntimeError("member failed")
        return self.actor_urn

    def whoami(self) -> str:
        return self.actor_urn

    def square(self, n: int) -> int:
        if n < 0:
            raise ValueError(n)
        return n * n
