"""The table of runtimes that tests run on (tests/runtimes.py) names real tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.runtimes import RUNTIMES, Runtime

TESTS = Path(__file__).resolve().parent


def _all_test_names() -> set[str]:
    """The names of the test functions of every test module.

    Read from the source, not imported: some modules skip themselves where
    a dependency is missing (Pykka on Python 3.10).
    """
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        node.name
        for path in TESTS.rglob("test_*.py")
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, functions) and node.name.startswith("test_")
    }


@pytest.mark.parametrize(
    "described", [r for r in RUNTIMES if r.runs_only or r.skips], ids=lambda r: r.name
)
def test_the_tests_a_runtime_names_exist(described: Runtime) -> None:
    # A renamed test would otherwise drop out of a runs_only list, or lose
    # its skip, without a word.
    named = set(described.runs_only) | set(described.skips)
    assert named - _all_test_names() == set()
