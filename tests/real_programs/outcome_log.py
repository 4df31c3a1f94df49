"""Pytest plugin: write each test's outcome to a JSON file, to compare two runs.

Load it with ``-p outcome_log --outcome-log=PATH`` (this folder on
``PYTHONPATH``). At the end of the run, PATH holds an object with:

- ``outcomes``: each test id (or, for a module that failed to collect, the
  module's id) mapped to what pytest's summary line counted for it: "passed",
  "failed", "skipped", "xfailed", "xpassed" or "error" (a failed setup or
  teardown, or a collection error), joined by "+" when there were several,
  in the order they happened ("failed+error": the test failed, then its
  teardown did too);
- ``reports``: for each id that failed or erred, the end of pytest's report;
- ``exitstatus``: pytest's exit status.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPORT_LINES = 25
"""How many of a failure report's last lines are kept."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--outcome-log``."""
    parser.addoption(
        "--outcome-log",
        metavar="PATH",
        help="write each test's outcome to PATH, as JSON",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Start recording if ``--outcome-log`` was given."""
    path: str | None = config.getoption("outcome_log")
    if path:
        config.pluginmanager.register(
            _Recorder(config, Path(path)), "outcome_log_recorder"
        )


class _Recorder:
    """Collects every report's category, as pytest's summary counts them."""

    def __init__(self, config: pytest.Config, path: Path) -> None:
        self._config = config
        self._path = path
        self._outcomes: dict[str, list[str]] = {}
        self._reports: dict[str, list[str]] = {}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.passed:
            self._record(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._record(report)

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        result = {
            "exitstatus": int(exitstatus),
            "outcomes": {
                nodeid: "+".join(categories)
                for nodeid, categories in self._outcomes.items()
            },
            "reports": {
                nodeid: "\n".join(lines) for nodeid, lines in self._reports.items()
            },
        }
        self._path.write_text(json.dumps(result, indent=1), encoding="utf-8")

    def _record(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        # The hook that pytest's own summary line counts with: setup and
        # teardown that passed count for nothing (an empty category).
        status = self._config.hook.pytest_report_teststatus(
            report=report, config=self._config
        )
        category = str(status[0])
        if category:
            self._outcomes.setdefault(report.nodeid, []).append(category)
        if report.failed:
            text = report.longreprtext.splitlines()[-REPORT_LINES:]
            self._reports.setdefault(report.nodeid, []).extend(
                [f"-- {report.when}:", *text]
            )
