"""The shipped Devon Supporting Independence market (seed 000) solves, and its lots' quality
thresholds (DESIGN.md 9.2) decide who may work where."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from allocator.core.check import check
from allocator.core.problem import Problem
from allocator.core.reasons import explain_unmet
from allocator.instance.io import load_instance
from allocator.solvers import SolveParams, solve

MARKET = Path(__file__).resolve().parents[1] / "instances" / "devon_si" / "market.json"


def test_shape_follows_seed_000():
    inst = load_instance(MARKET)
    assert [z.id for z in inst.zones] == [f"Z{i}" for i in range(1, 9)]
    assert inst.zones[3].name == "Exeter"
    assert {lot.id: lot.min_quality for lot in inst.lots} == {"group_based": 50.0,
                                                              "individualised": 60.0}
    # the care-group mix of 000 (21 August 2019), one person in ten
    mix = Counter((n.service, n.care_group) for n in inst.needs)
    assert mix[("individual_support", "LD")] == 118 and mix[("group_support", "OP")] == 37
    # providers set prices per zone: one provider's offers differ by zone
    prices = {}
    for o in inst.offers:
        prices.setdefault((o.provider, o.service), set()).add(o.price)
    assert any(len(p) > 1 for p in prices.values())


def test_solves_and_keeps_the_thresholds():
    inst = load_instance(MARKET)
    problem = Problem.from_instance(inst)
    result = solve(problem, SolveParams(solver="highs", time_limit=30, gap=0.01))
    assert result.status.value == "optimal", result.summary()
    report = check(inst, result.solution, reported=result)
    assert report.ok, report.summary()
    quality = {p.id: p.quality for p in inst.providers}
    threshold = {"group_support": 50.0, "individual_support": 60.0}
    offers = {o.key: o for o in inst.offers}
    used = [offers[o] for o in result.solution.assignment.values()]
    assert used and all(quality[o.provider] >= threshold[o.service] for o in used)
    # the thresholds bind: providers below them hold capacity that a solve without the
    # thresholds uses
    below = [o for o in inst.offers if quality[o.provider] < threshold[o.service]
             and quality[o.provider] >= inst.policy.min_framework_quality and o.capacity > 0]
    assert below
    open_lots = inst.model_copy(update={"lots": [lot.model_copy(update={"min_quality": 0.0})
                                                 for lot in inst.lots]})
    free = solve(Problem.from_instance(open_lots),
                 SolveParams(solver="highs", time_limit=30, gap=0.01))
    assert free.objective < result.objective
    assert any(quality[offers[o].provider] < threshold[offers[o].service]
               for o in free.solution.assignment.values())
    rows = explain_unmet(problem, result.solution)
    assert len(rows) > 0 and set(rows["reason"]) <= {"capacity_exhausted", "no_eligible_offer",
                                                     "cheaper_unmet"}
