"""Commissioners: a year of brokerage replayed (DESIGN.md 9.5) from the browser: started, run
as a job, read and downloaded, with the same numbers as ``allocator simulate``; refusals that
start nothing; a simulation's progress while it runs; what a job keeps rebuilt faithfully."""

from __future__ import annotations

import csv
import io
import json
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from allocator.instance.io import load_instance
from allocator.simulate import SimulationConfig, simulate
from allocator.store import jobs
from allocator.store import models as m
from allocator.store.engine import make_engine, transaction
from allocator.web.app import create_app

from .conftest import DEVON, audit_of, jobs_of, login, settings_for, wait_for_job

FORM = {"policy": ["first_come", "nightly", "nightly_moves"], "moves": "2", "weeks": "4",
        "replications": "3", "seed": "7"}


@pytest.fixture
def sim_client(book_url, tmp_path):
    """The app with simulations in the job's own thread (no worker processes: quicker, and
    the numbers are the same wherever a replication runs)."""
    app = create_app(settings_for(book_url, tmp_path, simulate_workers=1,
                                  simulate_max_replications=10))
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def _start(client, token, files=None, **form):
    data = {"csrf_token": token, **FORM, **form}
    return client.post("/simulations/start", data=data, files=files, follow_redirects=False)


def _jobs(url: str) -> list[m.Job]:
    return jobs_of(url, "simulate")


def _audit(url: str, action: str) -> list[m.AuditEntry]:
    return audit_of(url, action)


def test_a_replay_end_to_end_has_the_numbers_of_the_library(sim_client, book_url):
    client = sim_client
    token = login(client, "commissioner")
    assert 'href="/simulations"' in client.get("/designs").text  # in the navigation
    form = client.get("/simulations")
    assert form.status_code == 200 and "Replay" in form.text
    assert form.text.count('type="checkbox" name="policy"') == 3

    started = _start(client, token)
    assert started.status_code == 303, started.text
    job_url = started.headers["location"]
    assert re.fullmatch(r"/simulations/jobs/\d+", job_url)
    status = wait_for_job(client, job_url + "/status")
    assert 'class="status done"' in status, status
    assert "Read the result" in status, status
    assert "3 of 3 replication(s) done" in status, status

    # the same study through the library, on the book's market: the same numbers
    with transaction(make_engine(book_url)) as session:
        from allocator.store.book import export_instance

        market = export_instance(session)
    config = SimulationConfig(weeks=4, replications=3, seed=7)
    direct = simulate(market, ["first_come", "nightly", "nightly_moves:2"], config, workers=1)

    page = client.get(job_url).text
    assert "4 weeks of brokerage replayed" in page
    assert "policies first_come, nightly, nightly_moves:2" in page
    for name in ("first_come", "nightly", "nightly_moves:2"):
        s = direct.policies_summary[name]
        mean, (lo, hi) = s["unmet_hours_mean"], s["unmet_hours_mean_ci95"]
        assert f"<td class=\"num\">{mean:,.1f} [{lo:,.1f}, {hi:,.1f}]</td>" in page, name
    from allocator.simulate.report import sentences

    for line in sentences(direct):
        assert line.replace("'", "&#39;") in page
    assert page.count("<figure>") == 4
    # the zones table: one row per zone, unmet hours then people waiting under each policy
    z = direct.zone_summary.set_index(["zone", "policy"])
    names = list(direct.policies)
    for zone in direct.zone_ids:
        cells = [z.loc[(zone, p), "unmet_hours"] for p in names]
        cells += [z.loc[(zone, p), "waiting_people"] for p in names]
        row = f"<tr><td>{zone}</td>" + "".join(f'<td class="num">{v:,.1f}</td>' for v in cells)
        assert row in page, zone

    for name in ("unmet", "waits", "cost", "zones"):
        chart = client.get(f"{job_url}/charts/{name}.png")
        assert chart.status_code == 200 and chart.content[:4] == b"\x89PNG", name
    assert client.get(f"{job_url}/charts/nothing.png").status_code == 404

    # downloads: the policies' table as CSV, every kept table as a workbook
    summary = client.get(f"{job_url}/summary.csv")
    assert summary.status_code == 200 and summary.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(summary.content.decode("utf-8-sig"))))
    assert [r["policy"] for r in rows] == ["first_come", "nightly", "nightly_moves:2"]
    for r in rows:
        want = direct.policies_summary[r["policy"]]["weekly_cost_mean"]
        assert float(r["weekly_cost_mean"]) == pytest.approx(want, rel=1e-6)
    providers = client.get(f"{job_url}/providers.csv")
    prow = list(csv.DictReader(io.StringIO(providers.content.decode("utf-8-sig"))))
    assert len(prow) == len(direct.providers) and {r["provider"] for r in prow} == set(
        direct.providers["provider"])
    assert "Provider utilisation over the replay" in page
    assert client.get(f"{job_url}/weekly.csv").status_code == 404  # not a kept table
    book = load_workbook(io.BytesIO(client.get(f"{job_url}/simulation.xlsx").content))
    assert {"summary", "differences", "zones", "providers", "weekly_mean", "replications",
            "waits", "runs"} <= set(book.sheetnames)
    assert len(_audit(book_url, "simulation started")) == 1
    assert len(_audit(book_url, "simulation downloaded")) == 3


def test_an_uploaded_market_is_replayed_and_deleted(sim_client, book_url, tmp_path):
    client = sim_client
    token = login(client, "commissioner")
    files = {"market": ("devon.json", DEVON.read_bytes(), "application/json")}
    started = _start(client, token, files=files, policy=["first_come", "nightly"],
                     replications="2", weeks="2")
    assert started.status_code == 303, started.text
    status = wait_for_job(client, started.headers["location"] + "/status")
    assert 'class="status done"' in status, status
    (job,) = _jobs(book_url)
    assert job.params["market_name"] == "devon.json"
    assert job.params["policies"] == ["first_come", "nightly"]
    uploads = client.app.state.settings.data_dir / "uploads"
    assert not [p for p in uploads.rglob("*") if p.is_file()]  # read once, then deleted


@pytest.mark.parametrize(("form", "files", "message"), [
    ({"policy": []}, None, "policies: choose at least one"),
    ({"replications": "11"}, None, "replications: at most 10"),
    ({"time_limit": "0"}, None, None),  # refused by the form's own bounds (422)
    ({}, {"market": ("broken.json", b'{"schema_version": 1, "zones": 3}', "application/json")},
     "broken.json"),
    ({}, {"market": ("notes.txt", b"hello", "text/plain")}, "notes.txt"),
])
def test_a_refused_replay_starts_nothing_and_keeps_nothing(sim_client, book_url, form, files,
                                                            message):
    client = sim_client
    token = login(client, "commissioner")
    response = _start(client, token, files=files, **form)
    assert response.status_code in (400, 422), response.text
    if message is not None:
        assert response.status_code == 400
        assert "Nothing was started" in response.text and message in response.text
        assert len(_audit(book_url, "simulation refused")) == 1
    assert _jobs(book_url) == []
    uploads = client.app.state.settings.data_dir / "uploads"
    assert not uploads.exists() or not [p for p in uploads.rglob("*") if p.is_file()]


def test_a_broker_cannot_replay(sim_client):
    token = login(sim_client, "broker")
    assert sim_client.get("/simulations").status_code == 403
    assert _start(sim_client, token).status_code == 403
    assert 'href="/simulations"' not in sim_client.get("/book").text


def test_a_running_replay_shows_its_replications_done(sim_client, book_url):
    """A job not yet done: the page polls its status, which counts the replications done
    (no objective or bound to draw for a simulation)."""
    client = sim_client
    login(client, "commissioner")
    engine = make_engine(book_url)
    params = {"market": None, "market_name": "the book's market", "policies": ["nightly"],
              "config": SimulationConfig(weeks=4, replications=5).model_dump(mode="json"),
              "workers": 1}
    with transaction(engine) as session:
        job_id = jobs.create(session, "simulate", title="t", user_id=None, params=params,
                             server="elsewhere").id
    jobs.start(engine, job_id)
    jobs.add_progress(engine, job_id, {"t": 0.1, "objective": None, "bound": None,
                                       "gap": None, "note": "1 policies: started"})
    for k in (1, 2):
        jobs.add_progress(engine, job_id, {"t": k, "objective": None, "bound": None,
                                           "gap": None, "note": f"replication {k} of 5 done",
                                           "replications_done": k})
    page = client.get(f"/simulations/jobs/{job_id}").text
    assert f'hx-get="/simulations/jobs/{job_id}/status"' in page
    assert '<progress max="5" value="2">' in page and "2 of 5 replication(s) done" in page
    assert "progress.png" not in page
    assert client.get(f"/simulations/jobs/{job_id}/simulation.xlsx").status_code == 404
    assert client.get(f"/simulations/jobs/{job_id}/charts/unmet.png").status_code == 404
    assert client.get("/simulations/jobs/99999").status_code == 404


def test_what_a_job_keeps_rebuilds_the_result_in_any_key_order():
    """A database may give a JSON object's keys back in another order (PostgreSQL's JSONB
    does): the rebuilt result has the policies, tables and figures of the original."""
    from allocator.simulate import report
    from allocator.web.jobs import simulation_of, simulation_record

    result = simulate(load_instance(DEVON), ["first_come", "nightly_moves:3", "nightly"],
                      SimulationConfig(weeks=3, replications=3, seed=2), workers=1)
    kept = json.loads(json.dumps({"simulation": simulation_record(result)}, sort_keys=True))
    back = simulation_of(kept)
    assert back.policies == result.policies
    assert list(back.policies_summary) == list(result.policies)
    assert back.policies_summary == json.loads(json.dumps(result.policies_summary))
    for name in ("differences", "zone_summary", "waits", "runs", "values", "providers"):
        pd.testing.assert_frame_equal(getattr(back, name).reset_index(drop=True),
                                      getattr(result, name).reset_index(drop=True),
                                      check_dtype=False, obj=name)
    pd.testing.assert_frame_equal(back.unmet_band(), result.unmet_band(), check_dtype=False)
    assert report.headline(back).equals(report.headline(result))
    assert report.sentences(back) == report.sentences(result)
    for chart in (report.unmet_over_year, report.wait_chart, report.cost_chart,
                  report.zone_chart):
        assert chart(back)[:4] == b"\x89PNG"
    assert "weekly_zones" not in back.tables() and "weekly_mean" in back.tables()


def test_the_unmet_band_is_the_mean_and_interval_over_replications():
    result = simulate(load_instance(DEVON), ["first_come"],
                      SimulationConfig(weeks=3, replications=4, seed=5), workers=1)
    band = result.unmet_band()
    assert list(band["week"]) == [0, 1, 2] or list(band["week"]) == [1, 2, 3]
    w = result.weekly
    for row in band.itertuples():
        values = w[(w["policy"] == "first_come") & (w["week"] == row.week)]["unmet_hours"]
        assert len(values) == 4
        assert row.unmet_hours == pytest.approx(values.mean())
        assert row.ci95_low <= row.unmet_hours <= row.ci95_high
        assert row.ci95_low >= 0  # cut to what unmet hours can be

