"""Taking a sample in a fresh Python process.

Memory cannot be measured well in a process that has been running other
workloads: memory freed by them (thread stacks, malloc and pymalloc free
lists) is reused by the next ones, so a resident-size delta comes out too
small, by a different amount for each implementation. A fresh process
starts from the same place every time.

``python -m limelight._bench.fresh MODULE:FUNCTION N`` prints
``FUNCTION(N)``; :func:`sample` runs that and reads the number back. A child
that has not finished after :data:`TIMEOUT` seconds is stopped with SIGABRT,
on which its faulthandler prints every thread's stack: the error says where
it was stuck, and the run goes on.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["TIMEOUT", "main", "sample"]

TIMEOUT = 600.0
"""Seconds a child gets to take its sample: the largest take seconds, not minutes."""

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
        [sys.executable, "-X", "faulthandler", "-m", __name__, target, str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    ) as child:
        try:
            out, err = child.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGABRT)  # faulthandler: every stack
            _, err = child.communicate()
            msg = (
                f"{target}({n}) had not finished after {TIMEOUT:g} s in a fresh "
                f"process; where its threads were:\n{err.strip()}"
            )
            raise RuntimeError(msg) from None
    if child.returncode != 0:
        lines = err.strip().splitlines() or [f"exit status {child.returncode}"]
        msg = f"{target}({n}) failed in a fresh process: {lines[-1]}"
        raise RuntimeError(msg)
    return float(out)


def main(argv: Sequence[str]) -> None:
    """Print ``FUNCTION(N)`` for ``argv == [MODULE:FUNCTION, N]``."""
    target, n = argv
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    print(repr(float(function(int(n)))))  # noqa: T201


if __name__ == "__main__":  # pragma: no cover -- run by sample(), in a child process
    main(sys.argv[1:])
