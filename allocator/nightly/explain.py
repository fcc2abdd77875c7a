"""Explanations a broker can act on, for every suggestion of a nightly run.

The explanations themselves are computed once for the whole run by the engine's shared module
:mod:`allocator.core.explain` (the same one ``allocator solve`` uses): per suggested provider,
its weekly cost against the next two eligible alternatives and why each was not chosen (full,
dearer by price, quality or zone, or rejected by a broker); per unmet referral, the cheapest
change that would serve it. This module adds what only the nightly run knows: the book's full
problem (so that alternatives a broker rejected are named as such), the reason codes of
:func:`allocator.core.reasons.explain_unmet`, and people displaced from their current provider.

Everything here is plain data (dicts of numbers and strings) so that it is stored as JSON with
the suggestion and read back by the morning report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from allocator.core.explain import explain
from allocator.core.problem import Problem
from allocator.core.reasons import explain_unmet
from allocator.core.result import Solution
from allocator.core.usage import Usage
from allocator.store.book import Pin


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
        self.solution = solution
        self.rejected = rejected
        self.pins = pins
        self.explained = explain(problem, solution, usage=usage, alternatives_from=full,
                                 rejected=rejected)
        self._unmet: dict[str, dict[str, str]] | None = None

    def pair_cost(self, k: int, usage: Usage | None = None) -> float:
        """Weekly cost of pair ``k`` of the solved problem, with its need's block funding."""
        p = self.p
        u = usage or self.usage
        n = p.pair_need[k]
        frac = float(u.block_q[n] / p.pair_q[k]) if u.chosen[n] == k and p.pair_q[k] > 0 else 0.0
        return float(p.pair_price_q[k] - p.pair_block_saving[k] * frac
                     + p.pair_quality_zone[k])

    def assignment(self, n: int, k: int) -> dict[str, Any]:
        """Why need ``n`` goes to pair ``k`` (of the solved problem)."""
        del k  # the solution's own pair for n; the shared explanations hold it
        out = self.explained.assignment(self.p.need_ids[n])
        h = int(self.p.pair_holder[self.usage.chosen[n]])
        if h >= 0:
            out["block"].update(lot=self.p.lot_ids[self.p.holder_lot[h]],
                                volume=float(self.usage.holder_volume[h]),
                                used=float(self.usage.holder_used[h]))
        return out

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
        blank = {"reason": "", "rule": "", "providers": "", "detail": ""}
        why: dict[str, Any] = dict(self._unmet_reasons().get(nid, blank))
        refused = sorted({prov for (need, prov) in self.rejected if need == nid})
        if refused:
            why["rejected_providers"] = refused
            why["detail"] += f" (brokers rejected {', '.join(refused)} for this need)"
        change = self.explained.change(nid)
        summary = f"{why['reason'].replace('_', ' ')}: {why['detail']}"
        if change.get("sentence"):
            summary += f". Cheapest change: {change['sentence']}"
        return {"summary": summary, **why, "change": change,
                "penalty": float(p.need_penalty[n] * p.need_q[n])}

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
