"""Commissioners: a design comparison uploaded, run as a job, read as charts and tables."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from .conftest import design_files, login, wait_for_job


def _files(market, designs):
    files = [("designs", (p.name, p.read_bytes(), "application/json")) for p in designs]
    if market is not None:
        files.append(("market", (market.name, market.read_bytes(), "application/json")))
    return files


def test_compare_designs_as_a_job_and_read_the_charts(client, tmp_path):
    token = login(client, "commissioner")
    market, designs = design_files(tmp_path / "designs")
    response = client.post("/designs/compare", files=_files(market, designs),
                           data={"csrf_token": token, "scenarios": "3", "seed": "1",
                                 "time_limit": "30"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    job_url = response.headers["location"]
    status = wait_for_job(client, job_url + "/status")
    assert 'class="status done"' in status, status
    # one progress note per design, counted as they are solved (shared time: the design with
    # no bid to award first), each with the time it was given
    for k in (1, 2, 3):
        assert f"{k} of 3 designs solved" in status, status
    assert "all framework (file 1), optimal, given 30 s" in status, status
    page = client.get(job_url).text
    for name in ("all framework", "mixed", "all block", "expected weekly cost",
                 "Market concentration per lot", "Awards"):
        assert name in page
    charts = re.findall(r'src="(/designs/jobs/\d+/charts/\w+\.png)"', page)
    assert len(charts) == 4
    for url in charts:
        png = client.get(url)
        assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    workbook = load_workbook(io.BytesIO(client.get(job_url + "/comparison.xlsx").content))
    assert workbook.sheetnames == ["summary", "verdicts", "lots", "providers", "scenarios",
                                  "awards"]
    csv_text = client.get(job_url + "/comparison.csv?table=lots").text
    assert csv_text.lstrip("\ufeff").startswith("design,lot")
    assert "3 design(s) compared on 3 scenarios" in client.get("/designs").text
    uploads = client.app.state.settings.data_dir / "uploads"
    assert not any(uploads.rglob("*.json"))  # read once by the job, then deleted


def test_a_bad_design_file_is_refused_naming_file_row_and_field(client, tmp_path):
    token = login(client, "commissioner")
    market, designs = design_files(tmp_path / "designs")
    bad = tmp_path / "broken.json"
    bad.write_text('{"name": "broken", "lots": [{"id": "x", "unit": "hours", "zones": ["nowhere"],'
                   ' "services": ["personal_care"], "complexities": ["complex"]}]}')
    response = client.post("/designs/compare", files=_files(market, [designs[0], bad]),
                           data={"csrf_token": token, "scenarios": "2"})
    assert response.status_code == 400
    assert "broken.json" in response.text and "nowhere" in response.text
    assert "/uploads/" not in response.text
    assert "None yet." in response.text  # no job was started
    assert not any((client.app.state.settings.data_dir / "uploads").rglob("*.json"))


def test_a_bad_market_is_refused_by_its_name_and_nothing_is_kept(client, tmp_path):
    """A market that does not load refuses the comparison with the problems named by the
    upload's own name (never the server's path), and neither it nor the designs are kept;
    a market with an unknown zone in a design is refused the same way."""
    token = login(client, "commissioner")
    market, designs = design_files(tmp_path / "designs")
    bad = tmp_path / "county.json"
    bad.write_text('{"name": "broken", "zones": [{"id": "z1"}], "providers": 3}')
    response = client.post("/designs/compare", files=_files(bad, designs[:1]),
                           data={"csrf_token": token, "scenarios": "2"})
    assert response.status_code == 400
    assert "county.json" in response.text and "providers" in response.text
    assert "/uploads/" not in response.text and "upload.json" not in response.text
    assert "None yet." in response.text
    wrong = client.post("/designs/compare", data={"csrf_token": token, "scenarios": "2"},
                        files=[*_files(None, designs[:1]),
                               ("market", ("market.csv", b"a,b\n", "text/csv"))])
    assert wrong.status_code == 400 and "must be .json or .xlsx" in wrong.text
    assert not any((client.app.state.settings.data_dir / "uploads").rglob("*.*"))
