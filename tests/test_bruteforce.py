"""The exact model against brute force on tiny random instances, on HiGHS and on CBC.

Three opinions meet here: the exact model (``allocator.exact.solve``, and
``allocator.design.solve.solve_design`` for instances with bids or scenarios), the brute-force
reference (:mod:`reference`, enumeration) and the independent checker (``allocator.core.check``).
For every instance the model's optimum must equal the brute-force optimum within 1e-6
relative, and the model's solution must pass :func:`allocator.core.check.check` with its reported
objective and terms.
The reference itself is pinned on hand-solved instances and cross-checked against the checker.

Seeds are fixed, so every failure names an instance that can be rebuilt with
``random_instance(seed)`` (or ``random_instance(seed, design=True, n_scenarios=k)``).
"""

from __future__ import annotations

from functools import cache

import pytest
from random_instances import random_instance
from reference import Reference, brute_force, brute_force_allocation, brute_force_design
from test_check import SCENARIO_SOLUTION, design, market, scenarios_instance

from allocator.core.check import check
from allocator.core.problem import Problem
from allocator.core.result import Result
from allocator.design.solve import DesignParams, solve_design
from allocator.instance.schema import Instance
from allocator.solvers import SolveParams, solve

BATCH = 20
ALLOCATION_BATCHES = 12  # 240 allocation instances
DESIGN_BATCHES = 3  # 60 design instances per number of scenarios


@cache
def allocation_case(seed: int) -> tuple[Instance, Reference]:
    instance = random_instance(seed)
    return instance, brute_force(instance)


@cache
def design_case(seed: int, n_scenarios: int) -> tuple[Instance, Reference]:
    instance = random_instance(seed, design=True, n_scenarios=n_scenarios)
    return instance, brute_force(instance)


def solve_exact(instance: Instance, solver: str) -> Result:
    if instance.block_bids or instance.scenarios:
        return solve_design(instance, DesignParams(solver=solver, time_limit=30, gap=0.0))
    problem = Problem.from_instance(instance)
    return solve(problem, SolveParams(solver=solver, time_limit=30, gap=0.0))


def disagreement(label: str, instance: Instance, ref: Reference, result: Result) -> str | None:
    """None when the model agrees with the reference and passes the checker, else why not."""
    if ref.objective is None:
        if result.status.value == "infeasible":
            return None
        return f"{label}: brute force finds no feasible choice, model says {result.summary()}"
    if result.status.value != "optimal" or result.objective is None:
        return f"{label}: brute force optimum {ref.objective:.6f}, model {result.summary()}"
    problems = []
    if abs(result.objective - ref.objective) > 1e-6 * max(1.0, abs(ref.objective)):
        ref_check = check(instance, ref.solution)
        problems.append(
            f"objective {result.objective:.6f} (bound {result.bound}) != brute force "
            f"{ref.objective:.6f}; model terms {dict(result.terms)}, brute force terms "
            f"{ref.terms}; brute-force solution {dict(ref.solution.assignment)} "
            f"{'passes' if ref_check.ok else 'fails'} the checker"
        )
    if result.solution is None:
        problems.append("no solution returned")
    else:
        report = check(instance, result.solution, reported=result)
        if not report.ok:
            problems.append("checker rejects the model's solution: " + report.summary())
    return f"{label}: " + "; ".join(problems) if problems else None


# ---- the reference on hand-solved instances ------------------------------------------------


def test_reference_hand_optimum():
    """:func:`test_check.market`: n1 -> p1 (6 h block), n2 and n3 -> p2 (10 h, its capacity).

    block 90 + framework 20 * 4 + 25 * 10 + quality 2 * 10 + 5 * 10 = 490. Serving n3 by p1
    breaks p1's offer capacity ((10 + 5) * 1.2 = 18 > 15); the swap n1 -> p2, n2 and n3 -> p1
    costs 520 (a transfer, dearer hours).
    """
    ref = brute_force(market())
    assert ref.objective == pytest.approx(490.0)
    assert check(market(), ref.solution,
                 reported={"objective": ref.objective, "terms": ref.terms}).ok


def test_reference_lexicographic_differs_from_weighted():
    """With an hour-week of standard need costing only 1, weighted leaves n1 and n3 unmet.

    Weighted: n2 -> p1 out of the block (5 h), paying quality 2 * 5 and a transfer 30:
    90 + 0 + 10 + 30 + unmet 1 * 15 = 145. Lexicographic: unmet term 0 is reachable, and the
    cheapest full allocation is the 490 one of :func:`test_reference_hand_optimum`.
    """
    penalties = {"standard": 1, "urgent": 100}
    assert brute_force(market(unmet_penalty=penalties)).objective == pytest.approx(145.0)
    lex = brute_force(market(unmet_penalty=penalties, objective="lexicographic"))
    assert lex.objective == pytest.approx(490.0)
    assert lex.terms["unmet"] == 0


def test_reference_design_hand_optimum():
    """:func:`test_check.design`: p1 must be the one block provider (p2 is below quality 50).

    Each unit of volume costs 12 and saves 20 of framework, so V takes its largest value,
    min(bid 12, 0.75 x 16): block 10 + 144, framework 20 * 16 - 20 * 12 = 80; total 234.
    """
    ref = brute_force(design())
    assert ref.objective == pytest.approx(234.0)
    assert ref.solution.awards == {("p1", "L1"): pytest.approx(12.0)}
    assert check(design(), ref.solution, reported={"objective": 234.0,
                                                   "terms": ref.terms}).ok


def test_reference_scenarios_hand_optimum():
    """Two scenarios (demand x1 and x2): V = 12 again (saves 20 per unit in both).

    s2 must split (p1's offer holds 30 h of 32): n1 (20 h) at p1 and n2 at p2 (22/h).
    154 + 0.5 * 80 + 0.5 * (20 * 8 + 22 * 12) = 406 (:data:`test_check.SCENARIO_SOLUTION`).
    """
    ref = brute_force(scenarios_instance())
    assert ref.objective == pytest.approx(406.0)
    assert check(scenarios_instance(), SCENARIO_SOLUTION).objective == pytest.approx(406.0)


def test_reference_infeasible_design():
    """min_providers 1 with no awardable bid: no feasible choice."""
    inst = design()
    inst = inst.model_copy(update={"block_bids": inst.block_bids[1:]})
    assert brute_force(inst).objective is None


# ---- the reference against the checker, and against its LP variant -------------------------


@pytest.mark.parametrize("seed", range(0, 300, 3))
def test_reference_argmin_passes_check(seed):
    instance, ref = allocation_case(seed)
    report = check(instance, ref.solution, reported={"objective": ref.objective,
                                                     "terms": ref.terms})
    assert report.ok, report.summary()
    # The same optimum by LP over the block funding (brute_force_design on no bids).
    assert brute_force_design(instance).objective == pytest.approx(ref.objective, rel=1e-7)
    assert brute_force_allocation(instance).objective == ref.objective


@pytest.mark.parametrize("n_scenarios", [0, 1, 2])
@pytest.mark.parametrize("batch", range(DESIGN_BATCHES))
def test_reference_design_argmin_passes_check(batch, n_scenarios):
    for seed in range(batch * BATCH, (batch + 1) * BATCH):
        instance, ref = design_case(seed, n_scenarios)
        if ref.objective is None:
            continue
        report = check(instance, ref.solution, reported={"objective": ref.objective,
                                                         "terms": ref.terms})
        assert report.ok, f"seed {seed}: {report.summary()}"


def test_random_instances_cover_every_term():
    """The allocation seeds used below exercise every term and rule at their optimum."""
    seen: dict[str, int] = dict.fromkeys(
        ["block", "framework", "quality_zone", "unmet", "transfer", "block_used",
         "lexicographic", "framework_false", "reservation", "share", "placement",
         "travel_factor", "served_out_of_zone"], 0)
    for seed in range(BATCH * ALLOCATION_BATCHES):
        instance, ref = allocation_case(seed)
        for name, value in ref.terms.items():
            seen[name] += value > 0
        seen["block_used"] += any(v > 0 for v in ref.solution.block.values())
        seen["lexicographic"] += instance.policy.objective == "lexicographic"
        seen["framework_false"] += any(not lot.framework for lot in instance.lots)
        seen["reservation"] += any(lot.reservation for lot in instance.lots)
        seen["share"] += instance.policy.max_provider_share is not None
        seen["placement"] += any(n.kind == "placement" for n in instance.needs)
        seen["travel_factor"] += any(o.travel_factor > 1 for o in instance.offers)
        needs = {n.id: n for n in instance.needs}
        offers = {o.key: o for o in instance.offers}
        seen["served_out_of_zone"] += any(
            offers[o].zone != needs[n].zone for n, o in ref.solution.assignment.items())
    assert min(seen.values()) >= 10, seen


# ---- the exact model against brute force ---------------------------------------------------


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("batch", range(ALLOCATION_BATCHES))
def test_model_matches_bruteforce(batch, solver):
    problems = []
    for seed in range(batch * BATCH, (batch + 1) * BATCH):
        instance, ref = allocation_case(seed)
        found = disagreement(f"seed {seed} ({solver})", instance, ref,
                             solve_exact(instance, solver))
        if found:
            problems.append(found)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("n_scenarios", [0, 1, 2])
@pytest.mark.parametrize("batch", range(DESIGN_BATCHES))
def test_design_model_matches_bruteforce(batch, n_scenarios, solver):
    problems = []
    for seed in range(batch * BATCH, (batch + 1) * BATCH):
        instance, ref = design_case(seed, n_scenarios)
        found = disagreement(f"design seed {seed}, {n_scenarios} scenario(s) ({solver})",
                             instance, ref, solve_exact(instance, solver))
        if found:
            problems.append(found)
    assert not problems, "\n".join(problems)
