"""The hand-inlined copies of hot-path code match their source (tools/inline.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "inline", ROOT / "tools" / "inline.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["inline"] = module  # (dataclasses and the like look it up)
    spec.loader.exec_module(module)
    return module


inline = _tool()


def test_every_inlined_copy_is_current() -> None:
    found = inline.files()
    names = {path.relative_to(inline.SOURCE).as_posix() for path in found}
    assert {"limelight/_core/_ref.py", "limelight/_runtimes/greenlet/hub.py"} <= names
    assert inline.stale(found) == [], "run: python tools/inline.py --write"
    assert inline.main([]) == 0


def _copy_of_ref_with(tmp_path: Path, replace: str, by: str) -> Path:
    text = (inline.SOURCE / "limelight" / "_core" / "_ref.py").read_text()
    assert replace in text
    path = tmp_path / "_ref.py"
    path.write_text(text.replace(replace, by))
    return path


def test_a_copy_edited_by_hand_is_stale_and_rewritten(tmp_path: Path) -> None:
    path = _copy_of_ref_with(
        tmp_path, "if stopped._flag:", "if stopped._flag and False:"
    )
    assert inline.stale([path]) == [path]
    path.write_text(inline.render(path))
    assert inline.stale([path]) == []


@pytest.mark.parametrize(
    ("replace", "by", "error"),
    [
        ("# end inline", "# (end)", "no `# end inline`"),
        ("_mailbox.after_put(self)\n", "_mailbox.after_put(self, 1)\n", "takes"),
        ("_mailbox.after_put(self)\n", "_mailbox.no_such(self)\n", "no function"),
        ("_mailbox.after_put(self)\n", "_nowhere.after_put(self)\n", "no `from"),
    ],
)
def test_a_marker_that_cannot_be_followed_says_why(
    tmp_path: Path, replace: str, by: str, error: str
) -> None:
    path = _copy_of_ref_with(tmp_path, replace, by)
    with pytest.raises(inline.InlineError, match=error):
        inline.render(path)


def test_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert inline.main(["--bad"]) == 2
    path = _copy_of_ref_with(
        tmp_path, "if stopped._flag:", "if stopped._flag and False:"
    )
    monkeypatch.setattr(inline, "files", lambda: [path])
    assert inline.main([]) == 1
    assert "run: python tools/inline.py --write" in capsys.readouterr().err
    assert inline.main(["--write"]) == 0
    assert inline.main([]) == 0
