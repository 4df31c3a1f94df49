"""What the gevent and eventlet runtimes promise alike, tested on both.

Both runtimes are the same greenlet core (`limelight._runtimes.greenlet.runtime`)
over a different hub adapter, so most of what the conformance suite cannot
say about them is said once here, for each library: where an actor lives,
waking a greenlet from other threads, cooperative waiting, interop with
threads and asyncio, timers on the hub, the background hub's life cycle, and
monkey-patched programs (in subprocesses, since patching is for good).

What only one library has (gevent's loop watchers, eventlet's socket wake-ups,
the core's waiter and inbox races, driven on gevent's hub) is tested in
test_gevent_runtime.py and test_eventlet_runtime.py.
"""

from __future__ import annotations

import asyncio
import collections
import importlib
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, cast

import pytest

import limelight
from limelight import ActorRef, DeadlockError, Timeout
from limelight._runtimes.greenlet.hub import GreenHub, GreenInbox, _BoundedGreenRef
from limelight._runtimes.greenlet.runtime import BackgroundHub, GreenRuntime, inbox_of
from tests.conformance.actors import TIMEOUT
from tests.runtimes import EVENTLET, GEVENT, GreenEvent, Runtime
from tests.test_examples import python

T = TypeVar("T")


def in_thread(function: Callable[[], T]) -> T:
    """Run `function` in a new thread; return its result (or raise its exception)."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(function())
        except BaseException as exc:  # noqa: BLE001 -- handed to the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    if errors:
        raise errors[0]
    return result[0]


@dataclass(frozen=True)
class GreenLibrary:
    """One greenlet library, as these tests drive it."""

    name: str
    """The library's module name: ``"gevent"`` or ``"eventlet"``."""

    runtime: Runtime
    """Its conformance runtime: actor classes, futures, sleeps."""

    green: GreenRuntime
    """Its Limelight runtime: the adapter and the background hub."""

    thread_name: str
    """The name of its background hub's thread."""

    native_hub: Callable[[], Any]
    """This thread's hub of the library itself (made if need be)."""

    spawn_and_wait: Callable[[Callable[[], Any]], Any]
    """Run a function in a new greenlet of this thread's hub; return its result."""

    patch: str
    """The lines that monkey-patch a program."""

    def in_green_thread(self, function: Callable[[], Any]) -> Any:
        """Run `function` in a greenlet of a new thread's hub; return its result.

        Then stop the actors it left in that hub, from that thread's plain
        code (which waits in the hub meanwhile: nobody else could), and end
        the hub with the thread.
        """

        def run() -> Any:
            adapter = self.green.adapter
            try:
                return self.spawn_and_wait(function)
            finally:
                hub = adapter.current_hub()
                for ref in limelight.ActorRegistry.get_all():
                    inbox = ref.actor_inbox
                    if isinstance(inbox, GreenInbox) and inbox.hub is hub:
                        ref.stop(timeout=TIMEOUT)
                adapter.destroy_hub(adapter.make_hub())

        return in_thread(run)


def _gevent() -> GreenLibrary:
    gevent = importlib.import_module("gevent")
    from limelight._runtimes.greenlet import gevent_hub  # noqa: PLC0415 -- with gevent

    def spawn_and_wait(function: Callable[[], Any]) -> Any:
        greenlet = gevent.spawn(function)
        greenlet.join(TIMEOUT)
        assert greenlet.successful(), greenlet.exception
        return greenlet.value

    assert GEVENT is not None
    return GreenLibrary(
        name="gevent",
        runtime=GEVENT,
        green=gevent_hub.RUNTIME,
        thread_name=gevent_hub.THREAD_NAME,
        native_hub=gevent.get_hub,
        spawn_and_wait=spawn_and_wait,
        patch="from gevent import monkey\nmonkey.patch_all()",
    )


def _eventlet() -> GreenLibrary:
    eventlet: Any = importlib.import_module("eventlet")  # (no types)
    importlib.import_module("eventlet.hubs")
    from limelight._runtimes.greenlet import eventlet_hub  # noqa: PLC0415 -- with eventlet

    def spawn_and_wait(function: Callable[[], Any]) -> Any:
        with eventlet.Timeout(TIMEOUT):
            return eventlet.spawn(function).wait()

    assert EVENTLET is not None
    return GreenLibrary(
        name="eventlet",
        runtime=EVENTLET,
        green=eventlet_hub.RUNTIME,
        thread_name=eventlet_hub.THREAD_NAME,
        native_hub=eventlet.hubs.get_hub,
        spawn_and_wait=spawn_and_wait,
        patch="import eventlet\neventlet.monkey_patch()",
    )


_LIBRARIES: dict[str, Callable[[], GreenLibrary]] = {
    "gevent": _gevent,
    "eventlet": _eventlet,
}


@pytest.fixture(params=sorted(_LIBRARIES))
def lib(request: pytest.FixtureRequest) -> GreenLibrary:
    """Each greenlet library in turn (skipped where it is not installed)."""
    name: str = request.param
    pytest.importorskip(name, reason=f"{name} is not installed")
    return _LIBRARIES[name]()


# -- Behaviours, made actors of either library by `lib.runtime.actor()` ---------------


class Echo(limelight.Actor):
    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self.sleep = sleep

    def on_receive(self, message: Any) -> Any:
        return message

    def where(self) -> tuple[GreenHub, str]:
        return inbox_of(self).hub, threading.current_thread().name

    def nap(self, seconds: float) -> float:
        self.sleep(seconds)
        return seconds

    def wait_for(self, future: limelight.Future[Any]) -> Any:
        return future.get(TIMEOUT)


class Setter(limelight.Actor):
    def complete(self, future: limelight.Future[Any], value: Any) -> None:
        future.set(value)


class Gate(limelight.ThreadingActor):
    """A thread actor that blocks its thread until a test opens the gate."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def pass_gate(self) -> str:
        self.gate.wait(TIMEOUT)
        return "passed"


class AsksThreadActor(limelight.Actor):
    def ask_through(self, gate: ActorRef[Gate]) -> str:
        passed: str = gate.proxy().pass_gate().get(TIMEOUT)
        return passed


class Collector(limelight.Actor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[int, list[int]] = {}

    def on_receive(self, message: Any) -> Any:
        sender, i = message
        self.seen.setdefault(sender, []).append(i)

    def result(self) -> dict[int, list[int]]:
        return self.seen


class Ticker(limelight.Actor):
    def __init__(self, done: GreenEvent) -> None:
        super().__init__()
        self.done = done
        self.ticks: list[tuple[str, str]] = []

    def on_receive(self, message: Any) -> Any:
        self.ticks.append((message, threading.current_thread().name))
        if len(self.ticks) == 3:
            self.done.set()

    def start_timers(self) -> None:
        self.send_after(0.001, "once")
        self.every = self.send_every(0.001, "often")

    def stop_ticking(self) -> list[tuple[str, str]]:
        self.every.cancel()
        return self.ticks


def echo(lib: GreenLibrary) -> ActorRef[Echo]:
    """Start an `Echo` of `lib`, whose naps let its hub go on."""
    return lib.runtime.actor(Echo).start(lib.runtime.sleep)


# -- Where an actor lives --------------------------------------------------------------


def test_actors_started_from_plain_code_share_the_background_hub(
    lib: GreenLibrary,
) -> None:
    first, second = echo(lib), echo(lib)

    hub, thread = first.proxy().where().get(TIMEOUT)

    assert second.proxy().where().get(TIMEOUT) == (hub, thread)
    assert lib.green.background.owns(hub)
    assert thread == lib.thread_name
    assert hub.thread_id != threading.get_ident()
    assert lib.green.background.is_running()


def test_an_actor_started_in_a_greenlet_lives_in_that_greenlet_s_hub(
    lib: GreenLibrary,
) -> None:
    def main() -> tuple[Any, tuple[GreenHub, str]]:
        ref = echo(lib)
        try:
            return lib.native_hub(), ref.proxy().where().get(TIMEOUT)
        finally:
            ref.stop()

    native, (hub, thread) = lib.in_green_thread(main)

    assert hub.native is native
    assert not lib.green.background.owns(hub)
    assert thread != lib.thread_name


# -- Waking greenlets and waiting cooperatively ---------------------------------------


def test_many_threads_tell_one_actor_and_each_thread_s_order_is_kept(
    lib: GreenLibrary,
) -> None:
    ref = lib.runtime.actor(Collector).start()
    count = 2_000

    def send(sender: int) -> None:
        for i in range(count):
            ref.tell((sender, i))

    threads = [threading.Thread(target=send, args=(s,)) for s in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)

    seen = ref.proxy().result().get(TIMEOUT)
    assert seen == {s: list(range(count)) for s in range(4)}


def test_a_greenlet_s_burst_of_tells_wakes_the_idle_actor_once_and_keeps_order(
    lib: GreenLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    woken: list[int] = []
    wake_reader = GreenInbox.wake_reader

    def counted(inbox: GreenInbox) -> None:
        woken.append(len(inbox._items))
        wake_reader(inbox)

    monkeypatch.setattr(GreenInbox, "wake_reader", counted)

    def main() -> Any:
        ref = lib.runtime.actor(Collector).start()
        ref.ask((0, -1))  # now parked, waiting for more
        # The tells go straight into the inbox (put() is not even there):
        # only the first finds the actor parked and wakes it. (Named tuples,
        # not plain ones: those go in envelopes, through put().)
        with monkeypatch.context() as patched:
            patched.delattr(GreenInbox, "put")
            for i in range(100):
                ref.tell(Sent(0, i))
        wakes = list(woken)
        return wakes, ref.proxy().result().get(TIMEOUT)

    wakes, seen = lib.in_green_thread(main)
    assert wakes == [1]  # once, with the first message in
    assert seen == {0: list(range(-1, 100))}


class Sent(NamedTuple):
    """A message that unpacks as a tuple, yet is told bare: it is not a plain tuple."""

    sender: int
    i: int


class Recorder(limelight.Actor):
    """Records every message it handles, and replies with it."""

    def __init__(self) -> None:
        super().__init__()
        self.handled: list[Any] = []

    def on_receive(self, message: Any) -> Any:
        self.handled.append(message)
        return message

    def result(self) -> list[Any]:
        return self.handled


def queued_items(ref: ActorRef[Any]) -> list[Any]:
    """What the inbox of a greenlet actor holds, as it holds it."""
    return list(cast("GreenInbox", ref.actor_inbox)._items)


def test_told_messages_are_queued_bare_unless_they_could_pass_for_an_envelope(
    lib: GreenLibrary,
) -> None:
    def main() -> Any:
        ref = lib.runtime.actor(Recorder).start()
        # (This greenlet does not yield: the actor takes nothing meanwhile.)
        for message in ["bare", (1, 2), None, Sent(3, 4), 5]:
            ref.tell(message)
        asked = ref.ask("asked", block=False)
        queued = queued_items(ref)
        assert asked.get(TIMEOUT) == "asked"
        return queued, ref.proxy().result().get(TIMEOUT)

    queued, handled = lib.in_green_thread(main)
    # A plain tuple, and None, go in an envelope: in the inbox, a plain tuple
    # is an envelope, and None, as the envelope handled, would read as idle.
    assert queued[:5] == ["bare", ((1, 2), None), (None, None), Sent(3, 4), 5]
    assert type(queued[3]) is Sent
    assert queued[5][0] == "asked"
    assert handled == ["bare", (1, 2), None, Sent(3, 4), 5, "asked"]


def test_a_greenlet_inbox_hands_out_envelopes_for_bare_messages(
    lib: GreenLibrary,
) -> None:
    def main() -> Any:
        hub = lib.green.adapter.current_hub()
        assert hub is not None
        inbox = GreenInbox(hub)
        inbox._items.extend(["bare", ("enveloped", None), "bare again"])
        return [inbox.get_nowait(), inbox.get_nowait(), inbox.get()]

    assert lib.in_green_thread(main) == [
        ("bare", None),
        ("enveloped", None),
        ("bare again", None),
    ]


class Bounded(Recorder):
    mailbox_capacity = 2
    mailbox_overflow = "drop_newest"


def test_a_bounded_greenlet_actor_s_tells_go_into_its_mailbox_in_envelopes(
    lib: GreenLibrary,
) -> None:
    def main() -> Any:
        ref = lib.runtime.actor(Bounded).start()
        ref_class = type(ref)  # (not narrowing `ref` itself)
        assert ref_class is _BoundedGreenRef
        for message in ["a", "b", "dropped"]:
            ref.tell(message)
        queued = queued_items(ref)
        actor = ref._actor_weakref()
        ref.stop(timeout=TIMEOUT)  # (a stop request takes no room)
        assert actor is not None
        return queued, actor.handled

    queued, handled = lib.in_green_thread(main)
    assert queued == [("a", None), ("b", None)]
    assert handled == ["a", "b"]


class KilledOnAppend(collections.deque[Any]):
    """An inbox's deque whose first append kills its actor first.

    As if another thread killed the actor just after a tell had checked
    that it was running, and before the tell's message went in.
    """

    def __init__(self) -> None:
        super().__init__()
        self.actor: limelight.Actor | None = None

    def append(self, envelope: Any, /) -> None:
        actor, self.actor = self.actor, None
        if actor is not None:
            actor.actor_ref.kill()  # which appends its own wake-up call
        super().append(envelope)


def test_a_tell_that_races_a_kill_is_a_dead_letter_not_a_lost_message(
    lib: GreenLibrary,
) -> None:
    limelight.DeadLetters.reset()
    handled: list[Any] = []

    class Recorder(lib.runtime.actor_class):  # type: ignore[misc,name-defined]
        def on_receive(self, message: Any) -> Any:
            handled.append(message)

    def main() -> Any:
        actor = Recorder()
        items = KilledOnAppend()
        inbox_of(actor).use_queue(items)
        ref = actor._limelight_register_and_run()
        items.actor = actor
        ref.tell("too late")  # the tell checks again after its append
        ref.actor_stopped.wait(TIMEOUT)
        return ref

    ref = lib.in_green_thread(main)
    assert handled == []
    assert limelight.DeadLetters.recent() == [
        limelight.DeadLetter("too late", ref, "stopped")
    ]
    limelight.DeadLetters.reset()


def test_a_greenlet_waiting_for_an_actor_lets_its_hub_s_other_actors_run(
    lib: GreenLibrary,
) -> None:
    def main() -> Any:
        waiting, setter = echo(lib), lib.runtime.actor(Setter).start()
        future: limelight.Future[str] = lib.runtime.future_class()
        reply = waiting.proxy().wait_for(future)
        # `waiting` is parked in its handler: `setter`, in the same hub, runs.
        setter.proxy().complete(future, "set by a neighbour").get(TIMEOUT)
        return reply.get(TIMEOUT)

    assert lib.in_green_thread(main) == "set by a neighbour"


def test_a_greenlet_s_wait_times_out_and_its_hub_goes_on(lib: GreenLibrary) -> None:
    def main() -> tuple[str, str]:
        ref = echo(lib)
        held: limelight.Future[str] = lib.runtime.future_class()
        reply = ref.proxy().wait_for(held)
        with pytest.raises(Timeout):
            reply.get(timeout=0.01)
        answer: str = echo(lib).ask("after the timeout", timeout=TIMEOUT)
        held.set("released")
        return answer, reply.get(TIMEOUT)

    assert lib.in_green_thread(main) == ("after the timeout", "released")


def test_an_actor_asking_a_thread_actor_does_not_block_its_hub(
    lib: GreenLibrary,
) -> None:
    gate = threading.Event()
    thread_actor = Gate.start(gate)
    asker, neighbour = lib.runtime.actor(AsksThreadActor).start(), echo(lib)

    reply = asker.proxy().ask_through(thread_actor)

    # The asker is parked waiting for the thread actor; its hub goes on.
    assert neighbour.ask("still served", timeout=TIMEOUT) == "still served"
    assert not reply._is_ready()
    gate.set()
    assert reply.get(TIMEOUT) == "passed"


def test_waiting_in_the_hub_s_own_greenlet_for_its_actor_is_a_deadlock(
    lib: GreenLibrary,
) -> None:
    ref = echo(lib)
    hub, _thread = ref.proxy().where().get(TIMEOUT)
    outcome: limelight.Future[BaseException] = limelight.ThreadingFuture()

    def in_hub() -> None:
        try:
            ref.ask("never", timeout=TIMEOUT)
        except DeadlockError as exc:
            outcome.set(exc)

    hub.call(in_hub)

    assert f"{lib.name}.spawn" in str(outcome.get(TIMEOUT))


# -- Interop -------------------------------------------------------------------------


def test_plain_threads_and_thread_actors_ask_greenlet_actors(lib: GreenLibrary) -> None:
    ref = echo(lib)
    current_hub = lib.green.adapter.current_hub

    class Asker(limelight.ThreadingActor):
        def ask_echo(self, message: str) -> Any:
            return ref.ask(message, timeout=TIMEOUT), current_hub()

    def from_thread() -> tuple[Any, float, GreenHub | None]:
        future = ref.proxy().nap(0.01)
        return (
            ref.ask("from a thread", timeout=TIMEOUT),
            future.get(TIMEOUT),
            (current_hub()),
        )

    # A plain thread blocks on its own lock: it never needs a hub of its own.
    assert in_thread(from_thread) == ("from a thread", 0.01, None)
    assert Asker.start().proxy().ask_echo("from an actor").get(TIMEOUT) == (
        "from an actor",
        None,
    )


def test_a_greenlet_actor_s_future_is_awaitable_from_asyncio(
    lib: GreenLibrary,
) -> None:
    ref = echo(lib)

    async def main() -> tuple[Any, Any]:
        asked = await ref.ask("awaited", block=False)
        called = await ref.proxy().nap(0.01)
        return asked, called

    assert asyncio.run(asyncio.wait_for(main(), TIMEOUT)) == ("awaited", 0.01)


# -- Timers --------------------------------------------------------------------------


def test_timers_tick_on_the_actor_s_hub(lib: GreenLibrary) -> None:
    done = GreenEvent()
    ref = lib.runtime.actor(Ticker).start(done)
    ref.proxy().start_timers().get(TIMEOUT)
    assert done.wait(TIMEOUT)

    ticks = ref.proxy().stop_ticking().get(TIMEOUT)

    assert {message for message, _thread in ticks} == {"once", "often"}
    assert {thread for _message, thread in ticks} == {lib.thread_name}


def test_hub_calls_cancelled_from_any_thread_never_run(lib: GreenLibrary) -> None:
    hub = lib.green.background.hub()
    ran: list[str] = []
    done: limelight.Future[None] = limelight.ThreadingFuture()

    # The hub's thread is held up while the call is made and cancelled, so
    # the cancellation is certain to come before the call's start is handled.
    entered, release = threading.Event(), threading.Event()

    def hold_up() -> None:
        entered.set()
        release.wait(TIMEOUT)

    hub.call(hold_up)
    assert entered.wait(TIMEOUT)
    hub.call_later(0, lambda: ran.append("early")).cancel()
    release.set()
    hub.call_later(TIMEOUT, lambda: ran.append("late")).cancel()
    hub.call_later(0.01, lambda: done.set(None))
    done.get(TIMEOUT)

    def main() -> list[str]:
        here = lib.green.adapter.current_hub()
        assert here is not None
        mine: list[str] = []
        here.call_later(0.001, lambda: mine.append("not cancelled"))
        here.call_later(0.001, lambda: mine.append("cancelled")).cancel()
        lib.runtime.sleep(0.05)
        return mine

    assert lib.in_green_thread(main) == ["not cancelled"]
    assert ran == []


# -- Life cycle ----------------------------------------------------------------------


def test_a_background_hub_ends_when_idle_at_exit_and_a_new_one_starts_after(
    lib: GreenLibrary,
) -> None:
    background = BackgroundHub(lib.green.adapter, f"limelight-{lib.name}-test")
    hub = background.acquire("urn:one")
    assert background.owns(hub)
    assert background.is_running()

    background.close_when_idle()  # one actor still runs on it
    assert background.is_running()
    background.release("urn:one")  # the last: the hub ends
    assert background.wait_ended(TIMEOUT)
    assert not background.is_running()

    again = background.acquire("urn:two")  # after exit began: a new hub
    assert again is not hub
    background.release("urn:two")
    background.close_at_exit()
    assert not background.is_running()


def test_in_a_patched_program_plain_code_starts_actors_in_its_own_hub(
    lib: GreenLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = lib.green.adapter
    monkeypatch.setattr(adapter, "threads_are_greenlets", lambda: True)

    def main() -> tuple[bool, bool, str]:
        ref = echo(lib)  # from this thread's plain code, no hub yet
        hub, _thread = ref.proxy().where().get(TIMEOUT)  # runs the hub meanwhile
        answer = ref.ask("served here", timeout=TIMEOUT)
        ref.stop(timeout=TIMEOUT)
        mine = hub.native is lib.native_hub()
        adapter.destroy_hub(hub)
        return mine, lib.green.background.owns(hub), answer

    assert in_thread(main) == (True, False, "served here")


def test_an_unpatched_program_exits_once_its_background_actors_stop(
    lib: GreenLibrary,
) -> None:
    actor_class = f"{lib.name.capitalize()}Actor"
    result = python(
        "-W",
        "ignore",
        "-c",
        textwrap.dedent(
            f"""
            import threading
            from limelight.{lib.name} import {actor_class}

            class Late({actor_class}):
                def on_stop(self):
                    print("stopped", threading.current_thread().name, flush=True)

            ref = Late.start()
            threading.Timer(0.2, ref.stop).start()
            print("main done", flush=True)
            """
        ),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["main done", f"stopped {lib.thread_name}"]


PATCHED = """
{patch}

import threading
import {name}
import limelight
from limelight.{name} import {actor_class}

class Echo({actor_class}):
    def on_receive(self, message):
        return message

    def ask_other(self, other, message):
        return other.ask(message)

class Threaded(limelight.ThreadingActor):
    def on_receive(self, message):
        {name}.sleep(0.001)  # cooperative, in a patched program
        return ("threaded", message)

    def ask_other(self, other, message):
        return other.ask(message)

def in_a_greenlet():
    # Lives in the main thread's hub, like the thread actors.
    local = Echo.start()
    return local.proxy().ask_other(threaded, "via a local greenlet actor").get()

echo, threaded = Echo.start(), Threaded.start()
print(echo.ask("plain"))
print(echo.proxy().ask_other(threaded, "greenlet to thread").get())
print(threaded.proxy().ask_other(echo, "thread to greenlet").get())
print({spawn_and_wait})
limelight.ActorRegistry.stop_all()
print("left:", limelight.ActorRegistry.get_all())
print("threads:", [t.name for t in threading.enumerate()])
"""

SPAWN_AND_WAIT = {
    "gevent": "gevent.spawn(in_a_greenlet).get()",
    "eventlet": "eventlet.spawn(in_a_greenlet).wait()",
}


def test_a_monkey_patched_program_mixes_thread_and_greenlet_actors(
    lib: GreenLibrary,
) -> None:
    script = PATCHED.format(
        patch=lib.patch,
        name=lib.name,
        actor_class=f"{lib.name.capitalize()}Actor",
        spawn_and_wait=SPAWN_AND_WAIT[lib.name],
    )

    result = python("-W", "ignore", "-c", script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:5] == [
        "plain",
        "('threaded', 'greenlet to thread')",
        "thread to greenlet",
        "('threaded', 'via a local greenlet actor')",
        "left: []",
    ]
    assert lib.thread_name not in result.stdout  # no background hub: all in one


def test_import_limelight_does_not_import_the_library(lib: GreenLibrary) -> None:
    # (What `import limelight` adds: coverage, measuring the subprocess,
    # imports greenlet itself, to follow greenlets.)
    result = python(
        "-c",
        "import sys\n"
        "before = set(sys.modules)\n"
        "import limelight, limelight.asyncio\n"
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
        f"({lib.name!r}, 'greenlet')))",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
