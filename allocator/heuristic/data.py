"""The search data: a :class:`~allocator.core.problem.Problem` flattened into plain arrays.

Every constraint of DESIGN.md section 4 other than "one option per need" is a *row*
``sum_k w[k, r] x[k] <= cap[r]`` over eligible pairs k:

* offer capacity (w = q * travel factor);
* provider capacity over hours offers (w = q * travel factor);
* block volume of a holder (provider, lot): w = q on the pairs that can only be block funded
  (``framework=false`` lots); pairs that *may* be block funded do not load the row, they
  share what is left of the volume, paid out by the exact greedy of :mod:`allocator.core.evaluate`;
* max_provider_share per (provider, lot) with demand (w = q).

A pair touches at most one row of each kind, so the rows of pair k are ``pair_rows[k, :4]``
(padded with the dummy row ``n_rows``, whose capacity is infinite). Rows that cannot bind
(every eligible pair together fits) are left out. The arrays are plain numpy, picklable, and
carry no pydantic objects, so they can be sent to a child process at any scale.

Costs are in *search units*: the objective of DESIGN.md section 4, except that under the
lexicographic objective the unmet penalties are multiplied by ``unmet_scale`` (see
:func:`lexicographic_scale`). Reported objectives always come from
:func:`allocator.core.evaluate.evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the search's child process never loads pandas and pydantic
    from allocator.core.problem import Problem

ROW_OFFER, ROW_PROVIDER, ROW_HOLDER, ROW_SHARE = 0, 1, 2, 3
WIDTH = 4  # rows per pair: one of each kind at most
MAX_LEX_SCALE = 1e6


@dataclass(frozen=True, eq=False)
class SearchData:
    """The arrays one search works on (see the module docstring).

    Pairs are ordered by need: the pairs of need n are ``need_start[n]:need_start[n + 1]``;
    ``pair_index`` maps them back to the problem's pair numbers.
    """

    n_needs: int
    need_start: np.ndarray
    need_q: np.ndarray
    need_zone: np.ndarray
    unmet_cost: np.ndarray  # cost of leaving the need unmet (search units)

    pair_index: np.ndarray  # problem pair number
    pair_need: np.ndarray
    pair_cost: np.ndarray  # cost of choosing the pair, before block funding
    pair_q: np.ndarray
    pair_rows: np.ndarray  # (n_pairs, WIDTH) int32, padded with n_rows
    pair_w: np.ndarray  # (n_pairs, WIDTH) float
    pair_holder: np.ndarray  # holder whose left-over volume may fund the pair, -1 if none
    pair_price: np.ndarray  # saving per unit block funded (the offer price), 0 if none
    pair_touch: np.ndarray  # holder whose funding changes with the pair (may or must), -1
    pair_provider: np.ndarray
    pair_offer: np.ndarray
    pair_current: np.ndarray  # bool: the offer's provider is the need's current provider

    row_cap: np.ndarray  # (n_rows + 1,), the last one infinite
    row_kind: np.ndarray  # ROW_* per row
    row_ref: np.ndarray  # offer / provider / holder / provider*n_lots+lot per row

    holder_row: np.ndarray  # the row of each holder's volume
    holder_volume: np.ndarray
    holder_start: np.ndarray  # pairs that may be funded by holder h, dearest first:
    holder_pairs: np.ndarray  # holder_pairs[holder_start[h]:holder_start[h + 1]]

    constant: float  # block contracts in force and the transfer constant
    unmet_scale: float  # 1, or the lexicographic factor on unmet penalties

    @property
    def n_pairs(self) -> int:
        return len(self.pair_need)

    @property
    def n_rows(self) -> int:
        return len(self.row_kind)

    @property
    def n_holders(self) -> int:
        return len(self.holder_row)

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


def lexicographic_scale(problem: Problem) -> float:
    """A factor on unmet penalties that puts the unmet term first in practice.

    With factor F the search minimises F * unmet + the other terms. F is chosen so that leaving
    the cheapest need unmet costs more than the whole spread of every other term; it is capped
    at 1e6 to keep the arithmetic exact enough. The unmet term is then minimised first
    whenever unmet changes come in steps of at least that cheapest need (always with one
    priority and equal quantities; otherwise practically). Reported objectives are exact.
    """
    unmet = problem.need_penalty * problem.need_q
    smallest = float(unmet[unmet > 0].min()) if np.any(unmet > 0) else 1.0
    dearest = np.zeros(problem.n_needs)
    np.maximum.at(dearest, problem.pair_need, np.abs(problem.pair_cost_x))
    price = np.zeros(problem.n_holders)
    held = problem.pair_holder >= 0
    np.maximum.at(price, problem.pair_holder[held],
                  problem.pair_block_saving[held] / np.maximum(problem.pair_q[held], 1e-12))
    spread = float(dearest.sum() + 2 * problem.transfer_constant
                   + np.dot(price, problem.holder_volume))
    return float(min(MAX_LEX_SCALE, max(1.0, 10.0 * spread / smallest)))


def from_problem(problem: Problem, *, lexicographic: bool = False,
                 tighten: bool = True) -> SearchData:
    """Flatten ``problem`` (see the module docstring).

    Parameters
    ----------
    problem
        The frozen problem (allocation mode; block volumes are those of the contracts in
        force).
    lexicographic
        Scale the unmet penalties by :func:`lexicographic_scale`.
    tighten
        Leave out the pairs no feasible answer can use (:func:`oversized_pairs`) and round the
        rows' capacities down to their lattice (:func:`lattice_caps`). Both keep every integer
        assignment feasible and make the LP relaxation, hence every bound, tighter; ``False``
        only to measure what they add.
    """
    p = problem
    order = np.argsort(p.pair_need, kind="stable")
    if tighten:
        order = order[~oversized_pairs(p)[order]]
    pn = p.pair_need[order]
    nP = len(pn)
    need_start = np.searchsorted(pn, np.arange(p.n_needs + 1)).astype(np.int64)
    po = p.pair_offer[order]
    pp = p.pair_provider[order]
    pq = p.pair_q[order]
    use = p.pair_use[order]
    hours = p.pair_hours[order]
    holder = p.pair_holder[order]
    forced = p.pair_forced[order]
    lot = p.pair_lot[order]
    saving = p.pair_block_saving[order]
    cost = p.pair_cost_x[order] - p.transfer_penalty * p.pair_is_current[order]

    caps: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    refs: list[np.ndarray] = []
    slots = np.full((nP, WIDTH), -1, dtype=np.int64)
    weights = np.zeros((nP, WIDTH))
    n_rows = 0

    def add_rows(kind: int, key: np.ndarray, w: np.ndarray, mask: np.ndarray,
                 cap_of_key: np.ndarray, always: np.ndarray | None = None) -> np.ndarray:
        """Rows for the groups ``key`` (over the pairs in ``mask``) that can bind."""
        nonlocal n_rows
        size = len(cap_of_key)
        # holder rows some pair may draw on fractionally (b in [0, x]) keep their volume
        if tighten:
            cap_of_key = lattice_caps(key, w, pq, mask, cap_of_key, exact=always)
        tot = np.bincount(key[mask], weights=w[mask], minlength=size)
        bind = (tot > cap_of_key * (1 + 1e-12)) & np.isfinite(cap_of_key)
        if always is not None:
            bind |= always
        groups = np.nonzero(bind)[0]
        row_of = np.full(size, -1, dtype=np.int64)
        row_of[groups] = n_rows + np.arange(len(groups))
        r = np.where(mask, row_of[np.where(mask, key, 0)], -1) if size else \
            np.full(nP, -1, dtype=np.int64)
        slots[:, kind] = r
        weights[:, kind] = np.where(r >= 0, w, 0.0)
        caps.append(cap_of_key[groups])
        kinds.append(np.full(len(groups), kind, dtype=np.int8))
        refs.append(groups)
        n_rows += len(groups)
        return row_of

    add_rows(ROW_OFFER, po, use, np.ones(nP, dtype=bool), p.offer_capacity)
    add_rows(ROW_PROVIDER, pp, use, hours, p.provider_capacity)
    # holders: a row wherever something may or must be funded out of the volume
    may = (holder >= 0) & ~forced & (saving > 0)
    nH = p.n_holders
    has_free = np.zeros(nH, dtype=bool)
    has_free[holder[may]] = True
    holder_row = add_rows(ROW_HOLDER, holder, pq, (holder >= 0) & forced,
                          p.holder_volume.astype(float), always=has_free)
    s = p.max_provider_share
    if s is not None and len(p.lot_ids):
        nl = len(p.lot_ids)
        in_lot = lot >= 0
        key = np.where(in_lot, pp * nl + np.maximum(lot, 0), 0)
        demand = np.tile(p.lot_demand, p.n_providers)
        cap = np.where(demand > 0, s * demand, np.inf)
        add_rows(ROW_SHARE, key, pq, in_lot, cap)
    row_cap = np.r_[np.concatenate(caps), np.inf] if caps else np.array([np.inf])
    slots[slots < 0] = n_rows

    # holders whose funding is touched by a pair (it may, or must, draw on the volume)
    pair_holder = np.where(may, holder, -1)
    pair_price = np.where(may, saving / np.where(pq > 0, pq, 1.0), 0.0)
    touch = np.where(may | ((holder >= 0) & forced), holder, -1)
    # the holders' fundable pairs, dearest unit price first (ties by pair number, as evaluate)
    mk = np.nonzero(may)[0]
    hord = np.lexsort((mk, -pair_price[mk], pair_holder[mk]))
    holder_pairs = mk[hord]
    holder_start = np.searchsorted(pair_holder[holder_pairs], np.arange(nH + 1))
    holder_row = np.where(holder_row >= 0, holder_row, n_rows)

    unmet_scale = lexicographic_scale(p) if lexicographic else 1.0
    return SearchData(
        n_needs=p.n_needs,
        need_start=need_start,
        need_q=np.asarray(p.need_q, dtype=float),
        need_zone=np.asarray(p.need_zone),
        unmet_cost=p.need_penalty * p.need_q * unmet_scale,
        pair_index=order.astype(np.int64),
        pair_need=pn.astype(np.int64),
        pair_cost=cost.astype(float),
        pair_q=pq.astype(float),
        pair_rows=slots.astype(np.int32),
        pair_w=weights,
        pair_holder=pair_holder.astype(np.int64),
        pair_price=pair_price,
        pair_touch=touch.astype(np.int64),
        pair_provider=pp.astype(np.int64),
        pair_offer=po.astype(np.int64),
        pair_current=p.pair_is_current[order].astype(bool),
        row_cap=row_cap.astype(float),
        row_kind=np.concatenate(kinds) if kinds else np.zeros(0, dtype=np.int8),
        row_ref=np.concatenate(refs) if refs else np.zeros(0, dtype=np.int64),
        holder_row=holder_row.astype(np.int64),
        holder_volume=np.asarray(p.holder_volume, dtype=float),
        holder_start=holder_start.astype(np.int64),
        holder_pairs=holder_pairs.astype(np.int64),
        constant=float(p.fixed_block_cost + p.transfer_constant),
        unmet_scale=unmet_scale,
    )


def oversized_pairs(p: Problem) -> np.ndarray:
    """Pairs that no feasible assignment can use: their weight alone exceeds a row's capacity.

    (Coefficient tightening of a 0-1 knapsack row: ``w_k > cap`` forces ``x_k = 0``.) Such a
    pair costs the LP relaxation nothing to use fractionally, so leaving it in weakens the
    bound (a 40-hour package on an offer of 5 hours, a placement on a share cap of 0.75 beds);
    it can never be in a feasible answer, so it is left out of the search data altogether. The
    capacities are those of :func:`lattice_caps` (rounded down to what integer loads can reach).
    """
    use = p.pair_use
    q = p.pair_q
    bad = use > _row_lattice(p.pair_offer, use, q, p.offer_capacity) * (1 + 1e-9) + 1e-9
    hours = p.pair_hours.astype(bool)
    prov_cap = _row_lattice(np.where(hours, p.pair_provider, 0), use, q, p.provider_capacity,
                            mask=hours)
    bad |= hours & (use > prov_cap * (1 + 1e-9) + 1e-9)
    forced = p.pair_forced.astype(bool) & (p.pair_holder >= 0)
    if forced.any():
        may = (p.pair_holder >= 0) & ~forced & (p.pair_block_saving > 0)
        fractional = np.zeros(p.n_holders, dtype=bool)
        fractional[p.pair_holder[may]] = True
        vol = _row_lattice(np.where(forced, p.pair_holder, 0), q, q,
                           np.asarray(p.holder_volume, dtype=float), mask=forced,
                           exact=fractional)
        bad |= forced & (q > vol * (1 + 1e-9) + 1e-9)
    s = p.max_provider_share
    if s is not None and len(p.lot_ids):
        nl = len(p.lot_ids)
        in_lot = p.pair_lot >= 0
        key = np.where(in_lot, p.pair_provider * nl + np.maximum(p.pair_lot, 0), 0)
        demand = np.tile(p.lot_demand, p.n_providers)
        cap = _row_lattice(key, q, q, np.where(demand > 0, s * demand, np.inf), mask=in_lot)
        bad |= in_lot & (q > cap * (1 + 1e-9) + 1e-9)
    return bad


def _row_lattice(key: np.ndarray, w: np.ndarray, q: np.ndarray, cap_of_key: np.ndarray,
                 mask: np.ndarray | None = None, exact: np.ndarray | None = None) -> np.ndarray:
    """Per pair, the lattice-rounded capacity of its row (``key``), see :func:`lattice_caps`."""
    mask = np.ones(len(key), dtype=bool) if mask is None else mask
    caps = lattice_caps(key, w, q, mask, np.asarray(cap_of_key, dtype=float), exact=exact)
    return np.where(mask, caps[np.where(mask, key, 0)] if len(caps) else np.inf, np.inf)


# quanta tried for the quantities on a row: whole units (beds), quarter hours, minutes-ish
_QUANTA = (1.0, 0.25, 0.05, 0.01)


def lattice_caps(key: np.ndarray, w: np.ndarray, q: np.ndarray, mask: np.ndarray,
                 cap_of_key: np.ndarray, exact: np.ndarray | None = None) -> np.ndarray:
    """Row capacities rounded down to the largest load an integer assignment can reach.

    On a row whose weights are ``w_k = t * q_k`` with one factor ``t`` (an offer's travel
    factor; 1 on share, holder and bed rows) and quantities that are all multiples of a quantum
    ``g`` (a whole bed, a quarter hour), every integer load is a multiple of ``t * g``, so
    ``cap`` can be replaced by ``t * g * floor(cap / (t * g))`` without cutting off any
    feasible assignment (a Chvatal-Gomory rounding of the row). The LP relaxation is tighter
    wherever ``cap`` is not on the lattice: a share cap of 0.75 beds allows no bed at all, where
    the LP would place three quarters of a person. Rows with mixed factors are left alone, and
    so are the rows marked ``exact`` (a holder's volume that block funding may use in part:
    fractions of a need are paid out of it, so its loads are not on the lattice).
    """
    cap = np.asarray(cap_of_key, dtype=float).copy()
    size = len(cap)
    if size == 0 or not mask.any():
        return cap
    k = key[mask]
    wk = w[mask]
    qk = q[mask]
    t = wk / np.where(qk > 0, qk, 1.0)
    t_lo = np.full(size, np.inf)
    t_hi = np.full(size, -np.inf)
    np.minimum.at(t_lo, k, t)
    np.maximum.at(t_hi, k, t)
    count = np.bincount(k, minlength=size)
    one_t = (count > 0) & np.isfinite(cap) & (t_lo > 0)
    one_t &= t_hi - np.where(count > 0, t_lo, 0.0) <= 1e-12 * np.maximum(1.0, np.abs(t_hi))
    if exact is not None:
        one_t &= ~exact
    quantum = np.zeros(size)
    for g in _QUANTA:  # the coarsest quantum every quantity on the row is a multiple of
        steps = qk / g
        on_grid = np.abs(steps - np.round(steps)) <= 1e-9 * np.maximum(1.0, steps)
        all_on = np.ones(size, dtype=bool)
        np.logical_and.at(all_on, k, on_grid)
        quantum = np.where((quantum == 0) & all_on, g, quantum)
    ok = one_t & (quantum > 0)
    unit = np.where(ok, t_lo * quantum, 1.0)
    rounded = unit * np.floor(cap / unit + 1e-9)
    return np.where(ok, np.minimum(cap, rounded), cap)


def to_problem_chosen(data: SearchData, chosen: np.ndarray) -> np.ndarray:
    """A search assignment (search pair per need, -1 unmet) in problem pair numbers."""
    chosen = np.asarray(chosen, dtype=np.int64)
    out = np.full(len(chosen), -1, dtype=np.int64)
    on = chosen >= 0
    out[on] = data.pair_index[chosen[on]]
    return out


def from_problem_chosen(data: SearchData, chosen: np.ndarray) -> np.ndarray:
    """A problem assignment (problem pair per need, -1 unmet) in search pair numbers."""
    chosen = np.asarray(chosen, dtype=np.int64)
    # pairs left out of the search data (oversized_pairs) map to -1: no feasible answer uses them
    size = max(int(data.pair_index.max(initial=-1)), int(chosen.max(initial=-1))) + 1
    inverse = np.full(size, -1, dtype=np.int64)
    inverse[data.pair_index] = np.arange(data.n_pairs)
    out = np.full(len(chosen), -1, dtype=np.int64)
    on = chosen >= 0
    out[on] = inverse[chosen[on]]
    return out


def components(data: SearchData) -> tuple[int, np.ndarray]:
    """Connected components of the needs: two needs meet when they share a row.

    Only rows couple needs (a pair of one need never affects another otherwise), so every
    component can be solved, and bounded, on its own. Returns (count, label per need).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = data.n_needs
    real = data.pair_rows < data.n_rows
    need_of = np.broadcast_to(data.pair_need[:, None], data.pair_rows.shape)
    rows = data.pair_rows[real].astype(np.int64)
    needs = need_of[real]
    # pairs that may draw on a holder's left-over volume are coupled through it as well
    m = data.pair_holder >= 0
    rows = np.r_[rows, data.holder_row[data.pair_holder[m]]]
    needs = np.r_[needs, data.pair_need[m]]
    keep = rows < data.n_rows
    rows, needs = rows[keep], needs[keep]
    size = n + data.n_rows
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (needs, n + rows)),
                       shape=(size, size)).tocsr()
    _, labels = connected_components(graph, directed=False)
    # renumber by first need so that labels are deterministic and only count needs
    need_labels = labels[:n]
    _, first, inv = np.unique(need_labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return len(first), rank[inv].astype(np.int64)


def row_pairs(data: SearchData) -> tuple[np.ndarray, np.ndarray]:
    """(start, pairs): the pairs on row r are ``pairs[start[r]:start[r + 1]]``.

    A pair that may draw on a holder's volume counts as on the holder's row.
    """
    real = data.pair_rows < data.n_rows
    pair_of = np.broadcast_to(np.arange(data.n_pairs)[:, None], data.pair_rows.shape)
    rows = data.pair_rows[real].astype(np.int64)
    pairs = pair_of[real]
    m = data.pair_holder >= 0
    extra_rows = data.holder_row[data.pair_holder[m]]
    extra_pairs = np.nonzero(m)[0]
    dup = data.pair_rows[m, ROW_HOLDER] == extra_rows  # a pair cannot be both, but be safe
    rows = np.r_[rows, extra_rows[~dup]]
    pairs = np.r_[pairs, extra_pairs[~dup]]
    keep = rows < data.n_rows
    rows, pairs = rows[keep], pairs[keep]
    order = np.lexsort((pairs, rows))
    start = np.searchsorted(rows[order], np.arange(data.n_rows + 1))
    return start.astype(np.int64), pairs[order].astype(np.int64)


def need_pairs(data: SearchData, needs: np.ndarray) -> np.ndarray:
    """The pairs of ``needs`` (sorted), in order: :func:`restrict`'s pair i is this pair."""
    d = data
    counts = d.need_start[needs + 1] - d.need_start[needs]
    return (np.repeat(d.need_start[needs], counts) + np.arange(counts.sum())
            - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.int64)


def restrict(data: SearchData, needs: np.ndarray, *, keep_constant: bool) -> SearchData:
    """The search data of ``needs`` alone, renumbered. For whole components (no row reaching
    a need left out) it is exact; otherwise the rows keep their whole capacity (see
    :mod:`.regions` for splitting it). ``keep_constant`` says whether this part carries the constant
    (exactly one part of a split should), so that the parts' objectives and bounds add up.

    ``pair_index`` still maps to the problem's pair numbers.
    """
    d = data
    needs = np.sort(np.asarray(needs, dtype=np.int64))
    counts = d.need_start[needs + 1] - d.need_start[needs]
    pairs = need_pairs(d, needs)
    need_start = np.r_[0, np.cumsum(counts)].astype(np.int64)
    # rows and holders reached by these pairs
    slot = d.pair_rows[pairs]
    holders = np.unique(np.r_[d.pair_touch[pairs], d.pair_holder[pairs]])
    holders = holders[holders >= 0]
    rows = np.unique(np.r_[slot[slot < d.n_rows].astype(np.int64), d.holder_row[holders]])
    rows = rows[rows < d.n_rows]
    n_rows = len(rows)
    row_map = np.full(d.n_rows + 1, n_rows, dtype=np.int64)
    row_map[rows] = np.arange(n_rows)
    holder_map = np.full(d.n_holders + 1, -1, dtype=np.int64)
    holder_map[holders] = np.arange(len(holders))
    pair_map = np.full(d.n_pairs, -1, dtype=np.int64)
    pair_map[pairs] = np.arange(len(pairs))
    hp_all = [d.holder_pairs[d.holder_start[h]:d.holder_start[h + 1]] for h in holders]
    hp_all = [pair_map[hp] for hp in hp_all]
    hp_all = [hp[hp >= 0] for hp in hp_all]  # a region of a component: only its own pairs
    sizes = np.array([len(hp) for hp in hp_all], dtype=np.int64)
    need_map = np.full(d.n_needs, -1, dtype=np.int64)
    need_map[needs] = np.arange(len(needs))
    return SearchData(
        n_needs=len(needs),
        need_start=need_start,
        need_q=d.need_q[needs],
        need_zone=d.need_zone[needs],
        unmet_cost=d.unmet_cost[needs],
        pair_index=d.pair_index[pairs],
        pair_need=need_map[d.pair_need[pairs]],
        pair_cost=d.pair_cost[pairs],
        pair_q=d.pair_q[pairs],
        pair_rows=row_map[slot].astype(np.int32),
        pair_w=d.pair_w[pairs],
        pair_holder=np.where(d.pair_holder[pairs] >= 0, holder_map[d.pair_holder[pairs]], -1),
        pair_price=d.pair_price[pairs],
        pair_touch=np.where(d.pair_touch[pairs] >= 0, holder_map[d.pair_touch[pairs]], -1),
        pair_provider=d.pair_provider[pairs],
        pair_offer=d.pair_offer[pairs],
        pair_current=d.pair_current[pairs],
        row_cap=np.r_[d.row_cap[rows], np.inf],
        row_kind=d.row_kind[rows],
        row_ref=d.row_ref[rows],
        holder_row=row_map[d.holder_row[holders]],
        holder_volume=d.holder_volume[holders],
        holder_start=np.r_[0, np.cumsum(sizes)].astype(np.int64),
        holder_pairs=np.concatenate(hp_all) if hp_all else np.zeros(0, dtype=np.int64),
        constant=d.constant if keep_constant else 0.0,
        unmet_scale=d.unmet_scale,
    )


def split(data: SearchData, parts: int) -> list[np.ndarray]:
    """Needs in ``parts`` groups of whole components, balanced by eligible pairs (largest
    component first, each to the lightest group). Fewer groups when there are fewer
    components; groups are sorted by their first need."""
    count, labels = components(data)
    weight = np.bincount(labels[data.pair_need], minlength=count) + \
        np.bincount(labels, minlength=count)
    parts = max(1, min(parts, count))
    load = np.zeros(parts)
    group_of = np.zeros(count, dtype=np.int64)
    for c in np.argsort(-weight, kind="stable"):
        g = int(np.argmin(load))
        group_of[c] = g
        load[g] += weight[c]
    groups = [np.nonzero(group_of[labels] == g)[0] for g in range(parts)]
    groups = [g for g in groups if len(g)]
    return sorted(groups, key=lambda g: int(g[0]))
