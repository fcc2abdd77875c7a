"""``allocator design`` and ``allocator compare`` end to end (allocator/cli_design.py).

The comparison runs on the shipped Staffordshire market and its three designs with few
scenarios and short time limits; ``design`` on a tiny market and on an imported CFLP benchmark
(``benchmark_objective`` in result.json).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocator.cli import app
from allocator.core.check import check
from allocator.instance.io import load_instance, save_instance
from allocator.report.files import solution_from_result

sys.path.insert(0, str(Path(__file__).parent))
from design.markets import designs, tiny_market  # noqa: E402

ROOT = Path(__file__).parent.parent
STAFFS = ROOT / "instances" / "staffordshire"
runner = CliRunner()


def test_compare_on_the_shipped_market(tmp_path):
    files = [str(STAFFS / f) for f in ("design_all_framework.json", "design_15_70_15.json",
                                       "design_all_block.json")]
    result = runner.invoke(app, ["compare", str(STAFFS / "market.json"), *files,
                                 "--scenarios", "2", "--seed", "1", "--time-limit", "8",
                                 "--workers", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Lot designs compared" in result.output and "All block" in result.output
    summary = pd.read_csv(tmp_path / "comparison.csv")
    assert list(summary["design"]) == ["All framework (today's DPS)",
                                       "15/70/15 proposal (seed 003)", "All block"]
    assert summary["status"].isin(["optimal", "feasible"]).all()
    assert summary.loc[0, "awards"] == 0 and summary.loc[1:, "awards"].min() > 0
    lots = pd.read_csv(tmp_path / "comparison_lots.csv")
    proposal = lots[lots["design"] == "15/70/15 proposal (seed 003)"].set_index("lot")
    # every design honours every lot rule of its own file (the proposal's include 003's 1-3
    # highly complex block providers): providers awarded and block volume against the lot's
    # expected demand, read from the design files, not restated here
    assert proposal.loc["highly_complex", "providers_awarded"] >= 1
    for path, design in zip(files, summary["design"], strict=True):
        rows = lots[lots["design"] == design].set_index("lot")
        for lot in json.loads(Path(path).read_text())["lots"]:
            rules = lot.get("block")
            if rules is None:
                continue
            got = rows.loc[lot["id"]]
            assert rules.get("min_providers", 0) <= got["providers_awarded"], (design, lot["id"])
            if rules.get("max_providers") is not None:
                assert got["providers_awarded"] <= rules["max_providers"], (design, lot["id"])
            if got["demand"] > 0:
                share = got["block_volume"] / got["demand"]
                assert rules.get("min_share", 0.0) - 1e-6 <= share, (design, lot["id"], share)
                assert share <= rules.get("max_share", 1.0) + 1e-6, (design, lot["id"], share)
    # and every design claims only what it proves: a bound never above its cost, and
    # "optimal" only where the bound closes the gap (the default design gap is 1e-6)
    assert (summary["bound"] <= summary["expected_cost"] + 1e-6).all()
    proven = summary["status"] == "optimal"
    assert (summary.loc[proven, "gap"] <= 1e-6 + 1e-9).all()
    for name in ("comparison.xlsx", "comparison.html", "comparison_scenarios.csv"):
        assert (tmp_path / name).exists()


def test_compare_rejects_bad_designs(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "bad", "lots": [
        {"id": "sl", "unit": "beds", "zones": ["cannock_chase"], "services": ["supported_living"],
         "complexities": ["complex"], "block": {"max_share": 2}}],
        "block_bids": [{"provider": "sl01", "lot": "elsewhere", "rate": 1, "max_volume": 1}]}))
    result = runner.invoke(app, ["compare", str(STAFFS / "market.json"), str(bad),
                                 "--scenarios", "1", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "field 'block.max_share'" in result.output and "Traceback" not in result.output


def test_design_writes_awards_and_scenario_allocations(tmp_path):
    from allocator.design.designs import apply_design

    inst_path = tmp_path / "mixed.json"
    save_instance(apply_design(tiny_market(), designs()["mixed"]), inst_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["design", str(inst_path), "--scenarios", "3", "--seed", "2",
                                 "--workers", "1", "--time-limit", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "result.json").read_text())
    for field in ("status", "solver", "objective", "bound", "gap", "runtime_s", "terms"):
        assert field in doc
    assert doc["status"] == "optimal"
    solution = solution_from_result(out / "result.json")
    assert solution.awards and set(solution.scenarios) == {"s01", "s02", "s03"}
    used = load_instance(out / "instance.json")  # the instance with its generated scenarios
    assert check(used, solution, reported=doc).ok


def test_design_on_a_cflp_benchmark_reports_its_objective(tmp_path):
    from benchmark_files import orlib_file

    from allocator.generate.orlib import import_cap

    path = orlib_file("cflp/holmberg/p1")
    save_instance(import_cap(path)[0], tmp_path / "p1.json")
    result = runner.invoke(app, ["design", str(tmp_path / "p1.json"), "--workers", "1",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    assert doc["benchmark_objective"] == pytest.approx(8848.0)  # published optimum


def test_design_applies_a_lot_design_file(tmp_path):
    market = tmp_path / "market.json"
    save_instance(tiny_market(), market)
    design = tmp_path / "all_block.json"
    design.write_text(designs()["all_block"].model_dump_json(), encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["design", str(market), "--design", str(design), "--scenarios",
                                 "2", "--method", "benders", "--max-iterations", "3",
                                 "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "result.json").read_text())
    assert doc["extra"]["method"] == "benders" and len(doc["extra"]["iterations"]) <= 3
    assert check(load_instance(out / "instance.json"), solution_from_result(out), reported=doc).ok
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "lots": []}', encoding="utf-8")
    result = runner.invoke(app, ["design", str(market), "--design", str(bad), "--out", str(out)])
    assert result.exit_code == 2 and "at least one lot" in result.output


def test_design_aggregate_groups_option(tmp_path):
    """``--aggregate-groups``: 0 keeps the Benders master to its cuts even where offers exist
    only with an award; the default holds the aggregated demand there; a negative count is
    refused naming the option."""
    from design.test_aggregate import SEEDS, _case

    from allocator.core.problem import Problem
    from allocator.design.aggregate import grouped_aggregates
    from allocator.design.benders import Master
    from allocator.design.scenarios import demands
    from allocator.design.solve import expected_lot_demand

    def gated(inst):
        ds = demands(inst)
        D = expected_lot_demand(inst, ds)
        return Master(inst, Problem.from_instance(inst, mode="design"), D,
                      [d.weight for d in ds], grouped_aggregates(inst, ds, D, 1)).gated

    inst = next(c for c in map(_case, SEEDS) if gated(c))
    market = tmp_path / "market.json"
    save_instance(inst, market)
    seen = {}
    for groups in ("0", None):
        out = tmp_path / f"out{groups}"
        extra = [] if groups is None else ["--aggregate-groups", groups]
        result = runner.invoke(app, ["design", str(market), "--method", "benders",
                                     "--max-iterations", "4", "--workers", "1",
                                     "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        doc = json.loads((out / "result.json").read_text())
        # the master MIP iterations (the relaxed phase's carry a "phase" and no flag)
        seen[groups] = [h["aggregated"] for h in doc["extra"]["iterations"] if "phase" not in h]
        assert check(load_instance(out / "instance.json"), solution_from_result(out),
                     reported=doc).ok
    assert seen["0"] and not any(seen["0"])  # cuts only, every master MIP
    assert seen[None] and seen[None][0] is True  # the first master MIP holds the aggregate
    result = runner.invoke(app, ["design", str(market), "--aggregate-groups", "-1",
                                 "--out", str(tmp_path / "bad")])
    assert result.exit_code == 2 and "--aggregate-groups" in result.output
    assert not (tmp_path / "bad").exists()


def test_design_says_when_benders_gives_way_to_groups(tmp_path):
    """--method benders on a design with the lexicographic objective runs the scenario groups
    (Benders cuts need the weighted objective) and says so, in result.json and on screen; a
    weighted design keeps Benders and prints no note."""
    from design.test_aggregate import _case

    lex = _case(19)
    assert lex.policy.objective == "lexicographic"
    notes = {}
    for name, inst in (("lex", lex), ("weighted", lex.model_copy(update={
            "policy": lex.policy.model_copy(update={"objective": "weighted"})}))):
        market = tmp_path / f"{name}.json"
        save_instance(inst, market)
        out = tmp_path / f"out-{name}"
        result = runner.invoke(app, ["design", str(market), "--method", "benders",
                                     "--max-iterations", "3", "--workers", "1",
                                     "--time-limit", "60", "--out", str(out)])
        assert result.exit_code == 0, result.output
        extra = json.loads((out / "result.json").read_text())["extra"]
        notes[name] = (extra["method"], extra.get("method_note"), result.output)
    method, note, output = notes["lex"]
    assert method == "groups" and "benders asked; groups used" in note
    assert "note: method benders asked" in " ".join(output.split())
    method, note, output = notes["weighted"]
    assert method == "benders" and note is None and "note:" not in output
