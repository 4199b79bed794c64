"""Open a report's index.html in headless Chromium and check that it renders: tables present, every chart
image decoded, no table column cut off, and a screenshot that is not blank. Only tests use it
(tests/report/test_browser.py); run it from the repository root:

    python -m scripts.tests.check_report_html RESULTS/RUN/report/index.html [--screenshot-dir DIR]

Column check, measured in the browser on a copy of the page with a measuring script added: at the desktop
width (1400 px) every header cell's right edge must lie inside the visible part of its table's box (no
column hidden behind the edge: the screenshot a reader takes shows the whole table); at the phone width a
table may be wider than the screen, but then its box must scroll (overflow-x auto or scroll) and the page
itself must not.

Needs Chromium (Debian: ``apt-get install -y chromium``). Exit codes: 0 renders; 1 a check failed;
2 Chromium missing or the page could not be opened.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

#: Flags that keep headless Chromium from stalling on network/background work in a sandboxed container.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--disable-dev-shm-usage",
    "--virtual-time-budget=10000",
)
#: (name, width, height, every column visible without scrolling): a desktop and a phone viewport. Headless
#: Chromium lays a 390-px window out 500 px wide (its narrowest window), still far narrower than any table.
VIEWPORTS = (("desktop", 1400, 3200, True), ("phone", 390, 3200, False))
#: Sub-pixel layout: edges within this many CSS pixels count as inside.
EDGE_SLACK_PX = 1.0
#: Added before </body> of a copy of the page: measures every table's box and header cells after load and
#: leaves the numbers in ``data-layout`` on <body>, where ``--dump-dom`` returns them.
MEASURE_SCRIPT = """<script>addEventListener('load', function () {
  var tables = [];
  for (var t of document.querySelectorAll('table')) {
    var box = t.parentElement, r = box.getBoundingClientRect();
    tables.push({id: t.id, box_left: r.left, box_right: r.right, client_width: box.clientWidth,
      scroll_width: box.scrollWidth, overflow_x: getComputedStyle(box).overflowX,
      headers: Array.from(t.querySelectorAll('thead th'), function (h) {
        return {text: h.textContent, right: h.getBoundingClientRect().right}; })});
  }
  var root = document.documentElement;
  document.body.dataset.layout = JSON.stringify(
    {viewport: root.clientWidth, page_width: root.scrollWidth, tables: tables});
});</script>"""
TIMEOUT_S = 90
REQUIRED_TABLES = ("table-summary",)


def find_chromium() -> str | None:
    candidates = [os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"]
    for name in filter(None, candidates):
        path = shutil.which(name) or (name if Path(name).is_file() else None)
        if path:
            return path
    return None


@dataclass
class Dom(HTMLParser):
    """What the check needs from the rendered DOM: table ids, and each image's decode status."""

    tables: list[str] = field(default_factory=list)
    images: list[dict[str, str | None]] = field(default_factory=list)
    images_checked: str | None = None
    layout: str | None = None  # MEASURE_SCRIPT's JSON, when the page carried it

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self.tables.append(attributes.get("id") or "")
        elif tag == "img":
            self.images.append(attributes)
        elif tag == "body":
            self.images_checked = attributes.get("data-images-checked")
            self.layout = attributes.get("data-layout")


def run_chromium(chromium: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )


def dom_problems(dom: Dom) -> list[str]:
    problems = [f"table #{t} missing" for t in REQUIRED_TABLES if t not in dom.tables]
    if not dom.images:
        problems.append("no <img> in the page")
    if dom.images_checked != str(len(dom.images)):
        problems.append(f"the page's load handler did not run (data-images-checked={dom.images_checked!r})")
    for image in dom.images:
        if image.get("data-decoded") != "true":
            problems.append(f"image {image.get('data-chart') or image.get('alt')!r} did not decode")
        source = image.get("src") or ""
        if not source.startswith("data:"):
            problems.append(f"image {image.get('alt')!r} is not embedded (src={source[:60]!r})")
    return problems


def layout_problems(layout: dict, viewport: str, all_visible: bool) -> list[str]:
    """Columns a reader cannot see, from MEASURE_SCRIPT's numbers. ``all_visible``: every header cell must end
    inside its box's visible width; otherwise columns beyond it only need a box that scrolls."""
    where = f"{viewport} ({layout['viewport']} px)"
    problems = []
    if layout["page_width"] > layout["viewport"] + EDGE_SLACK_PX:
        problems.append(f"{where}: the page is {layout['page_width']} px wide, wider than the window")
    for table in layout["tables"]:
        visible_right = table["box_left"] + table["client_width"] + EDGE_SLACK_PX
        hidden = [h["text"] for h in table["headers"] if h["right"] > visible_right]
        if not hidden:
            continue
        name = f"table #{table['id']}"
        if all_visible:
            problems.append(
                f"{where}: {name} cuts off {len(hidden)} column(s) at its right edge: {', '.join(hidden)} "
                f"(table {table['scroll_width']} px wide in a {table['client_width']} px box)"
            )
        elif table["overflow_x"] not in ("auto", "scroll"):
            problems.append(f"{where}: {name} is wider than its box and the box does not scroll: {', '.join(hidden)}")
    return problems


def measured_layout(chromium: str, page: Path, width: int, height: int) -> dict | str:
    """MEASURE_SCRIPT's numbers for ``page`` in a ``width`` x ``height`` window, or a one-line problem."""
    html = page.read_text(encoding="utf-8")
    if "</body>" not in html:
        return f"{page} has no </body>"
    # A measured copy, so the page under test is never modified (its charts are data URIs: it is self-contained).
    with tempfile.TemporaryDirectory(prefix="report-layout-") as work:
        copy = Path(work) / page.name
        copy.write_text(html.replace("</body>", MEASURE_SCRIPT + "</body>", 1), encoding="utf-8")
        dumped = run_chromium(chromium, [f"--window-size={width},{height}", "--dump-dom", copy.as_uri()])
    dom = Dom()
    dom.feed(dumped.stdout)
    if not dom.layout:
        return f"no layout measured at {width} px (exit {dumped.returncode}): {dumped.stderr.strip()[-200:]}"
    return json.loads(dom.layout)


def screenshot_problems(path: Path) -> list[str]:
    """The PNG decodes and is not blank: enough non-background pixels and some variation."""
    import matplotlib.image as mpimg  # imported here: only the screenshot check needs it
    import numpy as np

    if not path.is_file() or path.stat().st_size < 10_000:
        return [f"screenshot {path} missing or tiny"]
    pixels = np.asarray(mpimg.imread(path))[..., :3]
    ink = float((pixels.mean(axis=2) < 0.9).mean())  # share of pixels darker than near-white
    if ink < 0.02 or float(pixels.std()) < 0.05:
        return [f"screenshot {path} looks blank (ink {ink:.1%}, std {pixels.std():.3f})"]
    return []


def check(page: Path, screenshot_dir: Path, chromium: str) -> list[str]:
    url = page.resolve().as_uri()
    dumped = run_chromium(chromium, ["--dump-dom", url])
    if dumped.returncode != 0 or "<html" not in dumped.stdout:
        return [f"chromium could not render {page} (exit {dumped.returncode}): {dumped.stderr.strip()[-300:]}"]
    dom = Dom()
    dom.feed(dumped.stdout)
    problems = dom_problems(dom)
    for name, width, height, all_visible in VIEWPORTS:
        shot = screenshot_dir / f"screenshot-{name}.png"
        run_chromium(chromium, [f"--screenshot={shot}", f"--window-size={width},{height}", url])
        problems += screenshot_problems(shot)
        layout = measured_layout(chromium, page, width, height)
        problems += [layout] if isinstance(layout, str) else layout_problems(layout, name, all_visible)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="the report's index.html")
    parser.add_argument(
        "--screenshot-dir", type=Path, default=None, help="where to keep the screenshots (default: beside the page)"
    )
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print(
            "error: chromium not found; install it (Debian: apt-get install -y chromium) or set CHROMIUM",
            file=sys.stderr,
        )
        return 2
    if not args.page.is_file():
        print(f"error: no page at {args.page}", file=sys.stderr)
        return 2
    out = args.screenshot_dir or args.page.parent
    out.mkdir(parents=True, exist_ok=True)
    problems = check(args.page, out, chromium)
    for line in problems:
        print(f"FAIL: {line}", file=sys.stderr)
    if not problems:
        print(f"ok: {args.page} renders in {chromium}; screenshots in {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
