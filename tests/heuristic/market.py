"""A quick random market generator for developing and testing the heuristic.

Not the benchmark generator (``allocator.generate``): this one only aims at the structure the
heuristic must cope with, at any size:

* zones on a line, needs accepting their own zone and sometimes a neighbour;
* providers with a home zone, offers there and sometimes in a neighbouring zone, provider
  capacities that bind across offers, travel factors above 1, care-group and complexity limits;
* supported-living schemes (beds) and placements;
* a personal-care lot per zone with block contracts in force, a group-support lot per zone
  served only out of block volume (``framework=false``), one reservation lot;
* max_provider_share, transfers (current providers), quality and out-of-zone penalties,
  several priorities;
* capacities tight enough that a few per cent of the demand stays unmet.

``market_instance(n_needs, n_providers, n_zones, seed)`` is a pure function of its arguments.
"""

from __future__ import annotations

import numpy as np

from allocator.instance.schema import Instance

COMPLEXITIES = ("less_complex", "complex", "highly_complex")
CARE_GROUPS = ("OP", "OPMH", "PD", "LD", "MH", "Autism")
HOURS_SERVICES = ("personal_care", "individual_support", "group_support")


def market_instance(
    n_needs: int,
    n_providers: int,
    n_zones: int,
    seed: int = 0,
    *,
    tightness: float = 1.0,
    lexicographic: bool = False,
    share: float | None = 0.3,
) -> Instance:
    """A random market (see the module docstring).

    Parameters
    ----------
    n_needs, n_providers, n_zones
        Sizes.
    seed
        The instance is a pure function of the arguments.
    tightness
        Demand over capacity; about 1 leaves a few per cent unmet.
    lexicographic
        The policy's objective.
    share
        max_provider_share (None: no cap).
    """
    rng = np.random.default_rng(seed)
    zones = [f"z{i}" for i in range(n_zones)]

    # ---- needs first, so that capacities can be sized to the demand
    needs = []
    demand_hours = np.zeros((n_zones, len(HOURS_SERVICES)))
    demand_beds = np.zeros(n_zones)
    for i in range(n_needs):
        z = int(rng.integers(n_zones))
        placement = rng.random() < 0.06
        row: dict = {
            "id": f"n{i}",
            "zone": zones[z],
            "complexity": COMPLEXITIES[int(rng.choice(3, p=[0.55, 0.33, 0.12]))],
            "care_group": CARE_GROUPS[int(rng.choice(6, p=[0.45, 0.15, 0.15, 0.12, 0.08, 0.05]))],
        }
        if placement:
            row.update(kind="placement", service="supported_living", quantity=1.0,
                       priority="urgent_bed" if rng.random() < 0.2 else "standard_bed")
            demand_beds[z] += 1
        else:
            s = int(rng.choice(3, p=[0.75, 0.17, 0.08]))
            q = float(np.clip(np.round(rng.lognormal(1.8, 0.6) * 4) / 4, 0.5, 60))
            row.update(kind="package", service=HOURS_SERVICES[s], quantity=q,
                       priority=str(rng.choice(["standard", "urgent", "hospital_discharge"],
                                               p=[0.8, 0.12, 0.08])))
            demand_hours[z, s] += q
        if n_zones > 1 and rng.random() < 0.2:
            nb = z + (1 if (z == 0 or (z < n_zones - 1 and rng.random() < 0.5)) else -1)
            row["acceptable_zones"] = [zones[z], zones[nb]]
        needs.append(row)

    # ---- providers and offers
    providers, offers = [], []
    home = rng.integers(n_zones, size=n_providers)
    prov_zones: list[list[int]] = []
    prov_services: list[list[int]] = []
    for p in range(n_providers):
        zs = [int(home[p])]
        if n_zones > 1 and rng.random() < 0.25:
            zs.append(int(home[p]) + (1 if home[p] < n_zones - 1 else -1))
        ss = [s for s, pr in enumerate((0.6, 0.3, 0.2)) if rng.random() < pr] or [0]
        prov_zones.append(zs)
        prov_services.append(ss)
    # offers per (zone, service) for sizing
    count = np.zeros((n_zones, len(HOURS_SERVICES)))
    for p in range(n_providers):
        for z in prov_zones[p]:
            for s in prov_services[p]:
                count[z, s] += 1
    for p in range(n_providers):
        quality = float(rng.integers(35, 101))
        base_price = 19 + 9 * rng.random() + 0.04 * (quality - 60)
        pid = f"p{p}"
        offer_caps = 0.0
        for z in prov_zones[p]:
            for s in prov_services[p]:
                fair = demand_hours[z, s] / max(1.0, count[z, s])
                cap = round(float(fair * rng.uniform(0.6, 1.3) / tightness), 1)
                offer_caps += cap
                offer: dict = {
                    "provider": pid, "zone": zones[z], "service": HOURS_SERVICES[s],
                    "unit": "hours", "price": round(base_price + rng.normal(0, 1.5) + 2 * s, 2),
                    "capacity": cap,
                    "max_complexity": COMPLEXITIES[int(rng.choice(3, p=[0.1, 0.4, 0.5]))],
                    "travel_factor": 1.0 if z == home[p] else float(rng.choice([1.1, 1.25])),
                }
                if rng.random() < 0.15:
                    offer["care_groups"] = sorted({str(g) for g in rng.choice(CARE_GROUPS, 3)})
                offers.append(offer)
        if rng.random() < 0.15:
            for k in range(int(rng.integers(1, 3))):
                z = prov_zones[p][k % len(prov_zones[p])]
                offers.append({
                    "provider": pid, "zone": zones[z], "service": "supported_living",
                    "unit": "beds", "scheme": f"s{p}_{k}",
                    "price": round(float(rng.uniform(900, 1600)), 2),
                    "capacity": float(rng.integers(1, 6)),
                    "max_complexity": COMPLEXITIES[int(rng.integers(1, 3))],
                })
        row = {"id": pid, "quality": quality}
        if len(prov_zones[p]) * len(prov_services[p]) > 1 and rng.random() < 0.8:
            row["capacity"] = round(offer_caps * float(rng.uniform(0.6, 0.9)), 1)
        providers.append(row)

    # ---- lots and block contracts
    lots, contracts = [], []
    for z in range(n_zones):
        lots.append({"id": f"PC{z}", "unit": "hours", "zones": [zones[z]],
                     "services": ["personal_care"], "complexities": list(COMPLEXITIES)})
        lots.append({"id": f"GS{z}", "unit": "hours", "zones": [zones[z]],
                     "services": ["group_support"], "complexities": list(COMPLEXITIES),
                     "framework": False})
    if n_zones:
        lots.append({"id": "IS0", "unit": "hours", "zones": [zones[0]],
                     "services": ["individual_support"], "complexities": list(COMPLEXITIES),
                     "reservation": True})
    by_offer = {(o["provider"], o["zone"], o["service"]): o for o in offers}
    for p in range(n_providers):
        pid = f"p{p}"
        z = int(home[p])
        pc = by_offer.get((pid, zones[z], "personal_care"))
        if pc is not None and rng.random() < 0.3:
            contracts.append({"provider": pid, "lot": f"PC{z}",
                              "rate": round(pc["price"] * float(rng.uniform(0.8, 0.95)), 2),
                              "volume": round(pc["capacity"] * float(rng.uniform(0.2, 0.6)), 1)})
        gs = by_offer.get((pid, zones[z], "group_support"))
        if gs is not None and rng.random() < 0.6:
            contracts.append({"provider": pid, "lot": f"GS{z}",
                              "rate": round(gs["price"] * 0.85, 2),
                              "volume": round(gs["capacity"] * float(rng.uniform(0.5, 1.0)), 1)})
        isv = by_offer.get((pid, zones[0], "individual_support"))
        if isv is not None and rng.random() < 0.5:
            contracts.append({"provider": pid, "lot": "IS0", "rate": 2.0,
                              "volume": round(isv["capacity"] * 0.5, 1)})

    # ---- current providers: someone with an offer in the need's zone and service
    offer_prov: dict[tuple[str, str], list[str]] = {}
    for o in offers:
        offer_prov.setdefault((o["zone"], o["service"]), []).append(o["provider"])
    for row in needs:
        cands = offer_prov.get((row["zone"], row["service"]))
        if cands and rng.random() < 0.1:
            row["current_provider"] = cands[int(rng.integers(len(cands)))]

    policy: dict = {
        "unmet_penalty": {"standard": 60.0, "urgent": 110.0, "hospital_discharge": 200.0,
                          "standard_bed": 3000.0, "urgent_bed": 5000.0},
        "transfer_penalty": 50.0,
        "quality_weight": 5.0,
        "out_of_zone_penalty": 3.0,
        "min_framework_quality": 40.0,
        "objective": "lexicographic" if lexicographic else "weighted",
    }
    if share is not None:
        policy["max_provider_share"] = share
    return Instance.model_validate({
        "name": f"market-{n_needs}-{seed}",
        "zones": [{"id": z} for z in zones],
        "providers": providers,
        "offers": offers,
        "needs": needs,
        "lots": lots,
        "block_contracts": contracts,
        "policy": policy,
    })
