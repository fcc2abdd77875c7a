"""Unmet-need reasons on tiny hand-made markets, each with one known reason.

Every market below has one need (or two competing ones) and one reason it is left unmet; the
test's docstring says why. The last tests tie the reasons to the exact model: an optimal
solution never has a need it could have served more cheaply (``not_optimised``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from random_instances import random_instance

from allocator.core.problem import Problem
from allocator.core.reasons import COLUMNS, explain_unmet, money
from allocator.core.result import Solution
from allocator.instance.schema import Instance
from allocator.solvers import SolveParams, solve


def market(
    offers: list[dict[str, Any]],
    needs: list[dict[str, Any]],
    *,
    providers: list[dict[str, Any]] | None = None,
    policy: dict[str, Any] | None = None,
    **extra: Any,
) -> Instance:
    """Two zones, providers p1 and p2 (quality 80) unless given, a penalty of 50 per hour."""
    offer_defaults = {"zone": "z1", "service": "personal_care", "unit": "hours", "price": 20.0,
                      "capacity": 100.0, "max_complexity": "highly_complex"}
    need_defaults = {"kind": "package", "zone": "z1", "service": "personal_care",
                     "complexity": "less_complex", "care_group": "OP", "quantity": 10.0}
    return Instance.model_validate({
        "zones": [{"id": "z1"}, {"id": "z2"}],
        "providers": providers or [{"id": "p1", "quality": 80}, {"id": "p2", "quality": 80}],
        "offers": [{**offer_defaults, **o} for o in offers],
        "needs": [{**need_defaults, "id": f"n{i + 1}", **n} for i, n in enumerate(needs)],
        "policy": {"unmet_penalty": {"standard": 50.0}, **(policy or {})},
        **extra,
    })


def reasons_of(instance: Instance, solution: Solution | None = None, **kw: Any):
    """Solve exactly (unless a solution is given) and explain the unmet needs."""
    problem = Problem.from_instance(instance)
    if solution is None:
        result = solve(problem, SolveParams(solver="highs"))
        assert result.status.value == "optimal"
        solution = result.solution
    return explain_unmet(problem, solution, **kw)


def only(df):
    assert len(df) == 1, df
    return df.iloc[0]


# ---------------------------------------------------------------------- no eligible offer


def test_no_offer_in_the_zone():
    """The only offer is in z1; the need accepts z2 only."""
    row = only(reasons_of(market([{"provider": "p1"}], [{"zone": "z2"}])))
    assert (row.reason, row.rule) == ("no_eligible_offer", "zone")
    assert "zone z2" in row.detail


def test_no_offer_of_the_service():
    """z1 has individual support only; the need is personal care."""
    row = only(reasons_of(market([{"provider": "p1", "service": "individual_support"}], [{}])))
    assert (row.reason, row.rule) == ("no_eligible_offer", "service")
    assert "no offer of personal_care in zone z1" in row.detail
    assert "individual_support" in row.detail


def test_unit_mismatch():
    """A supported-living placement (beds) and an offer of supported living by the hour."""
    row = only(reasons_of(market(
        [{"provider": "p1", "service": "supported_living", "unit": "hours"}],
        [{"kind": "placement", "service": "supported_living", "quantity": 1,
          "priority": "bed"}],
        policy={"unmet_penalty": {"standard": 50.0, "bed": 900.0}})))
    assert (row.reason, row.rule, row.unit) == ("no_eligible_offer", "unit", "beds")
    assert "sells hours, not beds" in row.detail


def test_complexity_above_every_offer():
    """Both offers stop at ``complex``; the need is highly complex."""
    row = only(reasons_of(market(
        [{"provider": "p1", "max_complexity": "complex"},
         {"provider": "p2", "max_complexity": "less_complex"}],
        [{"complexity": "highly_complex"}])))
    assert (row.reason, row.rule) == ("no_eligible_offer", "complexity")
    assert "2 take at most less_complex or complex (the need is highly_complex)" in row.detail
    assert row.named_providers == "p1;p2"


def test_the_only_offer_reads_as_one():
    """One offer that stops at ``complex``: 'the only offer ... cannot take it: it takes at
    most complex', not 'the only offer ... may take it: 1 takes at most complex'."""
    row = only(reasons_of(market([{"provider": "p1", "max_complexity": "complex"}],
                                 [{"complexity": "highly_complex"}])))
    assert row.detail == ("the only offer of personal_care in zone z1 cannot take it: it "
                          "takes at most complex (the need is highly_complex): p1")


def test_care_group_not_accepted():
    """The offer takes older people only; the need is learning disability."""
    row = only(reasons_of(market([{"provider": "p1", "care_groups": ["OP", "OPMH"]}],
                                 [{"care_group": "LD"}])))
    assert (row.reason, row.rule) == ("no_eligible_offer", "care_group")
    assert "does not take care group LD" in row.detail


def test_quality_below_framework_minimum():
    """p1 scores 40, under the framework's minimum of 60."""
    row = only(reasons_of(market(
        [{"provider": "p1"}], [{}],
        providers=[{"id": "p1", "quality": 40}],
        policy={"min_framework_quality": 60})))
    assert (row.reason, row.rule) == ("no_eligible_offer", "quality")
    assert "min_framework_quality 60 (lowest 40)" in row.detail


def test_block_only_lot_without_a_block():
    """z1 personal care is a block-only lot and p1 holds no block there."""
    lot = {"id": "L1", "unit": "hours", "zones": ["z1"], "services": ["personal_care"],
           "complexities": ["less_complex", "complex", "highly_complex"], "framework": False}
    row = only(reasons_of(market([{"provider": "p1"}], [{}], lots=[lot])))
    assert (row.reason, row.rule) == ("no_eligible_offer", "block_only")
    assert "block-only lot L1" in row.detail


def test_several_rules_are_all_named():
    """Of three offers in the need's two zones, each is excluded by a different rule."""
    row = only(reasons_of(market(
        [{"provider": "p1", "max_complexity": "less_complex"},
         {"provider": "p2", "zone": "z2", "care_groups": ["PD"]},
         {"provider": "p2", "zone": "z1", "service": "group_support"}],
        [{"complexity": "complex", "acceptable_zones": ["z1", "z2"]}])))
    assert row.reason == "no_eligible_offer"
    assert row.rule == "complexity,care_group"
    assert "none of the 2 offers of personal_care in zones z1, z2" in row.detail


# ---------------------------------------------------------------------- capacity exhausted


def test_offer_capacity_full():
    """Two needs of 10 hours; the only offer has 15 hours."""
    df = reasons_of(market([{"provider": "p1", "capacity": 15}], [{}, {}]))
    row = only(df)
    assert (row.reason, row.rule) == ("capacity_exhausted", "offer_capacity")
    assert "p1 in z1 (offer capacity: 5 hours left, needs 10)" in row.detail


def test_provider_capacity_full_with_travel():
    """p1 has 12 hours in total over two zones. n1 (10 hours at travel factor 1.1) uses 11
    of them and has the larger penalty, so n2 (9 hours) is left with 1 hour."""
    df = reasons_of(market(
        [{"provider": "p1", "travel_factor": 1.1}, {"provider": "p1", "zone": "z2"}],
        [{}, {"zone": "z2", "quantity": 9}],
        providers=[{"id": "p1", "quality": 80, "capacity": 12}]))
    row = only(df)
    assert (row.need, row.reason, row.rule) == ("n2", "capacity_exhausted", "provider_capacity")
    assert "p1 in z2 (provider capacity: 1 hour left, needs 9)" in row.detail


def test_capacity_use_with_travel_time_is_told_apart_from_the_need():
    """An offer at travel factor 1.25 with 15 hours: two 10-hour needs use 12.5 each. The
    unmet one's detail says that 12.5 is with travel time, for 10 hours of care (a broker
    reading "needs 12.5" for a 10-hour package would not know why)."""
    row = only(reasons_of(market([{"provider": "p1", "capacity": 15, "travel_factor": 1.25}],
                                 [{}, {}])))
    assert (row.reason, row.rule) == ("capacity_exhausted", "offer_capacity")
    assert ("p1 in z1 (offer capacity: 2.5 hours left, needs 12.5 with travel time, for 10 "
            "hours of care)") in row.detail


def test_quantities_shown_to_brokers():
    """Two decimals at most; a shortfall rounded up, so that asking for it is enough."""
    from allocator.core.reasons import quantity, quantity_up

    assert [quantity(x) for x in (9.0625, 12.0, 0.7249999)] == ["9.06", "12", "0.72"]
    assert [quantity_up(x) for x in (6.5725, 6.5775, 2.0, 2.0000000001, 0.001)] == [
        "6.58", "6.58", "2", "2", "0.01"]


def test_block_volume_full_in_block_only_lot():
    """A block-only lot where p1's block of 12 hours holds one 10-hour need, not two."""
    lot = {"id": "L1", "unit": "hours", "zones": ["z1"], "services": ["personal_care"],
           "complexities": ["less_complex"], "framework": False}
    df = reasons_of(market([{"provider": "p1"}], [{}, {}], lots=[lot],
                           block_contracts=[{"provider": "p1", "lot": "L1", "rate": 15,
                                             "volume": 12}]))
    row = only(df)
    assert (row.reason, row.rule) == ("capacity_exhausted", "block_volume")
    assert "block volume: 2 hours left, needs 10" in row.detail


def test_max_provider_share_full():
    """One provider may take at most half of the lot's 20 hours."""
    lot = {"id": "L1", "unit": "hours", "zones": ["z1"], "services": ["personal_care"],
           "complexities": ["less_complex"]}
    df = reasons_of(market([{"provider": "p1"}], [{}, {}], lots=[lot],
                           policy={"max_provider_share": 0.5}))
    row = only(df)
    assert (row.reason, row.rule) == ("capacity_exhausted", "max_provider_share")
    assert "p1" in row.named_providers


def test_each_full_provider_is_named():
    """p1's offer and p2's offer are both full after serving one need each."""
    df = reasons_of(market([{"provider": "p1", "capacity": 10}, {"provider": "p2",
                                                                  "capacity": 10}],
                           [{}, {}, {}]))
    row = only(df)
    assert row.reason == "capacity_exhausted"
    assert row.named_providers == "p1;p2"
    assert row.detail.startswith("all 2 eligible offers are full")


def test_many_full_offers_nearest_to_fitting_first():
    """Seven providers with 10 to 16 hours each serve seven 10-hour needs; the eighth need
    finds 0 to 6 hours left everywhere. The sentence lists the five with most left first."""
    providers = [{"id": f"p{i}", "quality": 80} for i in range(7)]
    offers = [{"provider": f"p{i}", "capacity": 10 + i} for i in range(7)]
    row = only(reasons_of(market(offers, [{}] * 8, providers=providers)))
    assert row.reason == "capacity_exhausted"
    assert row.detail.startswith("all 7 eligible offers are full: p6 in z1 (offer capacity: "
                                 "6 hours left, needs 10); p5 in z1")
    assert row.detail.endswith("; and 2 more")
    assert len(row.named_providers.split(";")) == 7


# ---------------------------------------------------------------------- cheaper unmet


def test_cheaper_to_leave_unmet_gives_both_figures():
    """Serving 10 hours at 100 an hour costs 1,000; the penalty is 50 x 10 = 500."""
    row = only(reasons_of(market([{"provider": "p1", "price": 100}], [{}])))
    assert row.reason == "cheaper_unmet"
    assert money(1000) in row.detail and money(500) in row.detail
    assert row.penalty == pytest.approx(500)


def test_cheaper_unmet_counts_quality_and_transfer():
    """Serving costs 10 x (40 + quality 10 x (100 - 60) / 100) = 440, plus the transfer
    penalty of 100 for moving the need away from p2 (which has no offer): 540. Leaving it
    unmet costs 10 x 30 = 300, plus the same transfer penalty: 400."""
    inst = market([{"provider": "p1", "price": 40}], [{"current_provider": "p2"}],
                  providers=[{"id": "p1", "quality": 60}, {"id": "p2", "quality": 90}],
                  policy={"quality_weight": 10, "transfer_penalty": 100,
                          "unmet_penalty": {"standard": 30.0}})
    row = only(reasons_of(inst))
    assert row.reason == "cheaper_unmet"
    assert money(540) in row.detail and money(400) in row.detail
    assert "transfer penalty" in row.detail


# ---------------------------------------------------------------------- not optimised


def test_a_needlessly_unmet_need_is_flagged():
    """A hand-made solution leaves a need unmet that p1 could serve for 200 < 500."""
    inst = market([{"provider": "p1"}], [{}])
    row = only(reasons_of(inst, Solution(assignment={})))
    assert row.reason == "not_optimised"
    assert "re-solve" in row.detail


def test_lexicographic_unmet_first():
    """Serving costs 1,000 > 500, but under the lexicographic objective unmet need comes
    first: the optimum serves it, and a solution that does not is not optimal."""
    inst = market([{"provider": "p1", "price": 100}], [{}],
                  policy={"objective": "lexicographic"})
    assert len(reasons_of(inst)) == 0
    row = only(reasons_of(inst, Solution(assignment={})))
    assert row.reason == "not_optimised"
    assert "lexicographic" in row.detail
    weighted = only(reasons_of(inst, Solution(assignment={}), objective="weighted"))
    assert weighted.reason == "cheaper_unmet"


def test_free_block_volume_makes_serving_cheaper():
    """p1 has 10 unused block hours in a framework lot: serving costs nothing extra."""
    lot = {"id": "L1", "unit": "hours", "zones": ["z1"], "services": ["personal_care"],
           "complexities": ["less_complex"]}
    inst = market([{"provider": "p1", "price": 100}], [{}], lots=[lot],
                  block_contracts=[{"provider": "p1", "lot": "L1", "rate": 5, "volume": 10}])
    assert len(reasons_of(inst)) == 0  # the optimum uses the block
    row = only(reasons_of(inst, Solution(assignment={})))
    assert row.reason == "not_optimised"
    assert money(0) in row.detail


# ---------------------------------------------------------------------- against the model


@pytest.mark.parametrize("seed", range(40))
def test_optimal_solutions_have_only_true_reasons(seed):
    """On random tiny markets solved to optimality, no unmet need could be served cheaper, and
    a need has no eligible offer exactly when the problem has no eligible pair for it."""
    inst = random_instance(seed)
    problem = Problem.from_instance(inst)
    result = solve(problem, SolveParams(solver="highs"))
    df = explain_unmet(problem, result.solution)
    assert list(df.columns) == list(COLUMNS)
    assert "not_optimised" not in set(df.reason)
    order, start = problem.pairs_by_need
    index = {nid: i for i, nid in enumerate(problem.need_ids)}
    for _, row in df.iterrows():
        n = index[row.need]
        assert (row.reason == "no_eligible_offer") == (start[n + 1] == start[n])
        assert row.detail
    unmet = [nid for nid in problem.need_ids if nid not in result.solution.assignment]
    assert list(df.need) == unmet
    assert df.penalty.sum() == pytest.approx(result.terms["unmet"])


def test_no_unmet_needs_gives_an_empty_table():
    inst = market([{"provider": "p1"}], [{}])
    df = reasons_of(inst)
    assert len(df) == 0 and list(df.columns) == list(COLUMNS)
    assert np.isclose(df.penalty.sum(), 0)


def test_money():
    assert money(1234.5) == "£1,234.50"
    assert money(-2, "EUR") == "-€2.00"
    assert money(3, "CHF") == "CHF 3.00"


def test_two_full_offers_of_one_provider_in_one_zone_are_told_apart():
    """p1 has two offers in z1 (two schemes, say), both full: the sentence names each offer,
    not "p1 in z1 (...); p1 in z1 (...)"."""
    row = only(reasons_of(market([{"provider": "p1", "capacity": 10, "id": "S1"},
                                  {"provider": "p1", "capacity": 12, "id": "S2"}],
                                 [{}, {}, {}])))
    assert row.reason == "capacity_exhausted"
    assert row.detail == ("all 2 eligible offers are full: p1 (S2) in z1 (offer capacity: "
                          "2 hours left, needs 10); p1 (S1) in z1 (offer capacity: "
                          "0 hours left, needs 10)")
    assert row.named_providers == "p1"
