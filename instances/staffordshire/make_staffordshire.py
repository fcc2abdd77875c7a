"""Make the Staffordshire supported-living market and its five lot designs (seed 003).

Run from the repository root (the files it writes are committed; re-running gives the same
bytes)::

    python instances/staffordshire/make_staffordshire.py

Writes, next to this script:

* ``market.json``: the market: 8 districts and boroughs plus "out of county", 395 placements,
  the 125 in-county schemes (479 beds) and out-of-county schemes, providers with quality scores;
* ``design_all_framework.json``: today's arrangement: every placement bought per use (the DPS);
* ``design_15_70_15.json``: the proposal of seed 003 (paragraph 19), targets read per lot;
* ``design_paper_targets.json``: the same proposal, its targets read as design targets across
  lots (DESIGN.md 9.3);
* ``design_paper_targets_new_beds.json``: the paper's targets, and each highly complex block
  brings a new scheme (offers that exist only with an award, DESIGN.md 9.1);
* ``design_all_block.json``: every placement out of block volume.

Sources. "003" is ``shared/seeds/003_ad92eb2ee033e3a9.txt`` (Staffordshire County Council,
Cabinet 19 January 2022, Future Commissioning Arrangements for Supported Living); "001" is
``shared/seeds/001_0080e63927124eca.txt``. A figure marked *assumption* is ours, stated so
that it can be argued with.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from allocator.instance.io import dump_json
from allocator.instance.schema import Instance

HERE = Path(__file__).resolve().parent
SEED = 3  # the generator's own seed (any fixed value; 3 for seed 003)

# ---------------------------------------------------------------------------- geography

# Assumption: Staffordshire's eight districts and boroughs (003 speaks of lots "in a single
# District or Borough"), with approximate populations in thousands, used as demand weights.
DISTRICTS = {
    "cannock_chase": ("Cannock Chase", 100),
    "east_staffordshire": ("East Staffordshire", 125),
    "lichfield": ("Lichfield", 105),
    "newcastle": ("Newcastle-under-Lyme", 130),
    "south_staffordshire": ("South Staffordshire", 110),
    "stafford": ("Stafford", 137),
    "moorlands": ("Staffordshire Moorlands", 98),
    "tamworth": ("Tamworth", 77),
}
OUT_OF_COUNTY = "out_of_county"
# Assumption: which districts border which (acceptable zones of a placement).
NEIGHBOURS = {
    "cannock_chase": ("lichfield", "south_staffordshire", "stafford"),
    "east_staffordshire": ("lichfield", "stafford", "moorlands"),
    "lichfield": ("cannock_chase", "east_staffordshire", "south_staffordshire", "tamworth"),
    "newcastle": ("stafford", "moorlands"),
    "south_staffordshire": ("cannock_chase", "lichfield", "stafford"),
    "stafford": ("cannock_chase", "east_staffordshire", "newcastle", "south_staffordshire",
                 "moorlands"),
    "moorlands": ("newcastle", "stafford", "east_staffordshire"),
    "tamworth": ("lichfield",),
}
# Assumption: the areas of the geography x complexity lots (003 paragraph 19b).
AREAS = {
    "north": ("newcastle", "moorlands", "stafford"),
    "south_east": ("east_staffordshire", "lichfield", "tamworth"),
    "south_west": ("cannock_chase", "south_staffordshire"),
}

# ---------------------------------------------------------------------------- demand

# 003 paragraph 2: 416 placements; paragraph 19d: about 21 of them are ad hoc arrangements
# (personal assistants, community services), not residents of a scheme, contracted separately.
PLACEMENTS = 416 - 21
# 003 table 2: 46 highly complex, 299 complex, 71 less complex. Assumption: the 21 ad hoc
# arrangements are less complex (they do not need 24-hour care in a scheme).
BY_COMPLEXITY = {"highly_complex": 46, "complex": 299, "less_complex": 71 - 21}
# 003 table 1: 195 + 16 placements for learning disability and autism, 150 + 3 for mental health
# and physical disability (the 52 DPS placements spread alike). Assumption: LD:Autism and MH:PD
# 3:1 within those.
CARE_GROUP_SHARE = {"LD": 0.58 * 0.75, "Autism": 0.58 * 0.25, "MH": 0.42 * 0.75,
                    "PD": 0.42 * 0.25}
# Assumption: one placement in ten is urgent (a breakdown, a hospital discharge).
URGENT_SHARE = 0.10

# ---------------------------------------------------------------------------- supply

# 003 paragraph 7: 479 supported-living beds in 125 schemes in Staffordshire (63 vacant).
BEDS, SCHEMES = 479, 125
# Assumption: beds by the most complex band a scheme supports. 003 paragraph 12a(i): "a lack
# of highly complex/forensic placements"; paragraph 5: 43 placements are out of county.
BED_BAND_SHARE = {"highly_complex": 0.09, "complex": 0.77, "less_complex": 0.14}
# 003 table 2: average weekly placement cost by complexity, and its range.
WEEKLY_COST = {"less_complex": (331.0, 25.0, 599.0), "complex": (983.0, 310.0, 3_553.0),
               "highly_complex": (2_846.0, 1_101.0, 3_272.0)}
PRICE_SIGMA = 0.22  # assumption: spread of a scheme's weekly rate about its band's mean
# 003 paragraph 2: 53 providers fund placements today. Assumption: 41 of them run the 125
# in-county schemes (besides the two named below), 10 offer out-of-county placements only
# (paragraph 12a(ii)).
IN_COUNTY_PROVIDERS, OUT_OF_COUNTY_PROVIDERS = 41, 10
# 003 paragraph 19b expects 8-12 providers to hold the block contracts for ~70% of placements.
# Assumption: today 4 major providers in each area run 70% of its schemes.
MAJORS_PER_AREA, MAJOR_SHARE = 4, 0.70
# 003 paragraph 5: the 43 out-of-county placements cost 39,500 a week (about 919 each).
# Assumption: out-of-county schemes hold 60 beds, 40% of them highly complex, priced at
# 919 (complex) and 3,100 (highly complex) on average.
OOC_BEDS, OOC_HC_SHARE, OOC_PRICE = 60, 0.4, {"complex": 919.0, "highly_complex": 3_100.0}
# 003 paragraph 3: the in-house Horninglow Bungalows (16 learning disability placements, average
# 1,407 a week) and Voyage's Chestnut House (3 physical disability placements, 2,511 a week).
# Assumption: Horninglow is in East Staffordshire; Chestnut House's district is not given
# (we put it in Stafford).
NAMED_SCHEMES = (
    ("horninglow_bungalows", "scc_in_house", "Staffordshire County Council (in-house)",
     "east_staffordshire", 16, "complex", 1_407.0, ("LD", "Autism"), 74.0),
    ("chestnut_house", "voyage", "Voyage", "stafford", 3, "highly_complex", 2_511.0, ("PD",),
     74.0),
)
# 003 paragraph 11e: of 50 CQC-registered providers 80% are rated outstanding or good, 3%
# requires improvement or inadequate, 17% not yet rated. Assumption: quality scores
# (0-100) per rating: (mean, sd).
RATINGS = {"outstanding": (0.05, 90.0, 4.0), "good": (0.75, 74.0, 7.0),
           "requires_improvement": (0.03, 45.0, 5.0), "not_yet_rated": (0.17, 63.0, 9.0)}

# ---------------------------------------------------------------------------- policy

# Assumption: what a placement week left unmet costs (a hospital or residential bed, an
# emergency package), about 100 times an hour-week (DESIGN.md clarification 1).
UNMET_PENALTY = {"standard_bed": 6_000.0, "urgent_bed": 12_000.0}
QUALITY_WEIGHT = 100.0  # assumption: per bed-week at quality 0, falling to 0 at quality 100
OUT_OF_ZONE_PENALTY = 150.0  # assumption: per bed-week away from the person's own district
MIN_FRAMEWORK_QUALITY = 40.0  # assumption: below this a provider gets no placements

# ---------------------------------------------------------------------------- block contracts

# Assumption: a block rate is 10% below the provider's framework price (003 paragraph 19b:
# block contracts let the council "benefit from economies of scale" and fill vacancies), 12%
# for highly complex lots (providers "specialise", paragraph 19a).
BLOCK_RATE = 0.90
BLOCK_RATE_HIGHLY_COMPLEX = 0.88
# Assumption: the weekly cost of letting and managing one block contract (about 15,600 a year).
AWARD_COST = 300.0
# Assumption: a provider bids for all its beds in the lot, and wants at least a quarter filled.
MIN_VOLUME_SHARE = 0.25
BLOCK_MIN_QUALITY = 60.0  # assumption: 003 paragraph 20, minimum quality before appointment

# ---------------------------------------------------------------------------- the paper's targets

# 003 paragraph 19b: "approximately 70% of all placements" on block from "around 8-12"
# providers across the lots of geography x complexity; 19a: highly complex from "around 1-3".
# Read as design targets (DESIGN.md 9.3) over the six area x complexity lots together: their
# awarded block volume is 65-75% of all placements (assumption: "approximately" read as +-5
# points), i.e. that share of all placements over the lots' own expected demand; 8-12
# distinct providers hold those blocks.
PAPER_BLOCK_SHARE = (0.65, 0.75)
PAPER_PROVIDERS = (8, 12)
PAPER_HC_PROVIDERS = (1, 3)
# 003 paragraph 19a: highly complex blocks are to "ensure adequate capacity for highly complex
# individuals, so that out of county placements can be repatriated"; paragraph 8: no new
# accommodation is needed otherwise (17% of beds are vacant). Assumption: each highly complex
# block bid brings one new scheme that exists only if the bid is awarded (DESIGN.md 9.1): 8
# beds, a "core and cluster" pair of two schemes of the county's mean size (479 / 125 = 3.8
# beds, paragraph 7; "core and cluster", paragraphs 9 and 19b), in the district where the
# bidder already runs most highly complex beds, for the care groups of its largest such
# scheme, priced at its own highly complex framework price. Three such awards (the paper's
# upper bound) bring 24 beds, about the out-of-county highly complex beds of this market.
NEW_SCHEME_BEDS = 8.0


def _round(x: float, step: float = 1.0) -> float:
    return float(round(x / step) * step)


def market() -> Instance:
    """The market (see the module docstring and the constants above)."""
    rng = np.random.default_rng(SEED)
    zones = [{"id": z, "name": name} for z, (name, _) in DISTRICTS.items()]
    zones.append({"id": OUT_OF_COUNTY, "name": "Out of county"})
    districts = list(DISTRICTS)
    weight = np.array([DISTRICTS[z][1] for z in districts], dtype=float)
    weight /= weight.sum()

    # providers: in-county (sizes skewed: a few large, many small; each based in an area),
    # out-of-county, and the two named in 003
    providers = []
    ratings = list(RATINGS)
    areas = list(AREAS)
    area_weight = np.array([sum(DISTRICTS[z][1] for z in AREAS[a]) for a in areas], dtype=float)
    area_weight /= area_weight.sum()
    for i in range(IN_COUNTY_PROVIDERS + OUT_OF_COUNTY_PROVIDERS):
        pid = f"sl{i + 1:02d}"
        # the major providers are rated good or outstanding (assumption)
        pool = ratings[:2] if i < MAJORS_PER_AREA * len(AREAS) else ratings
        odds = np.array([RATINGS[r][0] for r in pool])
        rating = pool[int(rng.choice(len(pool), p=odds / odds.sum()))]
        _, mean, sd = RATINGS[rating]
        quality = float(np.clip(round(rng.normal(mean, sd)), 20, 98))
        row = {"id": pid, "name": f"Supported living provider {i + 1}", "quality": quality}
        if rating != "not_yet_rated":
            row["cqc_rating"] = rating
        providers.append(row)
    in_county = [p["id"] for p in providers[:IN_COUNTY_PROVIDERS]]
    ooc = [p["id"] for p in providers[IN_COUNTY_PROVIDERS:]]
    n_major = MAJORS_PER_AREA * len(areas)
    home = np.array([k % len(areas) for k in range(n_major)]
                    + [int(rng.choice(len(areas), p=area_weight))
                       for _ in range(len(in_county) - n_major)])
    major = np.arange(len(in_county)) < n_major
    area_of = {z: k for k, a in enumerate(areas) for z in AREAS[a]}

    # in-county schemes: beds split over schemes of 1-12 beds; district by population, band by
    # BED_BAND_SHARE; run by one of the area's major providers (MAJOR_SHARE of the schemes),
    # else by a smaller provider, mostly one based in the area
    named_beds = sum(s[4] for s in NAMED_SCHEMES)
    n_schemes = SCHEMES - len(NAMED_SCHEMES)
    beds = rng.gamma(2.0, 1.0, size=n_schemes) + 1
    beds = np.maximum(1, np.round(beds / beds.sum() * (BEDS - named_beds))).astype(int)
    while beds.sum() != BEDS - named_beds:  # exact total
        k = int(rng.integers(n_schemes))
        beds[k] += 1 if beds.sum() < BEDS - named_beds else (-1 if beds[k] > 1 else 0)
    offers = []
    # schemes per district in proportion to population (largest remainders), in random order
    share = weight * n_schemes
    count = np.floor(share).astype(int)
    count[np.argsort(count - share)[:n_schemes - count.sum()]] += 1
    scheme_zone = rng.permutation(np.repeat(np.arange(len(districts)), count))
    bands = list(BED_BAND_SHARE)
    share = np.array(list(BED_BAND_SHARE.values())) * n_schemes
    count = np.floor(share).astype(int)
    count[np.argsort(count - share)[:n_schemes - count.sum()]] += 1
    scheme_band = rng.permutation(np.repeat(np.arange(len(bands)), count))
    for k in range(n_schemes):
        zone = districts[int(scheme_zone[k])]
        if rng.random() < MAJOR_SHARE:
            pick = major & (home == area_of[zone])
        else:
            pick = ~major & ((home == area_of[zone]) if rng.random() < 0.8 else True)
        provider = in_county[int(rng.choice(len(in_county), p=pick / pick.sum()))]
        band = bands[int(scheme_band[k])]
        groups = ["LD", "Autism"] if rng.random() < 0.58 else ["MH", "PD"]
        mean, low, high = WEEKLY_COST[band]
        price = float(np.clip(mean * math.exp(rng.normal(0, PRICE_SIGMA) - PRICE_SIGMA**2 / 2),
                              low, high))
        offers.append({"id": f"scheme_{k + 1:03d}", "provider": provider, "zone": zone,
                       "service": "supported_living", "unit": "beds", "price": _round(price),
                       "capacity": float(beds[k]), "max_complexity": band,
                       "care_groups": groups, "scheme": f"scheme_{k + 1:03d}"})
    for scheme, pid, name, zone, n_beds, band, price, groups, quality in NAMED_SCHEMES:
        providers.append({"id": pid, "name": name, "quality": quality})
        offers.append({"id": scheme, "provider": pid, "zone": zone,
                       "service": "supported_living", "unit": "beds", "price": price,
                       "capacity": float(n_beds), "max_complexity": band,
                       "care_groups": list(groups), "scheme": scheme})
    # out-of-county schemes: a few beds each, dearer for highly complex needs
    left, k = OOC_BEDS, 0
    while left > 0:
        k += 1
        n_beds = int(min(left, rng.integers(2, 7)))
        left -= n_beds
        band = "highly_complex" if rng.random() < OOC_HC_SHARE else "complex"
        price = OOC_PRICE[band] * math.exp(rng.normal(0, PRICE_SIGMA) - PRICE_SIGMA**2 / 2)
        offers.append({"id": f"ooc_{k:02d}", "provider": ooc[(k - 1) % len(ooc)],
                       "zone": OUT_OF_COUNTY, "service": "supported_living", "unit": "beds",
                       "price": _round(price), "capacity": float(n_beds),
                       "max_complexity": band,
                       "care_groups": ["LD", "Autism"] if rng.random() < 0.5 else ["MH", "PD"],
                       "scheme": f"ooc_{k:02d}"})

    # placements: complexity and care group by 003's counts, district by population
    needs = []
    cx = [c for c, n in BY_COMPLEXITY.items() for _ in range(n)]
    rng.shuffle(cx)
    groups = list(CARE_GROUP_SHARE)
    for i, complexity in enumerate(cx):
        zone = districts[int(rng.choice(len(districts), p=weight))]
        care_group = groups[int(rng.choice(len(groups), p=list(CARE_GROUP_SHARE.values())))]
        needs.append({
            "id": f"pl{i + 1:03d}", "kind": "placement", "zone": zone,
            "service": "supported_living", "complexity": complexity, "care_group": care_group,
            "quantity": 1.0,
            "priority": "urgent_bed" if rng.random() < URGENT_SHARE else "standard_bed",
            "acceptable_zones": [zone, *NEIGHBOURS[zone], OUT_OF_COUNTY],
        })
    return Instance.model_validate({
        "name": "Staffordshire supported living (seed 003)",
        "zones": zones, "providers": providers, "offers": offers, "needs": needs,
        "policy": {"unmet_penalty": UNMET_PENALTY, "quality_weight": QUALITY_WEIGHT,
                   "out_of_zone_penalty": OUT_OF_ZONE_PENALTY,
                   "min_framework_quality": MIN_FRAMEWORK_QUALITY},
    })


def _lots(framework_hc: bool, framework_other: bool, framework_ooc: bool,
          hc_block: dict | None, other_block: dict | None, ooc_block: dict | None) -> list:
    """The lots of geography x complexity (003 paragraph 19b) plus out of county."""
    county = list(DISTRICTS)
    lots = [{"id": "highly_complex", "name": "Highly complex, county-wide", "unit": "beds",
             "zones": county, "services": ["supported_living"],
             "complexities": ["highly_complex"], "framework": framework_hc}]
    if hc_block is not None:
        lots[0]["block"] = hc_block
    for area, zones in AREAS.items():
        for complexity in ("complex", "less_complex"):
            lot = {"id": f"{area}_{complexity}",
                   "name": f"{area.replace('_', ' ').title()}, {complexity.replace('_', ' ')}",
                   "unit": "beds", "zones": list(zones), "services": ["supported_living"],
                   "complexities": [complexity], "framework": framework_other}
            if other_block is not None:
                lot["block"] = dict(other_block[complexity])
            lots.append(lot)
    ooc = {"id": OUT_OF_COUNTY, "name": "Out of county", "unit": "beds",
           "zones": [OUT_OF_COUNTY], "services": ["supported_living"],
           "complexities": ["less_complex", "complex", "highly_complex"],
           "framework": framework_ooc}
    if ooc_block is not None:
        ooc["block"] = ooc_block
    lots.append(ooc)
    return lots


def _rules(lots: list[str]) -> list[dict]:
    hc = [lot for lot in lots if lot == "highly_complex"]
    other = [lot for lot in lots if lot != "highly_complex"]
    rules = []
    if hc:
        rules.append({"lots": hc, "rate_factor": BLOCK_RATE_HIGHLY_COMPLEX,
                      "min_volume_share": MIN_VOLUME_SHARE, "award_cost": AWARD_COST})
    if other:
        rules.append({"lots": other, "rate_factor": BLOCK_RATE,
                      "min_volume_share": MIN_VOLUME_SHARE, "award_cost": AWARD_COST})
    return rules


def designs() -> dict[str, dict]:
    """The three designs, by file stem."""
    source = ("seed 003 paragraph 19 (the proposal), table 2 (complexity); rates, award costs "
              "and volume floors are assumptions of instances/staffordshire/make_staffordshire.py")
    all_framework = {
        "name": "All framework (today's DPS)",
        "description": "Every placement bought per use at the scheme's price; no block "
                       "contracts (003 paragraph 2c: the Dynamic Purchasing System).",
        "source": source,
        "lots": _lots(True, True, True, None, None, None),
    }
    # 003 paragraph 19a: all highly complex placements on block from around 1-3 providers.
    hc = {"min_providers": 1, "max_providers": 3, "min_share": 0.0, "max_share": 1.0,
          "min_quality": BLOCK_MIN_QUALITY}
    # 003 paragraph 19b-c: ~70% of all placements (70/85 = 82% of the complex and less complex
    # ones) on block from around 8-12 providers across the lots, ~15% on a flexible
    # framework. Assumption: 2-3 providers in each complex lot and 1-2 in each less complex lot
    # (9-15 awards); block volume of 50-85% of a complex lot's expected demand and 30-85% of a
    # less complex one's (fewer schemes are made for less complex needs, 003 paragraph 12a(iv)):
    # the floors are what the largest providers can hold in every lot, whatever the scenarios.
    other = {
        "complex": {"min_providers": 2, "max_providers": 3, "min_share": 0.5,
                    "max_share": 0.85, "min_quality": BLOCK_MIN_QUALITY},
        "less_complex": {"min_providers": 1, "max_providers": 2, "min_share": 0.3,
                         "max_share": 0.85, "min_quality": BLOCK_MIN_QUALITY},
    }
    lots = _lots(False, True, True, hc, other, None)
    proposal = {
        "name": "15/70/15 proposal (seed 003)",
        "description": "Highly complex on block from 1-3 providers (block only); complex and "
                       "less complex on block in lots of area x complexity (75-85% of demand), "
                       "the rest on a flexible framework; out of county per use.",
        "source": source,
        "lots": lots,
        "bid_rules": _rules([lot["id"] for lot in lots if "block" in lot]),
    }
    anyone = {"min_providers": 1, "max_share": 1.0, "min_quality": BLOCK_MIN_QUALITY}
    lots = _lots(False, False, False, anyone, {"complex": anyone, "less_complex": anyone},
                 anyone)
    all_block = {
        "name": "All block",
        "description": "Every placement served out of block volume (no framework in any lot, "
                       "out of county included); any number of providers per lot, volume up "
                       "to the lot's expected demand.",
        "source": source,
        "lots": lots,
        "bid_rules": _rules([lot["id"] for lot in lots]),
    }
    paper = _paper_design(False)
    paper_beds = _paper_design(True)
    return {"design_all_framework": all_framework, "design_15_70_15": proposal,
            "design_paper_targets": paper, "design_paper_targets_new_beds": paper_beds,
            "design_all_block": all_block}


def _paper_design(new_beds: bool) -> dict:
    """003 paragraph 19 read as design targets; with ``new_beds``, highly complex blocks
    bring new schemes (see PAPER_* and NEW_SCHEME_BEDS)."""
    base = market()
    total = sum(n.quantity for n in base.needs)
    other = sum(n.quantity for n in base.needs if n.complexity != "highly_complex")
    low, high = (round(share * total / other, 2) for share in PAPER_BLOCK_SHARE)
    hc = {"min_providers": PAPER_HC_PROVIDERS[0], "max_providers": PAPER_HC_PROVIDERS[1],
          "min_quality": BLOCK_MIN_QUALITY}
    free = {"min_quality": BLOCK_MIN_QUALITY}  # the targets, not each lot, bound the rest
    lots = _lots(False, True, True, hc, {"complex": free, "less_complex": free}, None)
    area_lots = [lot["id"] for lot in lots if lot["id"] not in ("highly_complex", OUT_OF_COUNTY)]
    targets = [
        {"id": "block_70", "lots": area_lots, "min_block_share": low, "max_block_share": high,
         "min_providers": PAPER_PROVIDERS[0], "max_providers": PAPER_PROVIDERS[1]},
        {"id": "highly_complex_15", "lots": ["highly_complex"],
         "min_providers": PAPER_HC_PROVIDERS[0], "max_providers": PAPER_HC_PROVIDERS[1]},
    ]
    design = {
        "name": "15/70/15, the paper's targets" + (" + new beds" if new_beds else ""),
        "description": (
            f"003 paragraph 19 as targets across lots: {PAPER_BLOCK_SHARE[0]:.0%}-"
            f"{PAPER_BLOCK_SHARE[1]:.0%} of all placements on block in the six area x "
            f"complexity lots ({low:g}-{high:g} of their demand) from {PAPER_PROVIDERS[0]}-"
            f"{PAPER_PROVIDERS[1]} distinct providers; highly complex on block only from "
            f"{PAPER_HC_PROVIDERS[0]}-{PAPER_HC_PROVIDERS[1]}; out of county per use"
            + (f"; each highly complex block brings a new {NEW_SCHEME_BEDS:g}-bed scheme"
               if new_beds else "") + "."),
        "source": "seed 003 paragraphs 7-9 and 19; the target windows and the new schemes "
                  "are assumptions of instances/staffordshire/make_staffordshire.py",
        "lots": lots,
        "design_targets": targets,
        "bid_rules": _rules([lot["id"] for lot in lots if "block" in lot]),
    }
    if new_beds:
        design["offers"] = _new_schemes(base)
    return design


def _new_schemes(base: Instance) -> list[dict]:
    """One new highly complex scheme per possible highly complex bidder (NEW_SCHEME_BEDS)."""
    quality = {p.id: p.quality for p in base.providers}
    county = set(DISTRICTS)
    mine: dict[str, list] = {}
    for o in base.offers:
        if o.zone in county and o.max_complexity == "highly_complex":
            mine.setdefault(o.provider, []).append(o)
    out = []
    for provider in sorted(mine):
        if quality[provider] < BLOCK_MIN_QUALITY:
            continue  # could not bid (block.min_quality)
        schemes = mine[provider]
        beds: dict[str, float] = {}
        for o in schemes:
            beds[o.zone] = beds.get(o.zone, 0.0) + o.capacity
        zone = max(sorted(beds), key=beds.get)
        largest = max(schemes, key=lambda o: (o.capacity, o.key))
        price = sum(o.price * o.capacity for o in schemes) / sum(o.capacity for o in schemes)
        scheme = f"new_hc_{provider}"
        row = {"id": scheme, "provider": provider, "zone": zone, "service": "supported_living",
               "unit": "beds", "price": _round(price), "capacity": NEW_SCHEME_BEDS,
               "max_complexity": "highly_complex", "scheme": scheme,
               "if_awarded": "highly_complex"}
        if largest.care_groups:
            row["care_groups"] = list(largest.care_groups)
        out.append(row)
    return out


def main() -> None:
    (HERE / "market.json").write_text(dump_json(market()), encoding="utf-8")
    for stem, design in designs().items():
        (HERE / f"{stem}.json").write_text(json.dumps(design, indent=1) + "\n",
                                           encoding="utf-8")


if __name__ == "__main__":
    main()
