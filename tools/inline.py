"""Keep the hand-inlined copies of hot-path functions the same as their source.

A call costs more than some of the functions on the hottest paths (a tell is
a few thousand instructions, a Python call several hundred), so a few are
written out where they are used. Each copy stands between two markers::

    # inline _mailbox.after_put(self)
    ...the body of after_put(), with `self` for its parameter...
    # end inline

and this tool writes it: the body of the named function (its docstring
left out), each parameter replaced by the argument given, and each name of
the function's module qualified by the module's name where the copy is
(``reject_late_messages`` becomes ``_mailbox.reject_late_messages``). The
module is found through the copy's file's own ``from ... import _mailbox``.

    python tools/inline.py          # check: exit 1 and list stale copies
    python tools/inline.py --write  # rewrite them

``tests/test_inline.py`` runs the check with the test suite, so a change to
the source function that its copies do not follow fails CI.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src"

_START = re.compile(
    r"^(?P<indent>\s*)# inline (?P<alias>\w+)\.(?P<name>\w+)\((?P<args>[^)]*)\)\s*$"
)
_END = re.compile(r"^\s*# end inline\s*$")


class InlineError(Exception):
    """A marker the tool cannot follow: what is wrong, and where."""


def _module_of(tree: ast.Module, alias: str, where: str) -> str:
    """The dotted module that `alias` names in a file (``from pkg import alias``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for imported in node.names:
                if (imported.asname or imported.name) == alias:
                    return f"{node.module}.{imported.name}"
    msg = f"{where}: no `from ... import {alias}` for its inline marker"
    raise InlineError(msg)


def _body(module: str, name: str, args: list[str], alias: str) -> list[str]:
    """The lines of `module.name`'s body, as inlined with `args` under `alias`."""
    path = SOURCE.joinpath(*module.split(".")).with_suffix(".py")
    text = path.read_text()
    tree = ast.parse(text)
    function = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == name
        ),
        None,
    )
    if function is None:
        msg = f"{path}: no function {name}() to inline"
        raise InlineError(msg)
    parameters = [argument.arg for argument in function.args.args]
    if len(parameters) != len(args):
        msg = f"{module}.{name}() takes {parameters}, the marker gives {args}"
        raise InlineError(msg)
    body = function.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    lines = text.splitlines()
    # From the line after the docstring (comments included) to the end.
    first = body[0].lineno - 1
    while first > 0 and lines[first - 1].strip().startswith("#"):
        first -= 1
    assert function.end_lineno is not None
    code = textwrap.dedent("\n".join(lines[first : function.end_lineno]))
    module_names = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }
    for parameter, argument in zip(parameters, args, strict=True):
        code = re.sub(rf"\b{parameter}\b", argument, code)
    for module_name in module_names:
        code = re.sub(rf"(?<![.\w]){module_name}\b", f"{alias}.{module_name}", code)
    return code.splitlines()


def render(path: Path) -> str:
    """The text of `path` with every inlined copy as its source says."""
    text = path.read_text()
    tree = ast.parse(text)
    out: list[str] = []
    lines = iter(text.splitlines())
    for number, line in enumerate(lines, 1):
        out.append(line)
        start = _START.match(line)
        if start is None:
            continue
        alias, name = start["alias"], start["name"]
        args = [a.strip() for a in start["args"].split(",") if a.strip()]
        module = _module_of(tree, alias, f"{path}:{number}")
        indent = start["indent"]
        out.extend(
            indent + body_line if body_line else ""
            for body_line in _body(module, name, args, alias)
        )
        for skipped in lines:  # the stale copy, up to its end marker
            if _END.match(skipped):
                out.append(skipped)
                break
        else:
            msg = f"{path}:{number}: no `# end inline` after the marker"
            raise InlineError(msg)
    return "\n".join(out) + "\n"


def stale(paths: list[Path]) -> list[Path]:
    """The files among `paths` whose inlined copies differ from their sources."""
    return [path for path in paths if render(path) != path.read_text()]


def files() -> list[Path]:
    """Every source file with an inline marker."""
    return sorted(
        path for path in SOURCE.rglob("*.py") if "# inline " in path.read_text()
    )


def main(argv: list[str]) -> int:
    """Check the copies (exit 1 if any is stale), or rewrite them with --write."""
    if argv not in ([], ["--write"]):
        sys.stderr.write("usage: python tools/inline.py [--write]\n")
        return 2
    if argv:
        for path in files():
            path.write_text(render(path))
        return 0
    outdated = stale(files())
    for path in outdated:
        sys.stderr.write(f"{path}: an inlined copy differs from its source\n")
    if outdated:
        sys.stderr.write("run: python tools/inline.py --write\n")
    return 1 if outdated else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
