"""Write ``instances/northants/market.json``: a North Northamptonshire mini-competition.

Seed 004 (North Northamptonshire Executive, 16/11/2023, item 534) procures care and support in
independent-living schemes under a framework, "ready ... to call on new schemes as they were
built", with call-offs and mini-competitions delegated to officers. What the paper gives:

* the current framework covers **four schemes and 52 care-receivers** (Cllr Buckingham);
* the client groups: mental health, autism, learning disabilities, physical/sensory disability
  (palliative care where needed);
* a six-year framework (plus one year), started April 2024;
* rates are to be set by the framework rather than "negotiated on a scheme-by-scheme basis".

Everything else below is **assumed** (marked ``# assumed``): the zones (the four former
districts that formed North Northamptonshire in 2021), which district holds which scheme,
flats and vacancies, weekly rates, quality marks, the waiting list, the new scheme and the bids.
The providers are fictitious. Running the script again gives the same bytes.

    python instances/northants/make_northants.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

ZONES = [  # assumed: the four former districts as zones
    ("corby", "Corby"), ("kettering", "Kettering"), ("wellingborough", "Wellingborough"),
    ("east_northants", "East Northamptonshire (Rushden, Oundle, Thrapston)"),
]
NEIGHBOURS = {  # assumed: zones a tenant would accept a flat in (own zone first)
    "corby": ["corby", "kettering"],
    "kettering": ["kettering", "corby", "wellingborough"],
    "wellingborough": ["wellingborough", "kettering", "east_northants"],
    "east_northants": ["east_northants", "wellingborough"],
}

# id, name, tender quality mark (assumed, 0-100)
PROVIDERS = [
    ("NN1", "Nene Valley Support", 88),
    ("NN2", "Rockingham Care", 74),
    ("NN3", "Ise Living", 81),
    ("NN4", "Welland Independent Living", 66),
    ("NN5", "Harborough Road Care", 92),  # framework provider without a scheme today
    ("NN6", "Pytchley Care", 57),  # framework provider, below the lot's quality floor
]

# The four existing schemes (seed 004: four schemes, 52 care-receivers). assumed: where, flats,
# tenants (13 + 15 + 12 + 12 = 52), the weekly price of care and support per flat, the highest
# complexity the staffing covers, and the client groups.
SCHEMES = [
    # scheme, provider, zone, flats, tenants, price, max complexity, care groups
    ("kettering_court", "NN1", "kettering", 14, 13, 1210.0, "highly_complex", []),
    ("corby_gardens", "NN2", "corby", 16, 15, 1080.0, "complex", []),
    ("ise_house", "NN3", "wellingborough", 13, 12, 1130.0, "complex", ["LD", "Autism", "PD"]),
    ("rushden_place", "NN4", "east_northants", 12, 12, 990.0, "complex", ["LD", "Autism"]),
]
# assumed: three schemes are held on block contracts in force (call-offs of the old
# framework), each lot the district's supported living; Ise House is bought per use.
CONTRACTS = [("NN1", "kettering", 1150.0, 12.0), ("NN2", "corby", 1040.0, 14.0),
             ("NN4", "east_northants", 960.0, 12.0)]

# The new scheme (assumed): 16 flats in Wellingborough, let by mini-competition as a block in
# lot NEW (Wellingborough's supported living). Each bidder's offer for the building exists only
# if it wins (DESIGN 9.1, ``if_awarded``); flats above the block volume are paid at the offer's
# price. Bids: provider, rate per flat-week, min and max block volume, offer price, max
# complexity the bidder's staffing model covers, client groups (empty: all).
NEW_FLATS = 16
BIDS = [
    ("NN1", 1180.0, 12.0, 16.0, 1250.0, "highly_complex", []),
    ("NN2", 1020.0, 12.0, 16.0, 1100.0, "complex", []),
    ("NN3", 1090.0, 12.0, 16.0, 1150.0, "complex", ["LD", "Autism", "PD"]),
    ("NN4", 840.0, 14.0, 16.0, 900.0, "complex", ["LD", "Autism"]),
    ("NN5", 1240.0, 12.0, 16.0, 1300.0, "highly_complex", []),
    ("NN6", 950.0, 12.0, 16.0, 1000.0, "complex", []),
]
LOT_MIN_QUALITY = 60.0  # assumed: the quality floor of the call-off

# Tenants of the existing schemes: (complexity, care group) cycled over; they stay where they
# are unless moving is worth the transfer penalty. assumed mix.
TENANT_MIX = [("complex", "LD"), ("less_complex", "LD"), ("complex", "Autism"),
              ("less_complex", "PD"), ("complex", "MH"), ("highly_complex", "LD")]
# The waiting list the new scheme is for (assumed): zone, complexity, care group, priority.
WAITING = [
    ("wellingborough", "complex", "LD", "standard_bed"),
    ("wellingborough", "complex", "Autism", "standard_bed"),
    ("wellingborough", "highly_complex", "Autism", "standard_bed"),
    ("wellingborough", "less_complex", "PD", "standard_bed"),
    ("wellingborough", "complex", "MH", "hospital_discharge_bed"),
    ("wellingborough", "highly_complex", "MH", "standard_bed"),
    ("wellingborough", "less_complex", "LD", "standard_bed"),
    ("wellingborough", "complex", "PD", "standard_bed"),
    ("kettering", "complex", "LD", "standard_bed"),
    ("kettering", "highly_complex", "LD", "hospital_discharge_bed"),
    ("kettering", "complex", "MH", "standard_bed"),
    ("kettering", "less_complex", "Autism", "standard_bed"),
    ("east_northants", "complex", "LD", "standard_bed"),
    ("east_northants", "complex", "MH", "standard_bed"),
    ("east_northants", "highly_complex", "PD", "standard_bed"),
    ("corby", "complex", "Autism", "standard_bed"),
    ("corby", "less_complex", "MH", "hospital_discharge_bed"),
    ("corby", "complex", "LD", "standard_bed"),
]
# Scenarios over the six years (assumed): the waiting list as it is, four more referrals, or
# four fewer.
MORE = [
    ("wellingborough", "complex", "LD", "standard_bed"),
    ("wellingborough", "highly_complex", "LD", "standard_bed"),
    ("kettering", "complex", "MH", "standard_bed"),
    ("east_northants", "less_complex", "Autism", "standard_bed"),
]
SCENARIOS = [("base", 0.5, 0), ("more_referrals", 0.3, len(MORE)), ("fewer_referrals", 0.2, -4)]

POLICY = {
    # assumed: a bed-week left unmet costs about a residential placement (standard) or a
    # delayed hospital discharge (clarification 1: beds use their own priorities)
    "unmet_penalty": {"standard_bed": 1800.0, "hospital_discharge_bed": 3000.0},
    # assumed: moving a tenant out of their home (or leaving them without care) is a last
    # resort: a one-off cost of about three weeks of the unmet penalty
    "transfer_penalty": 5000.0,
    "quality_weight": 200.0,  # assumed: a bed-week at quality 0 counts 200 more, 0 at 100
    "out_of_zone_penalty": 100.0,  # assumed: a flat in a neighbouring district
    "objective": "weighted",
}


def _tenants() -> list[dict]:
    needs, k = [], 0
    for scheme, provider, zone, _flats, tenants, _price, cx_max, groups in SCHEMES:
        allowed = [m for m in TENANT_MIX
                   if (not groups or m[1] in groups)
                   and not (cx_max == "complex" and m[0] == "highly_complex")]
        for i in range(tenants):
            cx, cg = allowed[i % len(allowed)]
            k += 1
            needs.append({"id": f"T{k:02d}", "kind": "placement", "zone": zone,
                          "service": "supported_living", "complexity": cx, "care_group": cg,
                          "quantity": 1.0, "priority": "standard_bed",
                          "current_provider": provider})
        del scheme
    return needs


def _referrals(rows: list[tuple[str, str, str, str]], prefix: str = "W") -> list[dict]:
    return [{"id": f"{prefix}{k:02d}", "kind": "placement", "zone": zone,
             "service": "supported_living", "complexity": cx, "care_group": cg,
             "quantity": 1.0, "priority": prio, "acceptable_zones": NEIGHBOURS[zone]}
            for k, (zone, cx, cg, prio) in enumerate(rows, start=1)]


def market() -> dict:
    """The instance document."""
    offers = []
    for scheme, provider, zone, flats, tenants, price, cx_max, groups in SCHEMES:
        offers.append({"id": scheme, "provider": provider, "zone": zone,
                       "service": "supported_living", "unit": "beds", "price": price,
                       # vacancies plus the flats of the tenants already there (they are
                       # needs of this week too, served by their current scheme)
                       "capacity": float(flats), "max_complexity": cx_max,
                       "care_groups": groups, "scheme": scheme})
        del tenants
    for provider, _rate, _vmin, _vmax, price, cx_max, groups in BIDS:
        offers.append({"id": f"new_scheme_{provider}", "provider": provider,
                       "zone": "wellingborough", "service": "supported_living", "unit": "beds",
                       "price": price, "capacity": float(NEW_FLATS), "max_complexity": cx_max,
                       "care_groups": groups, "scheme": f"new_scheme_{provider}",
                       "if_awarded": "NEW"})
    every = ["less_complex", "complex", "highly_complex"]
    lots = [{"id": "NEW", "name": "New independent-living scheme, Wellingborough (assumed)",
             "unit": "beds", "zones": ["wellingborough"], "services": ["supported_living"],
             "complexities": every, "framework": True,
             "block": {"min_quality": LOT_MIN_QUALITY}}]
    for zone in ("corby", "kettering", "east_northants"):
        lots.append({"id": f"ILS_{zone}", "name": f"Independent living, {zone} (in force)",
                     "unit": "beds", "zones": [zone], "services": ["supported_living"],
                     "complexities": every, "framework": True})
    tenants = _tenants()
    base = tenants + _referrals(WAITING)
    scenarios = []
    for sid, weight, extra in SCENARIOS:
        if extra >= 0:
            needs = tenants + _referrals(WAITING) + _referrals(MORE, prefix="M")[:extra]
        else:
            needs = tenants + _referrals(WAITING[:extra])
        scenarios.append({"id": sid, "weight": weight, "needs": needs})
    return {
        "schema_version": 1,
        "name": "North Northamptonshire independent living: new scheme mini-competition",
        "currency": "GBP",
        "zones": [{"id": z, "name": n} for z, n in ZONES],
        "providers": [{"id": p, "name": n, "quality": float(q)} for p, n, q in PROVIDERS],
        "offers": offers,
        "needs": base,
        "lots": lots,
        "block_contracts": [{"provider": p, "lot": f"ILS_{z}", "rate": r, "volume": v}
                            for p, z, r, v in CONTRACTS],
        "block_bids": [{"provider": p, "lot": "NEW", "rate": r, "min_volume": vmin,
                        "max_volume": vmax} for p, r, vmin, vmax, *_ in BIDS],
        "policy": POLICY,
        "scenarios": scenarios,
    }


def main() -> None:
    path = HERE / "market.json"
    path.write_text(json.dumps(market(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
