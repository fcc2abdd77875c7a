"""Make the Devon Supporting Independence market (seed 000): two framework lots x 8 zones.

Run from the repository root (the file it writes is committed; re-running gives the same
bytes)::

    python instances/devon_si/make_devon_si.py

Writes ``instances/devon_si/market.json``. Source: ``shared/seeds/000_67b037561029ed81.txt``
("000", Devon County Council, Supporting Independence, market position statement). A figure
marked *assumption* is ours, stated so that it can be argued with; ``README.md`` beside this
script lists them.

What 000 gives:

* two open framework lots for unregulated care and support, Lot 1 Group Based Care and Support
  and Lot 2 Individualised Care and Support;
* 8 geographical zones (named by their towns); providers choose their zones and "can set
  different prices for different zones";
* quality thresholds "set out in the tender" that providers must meet;
* the people supported by care group, 21 August 2019: individualised support in their own
  homes OP 352, OPMH 28, PD 231, LD 1,180, MH 255, Autism 145 (2,189); group based OP 369,
  OPMH 2, PD 85, LD 200, MH 12, Autism 8 (674);
* "a low level of response to referrals across all areas of the county".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from allocator.instance.io import dump_json
from allocator.instance.schema import Instance

HERE = Path(__file__).resolve().parent
SEED = 0  # the generator's own seed (0 for seed 000)

# 000: the zones and their towns.
ZONES = {
    "Z1": "Bideford/Northam, Great Torrington, Holsworthy",
    "Z2": "Ilfracombe, Lynton/Lynmouth, Barnstaple, South Molton",
    "Z3": "Tiverton, Crediton, Cullompton",
    "Z4": "Exeter",
    "Z5": "Honiton, Sidmouth, Exmouth, Seaton",
    "Z6": "Newton Abbot, Totnes, Dartmouth",
    "Z7": "Ivybridge, Tavistock",
    "Z8": "Okehampton, Moretonhampstead",
}
# Assumption: population of each zone in thousands (Devon's districts split by the towns
# above), used as the demand weights.
POPULATION = {"Z1": 68, "Z2": 97, "Z3": 82, "Z4": 131, "Z5": 146, "Z6": 170, "Z7": 58,
              "Z8": 28}
# Assumption: rural zones cost more to serve (000: "services may cost more to deliver in
# different areas"; "the challenges of how to deliver services in rural areas where there is
# significant travel time"): the zone's price factor.
ZONE_PRICE = {"Z1": 1.08, "Z2": 1.06, "Z3": 1.03, "Z4": 0.97, "Z5": 1.0, "Z6": 1.02,
              "Z7": 1.06, "Z8": 1.12}

# 000: people by care group, 21 August 2019.
INDIVIDUALISED = {"OP": 352, "OPMH": 28, "PD": 231, "LD": 1180, "MH": 255, "Autism": 145}
GROUP_BASED = {"OP": 369, "OPMH": 2, "PD": 85, "LD": 200, "MH": 12, "Autism": 8}
# Assumption: this instance is one referral round of new business, one person in ten of the
# caseload (000: all new business goes to framework providers first), keeping the care-group
# mix of 000 exactly (largest remainders).
SAMPLE = 0.10
# Assumption: hours a week per person: individualised support 4-16 h (mean about 9), group
# based sessions 6-18 h (one to three days); complexity mostly less complex.
HOURS = {"individual_support": (4.0, 16.0), "group_support": (6.0, 18.0)}
COMPLEXITY = {"less_complex": 0.6, "complex": 0.32, "highly_complex": 0.08}
URGENT_SHARE = 0.1  # assumption: leaving hospital or residential care (000's "ready to leave")

# Assumption: the hourly rates. 003's reference price for daytime support hours (15.87, a
# neighbouring council's figure: 000 gives none) is the individualised base rate; group based
# support is priced per person-hour at 40% of it (a worker with about three people).
BASE_PRICE = {"individual_support": 15.87, "group_support": 0.40 * 15.87}
PROVIDER_PRICE_SD = 0.06  # assumption: a provider's price spread about the zone's rate

# Assumption: 20 framework providers; each works in 1-4 neighbouring zones, in Lot 2, Lot 1 or
# both; quality scores from the tender (0-100).
PROVIDERS = 20
NEIGHBOURS = {"Z1": ("Z2", "Z8"), "Z2": ("Z1", "Z3"), "Z3": ("Z2", "Z4", "Z8"),
              "Z4": ("Z3", "Z5", "Z6"), "Z5": ("Z4",), "Z6": ("Z4", "Z7", "Z8"),
              "Z7": ("Z6", "Z8"), "Z8": ("Z1", "Z3", "Z6", "Z7")}
# Assumption: the tender's quality thresholds per lot (000 names thresholds but no figures):
# individualised support, one to one in people's homes with no regulator, asks more.
LOT_MIN_QUALITY = {"group_based": 50.0, "individualised": 60.0}
# Assumption: the capacity of the providers that meet their lot's threshold covers 105% of
# the round's hours in each zone, but complexity caps, care-group specialisms and geography
# leave some need unmet (000: "a low level of response to referrals"); providers below the
# threshold offer capacity too (they are on the framework), which the threshold keeps idle.
CAPACITY_COVER = 1.05

POLICY = {
    # assumption: as the shipped Devon instances: an unmet hour-week costs 60 (urgent 120)
    "unmet_penalty": {"standard": 60.0, "urgent": 120.0},
    "quality_weight": 5.0,
    "out_of_zone_penalty": 2.0,
    "min_framework_quality": 40.0,
}


def _largest_remainders(total: float, shares: dict[str, float]) -> dict[str, int]:
    weights = np.array(list(shares.values()), dtype=float)
    raw = weights / weights.sum() * total
    count = np.floor(raw).astype(int)
    count[np.argsort(count - raw)[: int(round(total)) - count.sum()]] += 1
    return dict(zip(shares, count.tolist(), strict=True))


def market() -> Instance:
    """The market (see the module docstring and the constants above)."""
    rng = np.random.default_rng(SEED)
    zones = list(ZONES)
    zone_weight = np.array([POPULATION[z] for z in zones], dtype=float)
    zone_weight /= zone_weight.sum()

    needs = []
    for service, mix in (("individual_support", INDIVIDUALISED), ("group_support", GROUP_BASED)):
        counts = _largest_remainders(SAMPLE * sum(mix.values()), mix)
        low, high = HOURS[service]
        for group, count in counts.items():
            for _ in range(count):
                zone = zones[int(rng.choice(len(zones), p=zone_weight))]
                complexity = str(rng.choice(list(COMPLEXITY), p=list(COMPLEXITY.values())))
                hours = float(np.round(rng.uniform(low, high) * 4) / 4)
                row = {"id": f"{'I' if service == 'individual_support' else 'G'}"
                              f"{len(needs) + 1:04d}",
                       "kind": "package", "zone": zone, "service": service,
                       "complexity": complexity, "care_group": group, "quantity": hours,
                       "priority": "urgent" if rng.random() < URGENT_SHARE else "standard"}
                if rng.random() < 0.3:  # assumption: some will travel to a neighbouring zone
                    row["acceptable_zones"] = [zone, *NEIGHBOURS[zone]]
                needs.append(row)

    providers = []
    for i in range(PROVIDERS):
        quality = float(np.clip(round(rng.normal(66, 13)), 25, 97))
        providers.append({"id": f"si{i + 1:02d}", "name": f"Supporting Independence provider "
                                                          f"{i + 1}", "quality": quality})
    # offers: each provider picks a home zone (by population), 0-3 neighbours, one or both lots
    demand = {(n["zone"], n["service"]): 0.0 for n in needs}
    for n in needs:
        demand[(n["zone"], n["service"])] += n["quantity"]
    offers: list[dict] = []
    for p in providers:
        home = zones[int(rng.choice(len(zones), p=zone_weight))]
        extra = [z for z in NEIGHBOURS[home] if rng.random() < 0.45]
        lots = rng.random()
        services = (["individual_support"] if lots < 0.55 else ["group_support"] if lots < 0.75
                    else ["individual_support", "group_support"])
        specialist = rng.random() < 0.2  # assumption: a fifth specialise in some care groups
        groups = sorted(str(g) for g in rng.choice(["LD", "MH", "Autism", "PD", "OP"],
                                                   size=2, replace=False)) if specialist else []
        for zone in [home, *extra]:
            for service in services:
                price = BASE_PRICE[service] * ZONE_PRICE[zone] * float(
                    np.exp(rng.normal(0, PROVIDER_PRICE_SD)))
                offer = {"provider": p["id"], "zone": zone, "service": service,
                         "unit": "hours", "price": round(price, 2), "capacity": 0.0,
                         "max_complexity": str(rng.choice(list(COMPLEXITY), p=[0.1, 0.4, 0.5])),
                         "travel_factor": round(1.0 + 0.15 * (ZONE_PRICE[zone] - 0.97) / 0.15,
                                                2)}
                if groups:
                    offer["care_groups"] = groups
                offers.append(offer)
    # capacity: each (zone, service)'s demand x CAPACITY_COVER split over the offers of the
    # providers that meet the lot's threshold; the others offer as much as an average one
    quality = {p["id"]: p["quality"] for p in providers}
    threshold = {"group_support": LOT_MIN_QUALITY["group_based"],
                 "individual_support": LOT_MIN_QUALITY["individualised"]}
    for key, hours in demand.items():
        mine = [o for o in offers if (o["zone"], o["service"]) == key]
        ok = [o for o in mine if quality[o["provider"]] >= threshold[o["service"]]]
        if not ok:
            continue
        split = rng.dirichlet(np.full(len(ok), 2.0))
        for o, share in zip(ok, split, strict=True):
            o["capacity"] = float(round(CAPACITY_COVER * hours * share * 4) / 4)
        for o in mine:
            if o not in ok:
                o["capacity"] = float(round(CAPACITY_COVER * hours / len(ok) * 4) / 4)

    lots = [
        {"id": "group_based", "name": "Lot 1: Group Based Care and Support", "unit": "hours",
         "zones": zones, "services": ["group_support"],
         "complexities": list(COMPLEXITY), "min_quality": LOT_MIN_QUALITY["group_based"]},
        {"id": "individualised", "name": "Lot 2: Individualised Care and Support",
         "unit": "hours", "zones": zones, "services": ["individual_support"],
         "complexities": list(COMPLEXITY), "min_quality": LOT_MIN_QUALITY["individualised"]},
    ]
    return Instance.model_validate({
        "name": "Devon Supporting Independence, one referral round (seed 000)",
        "zones": [{"id": z, "name": name} for z, name in ZONES.items()],
        "providers": providers, "offers": offers, "needs": needs, "lots": lots,
        "policy": POLICY,
    })


def main() -> None:
    (HERE / "market.json").write_text(dump_json(market()), encoding="utf-8")


if __name__ == "__main__":
    main()
