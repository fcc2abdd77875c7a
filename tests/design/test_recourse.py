"""The recourse kernel: fixed awards as volumes, the LP-first path, awards as contracts."""

from __future__ import annotations

import pytest

from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.design.designs import apply_design
from allocator.design.recourse import (
    as_contracts,
    award_cost,
    award_volumes,
    recourse,
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
