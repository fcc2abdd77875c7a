"""One entry point: ``solve(problem, params) -> Result``.

The exact paths build the model of DESIGN.md section 4 (``allocator.model``) and hand it to a MIP
backend; the objective reported is always recomputed from the rounded assignment
(``allocator.evaluate``), so it never carries solver tolerances.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .evaluate import evaluate, to_solution
from .model import MatrixModel, build, chosen_from_values, values_from_chosen
from .problem import Problem
from .result import Result, Solution, Status
from .solvers.base import MatrixSolve, SolverOptions, add_row

SolverName = Literal["highs", "cbc", "highs-pulp"]
EXACT_SOLVERS = ("highs", "cbc", "highs-pulp")


class SolveParams(BaseModel):
    """Parameters of one solve (validated; loadable from JSON/TOML by the CLI)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    solver: str = "highs"
    objective: Literal["weighted", "lexicographic"] | None = None  # None: the instance's policy
    time_limit: float = Field(60.0, gt=0)
    gap: float = Field(1e-7, ge=0)  # relative MIP gap at which a solve counts as optimal
    threads: int | None = Field(None, ge=1)
    verbose: bool = False
    seed: int = 0


def _backend_solve(name: str, model: MatrixModel, opts: SolverOptions, **kw) -> MatrixSolve:
    if name == "highs":
        from .solvers import highs

        return highs.solve(model, opts, **kw)
    if name in ("cbc", "highs-pulp"):
        from .solvers import pulp_backend

        return pulp_backend.solve(model, opts, solver="cbc" if name == "cbc" else "highs", **kw)
    raise ValueError(f"unknown exact solver {name!r}; choose one of {', '.join(EXACT_SOLVERS)}")


def solve_model(
    model: MatrixModel,
    params: SolveParams,
    objective_kind: str,
    *,
    warm_start: np.ndarray | None = None,
    deadline: float | None = None,
) -> tuple[MatrixSolve, list[tuple[str, MatrixSolve]]]:
    """Solve a built model with the weighted or lexicographic objective.

    Returns the final solve and the list of phases (name, solve).
    """
    t0 = time.perf_counter()
    limit = params.time_limit if deadline is None else max(0.01, deadline - t0)
    opts = SolverOptions(time_limit=limit, gap=params.gap, threads=params.threads,
                         verbose=params.verbose, seed=params.seed)
    if objective_kind != "lexicographic":
        res = _backend_solve(params.solver, model, opts, warm_start=warm_start)
        return res, [("weighted", res)]
    # phase 1: the unmet term alone, at most half the time (clarification 6)
    assert model.unmet_cost is not None
    p1_opts = SolverOptions(time_limit=limit / 2, gap=params.gap, threads=params.threads,
                            verbose=params.verbose, seed=params.seed)
    p1 = _backend_solve(params.solver, model, p1_opts, cost=model.unmet_cost, offset=0.0,
                        warm_start=warm_start)
    if not p1.status.has_solution:
        return p1, [("unmet", p1)]
    assert p1.values is not None
    u1 = float(np.dot(model.unmet_cost, p1.values))
    capped = add_row(model, model.unmet_cost, -np.inf, u1 + 1e-6 * max(1.0, abs(u1)))
    left = max(0.01, limit - (time.perf_counter() - t0))
    p2_opts = SolverOptions(time_limit=left, gap=params.gap, threads=params.threads,
                            verbose=params.verbose, seed=params.seed)
    # phase 1's solution is feasible for phase 2: start from it
    p2 = _backend_solve(params.solver, capped, p2_opts, warm_start=p1.values)
    if not p2.status.has_solution:
        # the solver ran out of time in phase 2: phase 1's solution is still valid
        fallback = MatrixSolve(Status.feasible, p1.values,
                               float(np.dot(model.c, p1.values) + model.offset), p2.bound,
                               p1.runtime_s + p2.runtime_s, message=p2.message)
        return fallback, [("unmet", p1), ("full", p2)]
    return p2, [("unmet", p1), ("full", p2)]


def solve(problem: Problem, params: SolveParams | None = None) -> Result:
    """Solve the allocation problem of DESIGN.md section 4 exactly (HiGHS or CBC).

    At the time limit it returns the best solution found with status ``feasible`` and the
    solver's bound; with no solution, status ``time_limit_no_solution``.
    """
    params = params or SolveParams()
    if params.solver not in EXACT_SOLVERS:
        from .portfolio import solve as solve_other  # heuristic / auto, added by the scale work

        return solve_other(problem, params)
    t0 = time.perf_counter()
    objective_kind = params.objective or problem.objective_kind
    model = build([(problem, 1.0)])
    build_s = time.perf_counter() - t0
    res, phases = solve_model(model, params, objective_kind)
    return finish(problem, model, res, phases, params.solver, t0, build_s)


def finish(
    problem: Problem,
    model: MatrixModel,
    res: MatrixSolve,
    phases: list[tuple[str, MatrixSolve]],
    solver: str,
    t0: float,
    build_s: float,
) -> Result:
    """Turn a backend's raw answer into a Result with an exactly evaluated objective."""
    runtime = time.perf_counter() - t0
    extra = {"phases": [
        {"phase": name, "status": r.status.value, "objective": r.objective, "bound": r.bound,
         "runtime_s": r.runtime_s} for name, r in phases]}
    if not res.status.has_solution or res.values is None:
        return Result(status=res.status, solver=solver, bound=res.bound, runtime_s=runtime,
                      build_s=build_s, solve_s=runtime - build_s, message=res.message,
                      extra=extra)
    chosen = chosen_from_values(model, res.values)[0]
    ev = evaluate(problem, chosen)
    status = res.status
    message = res.message
    if not ev.feasible:
        message = "solution violates: " + "; ".join(ev.violations[:5])
        status = Status.error
    objective = ev.objective
    bound = res.bound
    if bound is not None:
        bound = min(bound, objective)
    return Result(
        status=status, solver=solver, objective=objective, bound=bound, runtime_s=runtime,
        terms=ev.terms, solution=to_solution(problem, ev), build_s=build_s,
        solve_s=runtime - build_s, message=message, extra=extra,
    )


def warm_start_values(problem: Problem, model: MatrixModel, solution: Solution) -> np.ndarray:
    """Column values of ``model`` for a known solution (a MIP start)."""
    from .evaluate import chosen_from_solution

    return values_from_chosen(model, [chosen_from_solution(problem, solution)])
