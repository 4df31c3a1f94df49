"""Run an unmodified Pykka program on Limelight.

Importing this module makes ``import pykka`` (and ``pykka.messages``,
``pykka.typing``, ``pykka.debug``, and the 2011 modules ``pykka.actor``,
``pykka.future``, ``pykka.proxy``, ``pykka.registry``) give Limelight's
modules, and makes the ``limelight`` logger a child of the ``pykka`` logger,
so that a program's logging configuration for ``pykka`` applies. Three ways to
use it, none touching the program:

```sh
python -m limelight.as_pykka my_program.py --its --args
python -m limelight.as_pykka -m mopidy
pytest -p limelight.as_pykka            # run a Pykka test suite on Limelight
```

or, in code that controls its own start-up, ``import limelight.as_pykka``
before anything imports ``pykka``.
"""

from __future__ import annotations

import importlib
import logging
import runpy
import sys

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
    # Programs configure the "pykka" logger (levels, handlers): hang
    # Limelight's logger below it, so that such configuration applies.
    pykka_logger = logging.getLogger("pykka")
    if not any(isinstance(h, logging.NullHandler) for h in pykka_logger.handlers):
        pykka_logger.addHandler(logging.NullHandler())
    logging.getLogger("limelight").parent = pykka_logger


def main(argv: list[str] | None = None) -> None:
    """Run a script or module (``-m name``) with ``pykka`` resolving to Limelight."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"} or args == ["-m"]:
        print(  # noqa: T201 -- command-line output
            "usage: python -m limelight.as_pykka (SCRIPT | -m MODULE) [ARGS...]\n"
            "Runs a Pykka program with `import pykka` resolving to Limelight."
        )
        raise SystemExit(0 if args and args[0] in {"-h", "--help"} else 2)
    install()
    if args[0] == "-m":
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")


install()

if __name__ == "__main__":
    main()
