"""Regenerate the report screenshots in docs/ (needs chromium and playwright, see
.ci/setup-browser.sh): the report of `racesim run with-items-fanin --guards both
--replicas 2 --html r.html`, validate's tab, at 1280 px.

    PYTHONPATH=. python docs/make_screenshots.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.html"
        argv = [sys.executable, "-m", "racesim.cli", "run", "with-items-fanin", "--guards", "both", "--replicas", "2"]
        subprocess.run([*argv, "--html", str(report)], check=True, capture_output=True)
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(report.as_uri(), wait_until="load")
            page.locator("nav.tabs a.tab", has_text="validate").click()
            case = page.locator("section.case.on")
            case.locator("h3").first.scroll_into_view_if_needed()
            page.screenshot(full_page=True, path=str(DOCS / "report-explanation.png"), clip=_clip(page, case.locator("h3").first, 1000))
            lanes = case.locator("section.run").first
            lanes.scroll_into_view_if_needed()
            page.screenshot(full_page=True, path=str(DOCS / "report-swimlanes.png"), clip=_clip(page, lanes, 900))
            browser.close()


def _clip(page, locator, height: int) -> dict:
    box = locator.bounding_box()
    scroll = page.evaluate("() => window.scrollY")
    return {"x": 0, "y": box["y"] + scroll - 8, "width": 1280, "height": height}


if __name__ == "__main__":
    main()
