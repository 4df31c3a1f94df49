"""Check, in a real browser, that the built site's tables fit their page.

Usage, after ``mkdocs build`` (the ``docs`` nox session runs it so)::

    python tools/check_docs_layout.py [--site site] [--width 1280]
        [--screenshots DIR] [PAGE ...]

PAGE is a page of the site, as its folder (``runtimes/``); by default,
every page that has a table. The script serves the built site on
127.0.0.1 and opens each page in headless Chromium, at a window `--width`
pixels wide (1280 by default, a common laptop) and 900 high, after
Material's own JavaScript has laid the page out. For every table of the
page it checks that:

- the table is no wider than its container: the scrolling box Material
  puts around a table scrolls no further than it shows (``scrollWidth <=
  clientWidth``), and the table ends within the page's text column;
- no code span in a cell (``td code``, ``th code``) goes on to a new line
  other than at a space: a class name is never cut in two.

It prints what it measured, saves a screenshot of each page (PNG, in
`--screenshots`, by default the system's temporary folder), and exits
with status 1 if a check fails, 2 if Chromium cannot be found.

The browser is Debian's ``chromium`` (``apt-get install chromium``), or
whatever `--chromium` or the ``CHROMIUM`` environment variable names. It
runs with a fresh profile, no sandbox (CI runs as root) and no network
beyond the local server: the fonts the site loads from the web fail at
once, so the page is measured with the system's fallback fonts (on
Debian, DejaVu or Liberation), which are no narrower than the site's own
Roboto: a table that fits with them fits with Roboto too.

Checking by hand instead: ``mkdocs serve``, open the page in a browser
whose window is 1280 px wide (or the developer tools' responsive mode at
1280 x 900), and look for a horizontal scroll bar under each table and for
names in code that wrap onto a second line.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Generator, Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BROWSER_TIMEOUT = 120.0
"""Seconds one Chromium run may take."""

CHECK_QUERY = "layout-check"
"""The query string that makes the server add the measuring script to a page."""

MEASURE = """
<script>
// Whether a code span goes on to a new line other than at a space.
function brokenMidWord(code) {
  if (code.getClientRects().length < 2) return false;
  const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let previous = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      const char = node.data[i];
      if (previous && box.top > previous.top + 1
          && !/\\s/.test(char) && !/\\s/.test(previous.char)) return true;
      previous = {top: box.top, char: char};
    }
  }
  return false;
}

window.addEventListener("load", () => setTimeout(() => {
  const column = document.querySelector(".md-content__inner") || document.body;
  const limit = column.getBoundingClientRect().right;
  const tables = Array.from(document.querySelectorAll(".md-typeset table"));
  const report = tables.map((table, index) => {
    const box = table.closest(".md-typeset__scrollwrap") || table.parentElement;
    const cells = Array.from(table.querySelectorAll("td code, th code"));
    return {
      index: index,
      heading: (table.rows[0] ? table.rows[0].textContent : "")
        .replace(/\\s+/g, " ").trim().slice(0, 80),
      width: table.getBoundingClientRect().width,
      right: table.getBoundingClientRect().right,
      limit: limit,
      scrollWidth: box.scrollWidth,
      clientWidth: box.clientWidth,
      broken: cells.filter(brokenMidWord).map((code) => code.textContent),
    };
  });
  const out = document.createElement("pre");
  out.id = "layout-check";
  out.textContent = JSON.stringify({viewport: window.innerWidth, tables: report});
  document.body.appendChild(out);
}, 500));
</script>
"""
"""Measures every table once Material's JavaScript has wrapped and laid them out."""

RESULT = re.compile(r'<pre id="layout-check">(.*?)</pre>', re.DOTALL)


class _Handler(SimpleHTTPRequestHandler):
    """Serves the site; adds the measuring script to a page asked for so."""

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if query != CHECK_QUERY:
            super().do_GET()
            return
        page = Path(self.translate_path(path))
        if page.is_dir():
            page /= "index.html"
        try:
            text = page.read_text(encoding="utf-8")
        except OSError:
            self.send_error(404)
            return
        body = text.replace("</body>", MEASURE + "</body>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # (http.server's name)
        """Log nothing: the requests are the browser's own."""


@contextlib.contextmanager
def serving(site: Path) -> Generator[str, None, None]:
    """Serve `site` on a free port of 127.0.0.1; yield its base URL."""
    handler = functools.partial(_Handler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def say(line: str) -> None:
    """Print one line of the report."""
    print(line)  # noqa: T201 -- the tool's output


def find_chromium(given: str | None) -> str | None:
    """The Chromium to run: `given`, $CHROMIUM, or one on the PATH."""
    for candidate in (
        given,
        os.environ.get("CHROMIUM"),
        "chromium",
        "chromium-browser",
    ):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def run_chromium(chromium: str, width: int, *args: str) -> str:
    """Run headless Chromium with a fresh profile and no network; return stdout."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={width},900",
            # Everything but the local server fails at once (web fonts).
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=10000",
            *args,
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=BROWSER_TIMEOUT,
            check=False,
        )
    if done.returncode != 0:
        message = f"chromium exited with status {done.returncode}:\n{done.stderr}"
        raise RuntimeError(message)
    return done.stdout


def problems(report: dict[str, Any]) -> list[str]:
    """What is wrong with the tables of one page's report, in words."""
    found: list[str] = []
    for table in report["tables"]:
        name = f"table {table['index'] + 1} ({table['heading'][:40]}...)"
        if table["scrollWidth"] > table["clientWidth"]:
            found.append(
                f"{name} scrolls: {table['scrollWidth']} px wide in a box of "
                f"{table['clientWidth']} px"
            )
        if table["right"] > table["limit"] + 1:
            found.append(
                f"{name} ends at {table['right']:.0f} px, past the text column "
                f"({table['limit']:.0f} px)"
            )
        found.extend(f"{name}: `{code}` is broken mid-word" for code in table["broken"])
    return found


def check_page(
    chromium: str, base: str, page: str, width: int, screenshots: Path
) -> list[str]:
    """Measure one page and screenshot it; return its problems."""
    url = base + page.lstrip("/")
    dom = run_chromium(chromium, width, "--dump-dom", f"{url}?{CHECK_QUERY}")
    match = RESULT.search(dom)
    if match is None:
        return [f"{page}: the measuring script did not run (is it a page of the site?)"]
    report: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    shot = screenshots / f"{page.strip('/').replace('/', '-') or 'index'}-{width}.png"
    run_chromium(chromium, width, f"--screenshot={shot}", url)
    say(f"{page} at {width} px (viewport {report['viewport']} px): {shot}")
    for table in report["tables"]:
        say(
            f"  table {table['index'] + 1}: {table['width']:.0f} px, box "
            f"{table['clientWidth']} px (scrolls to {table['scrollWidth']} px), "
            f"code spans broken mid-word: {len(table['broken'])}"
        )
    if not report["tables"]:
        say("  (no table)")
    return [f"{page}: {problem}" for problem in problems(report)]


def pages_with_tables(site: Path) -> list[str]:
    """The pages of the built `site` that have a table, as their folders."""
    return sorted(
        page.parent.relative_to(site).as_posix() + "/"
        for page in site.rglob("index.html")
        if page.parent != site and "<table" in page.read_text(encoding="utf-8")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Check the pages given; 0 if their tables fit, 1 if not, 2 without Chromium."""
    parser = argparse.ArgumentParser(
        description="Check in headless Chromium that the site's tables fit their page."
    )
    parser.add_argument("pages", nargs="*", metavar="PAGE")
    parser.add_argument("--site", type=Path, default=Path("site"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--screenshots", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--chromium", default=None)
    options = parser.parse_args(argv)
    chromium = find_chromium(options.chromium)
    if chromium is None:
        say("chromium not found: install it, or name it with --chromium")
        return 2
    if not (options.site / "index.html").is_file():
        say(f"{options.site} holds no built site: run `mkdocs build` first")
        return 1
    options.screenshots.mkdir(parents=True, exist_ok=True)
    pages: list[str] = options.pages or pages_with_tables(options.site)
    found: list[str] = []
    with serving(options.site) as base:
        for page in pages:
            found += check_page(
                chromium, base, page, options.width, options.screenshots
            )
    for problem in found:
        say(f"FAIL {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
