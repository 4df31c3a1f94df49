"""Who reads a worker's pipe while its reader handles an ask itself (``_relief.py``).

`Turns` is run here on a stand-in pipe: a queue of frames, each a function
that the reading thread calls (it returns whether it was a shutdown, or
raises EOFError for the end of the pipe). A frame that stands for an
inline ask brackets its work with ``begin_inline()`` and ``end_inline()``,
as the channel does.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import pytest

from limelight._runtimes.processes import _relief
from limelight._runtimes.processes._relief import Turns

TIMEOUT = 10.0

Frame = Callable[[], bool]


class Pipe:
    """Frames for a `Turns` to read, and which thread read each."""

    def __init__(self) -> None:
        self.frames: queue.Queue[Frame] = queue.Queue()
        self.readers: list[int] = []
        self.entered: list[int] = []
        self.turns = Turns(self.read_one, self.enter, "the test's pipe")

    def read_one(self) -> bool:
        frame = self.frames.get(timeout=TIMEOUT)
        self.readers.append(threading.get_ident())
        return frame()

    def enter(self) -> None:
        self.entered.append(threading.get_ident())

    def send(self, frame: Frame) -> None:
        self.frames.put(frame)

    def send_plain(self) -> threading.Event:
        """A frame that does nothing; the event is set once it has been read."""
        read = threading.Event()

        def frame() -> bool:
            read.set()
            return False

        self.send(frame)
        return read

    def send_set(self, event: threading.Event) -> None:
        """A frame that sets `event`."""

        def frame() -> bool:
            event.set()
            return False

        self.send(frame)

    def send_inline(self, body: Callable[[], None]) -> None:
        """A frame that stands for an ask handled in the reading thread."""

        def frame() -> bool:
            self.turns.begin_inline()
            try:
                body()
            finally:
                self.turns.end_inline()
            return False

        self.send(frame)

    def send_shutdown(self) -> None:
        self.send(lambda: True)

    def send_end(self) -> None:
        def frame() -> bool:
            raise EOFError

        self.send(frame)


class Serving:
    """`Turns.serve()` run in a thread of its own (the worker's main thread)."""

    def __init__(self, pipe: Pipe) -> None:
        self.outcome: list[bool] = []
        self.thread = threading.Thread(target=self._serve, args=(pipe.turns,))
        self.thread.start()

    def _serve(self, turns: Turns) -> None:
        self.outcome.append(turns.serve())

    def result(self) -> bool:
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive()
        (outcome,) = self.outcome
        return outcome


def waiting_for(event: threading.Event) -> Callable[[], None]:
    """An ask that waits for `event` without saying so (no relieve_me())."""

    def body() -> None:
        assert event.wait(TIMEOUT)

    return body


def stood_by(turns: Turns) -> bool:
    """Wait until a thread stands by to read (it has finished its ask)."""
    with turns.standing_by:
        assert turns.standing_by.wait_for(lambda: turns._parked, TIMEOUT)
    return False


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    pipe = Pipe()
    yield pipe
    pipe.turns.close()


def test_serve_returns_false_at_the_end_of_the_pipe(pipe: Pipe) -> None:
    serving = Serving(pipe)
    pipe.send_plain()
    pipe.send_end()

    assert serving.result() is False
    assert pipe.readers == [serving.thread.ident] * 2


def test_after_a_shutdown_another_thread_reads_on(pipe: Pipe) -> None:
    serving = Serving(pipe)
    pipe.send_shutdown()

    assert serving.result() is True
    after = pipe.send_plain()
    assert after.wait(TIMEOUT)
    assert pipe.readers[-1] != serving.thread.ident
    assert pipe.entered == [pipe.readers[-1]]  # the new reader was prepared
    pipe.send_end()


def test_an_inline_ask_that_waits_lets_another_thread_read_at_once(
    pipe: Pipe,
) -> None:
    later = threading.Event()
    outcome: list[bool] = []

    def wait_for_a_later_frame() -> None:
        outcome.append(pipe.turns.relieve_me())
        outcome.append(pipe.turns.relieve_me())  # (relieved already)
        outcome.append(later.wait(TIMEOUT))

    serving = Serving(pipe)
    pipe.send_inline(wait_for_a_later_frame)
    pipe.send_set(later)
    pipe.send_end()

    assert serving.result() is False
    assert outcome == [True, True, True]
    asker, *others = pipe.readers
    assert asker == serving.thread.ident
    assert asker not in others


def test_an_inline_ask_that_lasts_is_relieved_by_the_watchdog(
    pipe: Pipe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_relief, "RELIEVE_AFTER", 0.001)
    later = threading.Event()

    serving = Serving(pipe)
    pipe.send_inline(waiting_for(later))
    pipe.send_set(later)
    pipe.send_end()

    assert serving.result() is False
    assert later.is_set()
    assert pipe.readers[1] != serving.thread.ident


def test_a_quick_inline_ask_keeps_the_pipe(pipe: Pipe) -> None:
    serving = Serving(pipe)
    pipe.send_inline(lambda: None)
    pipe.send_inline(lambda: None)
    pipe.send_end()

    assert serving.result() is False
    assert pipe.readers == [serving.thread.ident] * 3


def test_a_relieved_reader_stands_by_to_relieve_the_next(pipe: Pipe) -> None:
    first_over = threading.Event()
    second_over = threading.Event()

    def wait_until(event: threading.Event) -> Callable[[], None]:
        def body() -> None:
            assert pipe.turns.relieve_me()
            assert event.wait(TIMEOUT)

        return body

    serving = Serving(pipe)
    pipe.send_inline(wait_until(first_over))
    pipe.send_set(first_over)
    # Read by the first relief, which is relieved in turn: by the thread
    # that stood by once its ask was over, not by a third.
    pipe.send(lambda: stood_by(pipe.turns))
    pipe.send_inline(wait_until(second_over))
    pipe.send_set(second_over)
    pipe.send_end()

    assert serving.result() is False
    assert len(set(pipe.readers)) == 2


def test_relieve_me_is_false_for_the_reader_outside_an_inline_ask(
    pipe: Pipe,
) -> None:
    answers: list[bool] = []
    serving = Serving(pipe)

    def ask_for_relief() -> bool:
        answers.append(pipe.turns.relieve_me())
        return False

    pipe.send(ask_for_relief)
    pipe.send_end()

    assert serving.result() is False
    assert answers == [False]


def test_relieve_me_is_false_for_a_thread_that_never_read_the_pipe(
    pipe: Pipe,
) -> None:
    assert pipe.turns.relieve_me() is False


def test_a_shutdown_read_by_a_relief_ends_serve_once_the_ask_is_over(
    pipe: Pipe,
) -> None:
    shut_down = threading.Event()
    release = threading.Event()

    def ask() -> None:
        assert pipe.turns.relieve_me()
        assert release.wait(TIMEOUT)

    serving = Serving(pipe)
    pipe.send_inline(ask)

    def shutdown() -> bool:
        shut_down.set()
        return True

    pipe.send(shutdown)
    assert shut_down.wait(TIMEOUT)
    assert serving.thread.is_alive()  # its ask goes on
    release.set()

    assert serving.result() is True
    relief = pipe.readers[-1]
    after = pipe.send_plain()  # the relief reads on
    assert after.wait(TIMEOUT)
    assert pipe.readers[-1] == relief
    pipe.send_end()


def test_a_shutdown_read_by_the_server_hands_the_pipe_to_one_standing_by(
    pipe: Pipe,
) -> None:
    over = threading.Event()
    back = threading.Event()

    def first() -> None:  # the server's: a relief reads on
        assert pipe.turns.relieve_me()
        assert over.wait(TIMEOUT)

    def second() -> None:  # the relief's: the server, standing by, reads on
        over.set()
        stood_by(pipe.turns)
        assert pipe.turns.relieve_me()
        assert back.wait(TIMEOUT)

    serving = Serving(pipe)
    pipe.send_inline(first)
    pipe.send_inline(second)
    pipe.send_set(back)
    pipe.send(lambda: stood_by(pipe.turns))
    pipe.send_shutdown()

    assert serving.result() is True
    server, relief = serving.thread.ident, pipe.readers[1]
    # (After `second` handed over: `back`, the wait, the shutdown.)
    assert pipe.readers[2:] == [server, server, server]
    after = pipe.send_plain()
    assert after.wait(TIMEOUT)
    assert pipe.readers[-1] == relief  # it stood by, and reads on
    pipe.send_end()


def test_the_end_read_by_a_relief_ends_serve(pipe: Pipe) -> None:
    over = threading.Event()

    def ask() -> None:
        assert pipe.turns.relieve_me()
        assert over.wait(TIMEOUT)

    serving = Serving(pipe)
    pipe.send_inline(ask)
    pipe.send_set(over)
    pipe.send(lambda: stood_by(pipe.turns))  # (the server, its ask over)
    pipe.send_end()

    assert serving.result() is False


def test_the_watchdog_sleeps_when_quiet_and_wakes_for_the_next_inline_ask(
    pipe: Pipe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_relief, "RELIEVE_AFTER", 0.001)
    monkeypatch.setattr(_relief, "WATCH_FOR", 0.003)
    turns = pipe.turns
    serving = Serving(pipe)
    pipe.send_inline(lambda: None)
    assert pipe.send_plain().wait(TIMEOUT)
    watchdog = turns._watchdog
    assert watchdog is not None
    with turns._watch:  # it stops watching once quiet for WATCH_FOR
        while turns._watching:
            turns._watch.wait(TIMEOUT)
    later = threading.Event()
    pipe.send_inline(waiting_for(later))
    pipe.send_set(later)  # read once the watchdog relieves
    pipe.send_end()

    assert serving.result() is False
    assert turns._watchdog is watchdog  # woken, not started again
    turns.close()
    watchdog.join(TIMEOUT)
    assert not watchdog.is_alive()
