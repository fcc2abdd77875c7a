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


@dataclass(frozen=True, eq=False)
class NeedTypes:
    """Needs of one *type*: the same options at the same costs on the same rows (every field
    of their pairs equal, and the same unmet cost); they differ only in who they are.

    ``reps[t]`` is type t's first need, ``count[t]`` how many needs it has, ``of[i]`` the type
    of ``needs[i]`` and ``rank[i]`` its place among its type's needs (0, 1, ...)."""

    needs: np.ndarray
    reps: np.ndarray
    count: np.ndarray
    of: np.ndarray
    rank: np.ndarray


_PAIR_FIELDS = ("pair_cost", "pair_rows", "pair_w", "pair_holder", "pair_q", "pair_price")


def need_types(data: SearchData, needs: np.ndarray) -> NeedTypes:
    """Group ``needs`` by type (see :class:`NeedTypes`): a 64-bit hash of each need's options
    proposes the groups, and every need is then compared field by field with its group's
    first need; one that differs (a collision) becomes a type of its own, so types are
    exact."""
    from allocator.heuristic.data import need_pairs

    d = data
    needs = np.asarray(needs, dtype=np.int64)
    counts = d.need_start[needs + 1] - d.need_start[needs]
    pairs = need_pairs(d, needs)
    local = np.repeat(np.arange(len(needs)), counts)
    j = np.arange(len(pairs)) - np.repeat(np.cumsum(counts) - counts, counts)
    key = _need_keys(d, needs, pairs, local, j, counts)
    _, first, of = np.unique(key, return_index=True, return_inverse=True)
    of = of.ravel()
    # exact check against each group's first need
    rep_of_pair = d.need_start[needs[first[of]]][local] + j
    same = d.unmet_cost[needs] == d.unmet_cost[needs[first[of]]]
    same &= counts == counts[first[of]]
    ok = np.ones(len(pairs), dtype=bool)
    valid = j < counts[first[of]][local]
    rep_of_pair = np.where(valid, rep_of_pair, pairs)
    for name in _PAIR_FIELDS:
        a = getattr(d, name)
        eq = a[pairs] == a[rep_of_pair]
        ok &= eq.all(axis=1) if eq.ndim == 2 else eq
    ok &= valid
    bad = np.bincount(local, weights=~ok, minlength=len(needs)) > 0
    bad |= ~same
    if bad.any():  # a hash collision: those needs go alone
        key2 = np.where(bad, np.arange(len(needs), dtype=np.int64) + 1, 0)
        combined = np.stack([of.astype(np.int64), key2], axis=1)
        _, first, of = np.unique(combined, axis=0, return_index=True, return_inverse=True)
        of = of.ravel()
    count = np.bincount(of)
    order = np.argsort(of, kind="stable")
    rank = np.empty(len(needs), dtype=np.int64)
    rank[order] = np.arange(len(needs)) - np.repeat(np.cumsum(count) - count, count)
    return NeedTypes(needs=needs, reps=needs[first], count=count.astype(float), of=of,
                     rank=rank)


def _need_keys(d: SearchData, needs: np.ndarray, pairs: np.ndarray, local: np.ndarray,
               j: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each need's options: of every field of its pairs, in order, its
    unmet cost and its number of pairs (equal needs have equal keys)."""
    # a hash per pair entry from its fields' bits and its place in the need, summed per need
    mix = np.uint64(0x9E3779B97F4A7C15)
    h = (j.astype(np.uint64) + np.uint64(1)) * mix
    with np.errstate(over="ignore"):
        for name in _PAIR_FIELDS:
            a = getattr(d, name)[pairs]
            a = np.ascontiguousarray(a if a.ndim == 2 else a[:, None])
            bits = a.astype(np.float64).view(np.uint64) if a.dtype.kind == "f" else \
                a.astype(np.int64).view(np.uint64)
            for col in range(bits.shape[1]):
                h = (h ^ bits[:, col]) * np.uint64(0xBF58476D1CE4E5B9)
                h ^= h >> np.uint64(31)
        key = np.zeros(len(needs), dtype=np.uint64)
        has = counts > 0
        if has.any():  # pairs are contiguous by need: sums by segment (modulo 2**64)
            starts = (np.cumsum(counts) - counts)[has]
            key[has] = np.add.reduceat(h, starts)
        key = (key ^ d.unmet_cost[needs].astype(np.float64).view(np.uint64)) * mix
        key = (key ^ counts.astype(np.uint64)) * np.uint64(0x94D049BB133111EB)
    return key


def merged_lp_model(data: SearchData, needs: np.ndarray | None = None
                    ) -> tuple[LPMatrices, NeedTypes, np.ndarray]:
    """The relaxation over ``needs`` with the needs of one type merged: one need row per type
    with right-hand side its count, its pairs' x and b columns bounded by the count (x counts
    the type's needs served by the pair). Returns (model, types, rows of the model's rows).

    *Same LP.* Any answer of the relaxation gives one of the merged LP of the same cost (add
    up each type's needs), and a merged answer gives one of the relaxation (:func:`unmerge`),
    so their optima are equal; a row's price is a price for both (the relaxation's dual
    answer at the type's need price is feasible and of the same value). Measured on
    ``zoo-indep-L-2``'s large component: 40,069 types of 56,239 needs, 1,128,645 columns
    instead of 1,560,726, PDLP in 19.6 s against 36.5 s (two threads, same tolerance),
    ``L(lambda)`` 11,801,020 against 11,800,666."""
    d = data
    if needs is None:
        needs = np.arange(d.n_needs)
    types = need_types(d, needs)
    model, pairs, used = lp_model(d, types.reps)
    n_t = len(types.reps)
    per = d.need_start[types.reps + 1] - d.need_start[types.reps]
    mult = np.repeat(types.count, per)
    fund = d.pair_holder[pairs] >= 0
    col_hi = np.r_[mult, mult[fund]]
    row_hi = model.row_hi.copy()
    row_hi[:n_t] = types.count
    merged = LPMatrices(c=model.c, A=model.A, row_hi=row_hi, col_hi=col_hi,
                        offset=float(d.unmet_cost[needs].sum()), integer=model.integer)
    return merged, types, used


def unmerge(data: SearchData, types: NeedTypes, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The merged LP's answer ``x`` (its first columns, one per pair of each type's first
    need) as shares of each need's own pairs: (pairs of ``types.needs``, in order, and their
    shares). A type's needs are filled one after another along its pairs (need i of the type
    takes the part of the cumulated shares between i and i + 1): every row carries what the
    merged answer puts on it, and where that answer is whole so are the needs' shares (a
    type's three needs on a pair with x = 2 and another with x = 1 take one pair each, not
    two thirds and one third of both)."""
    from allocator.heuristic.data import need_pairs

    d = data
    per = d.need_start[types.reps + 1] - d.need_start[types.reps]
    x = np.clip(np.asarray(x[:int(per.sum())], dtype=float), 0.0, None)
    # cumulated shares before each column, within its type
    col_start = np.cumsum(per) - per
    upto = np.r_[0.0, np.cumsum(x)]  # upto[k]: the sum of x[:k]
    before = upto[:-1] - np.repeat(upto[col_start], per)
    needs = types.needs
    counts = d.need_start[needs + 1] - d.need_start[needs]
    pairs = need_pairs(d, needs)
    local = np.repeat(np.arange(len(needs)), counts)
    j = np.arange(len(pairs)) - np.repeat(np.cumsum(counts) - counts, counts)
    col = col_start[types.of[local]] + j
    lo = before[col]
    hi = lo + x[col]
    i = types.rank[local].astype(float)
    share = np.clip(np.minimum(hi, i + 1.0) - np.maximum(lo, i), 0.0, 1.0)
    return pairs, share
