"""Run Pykka 4.5's own examples on Pykka and on Limelight: both must print alike.

Usage: ``python pykka_examples.py EXAMPLES_DIR``, in a virtual environment
holding both Pykka 4.5 and Limelight: ``nox -s pykka_suite`` runs it on the
``examples`` folder of Pykka's sdist, which it downloads. Each example that
ends by itself runs twice, from that folder: as ``python EXAMPLE``, on Pykka,
and as ``python -m limelight.as_pykka EXAMPLE``. The one that is a pytest
file runs under pytest instead, the second time with ``-p
limelight.as_pykka``. Both runs must end with the same exit status and print
the same, once what is not deterministic even on Pykka alone is normalised.
It prints each difference, and exits non-zero if there is any.
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

TIMEOUT = 60.0
"""Seconds that one run may take; each example takes about one at most."""

Normalise = Callable[[str], str]
"""Turns a run's standard output into what is compared."""


def say(text: str) -> None:
    """Print a line of this program's report."""
    print(text, flush=True)  # noqa: T201 -- its output


def exact(output: str) -> str:
    """Compare the output as it is: it is deterministic on both libraries."""
    return output


def untangle(message: str, group: int | str = 0) -> Normalise:
    """Normalise the output of threads that print at the same time.

    ``print()`` writes its text, then the line end, in two writes, so the
    lines of two threads that print at once come in either order and can
    even interleave within a line (``AB`` and then two line ends). This
    finds each message, a match of the pattern ``message``, wherever it is,
    and sorts them by their ``group`` (by the whole match by default). The
    sort is stable: messages of equal groups, such as those of one thread,
    keep their order. They come one a line, then the rest of the output,
    less the blank lines that interleaving leaves.
    """
    pattern = re.compile(message)

    def normalise(output: str) -> str:
        found = sorted(pattern.finditer(output), key=lambda match: match[group])
        rest = pattern.sub("", output).splitlines()
        lines = [match[0] for match in found] + [line for line in rest if line]
        return "".join(f"{line}\n" for line in lines)

    return normalise


def pytest_outcomes(output: str) -> str:
    """Keep the outcome of each test from pytest's ``-rA`` summary.

    The rest of pytest's output holds the run's duration, and the traceback
    of a failure runs through the library's own files.
    """
    outcome = re.compile(r"(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) ")
    return "".join(f"{line}\n" for line in output.splitlines() if outcome.match(line))


THREAD = r"[A-Z]\w*(?:-\d+)?"
"""A thread's name, as the examples print them: ``MainThread``, ``Actor-0``."""

EXAMPLES: dict[str, Normalise] = {
    "basic.py": exact,
    # Deterministic: each line is printed before the message or reply that
    # leads to the next one is sent.
    "cooperation.py": exact,
    # Each line starts with the name of the thread that prints it. The actor
    # prints while the main thread goes on printing: where the actor's line
    # lands among the main thread's (even inside one of them) varies from
    # run to run, on Pykka too. Each thread's own lines keep their order.
    "proxy.py": untangle(rf"(?P<thread>{THREAD}): .*?(?={THREAD}: |\n|$)", "thread"),
    # Defines an actor only: it prints nothing.
    "testing.py": exact,
    # Four actors print one line per address they look up, at the same
    # time: the order of those lines varies from run to run, on Pykka too.
    # The lookups' outcomes depend on the network's DNS answers, and are
    # compared as they are: without a network (CI's case) all fail at once.
    "worker_pool.py": untangle(r"(?:Finished|Failed) resolving \d+(?:\.\d+){3}"),
    # A pytest file (it tests testing.py): each test's outcome is compared.
    "testing_test.py": pytest_outcomes,
}

LEFT_OUT = {
    "deadlock.py": (
        "it deadlocks two actors on purpose, then sleeps forever, waiting to"
        " be sent SIGUSR1 and killed by hand (and on Limelight, the deadlock"
        " raises DeadlockError instead: a documented difference)"
    ),
    "proxy_typing.py": (
        "it is about static typing: it starts an actor and never stops it,"
        " so the actor's thread, not a daemon, keeps the process running for"
        " ever, on Pykka as on Limelight"
    ),
}

PYTEST_FILES = {"testing_test.py"}


def commands(example: str) -> tuple[list[str], list[str]]:
    """The commands that run an example on Pykka, then on Limelight."""
    if example in PYTEST_FILES:
        # With Pykka's configuration (it has none for pytest), not that of a
        # folder above the sdist, such as this project's.
        pytest = [sys.executable, "-m", "pytest", "-c", "../pyproject.toml"]
        pytest += ["-p", "no:cacheprovider"]
        return (
            [*pytest, "-rA", example],
            [*pytest, "-p", "limelight.as_pykka", "-rA", example],
        )
    return (
        [sys.executable, example],
        [sys.executable, "-m", "limelight.as_pykka", example],
    )


def run(command: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """Run a command in a folder, with its output captured."""
    return subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def report(result: subprocess.CompletedProcess[str], normalise: Normalise) -> str:
    """What is compared of a run: its exit status and its (normalised) output."""
    return (
        f"exit status {result.returncode}\n"
        f"--- standard output\n{normalise(result.stdout)}"
        f"--- standard error\n{result.stderr}"
    )


def check_libraries(folder: Path) -> None:
    """Make sure that ``pykka`` is Pykka, and Limelight under the shim.

    Otherwise the comparison would prove nothing.
    """
    probe = folder / "which_pykka.py"
    probe.write_text("import pykka\nprint(pykka.__name__)\n")
    on_pykka, on_limelight = (
        run(command, folder).stdout for command in commands(probe.name)
    )
    if (on_pykka, on_limelight) != ("pykka\n", "limelight\n"):
        sys.exit(
            f"`import pykka` gave {on_pykka.strip() or 'nothing'!r}, then under"
            f" the shim {on_limelight.strip() or 'nothing'!r}: Pykka 4.5 and"
            " Limelight must both be installed"
        )


def compare(folder: Path, example: str) -> bool:
    """Run one example on both libraries; print and return whether they agree."""
    normalise = EXAMPLES[example]
    on_pykka, on_limelight = (
        report(run(command, folder), normalise) for command in commands(example)
    )
    if on_pykka == on_limelight:
        say(f"same on Pykka and Limelight: {example}")
        return True
    say(f"DIFFERENT on Pykka and Limelight: {example}")
    diff = difflib.unified_diff(
        on_pykka.splitlines(keepends=True),
        on_limelight.splitlines(keepends=True),
        f"{example} on Pykka",
        f"{example} on Limelight",
    )
    say("".join(diff).rstrip("\n"))
    return False


def main(argv: list[str]) -> int:
    """Compare every example of the folder ``argv[0]``; return the exit status."""
    (examples,) = argv
    folder = Path(examples).resolve()
    found = {path.name for path in folder.glob("*.py")}
    unknown = found - EXAMPLES.keys() - LEFT_OUT.keys()
    missing = EXAMPLES.keys() - found
    if unknown or missing:
        say(
            f"examples unknown here: {sorted(unknown)}; missing: {sorted(missing)}"
            " (name each new one in EXAMPLES or LEFT_OUT)"
        )
        return 1
    for example, why in LEFT_OUT.items():
        say(f"left out: {example}: {why}")
    with tempfile.TemporaryDirectory() as scratch:
        check_libraries(Path(scratch))
    agreeing = [compare(folder, example) for example in sorted(EXAMPLES)]
    say(f"{sum(agreeing)} of {len(agreeing)} examples ran alike on both libraries")
    return 0 if all(agreeing) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
