"""The independent checker on hand-made instances with known answers, and on corrupted ones."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from allocator.core.check import CheckReport, check
from allocator.core.result import TERMS, Result, Solution, Status
from allocator.instance.schema import Instance

O1 = "p1/z1/personal_care"
O2 = "p2/z1/personal_care"
O3 = "p2/z2/personal_care"


def market(**policy) -> Instance:
    """Two providers in zone z1, one block contract.

    p1 (quality 80, capacity 20 h) sells personal care in z1 at 20/h, capacity 15 h, travel
    factor 1.2; p2 (quality 50, no capacity) at 25/h, capacity 10 h, and in z2 at 10/h.
    Needs in z1: n1 10 h standard, n2 5 h urgent (currently with p2), n3 5 h standard.
    Lot L1 = z1 personal care, all bands; p1 holds a block of 6 h at 15/h there.
    Penalties: standard 50, urgent 100, transfer 30, quality_weight 10.
    """
    return Instance.model_validate({
        "zones": [{"id": "z1"}, {"id": "z2"}],
        "providers": [
            {"id": "p1", "quality": 80, "capacity": 20},
            {"id": "p2", "quality": 50},
        ],
        "offers": [
            {"provider": "p1", "zone": "z1", "service": "personal_care", "unit": "hours",
             "price": 20, "capacity": 15, "max_complexity": "highly_complex",
             "travel_factor": 1.2},
            {"provider": "p2", "zone": "z1", "service": "personal_care", "unit": "hours",
             "price": 25, "capacity": 10, "max_complexity": "complex"},
            {"provider": "p2", "zone": "z2", "service": "personal_care", "unit": "hours",
             "price": 10, "capacity": 50, "max_complexity": "complex"},
        ],
        "needs": [
            {"id": "n1", "kind": "package", "zone": "z1", "service": "personal_care",
             "complexity": "less_complex", "care_group": "OP", "quantity": 10},
            {"id": "n2", "kind": "package", "zone": "z1", "service": "personal_care",
             "complexity": "complex", "care_group": "OP", "quantity": 5,
             "priority": "urgent", "current_provider": "p2"},
            {"id": "n3", "kind": "package", "zone": "z1", "service": "personal_care",
             "complexity": "less_complex", "care_group": "PD", "quantity": 5},
        ],
        "lots": [{"id": "L1", "unit": "hours", "zones": ["z1"], "services": ["personal_care"],
                  "complexities": ["less_complex", "complex", "highly_complex"]}],
        "block_contracts": [{"provider": "p1", "lot": "L1", "rate": 15, "volume": 6}],
        "policy": {"unmet_penalty": {"standard": 50, "urgent": 100}, "transfer_penalty": 30,
                   "quality_weight": 10, **policy},
    })


# n1 -> p1 with 6 h of block, n2 -> p2, n3 unmet.
GOOD = Solution(assignment={"n1": O1, "n2": O2}, block={"n1": 6.0})
# block 15 * 6 = 90; framework 20 * (10 - 6) + 25 * 5 = 205;
# quality 10 * 0.2 * 10 + 10 * 0.5 * 5 = 45; unmet 50 * 5 = 250; transfer 0 (n2 stays).
GOOD_TERMS = {"block": 90.0, "framework": 205.0, "quality_zone": 45.0, "unmet": 250.0,
              "transfer": 0.0}


def assert_terms(report: CheckReport, expected: dict[str, float]) -> None:
    assert set(report.terms) == set(TERMS)
    for name in TERMS:
        assert report.terms[name] == pytest.approx(expected[name]), name
    assert report.objective == pytest.approx(sum(expected.values()))


def test_hand_solution_terms():
    report = check(market(), GOOD)
    assert report.ok, report.summary()
    assert_terms(report, GOOD_TERMS)
    assert report.summary().startswith("ok: objective 590")


def test_accepts_object_with_instance_attribute():
    @dataclass(frozen=True)
    class Holder:
        instance: Instance

    assert check(Holder(market()), GOOD).objective == pytest.approx(590.0)
    with pytest.raises(TypeError):
        check(object(), GOOD)


def test_transfer_and_out_of_zone():
    """n2 moves to p1: one transfer (30) whatever its hours; the lot's quality terms change.

    n1 -> p1 (block 6), n2 -> p1 (cap use 1.2 * 15 = 18 > 15: a violation too), n3 -> p2.
    framework 20 * 4 + 20 * 5 + 25 * 5 = 305; quality 2 * 15 + 5 * 5 = 55; unmet 0.
    """
    report = check(market(), Solution(assignment={"n1": O1, "n2": O1, "n3": O2},
                                      block={"n1": 6.0}))
    assert_terms(report, {"block": 90, "framework": 305, "quality_zone": 55, "unmet": 0,
                          "transfer": 30})
    assert any("offer p1/z1/personal_care" in v and "18" in v for v in report.violations)


def test_unmet_need_with_current_provider_pays_transfer():
    report = check(market(), Solution(assignment={"n1": O1}, block={"n1": 6.0}))
    assert report.ok
    # unmet n2 (100 * 5) and n3 (50 * 5); transfer for n2 left unmet.
    assert report.terms["unmet"] == pytest.approx(750)
    assert report.terms["transfer"] == pytest.approx(30)


def test_out_of_zone_penalty_and_acceptable_zones():
    """n3 accepts z2: p2's z2 offer at 10/h plus out-of-zone 4/h plus quality 5/h."""
    inst = market(out_of_zone_penalty=4)
    needs = list(inst.needs)
    needs[2] = needs[2].model_copy(update={"acceptable_zones": ["z1", "z2"]})
    inst = inst.model_copy(update={"needs": needs})
    report = check(inst, Solution(assignment={"n1": O1, "n2": O2, "n3": O3}, block={"n1": 6.0}))
    assert report.ok, report.summary()
    assert report.terms["framework"] == pytest.approx(205 + 50)
    assert report.terms["quality_zone"] == pytest.approx(45 + 5 * (4 + 5))
    # Without z2 among n3's acceptable zones the same pair is not eligible.
    bad = check(market(), Solution(assignment={"n1": O1, "n2": O2, "n3": O3}))
    assert any("n3" in v and "acceptable zones" in v for v in bad.violations)


def test_over_offer_and_provider_capacity():
    inst = market()
    offers = list(inst.offers)
    offers[0] = offers[0].model_copy(update={"capacity": 100})
    # p1's own capacity (20 h) now binds: (10 + 5 + 5) * 1.2 = 24 h.
    report = check(inst.model_copy(update={"offers": offers}),
                   Solution(assignment={"n1": O1, "n2": O1, "n3": O1}))
    assert [v for v in report.violations if "provider p1" in v and "24" in v]
    assert not [v for v in report.violations if "offer" in v]


def test_ineligible_pairs():
    inst = market(min_framework_quality=60)
    report = check(inst, GOOD)
    assert any("n2" in v and "min_framework_quality" in v for v in report.violations)
    needs = list(market().needs)
    needs[0] = needs[0].model_copy(update={"complexity": "highly_complex"})
    report = check(market().model_copy(update={"needs": needs}),
                   Solution(assignment={"n1": O2}))
    assert any("n1" in v and "complexity" in v for v in report.violations)
    offers = list(market().offers)
    offers[1] = offers[1].model_copy(update={"care_groups": ["LD"]})
    report = check(market().model_copy(update={"offers": offers}), GOOD)
    assert any("n2" in v and "care group" in v for v in report.violations)


def test_wrong_block_quantities():
    # More block than the contract's 6 h.
    report = check(market(), Solution(assignment={"n1": O1, "n2": O2}, block={"n1": 8.0}))
    assert any("p1 in lot L1" in v and "exceeds its block volume 6" in v
               for v in report.violations)
    # Block for a provider with no contract, block above the quantity, block for unmet need.
    report = check(market(), Solution(assignment={"n1": O1, "n2": O2},
                                      block={"n2": 1.0, "n1": 11.0, "n3": 2.0}))
    text = "\n".join(report.violations)
    assert "provider p2 holds no block" in text
    assert "exceeds its quantity 10" in text
    assert "n3 is unmet but has block quantity 2" in text
    assert check(market(), Solution(assignment={"n1": O1}, block={"n1": -1})).violations


def test_framework_false_lot():
    """In a lot without framework only block volume may serve, and all of each need."""
    inst = market()
    lots = [inst.lots[0].model_copy(update={"framework": False})]
    inst = inst.model_copy(update={"lots": lots})
    report = check(inst, Solution(assignment={"n1": O1}, block={"n1": 6.0}))
    assert report.violations == ["need n1 -> offer p1/z1/personal_care: lot L1 has no "
                                 "framework, so its block quantity must be 10, got 6"]
    report = check(inst, Solution(assignment={"n1": O1}, block={"n1": 10.0}))
    assert report.violations == ["provider p1 in lot L1: block quantity 10 exceeds its block "
                                 "volume 6"]
    report = check(inst, Solution(assignment={"n2": O2}))
    assert any("provider p2 holds no block contract" in v for v in report.violations)
    report = check(inst, Solution(assignment={"n3": O1}, block={"n3": 5.0}))
    assert report.ok, report.summary()
    # Fully block funded: no framework cost for n3.
    assert report.terms["framework"] == pytest.approx(0.0)


def test_reservation_lot_pays_price_on_block_hours():
    inst = market()
    inst = inst.model_copy(update={"lots": [inst.lots[0].model_copy(
        update={"reservation": True})]})
    report = check(inst, GOOD)
    assert report.ok
    assert report.terms["framework"] == pytest.approx(20 * 10 + 25 * 5)


def test_max_provider_share():
    """D[L1] = 20, share 0.5: a provider may serve 10 h of it."""
    inst = market(max_provider_share=0.5)
    assert check(inst, GOOD).ok
    report = check(inst, Solution(assignment={"n2": O2, "n3": O2}))
    assert report.ok  # exactly 10 h
    needs = list(inst.needs)
    needs[2] = needs[2].model_copy(update={"quantity": 5.5})
    report = check(inst.model_copy(update={"needs": needs}),
                   Solution(assignment={"n2": O1, "n3": O1}))
    assert any("max_provider_share" in v and "10.5" in v for v in report.violations)


def test_share_row_absent_where_lot_has_no_own_demand():
    """n3 is from z2 but accepts z1: lot L1 (z1 only) then has D = 0 and no share row."""
    inst = market(max_provider_share=0.1)
    lots = [inst.lots[0].model_copy(update={"zones": ["z2"]})]
    inst = inst.model_copy(update={"lots": lots, "block_contracts": []})
    assert check(inst, Solution(assignment={"n1": O1})).ok


def test_duplicate_unknown_and_mismatch():
    report = check(market(), Solution(assignment=[("n1", O1), ("n1", O2)]))  # type: ignore[arg-type]
    assert any("n1 is assigned more than once" in v for v in report.violations)
    report = check(market(), Solution(assignment={"nX": O1, "n1": "nope"}))
    assert any("unknown need 'nX'" in v for v in report.violations)
    assert any("unknown offer 'nope'" in v for v in report.violations)

    report = check(market(), GOOD, reported={"objective": 591.0, "terms": GOOD_TERMS})
    assert report.violations == ["reported objective 591.000000 differs from recomputed "
                                 "590.000000"]
    terms = dict(GOOD_TERMS, framework=204.0, unmet=251.0)
    report = check(market(), GOOD, reported={"objective": 590.0, "terms": terms})
    assert len(report.violations) == 2
    result = Result(status=Status.optimal, solver="test", objective=590.0 + 1e-7,
                    terms=GOOD_TERMS, solution=GOOD)
    assert check(market(), GOOD, reported=result).ok
    assert not check(market(), GOOD, reported=Result(status=Status.error, solver="x")).ok


def test_summary_lists_violations():
    report = check(market(), Solution(assignment={"n1": O1, "n2": O1, "n3": O1}))
    text = report.summary(limit=1)
    assert text.splitlines()[0].startswith(f"{len(report.violations)} violation(s)")
    assert len(text.splitlines()) == 3


# ---- design mode -----------------------------------------------------------------------


def design(**extra) -> Instance:
    """One lot, two bids, block rules.

    p1 (quality 80) 20/h and p2 (quality 40) 22/h in z1, capacity 30 h each; needs n1 10 h
    and n2 6 h (D = 16). Lot L1 allows exactly one block provider of quality >= 50, with
    awarded volume between 0.25 and 0.75 of D (4 to 12 h). Bids: p1 at 12/h for 4 to 12 h
    with award cost 10; p2 at 10/h up to 12 h (below the quality floor).
    """
    return Instance.model_validate({
        "zones": [{"id": "z1"}],
        "providers": [{"id": "p1", "quality": 80}, {"id": "p2", "quality": 40}],
        "offers": [
            {"provider": "p1", "zone": "z1", "service": "personal_care", "unit": "hours",
             "price": 20, "capacity": 30, "max_complexity": "highly_complex"},
            {"provider": "p2", "zone": "z1", "service": "personal_care", "unit": "hours",
             "price": 22, "capacity": 30, "max_complexity": "highly_complex"},
        ],
        "needs": [
            {"id": "n1", "kind": "package", "zone": "z1", "service": "personal_care",
             "complexity": "complex", "care_group": "OP", "quantity": 10},
            {"id": "n2", "kind": "package", "zone": "z1", "service": "personal_care",
             "complexity": "complex", "care_group": "OP", "quantity": 6},
        ],
        "lots": [{"id": "L1", "unit": "hours", "zones": ["z1"], "services": ["personal_care"],
                  "complexities": ["less_complex", "complex", "highly_complex"],
                  "block": {"min_providers": 1, "max_providers": 1, "min_share": 0.25,
                            "max_share": 0.75, "min_quality": 50}}],
        "block_bids": [
            {"provider": "p1", "lot": "L1", "rate": 12, "min_volume": 4, "max_volume": 12,
             "award_cost": 10},
            {"provider": "p2", "lot": "L1", "rate": 10, "max_volume": 12},
        ],
        "policy": {"unmet_penalty": {"standard": 60}, **extra.pop("policy", {})},
        **extra,
    })


def test_design_awards_terms():
    # block 10 + 12 * 8 = 106; framework 20 * (10 - 8) + 20 * 6 = 160.
    sol = Solution(assignment={"n1": O1, "n2": O1}, block={"n1": 8.0}, awards={("p1", "L1"): 8})
    report = check(design(), sol)
    assert report.ok, report.summary()
    assert_terms(report, {"block": 106, "framework": 160, "quality_zone": 0, "unmet": 0,
                          "transfer": 0})


@pytest.mark.parametrize(
    ("awards", "fragments"),
    [
        ({("p1", "L1"): 13}, ["above the bid's max_volume 12", "above max_share 0.75"]),
        ({("p1", "L1"): 3}, ["below the bid's min_volume 4", "below min_share 0.25"]),
        ({}, ["fewer than min_providers 1", "below min_share"]),
        ({("p1", "L1"): 6, ("p2", "L1"): 2},
         ["below the lot's block min_quality 50", "more than max_providers 1"]),
        ({("p3", "L1"): 6}, ["no such bid", "fewer than min_providers", "below min_share"]),
    ],
)
def test_design_limits(awards, fragments):
    report = check(design(), Solution(assignment={"n1": O1}, awards=awards), mode="design")
    text = "\n".join(report.violations)
    for fragment in fragments:
        assert fragment in text
    assert len(report.violations) == len(fragments)


@pytest.mark.parametrize(("change", "fragment"), [
    ({"lots": "min_quality"}, "below the lot's min_quality 85"),
    ({"policy": {"min_framework_quality": 85}}, "below the policy's min_framework_quality 85"),
])
def test_award_to_a_provider_who_can_do_no_work_in_the_lot(change, fragment):
    """p1 (quality 80) below the lot's own min_quality (9.2) or the framework floor
    (clarification 5) gets no work in L1: its bid is not awardable (like block.min_quality)."""
    inst = design(**({"policy": change["policy"]} if "policy" in change else {}))
    if "lots" in change:
        lots = [lot.model_copy(update={"min_quality": 85.0}) for lot in inst.lots]
        inst = inst.model_copy(update={"lots": tuple(lots)})
    report = check(inst, Solution(assignment={}, awards={("p1", "L1"): 8}), mode="design")
    assert any(fragment in v and "not awardable" in v for v in report.violations), \
        report.violations


def test_design_block_needs_award():
    # Without an award p1 holds no block: block-funded hours are a violation.
    report = check(design(), Solution(assignment={"n1": O1}, block={"n1": 5.0},
                                      awards={("p1", "L1"): 0.0}))
    assert any("below the bid's min_volume" in v for v in report.violations)
    assert any("exceeds its block volume 0" in v for v in report.violations)


def scenarios_instance(**policy) -> Instance:
    """:func:`design` with two equally likely scenarios: demand as is, and doubled.

    Scenario needs: s1 n1 10, n2 6 (D 16); s2 n1 20, n2 12 (D 32). Expected D = 24, so the
    awarded volume must lie in [6, 18].
    """
    return design(scenarios=[{"id": "s1", "weight": 0.5, "demand_multiplier": 1.0},
                             {"id": "s2", "weight": 0.5, "demand_multiplier": 2.0}],
                  policy=policy)


SCENARIO_SOLUTION = Solution(
    assignment={},
    awards={("p1", "L1"): 12.0},
    scenarios={
        "s1": Solution(assignment={"n1": O1, "n2": O1}, block={"n1": 10.0, "n2": 2.0}),
        "s2": Solution(assignment={"n1": O1, "n2": O2}, block={"n1": 12.0}),
    },
)


def test_scenarios_terms():
    """block 10 + 12 * 12 = 154; framework s1 20 * 4 = 80, s2 20 * 8 + 22 * 12 = 424.

    Weighted: 154 + 0.5 * 80 + 0.5 * 424 = 406 (quality_weight is 0, nothing is unmet).
    """
    report = check(scenarios_instance(), SCENARIO_SOLUTION)
    assert report.ok, report.summary()
    assert_terms(report, {"block": 154, "framework": 252, "quality_zone": 0, "unmet": 0,
                          "transfer": 0})


def test_scenarios_use_expected_demand_for_design_shares():
    # 5 < 6 = 0.25 x 24 (with the base D = 16 it would pass).
    sol = Solution(assignment={}, awards={("p1", "L1"): 5.0},
                   scenarios={"s1": Solution({}), "s2": Solution({})})
    report = check(scenarios_instance(), sol)
    assert any("below min_share 0.25 x D 24" in v for v in report.violations)


def test_scenarios_share_cap_uses_each_scenario_demand():
    # Cap 0.7: s1 allows 11.2 of 16 (p1 serves 16: violation), s2 allows 22.4 of 32.
    report = check(scenarios_instance(max_provider_share=0.7), SCENARIO_SOLUTION)
    assert len(report.violations) == 1
    assert report.violations[0].startswith("scenario s1: provider p1 in lot L1: serves 16")


def test_scenarios_missing_or_unknown():
    sol = Solution(assignment={}, awards={("p1", "L1"): 12.0},
                   scenarios={"s1": SCENARIO_SOLUTION.scenarios["s1"], "s9": Solution({})})
    text = "\n".join(check(scenarios_instance(), sol).violations)
    assert "scenario s2: no allocation" in text
    assert "unknown scenario 's9'" in text


def test_scenario_own_needs_replace_base_needs():
    inst = scenarios_instance()
    own = inst.needs[0].model_copy(update={"id": "m1", "quantity": 3.0})
    scenarios = [inst.scenarios[0].model_copy(update={"demand_multiplier": None,
                                                      "needs": [own]}),
                 inst.scenarios[1]]
    inst = inst.model_copy(update={"scenarios": scenarios})
    sol = Solution(assignment={}, awards={("p1", "L1"): 12.0}, scenarios={
        "s1": Solution(assignment={"m1": O1}),
        "s2": SCENARIO_SOLUTION.scenarios["s2"],
    })
    report = check(inst, sol)
    # Expected D = 0.5 * 3 + 0.5 * 32 = 17.5: 12 is within [4.375, 13.125].
    assert report.ok, report.summary()
    assert report.terms["framework"] == pytest.approx(0.5 * 60 + 0.5 * 424)
    bad = check(inst, SCENARIO_SOLUTION)
    assert any("scenario s1: assignment of unknown need 'n1'" in v for v in bad.violations)
