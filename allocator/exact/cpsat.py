"""CP-SAT (OR-Tools) on the plain model of DESIGN.md section 4: a peer solver for benchmarks.

This is *not* the heuristic of ``allocator.heuristic``: it hands the whole allocation model to
CP-SAT as it stands, so that the benchmark harness can compare our algorithm with a third
general-purpose solver besides HiGHS and CBC (issue 4).

The capacity rows are those of the exact model (:func:`allocator.exact.model.build`, the one
builder of the rows), read from its matrix by kind. CP-SAT needs integer data, so the model
is scaled first (:func:`scale`, plain numpy, no OR-Tools):

* **Costs** are multiplied by ``cost_scale`` = the smallest power of ten up to 10**4 that makes
  every cost coefficient integral (prices and quantities with two decimals give 10**4), and
  rounded *down* when no such power exists. Rounding down keeps CP-SAT's bound, divided back by
  ``cost_scale``, a valid lower bound on the true objective.
* **Capacity rows** (offer, provider, market share, block volume) are multiplied by the
  smallest power of ten up to 10**6 that makes their coefficients and right-hand sides
  integral. If none does, coefficients are rounded *up* and right-hand sides *down*: every
  solution CP-SAT returns is then still feasible, but the scaled model is a restriction, so
  its bound is not a proven bound of the original problem and is not reported (``bound`` is
  None and ``extra["exact"]`` is False).
* **Block funding** b[n,o] (a continuous fraction in the model) becomes an integer number of
  quantity units of 1 / ``quantity_scale`` of an hour or bed. When quantities and volumes are
  integral at that scale (``exact``), the best funding of any assignment is reachable, because
  the fractional-knapsack optimum only breaks at multiples of the quantities and the volume.
* The unmet variable u[n] is eliminated: u[n] = 1 - sum_o x[n,o], and its penalty is folded
  into the pair costs and a constant.

Whatever the scaling, the objective reported is the **exact** one: the chosen assignment is
re-evaluated with :func:`allocator.core.evaluate.evaluate` (the optimal block funding of that
assignment, all five terms), never read back from CP-SAT. CP-SAT's own bound is reported (after
division by ``cost_scale``) only when the scaling of the constraints was exact.

OR-Tools cannot share a process with highspy, so :func:`solve` runs CP-SAT in a spawned child
process; this module imports OR-Tools only inside that child.
Only the allocation model is supported (no design bids, no scenarios): a design-mode problem is
refused before anything starts.
"""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from allocator.core.result import Result, Status
from allocator.exact.model import build

if TYPE_CHECKING:  # the child process imports this module: keep pandas and pydantic out of it
    from allocator.core.problem import Problem

NAME = "cpsat"
MAX_COST_SCALE = 10**4
MAX_ROW_SCALE = 10**6
_INT_TOL = 1e-9


def available() -> bool:
    """Whether OR-Tools is installed (checked without importing it)."""
    return importlib.util.find_spec("ortools") is not None


def _power_scale(values: np.ndarray, limit: int) -> tuple[int, bool]:
    """Smallest power of ten <= ``limit`` making ``values`` integral, and whether one exists."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    s = 1
    while True:
        sv = v * s
        if np.all(np.abs(sv - np.round(sv)) <= _INT_TOL * np.maximum(1.0, np.abs(sv))):
            return s, True
        if s >= limit:
            return s, False
        s *= 10


def _up(v: np.ndarray) -> np.ndarray:
    """Round up, treating values within tolerance of an integer as that integer."""
    r = np.round(v)
    return np.where(np.abs(v - r) <= _INT_TOL * np.maximum(1.0, np.abs(v)), r, np.ceil(v)).astype(
        np.int64)


def _down(v: np.ndarray) -> np.ndarray:
    r = np.round(v)
    return np.where(np.abs(v - r) <= _INT_TOL * np.maximum(1.0, np.abs(v)), r, np.floor(v)).astype(
        np.int64)


@dataclass(frozen=True, eq=False)
class ScaledModel:
    """The allocation model in integers, ready for CP-SAT (picklable, no OR-Tools objects).

    Variables: one boolean per eligible pair (x), one integer per block-fundable pair (B, in
    units of 1 / ``quantity_scale`` of the need's quantity unit). Every row is
    ``sum coef * var <= rhs`` over a slice ``row_start[r]:row_start[r + 1]`` of ``row_var``
    (x columns are 0..n_pairs-1, B columns follow).
    """

    n_needs: int
    pair_need: np.ndarray
    pair_cost: np.ndarray  # int64, scaled, unmet penalty folded in
    pair_unmet_saving: np.ndarray  # int64, scaled penalty * quantity (lexicographic phase 1)
    b_pair: np.ndarray  # pair of each B variable
    b_max: np.ndarray  # upper bound of each B variable (quantity units)
    b_cost: np.ndarray  # int64 cost per unit of B (<= 0)
    row_start: np.ndarray
    row_var: np.ndarray
    row_coef: np.ndarray
    row_rhs: np.ndarray
    constant: int  # scaled constant (floor)
    constant_exact: float  # unscaled constant: block cost + transfer constant + all unmet
    unmet_total: int  # scaled sum of penalty * quantity over all needs
    cost_scale: int
    row_scale: int
    quantity_scale: int
    exact: bool  # constraint scaling exact: CP-SAT's bound is a bound of the original

    @property
    def n_pairs(self) -> int:
        return len(self.pair_need)


def scale(problem: Problem) -> ScaledModel:
    """Scale the allocation model of ``problem`` to integers (see the module docstring)."""
    p = problem
    nP = p.n_pairs
    unmet_pq = p.need_penalty * p.need_q
    # u[n] = 1 - sum x: its penalty becomes a constant minus a saving on every pair of n
    cost = p.pair_cost_x - p.transfer_penalty * p.pair_is_current - unmet_pq[p.pair_need]
    constant = p.fixed_block_cost + p.transfer_constant + float(unmet_pq.sum())
    bmask = (p.pair_holder >= 0) & ~p.pair_forced & (p.pair_block_saving > 0)
    b_pair = np.nonzero(bmask)[0]
    exact = True

    # quantities: B units and holder volumes
    qs, ok_q = _power_scale(np.r_[p.pair_q[b_pair], p.pair_q[p.pair_forced], p.holder_volume],
                            MAX_ROW_SCALE)
    exact &= ok_q
    b_max = _down(p.pair_q[b_pair] * qs)
    b_unit = np.divide(-p.pair_block_saving[b_pair], b_max, out=np.zeros(len(b_pair)),
                       where=b_max > 0)
    cs, _ = _power_scale(np.r_[cost, b_unit, unmet_pq], MAX_COST_SCALE)
    pair_cost = _down(cost * cs)
    b_cost = _down(b_unit * cs)

    # The capacity rows are the exact model's own (allocator.exact.model.build: one builder
    # of the rows for every backend), read from its matrix by kind: offer, provider (hours
    # offers) and market-share rows over x; block-volume rows over forced x and the funding b
    # (b a fraction of the pair's quantity there, B = b * q * quantity_scale units here).
    model = build([(p, 1.0)])
    (blk,) = model.demands
    if not np.array_equal(blk.b_pairs, b_pair):  # pragma: no cover - one mask, two places
        raise RuntimeError("CP-SAT's block-fundable pairs differ from the exact model's")
    A = model.A.tocsr()
    x_rows = model.rows_of("offer capacity", "provider capacity", "provider share")
    h_rows = model.rows_of("block volume")
    x_data = np.concatenate([A.data[A.indptr[r]:A.indptr[r + 1]] for r in x_rows]) \
        if len(x_rows) else np.zeros(0)
    rs, ok_r = _power_scale(np.r_[x_data, model.row_hi[x_rows]], MAX_ROW_SCALE)
    exact &= ok_r

    starts: list[int] = []
    var: list[np.ndarray] = []
    coef: list[np.ndarray] = []
    rhs: list[int] = []
    at = 0
    b_lo, b_hi = blk.b0, blk.b0 + len(b_pair)
    h_set = set(h_rows.tolist())
    for r in np.r_[x_rows, h_rows].astype(np.int64):
        cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
        vals = A.data[A.indptr[r]:A.indptr[r + 1]]
        is_b = (cols >= b_lo) & (cols < b_hi)
        factor = qs if r in h_set else rs
        v = np.where(is_b, 1, _up(vals * factor)).astype(np.int64)
        c = np.where(is_b, nP + cols - b_lo, cols - blk.x0).astype(np.int64)
        starts.append(at)
        var.append(c)
        coef.append(v)
        rhs.append(int(_down(np.array([model.row_hi[r] * factor]))[0]))
        at += len(c)
    row_start = np.r_[np.asarray(starts, dtype=np.int64), at]

    return ScaledModel(
        n_needs=p.n_needs,
        pair_need=np.asarray(p.pair_need, dtype=np.int64),
        pair_cost=pair_cost,
        pair_unmet_saving=_down(unmet_pq[p.pair_need] * cs),
        b_pair=b_pair,
        b_max=b_max,
        b_cost=b_cost,
        row_start=row_start.astype(np.int64),
        row_var=np.concatenate(var) if var else np.zeros(0, dtype=np.int64),
        row_coef=np.concatenate(coef).astype(np.int64) if coef else np.zeros(0, dtype=np.int64),
        row_rhs=np.asarray(rhs, dtype=np.int64),
        constant=int(np.floor(constant * cs + _INT_TOL * max(1.0, abs(constant * cs)))),
        constant_exact=constant,
        unmet_total=int(_down(np.array([float(unmet_pq.sum()) * cs]))[0]),
        cost_scale=cs,
        row_scale=rs,
        quantity_scale=qs,
        exact=bool(exact),
    )


# ------------------------------------------------------------------------------ child process

_PROGRESS = re.compile(r"^#(?:\d+|Bound|Done)\s+([\d.]+)s\s+best:(\S+)\s+next:\[(\S+?),")


def run_cpsat(model: ScaledModel, *, time_limit: float, gap: float, threads: int | None,
              seed: int, lexicographic: bool, verbose: bool = False) -> dict[str, Any]:
    """Build and solve the CP-SAT model (imports OR-Tools: call it in a child process only).

    Returns a plain dict: status name, chosen pair per need (-1 unmet), best bound (scaled,
    objective of the last phase), progress as (seconds, scaled objective, scaled bound) rows
    of the last phase, and the time spent building.
    """
    started = time.time()  # wall clock: comparable with the parent's
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    m = cp_model.CpModel()
    nP = model.n_pairs
    x = [m.new_bool_var(f"x{k}") for k in range(nP)]
    B = [m.new_int_var(0, int(ub), f"b{j}") for j, ub in enumerate(model.b_max)]
    cols = x + B
    order = np.argsort(model.pair_need, kind="stable")
    bounds = np.searchsorted(model.pair_need[order], np.arange(model.n_needs + 1))
    for n in range(model.n_needs):
        ks = order[bounds[n]:bounds[n + 1]]
        if len(ks) > 1:
            m.add_at_most_one([x[k] for k in ks])
    for j, k in enumerate(model.b_pair):
        m.add(B[j] <= int(model.b_max[j]) * x[int(k)])
    for r in range(len(model.row_rhs)):
        s, e = model.row_start[r], model.row_start[r + 1]
        m.add(cp_model.LinearExpr.weighted_sum([cols[v] for v in model.row_var[s:e]],
                                                [int(c) for c in model.row_coef[s:e]])
              <= int(model.row_rhs[r]))
    full = (cp_model.LinearExpr.weighted_sum(x, [int(c) for c in model.pair_cost])
            + cp_model.LinearExpr.weighted_sum(B, [int(c) for c in model.b_cost])
            + model.constant)
    build_s = time.perf_counter() - t0

    def run(objective,
            limit: float) -> tuple[Any, Any, list[tuple[float, float | None, float | None]]]:
        m.minimize(objective)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, float(limit))
        solver.parameters.relative_gap_limit = float(gap)
        solver.parameters.num_workers = int(threads) if threads else 0
        solver.parameters.random_seed = int(seed)
        solver.parameters.log_search_progress = True
        solver.parameters.log_to_stdout = bool(verbose)
        lines: list[str] = []
        solver.log_callback = lines.append
        status = solver.solve(m)
        progress: list[tuple[float, float | None, float | None]] = []
        for line in lines:
            g = _PROGRESS.match(line)
            if g:
                best, lo = float(g.group(2)), float(g.group(3))
                progress.append((float(g.group(1)), best if np.isfinite(best) else None,
                                 lo if np.isfinite(lo) else None))
        return solver, status, progress

    t1 = time.perf_counter()
    offset = 0.0
    phase1: dict[str, Any] | None = None
    if lexicographic:
        # phase 1 (clarification 6): the unmet term alone, at most half the time
        unmet = model.unmet_total - cp_model.LinearExpr.weighted_sum(
            x, [int(c) for c in model.pair_unmet_saving])
        solver, status, _ = run(unmet, time_limit / 2)
        phase1 = {"proven": status == cp_model.OPTIMAL, "runtime_s": solver.wall_time,
                  "objective": None, "bound": None}
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            phase1["objective"] = float(solver.objective_value)
            phase1["bound"] = float(solver.best_objective_bound)
            u1 = round(solver.objective_value)
            values = [solver.value(v) for v in x]
            m.add(unmet <= u1 + max(1, int(1e-6 * max(1.0, abs(u1)))))
            m.clear_hints()
            for v, val in zip(x, values, strict=True):
                m.add_hint(v, val)
        offset = time.perf_counter() - t1
    solver, status, progress = run(full, max(0.01, time_limit - (time.perf_counter() - t1)))
    names = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible",
             cp_model.INFEASIBLE: "infeasible", cp_model.MODEL_INVALID: "error",
             cp_model.UNKNOWN: "unknown"}
    name = names.get(status, "unknown")
    chosen = np.full(model.n_needs, -1, dtype=np.int64)
    if name in ("optimal", "feasible"):
        on = np.array([k for k in range(nP) if solver.boolean_value(x[k])], dtype=np.int64)
        if len(on):
            chosen[model.pair_need[on]] = on
    bound = solver.best_objective_bound if name != "infeasible" else None
    return {
        "status": name,
        "chosen": chosen,
        "bound": bound if bound is not None and np.isfinite(bound) else None,
        "progress": [(t + offset + build_s, o, b) for t, o, b in progress],
        "started": started,
        "build_s": build_s,
        "message": solver.status_name(status),
        "phase1": phase1,
    }


def _child(conn: Any, model: ScaledModel, kwargs: dict[str, Any]) -> None:
    try:
        out = run_cpsat(model, **kwargs)
    except Exception as exc:  # reported to the parent, which returns Status.error
        out = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    conn.send(out)
    conn.close()


def solve(problem: Problem, params: Any) -> Result:
    """Solve ``problem`` with CP-SAT on the plain model, in a spawned child process.

    Parameters
    ----------
    problem
        An allocation-mode problem (design bids and scenarios are refused).
    params
        A :class:`allocator.core.params.SolveParams` (``time_limit``, ``gap``, ``threads``,
        ``seed``, ``objective``, ``verbose`` are used).

    Returns
    -------
    Result
        ``solver="cpsat"``; objective and terms evaluated exactly; ``bound`` CP-SAT's bound
        divided by the cost scale when the scaling was exact, else None; ``progress`` from
        CP-SAT's log (objectives there are CP-SAT's scaled ones, divided back: approximate);
        ``extra`` holds the scales and whether they were exact.
    """
    from allocator.core.evaluate import evaluate, to_solution

    t0 = time.perf_counter()
    t0_wall = time.time()
    if problem.mode != "allocation" or problem.instance.scenarios:
        return Result(status=Status.error, solver=NAME,
                      message="cpsat solves the allocation model of DESIGN.md section 4 only "
                              "(no design bids, no scenarios)")
    if not available():
        return Result(status=Status.error, solver=NAME, message="OR-Tools is not installed")
    model = scale(problem)
    kind = params.objective or problem.objective_kind
    kwargs = dict(time_limit=float(params.time_limit), gap=float(params.gap),
                  threads=params.threads, seed=int(params.seed),
                  lexicographic=kind == "lexicographic", verbose=bool(params.verbose))
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, model, kwargs), daemon=True)
    proc.start()
    send.close()
    try:
        out = recv.recv()
    except EOFError:
        out = {"status": "error", "message": f"CP-SAT child process died (exit {proc.exitcode})"}
    proc.join()
    cs = model.cost_scale
    extra: dict[str, Any] = {"cost_scale": cs, "row_scale": model.row_scale,
             "quantity_scale": model.quantity_scale, "exact": model.exact,
             "cpsat_status": out.get("message", "")}
    bound = None
    if out.get("bound") is not None and model.exact:
        bound = out["bound"] / cs
    # log times count from the child's start: add the time it took to scale and spawn
    shift = max(0.0, out.get("started", t0_wall) - t0_wall)
    progress = tuple(
        (t + shift, None if o is None else o / cs,
         None if (b is None or not model.exact) else b / cs)
        for t, o, b in out.get("progress", []))
    runtime = time.perf_counter() - t0
    build_s = shift + out.get("build_s", 0.0)  # scaling, spawning and building the CP-SAT model
    status = out["status"]
    if status not in ("optimal", "feasible"):
        mapped = {"infeasible": Status.infeasible, "unknown": Status.time_limit_no_solution}
        return Result(status=mapped.get(status, Status.error), solver=NAME, bound=bound,
                      runtime_s=runtime, build_s=build_s, solve_s=runtime - build_s,
                      message=out.get("message", ""), progress=progress, extra=extra)
    ev = evaluate(problem, out["chosen"])
    result_status = Status.optimal if (status == "optimal" and model.exact) else Status.feasible
    message = out.get("message", "")
    if not ev.feasible:
        result_status = Status.error
        message = "solution violates: " + "; ".join(ev.violations[:5])
    if bound is not None:
        bound = min(bound, ev.objective)
    phase1 = out.get("phase1")
    if phase1 is not None:
        unmet_bound = phase1["bound"] / cs if (phase1["bound"] is not None and model.exact) \
            else None
        extra["unmet_proven"] = bool(phase1["proven"] and model.exact)
        extra["unmet_bound"] = unmet_bound
        extra["phases"] = [
            {"phase": "unmet", "status": "optimal" if extra["unmet_proven"] else "feasible",
             "objective": None if phase1["objective"] is None else phase1["objective"] / cs,
             "bound": unmet_bound, "runtime_s": phase1["runtime_s"]},
            {"phase": "full", "status": result_status.value, "objective": ev.objective,
             "bound": bound, "runtime_s": runtime - phase1["runtime_s"]},
        ]
    return Result(status=result_status, solver=NAME, objective=ev.objective, bound=bound,
                  runtime_s=runtime, terms=ev.terms, solution=to_solution(problem, ev),
                  build_s=build_s, solve_s=runtime - build_s, message=message,
                  progress=progress, extra=extra)
