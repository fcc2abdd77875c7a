"""Greedy construction by regret, guided by (reduced) costs, feasible by construction.

Needs are taken in decreasing order of *regret*: how much more their second-best option costs
than their best (leaving the need unmet is an option too). A need whose alternatives are all
much worse goes first, while the capacity it wants is still there. Each need then takes its
cheapest option that still fits every row, or stays unmet. With the Lagrangian reduced costs
(:mod:`.lagrangian`) as preferences, the rows' prices steer needs away from the capacity that
others need more: "Lagrangian-guided greedy".
"""

from __future__ import annotations

import numpy as np

from allocator.heuristic.data import SearchData
from allocator.heuristic.state import TOL


def _regret_order(data: SearchData, rc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(need order, pairs sorted by need then rc)."""
    order = np.lexsort((np.arange(data.n_pairs), rc, data.pair_need))
    sorted_rc = rc[order]
    starts = data.need_start[:-1]
    count = data.need_start[1:] - starts
    unmet = data.unmet_cost
    inf = np.inf
    best = np.where(count >= 1, sorted_rc[np.minimum(starts, max(data.n_pairs - 1, 0))], inf) \
        if data.n_pairs else np.full(data.n_needs, inf)
    second = np.where(count >= 2, sorted_rc[np.minimum(starts + 1, max(data.n_pairs - 1, 0))],
                      inf) if data.n_pairs else np.full(data.n_needs, inf)
    # options: pairs and unmet; regret = second cheapest - cheapest
    first_opt = np.minimum(best, unmet)
    second_opt = np.where(best <= unmet, np.minimum(second, unmet), best)
    regret = np.where(np.isfinite(second_opt), second_opt - first_opt, 0.0)
    need_order = np.lexsort((np.arange(data.n_needs), -regret))
    return need_order, order


def regret_greedy(data: SearchData, rc: np.ndarray | None = None,
                  load: np.ndarray | None = None, needs: np.ndarray | None = None,
                  chosen: np.ndarray | None = None) -> np.ndarray:
    """A feasible assignment built greedily (see the module docstring).

    Parameters
    ----------
    data
        The search data.
    rc
        Preference per pair (default: the pairs' own costs).
    load, needs, chosen
        To complete a partial assignment: the current row loads, the needs still to place and
        the assignment to complete (changed in place and returned). Default: everything.

    Returns
    -------
    numpy.ndarray
        Search pair per need, -1 unmet.
    """
    rc = data.pair_cost if rc is None else rc
    need_order, pair_order = _regret_order(data, rc)
    if chosen is None:
        chosen = np.full(data.n_needs, -1, dtype=np.int64)
    load = np.zeros(data.n_rows + 1) if load is None else load
    if needs is not None:
        wanted = np.zeros(data.n_needs, dtype=bool)
        wanted[needs] = True
        need_order = need_order[wanted[need_order]]
    cap = data.row_cap + TOL * np.maximum(1.0, np.where(np.isinf(data.row_cap), 1.0, data.row_cap))
    rows, w = data.pair_rows, data.pair_w
    start = data.need_start
    unmet = data.unmet_cost
    for n in need_order:
        a, b = start[n], start[n + 1]
        if a == b:
            continue
        ks = pair_order[a:b]
        ks = ks[rc[ks] < unmet[n]]
        if len(ks) == 0:
            continue
        r = rows[ks]
        fits = np.all(load[r] + w[ks] <= cap[r], axis=1)
        if not fits.any():
            continue
        k = ks[int(np.argmax(fits))]
        chosen[n] = k
        load[rows[k]] += w[k]
    return chosen


def keep_current(data: SearchData, rc: np.ndarray | None = None) -> np.ndarray:
    """A feasible assignment that keeps people in care with their current provider first.

    Needs with a current provider are placed first, in regret order, each on the cheapest of
    its current provider's offers that still fits (and beats leaving it unmet); the rest of
    the needs, and those whose provider is full, are then placed by :func:`regret_greedy`.
    The local search that follows moves a person only where the move pays for its transfer
    penalty. On dense markets with many people in care this start keeps the transfer term
    near its floor (the needs whose provider cannot serve them any more), where the plain
    regret greedy lets newcomers take the capacity of people already in care, who then move.

    Parameters
    ----------
    data
        The search data.
    rc
        Preference per pair (default: the pairs' own costs).

    Returns
    -------
    numpy.ndarray
        Search pair per need, -1 unmet.
    """
    rc = data.pair_cost if rc is None else rc
    current = data.pair_current
    if not current.any():
        return regret_greedy(data, rc=rc)
    need_order, pair_order = _regret_order(data, rc)
    in_care = np.zeros(data.n_needs, dtype=bool)
    in_care[data.pair_need[current]] = True
    chosen = np.full(data.n_needs, -1, dtype=np.int64)
    load = np.zeros(data.n_rows + 1)
    cap = data.row_cap + TOL * np.maximum(1.0, np.where(np.isinf(data.row_cap), 1.0, data.row_cap))
    rows, w = data.pair_rows, data.pair_w
    start = data.need_start
    unmet = data.unmet_cost
    for n in need_order[in_care[need_order]]:
        ks = pair_order[start[n]:start[n + 1]]
        ks = ks[current[ks] & (rc[ks] < unmet[n])]
        if len(ks) == 0:
            continue
        r = rows[ks]
        fits = np.all(load[r] + w[ks] <= cap[r], axis=1)
        if not fits.any():
            continue
        k = ks[int(np.argmax(fits))]
        chosen[n] = k
        load[rows[k]] += w[k]
    rest = np.nonzero(chosen < 0)[0]
    return regret_greedy(data, rc=rc, load=load, needs=rest, chosen=chosen)


def first_assignment(data: SearchData, rc: np.ndarray | None = None) -> np.ndarray:
    """The better (by search objective) of :func:`regret_greedy` and :func:`keep_current`.

    Both are cheap (one pass over the pairs); which wins depends on the market: keeping people
    in care pays where many are, the plain greedy where few are.
    """
    from allocator.heuristic.state import Assignment

    plain = regret_greedy(data, rc=rc)
    if not data.pair_current.any():
        return plain
    kept = keep_current(data, rc=rc)
    if Assignment(data, kept).objective < Assignment(data, plain).objective:
        return kept
    return plain


def round_fractional(data: SearchData, x: np.ndarray, rc: np.ndarray | None = None,
                     at_least: float = 0.5) -> np.ndarray:
    """A feasible assignment from a fractional one (an LP answer, exact or approximate).

    Each need's pair with the largest share ``x`` is a candidate where that share is at least
    ``at_least`` (so at most one per need); candidates are placed in decreasing order of their
    share while they fit every row, and the needs left (split, unmet by the LP, or crowded out)
    are then placed by :func:`regret_greedy` on ``rc``. Unlike
    :func:`.relaxation.round_relaxation`, which keeps only the pairs the LP serves wholly,
    this suits first-order LP answers (PDLP's), whose shares are near 0 and 1 but rarely on
    them, and whose rows may be overfull within the method's tolerance.

    Parameters
    ----------
    data
        The search data.
    x
        Share per search pair (clipped to [0, 1]).
    rc
        Preference per pair for the greedy completion (default: the pairs' own costs).
    at_least
        The smallest share that makes a candidate.

    Returns
    -------
    numpy.ndarray
        Search pair per need, -1 unmet.
    """
    rc = data.pair_cost if rc is None else rc
    chosen = np.full(data.n_needs, -1, dtype=np.int64)
    load = np.zeros(data.n_rows + 1)
    if data.n_pairs:
        xs = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
        # pairs are grouped by need: sorted by (need, -share) each need's best comes first
        order = np.lexsort((-xs, data.pair_need))
        start = data.need_start
        has = np.nonzero(start[1:] > start[:-1])[0]
        best = order[start[has]]
        keep = xs[best] >= at_least
        best = best[keep]
        best = best[np.argsort(-xs[best], kind="stable")]
        unmet = data.unmet_cost
        best = best[rc[best] < unmet[data.pair_need[best]]]
        cap = data.row_cap + TOL * np.maximum(1.0, np.where(np.isinf(data.row_cap), 1.0,
                                                            data.row_cap))
        rows, w, need = data.pair_rows, data.pair_w, data.pair_need
        for k in best:
            r = rows[k]
            if np.all(load[r] + w[k] <= cap[r]):
                chosen[need[k]] = k
                load[r] += w[k]
    rest = np.nonzero(chosen < 0)[0]
    return regret_greedy(data, rc=rc, load=load, needs=rest, chosen=chosen)
