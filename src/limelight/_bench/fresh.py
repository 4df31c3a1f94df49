"""Taking a sample in a fresh Python process.

Memory cannot be measured well in a process that has been running other
workloads: memory freed by them (thread stacks, malloc and pymalloc free
lists) is reused by the next ones, so a resident-size delta comes out too
small, by a different amount for each implementation. A fresh process
starts from the same place every time.

``python -m limelight._bench.fresh MODULE:FUNCTION N [SECONDS]`` prints
``FUNCTION(N)``; :func:`sample` runs that and reads the number back. A child
still busy after :data:`TIMEOUT` seconds prints every thread's stack
(faulthandler) and exits, and the error says where it was stuck; anything it
started that still holds its output open is killed with it. The run goes on.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["TIMEOUT", "main", "sample"]

TIMEOUT = 600.0
"""Seconds a child gets to take its sample: the largest take seconds, not minutes."""

_GRACE = 10.0
"""Seconds more for a stuck child to print its stacks and exit."""

_STUCK = re.compile(r"^Timeout \(\d+:\d\d:\d\d\)!$", re.MULTILINE)
"""The line that begins faulthandler's report of a child that ran out of time."""

# The folder holding the `limelight` package, for the child's sys.path:
# whatever way this process found it, the child finds it the same way.
_IMPORT_ROOT = str(Path(__file__).resolve().parent.parent.parent)


def sample(target: str, n: int) -> float:
    """Run ``MODULE:FUNCTION`` (`target`) with `n` in a new Python; return the result.

    Raises:
        RuntimeError: if the child process failed, or had not finished
            after :data:`TIMEOUT` seconds; its error output (for a stuck
            child, the stack of each of its threads) is in the message.
    """
    path = os.pathsep.join(filter(None, [_IMPORT_ROOT, os.environ.get("PYTHONPATH")]))
    with subprocess.Popen(
        [sys.executable, "-m", __name__, target, str(n), repr(TIMEOUT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
        start_new_session=True,  # its own process group, with all it starts
    ) as child:
        try:
            out, err = child.communicate(timeout=TIMEOUT + _GRACE)
        except subprocess.TimeoutExpired:
            # The child has ended (on its own timer, at the latest), but a
            # process it started holds its output open: end them all.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            msg = (
                f"{target}({n}): a process started by the fresh process still "
                f"held its output open after {TIMEOUT + _GRACE:g} s"
            )
            raise RuntimeError(msg) from None
    if child.returncode != 0:
        if _STUCK.search(err):
            msg = (
                f"{target}({n}) had not finished after {TIMEOUT:g} s in a fresh "
                f"process; where its threads were:\n{err.strip()}"
            )
        else:
            lines = err.strip().splitlines() or [f"exit status {child.returncode}"]
            msg = f"{target}({n}) failed in a fresh process: {lines[-1]}"
        raise RuntimeError(msg)
    return float(out)


def main(argv: Sequence[str]) -> None:
    """Print ``FUNCTION(N)`` for ``argv == [MODULE:FUNCTION, N]``.

    With a third item, SECONDS, a sample still running after that long
    prints every thread's stack and exits.
    """
    target, n, *limit = argv
    if limit:
        faulthandler.dump_traceback_later(float(limit[0]), exit=True)
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    print(repr(float(function(int(n)))))  # noqa: T201


if __name__ == "__main__":  # pragma: no cover -- run by sample(), in a child process
    main(sys.argv[1:])
