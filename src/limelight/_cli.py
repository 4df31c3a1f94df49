"""The ``limelight`` command line: ``limelight COMMAND [OPTIONS]``.

Each command is a :class:`Command`: a name, a help line, a function adding
its options to an ``argparse`` parser, and a function running it. A new
command (``limelight top``, say) is one more entry in :func:`commands`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import limelight

__all__ = ["Command", "build_parser", "commands", "main"]


@dataclass(frozen=True)
class Command:
    """A subcommand of ``limelight``."""

    name: str
    help: str
    """One line, for ``limelight --help``."""

    description: str
    """A paragraph, for ``limelight NAME --help``."""

    configure: Callable[[argparse.ArgumentParser], None]
    """Add the command's options to its parser."""

    run: Callable[[argparse.Namespace], int]
    """Run the command with the parsed arguments; return the exit status."""


def commands() -> list[Command]:
    """The subcommands, in the order ``limelight --help`` lists them."""
    from limelight import _top as top  # noqa: PLC0415 -- only when used
    from limelight._bench import command as bench  # noqa: PLC0415 -- only when used

    return [
        Command(
            name="bench",
            help="measure Limelight against Pykka and raw threads",
            description=bench.DESCRIPTION,
            configure=bench.configure,
            run=bench.run,
        ),
        Command(
            name="top",
            help="show the actors of a running program, live",
            description=top.DESCRIPTION,
            configure=top.configure,
            run=top.run,
        ),
    ]


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line, with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="limelight",
        description="Limelight, the actor library compatible with Pykka.",
    )
    parser.add_argument(
        "--version", action="version", version=f"limelight {limelight.__version__}"
    )
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    for command in commands():
        subparser = subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.configure(subparser)
        subparser.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``limelight`` command line; return the exit status.

    Args:
        argv: the arguments, without the program name; `None` reads
            ``sys.argv``.

    Returns:
        0 on success, 1 if something measured went wrong, 2 for a usage
        error (after printing what is wrong), 130 if interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exit_:
        # argparse exits after --help or --version (0) and on a usage error
        # (2, with the error printed); a function returning a status should not.
        return int(exit_.code or 0)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)
