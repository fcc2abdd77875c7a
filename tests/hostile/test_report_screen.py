"""The HTML report on a 1366x768 laptop screen (Chromium, as the web app's tests use).

The page must never scroll sideways: wide tables scroll inside their own box and long text
wraps. The screenshot is kept beside the test's files (and its path printed) for a person to
look at; printing (``@media print``) is checked the same way at A4 width.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.instance.schema import Instance
from allocator.report.files import write_results
from allocator.solvers import solve

DATA = Path(__file__).resolve().parents[1] / "data"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LONG = ("Devon Partnership Trust Domiciliary Care and Reablement Services (North Devon, "
        "Torridge and the Exmoor fringe)")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium installed")


def wide_market() -> Instance:
    doc = json.loads((DATA / "small_market.json").read_text())
    for i, provider in enumerate(doc["providers"]):
        provider["name"] = f"{LONG} #{i}"
    for zone in doc["zones"]:
        zone["name"] = LONG
    return Instance.model_validate(doc)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    inst = wide_market()
    problem = Problem.from_instance(inst)
    result = solve(problem, SolveParams(solver="highs", time_limit=30))
    out = tmp_path_factory.mktemp("screen")
    write_results(out, problem, result, formats=("html",))
    return out / "report.html"


def _overflow(page) -> dict:  # type: ignore[no-untyped-def]
    return page.evaluate("""() => {
        const doc = document.documentElement;
        const wide = [...document.querySelectorAll('body *')]
            .filter(e => e.closest('.scroll') === null || e.classList.contains('scroll'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '.' + e.className);
        return {scroll: doc.scrollWidth, inner: window.innerWidth, wide: wide};
    }""")


def test_report_fits_a_laptop_screen_and_prints(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(report.as_uri())
            screen = _overflow(page)
            shot = report.with_name("report_1366x768.png")
            page.screenshot(path=str(shot), full_page=False)
            page.emulate_media(media="print")
            page.set_viewport_size({"width": 1047, "height": 718})  # A4 landscape less margins
            printed = _overflow(page)
            page.pdf(path=str(report.with_name("report.pdf")), format="A4", landscape=True)
        finally:
            browser.close()
    keep = Path("/tmp/allocator-report-screens")
    keep.mkdir(exist_ok=True)
    shutil.copy(shot, keep / shot.name)
    print(f"screenshot: {keep / shot.name}")
    assert screen["scroll"] <= screen["inner"], screen
    assert screen["wide"] == [], screen
    assert printed["scroll"] <= printed["inner"], printed
    assert shot.stat().st_size > 10_000
