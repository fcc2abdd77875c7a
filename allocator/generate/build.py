"""``generate``: a synthetic instance calibrated to the council papers.

The market is drawn as numpy columns (:mod:`.market`) for a family of the market zoo
(:mod:`.families`), lots and contracts are added (:mod:`.contracts`), and the rows are
validated into an :class:`~allocator.instance.schema.Instance` in
one pass (pydantic-core validates the whole document; the cyclic garbage collector is paused
meanwhile, which makes the XL scale's 600,000 needs several times faster).
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np

from allocator.generate import calibration as cal
from allocator.generate.contracts import (
    block_bids,
    block_contracts,
    build_lots,
    county_prefix,
    demand_scenarios,
    lot_supply,
    zone_id_list,
)
from allocator.generate.families import BASE, Family
from allocator.generate.families import family as family_named
from allocator.generate.market import (
    CARE_GROUP_SETS,
    PRIORITIES,
    PROVIDER_TYPES,
    RATINGS,
    SERVICES,
    SL,
    Market,
    build_market,
)
from allocator.instance.schema import Instance

PROVIDER_NAMES = {"home_care": "Home care", "support": "Support", "supported_living":
                  "Supported living"}


def generate(
    scale: str = "M",
    *,
    needs: int | None = None,
    providers: int | None = None,
    zones: int | None = None,
    seed: int,
    blocks: bool = False,
    bids: bool = False,
    scenarios: int = 0,
    family: str | Family | None = None,
) -> Instance:
    """Generate a synthetic instance calibrated to the council papers in ``shared/seeds``.

    Parameters
    ----------
    scale
        ``"S"``, ``"M"``, ``"L"`` or ``"XL"`` (DESIGN.md section 7): the default numbers of
        needs, providers and zones. M is one Devon-like county of 8 zones; L and XL are 10 and
        100 such counties.
    needs, providers, zones
        Override the scale's numbers. Zones come in counties of 8 (the last may be partial).
    seed
        Random seed. The same arguments give the same instance, field for field (and so the
        same bytes once saved).
    blocks
        Add block contracts in force (lots' ``block_contracts``).
    bids
        Add candidate block bids for lot design (``block_bids``); the highly complex
        supported-living lots then become block-only (003's proposal).
    scenarios
        Number of demand scenarios to add (0 for none); their weights sum to 1 exactly.
    family
        A family of the market zoo (:mod:`allocator.generate.families`), by name or as a
        :class:`~allocator.generate.families.Family`; ``None`` or ``"base"``: the calibrated
        market.

    Returns
    -------
    Instance
        A fully validated instance. Calibration figures and their sources are in
        :mod:`allocator.generate.calibration` and ``models/benchmarks.md``.
    """
    if scenarios < 0:
        raise ValueError(f"scenarios must be >= 0, got {scenarios}")
    fam = family_named(family)
    market = _market(scale, needs, providers, zones, seed, fam)
    n_needs, n_providers, n_zones = market.n_needs, market.n_providers, market.n_zones
    custom = (needs, providers, zones) != (None, None, None)
    name = (f"generated-{n_needs}n-{n_providers}p-{n_zones}z-seed{seed}" if custom
            else f"generated-{scale}-seed{seed}")
    if fam.name != BASE.name:
        name = name.replace("generated-", f"generated-{fam.name}-", 1)
    doc = instance_document(market, name=name, seed=seed, blocks=blocks, bids=bids,
                            scenarios=scenarios, family=fam)
    return validate_document(doc)


def planned_assignment(
    scale: str = "M",
    *,
    needs: int | None = None,
    providers: int | None = None,
    zones: int | None = None,
    seed: int,
    family: str | Family | None = None,
) -> dict[str, str]:
    """The allocation the generator sized capacities from: need id -> offer id.

    Same arguments as :func:`generate` (the options do not change the market). It is feasible
    for the generated instance by construction (offers' and providers' capacities are its use,
    rounded up; placements fill their cell's schemes bed by bed), and leaves about 5% of hours
    unmet, so it is an upper bound on the optimum and a warm start. Needs planned to go unmet
    are absent. In the zoo's ``sharecap`` and ``blockonly`` families the plan ignores the
    share cap and the block-only lots (it is drawn before them), so it may break those rows.
    """
    market = _market(scale, needs, providers, zones, seed, family_named(family))
    offer_ids = _offer_ids(market, zone_id_list(market), _ids("P", market.n_providers))
    need_ids = _ids("N", market.n_needs)
    return {need_ids[n]: offer_ids[o] for n, o in enumerate(market.need_plan.tolist()) if o >= 0}


def _market(scale: str, needs: int | None, providers: int | None, zones: int | None,
            seed: int, fam: Family = BASE) -> Market:
    if scale not in cal.SCALES:
        raise ValueError(f"scale must be one of {', '.join(cal.SCALES)}, not {scale!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    size = cal.SCALES[scale]
    return build_market(size.needs if needs is None else needs,
                        size.providers if providers is None else providers,
                        size.zones if zones is None else zones, seed, fam)


def _offer_ids(market: Market, zone_ids: list[str], provider_ids: list[str]) -> list[str]:
    """Offer ids as the schema derives them (clarification 2): scheme, or provider/zone/service."""
    scheme_ids = _ids("S", int((market.offer_scheme >= 0).sum()))
    return [
        scheme_ids[sch] if sch >= 0 else f"{provider_ids[p]}/{zone_ids[z]}/{SERVICES[s]}"
        for p, z, s, sch in zip(market.offer_provider.tolist(), market.offer_zone.tolist(),
                                market.offer_service.tolist(), market.offer_scheme.tolist(),
                                strict=True)
    ]


def validate_document(doc: dict[str, Any]) -> Instance:
    """Validate a whole instance document at once, with the cyclic GC paused."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return Instance.model_validate(doc)
    finally:
        if enabled:
            gc.enable()


def instance_document(market: Market, *, name: str, seed: int, blocks: bool, bids: bool,
                      scenarios: int, family: Family = BASE) -> dict[str, Any]:
    """The instance as plain rows (dicts and lists), ready for validation."""
    zone_ids = zone_id_list(market)
    provider_ids = _ids("P", market.n_providers)
    _check_penalties(market)
    lots = build_lots(market, block_only_highly_complex=bids,
                      block_only_all_highly_complex=family.block_only)
    streams = [np.random.default_rng(s)
               for s in np.random.SeedSequence([seed, 1]).spawn(3)]  # apart from the market's
    contracts: list[dict] = []
    bid_rows: list[dict] = []
    held = np.zeros(0, dtype=np.int64)
    if blocks or bids:
        supply = lot_supply(market, lots)
        if blocks:
            contracts, held = block_contracts(
                streams[0], market, lots, supply, provider_ids,
                block_only_cover=family.block_only_cover if family.block_only else None)
        if bids:
            bid_rows = block_bids(streams[1], market, lots, supply, provider_ids, held)
    lot_rows = _open_unfunded_lots(lots.rows, contracts, bid_rows)
    provider_rows = _providers(market, provider_ids)
    if bids:
        quality = {row["id"]: float(row["quality"]) for row in provider_rows}
        lot_rows = _bidders_enough(lot_rows, bid_rows, quality)
    return {
        "schema_version": 1,
        "name": name,
        "currency": "GBP",
        "zones": _zones(market, zone_ids),
        "providers": provider_rows,
        "offers": _offers(market, zone_ids, provider_ids),
        "needs": _needs(market, zone_ids, provider_ids),
        "lots": lot_rows,
        "block_contracts": contracts,
        "block_bids": bid_rows,
        "policy": {
            "unmet_penalty": dict(cal.UNMET_PENALTY),
            "transfer_penalty": cal.TRANSFER_PENALTY,
            "quality_weight": cal.QUALITY_WEIGHT,
            "out_of_zone_penalty": cal.OUT_OF_ZONE_PENALTY,
            "min_framework_quality": cal.MIN_FRAMEWORK_QUALITY,
            **({} if family.max_provider_share is None
               else {"max_provider_share": family.max_provider_share}),
            **({"objective": "lexicographic"} if family.lexicographic else {}),
        },
        "scenarios": demand_scenarios(streams[2], scenarios),
    }


def _ids(prefix: str, n: int) -> list[str]:
    width = len(str(n))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def _check_penalties(market: Market) -> None:
    """Unmet need must cost more than any way of serving it (the issue's requirement)."""
    extra = cal.QUALITY_WEIGHT + cal.OUT_OF_ZONE_PENALTY
    beds = market.offer_service == SL
    cheapest_hour = min(v for k, v in cal.UNMET_PENALTY.items() if not k.endswith("_bed"))
    cheapest_bed = min(v for k, v in cal.UNMET_PENALTY.items() if k.endswith("_bed"))
    if (market.offer_price[~beds] + extra >= cheapest_hour).any() or (
            market.offer_price[beds] + extra >= cheapest_bed).any():
        raise AssertionError("a generated price reaches an unmet penalty")


def _open_unfunded_lots(rows: list[dict], contracts: list[dict], bids: list[dict]) -> list[dict]:
    """A block-only lot with neither a contract nor a bid could serve nobody: reopen it."""
    funded = {c["lot"] for c in contracts} | {b["lot"] for b in bids}
    return [row if row["framework"] or row["id"] in funded else {**row, "framework": True}
            for row in rows]


def _bidders_enough(rows: list[dict], bids: list[dict],
                    quality: dict[str, float]) -> list[dict]:
    """A lot's ``min_providers`` counts awarded bids only (clarification 7), and a provider
    holding a contract in a lot does not bid in it: where fewer providers bid than the lot
    asks for (a highly complex lot whose only suppliers hold contracts there), it asks for
    the bidders there. Without this, ``--blocks --bids`` at S made markets whose design is
    infeasible ("lot SL-HC needs at least 1 block provider(s) but has 0 awardable bid(s)").
    Only admissible bidders count: a bid from a provider below the lot's block
    ``min_quality`` is dropped when the design is solved (``--family schemes --scale S
    --seed 3`` had one bidder in SL-HC, of quality 59 against 60, and no design), and so is
    one below the lot's own ``min_quality`` or the policy's ``min_framework_quality``
    (:func:`allocator.core.problem.bid_exclusion`)."""
    out = []
    for row in rows:
        block = row.get("block")
        floor = max(0.0 if block is None else float(block.get("min_quality", 0.0)),
                    float(row.get("min_quality", 0.0)), cal.MIN_FRAMEWORK_QUALITY)
        n = len({b["provider"] for b in bids
                 if b["lot"] == row["id"] and quality[b["provider"]] >= floor})
        if block is not None and block.get("min_providers", 0) > n:
            row = {**row, "block": {**block, "min_providers": n}}
        out.append(row)
    return out


def _zones(market: Market, zone_ids: list[str]) -> list[dict]:
    rows = []
    for zid, c, k in zip(zone_ids, market.zone_county.tolist(), market.zone_local.tolist(),
                         strict=True):
        if c == 0:  # 001: Devon's zones
            name = f"Zone {k + 1}: {cal.DEVON_ZONES[k]}"
        else:
            name = f"County {c + 1}, zone {k + 1} (like Devon's {cal.DEVON_ZONES[k]})"
        rows.append({"id": zid, "name": name})
    return rows


def _providers(market: Market, provider_ids: list[str]) -> list[dict]:
    width = len(str(market.n_providers))
    cap = market.provider_capacity
    return [
        {
            "id": pid,
            "name": f"{PROVIDER_NAMES[PROVIDER_TYPES[t]]} {i:0{width}d}",
            "quality": q,
            "capacity": None if np.isnan(c) else c,
            "cqc_rating": None if r < 0 else RATINGS[r],
        }
        for i, (pid, t, q, c, r) in enumerate(zip(
            provider_ids, market.provider_type.tolist(), market.provider_quality.tolist(),
            cap.tolist(), market.provider_rating.tolist(), strict=True), start=1)
    ]


def _offers(market: Market, zone_ids: list[str], provider_ids: list[str]) -> list[dict]:
    scheme_ids = _ids("S", int((market.offer_scheme >= 0).sum()))
    groups = [list(g) for g in CARE_GROUP_SETS]
    rows = []
    for p, z, s, price, cap, cx, tf, cg, sch in zip(
        market.offer_provider.tolist(), market.offer_zone.tolist(),
        market.offer_service.tolist(), market.offer_price.tolist(),
        market.offer_capacity.tolist(), market.offer_max_complexity.tolist(),
        market.offer_travel.tolist(), market.offer_care_groups.tolist(),
        market.offer_scheme.tolist(), strict=True,
    ):
        row = {
            "provider": provider_ids[p],
            "zone": zone_ids[z],
            "service": SERVICES[s],
            "unit": "beds" if s == SL else "hours",
            "price": price,
            "capacity": cap,
            "max_complexity": cal.COMPLEXITIES[cx],
            "travel_factor": tf,
            "care_groups": [] if cg < 0 else groups[cg],
        }
        if sch >= 0:
            row["scheme"] = scheme_ids[sch]
        rows.append(row)
    return rows


def _needs(market: Market, zone_ids: list[str], provider_ids: list[str]) -> list[dict]:
    need_ids = _ids("N", market.n_needs)
    return [
        {
            "id": nid,
            "kind": "placement" if s == SL else "package",
            "zone": zone_ids[z],
            "service": SERVICES[s],
            "complexity": cal.COMPLEXITIES[cx],
            "care_group": cal.CARE_GROUPS[cg],
            "quantity": q,
            "priority": PRIORITIES[pr],
            "acceptable_zones": None if alt < 0 else (
                [zone_ids[z], zone_ids[alt]] if alt2 < 0
                else [zone_ids[z], zone_ids[alt], zone_ids[alt2]]),
            "current_provider": None if cur < 0 else provider_ids[cur],
        }
        for nid, z, s, cx, cg, q, pr, alt, alt2, cur in zip(
            need_ids, market.need_zone.tolist(), market.need_service.tolist(),
            market.need_complexity.tolist(), market.need_care_group.tolist(),
            market.need_quantity.tolist(), market.need_priority.tolist(),
            market.need_alt_zone.tolist(), market.need_alt_zone2.tolist(),
            market.need_current.tolist(), strict=True)
    ]


__all__ = ["county_prefix", "generate", "instance_document", "planned_assignment",
           "validate_document"]
