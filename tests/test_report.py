"""Result tables and files: they add up to the objective, and read back as written.

``tests/data/small_market.json`` is a hand-made market of 11 needs in two Devon zones where the
optimum leaves five needs unmet, one per kind of reason: n3 (p1's total capacity is used up),
n9 (the only scheme bed is taken by the urgent n10), n6 (no offer in z2 takes highly complex
care), n8 (no individual support in z2) and n11 (its penalty of 5 an hour is below any price).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from random_instances import random_instance
from rich.console import Console

from allocator.core.check import check, scenario_needs
from allocator.core.problem import Problem
from allocator.core.result import TERMS, Result, Solution, Status
from allocator.instance.io import load_instance
from allocator.instance.schema import BenchmarkInfo
from allocator.report import html as html_report
from allocator.report.files import (
    read_result,
    read_tables,
    solution_from_dict,
    solution_from_result,
    solution_to_dict,
    write_results,
)
from allocator.report.summary import print_summary, summary_fields
from allocator.report.tables import TABLE_NAMES, build_tables
from allocator.solvers import SolveParams, solve

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def solved():
    instance = load_instance(DATA / "small_market.json")
    problem = Problem.from_instance(instance)
    result = solve(problem, SolveParams(solver="highs"))
    assert result.status is Status.optimal
    assert check(instance, result.solution, reported=result).ok
    return problem, result, build_tables(problem, result.solution)


def test_tables_add_up_to_the_objective(solved):
    problem, result, t = solved
    assert list(t) == [n for n in TABLE_NAMES if n != "awards"]
    a, unmet = t["assignments"], t["unmet"]
    assert a["quantity"].sum() + unmet["quantity"].sum() == pytest.approx(problem.need_q.sum())
    assert a["framework_cost"].sum() == pytest.approx(result.terms["framework"])
    assert a["quality_zone_cost"].sum() == pytest.approx(result.terms["quality_zone"])
    assert unmet["penalty"].sum() == pytest.approx(result.terms["unmet"])
    assert set(a["need"]) | set(unmet["need"]) == set(problem.need_ids)
    assert a.set_index("need").loc["n10", "scheme"] == "Scheme A"


def test_unmet_reasons_of_the_small_market(solved):
    _, _, t = solved
    reasons = dict(zip(t["unmet"]["need"], t["unmet"]["reason"], strict=True))
    assert reasons == {"n3": "capacity_exhausted", "n6": "no_eligible_offer",
                       "n8": "no_eligible_offer", "n9": "capacity_exhausted",
                       "n11": "cheaper_unmet"}


def test_zone_provider_lot_and_block_tables(solved):
    _, _, t = solved
    zones = t["zones"].set_index("zone")
    assert zones.loc["z1", "unmet_hours"] == pytest.approx(12)  # n3 6 + n11 6
    assert zones.loc["z2", "unmet_hours"] == pytest.approx(9)  # n6 5 + n8 4
    assert zones.loc["z2", "unmet_beds"] == 1
    assert list(zones["unmet_people"]) == [2, 3]
    assert (zones["served_hours"] + zones["unmet_hours"]).tolist() == pytest.approx(
        zones["demand_hours"].tolist())
    p1 = t["providers"].set_index("provider").loc["p1"]
    # n1 10 + n2 8 in z1, n5 9 x travel factor 1.2 in z2; the block of 8 is fully used
    assert p1["used"] == pytest.approx(28.8)
    assert p1["utilisation"] == pytest.approx(28.8 / 30)
    assert (p1["block_volume"], p1["block_used"], p1["void"]) == pytest.approx((8, 8, 0))
    lot = t["lots"].set_index("lot").loc["L1"]
    assert lot["demand"] == pytest.approx(24)
    assert lot["block_share"] == pytest.approx(8 / 24)
    assert (lot["providers"], lot["largest_provider"]) == (1, "p1")
    assert lot["largest_share"] == pytest.approx(18 / 24)
    blocks = t["blocks"]
    assert blocks[["provider", "lot"]].values.tolist() == [["p1", "L1"]]


def test_files_read_back_as_written(solved, tmp_path):
    problem, result, tables = solved
    paths = write_results(tmp_path / "out", problem, result, tables=tables)
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert names == set(paths) == {f"{n}.csv" for n in tables} | {
        "result.json", "result.xlsx", "report.html"}
    for source in (tmp_path / "out", tmp_path / "out" / "result.xlsx",
                   tmp_path / "out" / "result.json"):
        back = read_tables(source)
        assert list(back) == list(tables)
        for name, df in tables.items():
            pd.testing.assert_frame_equal(back[name], df, check_dtype=False, obj=name)
    sheets = pd.read_excel(tmp_path / "out" / "result.xlsx", sheet_name=None)
    assert list(sheets)[0] == "Summary"
    summary = dict(zip(sheets["Summary"]["Item"], sheets["Summary"]["Value"], strict=True))
    assert summary["Status"] == "optimal"
    assert float(summary["Cost: unmet-need penalty"]) == pytest.approx(result.terms["unmet"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_result_json(solved, tmp_path):
    problem, result, tables = solved
    write_results(tmp_path, problem, result, tables=tables, formats=("json",))
    doc = json.loads((tmp_path / "result.json").read_text())
    for key in ("status", "solver", "objective", "bound", "gap", "runtime_s", "build_s",
                "solve_s", "terms", "phases", "tables", "solution"):
        assert key in doc
    assert list(doc["terms"]) == list(TERMS)
    assert doc["objective"] == pytest.approx(sum(doc["terms"].values()))
    assert doc["gap"] == pytest.approx(0, abs=1e-9)
    assert "benchmark_objective" not in doc
    assert doc["unmet_people"] == 5 and doc["unmet_by_reason"]["no_eligible_offer"] == 2
    assert solution_from_result(tmp_path / "result.json") == result.solution
    assert solution_from_result(tmp_path) == result.solution
    assert check(problem.instance, solution_from_result(doc), reported=doc).ok


def test_html_report_is_self_contained(solved, tmp_path):
    problem, result, tables = solved
    write_results(tmp_path, problem, result, tables=tables, formats=("html",))
    text = (tmp_path / "report.html").read_text()
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', text)) == 3
    for alt in ("cost breakdown", "unmet need by zone", "provider utilisation"):
        assert f'alt="{alt}"' in text
    assert "<style>" in text and "http" not in text.replace("http-equiv", "")
    assert "Number of hours" in text and "capacity_exhausted" in text


def test_a_failed_write_leaves_the_folder_as_it_was(solved, tmp_path, monkeypatch):
    problem, result, tables = solved
    out = tmp_path / "out"
    write_results(out, problem, result, tables=tables, formats=("json", "csv"))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(html_report, "render_html", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_results(out, problem, Result(status=Status.infeasible, solver="highs"))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_files_of_an_earlier_run_are_removed(solved, tmp_path):
    problem, result, tables = solved
    write_results(tmp_path, problem, result, tables=tables)
    write_results(tmp_path, problem, result, tables=tables, formats=("json",))
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_no_solution_writes_the_status_only(solved, tmp_path):
    problem, _, _ = solved
    result = Result(status=Status.time_limit_no_solution, solver="cbc", bound=12.5,
                    runtime_s=3.0, message="time limit reached")
    write_results(tmp_path, problem, result)
    doc = read_result(tmp_path)
    assert (doc["status"], doc["solution"], doc["tables"]) == ("time_limit_no_solution", None, {})
    assert doc["objective"] is None and doc["gap"] is None and doc["bound"] == 12.5
    with pytest.raises(ValueError, match="no solution"):
        solution_from_result(doc)
    assert (tmp_path / "report.html").exists() and not (tmp_path / "zones.csv").exists()


def test_benchmark_objective(solved):
    problem, result, tables = solved
    info = BenchmarkInfo(problem="gap", source="orlib gap1", sense="max", offset=100.0,
                         scale=-1.0)
    inst = problem.instance.model_copy(update={"benchmark": info})
    bench = Problem.from_instance(inst)
    # this market leaves need unmet: no objective in the benchmark's own sense
    assert result.terms["unmet"] > 0
    fields = summary_fields(bench, result, tables)
    assert fields["benchmark_objective"] is None
    assert fields["benchmark_status"] == (
        "infeasible" if result.status.value == "optimal" else "no_complete_solution_found")
    assert fields["benchmark"]["sense"] == "max"
    # a complete answer is reported in the benchmark's sense
    complete = dataclasses.replace(result, terms={**result.terms, "unmet": 0.0})
    fields = summary_fields(bench, complete, tables)
    assert fields["benchmark_objective"] == pytest.approx(100.0 - result.objective)
    assert fields["benchmark_status"] == result.status.value


def test_printed_summary(solved):
    problem, result, tables = solved
    console = Console(record=True, width=160)
    print_summary(problem, result, tables, console=console)
    text = console.export_text()
    for word in ("optimal", "objective", "bound", "gap", "build", "Number of hours",
                 "Number of people", "Total", "Why needs are unmet", *TERMS):
        assert word in text
    total = re.search(r"Total\s*│\s*([\d,]+)\s*│\s*(\d+)", text)
    assert total and total.groups() == ("21", "5")
    assert "n9" in text and "capacity_exhausted" in text


def test_solution_dict_round_trip():
    sol = Solution(assignment={"n1": "o1"}, block={"n1": 2.5}, awards={("p1", "L1"): 7.0},
                   scenarios={"s1": Solution(assignment={"n2": "o2"})})
    back = solution_from_dict(json.loads(json.dumps(solution_to_dict(sol))))
    assert back == sol
    with pytest.raises(ValueError):
        solution_from_dict({"awards": [{"provider": "p1"}]})


def test_scenarios_and_awards_tables():
    """A design instance with two scenarios: each scenario's allocation is an optimal
    allocation of its own demand, and the first bid is awarded at its maximum volume."""
    inst = random_instance(0, design=True, n_scenarios=2)
    scenarios = {}
    for sc in inst.scenarios:
        sp = Problem.from_instance(inst, needs=scenario_needs(inst, sc.id), scenario=sc.id)
        scenarios[sc.id] = solve(sp, SolveParams()).solution
    bid = inst.block_bids[0]
    sol = Solution(assignment={}, awards={(bid.provider, bid.lot): bid.max_volume},
                   scenarios=scenarios)
    tables = build_tables(Problem.from_instance(inst, mode="design"), sol)
    assert list(tables)[-1] == "awards"
    for name in ("zones", "lots", "providers"):
        assert tables[name]["scenario"].unique().tolist() == ["s1", "s2"]
    for sc in inst.scenarios:
        rows = sum(int((tables[n]["scenario"] == sc.id).sum()) for n in ("assignments", "unmet"))
        assert rows == len(scenario_needs(inst, sc.id))
    zones = tables["zones"]
    assert len(zones) == 2 * len(inst.zones)
    awards = tables["awards"].iloc[0]
    assert awards["volume"] == bid.max_volume
    assert awards["cost"] == pytest.approx(bid.rate * bid.max_volume + bid.award_cost)
    weights = {sc.id: sc.weight for sc in inst.scenarios}
    unmet = tables["unmet"]
    hours = unmet[unmet["unit"] == "hours"]
    want = sum(weights[s] * q for s, q in zip(hours["scenario"], hours["quantity"], strict=True))
    problem = Problem.from_instance(inst, mode="design")
    fields = summary_fields(problem, Result(status=Status.feasible, solver="x", solution=sol),
                            tables)
    assert fields["unmet_hours"] == pytest.approx(want)
    assert fields["unmet_people"] == pytest.approx(sum(weights[s] for s in unmet["scenario"]))
    console = Console(record=True, width=160)
    print_summary(problem, Result(status=Status.feasible, solver="x", solution=sol), tables,
                  console=console)
    assert "expected over 2 scenarios" in console.export_text()


def test_a_market_of_placements_only_shows_no_hours(tmp_path):
    """Supported living alone (seed 003's shipped market): the zone table's hours columns
    would be all 0; the printed summary and the HTML report show people and beds instead,
    with the demand in people. A market with hours keeps them (test_printed_summary)."""
    instance = load_instance(Path(__file__).resolve().parents[1] / "instances"
                             / "staffordshire_supported_living.json")
    problem = Problem.from_instance(instance)
    assert all(n.kind == "placement" for n in problem.instance.needs)
    result = solve(problem, SolveParams(solver="highs", time_limit=30))
    tables = build_tables(problem, result.solution)
    console = Console(record=True, width=160)
    print_summary(problem, result, tables, console=console)
    text = console.export_text()
    assert "Number of people" in text and "Demand (people)" in text
    assert "Number of hours" not in text and "Demand (hours)" not in text
    total = re.search(r"Total\s*│\s*([\d,]+)\s*│\s*([\d,]+)", text)
    assert total and int(total.group(2).replace(",", "")) == len(problem.instance.needs)
    write_results(tmp_path, problem, result, tables=tables, formats=("html",))
    page = (tmp_path / "report.html").read_text()
    assert "Demand (people)" in page and "Number of hours" not in page
