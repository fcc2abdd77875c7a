"""Tiny random instances that exercise every term and constraint of DESIGN.md sections 4 and 5.

:func:`random_instance` builds one from a seed (or a ``numpy`` generator). The instances are
small enough for :mod:`tests.reference` to enumerate, and tight enough that capacities bind,
some needs stay unmet and the block, share and quality rules matter:

* 1-3 zones, needs with acceptable zones beyond their own, out-of-zone and quality penalties;
* 1-4 providers, with and without a total capacity, some below ``min_framework_quality``;
* hours offers with travel factors above 1, care-group restrictions and complexity caps;
* beds offers (schemes) and placements with their own priorities;
* lots (non-overlapping products of zones x services x complexities), sometimes one with
  ``framework=false`` and sometimes a reservation lot, block contracts in force;
* ``max_provider_share``, transfers (current providers), several priorities,
  the lexicographic objective sometimes; quantities with decimals.

With ``design=True`` the instance also has block bids (with minimum volumes and award costs),
block sections with provider and share limits and a quality floor, and optionally scenarios
(a demand multiplier, or a scenario's own needs).
"""

from __future__ import annotations

import itertools

import numpy as np

from allocator.instance.schema import Instance

HOURS_SERVICES = ("personal_care", "individual_support")
COMPLEXITIES = ("less_complex", "complex", "highly_complex")
CARE_GROUPS = ("OP", "PD", "LD")
HOURS_PRIORITIES = {"standard": (30.0, 75.0), "urgent": (70.0, 140.0)}
BED_PRIORITIES = {"standard_bed": (600.0, 1500.0), "urgent_bed": (1500.0, 3000.0)}


def _rng(rng_or_seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(rng_or_seed, np.random.Generator):
        return rng_or_seed
    return np.random.default_rng(rng_or_seed)


def _money(rng: np.random.Generator, low: float, high: float) -> float:
    return round(float(rng.uniform(low, high)), 2)


def random_instance(
    rng_or_seed: int | np.random.Generator,
    *,
    n_needs: int | None = None,
    n_providers: int | None = None,
    n_zones: int | None = None,
    placements: bool | None = None,
    lexicographic: bool | None = None,
    design: bool = False,
    n_scenarios: int | None = None,
) -> Instance:
    """A tiny random instance (see the module docstring for what it exercises).

    Parameters
    ----------
    rng_or_seed
        A seed (the instance is then a pure function of it) or a numpy generator.
    n_needs, n_providers, n_zones
        Sizes; drawn at random (needs 2-7, or 2-4 in design mode; providers 1-4; zones 1-3)
        when not given.
    placements
        Whether supported-living schemes and placements are included (random when None).
    lexicographic
        Whether the policy's objective is lexicographic (random, about one in four).
    design
        Add block bids, block sections with limits, and possibly scenarios.
    n_scenarios
        Design mode only: 0, 1 or 2 scenarios (random when None).

    Returns
    -------
    Instance
        A valid instance: unique ids, known references, non-overlapping lots, one offer per
        provider, zone and service, a penalty for every priority used.
    """
    rng = _rng(rng_or_seed)
    n_zones = int(rng.integers(1, 4)) if n_zones is None else n_zones
    n_providers = int(rng.integers(1, 5)) if n_providers is None else n_providers
    if n_needs is None:
        n_needs = int(rng.integers(2, 5)) if design else int(rng.integers(2, 8))
    if placements is None:
        placements = bool(rng.random() < 0.35)
    if lexicographic is None:
        lexicographic = bool(rng.random() < 0.25)

    zones = [f"z{i + 1}" for i in range(n_zones)]
    services = [HOURS_SERVICES[0]]
    if rng.random() < 0.5:
        services.append(HOURS_SERVICES[1])
    if placements:
        services.append("supported_living")

    providers = []
    for i in range(n_providers):
        row: dict = {"id": f"p{i + 1}", "quality": float(rng.integers(20, 101))}
        if rng.random() < 0.5:
            row["capacity"] = round(float(rng.uniform(4, 25)), 1)
        providers.append(row)

    offers = []
    for provider in providers:
        cells = [(z, s) for z in zones for s in services]
        count = int(rng.integers(1, min(4, len(cells)) + 1))
        for k in rng.choice(len(cells), size=count, replace=False):
            zone, service = cells[int(k)]
            offer: dict = {
                "provider": provider["id"],
                "zone": zone,
                "service": service,
                "max_complexity": str(rng.choice(COMPLEXITIES, p=[0.1, 0.4, 0.5])),
            }
            if rng.random() < 0.3:
                size = int(rng.integers(1, 3))
                offer["care_groups"] = sorted(
                    str(g) for g in rng.choice(CARE_GROUPS, size=size, replace=False)
                )
            if service == "supported_living":
                offer.update(
                    unit="beds",
                    price=_money(rng, 500, 1400),
                    capacity=float(rng.integers(0, 3)),
                    scheme=f"s_{provider['id']}_{zone}",
                )
            else:
                offer.update(
                    unit="hours",
                    price=_money(rng, 12, 32),
                    capacity=round(float(rng.uniform(4, 26)), 1),
                    travel_factor=1.0 if rng.random() < 0.5 else float(rng.choice([1.1, 1.25])),
                )
            offers.append(offer)

    needs = _random_needs(rng, n_needs, zones, services, providers, offers, "n")

    lots = _random_lots(rng, zones, services)
    lot_providers = _providers_by_lot(lots, offers)
    contracts = []
    for lot in lots:
        for provider_id in lot_providers[lot["id"]]:
            if rng.random() < 0.35:
                price = min(o["price"] for o in offers if o["provider"] == provider_id)
                volume = float(rng.integers(0, 3)) if lot["unit"] == "beds" else round(
                    float(rng.uniform(0, 12)), 1)
                contracts.append({
                    "provider": provider_id,
                    "lot": lot["id"],
                    "rate": round(price * float(rng.uniform(0.5, 0.95)), 2),
                    "volume": volume,
                })
    if lots and rng.random() < 0.35:
        # A lot served only out of block volume: give it a contract so it is usable.
        lot = lots[int(rng.integers(len(lots)))]
        lot["framework"] = False
        if lot_providers[lot["id"]] and not any(c["lot"] == lot["id"] for c in contracts):
            provider_id = lot_providers[lot["id"]][0]
            contracts.append({
                "provider": provider_id,
                "lot": lot["id"],
                "rate": _money(rng, 5, 20) if lot["unit"] == "hours" else _money(rng, 300, 900),
                "volume": round(float(rng.uniform(2, 10)), 1) if lot["unit"] == "hours" else 1.0,
            })
    for lot in lots:
        if rng.random() < 0.15:
            lot["reservation"] = True

    policy: dict = {
        "unmet_penalty": {
            **{k: _money(rng, *v) for k, v in HOURS_PRIORITIES.items()},
            **{k: _money(rng, *v) for k, v in BED_PRIORITIES.items()},
        },
        "objective": "lexicographic" if lexicographic else "weighted",
    }
    if rng.random() < 0.6:
        policy["transfer_penalty"] = _money(rng, 20, 250)
    if rng.random() < 0.6:
        policy["quality_weight"] = _money(rng, 2, 15)
    if rng.random() < 0.6:
        policy["out_of_zone_penalty"] = _money(rng, 1, 10)
    if rng.random() < 0.35:
        policy["min_framework_quality"] = float(rng.integers(30, 60))
    if rng.random() < 0.35:
        policy["max_provider_share"] = round(float(rng.uniform(0.5, 0.95)), 2)

    bids: list[dict] = []
    scenarios: list[dict] = []
    if design:
        bids = _random_bids(rng, lots, lot_providers, offers, contracts)
        for lot in lots:
            if rng.random() < 0.8:
                n_lot_bids = sum(1 for b in bids if b["lot"] == lot["id"])
                lot["block"] = _random_block_rules(rng, n_lot_bids)
        n_scenarios = int(rng.integers(0, 3)) if n_scenarios is None else n_scenarios
        scenarios = _random_scenarios(rng, n_scenarios, n_needs, zones, services, providers,
                                      offers)
        # DESIGN.md does not say whether the design share bounds have a row where the
        # (expected) demand D[l] is 0 (clarification 4 speaks of share caps): keep clear of it.
        worlds = [s["needs"] for s in scenarios if "needs" in s]
        if len(worlds) < len(scenarios) or not scenarios:
            worlds.append(needs)
        for lot in lots:
            if not any(_in_lot(lot, n) for world in worlds for n in world):
                lot.pop("block", None)
    else:
        for lot in lots:
            if rng.random() < 0.3:
                # Block rules without bids: only inert limits (see the checker's module note).
                lot["block"] = {"max_providers": int(rng.integers(1, 3)),
                                "min_quality": float(rng.integers(0, 60))}

    return Instance.model_validate({
        "name": "random",
        "zones": [{"id": z} for z in zones],
        "providers": providers,
        "offers": offers,
        "needs": needs,
        "lots": lots,
        "block_contracts": contracts,
        "block_bids": bids,
        "policy": policy,
        "scenarios": scenarios,
    })


def _random_needs(
    rng: np.random.Generator,
    count: int,
    zones: list[str],
    services: list[str],
    providers: list[dict],
    offers: list[dict],
    prefix: str,
) -> list[dict]:
    needs = []
    for i in range(count):
        if rng.random() < 0.75:
            # Mostly where some offer is, so that capacity rather than absence decides.
            offer = offers[int(rng.integers(len(offers)))]
            zone, service = offer["zone"], offer["service"]
        else:
            service = services[int(rng.integers(len(services)))]
            zone = zones[int(rng.integers(len(zones)))]
        row: dict = {
            "id": f"{prefix}{i + 1}",
            "zone": zone,
            "service": service,
            "complexity": str(rng.choice(COMPLEXITIES, p=[0.5, 0.3, 0.2])),
            "care_group": CARE_GROUPS[int(rng.integers(len(CARE_GROUPS)))],
        }
        if service == "supported_living":
            row.update(kind="placement", quantity=1.0,
                       priority=list(BED_PRIORITIES)[int(rng.integers(2))])
        else:
            row.update(kind="package", quantity=round(float(rng.uniform(1, 12)) * 4) / 4,
                       priority=list(HOURS_PRIORITIES)[int(rng.integers(2))])
        if len(zones) > 1 and rng.random() < 0.4:
            others = [z for z in zones if z != zone]
            extra = rng.choice(others, size=int(rng.integers(1, len(others) + 1)), replace=False)
            row["acceptable_zones"] = [zone, *sorted(str(z) for z in extra)]
        if rng.random() < 0.3:
            row["current_provider"] = providers[int(rng.integers(len(providers)))]["id"]
        needs.append(row)
    return needs


def _random_lots(rng: np.random.Generator, zones: list[str], services: list[str]) -> list[dict]:
    """Non-overlapping product lots; some cells stay in no lot."""
    lots: list[dict] = []
    taken: set[tuple[str, str, str]] = set()
    for service in services:
        unit = "beds" if service == "supported_living" else "hours"
        shape = rng.random()
        if shape < 0.15:
            continue  # this service has no lot at all
        if shape < 0.5:
            groups = [(zones, list(COMPLEXITIES))]
        elif shape < 0.8:
            groups = [([z], list(COMPLEXITIES)) for z in zones]
        else:
            cut = int(rng.integers(1, 3))
            groups = [(zones, list(COMPLEXITIES[:cut])), (zones, list(COMPLEXITIES[cut:]))]
            if rng.random() < 0.5:
                groups = groups[1:]  # the lower bands stay outside every lot
        for lot_zones, complexities in groups:
            cells = set(itertools.product(lot_zones, [service], complexities))
            if cells & taken:
                continue
            taken |= cells
            lots.append({
                "id": f"L{len(lots) + 1}",
                "unit": unit,
                "zones": list(lot_zones),
                "services": [service],
                "complexities": complexities,
            })
    return lots


def _in_lot(lot: dict, need: dict) -> bool:
    return (
        need["zone"] in lot["zones"]
        and need["service"] in lot["services"]
        and need["complexity"] in lot["complexities"]
    )


def _providers_by_lot(lots: list[dict], offers: list[dict]) -> dict[str, list[str]]:
    """Providers with an offer in one of the lot's (zone, service) pairs."""
    found: dict[str, list[str]] = {}
    for lot in lots:
        ids = []
        for offer in offers:
            if offer["zone"] in lot["zones"] and offer["service"] in lot["services"]:
                if offer["provider"] not in ids:
                    ids.append(offer["provider"])
        found[lot["id"]] = ids
    return found


def _random_bids(
    rng: np.random.Generator,
    lots: list[dict],
    lot_providers: dict[str, list[str]],
    offers: list[dict],
    contracts: list[dict],
) -> list[dict]:
    bids = []
    held = {(c["provider"], c["lot"]) for c in contracts}
    for lot in lots:
        for provider_id in lot_providers[lot["id"]]:
            if (provider_id, lot["id"]) in held or rng.random() < 0.3:
                continue
            price = min(o["price"] for o in offers if o["provider"] == provider_id)
            beds = lot["unit"] == "beds"
            high = float(rng.integers(1, 3)) if beds else round(float(rng.uniform(3, 15)), 1)
            low = 0.0 if rng.random() < 0.5 else round(high * float(rng.uniform(0.2, 0.8)), 1)
            bids.append({
                "provider": provider_id,
                "lot": lot["id"],
                "rate": round(price * float(rng.uniform(0.4, 0.9)), 2),
                "min_volume": low,
                "max_volume": high,
                "award_cost": 0.0 if rng.random() < 0.4 else _money(rng, 5, 60),
            })
    # At most four bids: the reference enumerates every subset of them.
    keep = sorted(rng.choice(len(bids), size=min(4, len(bids)), replace=False))
    return [bids[int(k)] for k in keep]


def _random_block_rules(rng: np.random.Generator, n_bids: int) -> dict:
    rules: dict = {}
    if n_bids and rng.random() < 0.3:
        rules["min_providers"] = 1
    if rng.random() < 0.4:
        rules["max_providers"] = int(rng.integers(1, 3))
    if n_bids and rng.random() < 0.3:
        rules["min_share"] = round(float(rng.uniform(0.05, 0.3)), 2)
    if rng.random() < 0.5:
        rules["max_share"] = round(float(rng.uniform(max(0.4, rules.get("min_share", 0)), 1)), 2)
    if rng.random() < 0.3:
        rules["min_quality"] = float(rng.integers(30, 70))
    return rules


def _random_scenarios(
    rng: np.random.Generator,
    count: int,
    n_needs: int,
    zones: list[str],
    services: list[str],
    providers: list[dict],
    offers: list[dict],
) -> list[dict]:
    if count == 0:
        return []
    weights = [1.0] if count == 1 else [0.25, 0.75] if rng.random() < 0.5 else [0.5, 0.5]
    scenarios = []
    for i, weight in enumerate(weights):
        row: dict = {"id": f"s{i + 1}", "weight": weight}
        if rng.random() < 0.6:
            row["demand_multiplier"] = round(float(rng.uniform(0.6, 1.5)), 2)
        elif rng.random() < 0.5:
            size = max(1, min(3, n_needs + int(rng.integers(-1, 2))))
            row["needs"] = _random_needs(rng, size, zones, services, providers, offers,
                                         f"s{i + 1}n")
        scenarios.append(row)
    return scenarios
