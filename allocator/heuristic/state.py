"""One assignment during the search: row loads, exact block funding, objective.

The objective (search units, :mod:`.data`) of an assignment ``chosen`` (search pair per need,
-1 unmet) is::

    constant + sum of pair costs + sum of unmet costs - sum over holders of saving(h)

where saving(h) is the exact greedy funding of :mod:`allocator.core.evaluate`: the volume left
after the block-only pairs is filled with the chosen fundable pairs of the holder, dearest unit
price first. Changes are applied incrementally: row loads move by the changed pairs' weights
and only the holders those pairs touch are funded again.
"""

from __future__ import annotations

import numpy as np

from allocator.heuristic.data import SearchData

TOL = 1e-9  # relative slack on rows: stricter than the checker's 1e-6


def row_loads(data: SearchData, chosen: np.ndarray) -> np.ndarray:
    """Load of every row (and the dummy row) under ``chosen``."""
    sel = chosen[chosen >= 0]
    return np.bincount(data.pair_rows[sel].ravel(), weights=data.pair_w[sel].ravel(),
                       minlength=data.n_rows + 1).astype(float)


def _funded_pairs(data: SearchData, chosen: np.ndarray, load: np.ndarray,
                  holders: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(chosen fundable pairs, their funded quantity), exact greedy per holder.

    Over every holder, or only ``holders`` (distinct).
    """
    if holders is None:
        hp = data.holder_pairs
    elif len(holders):
        hp = np.concatenate([data.holder_pairs[data.holder_start[h]:data.holder_start[h + 1]]
                             for h in holders])
    else:
        hp = np.zeros(0, dtype=np.int64)
    if len(hp) == 0:
        return hp, np.zeros(0)
    sel = hp[chosen[data.pair_need[hp]] == hp]
    if len(sel) == 0:
        return sel, np.zeros(0)
    h = data.pair_holder[sel]  # grouped by holder, dearest first within each
    q = data.pair_q[sel]
    left = np.maximum(data.holder_volume - load[data.holder_row], 0.0)
    cum = np.cumsum(q)
    first = np.r_[0, np.nonzero(h[1:] != h[:-1])[0] + 1]
    start_of = np.repeat(first, np.diff(np.r_[first, len(h)]))
    before = cum - q - np.where(start_of > 0, cum[start_of - 1], 0.0)
    return sel, np.clip(left[h] - before, 0.0, q)


def funding(data: SearchData, chosen: np.ndarray, load: np.ndarray,
            holders: np.ndarray | None = None) -> np.ndarray:
    """Block-funded quantity per need (0 where nothing may be funded), exact greedy; only the
    needs funded by ``holders`` when given."""
    out = np.zeros(data.n_needs)
    sel, funded = _funded_pairs(data, chosen, load, holders)
    out[data.pair_need[sel]] = funded
    return out


def holder_savings(data: SearchData, chosen: np.ndarray, load: np.ndarray) -> np.ndarray:
    """Saving of every holder under ``chosen``."""
    sel, funded = _funded_pairs(data, chosen, load)
    return np.bincount(data.pair_holder[sel], weights=data.pair_price[sel] * funded,
                       minlength=data.n_holders).astype(float)


def feasible_rows(data: SearchData, load: np.ndarray, rows: np.ndarray | None = None) -> bool:
    """Whether ``load`` fits every row (or the given rows)."""
    if rows is None:
        rows = np.arange(data.n_rows)
    cap = data.row_cap[rows]
    return bool(np.all(load[rows] <= cap + TOL * np.maximum(1.0, cap)))


class Assignment:
    """A mutable assignment with its loads, holder savings and objective."""

    def __init__(self, data: SearchData, chosen: np.ndarray) -> None:
        self.data = data
        self.chosen = np.array(chosen, dtype=np.int64)
        self.refresh()

    # ------------------------------------------------------------------ full computation

    def refresh(self) -> None:
        """Recompute loads, savings and objective from scratch (drops rounding drift)."""
        d = self.data
        ch = self.chosen
        self.load = row_loads(d, ch)
        self.saving = holder_savings(d, ch, self.load)
        served = ch >= 0
        self.linear = float(d.pair_cost[ch[served]].sum() + d.unmet_cost[~served].sum())

    @property
    def objective(self) -> float:
        return self.data.constant + self.linear - float(self.saving.sum())

    @property
    def feasible(self) -> bool:
        return feasible_rows(self.data, self.load)

    def _holder_saving(self, h: int) -> float:
        d = self.data
        hp = d.holder_pairs[d.holder_start[h]:d.holder_start[h + 1]]
        if len(hp) == 0:
            return 0.0
        sel = hp[self.chosen[d.pair_need[hp]] == hp]
        if len(sel) == 0:
            return 0.0
        left = max(d.holder_volume[h] - self.load[d.holder_row[h]], 0.0)
        q = d.pair_q[sel]
        cum = np.cumsum(q)
        funded = np.clip(left - (cum - q), 0.0, q)
        return float(np.dot(d.pair_price[sel], funded))

    # ------------------------------------------------------------------ changes

    def change(self, needs: np.ndarray, new: np.ndarray, *, max_delta: float | None = 0.0
               ) -> float | None:
        """Give ``needs`` the pairs ``new`` (-1 unmet) if feasible and not worse.

        Parameters
        ----------
        needs, new
            Distinct needs and their new pair (or -1).
        max_delta
            Accept only if the objective changes by at most this much (None: any change
            that keeps every row feasible).

        Returns
        -------
        float or None
            The change of the objective when applied, None when rejected (state unchanged).
        """
        d = self.data
        needs = np.asarray(needs, dtype=np.int64)
        new = np.asarray(new, dtype=np.int64)
        old = self.chosen[needs]
        moved = old != new
        if not moved.any():
            return 0.0
        needs, new, old = needs[moved], new[moved], old[moved]
        o_on, n_on = old[old >= 0], new[new >= 0]
        rows = np.unique(np.r_[d.pair_rows[o_on].ravel(), d.pair_rows[n_on].ravel()])
        saved_load = self.load[rows].copy()
        np.subtract.at(self.load, d.pair_rows[o_on].ravel(), d.pair_w[o_on].ravel())
        np.add.at(self.load, d.pair_rows[n_on].ravel(), d.pair_w[n_on].ravel())
        real = rows[rows < d.n_rows]
        cap = d.row_cap[real]
        # rows that got no heavier need no check (they may carry earlier rounding)
        grew = self.load[real] > saved_load[rows < d.n_rows]
        if np.any(self.load[real][grew] > cap[grew] + TOL * np.maximum(1.0, cap[grew])):
            self.load[rows] = saved_load
            return None
        self.chosen[needs] = new
        lin = float(d.pair_cost[n_on].sum() + d.unmet_cost[needs[new < 0]].sum()
                    - d.pair_cost[o_on].sum() - d.unmet_cost[needs[old < 0]].sum())
        touched = np.unique(np.r_[d.pair_touch[o_on], d.pair_touch[n_on]])
        touched = touched[touched >= 0]
        before = self.saving[touched].copy()
        after = np.array([self._holder_saving(int(h)) for h in touched])
        delta = lin - float(after.sum() - before.sum())
        if max_delta is not None and delta > max_delta:
            self.chosen[needs] = old
            self.load[rows] = saved_load
            return None
        self.saving[touched] = after
        self.linear += lin
        return delta

    def move(self, n: int, k: int, *, max_delta: float | None = 0.0) -> float | None:
        """Give need ``n`` pair ``k`` (-1 unmet): :meth:`change` for one need, faster.

        A pair's rows are one per kind in fixed slots, so the old and the new pair can only
        share a row in the same slot.
        """
        d = self.data
        old = int(self.chosen[n])
        if old == k:
            return 0.0
        load, cap = self.load, d.row_cap
        width = d.pair_rows.shape[1]
        if k >= 0:
            rows_new, w_new = d.pair_rows[k], d.pair_w[k]
            rows_old = d.pair_rows[old] if old >= 0 else None
            for j in range(width):
                r = rows_new[j]
                if r >= d.n_rows or w_new[j] <= 0:
                    continue
                freed = d.pair_w[old, j] if rows_old is not None and rows_old[j] == r else 0.0
                c = cap[r]
                if load[r] + w_new[j] - freed > c + TOL * max(1.0, c):
                    return None
        lin = (d.pair_cost[k] if k >= 0 else d.unmet_cost[n]) - \
            (d.pair_cost[old] if old >= 0 else d.unmet_cost[n])
        # apply
        if old >= 0:
            load[d.pair_rows[old]] -= d.pair_w[old]
        if k >= 0:
            load[d.pair_rows[k]] += d.pair_w[k]
        self.chosen[n] = k
        hs = {int(d.pair_touch[p]) for p in (old, k) if p >= 0} - {-1}
        delta = lin
        after = {}
        for h in hs:
            after[h] = self._holder_saving(h)
            delta -= after[h] - self.saving[h]
        if max_delta is not None and delta > max_delta:
            self.chosen[n] = old
            if k >= 0:
                load[d.pair_rows[k]] -= d.pair_w[k]
            if old >= 0:
                load[d.pair_rows[old]] += d.pair_w[old]
            return None
        for h, v in after.items():
            self.saving[h] = v
        self.linear += lin
        return delta
