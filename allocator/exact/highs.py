"""HiGHS backend: the matrices handed straight to highspy (no modelling layer in between)."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

from allocator.core import progress
from allocator.core.result import Status
from allocator.exact.base import MatrixSolve, SolverOptions
from allocator.exact.model import MatrixModel

NAME = "highs"


_QUIET: list[bool] = []  # set once the banner has been swallowed in this process


def quiet_banner() -> None:
    """Let HiGHS print its start-up banner, once per process, into /dev/null.

    highspy 1.16 prints ``Running HiGHS ...`` on file descriptor 1 the first time a ``Highs``
    object is created, whatever ``output_flag`` says afterwards; on our standard output it
    breaks ``--json``. The C library's buffer is flushed before fd 1 is given back, so that
    nothing of it comes out later. Call it before any ``Highs()`` (PuLP's too).
    """
    if _QUIET:
        return
    import highspy

    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no fd 1 at all: nothing to protect
        highspy.Highs()
        _QUIET.append(True)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
        try:
            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError):  # pragma: no cover - no C library to flush
            pass
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    _QUIET.append(True)


# The thread count HiGHS's scheduler was last started with, per thread: HiGHS keeps its
# executor per calling thread (a reset in the portfolio's MIP thread left the main thread's
# two-thread scheduler in place, and a one-thread solve there then did not run at all)
_SCHEDULER = threading.local()
_SCHEDULER_LOCK = threading.Lock()


def set_threads(h, threads: int | None) -> None:  # type: ignore[no-untyped-def]
    """Set HiGHS's ``threads`` option, restarting its global scheduler when it must.

    HiGHS starts one thread pool per calling thread, sized by that thread's first solve; a
    later solve there whose ``threads`` differs does not run at all (model status "Not Set").
    That made a design comparison followed by single-threaded recourse solves fail in the same
    process, and a one-thread solve after ``auto`` (whose MIP runs in a thread of its own).
    The pool is restarted (blocking until its threads are idle) when the count this thread
    last set differs.
    """
    if not threads:
        return
    ready_scheduler(threads)
    h.setOptionValue("threads", int(threads))


def ready_scheduler(threads: int) -> None:
    """Restart HiGHS's global thread pool when it was started with another count than
    ``threads`` (see :func:`set_threads`). For solves that set the option themselves: PuLP's
    HiGHS did not run at all ("the scheduler has already been initialized to use 2 threads",
    status Not Solved) after a two-thread HiGHS solve in the same process."""
    import highspy

    n = int(threads)
    with _SCHEDULER_LOCK:
        if getattr(_SCHEDULER, "threads", None) != n:
            highspy.Highs.resetGlobalScheduler(True)
            _SCHEDULER.threads = n


def new_highs(verbose: bool = False):  # type: ignore[no-untyped-def]
    """A ``highspy.Highs`` that prints nothing unless ``verbose`` (banner included)."""
    import highspy

    quiet_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    return h


def _report_progress(h) -> None:  # type: ignore[no-untyped-def]
    """Pass HiGHS's MIP progress (best objective, bound) to :mod:`allocator.core.progress`:
    every improving solution, and the bound at most twice a second."""
    last = [-1.0]

    def send(event, always: bool) -> None:  # type: ignore[no-untyped-def]
        out = event.data_out
        if not always and out.running_time - last[0] < 0.5:
            return
        last[0] = out.running_time
        primal, dual = float(out.mip_primal_bound), float(out.mip_dual_bound)
        progress.report(out.running_time, primal if np.isfinite(primal) else None,
                        dual if np.isfinite(dual) else None, "highs")

    try:
        h.cbMipImprovingSolution.subscribe(lambda e: send(e, True))
        h.cbMipInterrupt.subscribe(lambda e: send(e, False))
    except AttributeError:  # an older highspy without these callbacks: no live progress
        pass


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
    # kHighsInterrupt exists at runtime but highspy's stubs do not declare it
    if model_status in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt,
                        S.kHighsInterrupt,  # type: ignore[attr-defined]
                        S.kObjectiveBound, S.kObjectiveTarget,
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



def misreported(c: np.ndarray, offset: float, values: np.ndarray,
                objective: float) -> float | None:
    """What ``values`` are worth when HiGHS reported another ``objective`` for them (beyond
    1e-6 relative), else None. highspy 1.16, warm-started, may hand back the start's values
    with a lower objective than they are worth and call it optimal; both HiGHS paths
    (:func:`solve` and :func:`allocator.heuristic.mip.solve_fed`) check with this."""
    actual = float(np.dot(c, values) + offset)
    return actual if abs(actual - objective) > 1e-6 * max(1.0, abs(actual)) else None

_STOP = threading.local()


class stopped_when:
    """Within this block, a HiGHS MIP solved on this thread also stops (as at its time
    limit, with its incumbent and bound) once ``predicate()`` is true, checked from HiGHS's
    interrupt callback. Used where another process may prove the same optimum first."""

    def __init__(self, predicate: Callable[[], bool]) -> None:
        self.predicate = predicate

    def __enter__(self) -> stopped_when:
        self.outer = getattr(_STOP, "predicate", None)
        _STOP.predicate = self.predicate
        return self

    def __exit__(self, *exc: object) -> None:
        _STOP.predicate = self.outer


def solve(
    model: MatrixModel,
    options: SolverOptions,
    *,
    cost: np.ndarray | None = None,
    offset: float | None = None,
    warm_start: np.ndarray | None = None,
    relax: bool = False,
    on_solution: Callable[[np.ndarray], None] | None = None,
) -> MatrixSolve:
    """Solve ``model`` (or its LP relaxation) with HiGHS.

    ``cost``/``offset`` replace the objective (used by the lexicographic first phase).
    ``on_solution`` (a MIP only) is called with the column values of every improving
    solution HiGHS finds, while it runs (from HiGHS's callback: keep it short).
    """
    import highspy

    t0 = time.perf_counter()
    h = new_highs(options.verbose)
    h.setOptionValue("time_limit", float(max(options.time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", float(options.gap))
    h.setOptionValue("random_seed", int(options.seed))
    set_threads(h, options.threads)
    c = model.c if cost is None else cost
    off = model.offset if offset is None else offset
    lp = highs_lp(highspy, cost=c, A=model.A, col_lo=model.col_lo, col_hi=model.col_hi,
                  row_lo=model.row_lo, row_hi=model.row_hi, offset=off,
                  integer=None if relax else model.integer)
    h.passModel(lp)
    if progress.active() and not relax:
        _report_progress(h)
    if on_solution is not None and not relax and model.integer.any():
        h.cbMipImprovingSolution += lambda event: on_solution(
            np.array(event.data_out.mip_solution, dtype=float))
    if warm_start is not None and not relax:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.asarray(warm_start, dtype=float))
        sol.value_valid = True
        h.setSolution(sol)
    deadline_of_run = t0 + float(max(options.time_limit, 0.01))
    if not relax and model.integer.any():
        # HiGHS checks its time limit between phases, not during root cut rounds (seen: 70 s
        # over on a county); the MIP interrupt callback stops it at the deadline as well
        deadline = deadline_of_run
        halt = getattr(_STOP, "predicate", None)

        def interrupt(event) -> None:
            if time.perf_counter() >= deadline or (halt is not None and halt()):
                event.interrupt()

        h.cbMipInterrupt += interrupt
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kModelEmpty:
        # no columns (a night with no needs: only the block term, a constant). HiGHS reports
        # an objective of 0 there, without the offset; the answer is the offset, proven
        n = model.A.shape[1]
        return MatrixSolve(Status.optimal, np.zeros(n), float(off), float(off),
                           time.perf_counter() - t0, message="Empty (no columns: the constant "
                           "terms alone)")
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
    if message == "Interrupted by user":
        # our callback stopped it, at the deadline or because another process answered first
        message = ("Time limit reached (stopped at the deadline)"
                   if time.perf_counter() >= deadline_of_run
                   else "Stopped early: answered elsewhere")
    if values is not None and objective is not None:
        actual = misreported(c, off, values, objective)
        if actual is not None:
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
