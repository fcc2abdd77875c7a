"""Explanations a broker can act on, for every suggestion of a nightly run.

Per suggested provider: why this one - its weekly cost against the next two eligible
alternatives (and why each was not chosen: dearer, full, or rejected by a broker), the block
volume it used, its quality.

Per unmet referral: why nobody (:func:`allocator.core.reasons.explain_unmet`: no eligible offer and
which rule excluded whom, every eligible provider full, or dearer than its penalty) and the
cheapest change that would serve it: the eligible offer needing the smallest extra capacity
(ties: the cheapest), i.e. which provider would need how many more hours (or beds) a week.

Everything here is plain data (dicts of numbers and strings) so that it is stored as JSON with
the suggestion and read back by the morning report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from allocator.core.problem import Problem
from allocator.core.reasons import explain_unmet, money
from allocator.core.result import Solution
from allocator.core.usage import Usage
from allocator.instance.schema import UNIT_OF_KIND
from allocator.store.book import Pin

ALTERNATIVES = 2


class Explainer:
    """Explains one run's allocation.

    Parameters
    ----------
    full
        The book's problem with every eligible pair (alternatives are looked for here).
    problem
        The problem the run solved (rejected pairs removed, pins applied).
    usage
        The solution laid over ``problem``.
    solution
        The run's allocation.
    rejected
        (need, provider) pairs rejected by brokers.
    pins
        Active need id -> current assignment.
    """

    def __init__(self, full: Problem, problem: Problem, usage: Usage, solution: Solution,
                 rejected: set[tuple[str, str]], pins: Mapping[str, Pin]) -> None:
        self.full = full
        self.p = problem
        self.usage = usage
        self.full_usage = Usage.of(full, solution)
        self.solution = solution
        self.rejected = rejected
        self.pins = pins
        self.currency = full.instance.currency
        self._unmet: dict[str, dict[str, str]] | None = None

    # ----------------------------------------------------------------- helpers

    def pair_cost(self, k: int, usage: Usage | None = None) -> float:
        """Weekly cost of pair ``k`` of the solved problem, with its need's block funding."""
        p = self.p
        u = usage or self.usage
        n = p.pair_need[k]
        frac = float(u.block_q[n] / p.pair_q[k]) if u.chosen[n] == k and p.pair_q[k] > 0 else 0.0
        return float(p.pair_price_q[k] - p.pair_block_saving[k] * frac
                     + p.pair_quality_zone[k])

    def _money(self, amount: float) -> str:
        return money(amount, self.currency)

    def _room(self, k: int, n: int) -> tuple[bool, str]:
        """Whether full-problem pair ``k`` had room for need ``n`` in the run's solution."""
        f, u = self.full, self.full_usage
        o, prov = f.pair_offer[k], f.pair_provider[k]
        use = float(f.pair_use[k])
        unit = "beds" if not f.pair_hours[k] else "hours"
        offer_left = float(f.offer_capacity[o] - u.offer_use[o])
        if use > offer_left + 1e-9:
            return False, (f"full: offer {f.offer_ids[o]} has {max(0.0, offer_left):g} {unit}"
                           f" left, the need takes {use:g}")
        if f.pair_hours[k] and np.isfinite(f.provider_capacity[prov]):
            left = float(f.provider_capacity[prov] - u.provider_use[prov])
            if use > left + 1e-9:
                return False, (f"full: provider {f.provider_ids[prov]} has {max(0.0, left):g}"
                               f" hours left in all, the need takes {use:g}")
        h = f.pair_holder[k]
        if f.pair_forced[k] and h >= 0:
            left = float(u.holder_volume[h] - u.holder_used[h])
            if f.pair_q[k] > left + 1e-9:
                return False, f"full: block volume has {max(0.0, left):g} left (block-only lot)"
        del n
        return True, "had room"

    # ----------------------------------------------------------------- served

    def assignment(self, n: int, k: int) -> dict[str, Any]:
        """Why need ``n`` goes to pair ``k`` (of the solved problem)."""
        p, f = self.p, self.full
        nid = p.need_ids[n]
        prov = int(p.pair_provider[k])
        cost = self.pair_cost(k)
        q = float(p.need_q[n])
        unit = UNIT_OF_KIND[p.needs[n].kind]
        block: dict[str, Any] = {"quantity": float(self.usage.block_q[n])}
        h = int(p.pair_holder[k])
        if h >= 0:
            block.update(lot=p.lot_ids[p.holder_lot[h]], volume=float(self.usage.holder_volume[h]),
                         used=float(self.usage.holder_used[h]))
        chosen_offer = int(p.pair_offer[k])
        order, start = f.pairs_by_need
        ks = order[start[n]:start[n + 1]]
        ks = ks[f.pair_offer[ks] != chosen_offer]
        ks = ks[np.lexsort((f.pair_offer[ks], f.pair_cost_x[ks]))]
        alternatives = []
        for j in ks[:ALTERNATIVES]:
            aprov = f.provider_ids[f.pair_provider[j]]
            alt_cost = float(f.pair_cost_x[j])
            if (nid, aprov) in self.rejected:
                status = "rejected by a broker"
            else:
                fits, status = self._room(int(j), n)
                if fits:
                    status = ("had room, dearer" if alt_cost > cost + 1e-9
                              else "had room, but the allocation as a whole is cheaper this way")
            alternatives.append({
                "provider": aprov, "offer": f.offer_ids[f.pair_offer[j]],
                "zone": f.zone_ids[f.offer_zone[f.pair_offer[j]]],
                "quality": float(f.provider_quality[f.pair_provider[j]]),
                "cost": alt_cost, "extra_cost": alt_cost - cost, "status": status,
            })
        pid = p.provider_ids[prov]
        summary = f"{pid} at {self._money(cost)} a week (quality {p.provider_quality[prov]:g})"
        if block["quantity"] > 0:
            summary += f", {block['quantity']:g} of {q:g} {unit} out of its block volume"
        if alternatives:
            summary += "; next: " + "; ".join(
                f"{a['provider']} {self._money(a['cost'])} ({a['status']})" for a in alternatives)
        else:
            summary += "; the only eligible provider"
        return {
            "summary": summary,
            "provider": pid, "offer": p.offer_ids[p.pair_offer[k]],
            "zone": p.zone_ids[p.offer_zone[p.pair_offer[k]]],
            "quality": float(p.provider_quality[prov]), "cost": cost,
            "unit_cost": cost / q if q else None, "block": block, "alternatives": alternatives,
        }

    # ----------------------------------------------------------------- unmet

    def _unmet_reasons(self) -> dict[str, dict[str, str]]:
        if self._unmet is None:
            frame = explain_unmet(self.p, self.solution, usage=self.usage)
            self._unmet = {row["need"]: {"reason": row["reason"], "rule": row["rule"],
                                         "providers": row["named_providers"],
                                         "detail": row["detail"]}
                           for row in frame.to_dict("records")}
        return self._unmet

    def unmet(self, n: int) -> dict[str, Any]:
        """Why nobody takes need ``n``, and the cheapest change that would serve it."""
        p = self.p
        nid = p.need_ids[n]
        why = dict(self._unmet_reasons().get(nid, {"reason": "", "rule": "", "providers": "",
                                                    "detail": ""}))
        refused = sorted({prov for (need, prov) in self.rejected if need == nid})
        if refused:
            why["rejected_providers"] = refused
            why["detail"] += f" (brokers rejected {', '.join(refused)} for this need)"
        change = self.cheapest_change(n)
        summary = f"{why['reason'].replace('_', ' ')}: {why['detail']}"
        if change.get("sentence"):
            summary += f". Cheapest change: {change['sentence']}"
        return {"summary": summary, **why, "change": change,
                "penalty": float(p.need_penalty[n] * p.need_q[n])}

    def cheapest_change(self, n: int) -> dict[str, Any]:
        """The eligible offer with the smallest capacity shortfall for need ``n`` (ties: the
        cheapest), and how much more its provider would need."""
        p, u = self.p, self.usage
        order, start = p.pairs_by_need
        ks = order[start[n]:start[n + 1]]
        unit = UNIT_OF_KIND[p.needs[n].kind]
        if len(ks) == 0:
            return {"kind": "eligibility",
                    "sentence": "no provider is eligible: recruit one for this service,"
                                " complexity and care group in the need's zones, or widen"
                                " its acceptable zones"}
        use = p.pair_use[ks]
        o, prov = p.pair_offer[ks], p.pair_provider[ks]
        offer_short = np.maximum(0.0, use - (p.offer_capacity[o] - u.offer_use[o]))
        pcap = p.provider_capacity[prov]
        prov_left = np.where(np.isfinite(pcap), pcap - u.provider_use[prov], np.inf)
        prov_short = np.where(p.pair_hours[ks], np.maximum(0.0, use - prov_left), 0.0)
        h = p.pair_holder[ks]
        block_short = np.zeros(len(ks))
        if p.n_holders:
            hh = np.maximum(h, 0)
            left = u.holder_volume[hh] - u.holder_used[hh]
            block_short = np.where(p.pair_forced[ks] & (h >= 0),
                                   np.maximum(0.0, p.pair_q[ks] - left), 0.0)
        share_short = np.zeros(len(ks))
        lot = p.pair_lot[ks]
        if p.max_provider_share is not None and len(p.lot_ids):
            ll = np.maximum(lot, 0)
            d = np.where(lot >= 0, p.lot_demand[ll], 0.0)
            s_left = p.max_provider_share * d - u.served_in_lot[prov, ll]
            share_short = np.where((lot >= 0) & (d > 0),
                                   np.maximum(0.0, p.pair_q[ks] - s_left), 0.0)
        short = np.maximum.reduce([offer_short, prov_short, block_short, share_short])
        cost = p.pair_cost_x[ks]
        best = int(np.lexsort((o, cost, short))[0])
        k = int(ks[best])
        pid = p.provider_ids[prov[best]]
        zone = p.zone_ids[p.offer_zone[o[best]]]
        penalty = float(p.need_penalty[n] * p.need_q[n])
        out: dict[str, Any] = {
            "provider": pid, "offer": p.offer_ids[o[best]], "zone": zone,
            "cost": float(cost[best]), "offer_shortfall": float(offer_short[best]),
            "provider_shortfall": float(prov_short[best]),
            "block_shortfall": float(block_short[best]),
            "share_shortfall": float(share_short[best]), "extra": float(short[best]),
            "unit": unit, "penalty": penalty,
        }
        del k
        if short[best] > 1e-9:
            where = []
            if offer_short[best] > 1e-9:
                where.append(f"{offer_short[best]:g} more {unit} a week on offer"
                             f" {p.offer_ids[o[best]]} in {zone}")
            if prov_short[best] > 1e-9:
                where.append(f"{prov_short[best]:g} more hours a week in its total capacity")
            if block_short[best] > 1e-9:
                where.append(f"{block_short[best]:g} more {unit} of block volume")
            if share_short[best] > 1e-9:
                where.append(f"{share_short[best]:g} more {unit} under the max provider share"
                             f" in lot {p.lot_ids[lot[best]]}")
            out["kind"] = "capacity"
            out["sentence"] = (f"{pid} would need {' and '.join(where)} to take it, at"
                               f" {self._money(float(cost[best]))} a week")
        else:
            per_unit = float(cost[best] / p.need_q[n])
            out["kind"] = "penalty"
            out["sentence"] = (f"{pid} has room at {self._money(float(cost[best]))} a week,"
                               f" more than the unmet penalty {self._money(penalty)}: a penalty"
                               f" above {self._money(per_unit)} per {unit[:-1]} for priority"
                               f" {p.needs[n].priority} would serve it")
        return out

    # ----------------------------------------------------------------- displaced

    def displaced(self, n: int) -> dict[str, Any]:
        """Why an active need cannot stay with its current provider (its pair is ineligible)."""
        from allocator.core.check import ineligibility

        nid = self.p.need_ids[n]
        pin = self.pins[nid]
        inst = self.full.instance
        need = self.p.needs[n]
        providers = {pr.id: pr for pr in inst.providers}
        reasons = []
        for offer in inst.offers:
            if offer.provider != pin.provider or offer.service != need.service:
                continue
            why = ineligibility(need, offer, providers[offer.provider],
                                inst.policy.min_framework_quality)
            if why:
                reasons.append(f"{offer.key}: {why}")
        text = (f"{pin.provider} can no longer serve this need under the book's rules"
                + (f" ({'; '.join(reasons[:2])})" if reasons else ""))
        return {"provider": pin.provider, "offer": pin.offer, "reason": text}
