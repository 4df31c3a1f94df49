"""Run Mopidy's and Mopidy-MPD's own test suites on Pykka 4.5 and on Limelight.

Usage: ``python mopidy_suites.py WORKDIR [PYTEST_ARGS...]``, in a Python 3.13
virtual environment: ``nox -s mopidy`` runs it in its own. It

1. installs, as root with apt-get, the Debian packages that PyGObject builds
   with and that the suites play sound through (GStreamer), unless
   ``dpkg -s`` says that they are installed already;
2. downloads the sdists of Mopidy and Mopidy-MPD from PyPI and unpacks them
   in WORKDIR (once: later runs reuse them);
3. installs both from those sdists, with the ``tests`` dependency group of
   each one's ``pyproject.toml``, PyGObject, Pykka 4.5 and this checkout of
   Limelight (editable);
4. runs each suite from its unpacked sdist, so that its own pytest
   configuration applies, twice: on Pykka, then with ``-p limelight.as_pykka``;
5. prints both runs' counts, and every test whose outcome differs between
   them, and exits non-zero if any does, or if a run collected nothing or
   stopped short.

Mopidy 4.0.5 refuses to start on a GStreamer older than 1.26.2, which Debian
12 (1.22) is: ``gst_version_shim.py`` gets it past that check, and
``outcome_log.py`` records each test's outcome; both are pytest plugins in
this folder.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

if sys.version_info >= (3, 11):
    import tomllib

HERE = Path(__file__).resolve().parent
"""This folder, which the pytest runs get on PYTHONPATH for the two plugins."""
PROJECT = HERE.parents[1]
"""Limelight's checkout, installed editable."""

PYKKA = "pykka==4.5.0"
# PyGObject 3.51 and newer build against girepository-2.0, which Debian 12
# does not have.
PYGOBJECT = "PyGObject>=3.50,<3.51"
# Safety nets only: a test that hangs fails alone, a run that hangs ends, and
# so does one whose pytest has ended but whose process does not exit (actor
# threads left running keep it alive).
TEST_TIMEOUT = 120
RUN_TIMEOUT = 900
EXIT_TIMEOUT = 30
REPORTS_SHOWN = 10
"""For how many differing tests of a suite the end of each failure is shown."""

APT_PACKAGES = (
    # To build PyGObject and pycairo.
    "gcc",
    "pkg-config",
    "libffi-dev",
    "libgirepository1.0-dev",
    "libcairo2-dev",
    # GStreamer, its introspection data, and the elements the suites use.
    "gir1.2-gstreamer-1.0",
    "gir1.2-gst-plugins-base-1.0",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-ugly",
)

LIBRARIES = ("pykka", "limelight")
"""What each suite runs on, in this order."""

# The order of pytest's own summary line, for printing counts.
CATEGORIES = ("failed", "passed", "skipped", "xfailed", "xpassed", "error")


@dataclass(frozen=True)
class Suite:
    """One project whose test suite runs, from its sdist."""

    name: str
    version: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def archive_stem(self) -> str:
        """The sdist's file name without ".tar.gz", as PEP 625 spells it."""
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}"


SUITES = (Suite("mopidy", "4.0.5"), Suite("mopidy-mpd", "4.0.1"))
"""In install order: Mopidy-MPD depends on Mopidy."""


@dataclass
class Run:
    """What one run of one suite on one library gave."""

    library: str
    exitstatus: int | None  # None: it was stopped, for the reason in `stopped`
    stopped: str | None
    outcomes: dict[str, str]
    reports: dict[str, str]
    seconds: float

    def counts(self) -> str:
        counts = Counter(
            category
            for outcome in self.outcomes.values()
            for category in outcome.split("+")
        )
        order = [*CATEGORIES, *sorted(set(counts) - set(CATEGORIES))]
        # "errors", as pytest says it; the other words have no plural.
        plural = {"error": "errors"}
        return ", ".join(
            f"{counts[name]} {plural.get(name, name) if counts[name] > 1 else name}"
            for name in order
            if counts[name]
        )

    def problem(self) -> str | None:
        """Say why this run cannot be compared, if it cannot."""
        if self.stopped:
            return self.stopped
        if self.exitstatus not in {0, 1}:  # 1: some tests failed, all ran
            return f"pytest exited with status {self.exitstatus}"
        if not self.outcomes:
            return "collected no tests"
        return None


def say(message: str) -> None:
    """Print one line of this program's own output, flushed before a child's."""
    print(f"mopidy_suites > {message}", flush=True)  # noqa: T201 -- its output


def run(command: Sequence[str], env: dict[str, str] | None = None) -> None:
    """Run a command, showing it first, and stop this program if it fails."""
    say(shlex.join(command))
    status = subprocess.run(command, env=env, check=False).returncode
    if status:
        say(f"failed with exit status {status}: {command[0]}")
        raise SystemExit(status)


def install_apt_packages() -> None:
    """Install what of APT_PACKAGES is missing, as root with apt-get."""
    if not shutil.which("dpkg"):
        say("not Debian: PyGObject and GStreamer 1.22 or newer must be installed")
        return
    listed = subprocess.run(
        ["dpkg", "-s", *APT_PACKAGES], capture_output=True, text=True, check=False
    ).stdout
    installed: set[str] = set()
    for stanza in listed.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line
        )
        if fields.get("Status") == "install ok installed":
            installed.add(fields.get("Package", ""))
    missing = [name for name in APT_PACKAGES if name not in installed]
    if not missing:
        return
    if not (shutil.which("apt-get") and os.geteuid() == 0):
        say(f"missing Debian packages; as root: apt-get install {' '.join(missing)}")
        raise SystemExit(1)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", *APT_PACKAGES], env=env)


def unpacked_sdist(suite: Suite, workdir: Path) -> Path:
    """Return the folder of the suite's unpacked sdist, downloading it if needed."""
    folder = workdir / suite.archive_stem
    archive = workdir / f"{suite.archive_stem}.tar.gz"  # what pip installs
    if not archive.is_file():
        run([
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", "--dest", str(workdir), suite.requirement,
        ])  # fmt: skip
    if (folder / "pyproject.toml").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    # Unpacked aside, then moved: an interrupted run leaves no half folder.
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        with tarfile.open(archive) as sdist:
            sdist.extractall(scratch, filter="data")
        (Path(scratch) / suite.archive_stem).rename(folder)
    return folder


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file."""
    if sys.version_info < (3, 11):
        msg = "tomllib is new in Python 3.11"
        raise RuntimeError(msg)
    else:  # the else keeps type checkers of 3.10 code from calling this unreachable
        return tomllib.loads(path.read_text(encoding="utf-8"))


def dependency_group(pyproject: Path, name: str) -> list[str]:
    """Return the requirements of one PEP 735 dependency group of a pyproject.toml."""

    def normal(group: str) -> str:
        return re.sub(r"[-_.]+", "-", group).lower()

    data = read_toml(pyproject)
    tables = cast("dict[str, list[str | dict[str, str]]]", data["dependency-groups"])
    groups = {normal(group): items for group, items in tables.items()}

    def resolve(group: str) -> list[str]:
        requirements: list[str] = []
        for item in groups[normal(group)]:
            if isinstance(item, str):
                requirements.append(item)
            else:
                requirements += resolve(item["include-group"])
        return requirements

    return resolve(name)


def install(sdists: dict[Suite, Path]) -> None:
    """Install the suites' projects, their test dependencies, Pykka and Limelight."""
    requirements = [PYKKA, PYGOBJECT, "pytest-timeout>=2.3"]
    for suite, folder in sdists.items():
        try:
            current = importlib.metadata.version(suite.name)
        except importlib.metadata.PackageNotFoundError:
            current = None
        # Once installed from the sdist, the pinned name is enough: pip then
        # builds nothing again.
        installed = current == suite.version
        archive = folder.parent / f"{suite.archive_stem}.tar.gz"
        requirements.append(suite.requirement if installed else str(archive))
        requirements += dependency_group(folder / "pyproject.toml", "tests")
    run([
        sys.executable, "-m", "pip", "install", "--quiet",
        *requirements, "-e", str(PROJECT),
    ])  # fmt: skip


def run_suite(
    suite: Suite, folder: Path, library: str, workdir: Path, pytest_args: list[str]
) -> Run:
    """Run the suite's tests from its sdist folder on Pykka or on Limelight."""
    log = workdir / f"{suite.archive_stem}-{library}.json"
    log.unlink(missing_ok=True)
    if library == "limelight":
        library_plugins = ["-p", "limelight.as_pykka"]
    else:
        # Limelight's own pytest plugin loads by itself once it is installed:
        # the run on Pykka goes without it.
        library_plugins = ["-p", "no:limelight"]
    command = [
        sys.executable, "-m", "pytest", *library_plugins,
        "-p", "gst_version_shim", "-p", "outcome_log", f"--outcome-log={log}",
        "-p", "no:cacheprovider", f"--timeout={TEST_TIMEOUT}",
        "-q", "--tb=short", "-rfE", "tests", *pytest_args,
    ]  # fmt: skip
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    say(f"{suite.label} on {library}: cd {folder} && {shlex.join(command)}")
    start = time.monotonic()
    process = subprocess.Popen(
        command, cwd=folder, env={**os.environ, "PYTHONPATH": path}
    )
    stopped = None
    ended = None  # when pytest wrote the log, at the end of its run
    while process.poll() is None:
        now = time.monotonic()
        if ended is None and log.is_file():
            ended = now
        if now - start > RUN_TIMEOUT:
            stopped = f"still running after {RUN_TIMEOUT} s: stopped"
        elif ended is not None and now - ended > EXIT_TIMEOUT:
            stopped = (
                f"pytest's run ended, but its process had not exited "
                f"{EXIT_TIMEOUT} s later (threads left running?): stopped"
            )
        if stopped:
            process.kill()
            process.wait()
            say(f"{suite.label} on {library}: {stopped}")
            break
        time.sleep(0.1)
    seconds = time.monotonic() - start
    exitstatus = None if stopped else process.returncode
    if not log.is_file():
        return Run(library, exitstatus, stopped, {}, {}, seconds)
    result = json.loads(log.read_text(encoding="utf-8"))
    outcomes, reports = result["outcomes"], result["reports"]
    return Run(library, exitstatus, stopped, outcomes, reports, seconds)


def compare(suite: Suite, pykka: Run, limelight: Run) -> list[str]:
    """Print the tests whose outcomes differ; return the suite's problems."""
    problems = [
        f"{suite.label} on {each.library}: {problem}"
        for each in (pykka, limelight)
        if (problem := each.problem())
    ]
    differing = sorted(
        nodeid
        for nodeid in pykka.outcomes.keys() | limelight.outcomes.keys()
        if pykka.outcomes.get(nodeid) != limelight.outcomes.get(nodeid)
    )
    for index, nodeid in enumerate(differing):
        on_pykka = pykka.outcomes.get(nodeid, "not run")
        on_limelight = limelight.outcomes.get(nodeid, "not run")
        # The form of pytest's own short summary, which CI's digest picks up.
        print(  # noqa: T201 -- its output
            f"FAILED {suite.name}::{nodeid} - differs: "
            f"pykka {on_pykka}, limelight {on_limelight}"
        )
        if index >= REPORTS_SHOWN:
            continue
        for each in (pykka, limelight):
            if report := each.reports.get(nodeid):
                print(f"   on {each.library}:\n{report}")  # noqa: T201 -- its output
    if len(differing) > REPORTS_SHOWN:
        say(f"the failure reports of the first {REPORTS_SHOWN} only: pytest's have all")
    if differing:
        problems.append(
            f"{suite.label}: {len(differing)} tests differ between pykka and limelight"
        )
    return problems


def main(argv: list[str]) -> int:
    """Install, run both suites on both libraries, compare; return the exit status."""
    if not argv or argv[0].startswith("-"):
        say("usage: python mopidy_suites.py WORKDIR [PYTEST_ARGS...]")
        return 2
    workdir = Path(argv[0]).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    install_apt_packages()
    sdists = {suite: unpacked_sdist(suite, workdir) for suite in SUITES}
    install(sdists)
    problems: list[str] = []
    counts: list[str] = []
    for suite, folder in sdists.items():
        pykka, limelight = (
            run_suite(suite, folder, library, workdir, argv[1:])
            for library in LIBRARIES
        )
        problems += compare(suite, pykka, limelight)
        counts.append(
            f"{suite.label}: "
            + " | ".join(
                f"{each.library} {each.counts() or 'nothing'} ({each.seconds:.0f} s)"
                for each in (pykka, limelight)
            )
        )
    for line in counts:
        say(line)
    for problem in problems:
        say(f"problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
