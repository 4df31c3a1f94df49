"""The README's first commands are the ones CI and a new user run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The commands of README.md's first code block, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```sh\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    assert block is not None, "README.md has no sh code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_opens_with_the_bench_and_the_test_command() -> None:
    bench, test = readme_commands()

    assert bench.endswith("limelight bench")
    assert test.endswith("nox")


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (command,) = re.findall(r'^cmd="(.*)"$', ci, re.MULTILINE)

    assert command == readme_commands()[1]
