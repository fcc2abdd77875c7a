"""Large neighbourhood search: re-optimise a few hundred needs exactly with a MIP.

All needs outside the neighbourhood keep their pairs; the rows keep what those use. Inside, the
sub-problem chooses each need's pair (or unmet) with every row it touches, and the exact block
funding of every holder the neighbourhood touches: a fundable pair chosen in the neighbourhood
gets a funded quantity b <= q * x; the fixed needs' fundable pairs in the holder, grouped by
price, may be funded too; block-only pairs and all funding share the holder's volume.

:func:`sub_problem` writes that as arrays; a backend solves it:

* ``"cp-sat"`` (the default, ``SearchOptions.backend``): OR-Tools CP-SAT, in integers: row
  weights scaled by ``ROW_SCALE`` and rounded up, residual capacities rounded down, so every
  answer is feasible in exact arithmetic;
* ``"highs"``: OR-Tools' linear solver wrapper with its bundled HiGHS MIP (the LP relaxation
  of these assignment problems is tight, so branch and bound closes them fast).

Either way the caller re-evaluates the answer exactly and keeps it only if it is no worse, so
tolerances can never let an infeasible or worse assignment in.

This module imports OR-Tools: it runs only in the search's child process, never next to
highspy (the two cannot share a process).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import numpy as np

from allocator.heuristic.data import SearchData
from allocator.heuristic.state import Assignment, funding

ROW_SCALE = 10_000  # data are given to 4 decimals at most (q to the quarter, tf 1.1 / 1.25)
MAX_OBJ_SCALE = 1e6
OBJ_BUDGET = 1e17  # keep CP-SAT's scaled objective far from int64 limits
BACKENDS = ("highs", "cp-sat")


@dataclass(frozen=True)
class SubProblem:
    """min x_cost.x + b_cost.b  s.t. at most one x per need, rows <= rhs, 0 <= b <= b_cap.

    Columns: x (binary, one per pair of the neighbourhood), then b (continuous, one per
    holder and price level: the quantity funded at that price). Rows (CSR, over all columns)
    are the capacity rows the neighbourhood can fill, the holders' volumes, and per b column
    ``b - sum of q x over its pairs <= funded-able quantity of the fixed needs``.
    """

    needs: np.ndarray
    pairs: np.ndarray  # x columns
    local: np.ndarray  # neighbourhood position of each x column's need
    x_cost: np.ndarray
    b_cost: np.ndarray
    b_cap: np.ndarray
    row_start: np.ndarray  # CSR over rows: columns row_cols[row_start[i]:row_start[i+1]]
    row_cols: np.ndarray
    row_vals: np.ndarray
    row_rhs: np.ndarray
    row_scaled: np.ndarray  # rows in quantities (scaled for CP-SAT), not link rows
    x_hint: np.ndarray
    b_hint: np.ndarray

    @property
    def n_x(self) -> int:
        return len(self.pairs)


@dataclass(frozen=True)
class SubResult:
    status: str  # "optimal", "feasible", "none"
    new: np.ndarray | None  # search pair per neighbourhood need, -1 unmet
    wall_s: float


def _pairs_of(data: SearchData, needs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = data.need_start[needs + 1] - data.need_start[needs]
    pairs = (np.repeat(data.need_start[needs], counts)
             + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    return pairs, np.repeat(np.arange(len(needs)), counts)


def sub_problem(state: Assignment, needs: np.ndarray) -> SubProblem:
    """The neighbourhood ``needs`` (distinct) as a :class:`SubProblem`."""
    d = state.data
    needs = np.asarray(needs, dtype=np.int64)
    pairs, local = _pairs_of(d, needs)
    nx = len(pairs)
    cur = state.chosen[needs]
    cur_on = cur[cur >= 0]
    fixed_load = state.load.copy()
    np.subtract.at(fixed_load, d.pair_rows[cur_on].ravel(), d.pair_w[cur_on].ravel())
    in_sub = np.zeros(d.n_needs, dtype=bool)
    in_sub[needs] = True
    is_cur = state.chosen[needs[local]] == pairs

    # holders the neighbourhood touches that have fundable pairs
    touched = np.unique(d.pair_touch[pairs]) if nx else np.zeros(0, dtype=np.int64)
    touched = touched[touched >= 0]
    touched = touched[d.holder_start[touched + 1] > d.holder_start[touched]]
    fund = funding(d, state.chosen, state.load, touched)
    is_touched = np.zeros(d.n_holders + 1, dtype=bool)
    is_touched[touched] = True

    # b columns: one per (holder, price) level among the touched holders' chosen-able pairs
    fj = np.nonzero((d.pair_holder[pairs] >= 0) & is_touched[d.pair_holder[pairs]])[0]
    if len(touched):
        hp = np.concatenate([d.holder_pairs[d.holder_start[h]:d.holder_start[h + 1]]
                             for h in touched])
        fixed = hp[(state.chosen[d.pair_need[hp]] == hp) & ~in_sub[d.pair_need[hp]]]
    else:
        fixed = np.zeros(0, dtype=np.int64)
    key_h = np.r_[d.pair_holder[pairs[fj]], d.pair_holder[fixed]]
    key_p = np.r_[d.pair_price[pairs[fj]], d.pair_price[fixed]]
    if len(key_h):
        levels, inv = np.unique(np.stack([key_h, key_p]), axis=1, return_inverse=True)
        inv = inv.ravel()
    else:
        levels, inv = np.zeros((2, 0)), np.zeros(0, dtype=np.int64)
    nb = levels.shape[1]
    b_holder = levels[0].astype(np.int64)
    inv_sub, inv_fixed = inv[:len(fj)], inv[len(fj):]
    fixed_q = np.bincount(inv_fixed, weights=d.pair_q[fixed], minlength=nb)
    sub_q = np.bincount(inv_sub, weights=d.pair_q[pairs[fj]], minlength=nb)
    b_hint = np.bincount(inv_fixed, weights=fund[d.pair_need[fixed]], minlength=nb).astype(float)
    b_hint += np.bincount(inv_sub, weights=np.where(is_cur[fj], fund[needs[local[fj]]], 0.0),
                          minlength=nb)

    # capacity rows: the x entries of every row the neighbourhood touches, b on holder rows
    slot_rows = d.pair_rows[pairs]
    real = slot_rows < d.n_rows
    r_x = slot_rows[real].astype(np.int64)
    c_x = np.broadcast_to(np.arange(nx)[:, None], slot_rows.shape)[real]
    v_x = d.pair_w[pairs][real]
    r_b = d.holder_row[b_holder]
    keep_b = r_b < d.n_rows
    rows = np.r_[r_x, r_b[keep_b]]
    cols = np.r_[c_x, nx + np.arange(nb)[keep_b]]
    vals = np.r_[v_x, np.ones(int(keep_b.sum()))]
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    used, first = np.unique(rows, return_index=True)
    rhs = np.maximum(d.row_cap[used] - fixed_load[used], 0.0)
    tot = np.add.reduceat(vals, first) if len(first) else np.zeros(0)
    holder_row = np.zeros(d.n_rows + 1, dtype=bool)
    holder_row[d.holder_row[touched]] = True
    keep = (tot > rhs * (1 + 1e-12)) | holder_row[used]  # the others cannot bind here
    kept_of = np.cumsum(keep) - 1
    # an array of positions (rows is an array; numpy's stubs pick the scalar overload)
    pos = cast(np.ndarray, np.searchsorted(used, rows))
    m = keep[pos]
    cap_rows = kept_of[pos[m]]
    cap_cols, cap_vals = cols[m], vals[m]
    n_cap = int(keep.sum())
    # link rows: b_g - sum q x over the level's neighbourhood pairs <= fixed quantity
    link_rows = n_cap + np.r_[np.arange(nb), inv_sub]
    link_cols = np.r_[nx + np.arange(nb), fj]
    link_vals = np.r_[np.ones(nb), -d.pair_q[pairs[fj]]]
    all_rows = np.r_[cap_rows, link_rows].astype(np.int64)
    all_cols = np.r_[cap_cols, link_cols].astype(np.int64)
    all_vals = np.r_[cap_vals, link_vals]
    order = np.lexsort((all_cols, all_rows))
    row_start = np.searchsorted(all_rows[order], np.arange(n_cap + nb + 1))

    return SubProblem(
        needs=needs, pairs=pairs, local=local,
        x_cost=d.pair_cost[pairs] - d.unmet_cost[needs[local]],
        b_cost=-levels[1], b_cap=fixed_q + sub_q,
        row_start=row_start.astype(np.int64), row_cols=all_cols[order],
        row_vals=all_vals[order], row_rhs=np.r_[rhs[keep], fixed_q],
        row_scaled=np.r_[np.ones(n_cap, dtype=bool), np.zeros(nb, dtype=bool)],
        x_hint=is_cur.astype(float), b_hint=b_hint,
    )


def solve_neighbourhood(state: Assignment, needs: np.ndarray, *, effort: float, seed: int,
                        backend: str = "cp-sat", deadline: float | None = None) -> SubResult:
    """Re-optimise ``needs`` (distinct); does not change ``state``.

    Parameters
    ----------
    state
        The current assignment.
    needs
        The neighbourhood.
    effort
        Work limit: HiGHS branch-and-bound nodes / 100, or CP-SAT deterministic seconds.
        Work limits, unlike wall time, make the search reproducible.
    seed
        The solver's random seed.
    backend
        One of :data:`BACKENDS`.
    deadline
        A :func:`time.monotonic` instant the solve must not run past (it only binds near the
        end of the search, where the result then depends on the machine's speed).
    """
    t0 = time.monotonic()
    sub = sub_problem(state, needs)
    if sub.n_x == 0:
        return SubResult("optimal", np.full(len(sub.needs), -1, dtype=np.int64), 0.0)
    wall = None if deadline is None else max(0.01, deadline - time.monotonic())
    if backend == "highs":
        status, xv = _solve_linear(sub, effort, seed, wall)
    elif backend == "cp-sat":
        status, xv = _solve_cpsat(sub, effort, seed, wall)
    else:
        raise ValueError(f"unknown LNS backend {backend!r}; choose one of {BACKENDS}")
    wall = time.monotonic() - t0
    if xv is None:
        return SubResult("none", None, wall)
    new = np.full(len(sub.needs), -1, dtype=np.int64)
    on = xv > 0.5
    new[sub.local[on]] = sub.pairs[on]
    return SubResult(status, new, wall)


def _solve_linear(sub: SubProblem, effort: float, seed: int, wall: float | None
                  ) -> tuple[str, np.ndarray | None]:
    """HiGHS (bundled with OR-Tools) through MathOpt; work limit in branch-and-bound nodes."""
    import scipy.sparse as sp

    from allocator.heuristic.mathopt import solve_matrix

    nx, nb = sub.n_x, len(sub.b_cost)
    starts = np.searchsorted(sub.local, np.arange(len(sub.needs) + 1))
    multi = np.nonzero(np.diff(starts) > 1)[0]
    r_need = np.repeat(np.arange(len(multi)), np.diff(starts)[multi])
    c_need = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in multi]) \
        if len(multi) else np.zeros(0, dtype=np.int64)
    n_cap = len(sub.row_rhs)
    r_cap = len(multi) + np.repeat(np.arange(n_cap), np.diff(sub.row_start))
    A = sp.csr_matrix((np.r_[np.ones(len(c_need)), sub.row_vals],
                       (np.r_[r_need, r_cap], np.r_[c_need, sub.row_cols])),
                      shape=(len(multi) + n_cap, nx + nb))
    ans = solve_matrix(np.r_[sub.x_cost, sub.b_cost], A, np.r_[np.ones(len(multi)), sub.row_rhs],
                       np.r_[np.ones(nx), sub.b_cap],
                       integer=np.r_[np.ones(nx, dtype=bool), np.zeros(nb, dtype=bool)],
                       time_limit=wall, node_limit=max(1, int(effort * 100)), seed=seed,
                       hint=np.r_[sub.x_hint, sub.b_hint])
    if ans.x is None:
        return "none", None
    return ans.status, ans.x[:nx]


def _solve_cpsat(sub: SubProblem, effort: float, seed: int, wall: float | None
                 ) -> tuple[str, np.ndarray | None]:
    """CP-SAT in integers: quantities scaled by ROW_SCALE (b too), x weights rounded up."""
    from ortools.sat.python import cp_model

    nx, nb = sub.n_x, len(sub.b_cost)
    total = float(np.abs(sub.x_cost).sum() + np.abs(sub.b_cost * sub.b_cap).sum())
    obj_scale = min(MAX_OBJ_SCALE, OBJ_BUDGET / max(total, 1.0))
    m = cp_model.CpModel()
    x = [m.new_bool_var("") for _ in range(nx)]
    bcap = np.floor(sub.b_cap * ROW_SCALE + 1e-6).astype(np.int64)
    b = [m.new_int_var(0, int(c), "") for c in bcap]
    cols = x + b
    starts = np.searchsorted(sub.local, np.arange(len(sub.needs) + 1))
    for i in range(len(sub.needs)):
        lo, hi = starts[i], starts[i + 1]
        if hi - lo > 1:
            m.add_at_most_one(x[lo:hi])
    for i in range(len(sub.row_rhs)):
        lo, hi = sub.row_start[i], sub.row_start[i + 1]
        cs = sub.row_cols[lo:hi]
        v = sub.row_vals[lo:hi]
        # x weights: rounded up on capacity rows, down (b may take less) on link rows
        xw = np.ceil(v * ROW_SCALE - 1e-6) if sub.row_scaled[i] else \
            -np.floor(-v * ROW_SCALE + 1e-6)
        coef = np.where(cs < nx, xw, 1).astype(np.int64)
        rhs = int(np.floor(sub.row_rhs[i] * ROW_SCALE + 1e-6))
        m.add(cp_model.LinearExpr.weighted_sum([cols[c] for c in cs],
                                               [int(c) for c in coef]) <= rhs)
    coefs = np.r_[np.round(sub.x_cost * obj_scale),
                  np.round(sub.b_cost * obj_scale / ROW_SCALE)].astype(np.int64)
    nz = np.nonzero(coefs)[0]
    m.minimize(cp_model.LinearExpr.weighted_sum([cols[j] for j in nz],
                                                [int(coefs[j]) for j in nz]))
    for j in range(nx):
        m.add_hint(x[j], bool(sub.x_hint[j] > 0.5))
    for j in range(nb):
        m.add_hint(b[j], int(np.floor(sub.b_hint[j] * ROW_SCALE + 1e-6)))
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.num_workers = 1
    prm.max_deterministic_time = float(effort)
    if wall is not None:
        prm.max_time_in_seconds = float(wall)
    prm.random_seed = int(seed) % (2**31 - 1)
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "none", None
    xv = np.array([solver.boolean_value(v) for v in x], dtype=float)
    return ("optimal" if status == cp_model.OPTIMAL else "feasible"), xv
