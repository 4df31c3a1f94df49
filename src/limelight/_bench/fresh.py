"""Taking a sample in a fresh Python process.

Memory cannot be measured well in a process that has been running other
workloads: memory freed by them (thread stacks, malloc and pymalloc free
lists) is reused by the next ones, so a resident-size delta comes out too
small, by a different amount for each implementation. A fresh process
starts from the same place every time.

``python -m limelight._bench.fresh MODULE:FUNCTION N`` prints
``FUNCTION(N)``; :func:`sample` runs that and reads the number back.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "sample"]

# The folder holding the `limelight` package, for the child's sys.path:
# whatever way this process found it, the child finds it the same way.
_IMPORT_ROOT = str(Path(__file__).resolve().parent.parent.parent)


def sample(target: str, n: int) -> float:
    """Run ``MODULE:FUNCTION`` (`target`) with `n` in a new Python; return the result.

    Raises:
        RuntimeError: if the child process failed; its error output is in
            the message.
    """
    path = os.pathsep.join(filter(None, [_IMPORT_ROOT, os.environ.get("PYTHONPATH")]))
    child = subprocess.run(
        [sys.executable, "-m", __name__, target, str(n)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": path},
    )
    if child.returncode != 0:
        lines = child.stderr.strip().splitlines() or [f"exit status {child.returncode}"]
        msg = f"{target}({n}) failed in a fresh process: {lines[-1]}"
        raise RuntimeError(msg)
    return float(child.stdout)


def main(argv: Sequence[str]) -> None:
    """Print ``FUNCTION(N)`` for ``argv == [MODULE:FUNCTION, N]``."""
    target, n = argv
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    print(repr(float(function(int(n)))))  # noqa: T201


if __name__ == "__main__":  # pragma: no cover -- run by sample(), in a child process
    main(sys.argv[1:])
