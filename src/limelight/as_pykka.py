"""Run an unmodified Pykka program on Limelight.

Importing this module makes ``import pykka`` (and ``pykka.messages``,
``pykka.typing``, ``pykka.debug``, and the 2011 modules ``pykka.actor``,
``pykka.future``, ``pykka.proxy``, ``pykka.registry``) give Limelight's
modules, and makes Limelight log to the ``pykka`` logger, as Pykka does, so
that a program's logging configuration for ``pykka`` applies. Ways to use
it, none touching the program:

```sh
python -m limelight.as_pykka my_program.py --its --args  # a script
python -m limelight.as_pykka -m my_package --its --args  # a module
python -m limelight.as_pykka mopidy --config my.conf     # a console script
pytest -p limelight.as_pykka            # run a Pykka test suite on Limelight
```

or, in code that controls its own start-up, ``import limelight.as_pykka``
before anything imports ``pykka``. A console script is a command that an
installed distribution declares in its ``console_scripts`` entry points, as
Mopidy does ``mopidy``: the shim calls the function that the command's
wrapper would call, and exits with its return value. A name that is also an
existing file is taken as the script file.
"""

from __future__ import annotations

import importlib
import logging
import runpy
import sys
from importlib.metadata import entry_points
from pathlib import Path

from limelight._core._log import log_as

__all__ = ["install", "main"]

SUBMODULES = ("messages", "typing", "debug", "actor", "future", "proxy", "registry")
"""Pykka's public submodules, each served by Limelight's namesake."""


def install() -> None:
    """Make ``pykka`` and its public submodules resolve to Limelight.

    Raises:
        RuntimeError: if the real Pykka was imported already; the program
            would then hold objects of both libraries.
    """
    import limelight  # noqa: PLC0415

    current = sys.modules.get("pykka")
    if current is limelight:
        return
    if current is not None:
        msg = (
            "the real pykka was imported before limelight.as_pykka; import "
            "limelight.as_pykka first (or use `python -m limelight.as_pykka`)"
        )
        raise RuntimeError(msg)
    sys.modules["pykka"] = limelight
    for name in SUBMODULES:
        sys.modules[f"pykka.{name}"] = importlib.import_module(f"limelight.{name}")
    # Programs configure the "pykka" logger by name (levels, handlers,
    # filters, dictConfig, which disables loggers it does not name): log to
    # it, as Pykka does, not to a child of it.
    pykka_logger = logging.getLogger("pykka")
    if not any(isinstance(h, logging.NullHandler) for h in pykka_logger.handlers):
        pykka_logger.addHandler(logging.NullHandler())
    log_as("pykka")


_USAGE = """\
usage: python -m limelight.as_pykka (SCRIPT | -m MODULE | COMMAND) [ARGS...]
Runs a Pykka program with `import pykka` resolving to Limelight. The program
is a Python file (or a folder or zip file with a __main__.py), -m and a
module name, or the name of an installed console script, such as `mopidy`."""


def main(argv: list[str] | None = None) -> None:
    """Run a script, a module (``-m name``) or an installed console script.

    Each runs as it would on its own, but with ``pykka`` resolving to
    Limelight.
    """
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"} or args == ["-m"]:
        print(_USAGE)  # noqa: T201 -- command-line output
        raise SystemExit(0 if args and args[0] in {"-h", "--help"} else 2)
    install()
    program = args[0]
    path = Path(program)
    if program == "-m":
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    elif path.is_file() or (path / "__main__.py").is_file():
        sys.argv = args
        # As with `python SCRIPT`, the script's folder comes first on
        # sys.path, where `python -m` put the current one: the script can
        # import the modules beside it. (runpy itself puts a folder or zip
        # file that holds a __main__.py before that.)
        sys.path[0] = str(path.resolve().parent)
        runpy.run_path(program, run_name="__main__")
    elif scripts := entry_points(group="console_scripts", name=program):
        # argv[0] is the command's name (its wrapper gets the same base name).
        sys.argv = args
        # What pip's generated wrapper does: exit with the function's result.
        raise SystemExit(scripts[program].load()())
    else:
        print(  # noqa: T201 -- command-line output
            f"python -m limelight.as_pykka: no such file or console script "
            f"{program!r}; give a path to a Python file, `-m module`, or the "
            "name of an installed console script",
            file=sys.stderr,
        )
        raise SystemExit(2)


install()

if __name__ == "__main__":
    main()
