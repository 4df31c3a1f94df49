"""Every ```python block of docs/ and README.md runs, as a reader would run it.

Sybil finds the blocks; each one is a test. A block is a whole program: it
is written to a file in a temporary folder and run by a fresh interpreter
(`python example.py`), so monkey-patching (gevent, eventlet), the
``if __name__ == "__main__":`` guard that process actors need, `asyncio.run()`
and Ray all behave as they do for a reader, and nothing a block starts can
leak into the rest of the suite. The block passes if the program exits with
status 0 within `BLOCK_TIMEOUT` seconds (an actor left running keeps it
alive, so it fails), having stopped every actor it started (and Ray, if it
started it), and leaving no process of its session behind.

Conventions the docs follow:

- A block whose first line is ``# NAME.py`` is the file NAME.py: it is run
  as such, and every later block of the same page finds it beside it, to
  import (``# hashing.py``, then ``# main.py`` with ``from hashing import``).
  A test module, ``# test_NAME.py``, is run by pytest instead of Python.
- A block that is only ``--8<-- "examples/x.py"`` (a snippet include) shows
  an example file, which tests/test_examples.py runs and checks.
- ``<!-- skip: next "reason" -->`` before a block skips it, with the reason
  (Sybil's skip directive). Blocks that are no Python program at all use
  another fence language instead (```text, ```sh, ```console).
- A block that imports an optional library that is not installed (Pykka on
  Python 3.10, Ray on 3.14) is skipped, saying which.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown import SkipParser
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

import limelight
from tests.test_examples import EXPECTED_OUTPUT

ROOT = Path(__file__).resolve().parent.parent
SRC = Path(limelight.__file__).resolve().parent.parent
"""The folder holding the `limelight` package that the tests import."""

DOCUMENTS = sorted(
    [*ROOT.glob("docs/**/*.md"), ROOT / "README.md"],
    key=lambda path: path.relative_to(ROOT).as_posix(),
)

BLOCK_TIMEOUT = 100.0
"""Seconds a block's program gets (one that starts Ray needs some on a busy machine)."""

LEFTOVER_GRACE = 5.0
"""Seconds the processes a block started get to end after it has exited."""

FILE_NAME = re.compile(r"#\s*([\w/]+\.py)\s*$")
"""The first line of a block that is a named file: ``# hashing.py``."""

SNIPPET = re.compile(r'--8<--\s+"([^"]+)"\s*')
"""A pymdownx.snippets include: the block shows that file."""

OPTIONAL_MODULES = {
    "pykka": "Pykka 4.5 (installed where Python >= 3.11)",
    "ray": "Ray (`limelight[ray]`, Python <= 3.13)",
    "gevent": "gevent (`limelight[gevent]`)",
    "eventlet": "eventlet (`limelight[eventlet]`)",
    "opentelemetry": "OpenTelemetry (`limelight[otel]`)",
    "rich": "rich (`limelight[top]`)",
}
"""Libraries a block may import that a test environment may lack, and what they are."""

RUNTIME_LIBRARIES = {
    "limelight.ray": "ray",
    "limelight.gevent": "gevent",
    "limelight.eventlet": "eventlet",
}
"""Limelight's modules that import an optional library, and that library."""


class PythonBlock:
    """What the parser found in one ```python block."""

    def __init__(self, source: str, info: str) -> None:
        self.source = source
        self.info = info
        first_line = source.split("\n", 1)[0]
        match = FILE_NAME.fullmatch(first_line)
        self.file_name = match.group(1) if match else "example.py"
        snippet = SNIPPET.fullmatch(source.strip())
        self.snippet = snippet.group(1) if snippet else None

    def imports(self) -> set[str]:
        """The modules the block imports, by their full names."""
        names: set[str] = set()
        try:
            tree = ast.parse(self.source)
        except SyntaxError:  # (not Python: a snippet include, or a bad block)
            return names
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        return names

    def libraries(self) -> set[str]:
        """The top-level packages the block needs, through Limelight's too."""
        needed: set[str] = set()
        for name in self.imports():
            needed.add(name.split(".")[0])
            needed.update(
                library
                for module, library in RUNTIME_LIBRARIES.items()
                if name == module or name.startswith(f"{module}.")
            )
        return needed

    def starts_ray(self) -> bool:
        """Whether the block may start Ray (it imports Ray or limelight.ray)."""
        return "ray" in self.libraries()


def parse_python_blocks(document: Document) -> Iterable[Region]:
    """Sybil parser: every fenced block whose language is ``python``.

    Its info string may go on (``python title="examples/x.py"``), unlike
    Sybil's own parser, which wants the language alone.
    """
    lexer = FencedCodeBlockLexer(language=r".+")
    for region in lexer(document):
        info = str(region.lexemes["language"])
        if info.split(maxsplit=1)[0] == "python":
            region.parsed = PythonBlock(str(region.lexemes["source"]), info)
            region.evaluator = evaluate
            yield region


SYBIL = Sybil(parsers=[SkipParser(), parse_python_blocks], path=str(ROOT))


def evaluate(example: Example) -> None:
    """Sybil evaluator: run one block's program (see the module's docstring)."""
    block: PythonBlock = example.parsed
    if block.snippet is not None:
        shown = Path(block.snippet)
        assert (ROOT / shown).is_file(), f"{block.snippet} does not exist"
        assert shown.parent.name == "examples", f"{block.snippet}: not an example"
        assert shown.name in EXPECTED_OUTPUT, (
            f"{block.snippet} is shown in the docs but not run by test_examples.py"
        )
        return
    missing = [
        what
        for name, what in OPTIONAL_MODULES.items()
        if name in block.libraries() and importlib.util.find_spec(name) is None
    ]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, which is not installed")
    folder: Path = example.namespace["folder"]
    files: dict[str, str] = example.namespace.setdefault("files", {})
    files[block.file_name] = block.source
    for name, source in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(source, encoding="utf-8")
    run_program(folder, block.file_name)


RUN_AND_CHECK = """\
import runpy
import sys
import time

script = sys.argv[1]
del sys.argv[0]
runpy.run_path(script, run_name="__main__")


def still_running():
    left = []
    if "limelight" in sys.modules:
        left += map(repr, sys.modules["limelight"].ActorRegistry.get_all())
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        left.append("Ray (call limelight.ray.shutdown())")
    return left


deadline = time.monotonic() + 5  # for stops still on their way (proxy.stop())
while (left := still_running()) and time.monotonic() < deadline:
    time.sleep(0.05)
if left:
    sys.exit(f"{script} ended with these still running: {', '.join(left)}")
"""
"""Runs a script as ``python script`` would, then checks what it left running.

No actor may be registered (given a moment, for stops still on their way),
and Ray must have been shut down. Process actors' idle workers may still
run: they end at exit, which the session check of `run_program` sees.
"""


def run_program(folder: Path, script: str) -> None:
    """Run `script` in `folder`: it must end well, leaving nothing behind.

    A test module (``test_*.py``) is run by pytest, other files as by
    ``python script`` (see `RUN_AND_CHECK`).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SRC), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.pop("PYTHONSTARTUP", None)
    command = [sys.executable, "-c", RUN_AND_CHECK, script]
    if Path(script).name.startswith("test_"):
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            script,
        ]
    # Its output goes to files, not pipes: a process left behind holding a
    # pipe would keep a read of it waiting, and hide from the check below.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its session holds all it starts
        )
        try:
            process.wait(timeout=BLOCK_TIMEOUT)
            left = leftovers(process.pid)
        except BaseException as error:  # (a timeout, or Ctrl-C)
            kill_session(process.pid)
            process.wait()
            if not isinstance(error, subprocess.TimeoutExpired):
                raise
            problem = f"did not end within {BLOCK_TIMEOUT:.0f} s"
        else:
            if left:
                kill_session(process.pid)
                problem = f"left processes running: {left}"
            elif process.returncode != 0:
                problem = f"exited with status {process.returncode}"
            else:
                return
        stdout.seek(0)
        stderr.seek(0)
        pytest.fail(
            f"{script} {problem}\n--- stdout\n{stdout.read()}\n"
            f"--- stderr\n{stderr.read()}"
        )


def session_members(session: int) -> list[str]:
    """The command lines of the live processes of a session (Linux; else none)."""
    members: list[str] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:  # (ended meanwhile)
            continue
        # pid (comm) state ppid pgrp session ...: comm may hold spaces.
        fields = text.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == session:
            members.append(command.replace(b"\0", b" ").decode(errors="replace"))
    return members


def leftovers(session: int) -> list[str]:
    """What is still running in the block's session, given a moment to end."""
    deadline = time.monotonic() + LEFTOVER_GRACE
    while (left := session_members(session)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def kill_session(session: int) -> None:
    """SIGKILL every process of the block's session."""
    with contextlib.suppress(ProcessLookupError):  # (all ended meanwhile)
        os.killpg(session, signal.SIGKILL)


def examples() -> Iterator[object]:
    """One pytest parameter per python block, with the directives before it.

    Each parameter holds the page's examples since the previous block (a
    skip directive, say) and the block itself, evaluated in that order, as
    Sybil's own pytest integration does.
    """
    for path in DOCUMENTS:
        document = SYBIL.parse(path)
        pending: list[Example] = []
        for example in document:
            pending.append(example)
            if not isinstance(example.parsed, PythonBlock):
                continue
            marks = [pytest.mark.ray] if example.parsed.starts_ray() else []
            name = f"{path.relative_to(ROOT).as_posix()}:{example.line}"
            yield pytest.param(pending, id=name, marks=marks)
            pending = []


@pytest.mark.skipif(sys.platform == "win32", reason="the blocks' programs are POSIX")
@pytest.mark.parametrize("chain", list(examples()))
def test_block_runs(
    chain: list[Example], tmp_path_factory: pytest.TempPathFactory
) -> None:
    for example in chain:
        namespace = example.namespace
        if "folder" not in namespace:  # the page's first block
            namespace["folder"] = tmp_path_factory.mktemp("docs-block")
        example.evaluate()


def test_every_page_is_read() -> None:
    """Every page of the site, and the README, is one the blocks come from."""
    assert ROOT / "README.md" in DOCUMENTS
    assert (ROOT / "docs" / "index.md") in DOCUMENTS
    assert len(DOCUMENTS) > 20
