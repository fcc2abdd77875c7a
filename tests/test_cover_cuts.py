"""The cover-cut experiment of ``benchmarks.bounds`` never cuts off the brute-force optimum."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from random_instances import random_instance
from reference import brute_force_allocation

from allocator.core.problem import Problem
from allocator.heuristic.data import components, from_problem
from allocator.heuristic.lp import lp_bound

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bounds import cover_bound  # noqa: E402


@pytest.mark.parametrize("seed", range(20))
def test_cover_cuts_keep_the_bound_below_the_optimum(seed: int) -> None:
    instance = random_instance(seed)
    problem = Problem.from_instance(instance)
    ref = brute_force_allocation(instance)
    data = from_problem(problem)
    value, _ = cover_bound(data, 3)
    assert value <= ref.objective + 1e-6 * max(1.0, abs(ref.objective))
    n, labels = components(data)
    lp = lp_bound(data, labels, n, time_limit=10.0).bound
    assert value >= lp - 1e-6 * max(1.0, abs(lp))
