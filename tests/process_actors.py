"""Actor classes for tests/test_process_runtime.py.

Worker processes import actor classes by module name, so they live here, at
the top level of a module, rather than inside the tests.
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType
from typing import Any

import limelight
import limelight.messages
from limelight.process import ProcessActor
from tests.relays import Relaying


class Counter(ProcessActor):
    """Counts; answers questions about its process."""

    def __init__(self, start: int = 0) -> None:
        super().__init__()
        self.count = start
        self.stats = Stats()

    def on_receive(self, message: Any) -> Any:
        if message == "pid":
            return os.getpid()
        if message == "boom":
            raise ValueError("boom")
        if message == "crash-later":
            raise RuntimeError("crashed on a tell")
        return message

    def increment(self, by: int = 1) -> int:
        self.count += by
        return self.count

    def pid(self) -> int:
        return os.getpid()

    def unpicklable(self) -> Any:
        return lambda: None

    def raise_unpicklable(self) -> None:
        raise UnpicklableError(lambda: None)

    def raise_unloadable(self) -> None:
        raise UnloadableError("one", "two")

    def ask_ref(self, ref: limelight.ActorRef[Any], message: Any) -> Any:
        return ref.ask(message)

    def tell_ref(self, ref: limelight.ActorRef[Any], message: Any) -> None:
        ref.tell(message)

    def my_ref(self) -> limelight.ActorRef[Any]:
        return self.actor_ref

    def is_alive(self, ref: limelight.ActorRef[Any]) -> bool:
        return ref.is_alive()

    def get_future(self, future: limelight.Future[Any]) -> Any:
        return future.get(timeout=30)

    def echo(self, value: Any) -> Any:
        return value

    def proxy_call(self, proxy: limelight.ActorProxy[Any]) -> Any:
        return proxy.increment(10).get()

    def start_local(self) -> limelight.ActorRef[Any]:
        ref = Counter.start(5)
        return ref

    def watch_it(
        self, ref: limelight.ActorRef[Any], report_to: limelight.ActorRef[Any]
    ) -> None:
        self.report_to = report_to
        self.watch(ref)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def hold(self, entered: Any, gate: Any) -> None:
        """Set `entered`, then wait for `gate` (events that cross processes)."""
        entered.set()
        gate.wait(60)

    def spin(self, n: int) -> int:
        total = 0
        for i in range(n):
            total += i
        return total


class SlowToFail(ProcessActor):
    """Fails on ``"fail"``; ``on_failure()`` sets `failing`, then waits for `gate`."""

    def __init__(self, failing: Any, gate: Any) -> None:
        super().__init__()
        self.failing = failing
        self.gate = gate

    def on_receive(self, message: Any) -> Any:
        if message == "fail":
            raise RuntimeError("failed on purpose")
        return message

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.failing.set()
        self.gate.wait(60)


class Watcher(Counter):
    """Records Terminated messages."""

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, limelight.messages.Terminated):
            self.report_to.tell((message.actor_ref.actor_urn, message.reason))
            return None
        return super().on_receive(message)


@limelight.traversable
class Stats:
    def __init__(self) -> None:
        self.hits = 0

    def hit(self) -> int:
        self.hits += 1
        return self.hits


class Dedicated(Counter):
    dedicated_process = True


class FailsInit(ProcessActor):
    def __init__(self) -> None:
        super().__init__()
        raise KeyError("bad init")


class ForgetsSuper(ProcessActor):
    def __init__(self) -> None:  # no super().__init__()
        pass


class UnpicklableError(Exception):
    pass


class UnloadableError(Exception):
    def __init__(self, a: str, b: str) -> None:
        super().__init__(a)  # args are (a,): unpickling calls __init__(a) and fails
        self.b = b


class Doubler(limelight.Actor):
    """A behaviour: combined with ProcessActor at run time by the tests."""

    def double(self, x: int) -> int:
        return 2 * x

    def my_class_id(self) -> int:
        return id(type(self))

    def my_ref(self) -> limelight.ActorRef[Any]:
        return self.actor_ref


def _slowly(seconds: float) -> str:
    time.sleep(seconds)
    return "slow"


class SlowToUnpickle:
    """Takes `seconds` to unpickle: holds up the reader of the receiving process."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __reduce__(self) -> tuple[Any, ...]:
        return _slowly, (self.seconds,)


class Relay(Relaying, ProcessActor):
    """A relay (tests/relays.py) in a process of its own each, so that a ring
    of them spans processes."""

    dedicated_process = True


class Asker(ProcessActor):
    """Asks another process actor to hold, in a worker process of its own."""

    dedicated_process = True

    def call_hold(self, ref: limelight.ActorRef[Any], entered: Any, gate: Any) -> str:
        ref.proxy().hold(entered, gate).get(60)
        return "held"


class Where(ProcessActor):
    """Says which thread handles each message (in a worker of its own)."""

    dedicated_process = True

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()
        self.gate = Gate.start(self.opened)  # (here, in this worker)

    def on_receive(self, message: Any) -> Any:
        if message == "wait for the gate":
            # Opened by a tell to the gate, which arrives through the pipe
            # that this ask came through.
            return self.opened.wait(60), threading.current_thread().name
        return threading.current_thread().name

    def gate_ref(self) -> limelight.ActorRef[Any]:
        return self.gate


class WhereInItsOwnThread(Where):
    """Keeps thread-local state: every message goes through its own thread."""

    reuse_thread = False


class Gate(ProcessActor):
    """Sets an event when told to open."""

    def __init__(self, opened: threading.Event) -> None:
        super().__init__()
        self.opened = opened

    def on_receive(self, message: Any) -> None:
        if message == "open":
            self.opened.set()
