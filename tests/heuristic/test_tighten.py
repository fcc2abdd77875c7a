"""The search data's tightening (issue 15): oversized pairs left out, capacities on their lattice.

Both must keep every feasible integer assignment feasible, so they never cut off the
brute-force optimum (:mod:`reference`, enumeration on tiny random markets with every feature),
the bound they give never exceeds it, and it is never weaker than the untightened LP.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from random_instances import random_instance
from reference import brute_force_allocation

from allocator.core.problem import Problem
from allocator.heuristic.data import (
    components,
    from_problem,
    from_problem_chosen,
    lattice_caps,
    oversized_pairs,
)
from allocator.heuristic.lp import lp_bound
from allocator.heuristic.state import Assignment
from allocator.instance.schema import Instance

SEEDS = range(80)
TOL = 1e-6


@cache
def _case(seed: int):
    instance = random_instance(seed)
    return Problem.from_instance(instance), brute_force_allocation(instance)


def _problem_chosen(problem: Problem, solution) -> np.ndarray:
    """The reference solution as a problem pair per need (-1 unmet)."""
    chosen = np.full(problem.n_needs, -1, dtype=np.int64)
    need_ix = {nid: i for i, nid in enumerate(problem.need_ids)}
    offer_ix = {oid: i for i, oid in enumerate(problem.offer_ids)}
    for nid, oid in solution.assignment.items():
        n, o = need_ix[nid], offer_ix[oid]
        k = np.nonzero((problem.pair_need == n) & (problem.pair_offer == o))[0]
        assert len(k) == 1
        chosen[n] = k[0]
    return chosen


@pytest.mark.parametrize("seed", SEEDS)
def test_tightening_keeps_the_optimum_and_the_bound_below_it(seed: int) -> None:
    problem, ref = _case(seed)
    assert ref.objective is not None and ref.solution is not None
    chosen = _problem_chosen(problem, ref.solution)
    # the optimum uses no pair the tightening leaves out ...
    assert not oversized_pairs(problem)[chosen[chosen >= 0]].any()
    # ... and fits the tightened rows
    data = from_problem(problem)
    state = Assignment(data, from_problem_chosen(data, chosen))
    assert state.feasible
    n_comp, labels = components(data)
    tight = lp_bound(data, labels, n_comp, time_limit=10.0)
    assert tight.exact_components == n_comp
    assert tight.bound <= ref.objective + TOL * max(1.0, abs(ref.objective))
    loose_data = from_problem(problem, tighten=False)
    n0, labels0 = components(loose_data)
    loose = lp_bound(loose_data, labels0, n0, time_limit=10.0)
    assert tight.bound >= loose.bound - TOL * max(1.0, abs(loose.bound))


def test_lattice_rounds_only_rows_with_one_factor_and_a_quantum() -> None:
    key = np.array([0, 0, 1, 1, 2, 2, 3])
    q = np.array([1.0, 1.0, 0.5, 0.25, 0.5, 0.25, 1.0])
    w = q * np.array([1.0, 1.0, 1.2, 1.2, 1.0, 1.5, 1.0])  # row 2 mixes factors
    cap = np.array([2.75, 1.0, 1.0, 5.0])
    mask = np.ones(len(key), dtype=bool)
    out = lattice_caps(key, w, q, mask, cap)
    assert out[0] == 2.0  # beds: 2.75 -> 2
    assert out[1] == pytest.approx(0.9)  # quarter hours at factor 1.2: 1.0 -> 3 * 0.3
    assert out[2] == 1.0  # mixed factors: left alone
    assert out[3] == 5.0  # already on the lattice
    exact = np.array([True, False, False, False])
    assert lattice_caps(key, w, q, mask, cap, exact=exact)[0] == 2.75


def _share_market(cap: float) -> Instance:
    """Two placements, one scheme of 2 beds, a share cap of ``cap`` of a 2-bed lot."""
    return Instance.model_validate({
        "schema_version": 1, "name": "share", "zones": [{"id": "Z", "name": "Z"}],
        "providers": [{"id": "P", "name": "P", "quality": 80}],
        "offers": [{"provider": "P", "zone": "Z", "service": "supported_living",
                    "unit": "beds", "price": 500, "capacity": 2, "max_complexity": "complex",
                    "scheme": "S1"}],
        "needs": [{"id": f"N{i}", "kind": "placement", "zone": "Z",
                   "service": "supported_living", "complexity": "complex", "care_group": "LD",
                   "quantity": 1, "priority": "standard_bed"} for i in (1, 2)],
        "lots": [{"id": "L", "name": "L", "unit": "beds", "zones": ["Z"],
                  "services": ["supported_living"], "complexities": ["complex"]}],
        "policy": {"unmet_penalty": {"standard_bed": 6000}, "max_provider_share": cap},
    })


def test_a_share_cap_below_one_bed_allows_none() -> None:
    """0.4 of a 2-bed lot is 0.8 beds: the LP would place 0.8 of a person, no answer can."""
    problem = Problem.from_instance(_share_market(0.4))
    assert oversized_pairs(problem).all()
    data = from_problem(problem)
    assert data.n_pairs == 0
    n_comp, labels = components(data)
    assert lp_bound(data, labels, n_comp, time_limit=5).bound == pytest.approx(12_000)
    loose = from_problem(problem, tighten=False)
    n0, l0 = components(loose)
    assert lp_bound(loose, l0, n0, time_limit=5).bound == pytest.approx(
        12_000 - 0.8 * (6_000 - 500))
    # 0.75 of the lot is 1.5 beds: one person, the row's capacity becomes 1
    problem = Problem.from_instance(_share_market(0.75))
    data = from_problem(problem)
    assert data.n_pairs == 2 and data.row_cap[:-1].tolist() == [1.0]
