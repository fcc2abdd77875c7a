"""The book while a policy runs: who is served where, who waits, and the room left.

:class:`Book` holds the state of one policy in one replication and is the only thing that
changes it: every placement and move goes through :meth:`Book.assign`, which checks
eligibility and every capacity of DESIGN.md section 4 (offer, provider hours, block-only
volume) before anything changes, so a policy cannot break the market's limits. :class:`Night`
is what a policy sees and acts through.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from allocator.core.evaluate import block_funding
from allocator.core.problem import Problem

FUTURE, WAITING, IN_CARE, GONE = 0, 1, 2, 3
# Relative and absolute slack on capacities: MIP answers carry solver tolerances.
TOL = 1e-7


class PolicyError(RuntimeError):
    """A policy asked for something the book cannot do (an ineligible pair, no room, ...)."""


class Book:
    """State of one policy's replay (see the module docstring).

    Parameters
    ----------
    problem
        The replication's whole market (:func:`allocator.simulate.stream.universe`).
    offer_capacity
        Capacity of each offer on day 0 (0 for schemes not yet open).
    """

    def __init__(self, problem: Problem, offer_capacity: np.ndarray):
        p = problem
        self.problem = p
        self.status = np.full(p.n_needs, FUTURE, dtype=np.int8)
        self.pair = np.full(p.n_needs, -1, dtype=np.int64)
        self.wait_since = np.full(p.n_needs, -1, dtype=np.int64)
        self.offer_capacity = np.array(offer_capacity, dtype=float)
        self.provider_capacity = np.array(p.provider_capacity, dtype=float)
        self.holder_volume = np.array(p.holder_volume, dtype=float)
        self.holder_open = np.ones(p.n_holders, dtype=bool)
        self.offer_use = np.zeros(p.n_offers)
        self.provider_use = np.zeros(p.n_providers)
        self.holder_forced = np.zeros(p.n_holders)  # block-only use (framework=false lots)
        self._order, self._start = p.pairs_by_need

    # ------------------------------------------------------------------ views

    def pairs(self, n: int) -> np.ndarray:
        """Eligible pairs of need ``n`` whose offer is open (capacity > 0)."""
        ks = self._order[self._start[n]:self._start[n + 1]]
        return ks[self.offer_capacity[self.problem.pair_offer[ks]] > 0]

    def offer_room(self) -> np.ndarray:
        return self.offer_capacity - self.offer_use

    def provider_room(self) -> np.ndarray:
        return self.provider_capacity - self.provider_use

    def holder_room(self) -> np.ndarray:
        return self.holder_volume - self.holder_forced

    def fits(self, ks: np.ndarray) -> np.ndarray:
        """Whether each pair in ``ks`` fits in the room left now (one at a time)."""
        p = self.problem
        ks = np.asarray(ks, dtype=np.int64)
        use = p.pair_use[ks]
        o = p.pair_offer[ks]
        ok = use <= self.offer_room()[o] + TOL * np.maximum(1.0, self.offer_capacity[o])
        hours = p.pair_hours[ks]
        prov = p.pair_provider[ks]
        cap_p = self.provider_capacity[prov]
        room_p = np.where(np.isinf(cap_p), np.inf, cap_p - self.provider_use[prov])
        ok &= ~hours | (use <= room_p + TOL * np.maximum(1.0, np.where(np.isinf(cap_p), 1, cap_p)))
        forced = p.pair_forced[ks] & (p.pair_holder[ks] >= 0)
        if forced.any():
            h = p.pair_holder[ks]
            room_h = np.where(forced, self.holder_room()[np.maximum(h, 0)], np.inf)
            ok &= ~forced | (p.pair_q[ks] <= room_h + TOL * np.maximum(1.0, room_h))
        return ok

    def in_care(self) -> np.ndarray:
        return np.nonzero(self.status == IN_CARE)[0]

    def waiting(self) -> np.ndarray:
        return np.nonzero(self.status == WAITING)[0]

    def chosen(self) -> np.ndarray:
        """Pair per need for the people in care, -1 for everyone else."""
        return np.where(self.status == IN_CARE, self.pair, -1)

    def block_used(self) -> np.ndarray:
        """Block-funded quantity per holder now (forced first, then dearest first)."""
        p = self.problem
        bq = block_funding(p, self.chosen(), self.holder_volume)
        sel = self.in_care()
        ks = self.pair[sel]
        hk = ks[p.pair_holder[ks] >= 0]
        return np.bincount(p.pair_holder[hk], weights=bq[hk], minlength=p.n_holders)

    # ------------------------------------------------------------------ changes

    def arrive(self, needs: np.ndarray, day: int) -> None:
        self.status[needs] = WAITING
        self.wait_since[needs] = day

    def leave(self, needs: np.ndarray) -> None:
        """Needs that end: people in care free their room."""
        served = needs[self.status[needs] == IN_CARE]
        self._remove(served)
        self.status[needs] = GONE
        self.pair[needs] = -1

    def displace(self, needs: np.ndarray, day: int) -> None:
        """People in care who lose their carer go back to the waiting list."""
        self._remove(needs)
        self.status[needs] = WAITING
        self.pair[needs] = -1
        self.wait_since[needs] = day

    def assign(self, changes: Mapping[int, int], *, who: str = "policy") -> tuple[int, int]:
        """Apply placements (waiting needs) and moves (people in care) all at once.

        Checks that every pair belongs to its need and is open, that the needs are waiting or
        in care, and that no capacity is exceeded once all changes are made (so moves that
        swap places are fine); on any failure nothing changes and :class:`PolicyError` says
        what was wrong. Returns (placements, moves).
        """
        if not changes:
            return 0, 0
        p = self.problem
        needs = np.fromiter(changes.keys(), dtype=np.int64, count=len(changes))
        ks = np.fromiter(changes.values(), dtype=np.int64, count=len(changes))
        bad = (ks < 0) | (ks >= p.n_pairs)
        if bad.any():
            raise PolicyError(f"{who}: need {p.need_ids[needs[bad][0]]}: no such pair")
        wrong = p.pair_need[ks] != needs
        if wrong.any():
            i = int(np.nonzero(wrong)[0][0])
            raise PolicyError(f"{who}: pair {ks[i]} is not one of need {p.need_ids[needs[i]]}'s "
                              "eligible pairs")
        closed = self.offer_capacity[p.pair_offer[ks]] <= 0
        if closed.any():
            i = int(np.nonzero(closed)[0][0])
            raise PolicyError(f"{who}: need {p.need_ids[needs[i]]}: offer "
                              f"{p.offer_ids[p.pair_offer[ks[i]]]} is closed")
        state = self.status[needs]
        if np.any((state != WAITING) & (state != IN_CARE)):
            i = int(np.nonzero((state != WAITING) & (state != IN_CARE))[0][0])
            raise PolicyError(f"{who}: need {p.need_ids[needs[i]]} is not in the book")
        stay = (state == IN_CARE) & (self.pair[needs] == ks)
        needs, ks, state = needs[~stay], ks[~stay], state[~stay]
        movers = needs[state == IN_CARE]
        old = self.pair[movers].copy()
        self._remove(movers)
        self._add(needs, ks)
        problems = self._overloads(p.pair_offer[ks], p.pair_provider[ks], p.pair_holder[ks])
        if problems:
            self._remove(needs)
            self._add(movers, old)
            raise PolicyError(f"{who}: " + "; ".join(problems[:3]))
        self.status[needs] = IN_CARE
        return int(np.count_nonzero(state == WAITING)), len(movers)

    def _add(self, needs: np.ndarray, ks: np.ndarray) -> None:
        p = self.problem
        self.pair[needs] = ks
        np.add.at(self.offer_use, p.pair_offer[ks], p.pair_use[ks])
        hk = ks[p.pair_hours[ks]]
        np.add.at(self.provider_use, p.pair_provider[hk], p.pair_use[hk])
        fk = ks[p.pair_forced[ks] & (p.pair_holder[ks] >= 0)]
        np.add.at(self.holder_forced, p.pair_holder[fk], p.pair_q[fk])

    def _remove(self, needs: np.ndarray) -> None:
        p = self.problem
        ks = self.pair[needs]
        ks = ks[ks >= 0]
        np.subtract.at(self.offer_use, p.pair_offer[ks], p.pair_use[ks])
        hk = ks[p.pair_hours[ks]]
        np.subtract.at(self.provider_use, p.pair_provider[hk], p.pair_use[hk])
        fk = ks[p.pair_forced[ks] & (p.pair_holder[ks] >= 0)]
        np.subtract.at(self.holder_forced, p.pair_holder[fk], p.pair_q[fk])
        self.pair[needs] = -1

    def _overloads(self, offers: np.ndarray, providers: np.ndarray,
                   holders: np.ndarray) -> list[str]:
        p = self.problem
        out = []
        for o in np.unique(offers):
            if self.offer_use[o] > self.offer_capacity[o] + TOL * max(1.0, self.offer_capacity[o]):
                out.append(f"offer {p.offer_ids[o]} would use {self.offer_use[o]:g} of "
                           f"{self.offer_capacity[o]:g}")
        for i in np.unique(providers):
            cap = self.provider_capacity[i]
            if np.isfinite(cap) and self.provider_use[i] > cap + TOL * max(1.0, cap):
                out.append(f"provider {p.provider_ids[i]} would use {self.provider_use[i]:g} "
                           f"of {cap:g} hours")
        for h in np.unique(holders[holders >= 0]):
            vol = self.holder_volume[h]
            if self.holder_forced[h] > vol + TOL * max(1.0, vol):
                out.append(f"block-only volume of {p.provider_ids[p.holder_provider[h]]} in "
                           f"{p.lot_ids[p.holder_lot[h]]} would be {self.holder_forced[h]:g} "
                           f"of {vol:g}")
        return out


class Night:
    """What a policy sees one night, and how it acts.

    Attributes
    ----------
    problem
        The replication's whole market (arrays indexed by need, offer, provider, pair).
    day
        The day (0-based).
    referrals
        Needs to place in this call, in the order they are offered: waiting since the
        earliest day first, then in arrival order. The simulation calls a policy once for the
        first priorities (hospital discharges, urgent) and once for the others.
    moves_made
        People in care moved earlier this night (by the call for the first priorities).
    """

    def __init__(self, book: Book, day: int, referrals: np.ndarray, moves_made: int = 0):
        self.book = book
        self.problem = book.problem
        self.day = day
        self.referrals = referrals
        self.moves_made = moves_made
        self.placed = 0
        self.moved = 0

    def pairs(self, n: int) -> np.ndarray:
        """Eligible pairs of need ``n`` at open offers."""
        return self.book.pairs(n)

    def pairs_with_room(self, n: int) -> np.ndarray:
        """Eligible pairs of need ``n`` that fit in the room left now."""
        ks = self.book.pairs(n)
        return ks[self.book.fits(ks)]

    def current_pair(self, n: int) -> int:
        """Pair serving need ``n`` (-1 if it is not in care)."""
        return int(self.book.pair[n]) if self.book.status[n] == IN_CARE else -1

    def place(self, n: int, k: int) -> None:
        """Place waiting need ``n`` on pair ``k`` (or move it there if it is in care)."""
        self.assign({n: k})

    def assign(self, changes: Mapping[int, int]) -> None:
        """Placements and moves at once (see :meth:`Book.assign`)."""
        placed, moved = self.book.assign(changes)
        self.placed += placed
        self.moved += moved
