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
