"""Lexicographic phase 1 of the search breaks ties by cost, and still proves its unmet bound.

Where ``auto`` cannot hand the whole model to HiGHS (and always with ``heuristic``), phase 1
minimises the unmet term plus every other cost scaled by a tiny weight
(:func:`allocator.heuristic.portfolio.tie_weight`): a phase 1 that priced nothing else moved
people in care for no reason (issue 15, the lexicographic zoo family at M: transfer term
266,250 and 19.2% above the bound). The weight is small enough that the other costs together
never outweigh one need's unmet penalty, and the unmet bound takes the most they can add off.
Checked against the brute force of :mod:`tests.reference` on tiny markets.
"""

from __future__ import annotations

import numpy as np
import pytest
from random_instances import random_instance
from reference import brute_force

from allocator.core.evaluate import chosen_from_solution, evaluate
from allocator.core.problem import Problem
from allocator.heuristic.portfolio import (
    TIE_SHARE,
    _Portfolio,
    other_cost_max,
    tie_weight,
    unmet_only,
)
from allocator.solvers import SolveParams, solve

SEEDS = range(700, 708)
OTHER = ("framework", "quality_zone", "transfer")


def _lexicographic(seed: int):
    instance = random_instance(seed, lexicographic=True)
    return instance, Problem.from_instance(instance)


@pytest.mark.parametrize("seed", SEEDS)
def test_tie_objective_is_unmet_plus_the_scaled_other_terms(seed):
    _, p = _lexicographic(seed)
    tie = tie_weight(p)
    assert tie > 0
    q = unmet_only(p, tie)
    assert q.n_pairs == p.n_pairs
    rng = np.random.default_rng(seed)
    order, start = p.pairs_by_need
    for _ in range(20):  # random assignments, feasible or not: the terms are linear anyway
        chosen = np.full(p.n_needs, -1, dtype=np.int64)
        for n in range(p.n_needs):
            pairs = order[start[n]:start[n + 1]]
            if len(pairs) and rng.random() < 0.7:
                chosen[n] = rng.choice(pairs)
        ev, ev_tie = evaluate(p, chosen), evaluate(q, chosen)
        other = sum(ev.terms[t] for t in OTHER)
        assert other <= other_cost_max(p) + 1e-6
        assert ev_tie.terms["unmet"] == pytest.approx(ev.terms["unmet"])
        assert ev_tie.objective == pytest.approx(
            ev.terms["unmet"] + ev.terms["block"] + tie * other, rel=1e-9, abs=1e-9)
    # the other terms together never outweigh the smallest unmet penalty of one need
    unmet = p.need_penalty * p.need_q
    assert tie * other_cost_max(p) <= TIE_SHARE * unmet[unmet > 0].min() * (1 + 1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_phase_one_answer_is_the_lexicographic_optimum(seed):
    """Phase 1 alone (with its tie-break) already finds the lexicographic optimum of a tiny
    market, people in care included; without the tie-break it only had to find the unmet."""
    instance, p = _lexicographic(seed)
    ref = brute_force(instance)
    assert ref.objective is not None  # these seeds' markets all have an answer
    q = unmet_only(p, tie_weight(p))
    r1 = _Portfolio(q, SolveParams(solver="heuristic", objective="weighted", time_limit=5,
                                   gap=0.0)).run()
    assert r1.solution is not None
    ev = evaluate(p, chosen_from_solution(p, r1.solution))
    assert ev.terms["unmet"] == pytest.approx(ref.terms["unmet"], abs=1e-6)
    assert ev.objective == pytest.approx(ref.objective, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_unmet_bound_stays_proven_with_the_tie_break(seed):
    instance, p = _lexicographic(seed)
    ref = brute_force(instance)
    assert ref.objective is not None  # these seeds' markets all have an answer
    res = solve(p, SolveParams(solver="heuristic", time_limit=5, gap=0.0))
    bound = res.extra["unmet_bound"]
    assert bound is not None
    assert bound <= ref.terms["unmet"] + 1e-6
    assert res.terms["unmet"] == pytest.approx(ref.terms["unmet"], abs=1e-6)
    assert "ties broken" in res.extra["lexicographic"]
