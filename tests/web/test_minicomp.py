"""Commissioners: a mini-competition (DESIGN.md 9.4) checked, run as a job, read and downloaded.

The market is the hand-worked one of ``tests/design/test_minicompetition.py`` (score winner
A, whole-market winner B, 500 a week apart), with bidder A renamed to a formula: the pages
escape it and the downloads neutralise it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from openpyxl import load_workbook

from allocator.store import jobs
from allocator.store import models as m
from allocator.store.engine import transaction

from .conftest import EVIL, audit_of, jobs_of, login, market_file, wait_for_job


def _check(client, token, path: Path | None):
    files = {"market": (path.name, path.read_bytes(), "application/json")} if path else None
    return client.post("/mini-competitions/market", data={"csrf_token": token}, files=files)


def _start(client, token, lot="L", **form):
    data = {"csrf_token": token, "lot": lot, "time_limit": "30", **form}
    return client.post("/mini-competitions/start", data=data, follow_redirects=False)


def _jobs(url: str) -> list[m.Job]:
    return jobs_of(url, "minicomp")


def _audit(url: str, action: str) -> list[m.AuditEntry]:
    return audit_of(url, action)


def _uploads(client) -> list[Path]:
    folder = client.app.state.settings.data_dir / "uploads"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_a_mini_competition_end_to_end(client, book_url, tmp_path):
    token = login(client, "commissioner")
    assert 'href="/mini-competitions"' in client.get("/designs").text  # in the navigation
    first = client.get("/mini-competitions")
    assert first.status_code == 200 and "Check the market" in first.text
    assert 'name="lot"' not in first.text  # no lot to choose before a market is checked

    checked = _check(client, token, market_file(tmp_path))
    assert checked.status_code == 200, checked.text
    options = re.findall(r'<option value="([^"]*)"', checked.text)
    assert options == ["L"]
    assert "4 bids, quality at least 50" in checked.text
    assert 'name="quality_points" min="0" max="1000" step="any" value="60"' in checked.text
    assert 'name="price_points" min="0" max="1000" step="any" value="40"' in checked.text
    assert client.get("/mini-competitions").text.count('<option value="L"') == 1  # kept

    started = _start(client, token)
    assert started.status_code == 303, started.text
    job_url = started.headers["location"]
    assert re.fullmatch(r"/mini-competitions/jobs/\d+", job_url)
    status = wait_for_job(client, job_url + "/status")
    assert 'class="status done"' in status, status
    assert "Read the result" in status

    page = client.get(job_url).text
    escaped = "=HYPERLINK(&#34;http://evil.example&#34;,&#34;A&#34;)"
    assert EVIL not in page and escaped in page  # escaped, never markup
    assert f"{escaped} wins on the published score, but awarding the block to B" in page
    assert "£500.00 a week" in page and "£26,000.00 a year" in page
    assert "[£500.00, £500.00]" in page  # the interval the bounds prove
    assert "proven: no other bid can cost the market less" in page
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", body, flags=re.S)
    bidders = [re.findall(r"<td>\s*(.*?)\s*<", row, flags=re.S)[0] for row in rows]
    assert bidders == ["B", "D", escaped, "C"]  # by whole-market cost; C inadmissible last
    b_row, d_row, a_row, c_row = rows
    assert "whole-market winner" in b_row and "£1,600.00" in b_row
    assert "score winner" in a_row and "£2,100.00" in a_row and "90.86" in a_row
    assert '<span class="tag warn">yes</span>' in d_row  # abnormally low
    assert "inadmissible" in c_row and "quality 40 is below lot L block min_quality 50" in c_row

    chart = client.get(job_url + "/chart.png")
    assert chart.headers["content-type"] == "image/png" and chart.content[:4] == b"\x89PNG"
    assert client.get(job_url + "/progress.png").content[:4] == b"\x89PNG"

    # downloads through the one output layer: the formula is text, numbers stay numbers
    text = client.get(job_url + "/ranking.csv").content.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["provider"] for r in table] == ["B", "D", "'" + EVIL, "C"]
    assert table[0]["whole_market_cost"] == "1600" and table[2]["extra_cost_vs_winner"] == "500"
    assert table[3]["cost_rank"] == "" and "inadmissible" in table[3]["reason"]
    book = load_workbook(io.BytesIO(client.get(job_url + "/result.xlsx").content))
    assert book.sheetnames == ["Summary", "ranking"]
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    evil = [c for c in cells if c.value == EVIL]
    assert evil and all(c.quotePrefix for c in evil)  # in both sheets, typed as text
    assert {ws.title for ws in book.worksheets
            if any(c.value == EVIL for row in ws.iter_rows() for c in row)} == {"Summary",
                                                                               "ranking"}

    jobs = _jobs(book_url)
    assert len(jobs) == 1 and jobs[0].params["market_name"] == "framework.json"
    assert "/uploads/" not in json.dumps(jobs[0].params["market_name"])
    assert not _uploads(client)  # read once by the job, then deleted
    assert len(_audit(book_url, "mini-competition market checked")) == 1
    assert len(_audit(book_url, "mini-competition started")) == 1
    assert {e.detail for e in _audit(book_url, "mini-competition downloaded")} == {
        "csv ranking", "xlsx"}
    listing = client.get("/mini-competitions").text
    assert "lot L of framework.json" in listing and "wins on the published score" in listing
    assert 'name="lot"' not in listing  # the checked market went to the job


def test_a_market_without_bids_is_refused_and_nothing_is_kept(client, book_url, tmp_path):
    token = login(client, "commissioner")
    refused = _check(client, token, market_file(tmp_path, bids=False, name="nobids.json"))
    assert refused.status_code == 400
    assert "nobids.json: no lot has block bids, so there is nothing to compete" in refused.text
    assert "Nothing was started" in refused.text and 'name="lot"' not in refused.text
    # the book's market (no file chosen): Devon has no block bids either
    book = _check(client, token, None)
    assert book.status_code == 400
    assert "the book&#39;s market: no lot has block bids" in book.text
    # a file that is not a market
    bad = tmp_path / "broken.json"
    bad.write_text('{"name": "broken", "zones": [{"id": "z1"}], "providers": 3}')
    broken = _check(client, token, bad)
    assert broken.status_code == 400 and "broken.json" in broken.text
    assert "/uploads/" not in broken.text
    assert _check(client, token, tmp_path / "nobids.json").status_code == 400
    wrong = client.post("/mini-competitions/market", data={"csrf_token": token},
                        files={"market": ("market.csv", b"a,b\n", "text/csv")})
    assert wrong.status_code == 400 and "must be .json or .xlsx" in wrong.text
    assert not _uploads(client) and not _jobs(book_url)
    assert 'name="lot"' not in client.get("/mini-competitions").text
    assert len(_audit(book_url, "mini-competition refused")) == 5


def test_an_unknown_lot_or_a_lot_without_bids_is_refused(client, book_url, tmp_path):
    token = login(client, "commissioner")
    # starting before a market is checked: back to the form
    early = _start(client, token)
    assert early.status_code == 303 and early.headers["location"] == "/mini-competitions"
    assert "Choose the market first" in client.get("/mini-competitions").text

    checked = _check(client, token, market_file(tmp_path, extra_lot=True))
    assert re.findall(r'<option value="([^"]*)"', checked.text) == ["L"]  # M has no bids
    unknown = _start(client, token, lot="NOPE")
    assert unknown.status_code == 400
    assert "lot &#39;NOPE&#39; is not in the instance (lots: L, M)" in unknown.text
    no_bids = _start(client, token, lot="M")
    assert no_bids.status_code == 400
    assert "lot &#39;M&#39; has no block bids: nothing to compete" in no_bids.text
    zero = _start(client, token, quality_points="0", price_points="0")
    assert zero.status_code == 400 and "both 0: nothing to score" in zero.text
    negative = _start(client, token, quality_points="-5")
    assert negative.status_code == 400
    assert not _jobs(book_url)
    assert len(_audit(book_url, "mini-competition refused")) == 3
    assert re.findall(r'<option value="([^"]*)"', zero.text) == ["L"]  # choose again
    assert len(_uploads(client)) == 1  # the checked market, until started or put away
    put_away = client.post("/mini-competitions/cancel", data={"csrf_token": token},
                           follow_redirects=False)
    assert put_away.status_code == 303
    assert not _uploads(client) and 'name="lot"' not in client.get("/mini-competitions").text


def test_mini_competition_posts_need_the_csrf_token(client, book_url, tmp_path):
    token = login(client, "commissioner")
    path = market_file(tmp_path)
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post("/mini-competitions/market", data=data, follow_redirects=False,
                               files={"market": (path.name, path.read_bytes(),
                                                 "application/json")})
        assert response.status_code == 403 and "Form expired" in response.text
    assert not _uploads(client)
    assert _check(client, token, path).status_code == 200
    for data in ({"lot": "L"}, {"lot": "L", "csrf_token": "forged"}):
        for action in ("start", "cancel"):
            response = client.post(f"/mini-competitions/{action}", data=data,
                                   follow_redirects=False)
            assert response.status_code == 403, action
    assert not _jobs(book_url) and len(_uploads(client)) == 1


def test_a_job_of_another_kind_is_not_a_mini_competition(client):
    login(client, "commissioner")
    with transaction(client.app.state.engine) as session:  # a comparison, never run
        job_id = jobs.create(session, "compare", title="a comparison", user_id=None,
                             params={}, server="elsewhere").id
    for suffix in ("", "/status", "/progress.png", "/chart.png", "/ranking.csv",
                   "/result.xlsx"):
        response = client.get(f"/mini-competitions/jobs/{job_id}{suffix}")
        assert response.status_code == 404, suffix
        assert f"there is no mini-competition {job_id}" in response.text


def test_a_failing_mini_competition_says_why(client, book_url):
    """A job whose lot is gone when it runs (the book changed) fails with the library's
    message, not an internal error."""
    from allocator.web.jobs import minicomp_job

    engine = client.app.state.engine
    with transaction(engine) as session:
        job_id = jobs.create(session, "minicomp", title="lot X of the book", user_id=None,
                             params={"market": None, "market_name": "the book's market",
                                     "lot": "X", "bids": 1, "quality_points": 60.0,
                                     "price_points": 40.0, "time_limit": 5.0},
                             server=client.app.state.jobs.server).id
    client.app.state.jobs.run(job_id, minicomp_job)
    login(client, "commissioner")
    page = client.get(f"/mini-competitions/jobs/{job_id}").text
    assert 'class="status failed"' in page
    assert "lot &#39;X&#39; is not in the instance" in page and "internal error" not in page
    assert client.get(f"/mini-competitions/jobs/{job_id}/chart.png").status_code == 404


def test_a_lexicographic_market_reads_right(client, tmp_path):
    """The whole-market winner of a lexicographic market leaves the least unmet need and costs
    more in all: the cards say that, never a negative "costs more by"."""
    from design.test_minicompetition import lexicographic_market

    from allocator.instance.io import save_instance

    path = tmp_path / "lex.json"
    save_instance(lexicographic_market(), path)
    token = login(client, "commissioner")
    assert _check(client, token, path).status_code == 200
    started = _start(client, token)
    assert started.status_code == 303, started.text
    job_url = started.headers["location"]
    assert 'class="status done"' in wait_for_job(client, job_url + "/status")
    page = client.get(job_url).text
    assert "B wins on the published score, but awarding the block to A leaves less need" in page
    assert "the score winner leaves more need unmet" in page and "£6,000.00 a week" in page
    assert "the score winner costs the market less in all by" in page
    assert "£7,000.00 a week" in page and "-£" not in page
