"""Exact evaluation of an assignment: block funding, objective terms, feasibility.

Given which pair serves each need (the x of DESIGN.md section 4) and the block volumes, the best
block funding b is separable by block holder (provider, lot): within a holder, every unit of b
on pair k saves ``price`` per unit of quantity and uses one unit of volume, so the optimum is the
fractional knapsack: forced pairs (block-only lots) first, then the dearest prices first. Every
solver's x goes through here, so reported objectives never depend on solver tolerances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.core.problem import Problem
from allocator.core.result import Solution


@dataclass(frozen=True)
class Evaluation:
    """An assignment evaluated on one problem."""

    chosen: np.ndarray  # pair index per need, -1 if unmet
    block_q: np.ndarray  # block-funded quantity per need (0 if none)
    terms: dict[str, float]
    violations: tuple[str, ...]

    @property
    def objective(self) -> float:
        return float(sum(self.terms.values()))

    @property
    def feasible(self) -> bool:
        return not self.violations


def block_funding(problem: Problem, chosen: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """Optimal block-funded quantity per chosen pair, given the holders' volumes.

    Returns an array over pairs (0 where not chosen). Forced pairs are funded in full even if
    that exceeds the volume (the caller reports the violation).
    """
    bq = np.zeros(problem.n_pairs, dtype=float)
    sel = chosen[chosen >= 0]
    if len(sel) == 0 or problem.n_holders == 0:
        return bq
    h = problem.pair_holder[sel]
    m = h >= 0
    sel, h = sel[m], h[m]
    forced = problem.pair_forced[sel]
    q = problem.pair_q[sel]
    bq[sel[forced]] = q[forced]
    used_forced = np.bincount(h[forced], weights=q[forced], minlength=problem.n_holders)
    left = np.maximum(volume - used_forced, 0.0)
    free = ~forced & (problem.pair_block_saving[sel] > 0)
    fs, fh, fq = sel[free], h[free], q[free]
    if len(fs):
        # dearest unit price first (saving per unit of volume), not dearest total saving
        order = np.lexsort((fs, -problem.pair_block_saving[fs] / problem.pair_q[fs], fh))
        fs, fh, fq = fs[order], fh[order], fq[order]
        cum = np.cumsum(fq)
        start_of_holder = np.searchsorted(fh, fh, side="left")
        before = cum - fq - np.where(start_of_holder > 0, cum[start_of_holder - 1], 0.0)
        bq[fs] = np.clip(left[fh] - before, 0.0, fq)
    return bq


def evaluate(
    problem: Problem,
    chosen: np.ndarray,
    *,
    volume: np.ndarray | None = None,
    block_cost: float | None = None,
    tol: float = 1e-6,
) -> Evaluation:
    """Evaluate pair choice ``chosen`` (one entry per need, -1 = unmet) on ``problem``.

    ``volume`` is the block volume per holder (contracts in force by default) and
    ``block_cost`` the block term (the fixed contracts' cost by default).
    """
    p = problem
    chosen = np.asarray(chosen, dtype=np.int64)
    vol = p.holder_volume if volume is None else np.asarray(volume, dtype=float)
    sel = chosen[chosen >= 0]
    bq = block_funding(p, chosen, vol)
    frac = np.divide(bq[sel], p.pair_q[sel], out=np.zeros(len(sel)), where=p.pair_q[sel] > 0)
    # price * q * (x - b); in reservation lots the saving is 0, so the price is always paid
    framework = float(np.sum(p.pair_price_q[sel] - p.pair_block_saving[sel] * frac))
    quality_zone = float(np.sum(p.pair_quality_zone[sel]))
    unmet_mask = chosen < 0
    unmet = float(np.dot(p.need_penalty[unmet_mask], p.need_q[unmet_mask]))
    kept = np.zeros(p.n_needs, dtype=bool)
    kept[p.pair_need[sel]] = p.pair_is_current[sel]
    transfer = p.transfer_penalty * float(np.count_nonzero((p.need_current >= 0) & ~kept))
    terms = {
        "block": p.fixed_block_cost if block_cost is None else float(block_cost),
        "framework": framework,
        "quality_zone": quality_zone,
        "unmet": unmet,
        "transfer": transfer,
    }
    violations = _violations(p, chosen, sel, bq, vol, tol)
    block_q = np.zeros(p.n_needs)
    block_q[p.pair_need[sel]] = bq[sel]
    return Evaluation(chosen=chosen, block_q=block_q, terms=terms, violations=violations)


def _violations(
    p: Problem, chosen: np.ndarray, sel: np.ndarray, bq: np.ndarray, vol: np.ndarray, tol: float
) -> tuple[str, ...]:
    out: list[str] = []
    if np.any(p.pair_need[sel] != np.nonzero(chosen >= 0)[0]):
        out.append("a chosen pair does not belong to its need")
    use_o = np.bincount(p.pair_offer[sel], weights=p.pair_use[sel], minlength=p.n_offers)
    for o in np.nonzero(use_o > p.offer_capacity + tol * np.maximum(1, p.offer_capacity))[0]:
        out.append(f"offer {p.offer_ids[o]}: uses {use_o[o]:g} > capacity {p.offer_capacity[o]:g}")
    hs = sel[p.pair_hours[sel]]
    use_p = np.bincount(p.pair_provider[hs], weights=p.pair_use[hs], minlength=p.n_providers)
    cap = p.provider_capacity
    for i in np.nonzero(use_p > cap + tol * np.maximum(1, np.where(np.isinf(cap), 1, cap)))[0]:
        out.append(f"provider {p.provider_ids[i]}: uses {use_p[i]:g} > capacity {cap[i]:g}")
    if p.n_holders:
        hsel = sel[p.pair_holder[sel] >= 0]
        used = np.bincount(p.pair_holder[hsel], weights=bq[hsel], minlength=p.n_holders)
        for h in np.nonzero(used > vol + tol * np.maximum(1, vol))[0]:
            out.append(
                f"block {p.provider_ids[p.holder_provider[h]]} in lot {p.lot_ids[p.holder_lot[h]]}:"
                f" block-funded {used[h]:g} > volume {vol[h]:g}"
            )
    s = p.max_provider_share
    if s is not None:
        lsel = sel[p.pair_lot[sel] >= 0]
        nl = max(1, len(p.lot_ids))
        key = p.pair_provider[lsel] * nl + p.pair_lot[lsel]
        tot = np.bincount(key, weights=p.pair_q[lsel], minlength=p.n_providers * nl)
        for k in np.nonzero(tot > 0)[0]:
            prov, lot = divmod(int(k), nl)
            cap_l = s * p.lot_demand[lot]
            if p.lot_demand[lot] > 0 and tot[k] > cap_l + tol * max(1.0, cap_l):
                out.append(
                    f"provider {p.provider_ids[prov]} serves {tot[k]:g} in lot {p.lot_ids[lot]}"
                    f" > max share {s:g} x demand {p.lot_demand[lot]:g}"
                )
    return tuple(out)


def to_solution(problem: Problem, ev: Evaluation) -> Solution:
    """The evaluated assignment in the instance's ids."""
    p = problem
    served = np.nonzero(ev.chosen >= 0)[0]
    assignment = {p.need_ids[n]: p.offer_ids[p.pair_offer[ev.chosen[n]]] for n in served}
    block = {p.need_ids[n]: float(ev.block_q[n]) for n in served if ev.block_q[n] > 0}
    return Solution(assignment=assignment, block=block)


def chosen_from_solution(problem: Problem, solution: Solution) -> np.ndarray:
    """Pair index per need from a Solution (-1 unmet); raises KeyError on an ineligible pair."""
    p = problem
    order, start = p.pairs_by_need
    offer_ix = {o: i for i, o in enumerate(p.offer_ids)}
    chosen = np.full(p.n_needs, -1, dtype=np.int64)
    for n, nid in enumerate(p.need_ids):
        oid = solution.assignment.get(nid)
        if oid is None:
            continue
        ks = order[start[n]:start[n + 1]]
        hit = ks[p.pair_offer[ks] == offer_ix[oid]]
        if len(hit) == 0:
            raise KeyError(f"need {nid} cannot be served by offer {oid}: not an eligible pair")
        chosen[n] = hit[0]
    return chosen
