"""The nightly run from the browser's side: a job with progress, suggestions page by page,
explanations, accept and reject (one and in bulk), downloads with formulas neutralised, and a
job left running by a dead server marked failed at the next start."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from allocator.store import jobs
from allocator.store import models as m
from allocator.store.engine import make_engine, transaction

from .conftest import REFERRALS, login, wait_for_job


def _run_night(client, token) -> int:
    response = client.post("/night/run", data={"csrf_token": token, "time_limit": "30"},
                           follow_redirects=False)
    assert response.status_code == 303
    job_url = response.headers["location"]
    html = wait_for_job(client, job_url + "/status")
    assert 'class="status done"' in html, html
    run_id = int(re.search(r"/night/runs/(\d+)", html).group(1))
    return run_id


def _job_progress(book_url, job_id: int) -> list[dict]:
    with transaction(make_engine(book_url)) as session:
        job = jobs.get(session, job_id)
        assert job is not None
        return list(job.progress or [])


def test_run_watch_explain_accept_reject(client, book_url):
    token = login(client, "broker")
    upload = client.post("/referrals/upload", data={"csrf_token": token},
                         files={"file": ("tonight.csv", REFERRALS, "text/csv")})
    assert upload.status_code == 200
    client.post("/referrals/confirm", data={"csrf_token": token})
    run_id = _run_night(client, token)

    job = client.get("/night/jobs/1")
    assert "run 1: optimal" in job.text and f"run {run_id} recorded" in job.text
    chart = client.get("/night/jobs/1/progress.png")
    assert chart.headers["content-type"] == "image/png" and chart.content[:4] == b"\x89PNG"
    # drawn when there are figures at two moments or more, else said in words
    timed = {p["t"] for p in _job_progress(book_url, 1)
             if p.get("objective") is not None or p.get("bound") is not None}
    assert ("progress.png" in job.text) == bool(timed and max(timed) - min(timed) >= 1.0)

    page = client.get(f"/night/runs/{run_id}")
    assert page.status_code == 200
    assert "107 suggestion(s), showing 1–50" in page.text  # 105 + 2 uploaded
    assert "next →" in page.text
    second = client.get(f"/night/runs/{run_id}?offset=100").text
    assert "showing 101–107" in second and "next →" not in second
    urgent = client.get(f"/night/runs/{run_id}?priority=hospital_discharge&zone=Z1").text
    rows = re.findall(r'name="need" value="([^"]+)"', urgent)
    assert rows
    with transaction(make_engine(book_url)) as session:
        for need_id in rows:
            need = session.get(m.Need, need_id)
            assert need.priority == "hospital_discharge" and need.zone_id == "Z1"

    # an explanation: the provider's cost against the next alternatives
    first = rows[0]
    others = re.findall(r'name="need" value="([^"]+)"',
                        client.get(f"/night/runs/{run_id}?action=assign").text)
    rows = [first] + [n for n in others if n != first]
    why = client.get(f"/night/runs/{run_id}/needs/{first}").text
    assert "The next alternatives" in why or "only eligible provider" in why
    # its zone, and the other zones it accepts (not its own again: N015 accepts Z1 and Z2)
    zone = re.search(r"<th>zone</th><td>(\w+)(?: \(also acceptable: ([^)]*)\))?", why)
    assert zone is not None
    assert zone.group(1) not in (zone.group(2) or "").split(", ")
    # an unmet referral: why nobody and the cheapest change
    unmet = client.get(f"/night/runs/{run_id}?action=unmet").text
    unmet_id = re.search(rf"/night/runs/{run_id}/needs/([^\"?]+)", unmet).group(1)
    why_not = client.get(f"/night/runs/{run_id}/needs/{unmet_id}").text
    assert "Why nobody" in why_not and "The cheapest change that would serve it" in why_not

    accepted = client.post(f"/night/runs/{run_id}/decide",
                           data={"csrf_token": token, "need": first, "decision": "accept"})
    assert f"1 suggestion(s) accepted: {first}" in accepted.text
    no_reason = client.post(f"/night/runs/{run_id}/decide",
                            data={"csrf_token": token, "need": rows[1], "decision": "reject"})
    assert "needs a reason" in no_reason.text
    rejected = client.post(f"/night/runs/{run_id}/decide",
                           data={"csrf_token": token, "need": rows[1], "decision": "reject",
                                 "reason": "family asked for another provider"})
    assert "1 suggestion(s) rejected" in rejected.text
    twice = client.post(f"/night/runs/{run_id}/decide",
                        data={"csrf_token": token, "need": first, "decision": "accept"})
    assert "already accepted" in twice.text

    with transaction(make_engine(book_url)) as session:
        assert session.get(m.Need, first).status == "active"
        assert session.get(m.Assignment, first).run_id == run_id
        decisions = {d.need_id: d for d in session.execute(select(m.Decision)).scalars()}
        assert decisions[rows[1]].reason == "family asked for another provider"
        actions = [a for a, in session.execute(select(m.AuditEntry.action)
                                               .order_by(m.AuditEntry.id))]
    for action in ("referrals uploaded", "referrals added", "nightly run started", "job done",
                   "suggestion accepted", "suggestion rejected"):
        assert action in actions

    # the book shows the change
    assert "48</span> people in care" in client.get("/book").text
    open_only = client.get(f"/night/runs/{run_id}?decided=open").text
    assert f'value="{first}"' not in open_only and f'value="{rows[1]}"' not in open_only


def test_bulk_accept_and_downloads_neutralise_formulas(client, book_url):
    token = login(client, "broker")
    client.post("/referrals/upload", data={"csrf_token": token},
                files={"file": ("tonight.csv", REFERRALS, "text/csv")})
    client.post("/referrals/confirm", data={"csrf_token": token})
    run_id = _run_night(client, token)
    page = client.get(f"/night/runs/{run_id}?zone=Z2&action=assign").text
    ticked = re.findall(r'name="need" value="([^"]+)"', page)[:3]
    response = client.post(f"/night/runs/{run_id}/decide",
                           data={"csrf_token": token, "need": ticked, "decision": "accept"})
    assert f"{len(ticked)} suggestion(s) accepted" in response.text

    # the referral "=1+2" must come out as text, never as a formula
    text = client.get(f"/night/runs/{run_id}/suggestions.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["need", "zone"]
    ids = [r[0] for r in rows[1:]]
    assert "'=1+2" in ids and "=1+2" not in ids
    assert len(rows) == 1 + 107
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)

    # in XLSX the text is kept as it is, in a text cell marked as typed after an apostrophe
    xlsx = client.get(f"/night/runs/{run_id}/suggestions.xlsx?zone=Z2")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == "=1+2")
    assert cell.data_type == "s" and cell.quotePrefix
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    zones = {row[1].value for row in sheet.iter_rows(min_row=2)}
    assert zones == {"Z2"}  # the download holds what the screen shows


def test_a_job_left_running_by_a_dead_server_is_marked_failed_at_start(app, book_url,
                                                                       tmp_path):
    from fastapi.testclient import TestClient

    engine = make_engine(book_url)
    with transaction(engine) as session:
        job = jobs.create(session, "nightly", title="nightly run", user_id=None, params={},
                          server="dead")
        job_id = job.id
    jobs.start(engine, job_id)
    with TestClient(app) as client:  # the server starts: the orphan is failed
        login(client, "broker")
        page = client.get(f"/night/jobs/{job_id}").text
    assert 'class="status failed"' in page
    assert "the server stopped while this job was running" in page
    with transaction(engine) as session:
        assert session.execute(select(m.Run)).first() is None  # nothing half-recorded


def test_a_second_run_is_refused_while_one_is_running(client, book_url):
    token = login(client, "broker")
    engine = make_engine(book_url)
    with transaction(engine) as session:
        jobs.create(session, "nightly", title="nightly run", user_id=None, params={},
                    server="other")
    response = client.post("/night/run", data={"csrf_token": token})
    assert "already running" in response.text
    with transaction(engine) as session:
        assert len(session.execute(select(m.Job)).all()) == 1


def test_a_run_that_ends_at_its_first_figures_is_said_in_words(client, book_url):
    """Figures at one moment, or at moments within a second (a flat line over 1.17-1.20 s,
    seen on the browser test's screenshot): no chart, a sentence (the table has the figures);
    figures over a second or more: the chart; while running: the chart, which fills as it
    goes."""
    login(client, "broker")
    engine = make_engine(book_url)
    ids = []
    def point(t, objective=None, bound=None, note=""):  # the shape the jobs record
        gap = None if objective is None or bound is None else (objective - bound) / objective
        return {"t": t, "objective": objective, "bound": bound, "gap": gap, "note": note}

    for points in ([point(0.0, note="reading the book"), point(1.0, 100.0, 100.0)],
                   [point(0.5, 120.0, 90.0), point(1.5, 100.0, 100.0)],
                   [point(0.0, note="reading the book")],
                   [point(1.17, 100.0, 100.0), point(1.2, 100.0, 100.0, "run 1 recorded")]):
        with transaction(engine) as session:
            job = jobs.create(session, "nightly", title="nightly run", user_id=None,
                              params={}, server="test")
            ids.append(job.id)
        jobs.start(engine, ids[-1])
        for point in points:
            jobs.add_progress(engine, ids[-1], point)
    for k in (0, 1, 3):
        jobs.finish(engine, ids[k], {"run_id": 1})
    one = client.get(f"/night/jobs/{ids[0]}").text
    assert "progress.png" not in one and 'id="progress-in-words"' in one
    assert "Solved 1.0 s after the start" in one
    close = client.get(f"/night/jobs/{ids[3]}").text
    assert "progress.png" not in close and "Solved 1.2 s after the start" in close
    two = client.get(f"/night/jobs/{ids[1]}").text
    assert "progress.png" in two and "progress-in-words" not in two
    running = client.get(f"/night/jobs/{ids[2]}").text
    assert "progress.png" in running


def test_the_run_tables_count_people_in_care_with_no_place_apart(tmp_path):
    """A run that places its one referral and leaves one person in care with no place (their
    provider can no longer serve them): the runs tables of the night and book pages say
    "unmet 0" and "in care, no place 1", where they said "unmet 1" beside "suggested 1" of
    one referral."""
    from fastapi.testclient import TestClient
    from nightly.helpers import load_displaced_book
    from store.databases import migrated_engine

    from allocator.nightly.run import NightlyOptions, run_nightly
    from allocator.store.users import add_user
    from allocator.web.app import create_app

    from .conftest import PASSWORD, settings_for

    url = f"sqlite:///{tmp_path / 'displaced.db'}"
    for engine in migrated_engine(url):
        load_displaced_book(engine)
        with transaction(engine) as session:
            add_user(session, "broker", "broker", PASSWORD)
        out = run_nightly(engine, NightlyOptions(time_limit=10))
    assert (out.n_new, out.n_suggested, out.n_unmet, out.n_unmet_in_care) == (1, 1, 1, 1)

    def run_row(html: str) -> dict[str, str]:
        """The first row of the table headed "in care, no place", by heading."""
        table = next(t for t in re.findall(r"<table.*?</table>", html, re.S)
                     if "in care, no place" in t)
        heads = re.findall(r"<th[^>]*>([^<]*)</th>", table)
        body = table[table.index("<tbody>"):]
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", body[:body.index("</tr>")], re.S)]
        return dict(zip(heads, cells, strict=False))

    with TestClient(create_app(settings_for(url, tmp_path)), base_url="http://testserver") as c:
        login(c, "broker")
        for page in ("/night", "/book"):
            row = run_row(c.get(page).text)
            assert (row["new"], row["suggested"], row["unmet"], row["in care, no place"]) == (
                "1", "1", "0", "1"), (page, row)
        assert "1 suggested, 0 unmet, 1 in care with no place" in c.get("/book").text


def test_a_nightly_jobs_messages_are_shown_where_the_broker_looks(client, book_url):
    """A nightly run's messages (a search process that failed, a stale lock taken over) are
    shown on its job page as warnings, beside the link to its suggestions."""
    token = login(client, "broker")
    assert token
    engine = make_engine(book_url)
    note = ("search process: AttributeError: boom (the answer is HiGHS's, without that "
            "process's search)")
    with transaction(engine) as session:
        job_id = jobs.create(session, "nightly", title="nightly run", user_id=None,
                             params={}, server="test").id
    jobs.start(engine, job_id)
    jobs.finish(engine, job_id, {"run_id": 1, "messages": [note]}, "run 1: feasible")
    page = client.get(f"/night/jobs/{job_id}").text
    assert '<p class="flash warn" role="alert">search process: AttributeError: boom' in page
    with transaction(engine) as session:  # a job with no messages shows no warning
        quiet_id = jobs.create(session, "nightly", title="nightly run", user_id=None,
                               params={}, server="test").id
    jobs.start(engine, quiet_id)
    jobs.finish(engine, quiet_id, {"run_id": 1, "messages": []}, "run 1: optimal")
    quiet = client.get(f"/night/jobs/{quiet_id}")
    assert quiet.status_code == 200 and "run 1: optimal" in quiet.text
    assert 'class="flash warn"' not in quiet.text
