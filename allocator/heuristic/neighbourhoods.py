"""Which needs to re-optimise together: neighbourhoods that let capacity move.

A neighbourhood grows breadth-first over the need-row graph from a seed row: the needs that
could use the row join (in random order), then the rows their current pairs load and the rows
of another of their pairs, and so on until the size is reached. Needs in one neighbourhood
therefore compete for the same capacity, so that CP-SAT can make the exchanges and ejection
chains a one-move local search cannot. Seeds are drawn in turn among tight rows (little
slack), the rows of an unmet need, the rows of a need whose pair differs from the LP's (when
an LP solution guides the search), and any row; a zone's needs now and then add variety.
Everything is drawn from a seeded generator: the sequence is reproducible.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from allocator.heuristic.data import SearchData, row_pairs
from allocator.heuristic.state import Assignment


class Neighbourhoods:
    """Draws neighbourhoods for one search (see the module docstring)."""

    def __init__(self, data: SearchData, rng: np.random.Generator,
                 needs: np.ndarray | None = None, guide: np.ndarray | None = None,
                 index: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.data = data
        self.rng = rng
        self.guide = guide  # per need: the LP's pair, -1 unmet, -2 split / unknown
        self.start, self.pairs = row_pairs(data) if index is None else index
        self.count = 0
        # restrict to a subset of needs (a component), if given
        self.allowed = None
        if needs is not None:
            self.allowed = np.zeros(data.n_needs, dtype=bool)
            self.allowed[needs] = True
        self.zones = np.unique(data.need_zone if needs is None else data.need_zone[needs])

    def _rows_of_needs(self, needs: np.ndarray) -> np.ndarray:
        d = self.data
        starts, ends = d.need_start[needs], d.need_start[needs + 1]
        rows = d.pair_rows[np.r_[tuple(np.arange(a, b) for a, b in zip(starts, ends,
                                                                       strict=True))]] \
            if len(needs) else np.zeros((0, 4), dtype=np.int32)
        return np.unique(rows[rows < d.n_rows])

    def seed_row(self, state: Assignment) -> int | None:
        """A seed row: tight, near an unmet need, or any (in turn)."""
        d = self.data
        if d.n_rows == 0:
            return None
        rng = self.rng
        kind = self.count % 4
        cand: np.ndarray | None = None
        if kind == 3 and self.guide is not None:
            differ = np.nonzero(state.chosen != self.guide)[0]
            if self.allowed is not None:
                differ = differ[self.allowed[differ]]
            if len(differ):
                n = int(differ[rng.integers(len(differ))])
                cand = self._rows_of_needs(np.array([n]))
        if kind == 0:
            slack = d.row_cap[:-1] - state.load[:-1]
            cand = np.nonzero(slack <= 0.05 * np.maximum(1.0, d.row_cap[:-1]))[0]
        elif kind == 1:
            unmet = np.nonzero(state.chosen < 0)[0]
            if self.allowed is not None:
                unmet = unmet[self.allowed[unmet]]
            if len(unmet):
                n = int(unmet[rng.integers(len(unmet))])
                cand = self._rows_of_needs(np.array([n]))
        if cand is None or len(cand) == 0:
            cand = np.arange(d.n_rows)
        if self.allowed is not None:
            # keep rows with a pair of an allowed need
            ok = [r for r in cand[:2000] if self._row_allowed(int(r))]
            cand = np.array(ok, dtype=np.int64)
            if len(cand) == 0:
                return None
        return int(cand[rng.integers(len(cand))])

    def _row_allowed(self, r: int) -> bool:
        assert self.allowed is not None
        ps = self.pairs[self.start[r]:self.start[r + 1]]
        return bool(len(ps)) and bool(self.allowed[self.data.pair_need[ps[0]]])

    def draw(self, state: Assignment, size: int) -> np.ndarray:
        """A neighbourhood of about ``size`` needs (sorted)."""
        self.count += 1
        d = self.data
        rng = self.rng
        if self.count % 7 == 0 and len(self.zones) > 1:
            z = self.zones[rng.integers(len(self.zones))]
            pool = np.nonzero(d.need_zone == z)[0]
            if self.allowed is not None:
                pool = pool[self.allowed[pool]]
            if len(pool) > size:
                pool = rng.choice(pool, size=size, replace=False)
            if len(pool):
                return np.sort(pool)
        seed = self.seed_row(state)
        if seed is None:
            pool = np.arange(d.n_needs) if self.allowed is None else np.nonzero(self.allowed)[0]
            if len(pool) > size:
                pool = rng.choice(pool, size=size, replace=False)
            return np.sort(pool)
        chosen = np.zeros(d.n_needs, dtype=bool)
        seen_rows = np.zeros(d.n_rows + 1, dtype=bool)
        queue = deque([seed])
        seen_rows[seed] = True
        picked = 0
        out: list[int] = []
        # every other neighbourhood takes, at each row, the needs the row now serves first
        # (then those that could use it): whole providers' books, so that their needs can
        # trade places; the others take any needs that could use the row
        served_first = self.count % 2 == 0
        while queue and picked < size:
            r = queue.popleft()
            ps = self.pairs[self.start[r]:self.start[r + 1]]
            ns = np.unique(d.pair_need[ps])
            ns = ns[~chosen[ns]]
            if len(ns) == 0:
                continue
            ns = ns[rng.permutation(len(ns))]
            if served_first:
                on_row = np.isin(state.chosen[ns], ps)
                ns = np.r_[ns[on_row], ns[~on_row][: max(1, len(ns) // 5)]]
            ns = ns[: size - picked]
            chosen[ns] = True
            picked += len(ns)
            out.extend(ns.tolist())
            # rows freed by their current pairs, and rows of one other pair each
            cur = state.chosen[ns]
            nxt = [d.pair_rows[cur[cur >= 0]].ravel()]
            cnt = d.need_start[ns + 1] - d.need_start[ns]
            has = cnt > 0
            other = d.need_start[ns[has]] + rng.integers(0, cnt[has])
            nxt.append(d.pair_rows[other].ravel())
            for rr in np.concatenate(nxt):
                if rr < d.n_rows and not seen_rows[rr]:
                    seen_rows[rr] = True
                    queue.append(int(rr))
        return np.sort(np.array(out, dtype=np.int64))
