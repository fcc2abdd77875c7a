"""HiGHS's thread pool is per calling thread: a solve's ``threads`` must match the pool of the
thread it runs in, or HiGHS does not run at all ("the scheduler has already been initialized
to use 2 threads", status Not Set / Not Solved)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.instance.io import load_instance
from allocator.solvers import SolveParams, solve

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("solver", ["highs", "highs-pulp"])
def test_a_one_thread_solve_after_two_threads_here_and_one_in_another_thread(solver):
    """The sequence of ``allocator solve --solver highs``, then ``auto`` (its MIP in a thread
    of its own, one HiGHS thread), then ``--solver highs --threads 1`` in one process (the
    CLI tests, the web app's job runner): the last returned "error" (ours) or
    "time_limit_no_solution" (PuLP's HiGHS) on a market HiGHS solves at once."""
    problem = Problem.from_instance(load_instance(DATA / "small_market.json"))
    two = solve(problem, SolveParams(solver="highs", threads=2))
    assert two.status is Status.optimal
    other: list = []
    t = threading.Thread(target=lambda: other.append(
        solve(problem, SolveParams(solver="highs", threads=1))))
    t.start()
    t.join()
    assert other[0].status is Status.optimal
    for objective in ("weighted", "lexicographic"):
        one = solve(problem, SolveParams(solver=solver, threads=1, objective=objective))
        assert one.status is Status.optimal, (objective, one.status, one.message)
        if objective == "weighted":
            assert one.objective == pytest.approx(two.objective)
