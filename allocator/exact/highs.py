"""HiGHS backend: the matrices handed straight to highspy (no modelling layer in between)."""

from __future__ import annotations

import time

import numpy as np

from allocator.core.result import Status
from allocator.exact.base import MatrixSolve, SolverOptions
from allocator.exact.model import MatrixModel

NAME = "highs"


def available() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def status_of(h, model_status) -> Status:
    """Our status for a HiGHS model status: the one mapping of HiGHS codes (exact solve, the
    portfolio's MIP, the LP bound all use it)."""
    import highspy

    S = highspy.HighsModelStatus
    has_solution = h.getInfo().primal_solution_status == 2
    if model_status == S.kOptimal:
        return Status.optimal
    if model_status in (S.kInfeasible, S.kUnboundedOrInfeasible):
        return Status.infeasible
    if model_status in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt,
                        S.kHighsInterrupt, S.kObjectiveBound, S.kObjectiveTarget,
                        S.kMemoryLimit, S.kUnknown):
        return Status.feasible if has_solution else Status.time_limit_no_solution
    if model_status == S.kModelEmpty:
        return Status.optimal
    return Status.error


def highs_lp(highspy, *, cost, A, col_lo, col_hi, row_lo, row_hi, offset: float = 0.0,
             integer=None):
    """A ``highspy.HighsLp`` of min cost.x + offset, row_lo <= A x <= row_hi,
    col_lo <= x <= col_hi, with ``integer`` columns (a boolean array) integral.

    ``highspy`` is the module, passed in: it is imported only where HiGHS runs (never in a
    process that loads OR-Tools)."""
    n_rows, n_cols = A.shape
    A = A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.asarray(col_lo, dtype=float)
    lp.col_upper_ = np.asarray(col_hi, dtype=float)
    lp.row_lower_ = np.asarray(row_lo, dtype=float)
    lp.row_upper_ = np.asarray(row_hi, dtype=float)
    lp.offset_ = float(offset)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = n_rows
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    if integer is not None and np.any(integer):
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in integer]
    return lp


def solve(
    model: MatrixModel,
    options: SolverOptions,
    *,
    cost: np.ndarray | None = None,
    offset: float | None = None,
    warm_start: np.ndarray | None = None,
    relax: bool = False,
) -> MatrixSolve:
    """Solve ``model`` (or its LP relaxation) with HiGHS.

    ``cost``/``offset`` replace the objective (used by the lexicographic first phase).
    """
    import highspy

    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.verbose))
    h.setOptionValue("time_limit", float(max(options.time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", float(options.gap))
    h.setOptionValue("random_seed", int(options.seed))
    if options.threads:
        h.setOptionValue("threads", int(options.threads))
    c = model.c if cost is None else cost
    off = model.offset if offset is None else offset
    lp = highs_lp(highspy, cost=c, A=model.A, col_lo=model.col_lo, col_hi=model.col_hi,
                  row_lo=model.row_lo, row_hi=model.row_hi, offset=off,
                  integer=None if relax else model.integer)
    h.passModel(lp)
    if warm_start is not None and not relax:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.asarray(warm_start, dtype=float))
        sol.value_valid = True
        h.setSolution(sol)
    if not relax and model.integer.any():
        # HiGHS checks its time limit between phases, not during root cut rounds (seen: 70 s
        # over on a county); the MIP interrupt callback stops it at the deadline as well
        deadline = t0 + float(max(options.time_limit, 0.01))

        def interrupt(event) -> None:
            if time.perf_counter() >= deadline:
                event.interrupt()

        h.cbMipInterrupt += interrupt
    h.run()
    status = status_of(h, h.getModelStatus())
    info = h.getInfo()
    values = None
    objective = None
    bound = None
    if status.has_solution:
        values = np.array(h.getSolution().col_value, dtype=float)
        objective = float(info.objective_function_value)
        if relax or not model.integer.any():
            bound = objective if status == Status.optimal else None
        else:
            bound = float(info.mip_dual_bound)
            if not np.isfinite(bound):
                bound = None
    elif status == Status.time_limit_no_solution and model.integer.any():
        b = float(info.mip_dual_bound)
        bound = b if np.isfinite(b) else None
    message = str(h.modelStatusToString(h.getModelStatus()))
    if values is not None and objective is not None:
        actual = float(np.dot(c, values) + off)
        if abs(actual - objective) > 1e-6 * max(1.0, abs(actual)):
            # Seen with highspy 1.16 on a nightly model warm-started from a feasible
            # assignment: HiGHS returned the start's values but reported a lower objective and
            # a bound below the true optimum, "Optimal". Such an answer proves nothing: solve
            # again without the start, or keep the values with no claim and no bound.
            if warm_start is not None and not relax:
                left = options.time_limit - (time.perf_counter() - t0)
                if left > 0.05:
                    from dataclasses import replace

                    again = solve(model, replace(options, time_limit=left), cost=cost,
                                  offset=offset, relax=relax)
                    return replace(again, runtime_s=time.perf_counter() - t0,
                                   message=again.message + " (re-solved without the MIP start:"
                                   f" HiGHS reported {objective:.6g} for values worth"
                                   f" {actual:.6g})")
            return MatrixSolve(Status.feasible, values, actual, None, time.perf_counter() - t0,
                               message=f"{message}; HiGHS reported objective {objective:.6g} for"
                                       f" values worth {actual:.6g}: no bound claimed")
    return MatrixSolve(status, values, objective, bound, time.perf_counter() - t0,
                       message=message)
