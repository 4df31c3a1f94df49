"""Functions that tests/test_bench.py runs in fresh processes, by module name."""

from __future__ import annotations

import subprocess
import sys


def leave_a_process_behind(seconds: int) -> float:
    """Start a process that outlives this one by `seconds`, holding its output."""
    subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
    return 1.0
