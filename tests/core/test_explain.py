"""Explanations on a small hand-checked market (allocator.core.explain).

Zones z1, z2; ``quality_weight`` 10 (a unit at quality 50 costs 5 more), out-of-zone 5 a unit.

========  =======  ===========================================  =====================
provider  quality  offers (price, capacity)                     total capacity
========  =======  ===========================================  =====================
A         100      personal care z1 (20, 10)
B         50       personal care z1 (19, 100)
C         100      personal care z2 (18.5, 100)
D         100      individual support z2 (15, 4)
E         100      group support z1 (20, 50) and z2 (21, 50)     10 hours in all
========  =======  ===========================================  =====================

Needs and the optimum (HiGHS; by hand below):

* n1, personal care z1, 10 h, may go to z2: A 200, C 185 + 50 out of zone = 235, B 190 + 50
  quality = 240. Goes to **A**; next C (out of zone: price -15, zone +50) then B (lower
  quality: price -10, quality +50), both with room.
* n2, personal care z1 only, 5 h: A would cost 100 but n1 fills it (0 left, n2 takes 5); B
  costs 95 + 25 = 120. Goes to **B** (n1 at C and n2 at A would cost 335 > 320); its
  alternative A is **offer_full**.
* m, group support z1 (or z2), 10 h: E z1 200; E z2 210 + 50 = 260. E's 10 hours are all used
  by m itself, so the z2 offer had room once m's own use is given back: **out_of_zone**, not
  "provider full".
* n4, individual support z2, 6 h: only D, with 4 h: **unmet**; cheapest change: D needs 2 more
  hours on its offer.
* n5, personal care z2, 4 h, priority ``low`` (penalty 10 an hour = 40): C has room at 74:
  **unmet**; the change: a penalty above 18.50 an hour.
* n6, a supported-living placement in z1: no beds anywhere: **unmet**, change: recruit.
"""

from __future__ import annotations

import pytest

from allocator.core.explain import explain
from allocator.core.problem import Problem
from allocator.core.usage import Usage
from allocator.instance.schema import Instance
from allocator.solvers import SolveParams, solve


def hand_market() -> Instance:
    def offer(p, z, s, price, cap):
        return {"provider": p, "zone": z, "service": s, "unit": "hours", "price": price,
                "capacity": cap, "max_complexity": "highly_complex"}

    def need(i, z, s, q, zones=None, priority="standard"):
        return {"id": i, "kind": "package", "zone": z, "service": s, "complexity": "complex",
                "care_group": "OP", "quantity": q, "priority": priority,
                "acceptable_zones": zones}

    return Instance.model_validate({
        "name": "explain hand market",
        "zones": [{"id": "z1"}, {"id": "z2"}],
        "providers": [{"id": "A", "quality": 100}, {"id": "B", "quality": 50},
                      {"id": "C", "quality": 100}, {"id": "D", "quality": 100},
                      {"id": "E", "quality": 100, "capacity": 10}],
        "offers": [offer("A", "z1", "personal_care", 20, 10),
                   offer("B", "z1", "personal_care", 19, 100),
                   offer("C", "z2", "personal_care", 18.5, 100),
                   offer("D", "z2", "individual_support", 15, 4),
                   offer("E", "z1", "group_support", 20, 50),
                   offer("E", "z2", "group_support", 21, 50)],
        "needs": [need("n1", "z1", "personal_care", 10, ["z1", "z2"]),
                  need("n2", "z1", "personal_care", 5),
                  need("m", "z1", "group_support", 10, ["z1", "z2"]),
                  need("n4", "z2", "individual_support", 6),
                  need("n5", "z2", "personal_care", 4, priority="low"),
                  {"id": "n6", "kind": "placement", "zone": "z1",
                   "service": "supported_living", "complexity": "complex",
                   "care_group": "LD", "quantity": 1, "priority": "standard_bed"}],
        "policy": {"unmet_penalty": {"standard": 60, "low": 10, "standard_bed": 2000},
                   "quality_weight": 10, "out_of_zone_penalty": 5},
    })


@pytest.fixture(scope="module")
def explained():
    inst = hand_market()
    p = Problem.from_instance(inst)
    res = solve(p, SolveParams(solver="highs", time_limit=30))
    assert res.status.value == "optimal"
    assert dict(res.solution.assignment) == {
        "n1": "A/z1/personal_care", "n2": "B/z1/personal_care", "m": "E/z1/group_support"}
    return explain(p, res.solution, usage=Usage.of(p, res.solution))


def _alts(ex, need):
    df = ex.alternatives[ex.alternatives["need"] == need].sort_values("rank")
    return df.to_dict("records")


def test_assigned_need_against_its_alternatives(explained):
    row = explained.assigned.set_index("need").loc["n1"]
    assert row["provider"] == "A" and row["cost"] == pytest.approx(200)
    a1, a2 = _alts(explained, "n1")
    assert (a1["alternative_provider"], a1["alternative_cost"]) == ("C", pytest.approx(235))
    assert a1["why_code"] == "out_of_zone"
    assert a1["extra_price"] == pytest.approx(-15) and a1["extra_zone"] == pytest.approx(50)
    assert (a2["alternative_provider"], a2["alternative_cost"]) == ("B", pytest.approx(240))
    assert a2["why_code"] == "lower_quality"
    assert a2["extra_quality"] == pytest.approx(50) and a2["extra_price"] == pytest.approx(-10)
    assert "next: C" in row["why"] and "out of zone" in row["why"]


def test_a_cheaper_alternative_that_is_full(explained):
    assert explained.assigned.set_index("need").loc["n2", "cost"] == pytest.approx(120)
    (a,) = _alts(explained, "n2")
    assert a["alternative_provider"] == "A" and a["alternative_cost"] == pytest.approx(100)
    assert a["extra_cost"] == pytest.approx(-20)
    assert a["why_code"] == "offer_full" and "0 hours left" in a["why"]


def test_own_use_is_given_back_to_the_same_provider(explained):
    (a,) = _alts(explained, "m")
    assert a["alternative_offer"] == "E/z2/group_support"
    assert a["why_code"] == "out_of_zone" and a["extra_cost"] == pytest.approx(60)


def test_cheapest_changes_for_unmet_needs(explained):
    ch = explained.changes.set_index("need")
    assert set(ch.index) == {"n4", "n5", "n6"}
    assert ch.loc["n4", "change_kind"] == "capacity"
    assert ch.loc["n4", "change_provider"] == "D"
    assert ch.loc["n4", "offer_shortfall"] == pytest.approx(2)
    assert "2 more hours a week on offer D/z2/individual_support" in ch.loc["n4", "change"]
    assert ch.loc["n5", "change_kind"] == "penalty"
    assert ch.loc["n5", "change_cost"] == pytest.approx(74)
    assert "above £18.50 per hour" in ch.loc["n5", "change"]
    assert ch.loc["n6", "change_kind"] == "eligibility"
    assert explained.change("n4")["extra"] == pytest.approx(2)
    assert explained.assignment("n2")["alternatives"][0]["code"] == "offer_full"


def test_a_full_provider_names_the_travel_factor():
    """P (20 hours in all) sells at 20 an hour with travel factor 1.2; Q at 25, factor 1. n1 and
    n2 need 10 hours each: at P each takes 12 of its 20, so one of them goes to Q (450 in all).
    The alternative P of the one at Q is provider_full, and the sentence says why 10 hours of
    care take 12 (the broker's page had shown "the need takes 12" for a 10-hour need)."""
    def need(i):
        return {"id": i, "kind": "package", "zone": "z1", "service": "personal_care",
                "complexity": "complex", "care_group": "OP", "quantity": 10}

    inst = Instance.model_validate({
        "name": "travel factor", "zones": [{"id": "z1"}],
        "providers": [{"id": "P", "quality": 100, "capacity": 20}, {"id": "Q", "quality": 100}],
        "offers": [{"provider": "P", "zone": "z1", "service": "personal_care", "unit": "hours",
                    "price": 20, "capacity": 100, "max_complexity": "highly_complex",
                    "travel_factor": 1.2},
                   {"provider": "Q", "zone": "z1", "service": "personal_care", "unit": "hours",
                    "price": 25, "capacity": 100, "max_complexity": "highly_complex"}],
        "needs": [need("n1"), need("n2")],
        "policy": {"unmet_penalty": {"standard": 60}},
    })
    p = Problem.from_instance(inst)
    res = solve(p, SolveParams(solver="highs", time_limit=30))
    assert res.status.value == "optimal" and res.objective == pytest.approx(450)
    ex = explain(p, res.solution, usage=Usage.of(p, res.solution))
    at_q = [n for n, o in res.solution.assignment.items() if o.startswith("Q/")]
    assert len(at_q) == 1
    (a,) = _alts(ex, at_q[0])
    assert a["alternative_provider"] == "P" and a["why_code"] == "provider_full"
    assert ("8 hours left in all, the need takes 12 with travel time, for 10 hours of care"
            in a["why"])


def test_a_move_costs_the_transfer_penalty():
    """r (10 h, in care with X at 20 an hour) could go to Y at 18: 180 + a transfer of 50 =
    230 > 200, so it stays; Y is dearer by 30 through the move (price -20, transfer +50)."""
    inst = Instance.model_validate({
        "zones": [{"id": "z1"}],
        "providers": [{"id": "X", "quality": 100}, {"id": "Y", "quality": 100}],
        "offers": [{"provider": pr, "zone": "z1", "service": "personal_care", "unit": "hours",
                    "price": price, "capacity": 100, "max_complexity": "complex"}
                   for pr, price in (("X", 20), ("Y", 18))],
        "needs": [{"id": "r", "kind": "package", "zone": "z1", "service": "personal_care",
                   "complexity": "complex", "care_group": "OP", "quantity": 10,
                   "current_provider": "X"}],
        "policy": {"unmet_penalty": {"standard": 60}, "transfer_penalty": 50},
    })
    p = Problem.from_instance(inst)
    res = solve(p, SolveParams(solver="highs", time_limit=30))
    assert dict(res.solution.assignment) == {"r": "X/z1/personal_care"}
    (a,) = explain(p, res.solution).alternatives.to_dict("records")
    assert a["why_code"] == "transfer" and a["extra_cost"] == pytest.approx(30)
    assert a["extra_price"] == pytest.approx(-20) and a["extra_transfer"] == pytest.approx(50)
    assert a["alternative_cost"] == pytest.approx(180)


def test_plain_data_is_strict_json(explained):
    """What the nightly run stores (JSON columns; PostgreSQL's json refuses NaN): no NaN or
    infinity, a missing number is None. n6 has no eligible provider: its change has no cost."""
    import json

    for need in ("n4", "n5", "n6"):
        json.dumps(explained.change(need), allow_nan=False)
    assert explained.change("n6")["cost"] is None
    for need in ("n1", "n2", "m"):
        json.dumps(explained.assignment(need), allow_nan=False)
