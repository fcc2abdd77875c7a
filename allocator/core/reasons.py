"""Why each unmet need is unmet, in terms a broker can act on (DESIGN.md section 6).

Every unmet need gets one reason code and a sentence:

``no_eligible_offer``
    No offer in the need's acceptable zones may take it. The sentence names the rule that
    excluded each candidate (``rule`` column): ``zone`` (no offer at all there), ``service``,
    ``unit`` (hours vs beds), ``complexity``, ``care_group``, ``quality``
    (``min_framework_quality``), ``lot_quality`` (the ``min_quality`` of the lot holding the
    cell, DESIGN.md 9.2) or ``block_only`` (a lot with ``framework=false`` where the
    provider holds no block). Fix: recruit a provider, widen the acceptable zones.
``capacity_exhausted``
    Eligible offers exist but, in this solution, none has room left for the need. The sentence
    names each provider and the limit that is full (``offer_capacity``, ``provider_capacity``,
    ``block_volume`` in a block-only lot, ``max_provider_share``, ``not_awarded``: an offer
    that exists only with a block in a lot its provider does not hold, DESIGN.md 9.1). Fix: buy
    more capacity (or award that block).
``cheaper_unmet``
    An eligible offer had room, but serving the need costs more than leaving it unmet under the
    current penalties; the sentence gives both figures. Fix: raise the penalty, or negotiate.
``not_optimised``
    An eligible offer had room and serving would have been cheaper (or, under the lexicographic
    objective, would have reduced unmet need): the solution is not optimal (a time-limited or
    heuristic solve). Re-solve for longer.

The reasons are computed from the instance's rules and the solution's usage directly; they do
not depend on any solver.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd

from allocator.core.problem import Problem
from allocator.core.result import Solution
from allocator.core.usage import Usage
from allocator.instance.schema import COMPLEXITY_RANK, UNIT_OF_KIND

REASONS = ("no_eligible_offer", "capacity_exhausted", "cheaper_unmet", "not_optimised")
LIMITS = ("not_awarded", "offer_capacity", "provider_capacity", "block_volume",
          "max_provider_share")
RULES = ("unit", "complexity", "care_group", "quality", "lot_quality", "block_only", "other")
COLUMNS = (
    "need", "zone", "service", "complexity", "care_group", "quantity", "unit", "priority",
    "penalty", "reason", "rule", "named_providers", "detail",
)
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def money(amount: float, currency: str = "GBP") -> str:
    """``£1,234.50`` (or ``CHF 1,234.50`` for a currency without a symbol here)."""
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"


def explain_unmet(
    problem: Problem,
    solution: Solution,
    *,
    objective: str | None = None,
    usage: Usage | None = None,
    tol: float = 1e-6,
) -> pd.DataFrame:
    """One row per unmet need with its reason (see the module docstring).

    Parameters
    ----------
    problem
        The problem the solution was computed on.
    solution
        The allocation; a need absent from ``solution.assignment`` is unmet.
    objective
        ``"weighted"`` or ``"lexicographic"``: the objective the solve used (the instance's
        policy when None). Under the lexicographic objective any room left for a need with a
        positive penalty means the solution is not optimal.
    usage
        The solution's usage, if already computed.
    tol
        Relative tolerance for "fits in what is left" (as the model's rows).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: quantity in hours or beds (``unit``), ``penalty`` the weekly
        unmet penalty of the need, ``named_providers`` the providers the sentence names
        (``;``-separated), ``detail`` the sentence.
    """
    p = problem
    u = usage if usage is not None else Usage.of(p, solution)
    kind = objective or p.objective_kind
    currency = p.instance.currency
    unmet = np.nonzero(u.chosen < 0)[0]
    order, start = p.pairs_by_need
    counts = start[unmet + 1] - start[unmet]
    explained: dict[int, tuple[str, str, list[str], str]] = {}

    ineligible = _Ineligibility(p)
    for n in unmet[counts == 0]:
        explained[int(n)] = ("no_eligible_offer", *ineligible.explain(int(n)))

    with_pairs = unmet[counts > 0]
    if len(with_pairs):
        c = counts[counts > 0]
        offs = np.concatenate([[0], np.cumsum(c)])
        ks = order[np.repeat(start[with_pairs], c) + np.arange(offs[-1]) - np.repeat(offs[:-1], c)]
        full, left, need_of = _limits(p, u, ks, tol)
        serve, leave = _marginal_costs(p, u, ks, with_pairs, c)
        for i, n in enumerate(with_pairs):
            sl = slice(offs[i], offs[i + 1])
            explained[int(n)] = _explain_with_pairs(
                p, int(n), ks[sl], {k: v[sl] for k, v in full.items()},
                {k: v[sl] for k, v in left.items()}, {k: v[sl] for k, v in need_of.items()},
                serve[sl], leave[i], kind, currency, tol,
            )

    rows = []
    for n in unmet:
        need = p.needs[n]
        reason, rule, providers, detail = explained[int(n)]
        rows.append({
            "need": need.id, "zone": need.zone, "service": need.service,
            "complexity": need.complexity, "care_group": need.care_group,
            "quantity": float(p.need_q[n]), "unit": UNIT_OF_KIND[need.kind],
            "priority": need.priority, "penalty": float(p.need_penalty[n] * p.need_q[n]),
            "reason": reason, "rule": rule, "named_providers": ";".join(providers),
            "detail": detail,
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


# ---------------------------------------------------------------------- no eligible offer


class _Ineligibility:
    """Names the rule that excludes each candidate offer of a need with no eligible pair."""

    def __init__(self, problem: Problem):
        self.p = problem
        inst = problem.instance
        self.by_zone: dict[str, list[int]] = defaultdict(list)
        for o, offer in enumerate(inst.offers):
            self.by_zone[offer.zone].append(o)
        self.cell_lot: dict[tuple[str, str, str], int] = {}
        for li, lot in enumerate(inst.lots):
            for z in lot.zones:
                for s in lot.services:
                    for cx in lot.complexities:
                        self.cell_lot[(z, s, cx)] = li
        self.holders = set(
            zip(problem.holder_provider.tolist(), problem.holder_lot.tolist(), strict=True)
        )

    def explain(self, n: int) -> tuple[str, list[str], str]:
        p, inst = self.p, self.p.instance
        need = p.needs[n]
        zones = list(dict.fromkeys(need.zones))
        where = _zones_phrase(zones)
        candidates = [o for z in zones for o in self.by_zone.get(z, [])]
        if not candidates:
            return "zone", [], f"no offer of any service in {where}"
        same = [o for o in candidates if inst.offers[o].service == need.service]
        if not same:
            others = sorted({inst.offers[o].service for o in candidates})
            return "service", [], (
                f"no offer of {need.service} in {where} (offers there: {', '.join(others)})"
            )
        excluded: dict[str, list[int]] = defaultdict(list)
        for o in same:
            excluded[self._rule(need, o)].append(o)
        parts, providers = [], []
        for rule in RULES:
            offers = excluded.get(rule)
            if not offers:
                continue
            names = list(dict.fromkeys(inst.offers[o].provider for o in offers))
            providers += names
            parts.append(f"{self._phrase(rule, need, offers)}: {_names(names)}")
        rules = [r for r in RULES if r in excluded]
        if len(same) == 1:  # "the only offer ... cannot take it: it takes at most complex"
            head = f"the only offer of {need.service} in {where} cannot take it: "
            parts = ["it" + part[1:] if part.startswith("1 ") else part for part in parts]
        else:
            head = f"none of the {len(same)} offers of {need.service} in {where} may take it: "
        detail = head + "; ".join(parts)
        return ",".join(rules), list(dict.fromkeys(providers)), detail

    def _rule(self, need, o: int) -> str:
        p = self.p
        offer = p.instance.offers[o]
        if offer.unit != UNIT_OF_KIND[need.kind]:
            return "unit"
        if COMPLEXITY_RANK[need.complexity] > COMPLEXITY_RANK[offer.max_complexity]:
            return "complexity"
        if offer.care_groups and need.care_group not in offer.care_groups:
            return "care_group"
        prov = p.offer_provider[o]
        if p.provider_quality[prov] < p.instance.policy.min_framework_quality:
            return "quality"
        li = self.cell_lot.get((offer.zone, need.service, need.complexity))
        if li is not None and p.provider_quality[prov] < p.lot_min_quality[li]:
            return "lot_quality"
        if li is not None and not p.lot_framework[li] and (int(prov), li) not in self.holders:
            return "block_only"
        return "other"  # cannot happen while this module and Problem agree

    def _phrase(self, rule: str, need, offers: list[int]) -> str:
        p, inst = self.p, self.p.instance
        k = len(offers)
        if rule == "unit":
            return (f"{_count(k, 'sells', 'sell')} {inst.offers[offers[0]].unit}, "
                    f"not {UNIT_OF_KIND[need.kind]}")
        if rule == "complexity":
            caps = sorted({inst.offers[o].max_complexity for o in offers},
                          key=COMPLEXITY_RANK.__getitem__)
            return (f"{_count(k, 'takes', 'take')} at most {' or '.join(caps)} "
                    f"(the need is {need.complexity})")
        if rule == "care_group":
            return f"{_count(k, 'does', 'do')} not take care group {need.care_group}"
        if rule == "quality":
            q = min(p.provider_quality[p.offer_provider[o]] for o in offers)
            return (f"{_count(k, 'is', 'are')} from providers below min_framework_quality "
                    f"{inst.policy.min_framework_quality:g} (lowest {q:g})")
        if rule == "lot_quality":
            lots = {self.cell_lot[(inst.offers[o].zone, need.service, need.complexity)]
                    for o in offers}
            shown = ", ".join(f"{p.lot_ids[li]} ({p.lot_min_quality[li]:g})" for li in sorted(lots))
            q = min(p.provider_quality[p.offer_provider[o]] for o in offers)
            return (f"{_count(k, 'is', 'are')} from providers below the min_quality of lot "
                    f"{shown} (lowest {q:g})")
        if rule == "block_only":
            lot_names = sorted({p.lot_ids[self.cell_lot[(inst.offers[o].zone, need.service,
                                                           need.complexity)]] for o in offers})
            return (f"{_count(k, 'is', 'are')} in block-only lot {', '.join(lot_names)} where the "
                    "provider holds no block")
        return f"{_count(k, 'is', 'are')} excluded"


# ---------------------------------------------------------------------- with eligible pairs


def _limits(
    p: Problem, u: Usage, ks: np.ndarray, tol: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per pair in ``ks``: which limits leave no room for its need, what is left, what it needs."""
    use, q = p.pair_use[ks], p.pair_q[ks]
    o, prov = p.pair_offer[ks], p.pair_provider[ks]
    cap = p.offer_capacity[o]
    off_left = cap - u.offer_use[o]
    pcap = p.provider_capacity[prov]
    p_left = pcap - u.provider_use[prov]
    finite = np.where(np.isfinite(pcap), pcap, 1.0)
    h = p.pair_holder[ks]
    hh = np.maximum(h, 0)
    vol = np.where(h >= 0, u.holder_volume[hh] if p.n_holders else 0.0, 0.0)
    b_left = np.where(h >= 0, vol - (u.holder_used[hh] if p.n_holders else 0.0), 0.0)
    lot = p.pair_lot[ks]
    s = p.max_provider_share
    if s is not None and len(p.lot_ids):
        d = np.where(lot >= 0, p.lot_demand[np.maximum(lot, 0)], 0.0)
        s_cap = s * d
        s_left = s_cap - np.where(lot >= 0, u.served_in_lot[prov, np.maximum(lot, 0)], 0.0)
        share_full = (lot >= 0) & (d > 0) & (q > s_left + tol * np.maximum(1.0, s_cap))
    else:
        s_left = np.full(len(ks), np.inf)
        share_full = np.zeros(len(ks), dtype=bool)
    # an offer that exists only with a block its provider does not hold (DESIGN.md 9.1)
    gone = (p.offer_award_lot[o] >= 0) & (cap <= 0)
    full = {
        "not_awarded": gone,
        "offer_capacity": ~gone & (use > off_left + tol * np.maximum(1.0, cap)),
        "provider_capacity": p.pair_hours[ks] & (use > p_left + tol * np.maximum(1.0, finite)),
        "block_volume": p.pair_forced[ks] & (q > b_left + tol * np.maximum(1.0, vol)),
        "max_provider_share": share_full,
    }
    left = {"not_awarded": np.zeros(len(ks)), "offer_capacity": off_left,
            "provider_capacity": p_left, "block_volume": b_left, "max_provider_share": s_left}
    need_of = {"not_awarded": use, "offer_capacity": use, "provider_capacity": use,
               "block_volume": q, "max_provider_share": q}
    return full, left, need_of


def _marginal_costs(
    p: Problem, u: Usage, ks: np.ndarray, needs: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weekly cost of serving each need by each pair (given the rest) and of leaving it unmet."""
    q = p.pair_q[ks]
    h = p.pair_holder[ks]
    qz = p.pair_quality_zone[ks]
    price = p.pair_cost_x[ks] - qz
    if p.n_holders:
        hh = np.maximum(h, 0)
        b_left = np.maximum(u.holder_volume[hh] - u.holder_used[hh], 0.0)
        frac = np.clip(b_left / q, 0.0, 1.0)
        price = price - np.where(~p.pair_forced[ks] & (h >= 0), p.pair_block_saving[ks] * frac, 0)
    has_current = p.need_current[needs] >= 0
    t = p.transfer_penalty
    serve = price + qz + t * (np.repeat(has_current, counts) & ~p.pair_is_current[ks])
    leave = p.need_penalty[needs] * p.need_q[needs] + t * has_current
    return serve, leave


def _explain_with_pairs(
    p: Problem, n: int, ks: np.ndarray, full: dict[str, np.ndarray], left: dict[str, np.ndarray],
    need_of: dict[str, np.ndarray], serve: np.ndarray, leave: float, kind: str, currency: str,
    tol: float,
) -> tuple[str, str, list[str], str]:
    blocked = np.zeros(len(ks), dtype=bool)
    for mask in full.values():
        blocked |= mask
    unit = UNIT_OF_KIND[p.needs[n].kind]
    if np.all(blocked):
        return _exhausted(p, ks, full, left, need_of, unit)
    room = np.nonzero(~blocked)[0]
    best = room[np.argmin(serve[room])]
    k = ks[best]
    prov = p.provider_ids[p.pair_provider[k]]
    zone = p.zone_ids[p.offer_zone[p.pair_offer[k]]]
    cost, penalty = float(serve[best]), float(leave)
    serve_s, leave_s = money(cost, currency), money(penalty, currency)
    transfer = ""
    if p.need_current[n] >= 0 and p.transfer_penalty > 0:
        transfer = f", plus the transfer penalty {money(p.transfer_penalty, currency)}"
    lexi_loss = kind == "lexicographic" and p.need_penalty[n] > 0
    if lexi_loss or cost < penalty - tol * max(1.0, abs(penalty)):
        why = ("unmet need comes first under the lexicographic objective" if lexi_loss else
               f"cheaper than leaving it unmet ({leave_s} a week)")
        detail = (f"{prov} in {zone} had room and serving would cost {serve_s} a week, {why}: "
                  "the solution is not optimal; re-solve for longer")
        return "not_optimised", "", [prov], detail
    detail = (f"the cheapest offer with room, {prov} in {zone}, would cost {serve_s} a week; "
              f"leaving it unmet costs {leave_s} a week (unmet penalty "
              f"{money(float(p.need_penalty[n]), currency)} per {unit[:-1]} for priority "
              f"{p.needs[n].priority}{transfer})")
    return "cheaper_unmet", "", [prov], detail


def _exhausted(
    p: Problem, ks: np.ndarray, full: dict[str, np.ndarray], left: dict[str, np.ndarray],
    need_of: dict[str, np.ndarray], unit: str, shown: int = 5,
) -> tuple[str, str, list[str], str]:
    """capacity_exhausted: every full offer's provider and limit, the nearest to fitting first."""
    entries = []
    # a provider with two offers in one zone (two services or complexities) is named by offer
    # there, so that the list does not read "P1554 in C07-Z3 (...); P1554 in C07-Z3 (...)"
    where = [(int(p.pair_provider[k]), int(p.offer_zone[p.pair_offer[k]])) for k in ks]
    twice = {w for w in where if where.count(w) > 1}
    for j, k in enumerate(ks):
        hit = [lim for lim in LIMITS if full[lim][j]]
        # the tightest limit: the largest shortfall between what is left and what is needed
        tight = max(hit, key=lambda lim: need_of[lim][j] - left[lim][j])
        shortfall = need_of[tight][j] - left[tight][j]
        names = " and ".join(lim.replace("_", " ") for lim in hit)
        prov = p.provider_ids[p.pair_provider[k]]
        zone = p.zone_ids[p.offer_zone[p.pair_offer[k]]]
        key = p.offer_ids[p.pair_offer[k]]  # a scheme's id, or provider/zone/service
        label = f"{prov} in {zone}" if where[j] not in twice else \
            f"{prov} ({key.rsplit('/', 1)[-1]}) in {zone}"
        if "not_awarded" in hit:
            lot = p.lot_ids[p.offer_award_lot[p.pair_offer[k]]]
            text = (f"{prov} in {zone} (offer {p.offer_ids[p.pair_offer[k]]} exists only with "
                    f"a block in lot {lot}, which {prov} does not hold)")
        else:
            # capacity is used with travel time (q tf): say so when it differs from the need
            q = float(p.need_q[p.pair_need[k]])
            needs = quantity(need_of[tight][j])
            if abs(need_of[tight][j] - q) > 1e-9 * max(1.0, q):
                needs += f" with travel time, for {units(quantity(q), unit)} of care"
            text = (f"{label} ({names}: {units(quantity(max(0.0, left[tight][j])), unit)}"
                    f" left, needs {needs})")
        entries.append((shortfall, prov, hit, text))
    entries.sort(key=lambda e: e[0])
    rules = {lim for e in entries for lim in e[2]}
    rule = ",".join(lim for lim in LIMITS if lim in rules)
    head = ("the only eligible offer is full" if len(ks) == 1
            else f"all {len(ks)} eligible offers are full")
    listed = "; ".join(e[3] for e in entries[:shown])
    more = f"; and {len(entries) - shown} more" if len(entries) > shown else ""
    providers = list(dict.fromkeys(e[1] for e in entries))
    return "capacity_exhausted", rule, providers, f"{head}: {listed}{more}"


def _zones_phrase(zones: list[str]) -> str:
    return f"zone {zones[0]}" if len(zones) == 1 else f"zones {', '.join(zones)}"


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def _count(k: int, singular: str, plural: str) -> str:
    return f"{k} {singular if k == 1 else plural}"


def quantity(x: float) -> str:
    """A quantity to two decimals at most: 9.0625 -> 9.06, 12.0 -> 12."""
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def unit_for(amount: str, unit: str) -> str:
    """``unit`` ("hours", "beds") in agreement with ``amount`` as :func:`quantity` writes it:
    "bed" for "1", "beds" otherwise."""
    return unit[:-1] if amount == "1" and unit.endswith("s") else unit


def units(amount: str, unit: str) -> str:
    """"1 bed", "1 hour", "2.5 hours"."""
    return f"{amount} {unit_for(amount, unit)}"


def quantity_up(x: float) -> str:
    """A shortfall to two decimals at most, rounded up so that it is enough: 6.5725 -> 6.58,
    2.0 -> 2 (what a broker asks a provider for, not the solver's four decimals)."""
    return quantity(math.ceil(x * 100.0 - 1e-6) / 100.0)
