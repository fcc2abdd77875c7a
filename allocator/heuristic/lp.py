"""The LP relaxation of the search data, solved with HiGHS: a bound, per component.

Imports highspy (through :mod:`allocator.exact.highs`): main process only, never next to
OR-Tools. The relaxation is the model of DESIGN.md section 4 with x in [0, 1], written over
the search rows (:mod:`.data`)::

    min  constant + sum_n unmet_n + sum_k (cost_k - unmet_n(k)) x_k - sum_k q_k price_k b_k
    s.t. sum_{k of n} x_k <= 1                          each need (the rest is unmet)
         sum_k w[k, r] x_k (+ sum_k q_k b_k) <= cap_r    each row (b on holder rows)
         b_k <= x_k,  0 <= x, b <= 1

The components of :func:`.data.components` share no row, so the LP separates over them: each
is solved on its own (smaller LPs are much faster than one big one) and the bounds add up.
A component whose LP does not finish in time contributes its Lagrangian-free fallback, the
bound where every need takes its cheapest option regardless of rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from allocator.exact.highs import new_highs
from allocator.heuristic.data import SearchData


@dataclass(frozen=True, eq=False)
class LPMatrices:
    """min c.x + offset  s.t.  A x <= row_hi,  0 <= x <= col_hi  (x integer where asked)."""

    c: np.ndarray
    A: sp.csr_matrix
    row_hi: np.ndarray
    col_hi: np.ndarray
    offset: float
    integer: np.ndarray

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]


@dataclass(frozen=True)
class LPBound:
    """The LP relaxation's value (a proven lower bound, search units) and how it was got."""

    bound: float
    exact_components: int  # components whose LP was solved to optimality
    components: int
    runtime_s: float
    duals: np.ndarray | None = None  # row prices (n_rows + 1), when every component solved


def lp_model(data: SearchData, needs: np.ndarray | None = None,
             integer: bool = False, caps: np.ndarray | None = None
             ) -> tuple[LPMatrices, np.ndarray, np.ndarray]:
    """The relaxation (or, with ``integer``, the MIP) over ``needs`` (default all).

    Returns (model, pairs of the model's x columns, rows of the model's rows). Columns are
    x (one per pair), then b (one per fundable pair); u is eliminated (constant offset).
    ``caps`` replaces the rows' capacities (a share of a row the needs share with others).
    """
    d = data
    if needs is None:
        needs = np.arange(d.n_needs)
    needs = np.asarray(needs, dtype=np.int64)
    counts = d.need_start[needs + 1] - d.need_start[needs]
    pairs = (np.repeat(d.need_start[needs], counts)
             + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    local_need = np.repeat(np.arange(len(needs)), counts)
    nx = len(pairs)
    fund = pairs[d.pair_holder[pairs] >= 0]
    fund_col = np.nonzero(d.pair_holder[pairs] >= 0)[0]
    nb = len(fund)
    # rows of the component
    slot_rows = d.pair_rows[pairs]
    real = slot_rows < d.n_rows
    hold_rows = d.holder_row[d.pair_holder[fund]] if nb else np.zeros(0, dtype=np.int64)
    used = np.unique(np.r_[slot_rows[real].astype(np.int64), hold_rows[hold_rows < d.n_rows]])
    local = np.full(d.n_rows + 1, -1, dtype=np.int64)
    local[used] = np.arange(len(used))
    nn, nr = len(needs), len(used)
    col_x = np.broadcast_to(np.arange(nx)[:, None], slot_rows.shape)
    hm = hold_rows < d.n_rows
    r_idx = np.r_[local_need, nn + local[slot_rows[real]], nn + local[hold_rows[hm]],
                  nn + nr + np.arange(nb), nn + nr + np.arange(nb)]
    c_idx = np.r_[np.arange(nx), col_x[real], nx + np.arange(nb)[hm],
                  nx + np.arange(nb), fund_col]
    vals = np.r_[np.ones(nx), d.pair_w[pairs][real], d.pair_q[fund][hm],
                 np.ones(nb), -np.ones(nb)]
    n_rows = nn + nr + nb
    A = sp.csr_matrix((vals, (r_idx, c_idx)), shape=(n_rows, nx + nb))
    cost = np.r_[d.pair_cost[pairs] - d.unmet_cost[d.pair_need[pairs]],
                 -d.pair_q[fund] * d.pair_price[fund]]
    offset = float(d.unmet_cost[needs].sum())
    model = LPMatrices(
        c=cost,
        A=A,
        row_hi=np.r_[np.ones(nn), (d.row_cap if caps is None else caps)[used], np.zeros(nb)],
        col_hi=np.ones(nx + nb),
        offset=offset,
        integer=np.r_[np.ones(nx, dtype=bool), np.zeros(nb, dtype=bool)] if integer
        else np.zeros(nx + nb, dtype=bool),
    )
    return model, pairs, used


def solve_lp(model: LPMatrices, time_limit: float, threads: int | None = 1
             ) -> tuple[float | None, np.ndarray | None, np.ndarray | None]:
    """Solve the relaxation with highspy: (optimal value or None, primal, row duals)."""
    import highspy

    from allocator.exact.highs import highs_lp, set_threads

    h = new_highs()
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    set_threads(h, threads)
    lp = highs_lp(highspy, cost=model.c, A=model.A, col_lo=np.zeros(model.n_cols),
                  col_hi=model.col_hi, row_lo=np.full(model.n_rows, -np.inf),
                  row_hi=model.row_hi, offset=model.offset)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, None, None
    sol = h.getSolution()
    value = float(h.getInfo().objective_function_value)
    return value, np.array(sol.col_value), np.array(sol.row_dual)


def lp_bound(data: SearchData, labels: np.ndarray, n_components: int, *,
             time_limit: float, max_pairs: int = 400_000, threads: int | None = 1) -> LPBound:
    """The LP bound, component by component (see the module docstring).

    Parameters
    ----------
    data
        The search data.
    labels, n_components
        From :func:`.data.components`.
    time_limit
        Seconds for all components together.
    max_pairs
        Components with more eligible pairs than this are not solved (too slow); they
        contribute the row-free bound.
    threads
        HiGHS threads (the other core runs the search).
    """
    t0 = time.monotonic()
    deadline = t0 + time_limit
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_components + 1))
    pair_count = np.bincount(labels[data.pair_need], minlength=n_components)
    free = free_values(data)
    total = data.constant
    exact = 0
    duals = np.zeros(data.n_rows + 1)
    all_duals = True
    # solve the smallest components first: cheap bounds early, the big ones get what is left
    for comp in np.argsort(pair_count, kind="stable"):
        needs = order[bounds[comp]:bounds[comp + 1]]
        left = deadline - time.monotonic()
        if pair_count[comp] <= max_pairs and left > 0.05:
            model, _, used = lp_model(data, needs)
            if len(used) == 0:  # no row: the cheapest options are optimal
                total += float(free[needs].sum())
                exact += 1
                continue
            value, _, row_dual = solve_lp(model, left, threads)
            if value is not None and row_dual is not None:
                total += value
                exact += 1
                # rows are <= with a minimised objective: HiGHS gives duals <= 0
                duals[used] = np.maximum(0.0, -row_dual[len(needs):len(needs) + len(used)])
                continue
        all_duals = False
        total += float(free[needs].sum())
    return LPBound(bound=float(total), exact_components=exact, components=n_components,
                   runtime_s=time.monotonic() - t0, duals=duals if all_duals else None)


def free_values(data: SearchData) -> np.ndarray:
    """Each need's cheapest option with every row ignored (their sum is a valid bound)."""
    from allocator.heuristic.lagrangian import cheapest, reduced_costs

    _, value = cheapest(data, reduced_costs(data, np.zeros(data.n_rows + 1)))
    return value
