"""Open a report's index.html in headless Chromium and check that it renders: tables present, every chart
image decoded, and a screenshot that is not blank. CI runs it through tests/report/test_browser.py.

    python scripts/check_report_html.py RESULTS/RUN/report/index.html [--screenshot-dir DIR]

Needs Chromium (Debian: ``apt-get install -y chromium``). Exit codes: 0 renders; 1 a check failed;
2 Chromium missing or the page could not be opened.
"""

from __future__ import annotations

import argparse
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
#: (name, width, height): a desktop and a phone viewport.
VIEWPORTS = (("desktop", 1280, 3200), ("phone", 390, 3200))
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
    for name, width, height in VIEWPORTS:
        shot = screenshot_dir / f"screenshot-{name}.png"
        run_chromium(chromium, [f"--screenshot={shot}", f"--window-size={width},{height}", url])
        problems += screenshot_problems(shot)
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
