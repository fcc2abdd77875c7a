"""The shipped instances: valid, and solved to the same optimum by both exact backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from allocator.core.check import check
from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.instance.io import load_instance
from allocator.solvers import SolveParams, solve

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
SHIPPED = ["tiny.json", "devon_personal_care.json", "staffordshire_supported_living.json",
           "staffordshire/market.json"]


@pytest.mark.parametrize("name", SHIPPED)
def test_highs_and_cbc_agree_on_shipped_instances(name: str) -> None:
    """HiGHS proves the optimum; CBC reaches a solution the checker accepts whose objective is
    never below that optimum and whose bound is never above it, and on every shipped instance
    but Devon (where CBC without preprocessing is slow to close its last 0.05%) it proves the
    same optimum."""
    instance = load_instance(INSTANCES / name)
    problem = Problem.from_instance(instance)
    highs = solve(problem, SolveParams(solver="highs", time_limit=60, gap=0.0))
    assert highs.status == Status.optimal, highs.summary()
    assert check(instance, highs.solution, reported=highs).ok
    # Devon: CBC does not close in any limit a test can spend, and what is checked there (a
    # checked answer, on the right side of the optimum) holds at any limit: 10 s, not 30
    limit = 10 if name == "devon_personal_care.json" else 30
    cbc = solve(problem, SolveParams(solver="cbc", time_limit=limit, gap=0.0))
    assert cbc.status.has_solution, cbc.summary()
    assert check(instance, cbc.solution, reported=cbc).ok
    tol = 1e-6 * max(1.0, abs(highs.objective))
    assert cbc.objective >= highs.objective - tol
    assert cbc.bound is not None and cbc.bound <= highs.objective + tol
    if name != "devon_personal_care.json":
        assert cbc.status == Status.optimal
        assert cbc.objective == pytest.approx(highs.objective, rel=1e-6, abs=1e-6)
