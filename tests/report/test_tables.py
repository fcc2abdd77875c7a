"""The explanations reach every result file of ``allocator solve``."""

from __future__ import annotations

import json

import pandas as pd
from core.test_explain import hand_market

from allocator.core.problem import Problem
from allocator.report.files import write_results
from allocator.report.tables import build_tables
from allocator.solvers import SolveParams, solve


def test_solve_files_carry_alternatives_and_changes(tmp_path):
    p = Problem.from_instance(hand_market())
    res = solve(p, SolveParams(solver="highs", time_limit=30))
    tables = build_tables(p, res.solution)
    assert {"alternatives", "assignments", "unmet"} <= set(tables)
    assert tables["assignments"]["why"].str.contains("next:|only eligible").all()
    assert (tables["unmet"]["change"] != "").all()
    write_results(tmp_path, p, res, tables=tables)
    doc = json.loads((tmp_path / "result.json").read_text())
    alts = doc["tables"]["alternatives"]
    assert {(a["need"], a["why_code"]) for a in alts} >= {("n2", "offer_full"),
                                                          ("n1", "lower_quality")}
    assert {u["need"]: u["change_kind"] for u in doc["tables"]["unmet"]} == {
        "n4": "capacity", "n5": "penalty", "n6": "eligibility"}
    csv = pd.read_csv(tmp_path / "alternatives.csv")
    assert len(csv) == len(alts)
    book = pd.read_excel(tmp_path / "result.xlsx", sheet_name=None)
    assert "alternatives" in book and "Change" in book["unmet"].columns
    html = (tmp_path / "report.html").read_text()
    assert "the next alternatives" in html and "on offer D/z2/individual_support" in html


def test_design_tables_see_the_capacity_an_award_brings():
    """Schemes that exist only with an award (9.1): once awarded, the tables count their
    beds and no explanation calls them 'not awarded'."""
    from design.test_minicompetition import hand_market as bids_market

    from allocator.design.minicompetition import bid_instance
    from allocator.design.solve import DesignParams, solve_design
    from allocator.instance.schema import Instance

    doc = bids_market().model_dump(mode="json")
    for offer in doc["offers"]:
        if offer["provider"] in "ABCD":
            offer["if_awarded"] = "L"
    doc["needs"].append({**doc["needs"][0], "id": "n3"})  # three people, B's two beds
    inst = Instance.model_validate(doc)
    b_only = bid_instance(inst, next(b for b in inst.block_bids if b.provider == "B"))
    res = solve_design(b_only, DesignParams(time_limit=30))
    assert res.solution.awards == {("B", "L"): 2.0}
    p = Problem.from_instance(b_only, mode="design")
    tables = build_tables(p, res.solution)
    beds = tables["providers"].set_index("provider")["beds"]
    assert beds["B"] == 2 and beds["A"] == 0  # A's scheme does not exist without its award
    codes = set(tables["alternatives"]["why_code"])
    assert "not_awarded" in codes  # A's and D's schemes, for the people placed
    assert not tables["alternatives"]["why"].str.contains("which B does not hold").any()
    assert not tables["unmet"]["detail"].str.contains("which B does not hold").any()
