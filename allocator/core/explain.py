"""Why each need went where it went, and what would serve each unmet need (issue 13, item 4).

One module, used by ``allocator solve`` (through :mod:`allocator.report.tables`) and by the
nightly run (:mod:`allocator.nightly.explain`):

**Assigned needs.** For each served need, its weekly cost with the chosen offer (framework price
net of block funding, plus its quality and out-of-zone terms) against the next ``alternatives``
eligible offers of other schemes / offers, cheapest first (by their framework cost), and why
each was not chosen, as a code and a sentence:

=================  ===========================================================================
``rejected``       a broker rejected that provider for this need (nightly run only)
``not_awarded``    the offer exists only with a block its provider does not hold (9.1)
``offer_full``     the offer has less capacity left than the need takes, in this solution
``provider_full``  the provider's total hours capacity is used up
``block_full``     a block-only lot (``framework=false``) whose block volume is used up
``share_cap``      ``max_provider_share`` would be exceeded in the lot
``more_expensive`` it had room and costs more a week, mostly by its price
``lower_quality``  it had room and costs more, mostly through the quality term (lower quality)
``out_of_zone``    it had room and costs more, mostly through the out-of-zone term
``transfer``       it had room and costs more, mostly by the transfer penalty of moving a
                   person in care from their current provider
``whole_market``   it had room and is no dearer for this need alone, but using its capacity
                   here would cost more elsewhere (the allocation as a whole is cheaper)
=================  ===========================================================================

Room is judged against what the solution leaves: an alternative of the same provider gets this
need's own use of the provider's capacity back.

**Unmet needs.** The cheapest change that would serve it: among its eligible offers, the one
needing the smallest extra capacity (offer, provider total, block volume in a block-only lot or
room under the share cap; ties: the cheapest; an offer that exists only with an award comes
after every other), and how much more it would need; with room
somewhere already, the unmet penalty above which serving it pays; with no eligible offer, that
one must be recruited (the reason, :func:`allocator.core.reasons.explain_unmet`, says which rule
excludes whom).

Everything is vectorised over needs and pairs with numpy; only the sentences are built per need.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from allocator.core.problem import Problem
from allocator.core.reasons import money, quantity, quantity_up, unit_for
from allocator.core.result import Solution
from allocator.core.usage import Usage
from allocator.instance.schema import UNIT_OF_KIND

ALTERNATIVES = 2
TOL = 1e-9
WHY_CODES = ("rejected", "not_awarded", "offer_full", "provider_full", "block_full", "share_cap",
             "more_expensive", "lower_quality", "out_of_zone", "transfer", "whole_market")
ALTERNATIVE_COLUMNS = (
    "need", "provider", "offer", "cost", "rank", "alternative_provider", "alternative_offer",
    "alternative_zone", "alternative_quality", "alternative_cost", "extra_cost", "extra_price",
    "extra_quality", "extra_zone", "extra_transfer", "why_code", "why",
)
CHANGE_COLUMNS = (
    "change_kind", "change_provider", "change_offer", "change_zone", "change_extra",
    "change_unit", "change_cost", "change",
)


@dataclass(frozen=True)
class Explanations:
    """The explanations of one solution (see the module docstring).

    Attributes
    ----------
    assigned
        One row per served need: ``need``, ``provider``, ``offer``, ``zone``, ``quality``,
        ``cost`` (weekly, with its block funding), ``block_quantity``, ``why`` (a sentence).
    alternatives
        One row per (served need, alternative), columns :data:`ALTERNATIVE_COLUMNS`;
        ``cost`` and ``alternative_cost`` are weekly costs; ``extra_cost`` = alternative's cost
        - chosen cost + the difference in transfer penalty (a person in care who would move),
        split into ``extra_price``, ``extra_quality``, ``extra_zone`` and ``extra_transfer``.
    changes
        One row per unmet need: ``need`` and :data:`CHANGE_COLUMNS`, plus the shortfalls
        ``offer_shortfall``, ``provider_shortfall``, ``block_shortfall``, ``share_shortfall``
        and ``penalty`` (the need's weekly unmet penalty).
    """

    assigned: pd.DataFrame
    alternatives: pd.DataFrame
    changes: pd.DataFrame
    currency: str = "GBP"

    @cached_property
    def _alt_by_need(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for row in _records(self.alternatives):
            out.setdefault(row["need"], []).append(row)
        return out

    @cached_property
    def _assigned_by_need(self) -> dict[str, dict[str, Any]]:
        return {row["need"]: row for row in _records(self.assigned)}

    @cached_property
    def _change_by_need(self) -> dict[str, dict[str, Any]]:
        return {row["need"]: row for row in _records(self.changes)}

    def assignment(self, need: str) -> dict[str, Any]:
        """Plain data (JSON-ready) for one served need: summary, cost, block, alternatives."""
        row = self._assigned_by_need[need]
        alts = [{"provider": a["alternative_provider"], "offer": a["alternative_offer"],
                 "zone": a["alternative_zone"], "quality": a["alternative_quality"],
                 "cost": a["alternative_cost"], "extra_cost": a["extra_cost"],
                 "code": a["why_code"], "status": a["why"]}
                for a in self._alt_by_need.get(need, [])]
        return {"summary": row["why"], "provider": row["provider"], "offer": row["offer"],
                "zone": row["zone"], "quality": row["quality"], "cost": row["cost"],
                "unit_cost": row["unit_cost"],
                "block": {"quantity": row["block_quantity"]}, "alternatives": alts}

    def change(self, need: str) -> dict[str, Any]:
        """Plain data for one unmet need's cheapest change (``sentence`` says it)."""
        row = self._change_by_need[need]
        out = {"kind": row["change_kind"], "sentence": row["change"],
               "provider": row["change_provider"], "offer": row["change_offer"],
               "zone": row["change_zone"], "cost": row["change_cost"],
               "extra": row["change_extra"], "unit": row["change_unit"],
               "penalty": row["penalty"]}
        for key in ("offer_shortfall", "provider_shortfall", "block_shortfall",
                    "share_shortfall"):
            out[key] = row[key]
        return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (JSON-ready: a missing or infinite number is None,
    as JSON has no NaN and PostgreSQL's json type refuses it); several times faster than
    ``DataFrame.to_dict("records")``, which boxes every cell."""
    columns = []
    for c in df.columns:
        values = df[c].tolist()
        if df[c].dtype.kind in "fO":
            values = [None if isinstance(v, float) and not math.isfinite(v) else v
                      for v in values]
        columns.append(values)
    names = list(df.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def explain(
    problem: Problem,
    solution: Solution,
    *,
    usage: Usage | None = None,
    alternatives_from: Problem | None = None,
    rejected: Collection[tuple[str, str]] = (),
    alternatives: int = ALTERNATIVES,
) -> Explanations:
    """Explain every need of ``solution`` on ``problem``.

    Parameters
    ----------
    problem
        The problem solved.
    solution
        Its allocation.
    usage
        The solution's usage on ``problem``, if already computed.
    alternatives_from
        Where alternatives are looked for: a problem on the same instance with the same needs
        and offers in the same order but possibly more pairs (the nightly run passes the book's
        full problem, with the pairs brokers rejected, so that it can say so). ``problem``
        when None.
    rejected
        (need id, provider id) pairs rejected by brokers.
    alternatives
        How many alternatives per served need.
    """
    p = problem
    u = usage if usage is not None else Usage.of(p, solution)
    f = alternatives_from if alternatives_from is not None else p
    fu = u if f is p else Usage.of(f, solution)
    cur = p.instance.currency
    cap_f = offer_capacity(f, solution)
    cap_p = cap_f if f is p else offer_capacity(p, solution)
    assigned, alts = _assigned(p, u, f, fu, cap_f, set(rejected), alternatives, cur)
    changes = _changes(p, u, cap_p, cur)
    return Explanations(assigned=assigned, alternatives=alts, changes=changes, currency=cur)


def offer_capacity(p: Problem, solution: Solution) -> np.ndarray:
    """Each offer's capacity under ``solution``'s awards.

    An offer that exists only with an award (DESIGN.md 9.1) that ``p`` leaves open (design
    mode, an awardable bid) has its capacity where ``solution`` awards that bid, else 0.
    """
    cap = np.array(p.offer_capacity, dtype=float)
    gated = np.nonzero(p.offer_award_holder >= 0)[0]
    if len(gated) and solution.awards:
        keys = {(str(a), str(b)) for a, b in solution.awards}
        h = p.offer_award_holder[gated]
        on = np.fromiter(((p.provider_ids[p.holder_provider[i]], p.lot_ids[p.holder_lot[i]])
                          in keys for i in h), dtype=bool, count=len(h))
        cap[gated[on]] = p.offer_award_capacity[gated[on]]
    return cap


def _not_awarded(p: Problem, cap: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Offers that exist only with a block their provider does not hold (capacity 0)."""
    return (p.offer_award_lot[o] >= 0) & (cap[o] <= 0)


# --------------------------------------------------------------------------- cost parts


def _quality_part(p: Problem, ks: np.ndarray) -> np.ndarray:
    w = p.instance.policy.quality_weight
    return p.pair_q[ks] * w * (100.0 - p.provider_quality[p.pair_provider[ks]]) / 100.0


def _zone_part(p: Problem, ks: np.ndarray) -> np.ndarray:
    return p.pair_quality_zone[ks] - _quality_part(p, ks)


def chosen_costs(p: Problem, u: Usage, ns: np.ndarray) -> np.ndarray:
    """Weekly cost of served needs ``ns`` with their chosen pairs and block funding."""
    ks = u.chosen[ns]
    q = p.pair_q[ks]
    frac = np.divide(u.block_q[ns], q, out=np.zeros(len(ns)), where=q > 0)
    return p.pair_price_q[ks] - p.pair_block_saving[ks] * frac + p.pair_quality_zone[ks]


# --------------------------------------------------------------------------- assigned


def _assigned(
    p: Problem, u: Usage, f: Problem, fu: Usage, cap: np.ndarray,
    rejected: set[tuple[str, str]], n_alt: int, cur: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ns = np.nonzero(u.chosen >= 0)[0]
    ks = u.chosen[ns]
    cost_n = np.zeros(p.n_needs)
    cost_n[ns] = chosen_costs(p, u, ns)
    chosen_offer = np.full(p.n_needs, -1, dtype=np.int64)
    chosen_offer[ns] = p.pair_offer[ks]
    chosen_prov = np.full(p.n_needs, -1, dtype=np.int64)
    chosen_prov[ns] = p.pair_provider[ks]
    chosen_use = np.zeros(p.n_needs)
    chosen_use[ns] = p.pair_use[ks] * p.pair_hours[ks]
    chosen_lot = np.full(p.n_needs, -1, dtype=np.int64)
    chosen_lot[ns] = p.pair_lot[ks]
    price_n = np.zeros(p.n_needs)
    qual_n = np.zeros(p.n_needs)
    zone_n = np.zeros(p.n_needs)
    qual_n[ns] = _quality_part(p, ks)
    zone_n[ns] = _zone_part(p, ks)
    price_n[ns] = cost_n[ns] - qual_n[ns] - zone_n[ns]

    # every pair of a served need at another offer, cheapest first within each need
    need_of = f.pair_need
    cand = np.nonzero((chosen_offer[need_of] >= 0) & (f.pair_offer != chosen_offer[need_of]))[0]
    # offers that do not exist under this solution's awards (DESIGN.md 9.1) come last: they
    # are no real alternative, only a hint of what another award would open
    absent = _not_awarded(f, cap, f.pair_offer[cand])
    cand = cand[np.lexsort((f.pair_offer[cand], f.pair_cost_x[cand], absent, need_of[cand]))]
    cn = need_of[cand]
    first = np.ones(len(cand), dtype=bool)
    first[1:] = cn[1:] != cn[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(len(cand)), 0))
    rank = np.arange(len(cand)) - start
    keep = rank < n_alt
    ja, rank, na = cand[keep], rank[keep] + 1, cn[keep]

    # why not: room left in this solution (same provider: this need's own use given back)
    o, prov, lot = f.pair_offer[ja], f.pair_provider[ja], f.pair_lot[ja]
    use = f.pair_use[ja]
    same_prov = prov == chosen_prov[na]
    offer_left = cap[o] - fu.offer_use[o]
    not_awarded = _not_awarded(f, cap, o)
    cap = f.provider_capacity[prov]
    prov_left = np.where(np.isfinite(cap), cap - fu.provider_use[prov], np.inf)
    prov_left = prov_left + np.where(same_prov, chosen_use[na], 0.0)
    offer_full = use > offer_left + TOL
    prov_full = f.pair_hours[ja] & (use > prov_left + TOL)
    h = f.pair_holder[ja]
    block_left = np.full(len(ja), np.inf)
    if f.n_holders:
        hh = np.maximum(h, 0)
        block_left = np.where(f.pair_forced[ja] & (h >= 0),
                              fu.holder_volume[hh] - fu.holder_used[hh], np.inf)
    block_full = f.pair_q[ja] > block_left + TOL
    share_left = np.full(len(ja), np.inf)
    if f.max_provider_share is not None and len(f.lot_ids):
        ll = np.maximum(lot, 0)
        d = np.where(lot >= 0, f.lot_demand[ll], 0.0)
        served = fu.served_in_lot[prov, ll] - np.where(same_prov & (chosen_lot[na] == lot),
                                                       f.pair_q[ja], 0.0)
        share_left = np.where((lot >= 0) & (d > 0), f.max_provider_share * d - served, np.inf)
    share_full = f.pair_q[ja] > share_left + TOL
    # a person in care who would move pays the transfer penalty (once, in the planned week)
    current = f.need_current[na]
    tp = f.transfer_penalty
    d_transfer = tp * (((current >= 0) & (prov != current)).astype(float)
                       - ((current >= 0) & (chosen_prov[na] != current)).astype(float))
    alt_cost = f.pair_cost_x[ja]
    alt_q = _quality_part(f, ja)
    alt_z = _zone_part(f, ja)
    extra = alt_cost - cost_n[na] + d_transfer
    d_quality = alt_q - qual_n[na]
    d_zone = alt_z - zone_n[na]
    d_price = extra - d_quality - d_zone - d_transfer
    driver = np.argmax(np.stack([d_price, d_quality, d_zone, d_transfer]), axis=0)
    code = np.select([driver == 1, driver == 2, driver == 3],
                     ["lower_quality", "out_of_zone", "transfer"],
                     "more_expensive").astype(object)
    code[extra <= TOL * np.maximum(1.0, np.abs(cost_n[na]))] = "whole_market"
    code[share_full] = "share_cap"
    code[block_full] = "block_full"
    code[prov_full] = "provider_full"
    code[offer_full] = "offer_full"
    code[not_awarded] = "not_awarded"
    nid = np.asarray(p.need_ids, dtype=object)
    pid = np.asarray(f.provider_ids, dtype=object)
    if rejected:
        is_rej = np.fromiter(((a, b) in rejected for a, b in zip(nid[na], pid[prov],
                                                                   strict=True)),
                             dtype=bool, count=len(ja))
        code[is_rej] = "rejected"
    unit = np.asarray([UNIT_OF_KIND[n.kind] for n in p.needs], dtype=object)
    why = _why_not(code, f, o, prov, use, offer_left, prov_left, block_left, share_left,
                   extra, d_price, d_quality, d_zone, d_transfer, unit[na], cur)
    oid = np.asarray(f.offer_ids, dtype=object)
    zid = np.asarray(f.zone_ids, dtype=object)
    alternatives = pd.DataFrame({
        "need": nid[na], "provider": pid[chosen_prov[na]] if len(na) else [],
        "offer": oid[chosen_offer[na]] if len(na) else [], "cost": cost_n[na],
        "rank": rank, "alternative_provider": pid[prov], "alternative_offer": oid[o],
        "alternative_zone": zid[f.offer_zone[o]], "alternative_quality":
        f.provider_quality[prov], "alternative_cost": alt_cost, "extra_cost": extra,
        "extra_price": d_price, "extra_quality": d_quality, "extra_zone": d_zone,
        "extra_transfer": d_transfer, "why_code": code, "why": why,
    }, columns=list(ALTERNATIVE_COLUMNS))

    # one sentence per served need
    per_need: dict[int, list[str]] = {}
    for n, a_prov, a_cost, w in zip(na.tolist(), pid[prov], alt_cost.tolist(), why,
                                    strict=True):
        per_need.setdefault(n, []).append(f"{a_prov} {money(a_cost, cur)} ({w})")
    qual = p.provider_quality[p.pair_provider[ks]]
    bq = u.block_q[ns]
    q = p.pair_q[ks]
    sentences = []
    for n, prov_id, c, qq, b, qn, un in zip(ns.tolist(), pid[p.pair_provider[ks]],
                                            cost_n[ns].tolist(), qual.tolist(), bq.tolist(),
                                            q.tolist(), unit[ns], strict=True):
        if b > 0:
            # the block is paid for whether used or not: the cost shown is what comes on top
            s = (f"{prov_id} (quality {qq:g}): {quantity(b)} of {quantity(qn)} {un} out of "
                 f"its block volume, {money(c, cur)} a week on top")
        else:
            s = f"{prov_id} at {money(c, cur)} a week (quality {qq:g})"
        nxt = per_need.get(n)
        s += ("; next: " + "; ".join(nxt)) if nxt else "; the only eligible offer"
        sentences.append(s)
    assigned = pd.DataFrame({
        "need": nid[ns], "provider": pid[p.pair_provider[ks]] if len(ns) else [],
        "offer": np.asarray(p.offer_ids, dtype=object)[p.pair_offer[ks]] if len(ns) else [],
        "zone": np.asarray(p.zone_ids, dtype=object)[p.offer_zone[p.pair_offer[ks]]]
        if len(ns) else [],
        "quality": qual, "cost": cost_n[ns],
        "unit_cost": np.divide(cost_n[ns], q, out=np.zeros(len(ns)), where=q > 0),
        "block_quantity": bq, "why": sentences,
    })
    return assigned, alternatives


def _why_not(code, f, o, prov, use, offer_left, prov_left, block_left, share_left, extra,
             d_price, d_quality, d_zone, d_transfer, unit, cur) -> list[str]:
    oid, pid = f.offer_ids, f.provider_ids
    # plain lists: indexing numpy arrays one element at a time is slow
    o, prov, use, offer_left, prov_left, block_left, share_left, extra = (
        np.asarray(a).tolist() for a in (o, prov, use, offer_left, prov_left, block_left,
                                          share_left, extra))
    d_price, d_quality, d_zone, d_transfer = (
        np.asarray(a).tolist() for a in (d_price, d_quality, d_zone, d_transfer))
    award_lot = f.offer_award_lot.tolist()
    # the need's own quantity and the offer's travel factor: capacity used is their product
    tf = f.offer_tf[np.asarray(o, dtype=np.int64)].tolist()
    q = [u / t if t else u for u, t in zip(use, tf, strict=True)]
    out = []
    for i, c in enumerate(code.tolist()):
        if c == "rejected":
            out.append("rejected by a broker")
        elif c == "not_awarded":
            out.append(f"offer {oid[o[i]]} exists only with a block in lot "
                       f"{f.lot_ids[award_lot[o[i]]]}, which {pid[prov[i]]} does not hold")
        elif c == "offer_full":
            a = quantity(max(0.0, offer_left[i]))
            out.append(f"full: offer {oid[o[i]]} has {a} {unit_for(a, unit[i])} left, the need "
                       f"takes {_takes(use[i], q[i], tf[i])}")
        elif c == "provider_full":
            a = quantity(max(0.0, prov_left[i]))
            out.append(f"full: provider {pid[prov[i]]} has {a} {unit_for(a, 'hours')} left in "
                       f"all, the need takes {_takes(use[i], q[i], tf[i])}")
        elif c == "block_full":
            out.append(f"full: its block volume has {quantity(max(0.0, block_left[i]))} left "
                       "(block-only lot)")
        elif c == "share_cap":
            a = quantity(max(0.0, share_left[i]))
            out.append(f"at the max provider share ({a} {unit_for(a, unit[i])} left in the lot)")
        elif c == "whole_market":
            out.append("had room and is no dearer for this need, but the allocation as a "
                       "whole is cheaper this way")
        else:
            parts = [(d_price[i], "price"), (d_quality[i], "lower quality"),
                     (d_zone[i], "out of zone"), (d_transfer[i], "a move")]
            detail = ", ".join(f"{label} {'+' if v >= 0 else '-'}{money(abs(v), cur)}"
                               for v, label in parts if abs(v) > 0.005)
            lead = {"more_expensive": "more expensive", "lower_quality": "lower quality",
                    "out_of_zone": "out of zone",
                    "transfer": "would move them from their current provider"}[c]
            out.append(f"{lead}: had room, dearer by {money(extra[i], cur)} this week"
                       + (f" ({detail})" if detail else ""))
    return out


def _takes(use: float, q: float, tf: float) -> str:
    """What a need takes of an offer's or provider's capacity, with its hours of care beside
    when the offer's travel factor is not 1 (DESIGN.md: capacity used is quantity x travel
    factor, hours only), in the words of :mod:`allocator.core.reasons`."""
    if abs(tf - 1.0) <= TOL:
        return quantity(use)
    return f"{quantity(use)} with travel time, for {quantity(q)} hours of care"


# --------------------------------------------------------------------------- unmet


def _changes(p: Problem, u: Usage, cap: np.ndarray, cur: str) -> pd.DataFrame:
    unmet = np.nonzero(u.chosen < 0)[0]
    order, start = p.pairs_by_need
    counts = start[unmet + 1] - start[unmet]
    m = len(unmet)
    best = np.full(m, -1, dtype=np.int64)
    shorts = {k: np.zeros(m) for k in ("offer", "provider", "block", "share")}
    short = np.zeros(m)
    if counts.sum():
        has = np.nonzero(counts > 0)[0]
        c = counts[has]
        offs = np.concatenate([[0], np.cumsum(c)])
        rows = np.repeat(has, c)
        ks = order[np.repeat(start[unmet[has]], c) + np.arange(offs[-1])
                   - np.repeat(offs[:-1], c)]
        use = p.pair_use[ks]
        o, prov = p.pair_offer[ks], p.pair_provider[ks]
        s_offer = np.maximum(0.0, use - (cap[o] - u.offer_use[o]))
        # an offer that exists only with an award: the change is the award, which brings the
        # offer's own capacity (on ties, a change without an award comes first)
        gone = _not_awarded(p, cap, o)
        if gone.any():
            raw = np.array([of.capacity for of in p.instance.offers], dtype=float)
            s_offer = np.where(gone, np.maximum(0.0, use - raw[o]), s_offer)
        pcap = p.provider_capacity[prov]
        left = np.where(np.isfinite(pcap), pcap - u.provider_use[prov], np.inf)
        s_prov = np.where(p.pair_hours[ks], np.maximum(0.0, use - left), 0.0)
        s_block = np.zeros(len(ks))
        if p.n_holders:
            h = p.pair_holder[ks]
            hh = np.maximum(h, 0)
            bl = u.holder_volume[hh] - u.holder_used[hh]
            s_block = np.where(p.pair_forced[ks] & (h >= 0),
                               np.maximum(0.0, p.pair_q[ks] - bl), 0.0)
        s_share = np.zeros(len(ks))
        lot = p.pair_lot[ks]
        if p.max_provider_share is not None and len(p.lot_ids):
            ll = np.maximum(lot, 0)
            d = np.where(lot >= 0, p.lot_demand[ll], 0.0)
            sl = p.max_provider_share * d - u.served_in_lot[prov, ll]
            s_share = np.where((lot >= 0) & (d > 0), np.maximum(0.0, p.pair_q[ks] - sl), 0.0)
        s_all = np.maximum.reduce([s_offer, s_prov, s_block, s_share])
        # an award is a procurement decision: any change of capacity comes first
        pick = np.lexsort((o, p.pair_cost_x[ks], s_all, gone, rows))
        firsts = pick[np.r_[True, rows[pick][1:] != rows[pick][:-1]]]
        r = rows[firsts]
        best[r] = ks[firsts]
        short[r] = s_all[firsts]
        for key, arr in (("offer", s_offer), ("provider", s_prov), ("block", s_block),
                         ("share", s_share)):
            shorts[key][r] = arr[firsts]
    kinds, sentences, provs, offers, zones, costs, units = [], [], [], [], [], [], []
    penalty = p.need_penalty[unmet] * p.need_q[unmet]
    for i, n in enumerate(unmet.tolist()):
        unit = UNIT_OF_KIND[p.needs[n].kind]
        units.append(unit)
        k = int(best[i])
        if k < 0:
            kinds.append("eligibility")
            provs.append("")
            offers.append("")
            zones.append("")
            costs.append(np.nan)
            sentences.append("no provider is eligible: recruit one for this service, "
                             "complexity and care group in the need's zones, or widen its "
                             "acceptable zones")
            continue
        o = int(p.pair_offer[k])
        pid, oid = p.provider_ids[p.pair_provider[k]], p.offer_ids[o]
        zone = p.zone_ids[p.offer_zone[o]]
        cost = float(p.pair_cost_x[k])
        provs.append(pid)
        offers.append(oid)
        zones.append(zone)
        costs.append(cost)
        if p.offer_award_lot[o] >= 0 and cap[o] <= 0:
            lot = p.lot_ids[p.offer_award_lot[o]]
            kinds.append("award")
            sentences.append(f"award {pid} a block in lot {lot}: its offer {oid} in {zone} "
                             f"exists only with it, and would take it at {money(cost, cur)} "
                             "a week")
        elif short[i] > TOL:
            where = []
            if shorts["offer"][i] > TOL:
                a = quantity_up(shorts["offer"][i])
                where.append(f"{a} more {unit_for(a, unit)} a week on offer {oid} in {zone}")
            if shorts["provider"][i] > TOL:
                a = quantity_up(shorts["provider"][i])
                where.append(f"{a} more {unit_for(a, 'hours')} a week in its total capacity")
            if shorts["block"][i] > TOL:
                a = quantity_up(shorts["block"][i])
                where.append(f"{a} more {unit_for(a, unit)} of block volume")
            if shorts["share"][i] > TOL:
                a = quantity_up(shorts["share"][i])
                where.append(f"{a} more {unit_for(a, unit)} under the max provider share in "
                             f"lot {p.lot_ids[p.pair_lot[k]]}")
            kinds.append("capacity")
            sentences.append(f"{pid} would need {' and '.join(where)} to take it, at "
                             f"{money(cost, cur)} a week")
        elif cost <= float(penalty[i]) + TOL * max(1.0, cost) or p.objective_kind == (
                "lexicographic"):
            # room and cheaper than leaving it unmet (or, lexicographic, room at all): the
            # solution is not optimal, nothing needs changing but the solve
            kinds.append("resolve")
            sentences.append(f"{pid} has room at {money(cost, cur)} a week: the solution is "
                             "not optimal for this need; solve for longer")
        else:
            per_unit = cost / float(p.need_q[n])
            kinds.append("penalty")
            sentences.append(
                f"{pid} has room at {money(cost, cur)} a week, more than the unmet penalty "
                f"{money(float(penalty[i]), cur)}: a penalty above {money(per_unit, cur)} per "
                f"{unit[:-1]} for priority {p.needs[n].priority} would serve it")
    return pd.DataFrame({
        "need": np.asarray(p.need_ids, dtype=object)[unmet],
        "change_kind": kinds, "change_provider": provs, "change_offer": offers,
        "change_zone": zones, "change_extra": short, "change_unit": units,
        "change_cost": np.asarray(costs, dtype=float), "change": sentences,
        "offer_shortfall": shorts["offer"], "provider_shortfall": shorts["provider"],
        "block_shortfall": shorts["block"], "share_shortfall": shorts["share"],
        "penalty": penalty,
    })
