"""Print what failed in a nox log, short enough to survive a tail-only view.

CI shows only the end of its output, so `.ci/run` ends with this digest: the
failed sessions, pytest's FAILED/ERROR lines, and for each hang the stacks
that pytest-timeout or faulthandler dumped, cut down to this project's frames
(the tests and limelight's own code), which are what say where it hung.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

OUR_FRAME = re.compile(r'File "[^"]*/(tests|limelight|examples)/')
TIMEOUT_BANNER = re.compile(r"^\++ Timeout \++$")
# faulthandler writes its banner straight after pytest's progress dots.
FAULTHANDLER_BANNER = re.compile(
    r"(Timeout \(\d+:\d\d:\d\d\)!|Fatal Python error: .*)$"
)
STACK_HEADER = re.compile(r"^(~+ Stack of |Thread 0x|Current thread 0x)")
MAX_DUMPS = 4
MAX_FRAMES_PER_DUMP = 60


def main(path: str) -> None:
    """Print the digest of the log at path."""
    with open(path, encoding="utf-8", errors="replace") as log:
        lines = log.read().splitlines()
    out = ["== .ci/run: what failed"]
    out += [x for x in lines if re.match(r"nox > Session \S+ (failed|aborted)", x)]
    results = [x for x in lines if re.match(r"(FAILED|ERROR) \S", x)]
    out += list(dict.fromkeys(results))[:40]
    dumps = 0
    index = 0
    while index < len(lines) and dumps < MAX_DUMPS:
        banner = FAULTHANDLER_BANNER.search(lines[index])
        if TIMEOUT_BANNER.match(lines[index]):
            # pytest-timeout's dump ends with the same banner: skip both.
            end = _find(lines, index + 1, TIMEOUT_BANNER.match)
            after = end + 1
        elif banner:
            # faulthandler's dump: thread headers, frames and blank lines.
            end = after = _find(lines, index + 1, _outside_faulthandler_dump)
        else:
            index += 1
            continue
        dumps += 1
        out.append(f"-- log line {index + 1}: {banner[0] if banner else 'Timeout'}")
        out += _our_frames(lines[index + 1 : end])
        index = after
    sys.stdout.write("\n".join(out) + "\n")


def _find(lines: list[str], start: int, test: Callable[[str], object]) -> int:
    """Return the index of the first line from start that passes test, or the end."""
    return next((i for i in range(start, len(lines)) if test(lines[i])), len(lines))


def _outside_faulthandler_dump(line: str) -> bool:
    inside = not line.strip() or STACK_HEADER.match(line) or line.startswith("  File ")
    return not inside


def _our_frames(dump: list[str]) -> list[str]:
    """Return the stack headers and this project's frames of one dump."""
    out: list[str] = []
    header = ""
    frames = 0
    for index, line in enumerate(dump):
        if STACK_HEADER.match(line.strip()):
            header = line.strip()
        elif OUR_FRAME.search(line) and frames < MAX_FRAMES_PER_DUMP:
            if header:
                out.append(header)
                header = ""
            out.append(line)
            frames += 1
            # pytest-timeout's frames are followed by their source line.
            source = dump[index + 1] if index + 1 < len(dump) else ""
            if source.startswith("    ") and not source.lstrip().startswith("File "):
                out.append(source)
    return out


if __name__ == "__main__":
    main(sys.argv[1])
