"""In a real browser (Chromium, driven by Playwright), as a broker and as a commissioner would
use the app; on SQLite and on PostgreSQL. A screenshot of each step is kept in
``tests/web/artefacts/<backend>/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest
from playwright.sync_api import expect

from allocator.store import models as m
from allocator.store.engine import make_engine, transaction
from allocator.web.app import create_app

from .conftest import (
    ARTEFACTS,
    PASSWORD,
    REFERRALS,
    design_files,
    market_file,
    settings_for,
)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
if not CHROMIUM.exists():
    # .ci/run installs it and sets ALLOCATOR_REQUIRE_SERVICES=1: there a missing browser is a
    # failure, never a quiet skip; on a developer's machine without it, the skip says why.
    message = "Debian chromium is not installed (/usr/bin/chromium): apt-get install chromium"
    if os.environ.get("ALLOCATOR_REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)
# expect() waits for what a click leads to (a bare is_visible() right after a click that
# navigates raced the navigation under load), up to the page fixture's own timeout
expect.set_options(timeout=60_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(any_book_url, tmp_path) -> Iterator[str]:
    """The app on the book, served by uvicorn on a free loopback port in a thread."""
    import uvicorn

    app = create_app(settings_for(any_book_url, tmp_path))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def page(request) -> Iterator:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 768})  # a laptop
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()


class Shots:
    """Numbered full-page screenshots of one story."""

    def __init__(self, page, folder: Path) -> None:
        self.page, self.folder, self.n = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def __call__(self, name: str) -> None:
        # nothing runs off a laptop's screen sideways (wide tables scroll in their own box)
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name}: the page is {overflow} px wider than a 1366 px screen"
        self.n += 1
        self.page.screenshot(path=str(self.folder / f"{self.n:02d}_{name}.png"), full_page=True)


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _charts_loaded(page, count: int) -> None:
    """Wait until the page's ``count`` charts have loaded (each a PNG drawn on the server)."""
    page.wait_for_selector(".charts img")
    charts = page.locator(".charts img")
    assert charts.count() == count
    deadline = time.monotonic() + 60
    while not charts.evaluate_all("els => els.every(i => i.complete && i.naturalWidth > 0)"):
        assert time.monotonic() < deadline, "the charts did not load"
        time.sleep(0.2)


def _backend(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def test_a_brokers_night(server, page, any_book_url, tmp_path):
    base = server
    shot = Shots(page, ARTEFACTS / _backend(any_book_url) / "broker")
    page.goto(f"{base}/book")
    assert "/login" in page.url  # nothing without a session
    shot("login")
    _login(page, base, "broker")
    page.wait_for_url(f"{base}/book")
    expect(page.get_by_text("people in care")).to_be_visible()
    shot("book")

    # referrals with bad rows: every problem shown, nothing stored yet
    referrals = tmp_path / "tonight.csv"
    referrals.write_text(REFERRALS, encoding="utf-8")
    page.get_by_role("link", name="Referrals in", exact=True).click()
    page.get_by_label("Referrals file").set_input_files(str(referrals))
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_selector("table.rejects")
    rejects = page.locator("table.rejects tbody tr")
    assert rejects.count() == 3
    assert "unknown zone 'Z99'" in page.locator("table.rejects").inner_text()
    shot("referrals_checked")
    page.get_by_role("button", name="Add 2 referral(s) to the book").click()
    page.wait_for_url(f"{base}/book")
    expect(page.get_by_text("2 referral(s) added")).to_be_visible()
    expect(page.locator(".card").nth(1)).to_contain_text("107")
    shot("referrals_added")

    # the night: started, watched (htmx polls the job), then its suggestions
    page.get_by_role("link", name="Nightly run", exact=True).click()
    page.get_by_role("button", name="Start the nightly run").click()
    page.wait_for_url("**/night/jobs/*")
    link = page.get_by_role("link", name="Open the suggestions of run 1")
    link.wait_for()
    expect(page.locator("#job-status")).to_contain_text("optimal")
    shot("night_done")
    link.click()
    page.wait_for_selector("table.suggestions")
    shot("suggestions")

    # an explanation, then accept it
    first = page.locator("table.suggestions tbody tr.assign").first
    need = first.locator("td").nth(1).inner_text()
    first.get_by_role("link", name="why?").click()
    page.wait_for_selector("h1")
    expect(page.get_by_text("The next alternatives")
           .or_(page.get_by_text("the only eligible provider"))).to_be_visible()
    shot("explanation")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text(f"1 suggestion(s) accepted: {need}")).to_be_visible()
    shot("accepted")

    # another one rejected, with a reason
    page.get_by_role("link", name="back to the suggestions").click()
    page.wait_for_selector("table.suggestions")
    other = page.locator("table.suggestions tbody tr.assign:not(.accepted)").first
    other_need = other.locator("td").nth(1).inner_text()
    other.get_by_role("link", name="why?").click()
    page.get_by_label("Reason").fill("the family asked for another provider")
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_text("1 suggestion(s) rejected")).to_be_visible()
    shot("rejected")

    # an unmet referral: why nobody, the cheapest change
    page.goto(f"{base}/night/runs/1?action=unmet")
    page.locator("table.suggestions tbody tr").first.get_by_role("link", name="why?").click()
    expect(page.get_by_text("The cheapest change that would serve it")).to_be_visible()
    shot("unmet_explanation")

    # the book has changed
    page.get_by_role("link", name="The book", exact=True).click()
    expect(page.locator(".card").first).to_contain_text("48")
    shot("book_after")
    # each half of the page holds its tables (the runs table, one column wider, once ran
    # under the referral files beside it)
    for section in page.locator(".two > section").all():
        width = section.evaluate("s => [s.scrollWidth, s.clientWidth]")
        assert width[0] <= width[1], (section.inner_text()[:40], width)
    with transaction(make_engine(any_book_url)) as session:
        assert session.get(m.Need, need).status == "active"
        decision = session.query(m.Decision).filter_by(need_id=other_need).one()
        assert decision.decision == "reject"


def test_a_commissioner_reads_a_comparison(server, page, any_book_url, tmp_path):
    base = server
    shot = Shots(page, ARTEFACTS / _backend(any_book_url) / "commissioner")
    _login(page, base, "commissioner")
    page.wait_for_url(f"{base}/designs")
    market, designs = design_files(tmp_path / "designs")
    page.get_by_label("Market").set_input_files(str(market))
    page.get_by_label("Lot designs").set_input_files([str(p) for p in designs])
    page.get_by_label("Demand scenarios").fill("4")
    shot("designs_form")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/designs/jobs/*")
    shot("comparison_running")
    page.get_by_role("link", name="Read the comparison").click()
    _charts_loaded(page, 4)
    expect(page.get_by_text("Market concentration per lot")).to_be_visible()
    shot("comparison")

    # a mini-competition on the hand-worked market: the market checked, the lot chosen
    page.get_by_role("link", name="Mini-competitions", exact=True).click()
    page.get_by_label("Market with block bids").set_input_files(
        str(market_file(tmp_path / "minicomp", evil=False)))
    page.get_by_role("button", name="Check the market").click()
    page.get_by_label("Lot").select_option("L")
    assert page.get_by_label("Quality points").input_value() == "60"
    page.get_by_label("Time limit per bid").fill("30")
    shot("minicomp_form")
    page.get_by_role("button", name="Start the mini-competition").click()
    page.wait_for_url("**/mini-competitions/jobs/*")
    page.get_by_role("link", name="Read the result").click()
    _charts_loaded(page, 1)
    expect(page.get_by_text("A wins on the published score, but awarding the block to B"
                            " costs the whole market £500.00 a week less")).to_be_visible()
    assert page.locator("table.ranking tbody tr").count() == 4
    shot("minicomp_result")

    # a year of brokerage replayed on the book's market (worker processes, as served)
    page.get_by_role("link", name="A year replayed", exact=True).click()
    page.get_by_label("Weeks").fill("4")
    page.get_by_label("Replications").fill("3")
    shot("simulate_form")
    page.get_by_role("button", name="Replay").click()
    page.wait_for_url("**/simulations/jobs/*")
    page.get_by_role("link", name="Read the result").click()
    _charts_loaded(page, 4)
    expect(page.get_by_text("nightly against first_come:")).to_be_visible()
    shot("simulate_result")
    # a commissioner cannot accept placements
    response = page.goto(f"{base}/night/runs/1")
    assert response is not None and response.status == 403
    shot("broker_page_refused")
