"""The study's files: result.json as DESIGN.md 9.5 says, CSV, the workbook, the HTML report;
and ``allocator simulate`` end to end."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
from typer.testing import CliRunner

from allocator.cli import app
from allocator.simulate import SimulationConfig, simulate
from allocator.simulate.report import write_outputs

from .markets import ROOT, devon_sample

MARKET = ROOT / "instances" / "devon_personal_care.json"


def test_files(tmp_path):
    # seed 4: both replications place someone, so days waited have an interval (with seed 3
    # since the streams were made horizon-independent, one replication places nobody)
    result = simulate(devon_sample(), ["first_come", "nightly"],
                      SimulationConfig(weeks=2, replications=2, seed=4))
    paths = write_outputs(result, tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    assert set(doc["policies"]) == {"first_come", "nightly"}
    entry = doc["policies"]["nightly"]
    for key in ("unmet_hours_mean", "unmet_beds_mean", "days_waited_mean", "days_waited_p90",
                "weekly_cost_mean", "moves_mean"):
        assert key in entry and len(entry[f"{key}_ci95"]) == 2
    assert {r["week"] for r in doc["weekly"]} == {1, 2}
    weekly = pd.read_csv(tmp_path / "out" / "weekly.csv")
    assert len(weekly) == 2 * 2 * 2  # policies x replications x weeks
    zones = pd.read_csv(tmp_path / "out" / "zones.csv")
    assert len(zones) == 2 * 8
    book = openpyxl.load_workbook(paths["simulation.xlsx"], read_only=True)
    assert {"summary", "differences", "zones", "weekly"} <= set(book.sheetnames)
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    assert "Unmet need by zone" in html
    # a two-week replay is not called a year (the chart's alt text; its title says the same)
    assert 'alt="unmet hours over 2 weeks"' in html and "over the year" not in html


def test_cli(tmp_path):
    out = tmp_path / "sim"
    res = CliRunner().invoke(app, ["simulate", str(MARKET), "--weeks", "1", "--replications",
                                   "2", "--policies", "first_come,nightly_moves:1",
                                   "--workers", "1", "--seed", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "nightly_moves:1" in res.output and (out / "result.json").exists()
    bad = CliRunner().invoke(app, ["simulate", str(MARKET), "--policies", "first_come,magic",
                                   "--out", str(out)])
    assert bad.exit_code == 2 and "unknown policy 'magic'" in bad.output
    bad = CliRunner().invoke(app, ["simulate", str(MARKET), "--weeks", "0", "--out", str(out)])
    assert bad.exit_code == 2 and "--weeks" in bad.output
    # options named otherwise than their settings are reported by the option's name
    bad = CliRunner().invoke(app, ["simulate", str(MARKET), "--exit-rate", "-1",
                                   "--opening-rate", "-0.5", "--out", str(out)])
    assert bad.exit_code == 2
    assert "--exit-rate: " in bad.output and "--opening-rate: " in bad.output
    assert "--provider-exit-rate" not in bad.output
    missing = CliRunner().invoke(app, ["simulate", str(tmp_path / "nope.json"), "--out",
                                       str(out)])
    assert missing.exit_code == 2
