"""The recourse kernel: fixed awards as volumes, the LP-first path, awards as contracts."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.design.designs import apply_design
from allocator.design.recourse import (
    as_contracts,
    award_cost,
    award_volumes,
    holder_keys,
    recourse,
    with_awards,
)
from allocator.design.scenarios import Demand
from allocator.solvers import SolveParams, solve

from .markets import designs, tiny_market

AWARDS = {("p2", "hc"): 2.0, ("p1", "sl"): 3.0, ("p3", "hours"): 20.0}


def test_recourse_equals_allocation_with_awards_as_contracts():
    inst = apply_design(tiny_market(), designs()["mixed"])
    demand = Demand("base", 1.0, tuple(inst.needs))
    for params in (SolveParams(time_limit=30, gap=0.0),
                   SolveParams(solver="cbc", time_limit=30, gap=0.0)):
        out = recourse(inst, demand, AWARDS, params)
        assert out.status == Status.optimal
        alloc = solve(Problem.from_instance(as_contracts(inst, AWARDS)), params)
        assert out.objective == pytest.approx(alloc.objective - alloc.terms["block"], rel=1e-9)
        assert out.terms["block"] == 0.0
        assert sum(out.block_used.values()) <= sum(AWARDS.values()) + 1e-9
        assert out.unmet["beds"] + out.served_units["beds"] == pytest.approx(10)


def test_volumes_and_costs():
    inst = apply_design(tiny_market(), designs()["mixed"])
    problem = Problem.from_instance(inst, mode="design")
    volume = award_volumes(problem, AWARDS)
    assert sorted(volume[volume > 0]) == [2.0, 3.0, 20.0]
    bids = {(b.provider, b.lot): b for b in inst.block_bids}
    assert award_cost(inst, AWARDS) == pytest.approx(
        sum(bids[k].award_cost + bids[k].rate * v for k, v in AWARDS.items()))
    with pytest.raises(KeyError, match="no awardable bid"):
        award_volumes(problem, {("p1", "nowhere"): 1.0})


def _fractional_cases():
    """Tiny random design markets (award-only offers, per-lot quality, contracts in force)
    under random awards whose recourse LP is fractional, with the awards."""
    from allocator.design.scenarios import demands
    from allocator.exact import highs
    from allocator.exact.base import SolverOptions
    from allocator.exact.model import build

    from .additions import additions_case

    out = []
    for seed in range(200):
        inst = additions_case(seed, n_scenarios=0)
        rng = np.random.default_rng(seed)
        demand = demands(inst)[0]
        base = Problem.from_instance(inst, mode="design", needs=demand.needs)
        awardable = set(holder_keys(base))  # bids under a lot's quality threshold are not
        awards = {(b.provider, b.lot): float(rng.uniform(b.min_volume, b.max_volume))
                  for b in inst.block_bids
                  if (b.provider, b.lot) in awardable and rng.random() < 0.7}
        problem = with_awards(base, awards)
        model = build([(problem, 1.0)])
        lp = highs.solve(model, SolverOptions(time_limit=10), relax=True)
        x = lp.values[model.integer]
        if np.any(np.abs(x - np.round(x)) > 1e-6):
            out.append((seed, inst, demand, awards, problem, model, lp))
        if len(out) == 6:
            break
    return out


def test_rens_path_against_the_exact_recourse():
    """A fractional recourse LP goes to RENS (the MIP with the LP's whole columns fixed) and
    then the whole MIP started from it: on tiny random markets whose LP is fractional its
    answer is feasible on the design problem and is the MIP optimum (HiGHS on the whole
    MIP, gap 0), the RENS answer alone is never below it, and the bound never above it."""
    from allocator.core.evaluate import chosen_from_solution, evaluate
    from allocator.design.recourse import rens
    from allocator.exact import highs
    from allocator.exact.base import SolverOptions
    from allocator.exact.model import chosen_from_values

    cases = _fractional_cases()
    assert len(cases) >= 3  # the test must see fractional LPs to mean anything
    through_rens = 0
    for seed, inst, demand, awards, problem, model, lp in cases:
        exact = highs.solve(model, SolverOptions(time_limit=30, gap=0.0))
        assert exact.status == Status.optimal
        opt = exact.objective - problem.fixed_block_cost
        first = rens(model, lp.values, SolverOptions(time_limit=10, gap=0.0))
        assert first.status == Status.optimal, seed  # the neighbourhood is always feasible
        assert first.objective >= exact.objective - 1e-6, seed
        assert not evaluate(problem, chosen_from_values(model, first.values)[0]).violations
        out = recourse(inst, demand, awards, SolveParams(time_limit=30, gap=0.0))
        assert out.status == Status.optimal, (seed, out.message)
        assert out.objective == pytest.approx(opt, rel=1e-9, abs=1e-6), seed
        assert out.bound <= opt + 1e-6
        through_rens += "RENS" in out.message or "MIP from RENS" in out.message
        ev = evaluate(problem, chosen_from_solution(problem, out.solution))
        assert ev.feasible, ev.violations
        # a time limit that leaves the whole MIP no time still answers, with the LP bound
        quick = recourse(inst, demand, awards, SolveParams(time_limit=0.01, gap=0.0))
        assert quick.objective is not None and quick.objective >= opt - 1e-6
        assert quick.bound is not None and quick.bound <= opt + 1e-6
        # a MIP that alone makes the answer (lexicographic) keeps a second however short
        # the share it is given
        lex = recourse(inst, demand, awards,
                       SolveParams(time_limit=0.01, gap=0.0, objective="lexicographic"))
        assert lex.status.has_solution, (seed, lex.message)
    assert through_rens >= 3
