"""One night's problem: some of the needs of the replayed market, against the room left.

The simulation builds one :class:`~allocator.core.problem.Problem` per replication holding every
need that will ever be in the book (the instance's needs and every referral of the year) and
every offer that will ever exist (schemes that open later included). A night's model is a cut
of it: the needs to place (and, with moves, a few people in care), the pairs that can still
fit, and the capacities and block volumes left by everyone who stays where they are. The cut
shares the costs and eligibility of the whole, so the exact model of DESIGN.md section 4 built
on it is that section's model of the night with the people in care pinned.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from allocator.core.problem import Problem


def subproblem(
    problem: Problem,
    needs: np.ndarray,
    pair_keep: np.ndarray,
    *,
    offer_capacity: np.ndarray,
    provider_capacity: np.ndarray,
    holder_volume: np.ndarray,
    current_provider: np.ndarray | None = None,
) -> tuple[Problem, np.ndarray]:
    """The problem of ``needs`` only, on the pairs where ``pair_keep`` holds.

    Parameters
    ----------
    problem
        The whole replayed market.
    needs
        Need indices (into ``problem``) of the cut, in the order they get in the cut.
    pair_keep
        Boolean over ``problem``'s pairs: pairs that may be used (pairs of other needs are
        dropped whatever this says).
    offer_capacity, provider_capacity, holder_volume
        What is left for the cut's needs (the capacities of DESIGN.md section 4).
    current_provider
        Provider index of each need of the cut (-1: none); it drives the transfer term. None:
        nobody has a current provider.

    Returns
    -------
    (Problem, np.ndarray)
        The cut, and the index in ``problem`` of each of its pairs.

    Notes
    -----
    The share cap ``policy.max_provider_share`` is dropped: it is a limit on a provider's share
    of a lot's whole demand, which a night's cut does not hold.
    """
    p = problem
    needs = np.asarray(needs, dtype=np.int64)
    need_map = np.full(p.n_needs, -1, dtype=np.int64)
    need_map[needs] = np.arange(len(needs))
    kp = np.nonzero(np.asarray(pair_keep, dtype=bool) & (need_map[p.pair_need] >= 0))[0]
    current = (np.full(len(needs), -1, dtype=np.int64) if current_provider is None
               else np.asarray(current_provider, dtype=np.int64))
    pair_need = need_map[p.pair_need[kp]]
    pair_provider = p.pair_provider[kp]
    cell_lot = p.need_cell_lot[needs]
    in_lot = cell_lot >= 0
    lot_demand = np.bincount(cell_lot[in_lot], weights=p.need_q[needs][in_lot],
                             minlength=len(p.lot_ids))[:len(p.lot_ids)].astype(float)
    pairs: dict[str, Any] = {f: _ro(getattr(p, f)[kp]) for f in _PAIR_FIELDS}
    cut = replace(
        p,
        needs=tuple(p.needs[i] for i in needs),
        need_ids=tuple(p.need_ids[i] for i in needs),
        need_q=_ro(p.need_q[needs]),
        need_zone=_ro(p.need_zone[needs]),
        need_service=_ro(p.need_service[needs]),
        need_complexity=_ro(p.need_complexity[needs]),
        need_care_group=_ro(p.need_care_group[needs]),
        need_penalty=_ro(p.need_penalty[needs]),
        need_current=_ro(current),
        need_cell_lot=_ro(cell_lot),
        lot_demand=_ro(lot_demand),
        offer_capacity=_ro(np.maximum(offer_capacity, 0.0)),
        provider_capacity=_ro(np.maximum(provider_capacity, 0.0)),
        holder_volume=_ro(np.maximum(holder_volume, 0.0)),
        pair_need=_ro(pair_need),
        pair_is_current=_ro(current[pair_need] == pair_provider),
        max_provider_share=None,
        **pairs,
    )
    return cut, kp


# pair arrays that are cut as they are (pair_need and pair_is_current are recomputed)
_PAIR_FIELDS = ("pair_offer", "pair_provider", "pair_lot", "pair_holder", "pair_forced",
                "pair_q", "pair_use", "pair_price_q", "pair_quality_zone", "pair_own_zone",
                "pair_hours")


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a
