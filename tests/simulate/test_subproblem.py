"""A night's cut of the market is the model of DESIGN.md section 4 on what it holds."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.core.problem import Problem
from allocator.simulate.subproblem import subproblem
from allocator.solvers import SolveParams, solve

from .markets import devon_sample


def test_whole_cut_has_the_same_optimum():
    p = Problem.from_instance(devon_sample().model_copy(update={"needs": [
        n.model_copy(update={"current_provider": None}) for n in devon_sample().needs]}))
    cut, kp = subproblem(p, np.arange(p.n_needs), np.ones(p.n_pairs, dtype=bool),
                         offer_capacity=p.offer_capacity, provider_capacity=p.provider_capacity,
                         holder_volume=p.holder_volume)
    assert np.array_equal(kp, np.arange(p.n_pairs))
    params = SolveParams(solver="highs", gap=0)
    assert solve(cut, params).objective == pytest.approx(solve(p, params).objective, rel=1e-9)


def test_cut_of_some_needs_with_less_room():
    p = Problem.from_instance(devon_sample())
    needs = np.array([5, 2, 9])
    cut, kp = subproblem(p, needs, np.ones(p.n_pairs, dtype=bool),
                         offer_capacity=p.offer_capacity * 0, provider_capacity=p.provider_capacity,
                         holder_volume=p.holder_volume)
    assert cut.need_ids == tuple(p.need_ids[i] for i in needs)
    assert np.array_equal(p.pair_need[kp], needs[cut.pair_need])
    res = solve(cut, SolveParams(solver="highs"))
    assert res.solution.assignment == {}  # no room anywhere: everyone is unmet
