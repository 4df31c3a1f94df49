"""The shim that makes ``import pykka`` give Limelight."""

from __future__ import annotations

import importlib
import logging
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_examples import python

PYKKA_MODULES = (
    "pykka",
    "pykka.messages",
    "pykka.typing",
    "pykka.debug",
    "pykka.actor",
    "pykka.future",
    "pykka.proxy",
    "pykka.registry",
)


def pykka_module_names() -> list[str]:
    return [
        name for name in sys.modules if name == "pykka" or name.startswith("pykka.")
    ]


@pytest.fixture
def no_pykka(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start with no ``pykka`` imported; afterwards, put back what was there.

    The shim changes process-wide state (`sys.modules`, the ``limelight``
    logger's parent), which must not leak into other tests.
    """
    saved = {name: sys.modules[name] for name in pykka_module_names()}
    limelight_logger = logging.getLogger("limelight")
    pykka_logger = logging.getLogger("pykka")
    saved_parent = limelight_logger.parent
    saved_handlers = list(pykka_logger.handlers)
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in pykka_module_names():
        del sys.modules[name]
    sys.modules.update(saved)
    limelight_logger.parent = saved_parent
    pykka_logger.handlers[:] = saved_handlers


@pytest.mark.usefixtures("no_pykka")
def test_install_makes_pykka_and_its_submodules_limelight() -> None:
    import limelight.as_pykka  # noqa: PLC0415 -- importing it installs the shim

    limelight.as_pykka.install()
    limelight.as_pykka.install()  # a second time changes nothing
    for name in pykka_module_names():  # as if installed in a fresh program
        del sys.modules[name]
    limelight.as_pykka.install()

    assert sys.modules["pykka"] is limelight
    for name in PYKKA_MODULES[1:]:
        assert sys.modules[name] is importlib.import_module(
            name.replace("pykka", "limelight", 1)
        )
    assert logging.getLogger("limelight").parent is logging.getLogger("pykka")
    null_handlers = [
        h
        for h in logging.getLogger("pykka").handlers
        if isinstance(h, logging.NullHandler)
    ]
    assert len(null_handlers) == 1


@pytest.mark.usefixtures("no_pykka")
def test_install_refuses_when_another_pykka_is_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import limelight.as_pykka  # noqa: PLC0415

    fake = types.ModuleType("pykka")
    monkeypatch.setitem(sys.modules, "pykka", fake)

    with pytest.raises(
        RuntimeError, match=r"pykka was imported before limelight\.as_pykka"
    ):
        limelight.as_pykka.install()
    assert sys.modules["pykka"] is fake


def test_pykka_logging_configuration_reaches_limelight_records() -> None:
    script = textwrap.dedent(
        """
        import logging, sys
        import limelight.as_pykka
        import pykka

        logging.basicConfig(stream=sys.stdout, format="%(name)s %(message)s")
        logging.getLogger("pykka").setLevel(logging.DEBUG)

        class Quiet(pykka.ThreadingActor):
            pass

        Quiet.start().stop()
        """
    )

    result = python("-c", script)

    assert result.returncode == 0, result.stderr
    assert "limelight Starting Quiet" in result.stdout


def test_pytest_plugin_runs_a_pykka_test_suite_on_limelight(tmp_path: Path) -> None:
    (tmp_path / "test_pykka_style.py").write_text(
        textwrap.dedent(
            """
            import pykka
            from pykka.messages import ProxyCall


            class Greeter(pykka.ThreadingActor):
                def greet(self, name):
                    return f"Hello, {name}!"


            def test_pykka_is_limelight():
                assert pykka.__name__ == "limelight"


            def test_an_actor_works():
                ref = Greeter.start()
                try:
                    assert ref.proxy().greet("Ada").get(timeout=10) == "Hello, Ada!"
                    message = ProxyCall(attr_path=("greet",), args=("Bo",), kwargs={})
                    assert ref.ask(message, timeout=10) == "Hello, Bo!"
                finally:
                    ref.stop()
            """
        )
    )

    result = python(
        "-m",
        "pytest",
        "-p",
        "limelight.as_pykka",
        "-p",
        "no:cacheprovider",
        "-q",
        "test_pykka_style.py",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["-h"]])
def test_the_shim_prints_its_usage_on_request(args: list[str]) -> None:
    result = python("-m", "limelight.as_pykka", *args)

    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m limelight.as_pykka")


@pytest.mark.parametrize("args", [[], ["-m"]])
def test_the_shim_without_a_program_is_a_usage_error(args: list[str]) -> None:
    result = python("-m", "limelight.as_pykka", *args)

    assert result.returncode == 2
    assert "usage:" in result.stdout


def test_the_shim_passes_arguments_to_the_program(tmp_path: Path) -> None:
    program = tmp_path / "show_args.py"
    program.write_text("import sys, pykka\nprint(pykka.__name__, sys.argv[1:])\n")

    result = python("-m", "limelight.as_pykka", str(program), "--flag", "value")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "limelight ['--flag', 'value']\n"
