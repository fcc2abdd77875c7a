"""How a solution uses the market: the pair chosen per need and what each limit has left.

Reports and unmet-need reasons both start from here: capacity used per offer and per provider,
block volume used per block holder, and the quantity each provider serves in each lot (for the
``max_provider_share`` cap). Everything is computed once, vectorised over the chosen pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.core.problem import Problem
from allocator.core.result import Solution


@dataclass(frozen=True, eq=False)
class Usage:
    """A solution laid over one problem's arrays.

    chosen
        Pair index per need, -1 where the need is unmet.
    block_q
        Block-funded quantity per need (0 where none).
    holder_volume
        Block volume per block holder: the contract in force plus any awarded volume.
    offer_use, provider_use
        Capacity used (quantity x travel factor) per offer, and per provider over its
        ``hours`` offers (the only ones provider capacity counts).
    holder_used
        Block-funded quantity per block holder.
    served_in_lot
        Quantity served per (provider, lot) by the lot of each chosen pair, shape
        (n_providers, n_lots).
    """

    problem: Problem
    chosen: np.ndarray
    block_q: np.ndarray
    holder_volume: np.ndarray
    offer_use: np.ndarray
    provider_use: np.ndarray
    holder_used: np.ndarray
    served_in_lot: np.ndarray

    @classmethod
    def of(cls, problem: Problem, solution: Solution) -> Usage:
        """Lay ``solution`` over ``problem``.

        Raises
        ------
        ValueError
            When the solution names an unknown need or offer, or a pair that is not eligible.
        """
        p = problem
        chosen = chosen_pairs(p, solution)
        block_q = np.zeros(p.n_needs)
        need_ix = {nid: i for i, nid in enumerate(p.need_ids)}
        for nid, q in solution.block.items():
            if nid in need_ix and chosen[need_ix[nid]] >= 0:
                block_q[need_ix[nid]] = float(q)
        volume = np.array(p.holder_volume, dtype=float)
        if solution.awards and p.n_holders:
            holder_ix: dict[tuple[str, ...], int] = {
                (p.provider_ids[pi], p.lot_ids[li]): h
                for h, (pi, li) in enumerate(zip(p.holder_provider, p.holder_lot, strict=True))
            }
            for key, v in solution.awards.items():
                h = holder_ix.get(tuple(key))
                if h is not None:
                    volume[h] += float(v)
        sel = chosen[chosen >= 0]
        offer_use = np.bincount(p.pair_offer[sel], weights=p.pair_use[sel], minlength=p.n_offers)
        hours = sel[p.pair_hours[sel]]
        provider_use = np.bincount(
            p.pair_provider[hours], weights=p.pair_use[hours], minlength=p.n_providers
        )
        funded = sel[p.pair_holder[sel] >= 0]
        holder_used = np.bincount(
            p.pair_holder[funded],
            weights=block_q[p.pair_need[funded]],
            minlength=p.n_holders,
        )
        n_lots = len(p.lot_ids)
        served = np.zeros((p.n_providers, n_lots))
        in_lot = sel[p.pair_lot[sel] >= 0]
        np.add.at(served, (p.pair_provider[in_lot], p.pair_lot[in_lot]), p.pair_q[in_lot])
        return cls(
            problem=p,
            chosen=chosen,
            block_q=block_q,
            holder_volume=volume,
            offer_use=offer_use,
            provider_use=provider_use,
            holder_used=holder_used,
            served_in_lot=served,
        )

    @property
    def served(self) -> np.ndarray:
        """Mask of served needs."""
        return self.chosen >= 0


def chosen_pairs(problem: Problem, solution: Solution) -> np.ndarray:
    """Eligible-pair index per need for ``solution.assignment`` (-1 where unmet).

    Vectorised: one dictionary lookup per served need, then a binary search in the pair keys.
    """
    p = problem
    need_ix = {nid: i for i, nid in enumerate(p.need_ids)}
    offer_ix = {oid: i for i, oid in enumerate(p.offer_ids)}
    needs = np.empty(len(solution.assignment), dtype=np.int64)
    offers = np.empty(len(solution.assignment), dtype=np.int64)
    for i, (nid, oid) in enumerate(solution.assignment.items()):
        if nid not in need_ix:
            raise ValueError(f"the solution assigns unknown need {nid!r}")
        if oid not in offer_ix:
            raise ValueError(f"the solution assigns need {nid!r} to unknown offer {oid!r}")
        needs[i], offers[i] = need_ix[nid], offer_ix[oid]
    chosen = np.full(p.n_needs, -1, dtype=np.int64)
    if len(needs) == 0:
        return chosen
    width = max(1, p.n_offers)
    keys = p.pair_need * width + p.pair_offer
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    wanted = needs * width + offers
    if len(sorted_keys):
        pos = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
        found = sorted_keys[pos] == wanted
    else:
        pos, found = np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    if not np.all(found):
        bad = int(np.nonzero(~found)[0][0])
        raise ValueError(
            f"need {p.need_ids[needs[bad]]!r} cannot be served by offer "
            f"{p.offer_ids[offers[bad]]!r}: not an eligible pair"
        )
    chosen[needs] = order[pos]
    return chosen
