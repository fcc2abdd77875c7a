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


@pytest.mark.parametrize(
    "seed", [s for s in range(40) if random_instance(s).policy.objective == "weighted"][:12])
def test_blocks_bound_is_the_brute_force_optimum(seed: int) -> None:
    """``--blocks``: HiGHS block by block proves the brute-force optimum of a weighted market
    (many random markets split into several blocks)."""
    from benchmarks.bounds import blocks_bound

    instance = random_instance(seed)
    ref = brute_force_allocation(instance)
    row = blocks_bound(Problem.from_instance(instance), 30.0)
    assert row["status"] == "optimal"
    assert row["bound"] == pytest.approx(ref.objective, rel=1e-6, abs=1e-6)
    assert row["incumbent"] == pytest.approx(ref.objective, rel=1e-6, abs=1e-6)
