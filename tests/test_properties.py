"""Properties of the allocation model that hold on every instance (hypothesis).

Each property is a theorem about the optimum of DESIGN.md section 4, so it must hold for the
exact solver on any instance; hypothesis draws the instance (a seed of
``random_instance``, small enough to solve to proven optimality in milliseconds) and the change.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_instances import random_instance

from allocator.core.check import check
from allocator.core.problem import Problem
from allocator.core.result import Solution, Status
from allocator.instance.schema import Instance
from allocator.solvers import SolveParams, solve

PARAMS = SolveParams(solver="highs", time_limit=30, gap=0.0)
TOL = 1e-6
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def optimum(instance: Instance, objective: str = "weighted"):
    result = solve(Problem.from_instance(instance),
                   PARAMS.model_copy(update={"objective": objective}))
    assert result.status == Status.optimal, result.summary()
    report = check(instance, result.solution, reported=result)
    assert report.ok, report.summary()
    return result


def close_or_below(a: float, b: float) -> bool:
    return a <= b + TOL * max(1.0, abs(b))


def with_policy(instance: Instance, **changes) -> Instance:
    return instance.model_copy(update={"policy": instance.policy.model_copy(update=changes)})


seeds = st.integers(min_value=0, max_value=100_000)


@SETTINGS
@given(seed=seeds, which=st.integers(min_value=0, max_value=1000),
       extra=st.floats(min_value=0.5, max_value=50))
def test_more_capacity_never_raises_the_optimum(seed: int, which: int, extra: float) -> None:
    """Capacity only loosens constraints: the old optimum stays feasible."""
    instance = random_instance(seed)
    base = optimum(instance).objective
    offers = list(instance.offers)
    k = which % len(offers)
    offers[k] = offers[k].model_copy(update={"capacity": offers[k].capacity + extra})
    providers = list(instance.providers)
    j = which % len(providers)
    if providers[j].capacity is not None:
        providers[j] = providers[j].model_copy(
            update={"capacity": providers[j].capacity + extra})
    looser = instance.model_copy(update={"offers": offers, "providers": providers})
    assert close_or_below(optimum(looser).objective, base)


@SETTINGS
@given(seed=seeds, factor=st.floats(min_value=1.0, max_value=5.0))
def test_dearer_unmet_need_never_raises_weighted_unmet(seed: int, factor: float) -> None:
    """Scaling every penalty by factor >= 1 never increases the unmet term measured at the
    old penalties: for optima x1 (factor 1) and x2 (factor f), f1 + g1 <= f2 + g2 and
    f2 + f g2 <= f1 + f g1 add up to (f - 1)(g2 - g1) <= 0. (Unmet *hours* may rise: an
    urgent need can displace two standard ones.)"""
    instance = random_instance(seed, lexicographic=False)
    first = optimum(instance)
    dearer = with_policy(instance, unmet_penalty={
        k: v * factor for k, v in instance.policy.unmet_penalty.items()})
    second = optimum(dearer)
    g2 = second.terms["unmet"] / factor
    assert close_or_below(g2, first.terms["unmet"])


@SETTINGS
@given(seed=seeds, scale=st.sampled_from([0.5, 2.0, 10.0]))
def test_scaling_all_money_scales_the_optimum(seed: int, scale: float) -> None:
    """Every term is linear in prices, rates, penalties and weights: scaling them all by
    ``scale`` scales the optimum by ``scale``."""
    instance = random_instance(seed, lexicographic=False)
    base = optimum(instance).objective
    p = instance.policy
    scaled = instance.model_copy(update={
        "offers": [o.model_copy(update={"price": o.price * scale}) for o in instance.offers],
        "block_contracts": [c.model_copy(update={"rate": c.rate * scale})
                            for c in instance.block_contracts],
        "policy": p.model_copy(update={
            "unmet_penalty": {k: v * scale for k, v in p.unmet_penalty.items()},
            "transfer_penalty": p.transfer_penalty * scale,
            "quality_weight": p.quality_weight * scale,
            "out_of_zone_penalty": p.out_of_zone_penalty * scale,
        }),
    })
    assert optimum(scaled).objective == pytest.approx(base * scale, rel=1e-6, abs=1e-6)


@SETTINGS
@given(seed=seeds)
def test_lexicographic_never_leaves_more_unmet_than_weighted(seed: int) -> None:
    """Phase 1 minimises the unmet term alone, so the lexicographic optimum's unmet term is at
    most the weighted optimum's, and its full objective at least the weighted optimum."""
    instance = random_instance(seed, lexicographic=False)
    weighted = optimum(instance, "weighted")
    lexi = optimum(instance, "lexicographic")
    assert close_or_below(lexi.terms["unmet"], weighted.terms["unmet"])
    assert close_or_below(weighted.objective, lexi.objective)


@SETTINGS
@given(seed=seeds, pick=st.integers(min_value=0, max_value=1000))
def test_checker_rejects_corrupted_solutions(seed: int, pick: int) -> None:
    """The checker accepts the optimum and rejects it once it is tampered with: a served need
    dropped (the reported terms no longer match), or a need given to an offer of another
    service or outside its zones (ineligible)."""
    instance = random_instance(seed)
    result = optimum(instance)
    solution = result.solution
    assert solution is not None
    served = sorted(solution.assignment)
    if served:
        need = served[pick % len(served)]
        dropped = dict(solution.assignment)
        del dropped[need]
        block = {k: v for k, v in solution.block.items() if k != need}
        report = check(instance, Solution(assignment=dropped, block=block), reported=result)
        assert not report.ok
    tampered = {"objective": result.objective + 1.0, "terms": dict(result.terms)}
    assert not check(instance, solution, reported=tampered).ok
    # an ineligible pair: a need sent to an offer that cannot take it
    problem = Problem.from_instance(instance)
    eligible = {(problem.need_ids[n], problem.offer_ids[o])
                for n, o in zip(problem.pair_need, problem.pair_offer, strict=True)}
    candidates = [(n.id, o.key) for n in instance.needs for o in instance.offers
                  if (n.id, o.key) not in eligible]
    if candidates:
        nid, oid = candidates[pick % len(candidates)]
        wrong = dict(solution.assignment)
        wrong[nid] = oid
        assert not check(instance, Solution(assignment=wrong, block={
            k: v for k, v in solution.block.items() if k != nid})).ok


@SETTINGS
@given(seed=seeds)
def test_highs_and_cbc_agree(seed: int) -> None:
    """The two exact backends reach the same optimum on the same instance."""
    instance = random_instance(seed)
    problem = Problem.from_instance(instance)
    objective = instance.policy.objective
    a = solve(problem, PARAMS.model_copy(update={"objective": objective}))
    b = solve(problem, PARAMS.model_copy(update={"solver": "cbc", "objective": objective}))
    assert a.status == b.status == Status.optimal
    assert b.objective == pytest.approx(a.objective, rel=1e-6, abs=1e-6)
    assert check(instance, b.solution, reported=b).ok


def test_evaluation_matches_the_checker_on_every_assignment_of_a_tiny_instance() -> None:
    """The solver's own evaluator (exact block funding by fractional knapsack) and the
    independent checker agree on the objective of random feasible-or-not assignments."""
    from allocator.core.evaluate import evaluate, to_solution

    rng = np.random.default_rng(7)
    for seed in range(40):
        instance = random_instance(seed)
        problem = Problem.from_instance(instance)
        order, start = problem.pairs_by_need
        chosen = np.full(problem.n_needs, -1)
        for n in range(problem.n_needs):
            ks = order[start[n]:start[n + 1]]
            if len(ks) and rng.random() < 0.7:
                chosen[n] = rng.choice(ks)
        ev = evaluate(problem, chosen)
        report = check(instance, to_solution(problem, ev))
        assert report.objective == pytest.approx(ev.objective, rel=1e-9, abs=1e-9)
        assert report.ok == ev.feasible, (seed, report.violations, ev.violations)
