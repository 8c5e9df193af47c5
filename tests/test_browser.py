"""The HTML report in a real browser: headless Debian chromium driven by Playwright.

Install both with ``.ci/setup-browser.sh``. The tests skip (with the reason) only when no
browser can be launched here.
"""

from __future__ import annotations

import os
import shutil

import pytest
from racesim.engine.runner import config_for, run_one
from racesim.models.guards import Guards
from racesim.reports import html
from racesim.reports.terminal import duplicate_marks
from test_html_report import HOSTILE_TASK, first_failing, hostile_scenario

CHROMIUM = os.environ.get("RACESIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WARNING_FILL = "rgb(232, 89, 12)"  # --dup in the template


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (run .ci/setup-browser.sh)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM} (run .ci/setup-browser.sh)")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=30_000)
    except Exception as exc:  # any launch failure means there is no usable browser here
        pw.stop()
        pytest.skip(f"chromium could not be launched: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    yield b
    b.close()
    pw.stop()


def open_report(browser, path):
    """Load a report from disk; collect console errors, page errors, dialogs and every
    request other than the file itself."""
    page = browser.new_page()
    seen = {"errors": [], "requests": [], "dialogs": []}
    url = path.as_uri()
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url) if r.url != url else None)
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(url, wait_until="load")
    return page, seen


@pytest.fixture(scope="module")
def fanin_report(fanin, tmp_path_factory):
    failing = first_failing(config_for(fanin, Guards.parse("none")))
    contrast = run_one(config_for(fanin, Guards.parse("serialized")), failing.seed, record=True)
    path = tmp_path_factory.mktemp("browser") / "report.html"
    html.write_report(
        path,
        title="fanin",
        command="racesim run with-items-fanin --html r.html",
        summaries=[],
        failing=failing,
        contrast=contrast,
    )
    return path, failing, contrast


def test_report_loads_offline_with_lanes_and_duplicates(browser, fanin_report):
    path, failing, contrast = fanin_report
    page, seen = open_report(browser, path)
    assert seen["errors"] == []
    assert seen["requests"] == []
    for role, result in (("failing", failing), ("contrast", contrast)):
        actors = sorted({r[1] for r in result.output.records})
        lanes = page.eval_on_selector_all(
            f'svg.lanes[data-role="{role}"] g.lane[data-actor]', "els => els.map(e => e.getAttribute('data-actor'))"
        )
        assert sorted(lanes) == actors  # one lane per actor
        stores = page.eval_on_selector_all(
            f'svg.lanes[data-role="{role}"] g.lane[data-lane]', "els => els.map(e => e.dataset.lane)"
        )
        assert stores == ["DB", "broker"]
    dups = page.locator('svg.lanes[data-role="failing"] circle.ev.dup')
    assert dups.count() == len(duplicate_marks(failing)) > 0
    assert dups.first.evaluate("e => getComputedStyle(e).fill") == WARNING_FILL
    assert page.locator('svg.lanes[data-role="contrast"] circle.ev.dup').count() == 0
    # Clicking a mark shows its full record.
    dups.first.click()
    detail = page.locator("#detail")
    assert detail.is_visible()
    assert "WorkerDispatch" in detail.inner_text()
    page.close()


def test_hostile_names_never_run(browser, tmp_path):
    sc = hostile_scenario()
    failing = first_failing(
        config_for(sc, Guards.parse("none")), want=lambda r: any(HOSTILE_TASK in m for m in duplicate_marks(r).values())
    )
    path = tmp_path / "hostile.html"
    html.write_report(path, title=sc.name, command="racesim run x", summaries=[], failing=failing, contrast=None)
    page, seen = open_report(browser, path)
    assert seen["dialogs"] == [] and seen["errors"] == [] and seen["requests"] == []
    assert page.locator("script").count() == 2  # the JSON block and the page's own script
    assert page.get_by_text(HOSTILE_TASK).count() > 0  # shown as text
    page.close()


def test_big_report_opens(browser, tmp_path):
    big = run_one(config_for(hostile_scenario(items=200, concurrency=10), Guards.parse("none")), 1, record=True)
    path = tmp_path / "big.html"
    html.write_report(path, title="big", command="racesim run big", summaries=[], failing=big, contrast=None)
    page, seen = open_report(browser, path)
    assert seen["errors"] == [] and seen["requests"] == []
    assert page.locator('svg.lanes[data-role="failing"] circle.ev').count() == html.MAX_EVENTS
    assert page.get_by_text(f"cap {html.MAX_EVENTS}").count() > 0
    page.close()


pytestmark = pytest.mark.services  # Chromium


@pytest.fixture(scope="module")
def both_two_report(fanin, tmp_path_factory):
    """The report of `racesim run with-items-fanin --guards both --replicas 2` (fewer runs)."""
    from racesim.analysis.cases import cases
    from racesim.engine.runner import sweep
    from racesim.sim.config import Deployment

    config = config_for(fanin, Guards.parse("both"), Deployment(replicas=2))
    summary = sweep(config, 1, 60)
    path = tmp_path_factory.mktemp("browser") / "both.html"
    html.write_report(
        path,
        title="with-items-fanin",
        command="racesim run with-items-fanin --guards both --replicas 2 --html r.html",
        summaries=[summary],
        failing=None,
        contrast=None,
        cases=cases([summary], [config]),
    )
    return path


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > width) out.push("page " + document.documentElement.scrollWidth);
  document.querySelectorAll("table").forEach((t, i) => {
    const r = t.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 0.5) out.push("table " + i + " (" + t.className + ") right " + r.right);
  });
  return out;
}"""


def test_nothing_overflows_at_1280(browser, both_two_report):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(both_two_report.as_uri(), wait_until="load")
    tabs = page.locator("nav.tabs a.tab")
    assert tabs.count() >= 2
    for i in range(tabs.count()):
        tabs.nth(i).click()
        case = page.locator("section.case.on")
        assert case.count() == 1
        assert page.evaluate(OVERFLOW) == [], f"tab {i}"
        # The swimlanes: full width of the page, the explanation's actors first.
        lanes = case.locator("section.run .pan").first
        assert lanes.bounding_box()["width"] > 1100
    page.close()


def test_validate_tab_links_steps_and_zooms(browser, both_two_report):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(both_two_report.as_uri(), wait_until="load")
    page.locator("nav.tabs a.tab", has_text="validate").click()
    case = page.locator("section.case.on")
    assert "Why validate was handed to workers more than once" in case.inner_text()
    link = case.locator("a.step", has_text="P6e").first
    link.click()
    target = page.locator(link.get_attribute("href"))
    assert target.is_visible()
    svg = case.locator("svg.lanes").first
    before = float(svg.get_attribute("width"))
    case.locator("section.run .zoombar button[data-zoom='out']").first.click()
    assert float(svg.get_attribute("width")) < before
    page.close()
