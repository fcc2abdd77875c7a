"""Independent generator of synthetic care markets (schema version 1 of DESIGN.md section 3).

Written without reading the engine's own generator. Structure (bug-report "county" markets):
home care packages (hours) + supported-living placements (beds, small schemes, one offer each);
several offers per zone and service from different providers; 15% of packages and 35% of
placements accept one or two neighbouring grid zones; ~30% of needs in care, a tenth of whom
cannot continue with their provider; provider caps at 80-100% of their hours offers; complexity
and care-group eligibility; quality per provider; priced offers; block contracts in force in
framework lots; the shipped examples' policy fields; optional max_provider_share.

Calibration (from the shipped instances/*.json and seeds):
  packages: personal care mean ~6.3 h/week (devon_personal_care: 955.75 h / 152), prices
  GBP 18.4-23.7 by zone, travel factor 1.0-1.25; individual support ~10.8 h at ~GBP 13-18
  (devon_si); placements ~6% of needs (DESIGN 7: ~6,000 packages, ~400 placements), complexity
  17/72/11% (seed 003: 71/299/46), weekly rates by complexity ~400 / ~980 / ~2,000-3,000;
  penalties 60/120/200 per hour-week, 6,000/12,000 per bed-week, transfer 150,
  quality_weight 5, out_of_zone_penalty 2, min_framework_quality 40.

Usage: python gen.py --scale S|M|L --seed K --out FILE
"""
from __future__ import annotations

import argparse
import json
import math
import random

CPLX = ["less_complex", "complex", "highly_complex"]
RANK = {c: i for i, c in enumerate(CPLX)}

SCALES = {
    "S": dict(n_needs=500, n_providers=30, n_zones=4),
    "M": dict(n_needs=6400, n_providers=200, n_zones=8),
    # a region: about nine counties of M's density (833 needs and 26 providers a zone), its
    # zones on one 8 x 9 grid, so neighbouring zones cross whatever borders a solver draws
    "L": dict(n_needs=60000, n_providers=1875, n_zones=72),
    # England, as issue 15's table has it: ten regions of L's density (the same needs and
    # providers a zone), its 720 zones on one 24 x 30 grid (added after the generator was
    # written; the scales only set these three numbers)
    "XL": dict(n_needs=600000, n_providers=18750, n_zones=720),
}

DEFAULTS = dict(
    placement_share=0.0625,       # DESIGN 7: ~400 placements in 6,400 needs
    is_share=0.15,                # share of packages that are individual support (rest personal care)
    sl_provider_share=0.22,       # share of providers that run supported-living schemes
    pc_offers_per_zone=22,        # personal-care offers per zone (capped by home providers)
    is_offers_per_zone=7,         # individual-support offers per zone
    package_reach=0.15,           # packages accepting 1-2 neighbouring zones
    placement_reach=0.35,         # placements accepting 1-2 neighbouring zones
    in_care=0.30,                 # needs with a current provider
    cannot_continue=0.10,         # of those, current provider has no eligible offer
    scheme_beds_mean=4.6,         # beds (vacancies) per scheme
    hours_supply_ratio=0.96,      # effective hours supply / demand, per zone before noise
    bed_cover=0.90,               # share of placements the schemes are sized to cover
    cap_low=0.80, cap_high=1.00,  # provider cap as share of its hours offers' capacity
    block_lot_share=0.5,          # share of hours lots with block contracts in force
    max_provider_share=None,      # policy cap (None: not set)
)

PKG_CG = [("OP", 0.66), ("OPMH", 0.12), ("PD", 0.12), ("LD", 0.05), ("MH", 0.03), ("Autism", 0.02)]
IS_CG = [("LD", 0.45), ("OP", 0.22), ("PD", 0.12), ("MH", 0.12), ("Autism", 0.07), ("OPMH", 0.02)]
PL_CG = [("LD", 0.44), ("MH", 0.31), ("Autism", 0.14), ("PD", 0.11)]


def pick(rng, pairs):
    r = rng.random() * sum(w for _, w in pairs)
    for v, w in pairs:
        r -= w
        if r <= 0:
            return v
    return pairs[-1][0]


def grid(n_zones):
    """Grid dims (rows, cols) as square as possible; zones fill row by row."""
    rows = int(math.floor(math.sqrt(n_zones)))
    while n_zones % rows:
        rows -= 1
    cols = n_zones // rows
    pos = {i: (i // cols, i % cols) for i in range(n_zones)}
    nb = {i: [j for j in range(n_zones)
              if abs(pos[i][0] - pos[j][0]) + abs(pos[i][1] - pos[j][1]) == 1] for i in range(n_zones)}
    return pos, nb


def r2(x):
    return round(x, 2)


def gen(n_needs, n_providers, n_zones, seed, **knobs):
    k = dict(DEFAULTS)
    bad = set(knobs) - set(k) - {"name"}
    if bad:
        raise ValueError(f"unknown knobs {sorted(bad)}")
    k.update(knobs)
    rng = random.Random(seed * 7919 + n_needs)
    pos, nb = grid(n_zones)
    zid = [f"Z{i + 1}" for i in range(n_zones)]
    dist = lambda a, b: abs(pos[a][0] - pos[b][0]) + abs(pos[a][1] - pos[b][1])

    # ---- zones: demand weight, price level, rurality (travel) ----
    zw = [rng.uniform(0.6, 1.4) for _ in range(n_zones)]
    zs = sum(zw)
    zw = [w / zs for w in zw]
    pc_base = [rng.uniform(18.5, 23.0) for _ in range(n_zones)]
    is_base = [rng.uniform(13.0, 17.5) for _ in range(n_zones)]
    tf_base = [rng.choice([1.0, 1.03, 1.06, 1.1, 1.15]) for _ in range(n_zones)]
    zones = [{"id": zid[i], "name": f"Zone {i + 1} (grid {pos[i][0]},{pos[i][1]})"} for i in range(n_zones)]

    # ---- providers ----
    n_sl = max(3, round(k["sl_provider_share"] * n_providers))
    n_home = n_providers - n_sl
    providers = []
    for i in range(n_providers):
        q = min(96.0, max(30.0, round(rng.gauss(70, 11))))
        rating = ("outstanding" if q >= 86 else "good" if q >= 60 else
                  "requires_improvement" if q >= 45 else "inadequate")
        if rng.random() < 0.08:
            rating = "not_yet_rated"
        is_sl = i >= n_home
        providers.append({"id": f"P{i + 1:03d}",
                          "name": f"{'Supported living' if is_sl else 'Home care'} {i + 1:03d}",
                          "quality": float(q), "cqc_rating": rating})
    home = list(range(n_home))
    sl = list(range(n_home, n_providers))
    p_home_zone = {p: rng.randrange(n_zones) for p in range(n_providers)}
    p_size = {p: rng.lognormvariate(0, 0.7) for p in range(n_providers)}
    p_is = {p: rng.random() < 0.35 for p in home}  # also does individual support
    quality = {p: providers[p]["quality"] for p in range(n_providers)}

    # ---- needs (demand first, supply sized to it) ----
    n_pl = round(k["placement_share"] * n_needs)
    n_pk = n_needs - n_pl
    needs = []
    for i in range(n_needs):
        z = pick(rng, list(enumerate(zw)))
        if i < n_pk:
            svc = "individual_support" if rng.random() < k["is_share"] else "personal_care"
            if svc == "personal_care":
                qty = min(30.0, max(0.5, round(rng.gammavariate(2.0, 3.15) * 4) / 4))
                cg = pick(rng, PKG_CG)
                cx = pick(rng, [("less_complex", .62), ("complex", .28), ("highly_complex", .10)])
            else:
                qty = float(min(18, max(4, round(rng.gauss(10.8, 3.5) * 4) / 4)))
                cg = pick(rng, IS_CG)
                cx = pick(rng, [("less_complex", .63), ("complex", .30), ("highly_complex", .07)])
            r = rng.random()
            pri = "hospital_discharge" if r < 0.06 else "urgent" if r < 0.15 else "standard"
            n = {"id": f"N{i + 1:05d}", "kind": "package", "zone": z, "service": svc,
                 "complexity": cx, "care_group": cg, "quantity": float(qty), "priority": pri}
        else:
            cx = pick(rng, [("less_complex", .17), ("complex", .72), ("highly_complex", .11)])
            n = {"id": f"N{i + 1:05d}", "kind": "placement", "zone": z, "service": "supported_living",
                 "complexity": cx, "care_group": pick(rng, PL_CG), "quantity": 1.0,
                 "priority": "urgent_bed" if rng.random() < 0.10 else "standard_bed"}
        needs.append(n)
    # exactly package_reach / placement_reach of each kind accept 1 (60%) or 2 neighbouring zones
    for kind, reach in (("package", k["package_reach"]), ("placement", k["placement_reach"])):
        ids = [n for n in needs if n["kind"] == kind and nb[n["zone"]]]
        for n in rng.sample(ids, round(reach * len(ids))):
            z = n["zone"]
            n["acceptable_zones"] = [z] + rng.sample(nb[z], min(len(nb[z]), 1 if rng.random() < 0.6 else 2))

    # ---- hours offers: several providers per (zone, service) ----
    offers = []  # internal: zone as index
    def zone_weight(p, z):
        return p_size[p] * math.exp(-dist(p_home_zone[p], z) / 1.2)

    def choose(pool, z, m):
        pool = list(pool)
        w = [zone_weight(p, z) for p in pool]  # the same weights each draw: computed once
        chosen = []
        for _ in range(min(m, len(pool))):
            p = pick(rng, list(zip(pool, w)))
            chosen.append(p)
            i = pool.index(p)
            del pool[i], w[i]
        return chosen

    demand = {}
    for n in needs:
        if n["kind"] == "package":
            demand[(n["zone"], n["service"])] = demand.get((n["zone"], n["service"]), 0.0) + n["quantity"]
    m_pc = max(3, min(k["pc_offers_per_zone"], round(0.9 * n_home)))
    is_pool = [p for p in home if p_is[p]] or home
    m_is = max(2, min(k["is_offers_per_zone"], round(0.8 * len(is_pool))))
    for z in range(n_zones):
        for svc, pool, m, base in (("personal_care", home, m_pc, pc_base), ("individual_support", is_pool, m_is, is_base)):
            provs = choose(pool, z, m)
            w = [p_size[p] * rng.uniform(0.5, 1.5) for p in provs]
            tfs = [r2(tf_base[z] + rng.uniform(0, 0.08)) if svc == "personal_care" else r2(1 + rng.uniform(0, 0.06)) for _ in provs]
            mean_tf = sum(tfs) / len(tfs)
            d = demand.get((z, svc), 0.0)
            total = d * mean_tf * k["hours_supply_ratio"] * rng.uniform(0.94, 1.06) / ((k["cap_low"] + k["cap_high"]) / 2)
            for p, wi, tf in zip(provs, w, tfs):
                mx = "highly_complex" if rng.random() < 0.5 else "complex"
                if svc == "individual_support" and rng.random() < 0.1:
                    mx = "less_complex"
                r = rng.random()
                cgs = [] if r < 0.82 else (["OP", "OPMH"] if svc == "personal_care" else ["LD", "Autism"]) if r < 0.93 else \
                      (["OP", "PD"] if svc == "personal_care" else ["MH", "PD"])
                offers.append({"provider": p, "zone": z, "service": svc, "unit": "hours",
                               "price": r2(base[z] * rng.uniform(0.93, 1.08) * (1 + (quality[p] - 70) / 700)),
                               "capacity": max(5.0, round(total * wi / sum(w) * 2) / 2),
                               "max_complexity": mx, "travel_factor": tf, "care_groups": cgs})
    # every home provider sells something
    selling = {o["provider"] for o in offers}
    for p in home:
        if p not in selling:
            z = p_home_zone[p]
            offers.append({"provider": p, "zone": z, "service": "personal_care", "unit": "hours",
                           "price": r2(pc_base[z] * rng.uniform(0.95, 1.1)),
                           "capacity": float(rng.choice([10, 15, 20, 30])),
                           "max_complexity": "complex", "travel_factor": r2(tf_base[z] + 0.04), "care_groups": []})

    # ---- supported-living schemes: small, one offer each ----
    pl = [n for n in needs if n["kind"] == "placement"]
    s_no = 0
    price_rng = {"less_complex": (300, 650), "complex": (780, 1250), "highly_complex": (1700, 3200)}
    # greedy cover: each scheme is shaped like an uncovered placement and its beds cover
    # uncovered placements that could use it, until bed_cover of placements are covered
    pair_of = lambda cg: ("LD", "Autism") if cg in ("LD", "Autism") else ("MH", "PD")
    uncovered = list(pl)
    rng.shuffle(uncovered)
    stop = len(pl) * (1 - k["bed_cover"])
    while len(uncovered) > stop:
        s_no += 1
        ref = uncovered[0]
        z = ref["zone"]
        cap = min(12, max(1, 1 + _poisson(rng, k["scheme_beds_mean"] - 1)))
        want = ref["complexity"]
        if want == "less_complex":
            mx = "less_complex" if rng.random() < 0.5 else "complex"
        elif want == "complex":
            mx = "complex" if rng.random() < 0.9 else "highly_complex"
        else:
            mx = "highly_complex"
        cg = list(pair_of(ref["care_group"]))
        fit = [n for n in uncovered if n["zone"] == z and n["care_group"] in cg
               and RANK[n["complexity"]] <= RANK[mx]]
        fit.sort(key=lambda n: -RANK[n["complexity"]])
        fit = fit[:cap]
        for n in fit:
            uncovered.remove(n)
        p = pick(rng, [(p, zone_weight(p, z)) for p in sl])
        lo, hi = price_rng[mx]
        offers.append({"provider": p, "zone": z, "service": "supported_living", "unit": "beds",
                       "price": float(round(rng.uniform(lo, hi))), "capacity": float(cap),
                       "max_complexity": mx, "travel_factor": 1.0,
                       "care_groups": cg, "scheme": f"S{s_no:04d}"})
    selling = {o["provider"] for o in offers}
    for p in sl:  # an SL provider with no scheme gets a small one at home
        if p not in selling:
            s_no += 1
            z = p_home_zone[p]
            offers.append({"provider": p, "zone": z, "service": "supported_living", "unit": "beds",
                           "price": float(round(rng.uniform(780, 1250))), "capacity": float(rng.choice([2, 3, 4])),
                           "max_complexity": "complex", "travel_factor": 1.0,
                           "care_groups": ["LD", "Autism"] if rng.random() < 0.58 else ["MH", "PD"],
                           "scheme": f"S{s_no:04d}"})

    # ---- provider caps: 80-100% of their hours offers ----
    hours_of = {}  # provider -> its hours offers, in the offers' order
    for o in offers:
        if o["unit"] == "hours":
            hours_of.setdefault(o["provider"], []).append(o)
    for p in home:
        tot = sum(o["capacity"] for o in hours_of.get(p, []))
        providers[p]["capacity"] = float(round(tot * rng.uniform(k["cap_low"], k["cap_high"]), 1))
    # rescale hours supply so that its effective size (provider caps, travel) is exactly
    # hours_supply_ratio x demand; the zone-level noise above stays
    eff = 0.0
    for p in home:
        os_ = hours_of.get(p, [])
        s = sum(o["capacity"] for o in os_)
        tf = sum(o["capacity"] * o["travel_factor"] for o in os_) / s
        eff += min(s, providers[p]["capacity"]) / tf
    f = k["hours_supply_ratio"] * sum(demand.values()) / eff
    for o in offers:
        if o["unit"] == "hours":
            o["capacity"] = max(2.0, round(o["capacity"] * f * 2) / 2)
    for p in home:
        tot = sum(o["capacity"] for o in hours_of.get(p, []))
        c = min(max(providers[p]["capacity"] * f, k["cap_low"] * tot), k["cap_high"] * tot)
        providers[p]["capacity"] = float(math.ceil(c * 10) / 10 if c < k["cap_low"] * tot + 0.05 else math.floor(c * 10) / 10)

    # ---- current providers ----
    mfq = 40.0
    def eligible(n, o):
        return (o["zone"] in n.get("acceptable_zones", [n["zone"]]) and o["service"] == n["service"]
                and (o["unit"] == "hours") == (n["kind"] == "package")
                and RANK[n["complexity"]] <= RANK[o["max_complexity"]]
                and (not o["care_groups"] or n["care_group"] in o["care_groups"])
                and quality[o["provider"]] >= mfq)
    by_svc_zone = {}  # (service, zone) -> offers, in the offers' order
    for oi, o in enumerate(offers):
        by_svc_zone.setdefault((o["service"], o["zone"]), []).append(oi)
    active = {key: {offers[oi]["provider"] for oi in ois} for key, ois in by_svc_zone.items()}
    left = [o["capacity"] for o in offers]
    pleft = {p: providers[p].get("capacity", float("inf")) for p in range(n_providers)}
    order = list(range(n_needs))
    rng.shuffle(order)
    n_in = round(k["in_care"] * n_needs)
    n_cant = round(k["cannot_continue"] * n_in)
    for rank_i, ni in enumerate(order[:n_in]):
        n = needs[ni]
        # eligible offers are in an acceptable zone: the same list as a scan of all the
        # service's offers, in the same order
        el = sorted(oi for z in set(n.get("acceptable_zones", [n["zone"]]))
                    for oi in by_svc_zone.get((n["service"], z), []) if eligible(n, offers[oi]))
        elp = {offers[oi]["provider"] for oi in el}
        if rank_i < n_cant:
            same_kind = [p for p in (home if n["kind"] == "package" else sl) if p not in elp]
            if not same_kind:
                same_kind = [p for p in range(n_providers) if p not in elp]
            if same_kind:
                # prefer a provider still active in the zone (e.g. a different service or lower complexity)
                here = active.get((n["service"], n["zone"]), set())
                near = [p for p in same_kind if p in here]
                n["current_provider"] = providers[rng.choice(near or same_kind)]["id"]
            continue
        if not el:
            continue
        use = lambda oi: n["quantity"] * offers[oi]["travel_factor"]
        fits = [oi for oi in el if left[oi] >= use(oi) and (offers[oi]["unit"] == "beds" or pleft[offers[oi]["provider"]] >= use(oi))]
        own = [oi for oi in fits if offers[oi]["zone"] == n["zone"]]
        oi = rng.choice(own or fits or el)
        left[oi] -= use(oi)
        if offers[oi]["unit"] == "hours":
            pleft[offers[oi]["provider"]] -= use(oi)
        n["current_provider"] = providers[offers[oi]["provider"]]["id"]

    # ---- lots and block contracts in force ----
    lots, blocks = [], []
    block_zones = set(rng.sample(range(n_zones), max(1, round(k["block_lot_share"] * n_zones))))
    blk = lambda: {"min_providers": 0, "max_providers": 3, "min_share": 0.0, "max_share": 0.8, "min_quality": 60.0}
    for z in range(n_zones):
        for svc, tag in (("personal_care", "PC"), ("individual_support", "IS")):
            lots.append({"id": f"{tag}-{zid[z]}", "name": f"{svc.replace('_', ' ')}, zone {z + 1}", "unit": "hours",
                         "zones": [zid[z]], "services": [svc], "complexities": list(CPLX), "framework": True,
                         "block": blk(), "min_quality": 0.0, "reservation": False})
            if svc == "personal_care" and z in block_zones:
                cand = [o for o in offers if o["zone"] == z and o["service"] == svc and quality[o["provider"]] >= 60]
                for o in rng.sample(cand, min(len(cand), rng.choice([1, 1, 2]))):
                    blocks.append({"provider": o["provider"], "lot": f"{tag}-{zid[z]}",
                                   "rate": r2(o["price"] * rng.uniform(0.88, 0.96)),
                                   "volume": float(round(o["capacity"] / o["travel_factor"] * rng.uniform(0.2, 0.5)))})
    for cx, tag in zip(CPLX, ("LC", "C", "HC")):
        lots.append({"id": f"SL-{tag}", "name": f"supported living, {cx.replace('_', ' ')}", "unit": "beds",
                     "zones": list(zid), "services": ["supported_living"], "complexities": [cx], "framework": True,
                     "block": {"min_providers": 0, "max_providers": None, "min_share": 0.0, "max_share": 0.8, "min_quality": 60.0},
                     "min_quality": 0.0, "reservation": False})
    sl_c = [o for o in offers if o["unit"] == "beds" and o["max_complexity"] != "less_complex" and quality[o["provider"]] >= 60]
    for o in rng.sample(sl_c, min(len(sl_c), max(1, n_zones // 3))):
        blocks.append({"provider": o["provider"], "lot": "SL-C", "rate": float(round(o["price"] * rng.uniform(0.9, 0.97))),
                       "volume": float(max(1, round(o["capacity"] * 0.6)))})
    merged = {}
    for b in blocks:  # at most one contract per (provider, lot): add volumes
        key = (b["provider"], b["lot"])
        if key in merged:
            merged[key]["volume"] += b["volume"]
        else:
            merged[key] = b
    blocks = [dict(b, provider=providers[b["provider"]]["id"]) for b in merged.values() if b["volume"] > 0]

    policy = {"unmet_penalty": {"standard": 60.0, "urgent": 120.0, "hospital_discharge": 200.0,
                                "standard_bed": 6000.0, "urgent_bed": 12000.0},
              "transfer_penalty": 150.0, "quality_weight": 5.0, "out_of_zone_penalty": 2.0,
              "min_framework_quality": mfq, "objective": "weighted"}
    if k["max_provider_share"] is not None:
        policy["max_provider_share"] = float(k["max_provider_share"])

    for o in offers:
        o["provider"] = providers[o["provider"]]["id"]
        o["zone"] = zid[o["zone"]]
    for n in needs:
        n["zone"] = zid[n["zone"]]
        if "acceptable_zones" in n:
            n["acceptable_zones"] = [zid[z] for z in n["acceptable_zones"]]
    return {"schema_version": 1, "name": knobs.get("name", f"indep-{n_needs}-{seed}"), "currency": "GBP",
            "zones": zones, "providers": providers, "offers": offers, "needs": needs, "lots": lots,
            "block_contracts": blocks, "block_bids": [], "design_targets": [], "policy": policy, "scenarios": []}


def _poisson(rng, lam):
    L, kk, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= L:
            return kk
        kk += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=sorted(SCALES), required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-provider-share", type=float, default=None,
                    help="policy.max_provider_share; default: 0.5 on seeds divisible by 3, else unset")
    a = ap.parse_args()
    share = a.max_provider_share if a.max_provider_share is not None else (0.5 if a.seed % 3 == 0 else None)
    d = gen(**SCALES[a.scale], seed=a.seed, max_provider_share=share, name=f"indep-{a.scale}-{a.seed}")
    with open(a.out, "w") as f:
        json.dump(d, f, indent=1)


if __name__ == "__main__":
    main()
