"""Lagrangian relaxation of the rows: a proven lower bound at linear cost per step.

Relax every row (offer and provider capacity, block volume, provider share) with a multiplier
lambda_r >= 0. What is left separates by need: each need takes its cheapest option at reduced
cost, or stays unmet::

    L(lambda) = constant + sum_n min(unmet_n, min_k rc_k) - sum_r lambda_r * cap_r
    rc_k      = cost_k + sum_r lambda_r * w[k, r] - q_k * max(0, price_k - lambda_h(k))

The last term is the block funding b_k in [0, 1] of a pair that may draw on holder h(k):
relaxed, it pays off exactly when the offer price exceeds the price of volume lambda_h.
L(lambda) is a lower bound on the optimum for every lambda >= 0 (weak duality), and its
maximum equals the LP relaxation's optimum (each need's subproblem has integral vertices).
It is maximised here by the projected subgradient method with Polyak steps towards the best
known upper bound; one step costs O(eligible pairs) numpy work.
"""

from __future__ import annotations

import numpy as np

from allocator.heuristic.data import SearchData


def reduced_costs(data: SearchData, lam: np.ndarray) -> np.ndarray:
    """rc_k for every pair (see the module docstring)."""
    rc = data.pair_cost + np.einsum("ij,ij->i", lam[data.pair_rows], data.pair_w)
    m = data.pair_holder >= 0
    if m.any():
        price_of_volume = lam[data.holder_row[data.pair_holder[m]]]
        rc[m] -= data.pair_q[m] * np.maximum(0.0, data.pair_price[m] - price_of_volume)
    return rc


def cheapest(data: SearchData, rc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each need's cheapest option at reduced cost ``rc``: (pair or -1 unmet, its value)."""
    value = data.unmet_cost.copy()
    choice = np.full(data.n_needs, -1, dtype=np.int64)
    starts = data.need_start[:-1]
    has = data.need_start[1:] > starts
    if data.n_pairs == 0 or not has.any():
        return choice, value
    best = np.minimum.reduceat(rc, starts[has])
    needs = np.nonzero(has)[0]
    better = best < value[needs]
    value[needs[better]] = best[better]
    # the first pair reaching the minimum, per need that is served
    hit = np.nonzero(rc <= value[data.pair_need])[0]
    if len(hit) == 0:
        return choice, value
    first = hit[np.r_[True, data.pair_need[hit][1:] != data.pair_need[hit][:-1]]]
    first = first[rc[first] < data.unmet_cost[data.pair_need[first]]]
    choice[data.pair_need[first]] = first
    return choice, value


def dual_value(data: SearchData, lam: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(L(lambda), each need's choice, the subgradient over rows) at ``lam``."""
    rc = reduced_costs(data, lam)
    choice, value = cheapest(data, rc)
    cap = data.row_cap[:-1]
    bound = data.constant + float(value.sum()) - float(np.dot(lam[:-1], cap))
    sel = choice[choice >= 0]
    load = np.bincount(data.pair_rows[sel].ravel(), weights=data.pair_w[sel].ravel(),
                       minlength=data.n_rows + 1).astype(float)
    fund = sel[data.pair_holder[sel] >= 0]
    if len(fund):
        h = data.pair_holder[fund]
        takes = data.pair_price[fund] > lam[data.holder_row[h]]
        load += np.bincount(data.holder_row[h[takes]], weights=data.pair_q[fund[takes]],
                            minlength=data.n_rows + 1)
    return bound, choice, load[:-1] - cap


def row_scale(data: SearchData) -> np.ndarray:
    """A typical price of one unit of each row: the mean, over the row's pairs, of the need's
    unmet cost per unit of weight (the offer price for a holder's fundable pairs).

    Steps are taken in scaled prices lambda_r / scale_r: without it, rows counted in beds
    (multipliers in the thousands) barely move while rows counted in hours settle.
    """
    d = data
    real = d.pair_rows < d.n_rows
    rows = d.pair_rows[real]
    w = d.pair_w[real]
    need = np.broadcast_to(d.pair_need[:, None], d.pair_rows.shape)[real]
    count = np.bincount(rows, minlength=d.n_rows)
    value = np.bincount(rows, weights=d.unmet_cost[need] / np.maximum(w, 1e-9),
                        minlength=d.n_rows)
    scale = value / np.maximum(count, 1)
    m = d.pair_holder >= 0
    hr = d.holder_row[d.pair_holder[m]]
    price = np.bincount(hr, weights=d.pair_price[m], minlength=d.n_rows + 1)[:-1]
    hcount = np.bincount(hr, minlength=d.n_rows + 1)[:-1]
    scale = np.where(scale > 0, scale, price / np.maximum(hcount, 1))
    return np.where(scale > 0, scale, 1.0)


class Subgradient:
    """The projected subgradient method, resumable so that the driver can interleave it
    with constructions that improve the upper bound it aims at.

    Parameters
    ----------
    data
        The search data.
    alpha
        Initial step factor (Polyak's), halved after ``patience`` steps without a better
        bound.
    lam
        Starting multipliers (n_rows + 1, the last one 0); zero by default.
    """

    def __init__(self, data: SearchData, *, alpha: float = 2.0, patience: int = 50,
                 lam: np.ndarray | None = None) -> None:
        self.data = data
        self.lam = np.zeros(data.n_rows + 1) if lam is None else np.array(lam, dtype=float)
        self.best_lam = self.lam.copy()
        self.best = -np.inf
        self.alpha = alpha
        self.patience = patience
        self.since = 0
        self.iterations = 0
        self.choice = np.full(data.n_needs, -1, dtype=np.int64)
        self._scale2 = row_scale(data) ** 2

    @property
    def converged(self) -> bool:
        return self.alpha < 1e-3

    def run(self, steps: int, upper_bound: float, deadline: float | None = None) -> float:
        """Take up to ``steps`` steps; returns the best bound so far.

        ``deadline`` is a :func:`time.monotonic` instant.
        """
        import time

        d = self.data
        for _ in range(steps):
            if self.converged or (deadline is not None and time.monotonic() > deadline):
                break
            value, choice, g = dual_value(d, self.lam)
            self.iterations += 1
            self.choice = choice
            if value > self.best + 1e-9 * max(1.0, abs(value)):
                self.best = value
                self.best_lam = self.lam.copy()
                self.since = 0
            else:
                self.since += 1
                if self.since >= self.patience:
                    self.alpha /= 2
                    self.since = 0
            lam = self.lam[:-1]
            # projection: a zero multiplier with slack has no direction
            g = np.where((lam <= 0) & (g < 0), 0.0, g)
            norm = float(np.dot(g * g, self._scale2))
            if norm <= 1e-18:
                self.alpha = 0.0  # x(lambda) is feasible and complementary: optimal
                break
            target = max(upper_bound, value + 1e-6 * max(1.0, abs(value)))
            step = self.alpha * (target - value) / norm
            self.lam[:-1] = np.maximum(0.0, lam + step * g * self._scale2)
        return self.best
