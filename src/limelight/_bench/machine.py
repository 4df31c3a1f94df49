"""What the machine does to the figures: pinning threads to a CPU, and its load.

Two threads handing work to each other run about ten times slower when the
scheduler puts them on two CPUs (each hand-over wakes the other CPU) than
when they share one, and on a machine with few CPUs it decides anew for
every sample. :func:`pinned` takes the choice away: for the rows that ask
for it, every thread of the process runs on one CPU, so that their ratios
hold from run to run.

The same goes for two processes talking through a pipe, so the processes
this one starts are pinned along with it (where ``/proc`` lists them).

A busy machine makes every figure noisier: :func:`conditions` reads the
load average and the CPU time stolen by the hypervisor, so that the report
can say when a run was made on a loaded machine.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUSY_SHARE",
    "STEAL_SHARE",
    "Conditions",
    "Watch",
    "cpu_times",
    "load_average",
    "pin_to",
    "pinned",
    "thread_ids",
]

BUSY_SHARE = 0.5
"""A load average above this share of the CPUs counts as a loaded machine."""

STEAL_SHARE = 0.05
"""CPU time stolen by the hypervisor above this share counts as a loaded machine."""

OWN_LOAD = 1.0
"""The load the run itself adds by its end: one busy thread, most of the time."""

_PROC = Path("/proc")
_STAT = Path("/proc/stat")


def _tasks(pid: int) -> list[str]:
    try:
        return os.listdir(_PROC / str(pid) / "task")
    except OSError:  # not Linux, or the process has ended
        return []


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in _tasks(pid):
        try:
            text = (_PROC / str(pid) / "task" / task / "children").read_text()
        except OSError:  # the thread has ended
            continue
        found += [int(child) for child in text.split()]
    return found


def thread_ids() -> list[int]:
    """The kernel's ids of the threads of this process and of all it started.

    Where ``/proc`` does not list them, only this process's Python threads.
    """
    pids = [os.getpid()]
    for pid in pids:  # (grows as it goes: children, then theirs)
        pids += _children(pid)
    found = [int(task) for pid in pids for task in _tasks(pid)]
    if found:
        return found
    return [t.native_id for t in threading.enumerate() if t.native_id is not None]


def pin_to(cpus: set[int]) -> None:
    """Let every thread of `thread_ids` run on `cpus` only."""
    for thread_id in thread_ids():
        # A thread may have ended since it was listed.
        with contextlib.suppress(OSError):
            os.sched_setaffinity(thread_id, cpus)


@contextlib.contextmanager
def pinned() -> Generator[int | None, None, None]:
    """Run every thread of this process, and of those it started, on one CPU.

    Threads and processes started inside the block inherit the mask (call
    `pin_to` again for those started by a process that was not pinned, such
    as a fork server); all of them get the CPUs of this process back at the
    end. Yields the CPU (the highest this process may use, since the lowest
    often takes the interrupts), or `None` where the OS does not let a
    process choose (``os.sched_setaffinity`` is missing), and then changes
    nothing.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    cpu = max(before)
    pin_to({cpu})
    try:
        yield cpu
    finally:
        pin_to(before)


def load_average() -> float | None:
    """The load average over the last minute, if the OS tells it."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):  # AttributeError: not on Windows
        return None


def cpu_times() -> tuple[int, int] | None:
    """``(stolen, total)`` CPU time of the machine since boot, in ticks (Linux only)."""
    try:
        fields = _STAT.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    ticks = [int(field) for field in fields[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; the
    # guest times are already counted in user and nice.
    stolen = ticks[7] if len(ticks) > 7 else 0  # noqa: PLR2004
    return stolen, sum(ticks[:8])


@dataclass(frozen=True)
class Conditions:
    """The machine's load at the start and the end of a run."""

    cpus: int
    load_before: float | None = None
    load_after: float | None = None
    stolen: float | None = None
    """The share of CPU time the hypervisor took during the run."""

    def warnings(self) -> list[str]:
        """What made this run's figures noisier than on a quiet machine.

        The machine counts as loaded when the load average exceeds
        :data:`BUSY_SHARE` of the CPUs as the run starts, or at its end
        once the run's own load (:data:`OWN_LOAD`) is taken off, or when
        the hypervisor stole more than :data:`STEAL_SHARE` of the CPU time.
        """
        busy = BUSY_SHARE * self.cpus
        found: list[str] = []
        if self.load_before is not None and self.load_before > busy:
            found.append(
                f"the machine was busy as the run began (load average "
                f"{self.load_before:.2f} on {self.cpus} CPUs)"
            )
        if self.load_after is not None and self.load_after - OWN_LOAD > busy:
            found.append(
                f"the machine was busy as the run ended (load average "
                f"{self.load_after:.2f} on {self.cpus} CPUs, this run's own "
                f"{OWN_LOAD:g} included)"
            )
        if self.stolen is not None and self.stolen > STEAL_SHARE:
            found.append(
                f"the hypervisor took {self.stolen:.0%} of the CPU time (steal)"
            )
        return found


class Watch:
    """Notes the load as a run starts; :meth:`finish` adds the end's."""

    def __init__(self) -> None:
        self._cpus = os.cpu_count() or 1
        self._load = load_average()
        self._ticks = cpu_times()

    def finish(self) -> Conditions:
        """The conditions of the run, from its start to now."""
        stolen = None
        ticks = cpu_times()
        if self._ticks is not None and ticks is not None:
            total = ticks[1] - self._ticks[1]
            if total > 0:
                stolen = (ticks[0] - self._ticks[0]) / total
        return Conditions(self._cpus, self._load, load_average(), stolen)
