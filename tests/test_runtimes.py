"""The table of runtimes that tests run on (tests/runtimes.py) is used by the tests."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.runtimes import CAPABILITIES, RUNTIMES

TESTS = Path(__file__).resolve().parent


def _marks(name: str) -> list[list[str]]:
    """The arguments of each ``@pytest.mark.<name>`` on a test function.

    Read from the source, not imported: some modules skip themselves where
    a dependency is missing (Pykka on Python 3.10).
    """
    mark = f"pytest.mark.{name}"
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    found: list[list[str]] = []
    for path in TESTS.rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, functions):
                continue
            for decorator in node.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                if ast.unparse(call.func if call else decorator) == mark:
                    args = call.args if call else []
                    found.append([ast.literal_eval(arg) for arg in args])
    return found


def test_the_capabilities_tests_need_are_described() -> None:
    # The `runtime` fixture fails a test that needs an unknown one; this
    # also finds those of tests that no runtime collected here runs.
    needed = {name for args in _marks("needs") for name in args}
    assert needed - set(CAPABILITIES) == set()


def test_every_capability_described_is_needed_by_a_test() -> None:
    # A capability no test needs any more is a stale entry.
    needed = {name for args in _marks("needs") for name in args}
    assert set(CAPABILITIES) - needed == set()


def test_the_capabilities_runtimes_lack_are_described() -> None:
    for runtime in RUNTIMES:
        assert runtime.lacks - set(CAPABILITIES) == set(), runtime.name
        assert runtime.intermittent - set(CAPABILITIES) == set(), runtime.name
        assert not runtime.lacks & runtime.intermittent, runtime.name


def test_a_runtime_that_runs_only_marked_tests_has_some() -> None:
    for runtime in RUNTIMES:
        if runtime.only_marked:
            assert _marks(runtime.only_marked), runtime.name
