"""Design targets, award-only offers and per-lot quality (DESIGN.md 9.1-9.3) against brute force.

Three opinions again (see ``tests/test_bruteforce.py``): the design model (extensive form, the
Benders path), the brute-force reference (:mod:`reference`, which enumerates awards and
assignments and solves the volumes by LP) and the independent checker. Random tiny markets
from :mod:`additions`, both objectives, 0-2 scenarios; then hand-worked cases.
"""

from __future__ import annotations

from functools import cache

import pytest
from reference import Reference, brute_force
from test_bruteforce import disagreement

from allocator.core.check import check
from allocator.core.problem import Problem
from allocator.core.reasons import explain_unmet
from allocator.core.result import Solution
from allocator.design.solve import DesignParams, solve_design
from allocator.instance.schema import Instance
from allocator.solvers import SolveParams, solve

from .additions import additions_case, allocation_additions_case

# The reference takes under 3 s on each of these (with two scenarios it pairs every
# assignment of one with every one of the other: seed 18 would take ~40 s).
SEEDS = range(17)


@cache
def case(seed: int, n_scenarios: int, lexicographic: bool) -> tuple[Instance, Reference]:
    instance = additions_case(seed, n_scenarios, lexicographic)
    return instance, brute_force(instance)


def test_random_cases_exercise_the_additions():
    """The seeds below do meet targets, award-only offers and lot thresholds that bind."""
    seen = {"targets": 0, "if_awarded_used": 0, "lot_quality": 0, "infeasible": 0}
    for seed in SEEDS:
        for n_scenarios in (0, 1, 2):
            instance, ref = case(seed, n_scenarios, False)
            seen["targets"] += bool(instance.design_targets)
            seen["lot_quality"] += any(lot.min_quality > 0 for lot in instance.lots)
            if ref.objective is None:
                seen["infeasible"] += 1
                continue
            gated = {o.key for o in instance.offers if o.if_awarded is not None}
            worlds = ref.solution.scenarios.values() if instance.scenarios else [ref.solution]
            seen["if_awarded_used"] += any(o in gated for w in worlds
                                           for o in w.assignment.values())
    assert min(seen.values()) >= 3, seen


@pytest.mark.parametrize("lexicographic", [False, True])
@pytest.mark.parametrize("n_scenarios", [0, 1, 2])
def test_extensive_form_matches_bruteforce(n_scenarios, lexicographic):
    problems = []
    for seed in SEEDS:
        instance, ref = case(seed, n_scenarios, lexicographic)
        result = solve_design(instance, DesignParams(solver="highs", time_limit=30, gap=0.0,
                                                     method="extensive"))
        found = disagreement(f"seed {seed}, {n_scenarios} scenario(s), lexicographic "
                             f"{lexicographic}", instance, ref, result)
        if found:
            problems.append(found)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("n_scenarios", [1, 2])
def test_benders_bound_and_design_against_bruteforce(n_scenarios):
    """Benders (cuts in y and V, targets in the master): bound <= optimum <= its objective,
    every design it returns passes the checker; on most seeds it reaches the optimum."""
    problems, reached, solved = [], 0, 0
    for seed in SEEDS:
        instance, ref = case(seed, n_scenarios, False)
        result = solve_design(instance, DesignParams(solver="highs", time_limit=30, gap=0.0,
                                                     method="benders"))
        label = f"seed {seed}, {n_scenarios} scenario(s)"
        if ref.objective is None:
            if result.status.value != "infeasible":
                problems.append(f"{label}: brute force infeasible, Benders {result.summary()}")
            continue
        if result.objective is None or result.solution is None:
            problems.append(f"{label}: no design, {result.summary()}")
            continue
        solved += 1
        tol = 1e-6 * max(1.0, abs(ref.objective))
        if result.objective < ref.objective - tol:
            problems.append(f"{label}: objective {result.objective} below the optimum "
                            f"{ref.objective}")
        if result.bound is not None and result.bound > ref.objective + tol:
            problems.append(f"{label}: bound {result.bound} above the optimum {ref.objective}")
        report = check(instance, result.solution, reported=result)
        if not report.ok:
            problems.append(f"{label}: checker: {report.summary()}")
        reached += result.objective <= ref.objective + tol
    assert not problems, "\n".join(problems)
    assert reached >= 0.7 * solved, (reached, solved)


def test_allocation_mode_matches_bruteforce():
    """Allocation mode: an award-only offer exists only with a contract in force; per-lot
    thresholds exclude providers."""
    problems = []
    for seed in range(40):
        instance = allocation_additions_case(seed)
        ref = brute_force(instance)
        result = solve(Problem.from_instance(instance),
                       SolveParams(solver="highs", time_limit=30, gap=0.0))
        found = disagreement(f"allocation seed {seed}", instance, ref, result)
        if found:
            problems.append(found)
    assert not problems, "\n".join(problems)


# ---- hand-worked cases ---------------------------------------------------------------------


def market(**changes) -> Instance:
    """Two zones, one lot each; P1 (quality 90) and P2 (quality 50) bid on both lots.

    Needs: 10 h in Z1 and 10 h in Z2. Framework offers: P1 in Z1 at 30, P2 in Z2 at 30, each
    with 10 h. P2 bids on A at rate 10 (max 10 h); P1 bids on B at rate 12; P1 also bids on
    A at rate 20. Unmet costs 100 an hour.
    """
    hours = {"service": "personal_care", "unit": "hours", "max_complexity": "highly_complex"}
    doc = {
        "zones": [{"id": "Z1"}, {"id": "Z2"}],
        "providers": [{"id": "P1", "quality": 90}, {"id": "P2", "quality": 50}],
        "offers": [
            {"id": "P1-Z1", "provider": "P1", "zone": "Z1", "price": 30, "capacity": 10,
             **hours},
            {"id": "P2-Z2", "provider": "P2", "zone": "Z2", "price": 30, "capacity": 10,
             **hours},
        ],
        "needs": [
            {"id": "n1", "kind": "package", "zone": "Z1", "service": "personal_care",
             "complexity": "complex", "care_group": "OP", "quantity": 10},
            {"id": "n2", "kind": "package", "zone": "Z2", "service": "personal_care",
             "complexity": "complex", "care_group": "OP", "quantity": 10},
        ],
        "lots": [
            {"id": "A", "unit": "hours", "zones": ["Z1"], "services": ["personal_care"],
             "complexities": ["less_complex", "complex", "highly_complex"], "block": {}},
            {"id": "B", "unit": "hours", "zones": ["Z2"], "services": ["personal_care"],
             "complexities": ["less_complex", "complex", "highly_complex"], "block": {}},
        ],
        "block_bids": [
            {"provider": "P1", "lot": "A", "rate": 20, "max_volume": 10},
            {"provider": "P2", "lot": "B", "rate": 12, "max_volume": 10},
        ],
        "policy": {"unmet_penalty": {"standard": 100}},
    }
    for key, value in changes.items():
        doc[key] = value
    return Instance.model_validate(doc)


def design(instance: Instance) -> tuple[float, dict]:
    result = solve_design(instance, DesignParams(method="extensive", gap=0.0))
    assert result.status.value == "optimal", result.summary()
    assert check(instance, result.solution, reported=result).ok
    return result.objective, result.solution.awards


def test_block_bids_win_without_targets():
    # each block saves 10 h x (30 - rate): both awarded at full volume: 200 + 120 = 320
    objective, awards = design(market())
    assert objective == pytest.approx(320.0)
    assert awards == {("P1", "A"): 10.0, ("P2", "B"): 10.0}


def test_target_caps_distinct_providers():
    # at most one provider across A and B: the better single award is P2 on B (saves 180
    # against P1 on A's 100): 300 + 120 = 420
    target = {"id": "T", "lots": ["A", "B"], "max_providers": 1}
    objective, awards = design(market(design_targets=[target]))
    assert objective == pytest.approx(420.0)
    assert awards == {("P2", "B"): 10.0}


def test_target_caps_block_share_across_lots():
    # at most 50% of the 20 h of A and B on block: 10 h on P2's cheaper block (120 + 300 + 0)
    target = {"id": "T", "lots": ["A", "B"], "max_block_share": 0.5}
    objective, awards = design(market(design_targets=[target]))
    assert objective == pytest.approx(420.0)
    assert sum(awards.values()) == pytest.approx(10.0)


def test_target_min_share_forces_block_beyond_use():
    # P1 on A at rate 20 saves 10 an hour; a 75% floor over lot B alone (10 h) forces
    # 7.5 h on P2's block anyway; with the floor over A and B (15 h of 20) the cheapest is
    # both blocks at full volume, as without the target
    target = {"id": "T", "lots": ["A", "B"], "min_block_share": 0.75}
    objective, _ = design(market(design_targets=[target]))
    assert objective == pytest.approx(320.0)
    target = {"id": "T", "lots": ["A", "B"], "min_block_share": 1.0, "max_providers": 1}
    result = solve_design(market(design_targets=[target]), DesignParams(method="extensive"))
    assert result.status.value == "infeasible"  # 20 h with one provider's 10 h: impossible


def test_target_min_providers_counts_distinct_providers():
    # two distinct providers needed in A: P1 is the only bidder there -> infeasible, even
    # though P2 has a bid (on B, outside the target)
    target = {"id": "T", "lots": ["A"], "min_providers": 2}
    result = solve_design(market(design_targets=[target]), DesignParams(method="extensive"))
    assert result.status.value == "infeasible"
    assert "distinct" in result.message


def test_award_only_offer_makes_the_block_worth_it():
    """A block in A that brings a new 10 h service at 10 an hour in Z1 (P2's new branch).

    A third need in Z1 (10 h) is unmet without it (P1's 10 h are taken). P2's bid on A
    (rate 25, dearer than the 30 framework minus nothing it would displace) only pays
    because of the offer it brings: awarding it serves n3 out of block at 25 instead of 100
    unmet.
    """
    inst = market()
    doc = inst.model_dump(mode="json", exclude_none=True)
    doc["needs"].append({"id": "n3", "kind": "package", "zone": "Z1",
                         "service": "personal_care", "complexity": "complex",
                         "care_group": "OP", "quantity": 10})
    doc["offers"].append({"id": "P2-new", "provider": "P2", "zone": "Z1",
                          "service": "personal_care", "unit": "hours", "price": 40,
                          "capacity": 10, "max_complexity": "highly_complex",
                          "if_awarded": "A"})
    doc["block_bids"] = [{"provider": "P2", "lot": "A", "rate": 25, "max_volume": 10}]
    with_offer = Instance.model_validate(doc)
    objective, awards = design(with_offer)
    # n1 -> P1 framework 300; n3 -> P2-new out of block 250; n2 -> P2-Z2 framework 300
    assert objective == pytest.approx(850.0)
    assert awards == {("P2", "A"): 10.0}
    assert brute_force(with_offer).objective == pytest.approx(850.0)
    # allocation mode: no contract in force, so the offer does not exist; n3 unmet
    result = solve(Problem.from_instance(with_offer), SolveParams(solver="highs", gap=0.0))
    assert result.objective == pytest.approx(300 + 300 + 1000)
    rows = explain_unmet(Problem.from_instance(with_offer), result.solution)
    row = rows.set_index("need").loc["n3"]
    assert row.reason == "capacity_exhausted"
    assert "not_awarded" in row.rule and "exists only with a block in lot A" in row.detail
    # the checker refuses the offer's use without the award
    bad = Solution(assignment={"n1": "P1-Z1", "n2": "P2-Z2", "n3": "P2-new"})
    report = check(with_offer, bad)
    assert any("exists only if provider P2 holds a block in lot A" in v
               for v in report.violations)
    # with a contract in force (volume 0 even) the offer exists in allocation mode
    doc["block_contracts"] = [{"provider": "P2", "lot": "A", "rate": 25, "volume": 0}]
    held = Instance.model_validate(doc)
    result = solve(Problem.from_instance(held), SolveParams(solver="highs", gap=0.0))
    assert sorted(result.solution.assignment.values()) == ["P1-Z1", "P2-Z2", "P2-new"]
    assert check(held, result.solution, reported=result).ok


def test_lot_min_quality_is_an_eligibility_rule():
    # lot B demands quality 60: P2 (50) may not serve n2, even from its framework offer
    lots = market().model_dump(mode="json", exclude_none=True)["lots"]
    lots[1]["min_quality"] = 60
    inst = market(lots=lots, block_bids=[])
    problem = Problem.from_instance(inst)
    result = solve(problem, SolveParams(solver="highs", gap=0.0))
    assert result.solution.assignment == {"n1": "P1-Z1"}
    assert result.objective == pytest.approx(300 + 1000)
    assert check(inst, result.solution, reported=result).ok
    row = explain_unmet(problem, result.solution).set_index("need").loc["n2"]
    assert row.reason == "no_eligible_offer" and row.rule == "lot_quality"
    assert "min_quality of lot B (60)" in row.detail
    report = check(inst, Solution(assignment={"n1": "P1-Z1", "n2": "P2-Z2"}))
    assert any("below lot B's min_quality 60" in v for v in report.violations)


def test_a_bid_that_could_do_no_work_in_its_lot_is_not_awardable():
    """The check module's market: lot L1 asks for one block provider of block.min_quality 50;
    p1 (quality 80) bids, p2 (40) is below that floor. With the lot's own min_quality at 85
    (DESIGN.md 9.2) p1 gets no work in L1 either, so its award could only be paid for: it is
    dropped like p2's, and the lot's min_providers cannot be met (literally, it would force an
    award of 4 h that nobody can use). At 80 p1 is awardable again and the design solves."""
    from test_check import design

    inst = design()
    lots = tuple(lot.model_copy(update={"min_quality": 85.0}) for lot in inst.lots)
    result = solve_design(inst.model_copy(update={"lots": lots}),
                          DesignParams(solver="highs", time_limit=30))
    assert result.status.value == "infeasible"
    assert "lot L1 needs at least 1 block provider(s) but has 0 awardable bid(s)" in \
        result.message
    reasons = {d["provider"]: d["reason"] for d in result.extra["dropped_bids"]}
    assert "below lot L1 min_quality 85" in reasons["p1"]
    assert "below lot L1 block min_quality 50" in reasons["p2"]
    assert brute_force(inst.model_copy(update={"lots": lots})).objective is None
    lots = tuple(lot.model_copy(update={"min_quality": 80.0}) for lot in inst.lots)
    result = solve_design(inst.model_copy(update={"lots": lots}),
                          DesignParams(solver="highs", time_limit=30))
    assert result.status.value == "optimal"
    assert result.objective == pytest.approx(brute_force(
        inst.model_copy(update={"lots": lots})).objective)
