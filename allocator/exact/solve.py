"""One entry point: ``solve(problem, params) -> Result``.

The exact paths build the model of DESIGN.md section 4 (``allocator.exact.model``) and hand it
to a MIP backend; the objective reported is always recomputed from the rounded assignment
(``allocator.core.evaluate``), so it never carries solver tolerances.
"""

from __future__ import annotations

import time

import numpy as np

from allocator.core import progress
from allocator.core.evaluate import evaluate, to_solution
from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import Result, Solution, Status
from allocator.exact.base import MatrixSolve, SolverOptions, add_row
from allocator.exact.model import MatrixModel, build, chosen_from_values, values_from_chosen

EXACT_SOLVERS = ("highs", "cbc", "highs-pulp")


def _backend_solve(name: str, model: MatrixModel, opts: SolverOptions, **kw) -> MatrixSolve:
    if name == "highs":
        from allocator.exact import highs

        return highs.solve(model, opts, **kw)
    if name in ("cbc", "highs-pulp"):
        from allocator.exact import pulp_backend

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
    with progress.muted():  # its figures are the unmet term's, not the objective's
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
    solver's bound; with no solution, status ``time_limit_no_solution``. CBC's claims of
    optimality are confirmed by HiGHS (:func:`confirm_with_highs`): PuLP's bundled CBC has
    reported optima with a bound above the true optimum, so its own bound is never reported.
    """
    params = params or SolveParams()
    if params.solver not in EXACT_SOLVERS:
        raise ValueError(f"unknown exact solver {params.solver!r}; choose one of "
                         f"{', '.join(EXACT_SOLVERS)}")
    t0 = time.perf_counter()
    objective_kind = params.objective or problem.objective_kind
    model = build([(problem, 1.0)])
    build_s = time.perf_counter() - t0
    res, phases = solve_model(model, params, objective_kind)
    if params.solver == "cbc":
        res, phases = confirm_with_highs(model, params, objective_kind, res, phases, t0)
    return finish(problem, model, res, phases, params.solver, t0, build_s)


def confirm_with_highs(
    model: MatrixModel,
    params: SolveParams,
    objective_kind: str,
    res: MatrixSolve,
    phases: list[tuple[str, MatrixSolve]],
    t0: float,
) -> tuple[MatrixSolve, list[tuple[str, MatrixSolve]]]:
    """Replace CBC's bound by one HiGHS proves, warm-started from CBC's answer.

    CBC keeps its answer; the bound is HiGHS's, found in the time left (at least a tenth of
    the limit). Where HiGHS proves nothing in that time the bound is HiGHS's best bound (its
    LP bound at worst), and the answer is ``feasible``.
    """
    if not res.status.has_solution or res.values is None:
        return res, phases
    left = max(0.1 * params.time_limit, params.time_limit - (time.perf_counter() - t0))
    check_params = params.model_copy(update={"solver": "highs", "time_limit": left})
    conf, conf_phases = solve_model(model, check_params, objective_kind, warm_start=res.values)
    bound = conf.bound
    status = Status.feasible
    values: np.ndarray | None = res.values
    objective = res.objective
    if conf.status.has_solution and conf.objective is not None and (
            objective is None or conf.objective < objective - 1e-9 * max(1.0, abs(objective))):
        values, objective = conf.values, conf.objective  # HiGHS found better: CBC was wrong
    if conf.status is Status.optimal:
        status = Status.optimal
    confirmed = MatrixSolve(status, values, objective, bound,
                            res.runtime_s + conf.runtime_s,
                            message=f"CBC: {res.status.value}, bound {res.bound}; "
                                    f"bound confirmed by HiGHS: {conf.status.value}")
    return confirmed, phases + [(f"highs check ({name})", r) for name, r in conf_phases]


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
    extra: dict[str, object] = {"phases": [
        {"phase": name, "status": r.status.value, "objective": r.objective, "bound": r.bound,
         "runtime_s": r.runtime_s} for name, r in phases]}
    # lexicographic: is the unmet term proven minimal? (CBC's own proofs are not trusted:
    # only the HiGHS check's phase 1 counts for it)
    trusted = ("highs check (unmet)",) if solver == "cbc" else ("unmet",)
    unmet_phases = [r for name, r in phases if name in trusted]
    if unmet_phases:
        p1 = unmet_phases[-1]
        extra["unmet_proven"] = p1.status is Status.optimal
        extra["unmet_bound"] = p1.bound
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
    from allocator.core.evaluate import chosen_from_solution

    return values_from_chosen(model, [chosen_from_solution(problem, solution)])
