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


def test_restarting_this_threads_pool_leaves_another_threads_solve_running():
    """The pool is per thread, so restarting it here (as set_threads does whenever the count
    this thread last set differs) must not disturb a MIP running in another thread: the
    portfolio's MIP runs in a thread while the main thread may solve LPs (lexicographic
    bounds), each new thread restarting its own pool once."""
    import time

    from allocator.exact import highs
    from allocator.exact.base import SolverOptions
    from allocator.exact.model import build
    from allocator.generate import generate

    model = build([(Problem.from_instance(generate("S", seed=1, family="sharecap")), 1.0)])
    out: dict = {}

    def mip() -> None:
        t = time.perf_counter()
        out["mip"] = highs.solve(model, SolverOptions(time_limit=3.0, threads=1))
        out["end"] = time.perf_counter()
        out["took"] = out["end"] - t

    other = threading.Thread(target=mip)
    other.start()
    lps, at = [], []
    while other.is_alive() and len(lps) < 6:  # each count change restarts this thread's pool
        lps.append(highs.solve(model, SolverOptions(time_limit=10.0, threads=1 + len(lps) % 2),
                               relax=True))
        at.append(time.perf_counter())
    other.join()
    assert len(lps) >= 2 and at[1] < out["end"]  # restarts while the MIP ran
    assert all(lp.status is Status.optimal for lp in lps)
    assert all(lp.objective == pytest.approx(lps[0].objective) for lp in lps)
    res = out["mip"]
    assert res.status.has_solution and res.objective is not None and res.bound is not None
    assert res.bound <= res.objective + 1e-6 * abs(res.objective)
    assert res.bound >= lps[0].objective - 1e-6 * abs(lps[0].objective)  # at least the LP


def test_a_mip_stops_when_its_predicate_says_so_and_keeps_its_incumbent_and_bound():
    """``highs.stopped_when``: the design's extensive form in the parent stops once the other
    process has proven the optimum. With a predicate true from the start, a MIP HiGHS does not
    solve at its root returns as at a time limit (never "optimal"), with a bound no larger
    than its objective; outside the block the same MIP is solved to optimality, and the
    stopped bound is at most that optimum."""
    from allocator.exact import highs
    from allocator.exact.base import SolverOptions
    from allocator.exact.model import build
    from allocator.generate import generate

    inst = generate("S", seed=1, family="sharecap", needs=60)
    model = build([(Problem.from_instance(inst), 1.0)])
    calls = []

    def halt() -> bool:
        calls.append(1)
        return True

    with highs.stopped_when(halt):
        stopped = highs.solve(model, SolverOptions(time_limit=60.0, threads=1))
    assert calls, "HiGHS never asked (the MIP was solved before its first callback)"
    assert stopped.status is not Status.optimal
    assert stopped.message == "Stopped early: answered elsewhere"
    full = highs.solve(model, SolverOptions(time_limit=60.0, threads=1))
    assert full.status is Status.optimal
    assert stopped.bound is None or stopped.bound <= full.objective + 1e-6
    if stopped.objective is not None:
        assert stopped.objective >= full.objective - 1e-6
