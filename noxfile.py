"""Development sessions for Limelight: `nox` runs them all, in order, but `soak`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
TOOLS_PYTHON = "3.12"
# The versions whose test runs measure coverage. Not 3.11: there, line
# tracing can livelock the interpreter (see the tests session), so 3.11 runs
# the same tests untraced, and the other three hold coverage to 100%.
TRACED_PYTHONS = ["3.10", "3.12", "3.13"]
PYKKA = "pykka==4.5.0"  # Pykka 4.5 needs Python >= 3.11.
HERE = Path(__file__).parent
PYPROJECT = nox.project.load_toml(HERE / "pyproject.toml")

nox.needs_version = ">=2025.2.9"  # nox.project.dependency_groups
nox.options.default_venv_backend = "venv"
# Only interpreters already on this machine: never download one.
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True


def _pyenv_root() -> Path:
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    if pyenv := shutil.which("pyenv"):
        out = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, check=False
        )
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return Path.home() / ".pyenv"


def _add_pyenv_pythons_to_path() -> None:
    """Put the newest pyenv 3.X.Y of each wanted 3.X ahead of pyenv's shims.

    A shim such as `python3.10` exists for every installed version, but it
    refuses to run unless that version is selected with `pyenv global`, so
    nox would find it and then fail. The real bin folders come first instead.
    """
    versions = _pyenv_root() / "versions"
    bins: list[str] = []
    for minor in PYTHONS:
        pattern = re.compile(rf"{re.escape(minor)}\.(\d+)")
        found = [
            (int(m.group(1)), path)
            for path in versions.glob(f"{minor}.*")
            if (m := pattern.fullmatch(path.name)) and (path / "bin").is_dir()
        ]
        if found:
            bins.append(str(max(found)[1] / "bin"))
    if bins:
        os.environ["PATH"] = os.pathsep.join([*bins, os.environ.get("PATH", "")])


_add_pyenv_pythons_to_path()


def _group(name: str) -> tuple[str, ...]:
    return nox.project.dependency_groups(PYPROJECT, name)


def _paths(*candidates: str) -> list[str]:
    """Return the candidates that hold Python code: an empty folder is no error."""
    return [
        name
        for name in candidates
        if (path := HERE / name).is_file() or any(path.rglob("*.py"))
    ]


def _version_tuple(python: object) -> tuple[int, ...]:
    return tuple(int(part) for part in str(python).split("."))


def _install_for_checks(session: nox.Session) -> None:
    """Install the package with everything that src, tests and examples import."""
    session.install(
        "-e",
        ".[bench,gevent,eventlet,otel,top,ray]",
        *_group("tests"),
        *_group("typing"),
    )
    if _version_tuple(session.python) < (3, 11):
        # Type checking only reads Pykka's source, so 3.10 can still see it.
        session.install("--no-deps", "--ignore-requires-python", PYKKA)


def _install_tmux(session: nox.Session) -> None:
    """Install tmux, which the screen test of `limelight top` runs in, if missing.

    CI runs as root on Debian, so apt-get does it there; elsewhere the test
    is skipped, saying why.
    """
    if shutil.which("tmux"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "tmux", external=True)
    else:
        session.warn("tmux is missing: tests/test_top_screen.py will be skipped")


@nox.session(python=TOOLS_PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check, and the import contracts of the kernel."""
    session.install(*_group("lint"))
    paths = _paths("src", "tests", "examples", "tools", "noxfile.py", ".ci")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    # The kernel boundary ([tool.importlinter] in pyproject.toml), read from
    # the source tree: nothing needs installing.
    session.run("lint-imports", env={"PYTHONPATH": "src"})


@nox.session(python=["3.10", "3.13"])
def mypy(session: nox.Session) -> None:
    """Mypy, strict, against the oldest and newest supported Python."""
    _install_for_checks(session)
    session.run(
        "mypy",
        f"--python-version={session.python}",
        *(session.posargs or _paths("src", "tests", "examples", "tools")),
    )


@nox.session(python=TOOLS_PYTHON)
def pyright(session: nox.Session) -> None:
    """Basedpyright, strict."""
    _install_for_checks(session)
    session.run(
        "basedpyright",
        "--pythonpath",
        str(Path(session.bin) / "python"),
        *(session.posargs or _paths("src", "tests", "examples", "tools")),
    )


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Pytest with branch coverage, one data file per Python version."""
    # The [bench] extra brings rich, and Pykka where Python >= 3.11; [gevent]
    # and [eventlet] the greenlet runtimes' dependencies; [otel] and [top]
    # limelight.observe's; [ray] Ray, whose tests start one local cluster.
    session.install("-e", ".[bench,gevent,eventlet,otel,top,ray]", *_group("tests"))
    _install_tmux(session)
    if session.python not in TRACED_PYTHONS:
        # CPython 3.11's eval loop spins forever on a function's first
        # instruction when tracing is on and a pending call is being run
        # (the eval breaker stays set while the call is busy). greenlet
        # frees the greenlets of an ended thread in such a pending call, and
        # that can run a weakref callback written in Python: under coverage,
        # about one full run in two hung so (gdb: make_pending_calls ->
        # greenlet's PendingCallback_DestroyQueue -> weakref callback ->
        # make_pending_calls, round and round). Untraced, it cannot happen.
        session.run("pytest", "--durations=15", *session.posargs)
        return
    session.run(
        "pytest",
        "--cov",
        "--cov-branch",
        "--cov-report=",
        # One version alone may miss version-specific lines: the coverage
        # session holds the combined data to 100%.
        "--cov-fail-under=0",
        "--durations=15",  # where the time goes, in CI's log
        *session.posargs,
        env={"COVERAGE_FILE": f".coverage.{session.python}"},
    )


@nox.session(python="3.13", default=False)
def soak(session: nox.Session) -> None:
    """Long runs that must leave memory, threads and fds flat: tests/soak/.

    Not part of the default `nox` run: run it with `nox -s soak`, and
    before resolving anything about leaks. Its files are named
    ``soak_*.py``, which a plain `pytest` does not collect. Each runs on
    every runtime (threading, asyncio, gevent, eventlet, process, and Ray's
    pooled hosts; some skip where they cannot look), warms up, then checks
    that the test process's RSS, threads (Python's and the OS's), fds, live
    objects and allocated blocks stay flat (tests/soak/_measure.py), and on
    the process runtime its workers' too; and prints what it measured.
    About four minutes in all, on two CPUs:

    - soak_restarts.py: a supervised child crashed and restarted,
      ``LIMELIGHT_SOAK_RESTARTS`` times (10,000; ``LIMELIGHT_SOAK_WARM_UP``,
      a tenth, warm up);
    - soak_churn.py: rounds of ``LIMELIGHT_SOAK_CHURN_ACTORS`` actors (50)
      started, asked once and stopped, measured after a warm-up:
      ``LIMELIGHT_SOAK_CHURN_ROUNDS`` (1,000),
      ``LIMELIGHT_SOAK_CHURN_PROCESS_ROUNDS`` (400) on the process runtime,
      ``LIMELIGHT_SOAK_CHURN_RAY_ROUNDS`` (100) on Ray; and crashed
      actors must be freed in the process runtime's workers;
    - soak_messages.py: tells and asks (three to one) to
      ``LIMELIGHT_SOAK_MESSAGE_ACTORS`` actors (4), none lost:
      ``LIMELIGHT_SOAK_MESSAGES`` (2,000,000),
      ``LIMELIGHT_SOAK_PROCESS_MESSAGES`` (200,000) on the process runtime,
      ``LIMELIGHT_SOAK_RAY_MESSAGES`` (20,000) on Ray;
    - soak_endpoint.py: ``LIMELIGHT_SOAK_ENDPOINT_WAVES`` waves (40) of
      clients that never read the observability endpoint's snapshot of
      3,000 actors, while a good client's snapshots must stay prompt.

    Pass pytest arguments after ``--``, such as one file, or
    ``-m "not ray"`` to leave Ray out.
    """
    session.install("-e", ".[gevent,eventlet,ray]", *_group("tests"))
    session.run(
        "pytest",
        "-o",
        "python_files=soak_*.py",
        "-s",  # each soak prints what it measured
        *(session.posargs or ["tests/soak"]),
    )


@nox.session(python=["3.11", "3.13"])
def pykka_suite(session: nox.Session) -> None:
    """Pykka 4.5's own test suite and examples, unmodified, run on Limelight.

    Both come from Pykka's sdist on PyPI, so none of it is copied into this
    repository. The suite runs with `pykka` resolving to Limelight, less its
    one test of a private module (`pykka._envelope`, which Limelight does not
    have): on the threading runtime, then on asyncio, gevent and eventlet
    (tests/real_programs/pykka_on_runtime.py). Each example runs on Pykka
    itself, then on Limelight, and must print the same
    (tests/real_programs/pykka_examples.py says what is compared).
    """
    # Pykka itself too, for the examples' first runs; the shim, which the
    # suite's run loads first (`-p`), keeps it from being imported there.
    session.install(
        "-e", ".[gevent,eventlet]", "pytest>=8.3", "pytest-mock>=3.14", PYKKA
    )  # fmt: skip
    sdist_dir = Path(session.create_tmp()) / "pykka-sdist"
    session.run(
        "python", "-m", "pip", "download", "--quiet", "--no-deps",
        "--no-binary", ":all:", "--dest", str(sdist_dir), PYKKA,
    )  # fmt: skip
    (sdist,) = sdist_dir.glob("pykka-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(sdist_dir, filter="data")
    suite = next(sdist_dir.glob("pykka-*/"))
    session.chdir(suite)
    suite_options = (
        # The sdist's own configuration (none for pytest), so that pytest
        # does not climb to Limelight's pyproject.toml and its settings.
        "-c", "pyproject.toml",
        "-p", "no:cacheprovider", "--ignore=tests/test_envelope.py", "tests",
    )  # fmt: skip
    session.run(
        "python", "-m", "pytest", "-p", "limelight.as_pykka", *suite_options,
    )  # fmt: skip
    # The same suite on each other runtime that can run it: the plugin gives
    # it that runtime's classes as pykka.ThreadingActor and ThreadingFuture
    # (monkey-patching first for gevent and eventlet) and deselects the tests
    # that look for a ThreadingActor's own OS thread, saying why. Process and
    # Ray actors cannot: the suite's actor classes are defined in functions
    # and take threading.Events, which cannot cross to another process.
    for runtime in ("asyncio", "gevent", "eventlet"):
        session.run(
            "python", "-m", "pytest", "-p", "limelight.as_pykka",
            "-p", "pykka_on_runtime", f"--pykka-runtime={runtime}", *suite_options,
            env={"PYTHONPATH": str(HERE / "tests" / "real_programs")},
        )  # fmt: skip
    session.run(
        "python", str(HERE / "tests" / "real_programs" / "pykka_examples.py"),
        "examples",  # in the unpacked sdist, the current folder
    )  # fmt: skip


@nox.session(python="3.13")
def mopidy(session: nox.Session) -> None:
    """Mopidy's and Mopidy-MPD's own test suites: on Limelight as on Pykka 4.5.

    Both suites come from their sdists on PyPI, and each runs on Pykka, then
    on Limelight; any test whose outcome differs fails the session. The
    script says what it installs (GStreamer with apt-get, when root) and how;
    arguments after `--` go to each pytest run. Then the real Mopidy server
    runs on each library in turn, driven by an MPD client over TCP, and both
    must answer the same, log no error and stop on SIGTERM
    (tests/real_programs/mopidy_server.py says what is compared).
    """
    session.run(
        "python",
        str(HERE / "tests" / "real_programs" / "mopidy_suites.py"),
        session.create_tmp(),
        *session.posargs,
    )
    session.run(
        "python",
        str(HERE / "tests" / "real_programs" / "mopidy_server.py"),
        session.create_tmp(),
    )


@nox.session(python=TOOLS_PYTHON)
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel as a release would, and use the wheel.

    The wheel is built from the sdist, so a file the sdist leaves out fails
    here; `twine check --strict` holds both to what PyPI accepts, and the
    README's blocks then run against the installed wheel, not `src/`.
    """
    session.install("build>=1.2", "twine>=6.1", *_group("tests"))
    dist = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(HERE))
    built = sorted(str(path) for path in dist.iterdir())
    session.run("twine", "check", "--strict", *built)
    (wheel,) = (path for path in built if path.endswith(".whl"))
    session.install("--force-reinstall", "--no-deps", wheel)
    # The README's blocks (its quick start), run by tests/test_docs.py
    # against the installed wheel: this checkout's `src/` is on no path.
    session.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        str(HERE / "tests" / "test_docs.py"),
        "-k",
        "README",
    )
    session.run(
        "python",
        "-c",
        "import limelight, pathlib; "
        "assert 'site-packages' in pathlib.Path(limelight.__file__).parts, "
        "limelight.__file__",
    )


@nox.session(python=TOOLS_PYTHON)
def coverage(session: nox.Session) -> None:
    """Combine the per-version data and require 100% coverage."""
    session.install("coverage>=7.10")
    data = [f".coverage.{python}" for python in TRACED_PYTHONS]
    missing = [name for name in data if not (HERE / name).exists()]
    if missing:
        session.error(f"no coverage data in {', '.join(missing)}: run the tests")
    # Also the data of processes that outlived pytest's own combining (the
    # forkserver that limelight.process's tests start exits after pytest).
    late = [
        path.name
        for python in TRACED_PYTHONS
        for path in HERE.glob(f".coverage.{python}.*")
    ]
    # Combining consumes the per-version files, so rerun the tests to redo it.
    session.run("coverage", "combine", *data, *sorted(late))
    session.run("coverage", "report", "--fail-under=100")


def _install_chromium(session: nox.Session) -> str | None:
    """Return Chromium's path, installing Debian's with apt-get if root; else None.

    The docs session's layout check runs it headless; without it, the check
    is skipped, saying why.
    """
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True)
        return shutil.which("chromium")
    return None


@nox.session(python=TOOLS_PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation strictly, then check its layout in a browser.

    Every warning of the build is an error. Then
    tools/check_docs_layout.py opens each built page that has a table (the
    runtimes page's among them) in headless Chromium, 1280 px wide, and
    fails if a table is wider than the page or breaks a name in code
    mid-word (its docstring says how to check by hand).
    The docs' code blocks are run by the tests (tests/test_docs.py).
    """
    session.install(*_group("docs"))
    session.run(
        "mkdocs",
        "build",
        "--strict",
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1"},  # mkdocs-material's end-of-life banner
    )
    if session.posargs:  # (the site may be built elsewhere, or not at all)
        session.log("arguments given: run tools/check_docs_layout.py yourself")
        return
    chromium = _install_chromium(session)
    if chromium is None:
        session.warn("chromium is missing: the docs' layout check is skipped")
        return
    session.run(
        "python",
        str(HERE / "tools" / "check_docs_layout.py"),
        "--site",
        str(HERE / "site"),
        "--chromium",
        chromium,
        "--screenshots",
        session.create_tmp(),
    )
