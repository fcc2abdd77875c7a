"""The result tables of DESIGN.md section 6, as pandas DataFrames.

=============  ==============================================================================
assignments    one row per served need: provider, offer (scheme), zone served in, lot,
               quantity, block-funded quantity, framework cost, quality/out-of-zone cost
unmet          one row per unmet need with its reason (:mod:`allocator.core.reasons`)
providers      capacity, capacity used (hours, with travel), beds, block volume, used, void
blocks         one row per block pool (provider x lot): volume in force and awarded, used, void
lots           demand D[l], quantity served, block volume and share, providers, largest share
zones          per need's own zone: demand, served and unmet hours (and beds), people unmet
awards         design mode only: awarded bids, volume, rate, cost, used, void
=============  ==============================================================================

With scenarios (design mode) the demand-dependent tables get a leading ``scenario`` column,
one block of rows per scenario. Every function is vectorised over needs and pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.core.problem import Problem
from allocator.core.reasons import explain_unmet
from allocator.core.result import Solution
from allocator.core.usage import Usage
from allocator.instance.schema import UNIT_OF_KIND

TABLE_NAMES = ("assignments", "unmet", "providers", "blocks", "lots", "zones", "awards")
# columns holding ids and words (everything else is a number or a flag)
TEXT_COLUMNS = (
    "scenario", "need", "kind", "provider", "offer", "scheme", "zone", "need_zone", "service",
    "complexity", "care_group", "lot", "unit", "priority", "reason", "rule", "named_providers",
    "detail", "name", "largest_provider",
)


def build_tables(
    problem: Problem, solution: Solution, *, objective: str | None = None
) -> dict[str, pd.DataFrame]:
    """All result tables of ``solution`` on ``problem``, keyed by :data:`TABLE_NAMES`.

    ``awards`` is present only when the solution awards block bids. ``objective`` is the
    objective the solve used (for the unmet reasons; the instance's policy when None).
    """
    if solution.scenarios:
        from allocator.core.check import scenario_needs

        per: list[dict[str, pd.DataFrame]] = []
        for sid, sub in solution.scenarios.items():
            sp = Problem.from_instance(
                problem.instance, mode=problem.mode,
                needs=scenario_needs(problem.instance, sid), scenario=sid,
            )
            sub = Solution(assignment=sub.assignment, block=sub.block, awards=solution.awards)
            tables = _demand_tables(sp, Usage.of(sp, sub), sub, objective)
            per.append({k: _with_scenario(v, sid) for k, v in tables.items()})
        out = {k: pd.concat([t[k] for t in per], ignore_index=True) for k in per[0]}
        base_usage = Usage.of(problem, Solution(assignment={}, awards=solution.awards))
    else:
        base_usage = Usage.of(problem, solution)
        out = _demand_tables(problem, base_usage, solution, objective)
    if solution.awards:
        out["awards"] = awards_table(problem, solution, None if solution.scenarios else base_usage)
    return {name: out[name] for name in TABLE_NAMES if name in out}


def _demand_tables(
    p: Problem, u: Usage, solution: Solution, objective: str | None
) -> dict[str, pd.DataFrame]:
    return {
        "assignments": assignments_table(u),
        "unmet": explain_unmet(p, solution, objective=objective, usage=u),
        "providers": providers_table(u),
        "blocks": blocks_table(u),
        "lots": lots_table(u),
        "zones": zones_table(u),
    }


def _with_scenario(df: pd.DataFrame, sid: str) -> pd.DataFrame:
    df = df.copy()
    df.insert(0, "scenario", sid)
    return df


def _ids(ids: tuple[str, ...], index: np.ndarray) -> np.ndarray:
    return np.asarray(ids, dtype=object)[index] if len(ids) else np.zeros(0, dtype=object)


def _need_units(p: Problem) -> np.ndarray:
    return np.array([UNIT_OF_KIND[n.kind] for n in p.needs], dtype=object)


def assignments_table(u: Usage) -> pd.DataFrame:
    """One row per served need."""
    p = u.problem
    ns = np.nonzero(u.chosen >= 0)[0]
    ks = u.chosen[ns]
    q = p.pair_q[ks]
    bq = u.block_q[ns]
    frac = np.divide(bq, q, out=np.zeros(len(ks)), where=q > 0)
    offers = p.instance.offers
    o = p.pair_offer[ks]
    lot = p.pair_lot[ks]
    current = p.need_current[ns]
    return pd.DataFrame({
        "need": _ids(p.need_ids, ns),
        "kind": [p.needs[n].kind for n in ns],
        "provider": _ids(p.provider_ids, p.pair_provider[ks]),
        "offer": _ids(p.offer_ids, o),
        "scheme": [offers[i].scheme or "" for i in o],
        "zone": _ids(p.zone_ids, p.offer_zone[o]),
        "need_zone": _ids(p.zone_ids, p.need_zone[ns]),
        "service": [p.needs[n].service for n in ns],
        "complexity": [p.needs[n].complexity for n in ns],
        "lot": np.where(lot >= 0, _ids(p.lot_ids + ("",), np.maximum(lot, 0)), ""),
        "quantity": q,
        "unit": _need_units(p)[ns] if len(ns) else np.zeros(0, dtype=object),
        "block_quantity": bq,
        "framework_quantity": q - bq,
        "framework_cost": p.pair_price_q[ks] - p.pair_block_saving[ks] * frac,
        "quality_zone_cost": p.pair_quality_zone[ks],
        "priority": [p.needs[n].priority for n in ns],
        "moved": (current >= 0) & ~p.pair_is_current[ks],
    })


def providers_table(u: Usage) -> pd.DataFrame:
    """Capacity and block use per provider."""
    p = u.problem
    n_prov = p.n_providers
    hours_offer = p.offer_unit == 0
    offer_hours_cap = np.bincount(p.offer_provider[hours_offer],
                                  weights=p.offer_capacity[hours_offer], minlength=n_prov)
    beds_cap = np.bincount(p.offer_provider[~hours_offer],
                           weights=p.offer_capacity[~hours_offer], minlength=n_prov)
    sel = u.chosen[u.chosen >= 0]
    hours = p.pair_hours[sel]
    served_hours = np.bincount(p.pair_provider[sel[hours]], weights=p.pair_q[sel[hours]],
                               minlength=n_prov)
    used_beds = np.bincount(p.pair_provider[sel[~hours]], weights=p.pair_q[sel[~hours]],
                            minlength=n_prov)
    needs = np.bincount(p.pair_provider[sel], minlength=n_prov)
    volume = np.bincount(p.holder_provider, weights=u.holder_volume, minlength=n_prov)
    used = np.bincount(p.holder_provider, weights=u.holder_used, minlength=n_prov)
    capacity = np.where(np.isfinite(p.provider_capacity), p.provider_capacity, np.nan)
    # utilisation against what the provider can actually deliver: its own cap, or its offers'
    effective = np.fmin(capacity, offer_hours_cap)
    utilisation = np.divide(u.provider_use, effective, out=np.full(n_prov, np.nan),
                            where=effective > 0)
    return pd.DataFrame({
        "provider": list(p.provider_ids),
        "name": [pr.name for pr in p.instance.providers],
        "quality": p.provider_quality,
        "capacity": capacity,
        "offer_capacity": offer_hours_cap,
        "used": u.provider_use,
        "served_hours": served_hours,
        "utilisation": utilisation,
        "beds": beds_cap,
        "beds_used": used_beds,
        "needs_served": needs,
        "block_volume": volume,
        "block_used": used,
        "void": np.maximum(volume - used, 0.0),
    })


def blocks_table(u: Usage) -> pd.DataFrame:
    """One row per block pool (provider x lot) with volume."""
    p = u.problem
    contract = np.array(p.holder_volume, dtype=float)
    rows = np.nonzero((u.holder_volume > 0) | (u.holder_used > 0))[0]
    void = np.maximum(u.holder_volume - u.holder_used, 0.0)
    return pd.DataFrame({
        "provider": _ids(p.provider_ids, p.holder_provider[rows]),
        "lot": _ids(p.lot_ids, p.holder_lot[rows]),
        "contract_volume": contract[rows],
        "awarded_volume": u.holder_volume[rows] - contract[rows],
        "volume": u.holder_volume[rows],
        "used": u.holder_used[rows],
        "void": void[rows],
        "contract_rate": p.holder_rate[rows],
        "void_cost": (p.holder_rate * np.minimum(void, contract))[rows],
    })


def lots_table(u: Usage) -> pd.DataFrame:
    """Demand, block share and market concentration per lot."""
    p = u.problem
    n_lots = len(p.lot_ids)
    demand = np.asarray(p.lot_demand, dtype=float)
    served_pl = u.served_in_lot  # providers x lots
    served = served_pl.sum(axis=0) if n_lots else np.zeros(0)
    own = p.need_cell_lot
    unmet_mask = (u.chosen < 0) & (own >= 0)
    unmet = np.bincount(own[unmet_mask], weights=p.need_q[unmet_mask], minlength=n_lots)
    volume = np.bincount(p.holder_lot, weights=u.holder_volume, minlength=n_lots)
    used = np.bincount(p.holder_lot, weights=u.holder_used, minlength=n_lots)
    n_serving = (served_pl > 0).sum(axis=0) if n_lots else np.zeros(0, dtype=int)
    if n_lots and p.n_providers:
        top = served_pl.argmax(axis=0)
        top_q = served_pl.max(axis=0)
    else:
        top, top_q = np.zeros(n_lots, dtype=np.int64), np.zeros(n_lots)
    largest = np.where(top_q > 0, _ids(p.provider_ids, top) if p.n_providers else "", "")
    return pd.DataFrame({
        "lot": list(p.lot_ids),
        "name": [lot.name for lot in p.instance.lots],
        "unit": [lot.unit for lot in p.instance.lots],
        "framework": np.asarray(p.lot_framework, dtype=bool),
        "demand": demand,
        "served": served,
        "unmet": unmet,
        "block_volume": volume,
        "block_used": used,
        "block_share": _ratio(volume, demand),
        "providers": n_serving,
        "largest_provider": largest,
        "largest_share": _ratio(top_q, demand),
    })


def zones_table(u: Usage) -> pd.DataFrame:
    """Demand, served and unmet quantity and people per need's own zone (seed 001's table)."""
    p = u.problem
    nz = len(p.zone_ids)
    beds = _need_units(p) == "beds" if p.n_needs else np.zeros(0, dtype=bool)
    unmet = u.chosen < 0

    def total(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(p.need_zone[mask], weights=w, minlength=nz).astype(float)

    q = np.asarray(p.need_q)
    return pd.DataFrame({
        "zone": list(p.zone_ids),
        "name": [z.name for z in p.instance.zones],
        "demand_hours": total(~beds, q),
        "served_hours": total(~beds & ~unmet, q),
        "unmet_hours": total(~beds & unmet, q),
        "demand_beds": total(beds, q),
        "served_beds": total(beds & ~unmet, q),
        "unmet_beds": total(beds & unmet, q),
        "people": total(np.ones(p.n_needs, dtype=bool)).astype(int),
        "unmet_people": total(unmet).astype(int),
    })


def awards_table(problem: Problem, solution: Solution, usage: Usage | None) -> pd.DataFrame:
    """Awarded block bids (design mode): volume, rate, weekly cost, and use when known."""
    bids = {(b.provider, b.lot): b for b in problem.instance.block_bids}
    used: dict[tuple[str, str], float] = {}
    if usage is not None:
        p = problem
        for h in range(p.n_holders):
            key = (p.provider_ids[p.holder_provider[h]], p.lot_ids[p.holder_lot[h]])
            used[key] = float(usage.holder_used[h])
    rows = []
    for (prov, lot), volume in solution.awards.items():
        bid = bids.get((prov, lot))
        rate = bid.rate if bid else float("nan")
        award_cost = bid.award_cost if bid else float("nan")
        u = used.get((prov, lot), float("nan"))
        rows.append({
            "provider": prov, "lot": lot, "volume": float(volume), "rate": rate,
            "award_cost": award_cost, "cost": rate * float(volume) + award_cost,
            "used": u, "void": max(0.0, float(volume) - u) if u == u else float("nan"),
        })
    columns = ["provider", "lot", "volume", "rate", "award_cost", "cost", "used", "void"]
    return pd.DataFrame(rows, columns=columns)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.full(len(a), np.nan), where=b > 0)
