"""PuLP backend: the same matrices as a PuLP model, solved by CBC (or HiGHS through PuLP).

CBC's best bound is not exposed by PuLP, so it is read from CBC's own log.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import warnings

import numpy as np

from allocator.core.result import Status
from allocator.exact.base import MatrixSolve, SolverOptions
from allocator.exact.model import MatrixModel


def available(solver: str = "cbc") -> bool:
    import pulp

    name = "PULP_CBC_CMD" if solver == "cbc" else "HiGHS"
    return name in pulp.listSolvers(onlyAvailable=True)


def to_pulp(model: MatrixModel, cost: np.ndarray, relax: bool = False):
    """The matrix model as a pulp.LpProblem (the constant offset is left out)."""
    import pulp

    prob = pulp.LpProblem("allocation", pulp.LpMinimize)
    # PuLP >= 3.3 attaches variables to the problem (LpVariable(...) is deprecated there)
    make = prob.add_variable if hasattr(prob, "add_variable") else pulp.LpVariable
    xs = [
        make(
            f"v{j}",
            lowBound=float(model.col_lo[j]),
            upBound=None if np.isinf(model.col_hi[j]) else float(model.col_hi[j]),
            cat=pulp.LpInteger if (model.integer[j] and not relax) else pulp.LpContinuous,
        )
        for j in range(model.n_cols)
    ]
    nz = np.nonzero(cost)[0]
    prob += pulp.LpAffineExpression([(xs[j], float(cost[j])) for j in nz])
    A = model.A
    for i in range(model.n_rows):
        s, e = A.indptr[i], A.indptr[i + 1]
        expr = pulp.LpAffineExpression(
            [(xs[j], float(v)) for j, v in zip(A.indices[s:e], A.data[s:e], strict=True)]
        )
        lo, hi = model.row_lo[i], model.row_hi[i]
        if lo == hi:
            prob += expr == float(lo), f"r{i}"
        else:
            if np.isfinite(hi):
                prob += expr <= float(hi), f"r{i}u"
            if np.isfinite(lo):
                prob += expr >= float(lo), f"r{i}l"
    return prob, xs


_CBC_RESULT = re.compile(r"^Result - (.*)$", re.M)
_CBC_OBJ = re.compile(r"^Objective value:\s+(\S+)", re.M)
_CBC_LB = re.compile(r"^Lower bound:\s+(\S+)", re.M)


def _bundled_cbc(**kwargs):
    import pulp

    return pulp.PULP_CBC_CMD(**kwargs)


def _read_log(log: str | None) -> str:
    """The CBC log's text (the file is removed)."""
    if log is None or not os.path.exists(log):
        return ""
    with open(log) as fh:
        text = fh.read()
    os.unlink(log)
    return text


def solve(
    model: MatrixModel,
    options: SolverOptions,
    *,
    solver: str = "cbc",
    cost: np.ndarray | None = None,
    offset: float | None = None,
    warm_start: np.ndarray | None = None,
    relax: bool = False,
    retried: bool = False,
) -> MatrixSolve:
    """Solve with CBC (``solver="cbc"``) or HiGHS (``solver="highs"``) through PuLP."""
    import pulp

    t0 = time.perf_counter()
    c = model.c if cost is None else cost
    off = model.offset if offset is None else offset
    prob, xs = to_pulp(model, np.asarray(c, dtype=float), relax)
    if warm_start is not None:
        start = np.clip(np.asarray(warm_start, dtype=float), model.col_lo, model.col_hi)
        for var, val in zip(xs, start, strict=True):
            var.setInitialValue(float(round(val)) if var.cat == pulp.LpInteger else float(val))
    log = None
    if solver == "cbc":
        fd, log = tempfile.mkstemp(suffix=".log", prefix="cbc")
        os.close(fd)
        with warnings.catch_warnings():
            # PuLP 3.3 deprecates its bundled CBC in favour of a separate install; it is still
            # the CBC that every fresh install has, so keep it (and keep the output quiet)
            warnings.simplefilter("ignore", DeprecationWarning)
            backend = _bundled_cbc(
                msg=False, timeLimit=max(1.0, options.time_limit),
                gapRel=options.gap, gapAbs=1e-9, threads=options.threads,
                warmStart=warm_start is not None, logPath=log,
                # CBC 2.10.3 (the build PuLP ships) proves wrong optima on some of our small models
                # with its preprocessing on (seen on random brute-force instances, cf. coin-or/Cbc
                # #283); without it every brute-force comparison agrees.
                options=(["preprocess off"] if not retried else [])
                + [f"randomSeed {options.seed + 1}", f"randomCbcSeed {options.seed + 1}"],
            )
    else:
        from allocator.exact.highs import quiet_banner, ready_scheduler

        quiet_banner()
        if options.threads:
            ready_scheduler(options.threads)
        backend = pulp.HiGHS(msg=bool(options.verbose), timeLimit=options.time_limit,
                             gapRel=options.gap, threads=options.threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            prob.solve(backend)
    except pulp.PulpSolverError as exc:
        # Without preprocessing, CBC writes no solution file when it finds the problem
        # infeasible while tightening bounds; ask again with its defaults, which report it.
        _read_log(log)
        if solver == "cbc" and not retried:
            return solve(model, options, solver=solver, cost=cost, offset=offset,
                         warm_start=warm_start, relax=relax, retried=True)
        return MatrixSolve(Status.error, None, None, None, time.perf_counter() - t0, str(exc))
    runtime = time.perf_counter() - t0
    text = _read_log(log)
    if options.verbose and text:
        print(text, file=sys.stderr)
    has_solution = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    values = None
    objective = None
    if has_solution:
        values = np.array([v.varValue if v.varValue is not None else 0.0 for v in xs])
        objective = float(np.dot(c, values) + off)
    bound = None
    if prob.status == pulp.LpStatusInfeasible or prob.sol_status == pulp.LpSolutionInfeasible:
        status = Status.infeasible
    elif prob.sol_status == pulp.LpSolutionOptimal:
        status = Status.optimal
        bound = objective
    elif has_solution:
        status = Status.feasible
    else:
        status = Status.time_limit_no_solution
    if solver == "cbc" and text:
        m = _CBC_RESULT.search(text)
        message = m.group(1) if m else ""
        lb = _CBC_LB.search(text)
        if status == Status.feasible and lb:
            bound = float(lb.group(1)) + off
        if "infeasible" in message.lower():
            status, values, objective, bound = Status.infeasible, None, None, None
        elif status == Status.optimal and "Optimal" not in message and lb:
            status = Status.feasible
            bound = float(lb.group(1)) + off
    elif solver != "cbc" and status.has_solution and not relax:
        try:
            b = float(backend.solverModel.getInfo().mip_dual_bound) + 0.0
            bound = b + off if np.isfinite(b) else bound
        except AttributeError:
            pass
    else:
        message = ""
    return MatrixSolve(status, values, objective, bound, runtime,
                       message=pulp.LpStatus.get(prob.status, ""))
