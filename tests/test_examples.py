"""Every example runs, prints what it should, and exits cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import limelight

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SRC = Path(limelight.__file__).resolve().parent.parent
"""The folder holding the `limelight` package that the tests import."""

SUBPROCESS_TIMEOUT = 60.0

# The exact output of each example. A new example must be added here.
EXPECTED_OUTPUT = {
    "seed_x_y.py": """\
>>> x = X.start().proxy()
>>> x.y.get()
1
>>> x.stop()
""",
    "seed_a_b_c.py": """\
>>> a = A.start().proxy()
>>> a.b.c()
AttributeError: 'ThreadingFuture' object has no attribute 'c'
>>> a.b.get().c()
2   # Result calculated in the caller's thread
>>> a.stop()
""",
    "seed_a_b_c_traversable.py": """\
>>> a = A.start().proxy()
>>> a.b.c().get()
2   # Result calculated by the actor `a`
>>> a.stop()
""",
    "seed_traits_lastfm.py": """\
Connected to Last.fm as 'alice'
Now playing: Erik Satie - Gymnopedie No. 1
Scrobbled: Erik Satie - Gymnopedie No. 1
Now playing: Radio - Jingle
Not scrobbled: Radio - Jingle (shorter than 30 s)
Now playing: J. S. Bach - Air on the G String
Not scrobbled: J. S. Bach - Air on the G String (played 20 of 300 s)
Now playing: Miles Davis - So What
Scrobbled: Miles Davis - So What
2 of 4 tracks scrobbled
""",
    "stuck_program.py": """\
Started StuckWorker and BackloggedSink
StuckWorker is stuck handling a message
BackloggedSink's mailbox is growing
""",
    "pykka_program.py": """\
Running on: {library}
Pantry of the cook
Added: [6, 3]
Eggs left: 2
Could not take apples: only 3 apple left, 5 wanted
Inventory: {{'apple': 3, 'egg': 2}}
Stopped: True
""",
}

PYKKA_PROGRAM = "pykka_program.py"
"""Imports `pykka`, so it runs through the shim."""


def python(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the current interpreter with the tested `limelight` importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SRC), *filter(None, [env.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=env,
        cwd=cwd,
        check=False,
    )


def check(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def real_pykka_installed() -> bool:
    found = python(
        "-c", "import importlib.util; print(importlib.util.find_spec('pykka'))"
    )
    assert found.returncode == 0, found.stderr
    return found.stdout.strip() != "None"


def test_every_example_has_an_expected_output() -> None:
    scripts = sorted(path.name for path in EXAMPLES.glob("*.py"))

    assert scripts == sorted(EXPECTED_OUTPUT)


@pytest.mark.parametrize(
    "script",
    [name for name in sorted(EXPECTED_OUTPUT) if name != PYKKA_PROGRAM],
)
def test_example_runs(script: str) -> None:
    result = python(str(EXAMPLES / script))

    check(result, EXPECTED_OUTPUT[script])


def test_pykka_program_runs_on_limelight_through_the_shim() -> None:
    result = python("-m", "limelight.as_pykka", str(EXAMPLES / PYKKA_PROGRAM))

    check(result, EXPECTED_OUTPUT[PYKKA_PROGRAM].format(library="limelight"))


def test_pykka_program_runs_as_a_module_through_the_shim() -> None:
    result = python("-m", "limelight.as_pykka", "-m", "pykka_program", cwd=EXAMPLES)

    check(result, EXPECTED_OUTPUT[PYKKA_PROGRAM].format(library="limelight"))


def test_without_the_shim_pykka_is_not_limelight() -> None:
    result = python(str(EXAMPLES / PYKKA_PROGRAM))

    if real_pykka_installed():
        check(result, EXPECTED_OUTPUT[PYKKA_PROGRAM].format(library="pykka"))
    else:  # nothing provides `pykka`: certainly not Limelight
        assert result.returncode != 0
        assert "No module named 'pykka'" in result.stderr
