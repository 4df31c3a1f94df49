"""The shim that makes ``import pykka`` give Limelight."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from limelight._core._log import log_as, logger
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

    The shim changes process-wide state (`sys.modules`, the logger that
    Limelight logs to), which must not leak into other tests.
    """
    saved = {name: sys.modules[name] for name in pykka_module_names()}
    pykka_logger = logging.getLogger("pykka")
    saved_handlers = list(pykka_logger.handlers)
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in pykka_module_names():
        del sys.modules[name]
    sys.modules.update(saved)
    log_as("limelight")
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
    assert logger.target is logging.getLogger("pykka")
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
    # dictConfig() disables every existing logger it does not name: records
    # of a "limelight" logger, even one below "pykka", would be lost.
    script = textwrap.dedent(
        """
        import logging.config, sys
        import limelight.as_pykka
        import pykka

        logging.config.dictConfig({
            "version": 1,
            "handlers": {"out": {"class": "logging.StreamHandler",
                                 "stream": "ext://sys.stdout",
                                 "formatter": "named"}},
            "formatters": {"named": {"format": "%(name)s %(message)s"}},
            "loggers": {"pykka": {"level": "DEBUG", "handlers": ["out"]}},
        })
        logging.getLogger("pykka").addFilter(
            lambda record: "Stopped" not in record.getMessage()
        )

        class Quiet(pykka.ThreadingActor):
            pass

        Quiet.start().stop()
        """
    )

    result = python("-c", script)

    assert result.returncode == 0, result.stderr
    assert "pykka Starting Quiet" in result.stdout
    assert "Stopped" not in result.stdout  # the pykka logger's filter applies


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


def test_the_shim_runs_a_script_with_its_folder_first_on_the_path(
    tmp_path: Path,
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "helper.py").write_text("GREETING = 'beside the script'\n")
    (app / "main.py").write_text(
        "import pykka\nfrom helper import GREETING\nprint(pykka.__name__, GREETING)\n"
    )

    result = python("-m", "limelight.as_pykka", "app/main.py", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "limelight beside the script\n"


def test_the_shim_runs_a_folder_with_a_main_module(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "__main__.py").write_text("import pykka\nprint(pykka.__name__)\n")

    result = python("-m", "limelight.as_pykka", str(app))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "limelight\n"


CONSOLE_SCRIPT_MODULE = """\
import sys

import pykka


class Echo(pykka.ThreadingActor):
    def echo(self, words):
        return " ".join(words)


def main():
    ref = Echo.start()
    try:
        said = ref.proxy().echo(sys.argv[1:]).get(timeout=10)
    finally:
        ref.stop()
    print(pykka.__name__, sys.argv[0], said)
    return 3
"""


@pytest.fixture
def console_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed distribution with a console script; return the script's name.

    Installed by hand into a folder that the subprocesses get on their path:
    a module, and the ``*.dist-info`` folder that `importlib.metadata` reads
    the ``console_scripts`` entry points from.
    """
    site = tmp_path / "site"
    info = site / "pykka_echo-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pykka-echo\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[console_scripts]\npykka-echo = pykka_echo:main\n"
    )
    (site / "pykka_echo.py").write_text(CONSOLE_SCRIPT_MODULE)
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    )
    return "pykka-echo"


def test_the_shim_runs_an_installed_console_script(
    console_script: str, tmp_path: Path
) -> None:
    result = python(
        "-m", "limelight.as_pykka", console_script, "hello", "there", cwd=tmp_path
    )

    # The function ran on Limelight, saw the arguments as a console script
    # does, and its return value became the exit status.
    assert result.stdout == "limelight pykka-echo hello there\n", result.stderr
    assert result.returncode == 3


def test_the_shim_rejects_what_is_neither_file_nor_console_script(
    tmp_path: Path,
) -> None:
    result = python("-m", "limelight.as_pykka", "no-such-program", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "python -m limelight.as_pykka: no such file or console script "
        "'no-such-program'; give a path to a Python file, `-m module`, or the "
        "name of an installed console script\n"
    )
