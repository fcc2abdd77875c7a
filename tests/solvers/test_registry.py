"""The solver registry: every registered solver on tiny markets with known optima.

In the style of linopy's ``test/test_optimization.py``: small models whose optimum is worked
out by hand, solved by every registered solver that can solve them, asserting status,
objective and bound. Plus the registry's own rules: unknown names, modes, and :func:`certify`
(``optimal`` only with a proven bound within the requested gap).
"""

from __future__ import annotations

from typing import Any

import pytest

from allocator.core.check import check
from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import Result, Status
from allocator.instance.schema import Instance
from allocator.solvers import SOLVERS, UnknownSolverError, certify, get, names, solve

ALLOCATION = names("allocation")


def market(needs: list[dict[str, Any]], offers: list[dict[str, Any]],
           penalty: dict[str, float], objective: str = "weighted") -> Instance:
    """One zone, personal care, providers P1..Pk of quality 100 (no quality cost)."""
    providers = sorted({o["provider"] for o in offers})
    return Instance.model_validate({
        "schema_version": 1, "name": "hand",
        "zones": [{"id": "Z", "name": "Zone"}],
        "providers": [{"id": p, "name": p, "quality": 100} for p in providers],
        "offers": [{"zone": "Z", "service": "personal_care", "unit": "hours",
                    "max_complexity": "highly_complex", **o} for o in offers],
        "needs": [{"kind": "package", "zone": "Z", "service": "personal_care",
                   "complexity": "less_complex", "care_group": "OP", **n} for n in needs],
        "policy": {"unmet_penalty": penalty, "objective": objective},
    })


def cheapest_of_two() -> Instance:
    """One need of 10 hours, offers at 20 and 15 a hour: the cheaper one, objective 150."""
    return market([{"id": "N1", "quantity": 10}],
                  [{"provider": "P1", "price": 20, "capacity": 50},
                   {"provider": "P2", "price": 15, "capacity": 50}],
                  {"standard": 60})


def capacity_binds() -> Instance:
    """Room for 10 hours at 20 a hour; two needs of 10 hours, standard (60) and urgent (100).
    The urgent need is served (200), the standard one is unmet (600): objective 800."""
    return market([{"id": "N1", "quantity": 10, "priority": "standard"},
                   {"id": "N2", "quantity": 10, "priority": "urgent"}],
                  [{"provider": "P1", "price": 20, "capacity": 10}],
                  {"standard": 60, "urgent": 100})


def dearer_than_unmet(objective: str) -> Instance:
    """A need of 10 hours whose penalty (5 a hour) is below the only price (20 a hour):
    weighted leaves it unmet (50); lexicographic serves it (200, nothing unmet)."""
    return market([{"id": "N1", "quantity": 10}],
                  [{"provider": "P1", "price": 20, "capacity": 50}],
                  {"standard": 5}, objective)


CASES = {
    "cheapest_of_two": (cheapest_of_two, 150.0, 0.0),
    "capacity_binds": (capacity_binds, 800.0, 600.0),
    "weighted_leaves_unmet": (lambda: dearer_than_unmet("weighted"), 50.0, 50.0),
    "lexicographic_serves": (lambda: dearer_than_unmet("lexicographic"), 200.0, 0.0),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("solver", ALLOCATION)
def test_every_solver_on_a_known_optimum(solver, case):
    build, optimum, unmet = CASES[case]
    instance = build()
    result = solve(Problem.from_instance(instance), SolveParams(solver=solver, time_limit=10))
    assert result.status is Status.optimal, result.summary()
    assert result.objective == pytest.approx(optimum, abs=1e-6)
    assert result.terms["unmet"] == pytest.approx(unmet, abs=1e-6)
    assert result.bound is not None and result.bound <= result.objective + 1e-9
    assert result.bound == pytest.approx(optimum, abs=1e-4)
    assert result.extra["objective_kind"] == instance.policy.objective
    assert check(instance, result.solution, reported=result).ok


def test_every_solver_declares_itself():
    for name, spec in SOLVERS.items():
        assert spec.name == name and spec.summary and spec.modes
        assert spec.modes <= {"allocation", "design"}
        assert spec.installed()  # everything the package depends on is installed here
        assert callable(spec.load())
        if "design" in spec.modes:
            assert spec.backend in ("highs", "cbc", "highs-pulp")
    assert "cpsat" in ALLOCATION and "auto" in ALLOCATION
    assert set(names("design")) == {"auto", "highs", "highs-pulp", "cbc"}


def test_unknown_solver_and_unsupported_mode_are_refused():
    with pytest.raises(UnknownSolverError, match="unknown solver 'gurobi'; choose one of auto"):
        get("gurobi")
    with pytest.raises(UnknownSolverError, match="does not solve the design model"):
        get("cpsat", "design")
    with pytest.raises(UnknownSolverError, match="unknown solver"):
        solve(Problem.from_instance(cheapest_of_two()), SolveParams(solver="nope"))


def answer(status: Status, objective: float, bound: float | None, **extra: Any) -> Result:
    return Result(status=status, solver="x", objective=objective, bound=bound, extra=extra)


def test_certify_never_claims_more_than_the_bound_proves():
    params = SolveParams(gap=1e-4)
    # a backend's "optimal" at a 0.37% gap (the nightly run once said so) is feasible
    r = certify(answer(Status.optimal, 1000.0, 996.331), params, "weighted")
    assert r.status is Status.feasible and r.extra["claimed"] == "optimal"
    # no bound, no proof
    assert certify(answer(Status.optimal, 10.0, None), params, "weighted").status \
        is Status.feasible
    # a bound within the requested gap proves it, whoever found it
    assert certify(answer(Status.feasible, 1000.0, 999.95), params, "weighted").status \
        is Status.optimal
    # lexicographic: the unmet term must be proven minimal too
    r = certify(answer(Status.optimal, 1000.0, 1000.0, unmet_proven=False), params,
                "lexicographic")
    assert r.status is Status.feasible and "unmet term is not proven" in r.extra["certified"]
    r = certify(answer(Status.feasible, 1000.0, 1000.0, unmet_proven=True), params,
                "lexicographic")
    assert r.status is Status.optimal and r.extra["objective_kind"] == "lexicographic"
    # statuses without an answer are left alone
    r = certify(Result(status=Status.infeasible, solver="x"), params, "weighted")
    assert r.status is Status.infeasible


def test_highs_thread_counts_can_change_within_a_process():
    """HiGHS sizes one thread pool per process at its first solve, and refuses to run ("Not
    Set") a later solve asking for another count. Design comparisons (default threads) then
    single-threaded recourse solves in the same process failed that way."""
    problem = Problem.from_instance(cheapest_of_two())
    for threads in (2, 1, 2, None, 1):
        result = solve(problem, SolveParams(solver="highs", threads=threads))
        assert result.status is Status.optimal, (threads, result.message)


def test_highs_stopped_at_the_deadline_says_time_limit_not_interrupted_by_user() -> None:
    """Our deadline callback interrupts HiGHS's MIP (it checks its own time limit only
    between phases); the answer then says the time limit was reached, where HiGHS's own
    string read "Interrupted by user" (seen on zoo-lexicographic-L at 5 s)."""
    from heuristic.market import market_instance

    from allocator.exact import highs
    from allocator.exact.base import SolverOptions
    from allocator.exact.model import build

    model = build([(Problem.from_instance(market_instance(400, 20, 6, seed=2,
                                                          tightness=0.6)), 1.0)])
    res = highs.solve(model, SolverOptions(time_limit=0.05))
    assert res.status in (Status.feasible, Status.time_limit_no_solution)
    assert "Interrupted by user" not in res.message
    assert res.message.startswith("Time limit reached")


def test_an_answer_past_its_time_limit_says_why(monkeypatch) -> None:
    """A 5 s limit on a region takes 8 s (building, starting, evaluating): the answer says so
    in its message and extra; an answer within a second (or a tenth) of its limit does not."""
    from dataclasses import replace

    from allocator.solvers import registry

    p = Problem.from_instance(cheapest_of_two())
    took = {"s": 8.0}

    def backend(problem, params):
        return replace(answer(Status.feasible, 150.0, 140.0), runtime_s=took["s"])

    monkeypatch.setattr(registry.SolverSpec, "load", lambda self: backend)
    r = solve(p, SolveParams(solver="highs", time_limit=5))
    assert r.extra["time_limit_overrun_s"] == pytest.approx(3.0)
    assert r.message.startswith("took 8.0 s against the time limit of 5 s: on 2 eligible pairs")
    assert "could not stop sooner" in r.message
    for seconds, limit in ((5.9, 5), (32.9, 30)):  # within a second, within a tenth
        took["s"] = seconds
        r = solve(p, SolveParams(solver="highs", time_limit=limit))
        assert "time_limit_overrun_s" not in r.extra and r.message == ""


@pytest.mark.parametrize("solver", ALLOCATION)
def test_a_night_with_no_needs_is_its_block_term_proven(solver) -> None:
    """No needs: the answer is the block contracts' cost, a constant, and it is optimal.
    HiGHS calls such a model empty and reported 0 for it (the constant left out), so the
    answer carried no bound and stayed feasible."""
    from pathlib import Path

    from allocator.instance.io import load_instance

    tiny = load_instance(Path(__file__).resolve().parents[2] / "instances" / "tiny.json")
    p = Problem.from_instance(tiny.model_copy(update={"needs": ()}))
    assert p.n_needs == 0 and p.fixed_block_cost > 0
    r = solve(p, SolveParams(solver=solver, time_limit=10))
    assert r.status is Status.optimal, (r.status, r.message)
    assert r.objective == pytest.approx(p.fixed_block_cost)
    assert r.bound == pytest.approx(p.fixed_block_cost)
