"""Tools for testing actor code: a leak check, a probe, and a deterministic runtime.

```python
from limelight.testing import Probe, no_leaks


def test_worker_replies() -> None:
    with no_leaks(), Probe.start() as probe:
        worker = Worker.start()
        worker.tell(("work", probe.ref))
        assert probe.expect("done", timeout=1) == "done"
```

- [`no_leaks()`][limelight.testing.no_leaks] stops the actors a block
  left running and fails if actors, threads or asyncio tasks outlive it.
- [`Probe`][limelight.testing.Probe] is an actor that records what it
  receives, so a test can say "receives X within T".
- [`ManualActor`][limelight.testing.ManualActor] runs in the test's own
  thread, one message at a time, in a fixed order, with a virtual clock
  ([`scheduler`][limelight.testing.scheduler]).

With pytest, the plugin [`limelight.pytest_plugin`](../testing.md#the-pytest-plugin)
(installed with Limelight) offers them as fixtures. This module does not
need pytest, and ``import limelight`` does not import it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sys
import threading
import weakref
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Literal, cast

from limelight._core import _timeouts
from limelight._core._exceptions import Timeout
from limelight._core._registry import ActorRegistry, _owners_first
from limelight._core._runtime import is_service_thread
from limelight._runtimes import threads
from limelight._runtimes.manual import (
    RUNTIME as _MANUAL,
)
from limelight._runtimes.manual import (
    ManualActor,
    ManualFuture,
    ManualScheduler,
)
from limelight._runtimes.threads import ThreadingActor

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from limelight._core._ref import ActorRef

__all__ = [
    "ManualActor",
    "ManualFuture",
    "ManualScheduler",
    "Probe",
    "no_leaks",
    "scheduler",
]

scheduler: ManualScheduler = _MANUAL.scheduler
"""The scheduler that runs every [`ManualActor`][limelight.testing.ManualActor]."""

DEFAULT_TIMEOUT = 5.0
"""Seconds a probe waits for a message, and a leak check for things to end."""

RunningActors = Literal["stop", "fail"]

# -- The leak check ------------------------------------------------------------


@contextlib.contextmanager
def no_leaks(
    timeout: float | None = DEFAULT_TIMEOUT, *, running_actors: RunningActors = "stop"
) -> Generator[None, None, None]:
    """Fail if actors, threads or asyncio tasks started in the block outlive it.

    When the block ends, it stops the actors started in it that are still
    running, newest first (supervisors before their children), as
    [`ActorRegistry.stop_all()`][limelight.ActorRegistry.stop_all] would;
    actors that were running before the block are left alone. Then it
    raises `AssertionError`, listing everything that leaked, if:

    - an actor started in the block is still registered: it did not stop
      within `timeout` seconds (its ``on_stop()`` hangs, say);
    - a thread started in the block is still alive `timeout` seconds later.
      Threads that runtimes keep for themselves (the timer thread, the
      asyncio background loop) are not leaks, nor are the threading
      runtime's idle cached threads, which the check ends;
    - an asyncio task created in the block is still pending on the asyncio
      runtime's background loop `timeout` seconds later. Leaked tasks are
      cancelled.

    Usable as a decorator too. If the block raises, its actors are stopped
    and its exception goes on; nothing else is checked.

    ```python
    with no_leaks(timeout=2):
        ref = Worker.start()
        ref.ask("work")
    # Worker stopped here; a thread it started and forgot fails the check.
    ```

    Args:
        timeout: seconds for everything to stop and end, in total; `None`
            (or infinity) waits as long as it takes. A clean block never
            waits for it.
        running_actors: ``"stop"`` (the default) stops the actors left
            running, as a fixture's clean-up would; ``"fail"`` reports them
            as leaks too (and stops them).

    Raises:
        AssertionError: if something leaked.
        ValueError: if `running_actors` is neither ``"stop"`` nor ``"fail"``,
            or `timeout` is NaN.
        TypeError: if `timeout` is not a number (nor `None`).
    """
    if timeout is not None:
        timeout = _timeouts.seconds(timeout)
    if running_actors not in ("stop", "fail"):
        msg = f'running_actors must be "stop" or "fail", got {running_actors!r}'
        raise ValueError(msg)
    before = _Snapshot()
    try:
        yield
    except BaseException:
        _stop_new_actors(before, _timeouts.deadline(timeout))
        raise
    leaks = _find_leaks(before, timeout, running_actors)
    if leaks:
        listed = "\n".join(f"- {leak}" for leak in leaks)
        msg = f"leak check failed ({len(leaks)} leak(s)):\n{listed}"
        raise AssertionError(msg)


class _Snapshot:
    """What was running before the block: none of it is the block's leak."""

    def __init__(self) -> None:
        self.actors = {ref.actor_urn for ref in ActorRegistry.get_all()}
        self.threads = set(threading.enumerate())
        loop = _background_loop()
        self.tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet(
            () if loop is None else _run_on(loop, _all_tasks(), DEFAULT_TIMEOUT)
        )


def _find_leaks(
    before: _Snapshot, timeout: float | None, running_actors: RunningActors
) -> list[str]:
    # (With no timeout, nothing is reported as late: every wait waits.)
    deadline = _timeouts.deadline(timeout)
    leaks: list[str] = []
    if running_actors == "fail":
        leaks.extend(
            f"actor {ref} was still running when the block ended"
            for ref in _new_actors(before)
        )
    leaks.extend(
        f"actor {ref} did not stop within {_shown(timeout)}"
        for ref in _stop_new_actors(before, deadline)
    )
    loop = _background_loop()
    if loop is not None:
        leaks.extend(_leaked_tasks(loop, before, deadline, timeout))
    leaks.extend(_leaked_threads(before, deadline, timeout))
    return leaks


def _new_actors(before: _Snapshot) -> list[ActorRef[Any]]:
    return [
        ref for ref in ActorRegistry.get_all() if ref.actor_urn not in before.actors
    ]


def _shown(timeout: float | None) -> str:
    """`timeout` in a leak's description."""
    return "no time limit" if timeout is None else f"{timeout:g} s"


def _stop_new_actors(before: _Snapshot, deadline: float | None) -> list[ActorRef[Any]]:
    """Stop the block's actors as stop_all() would; return those that did not."""
    stuck: dict[ActorRef[Any], None] = {}
    for ref in _owners_first(list(reversed(_new_actors(before)))):
        try:
            ref.stop(timeout=_timeouts.remaining(deadline))
        except Timeout:
            stuck[ref] = None  # (unregistered already, if its on_stop() hangs)
    stuck.update(dict.fromkeys(_new_actors(before)))
    return list(stuck)


def _leaked_threads(
    before: _Snapshot, deadline: float | None, timeout: float | None
) -> list[str]:
    threads.RUNTIME.end_idle_threads(timeout=_timeouts.remaining(deadline))
    suspects = [
        thread
        for thread in threading.enumerate()
        if thread not in before.threads
        and not is_service_thread(thread)
        # (A thread whose actor stopped just now may not be in the cache yet.)
        and thread.name != threads.IDLE_THREAD_NAME
    ]
    for thread in suspects:
        # Some end a moment after their actor: one that does not reuse its thread.
        thread.join(_timeouts.remaining(deadline))
    return [
        f"thread {thread.name!r} ({'daemon' if thread.daemon else 'non-daemon'}) "
        f"was still alive {_shown(timeout)} after the block"
        for thread in suspects
        if thread.is_alive()
    ]


def _background_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio runtime's background loop, if it runs (without importing it)."""
    module = sys.modules.get("limelight._runtimes.event_loop.runtime")
    if module is None:
        return None
    loop: asyncio.AbstractEventLoop | None = module.RUNTIME.background._loop
    return loop if loop is not None and loop.is_running() else None


def _leaked_tasks(
    loop: asyncio.AbstractEventLoop,
    before: _Snapshot,
    deadline: float | None,
    timeout: float | None,
) -> list[str]:
    try:
        return cast(
            "list[str]", _run_on(loop, _end_new_tasks(before, deadline), timeout)
        )
    # (Not the builtin TimeoutError before Python 3.11.)
    except concurrent.futures.TimeoutError:
        return [
            f"the asyncio background loop did not respond within {_shown(timeout)}: "
            "something blocks it (a plain handler that waits, say)"
        ]


def _run_on(
    loop: asyncio.AbstractEventLoop, coroutine: Any, timeout: float | None
) -> Any:
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    try:
        # (The coroutine keeps to the timeout: this only bounds a stuck loop.)
        return future.result(None if timeout is None else timeout + 1.0)
    except BaseException:
        future.cancel()
        raise


async def _all_tasks() -> list[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return [task for task in asyncio.all_tasks() if task is not current]


async def _end_new_tasks(before: _Snapshot, deadline: float | None) -> list[str]:
    """Wait for the tasks made in the block; cancel and describe those left."""
    tasks = [task for task in await _all_tasks() if task not in before.tasks]
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=_timeouts.remaining(deadline))
    for task in pending:
        task.cancel()
    return [
        f"asyncio task {task.get_name()!r} ({task.get_coro()!r}) was still pending "
        "on the background loop; it was cancelled"
        for task in sorted(pending, key=lambda task: task.get_name())
    ]


# -- The probe -------------------------------------------------------------------


_ANY: Any = object()  # what Probe.expect() matches by default


class _Watch:
    __slots__ = ("ref",)

    def __init__(self, ref: ActorRef[Any]) -> None:
        self.ref = ref


class _Record:
    """The messages a probe received, shared by its actor and its handle."""

    def __init__(self) -> None:
        self.changed = threading.Condition(threading.Lock())
        self.received: list[Any] = []
        self.unconsumed: list[Any] = []

    def add(self, message: Any) -> None:
        with self.changed:
            self.received.append(message)
            self.unconsumed.append(message)
            self.changed.notify_all()


class _ProbeActor(ThreadingActor):
    use_daemon_thread = True  # a forgotten probe must not keep a program alive

    def __init__(self, record: _Record, reply: Callable[[Any], Any] | None) -> None:
        super().__init__()
        self._limelight_record = record
        self._limelight_answer = reply

    def on_receive(self, message: Any) -> Any:
        if message.__class__ is _Watch:
            self.watch(message.ref)
            return None
        self._limelight_record.add(message)
        answer = self._limelight_answer
        return None if answer is None else answer(message)


class Probe:
    """An actor that records the messages it receives, for tests to expect them.

    Start one with [`start()`][limelight.testing.Probe.start], hand its
    [`ref`][limelight.testing.Probe.ref] to the code under test as the actor
    to tell or reply to, and say what it should receive:

    ```python
    probe = Probe.start()
    worker.tell(("work", probe.ref))
    probe.expect("done", timeout=1)
    probe.watch(worker)
    worker.stop()
    probe.expect(Terminated)
    probe.stop()
    ```

    The probe is a thread actor, so it receives while the test waits. Each
    message is returned by at most one ``expect()``: the probe remembers
    which it has handed out, in the order they arrived. A ``with`` block
    stops the probe at its end.
    """

    def __init__(self, ref: ActorRef[Any], record: _Record) -> None:
        """Use [`Probe.start()`][limelight.testing.Probe.start] instead."""
        self._ref = ref
        self._record = record

    @classmethod
    def start(cls, *, reply: Callable[[Any], Any] | None = None) -> Self:
        """Start a probe.

        Args:
            reply: what answers an ``ask()`` of the probe, called with the
                message; by default, asks are answered with `None`. Either
                way, the message is recorded.
        """
        record = _Record()
        return cls(_ProbeActor.start(record, reply), record)

    @property
    def ref(self) -> ActorRef[Any]:
        """The probe's actor ref: give it to the code under test."""
        return self._ref

    @property
    def messages(self) -> list[Any]:
        """Every message received so far, in order, expected or not (a copy)."""
        with self._record.changed:
            return list(self._record.received)

    def expect(
        self, match: Any = _ANY, *, timeout: float | None = DEFAULT_TIMEOUT
    ) -> Any:
        """Return the first message not yet expected that matches, waiting for it.

        Args:
            match: what to look for: a class matches its instances (so
                ``expect(Terminated)`` works), another callable is a
                predicate, anything else must be equal to the message. By
                default, any message matches.
            timeout: seconds to wait for it; `None` (or infinity) waits
                as long as it takes.

        Returns:
            The matching message, which later ``expect()`` calls skip.

        Raises:
            AssertionError: if no such message arrived within `timeout`
                seconds; it lists what did arrive.
            TypeError: if `timeout` is not a number (nor `None`), and
                ValueError if it is NaN.
        """
        if timeout is not None:
            timeout = _timeouts.seconds(timeout)
        matches, wanted = _matcher(match)
        record = self._record
        deadline = _timeouts.deadline(timeout)
        with record.changed:
            seen = 0
            while True:
                for index in range(seen, len(record.unconsumed)):
                    message = record.unconsumed[index]
                    if matches(message):
                        del record.unconsumed[index]
                        return message
                seen = len(record.unconsumed)
                remaining = _timeouts.remaining(deadline)
                if remaining is not None and remaining <= 0:
                    break
                record.changed.wait(remaining)
            arrived = list(record.unconsumed)
        msg = f"{self} expected {wanted} within {_shown(timeout)}, but " + (
            f"received only {arrived!r}" if arrived else "received nothing new"
        )
        raise AssertionError(msg)

    def expect_no_message(self, within: float = 0.1) -> None:
        """Check that no message (not yet expected) arrives within `within` seconds.

        It waits the whole time unless a message comes, so keep `within`
        short; it fails at once if an unexpected message is already there.

        Raises:
            AssertionError: naming the message that arrived.
            TypeError: if `within` is not a number, and ValueError if it is
                NaN.
        """
        limit = _timeouts.seconds(within, "within")
        record = self._record
        with record.changed:
            if record.changed.wait_for(lambda: record.unconsumed, limit):
                arrived = list(record.unconsumed)
            else:
                return
        msg = (
            f"{self} expected no message within {_shown(limit)}, but received "
            f"{arrived!r}"
        )
        raise AssertionError(msg)

    def watch(self, actor_ref: ActorRef[Any]) -> None:
        """Make the probe watch `actor_ref`: expect its ``Terminated`` message later.

        Returns once the watch is in place; see
        [`Actor.watch()`][limelight.Actor.watch].
        """
        self._ref.ask(_Watch(actor_ref))

    def stop(self) -> None:
        """Stop the probe's actor; the messages it recorded stay readable."""
        self._ref.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Probe {self._ref.actor_urn}>"

    def __str__(self) -> str:
        return "probe"


def _matcher(match: Any) -> tuple[Callable[[Any], bool], str]:
    if match is _ANY:
        return (lambda _message: True), "a message"
    if isinstance(match, type):
        cls: type[Any] = match
        return (lambda message: isinstance(message, cls)), f"a {cls.__qualname__}"
    if callable(match):
        predicate: Callable[[Any], object] = match
        name = getattr(predicate, "__qualname__", repr(predicate))
        return (
            lambda message: bool(predicate(message)),
            f"a message for which {name}() is true",
        )
    return (lambda message: bool(message == match)), repr(match)


def __dir__() -> list[str]:
    # The public names only, not what the implementation imports.
    return sorted(__all__)
