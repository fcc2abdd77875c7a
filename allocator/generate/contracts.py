"""Lots, block contracts in force, block bids and demand scenarios of a generated market.

Lots follow 001's zone groups (the zones of one prime provider) x service x complexity, and
003's proposal for supported living: one county-wide lot for highly complex placements (block
from 1-3 providers) and lots of geography x complexity for the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.generate import calibration as cal
from allocator.generate.market import SERVICES, SL, Market, apportion

SERVICE_CODE = ("PC", "IS", "GS", "SL")
COMPLEXITY_CODE = ("LC", "CX", "HC")
HIGHLY_COMPLEX = 2


@dataclass(frozen=True)
class Lots:
    """Lots as rows plus the (zone, service, complexity) -> lot index table."""

    rows: list[dict]
    cell_lot: np.ndarray  # (zones, services, complexities), -1 where no lot
    unit_beds: np.ndarray  # bool per lot
    demand: np.ndarray  # D[l], quantity of needs whose own cell is in the lot


def county_prefix(market: Market, county: int) -> str:
    """Id prefix of a county's zones and lots ('' when there is a single county)."""
    if market.counties == 1:
        return ""
    return f"C{county + 1:0{len(str(market.counties))}d}-"


def build_lots(market: Market, *, block_only_highly_complex: bool,
               block_only_all_highly_complex: bool = False) -> Lots:
    """One lot per (county, zone group, service, complexity); supported living per 003.

    ``block_only_highly_complex`` makes the highly complex supported-living lots block-only
    (``framework = false``), 003's proposal, for design runs with bids;
    ``block_only_all_highly_complex`` (the zoo's ``blockonly`` family) does so for every highly
    complex lot, hourly ones included.
    """
    zone_ids = zone_id_list(market)
    group = np.array(cal.ZONE_GROUP)[market.zone_local]
    cell_lot = np.full((market.n_zones, len(SERVICES), 3), -1, dtype=np.int64)
    rows: list[dict] = []
    unit_beds: list[bool] = []
    for c in range(market.counties):
        prefix = county_prefix(market, c)
        in_county = np.nonzero(market.zone_county == c)[0]
        groups = sorted(set(group[in_county].tolist()))
        for s, service in enumerate(SERVICES):
            for cx, complexity in enumerate(cal.COMPLEXITIES):
                if s == SL and cx == HIGHLY_COMPLEX:
                    parts = [(None, in_county)]  # 003: county-wide, on block from 1-3 providers
                else:
                    parts = [(g, in_county[group[in_county] == g]) for g in groups]
                for g, zones in parts:
                    where = "county" if g is None else cal.ZONE_GROUP_NAMES[g]
                    gcode = "" if g is None else f"G{g + 1}-"
                    beds = s == SL
                    if not beds:
                        rules = cal.HOURLY_BLOCK
                    elif cx == HIGHLY_COMPLEX:
                        rules = cal.SL_HIGHLY_COMPLEX_BLOCK
                    else:
                        rules = cal.SL_OTHER_BLOCK
                    framework = not (cx == HIGHLY_COMPLEX and (
                        block_only_all_highly_complex or (beds and block_only_highly_complex)))
                    cell_lot[zones, s, cx] = len(rows)
                    rows.append({
                        "id": f"{prefix}{gcode}{SERVICE_CODE[s]}-{COMPLEXITY_CODE[cx]}",
                        "name": f"{prefix}{where}: {service.replace('_', ' ')}, "
                                f"{complexity.replace('_', ' ')}",
                        "unit": "beds" if beds else "hours",
                        "zones": [zone_ids[z] for z in zones.tolist()],
                        "services": [service],
                        "complexities": [complexity],
                        "framework": framework,
                        "block": {**rules, "min_share": 0.0,
                                  "min_quality": cal.BLOCK_MIN_QUALITY},
                    })
                    unit_beds.append(bool(beds))
    lot_of_need = cell_lot[market.need_zone, market.need_service, market.need_complexity]
    demand = np.bincount(lot_of_need, weights=market.need_quantity, minlength=len(rows))
    return Lots(rows, cell_lot, np.array(unit_beds), demand)


def zone_id_list(market: Market) -> list[str]:
    """Zone ids: Z1..Z8 for one county, C01-Z1.. when there are several."""
    return [f"{county_prefix(market, int(c))}Z{int(k) + 1}"
            for c, k in zip(market.zone_county, market.zone_local, strict=True)]


# ------------------------------------------------------------------------------- block holders

@dataclass(frozen=True)
class LotSupply:
    """What each provider can supply in each lot: one row per (lot, provider)."""

    lot: np.ndarray
    provider: np.ndarray
    capacity: np.ndarray  # planned hours (beds) in the lot
    price: np.ndarray  # capacity-weighted mean price of its offers there


def lot_supply(market: Market, lots: Lots) -> LotSupply:
    """Providers' planned supply per lot, from their offers' planned volume.

    An hourly offer serves every complexity up to its maximum; its planned hours are shared
    over those lots in proportion to the demand of each complexity in its cell. A scheme's beds
    count in the lot of its own complexity band.
    """
    demand = market.cell_demand()
    o = np.arange(len(market.offer_provider))
    rows_o = np.concatenate([o[market.offer_max_complexity >= c] for c in range(3)])
    rows_c = np.concatenate([np.full(int((market.offer_max_complexity >= c).sum()), c)
                             for c in range(3)])
    z, s = market.offer_zone[rows_o], market.offer_service[rows_o]
    cum = np.cumsum(demand, axis=2)  # demand of complexities up to each one
    reach = cum[z, s, market.offer_max_complexity[rows_o]]
    frac = np.where(reach > 0, demand[z, s, rows_c] / np.where(reach > 0, reach, 1), 0.0)
    # a scheme was built for its own band's placements (market._schemes): it supplies that lot
    own_band = rows_c == market.offer_max_complexity[rows_o]
    frac = np.where(s == SL, own_band.astype(float), frac)
    cap = market.offer_planned[rows_o] * frac
    lot = lots.cell_lot[z, s, rows_c]
    keep = (lot >= 0) & (cap > 0)
    lot, prov, cap, price = lot[keep], market.offer_provider[rows_o][keep], cap[keep], \
        market.offer_price[rows_o][keep]
    key = lot * market.n_providers + prov
    uniq, inv = np.unique(key, return_inverse=True)
    cap_sum = np.bincount(inv, weights=cap)
    price_mean = np.bincount(inv, weights=cap * price) / cap_sum
    return LotSupply(uniq // market.n_providers, uniq % market.n_providers, cap_sum, price_mean)


def _pick_per_lot(rng: np.random.Generator, supply: LotSupply, mask: np.ndarray,
                  per_lot: np.ndarray, largest: np.ndarray | None = None) -> np.ndarray:
    """Indices of up to ``per_lot[lot]`` random rows of ``supply`` per lot among ``mask``.

    In lots where ``largest`` is true the rows with the largest supply are taken instead.
    """
    idx = np.nonzero(mask)[0]
    key = rng.random(len(idx))
    if largest is not None:
        key = np.where(largest[supply.lot[idx]], -supply.capacity[idx], key)
    order = idx[np.lexsort((key, supply.lot[idx]))]
    lot = supply.lot[order]
    start = np.r_[True, lot[1:] != lot[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - first
    return np.sort(order[rank < per_lot[lot]])


def _volume(x: np.ndarray, beds: np.ndarray) -> np.ndarray:
    """Block volumes: whole beds (rounded down), hours to the nearest hour."""
    return np.where(beds, np.floor(x), np.round(x))


def block_contracts(rng: np.random.Generator, market: Market, lots: Lots,
                    supply: LotSupply, provider_ids: list[str], *,
                    block_only_cover: float | None = None) -> tuple[list[dict], np.ndarray]:
    """Contracts in force: 1 holder per hourly lot, 2 per bed lot (assumption).

    Together they cover 30% of an hourly lot's demand and 50% of a bed lot's (assumption; 003
    proposes ~70% of placements on block), each capped by the holder's supply in the lot, at a
    5% discount on the holder's mean price there. With ``block_only_cover``, block-only lots
    (``framework = false``) get up to 3 holders covering that share of their demand together
    (the zoo's ``blockonly`` family). Returns the rows and the supply rows used.
    """
    good = market.provider_quality[supply.provider] >= cal.BLOCK_MIN_QUALITY
    beds = lots.unit_beds[supply.lot]
    block_only = np.array([not row["framework"] for row in lots.rows], dtype=bool)
    per_lot = np.where(lots.unit_beds, 2, 1)
    if block_only_cover is None:
        chosen = _pick_per_lot(rng, supply, good, per_lot)
    else:
        per_lot = np.where(block_only, 3, per_lot)
        chosen = _pick_per_lot(rng, supply, good, per_lot, largest=block_only)
    share = np.where(beds, cal.BLOCK_IN_FORCE_SHARE["beds"], cal.BLOCK_IN_FORCE_SHARE["hours"])
    holders = np.bincount(supply.lot[chosen], minlength=len(lots.rows))
    lot = supply.lot[chosen]
    want = share[chosen] * lots.demand[lot] / np.maximum(holders[lot], 1)
    volume = _volume(np.minimum(want, supply.capacity[chosen]), beds[chosen])
    if block_only_cover is not None:
        # a block-only lot is let to its largest suppliers for the cover share of its demand,
        # split in proportion to their supply there: funding, not capacity (an offer serves
        # every complexity up to its maximum, so a holder can move work into the lot)
        closed = block_only[lot]
        supplied = np.bincount(lot, weights=supply.capacity[chosen], minlength=len(lots.rows))
        part = supply.capacity[chosen] / np.maximum(supplied[lot], 1e-12)
        volume = np.where(closed, _volume(block_only_cover * lots.demand[lot] * part,
                                          beds[chosen]), volume)
    rate = np.round(supply.price[chosen] * (1 - cal.BLOCK_DISCOUNT), 2)
    keep = volume >= 1
    rows = [
        {"provider": provider_ids[p], "lot": lots.rows[lt]["id"], "rate": r, "volume": v}
        for p, lt, r, v in zip(supply.provider[chosen][keep].tolist(), lot[keep].tolist(),
                               rate[keep].tolist(), volume[keep].tolist(), strict=True)
    ]
    return rows, chosen[keep]


def block_bids(rng: np.random.Generator, market: Market, lots: Lots, supply: LotSupply,
               provider_ids: list[str], exclude: np.ndarray) -> list[dict]:
    """Candidate block bids: up to 4 providers per lot (not those holding a contract there).

    Rate 5-15% below the bidder's mean price in the lot, max volume its supply there capped
    by the lot's max share of demand, min volume a quarter of that, award cost 2-5% of the
    bid's full weekly value (all assumptions). Bidders below the lot's min quality are kept:
    the engine drops and reports them (DESIGN.md section 5).
    """
    mask = np.ones(len(supply.lot), dtype=bool)
    mask[exclude] = False
    per_lot = np.full(len(lots.rows), cal.BIDDERS_PER_LOT)
    chosen = _pick_per_lot(rng, supply, mask, per_lot)
    lot = supply.lot[chosen]
    beds = lots.unit_beds[lot]
    max_share = np.array([row["block"]["max_share"] for row in lots.rows])[lot]
    vmax = _volume(np.minimum(supply.capacity[chosen], max_share * lots.demand[lot]), beds)
    vmin = _volume(0.25 * vmax, beds)
    rate = np.round(supply.price[chosen] * (1 - rng.uniform(*cal.BID_DISCOUNT, len(chosen))), 2)
    award = np.round(rate * vmax * rng.uniform(*cal.BID_AWARD_COST, len(chosen)), 2)
    keep = vmax >= 1
    return [
        {"provider": provider_ids[p], "lot": lots.rows[lt]["id"], "rate": r,
         "min_volume": lo, "max_volume": hi, "award_cost": a}
        for p, lt, r, lo, hi, a in zip(
            supply.provider[chosen][keep].tolist(), lot[keep].tolist(), rate[keep].tolist(),
            vmin[keep].tolist(), vmax[keep].tolist(), award[keep].tolist(), strict=True)
    ]


# ------------------------------------------------------------------------------- scenarios

def demand_scenarios(rng: np.random.Generator, k: int) -> list[dict]:
    """``k`` demand scenarios: multipliers within 001's range of yearly hours, weights summing
    to 1 exactly.

    001's hours per week over 2017/18-2021/22 run from 38,000 to 48,721 around the projected
    40,000, so multipliers are drawn from [0.95, 1.218]. Weights are integers over 2**20 (exact
    binary fractions), so that their floating-point sum is exactly 1 in any order.
    """
    if k <= 0:
        return []
    lo = min(cal.COUNTY_HOURS_HISTORY) / cal.COUNTY_HOURS_PER_WEEK
    hi = max(cal.COUNTY_HOURS_HISTORY) / cal.COUNTY_HOURS_PER_WEEK
    multipliers = np.sort(np.round(rng.uniform(lo, hi, k), 3))
    denominator = 2**20
    units = 1 + apportion(denominator - k, rng.gamma(4.0, 1.0, k))
    return [
        {"id": f"demand-{i + 1}", "weight": u / denominator, "demand_multiplier": m}
        for i, (u, m) in enumerate(zip(units.tolist(), multipliers.tolist(), strict=True))
    ]

