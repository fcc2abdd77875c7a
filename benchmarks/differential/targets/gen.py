"""Random tiny design instances with DESIGN.md 9.1-9.3 features (own generator)."""

import json
import random
import sys
from pathlib import Path

COMPLEX = ["less_complex", "complex", "highly_complex"]
GROUPS = ["OP", "LD", "MH"]


def gen(seed):
    r = random.Random(seed)
    big = seed >= 1000
    nz = r.randint(2, 3) if big else r.randint(1, 3)
    zones = [f"Z{i + 1}" for i in range(nz)]
    npv = r.randint(3, 4) if big else r.randint(2, 4)
    providers = []
    for i in range(npv):
        p = {"id": f"P{i + 1}", "quality": r.choice([20, 40, 55, 70, 85, 95])}
        if r.random() < 0.25:
            p["capacity"] = r.choice([6, 10, 15, 25])
        providers.append(p)
    use_beds = r.random() < 0.3
    # lots: personal_care per zone group, maybe a beds lot
    lots = []
    zs = zones[:]
    r.shuffle(zs)
    nlots_pc = r.randint(1, min(2, nz)) if nz > 1 else 1
    groups = [zs[i::nlots_pc] for i in range(nlots_pc)]
    for g in groups:
        cx = COMPLEX[:] if r.random() < 0.7 else r.sample(COMPLEX, r.randint(1, 2))
        lot = {
            "id": f"L{len(lots) + 1}",
            "unit": "hours",
            "zones": sorted(g),
            "services": ["personal_care"],
            "complexities": cx,
        }
        lots.append(lot)
    if use_beds:
        lots.append(
            {
                "id": f"L{len(lots) + 1}",
                "unit": "beds",
                "zones": zones[:],
                "services": ["supported_living"],
                "complexities": COMPLEX[:],
            }
        )
    # zero-demand lot sometimes (individual_support, nobody needs it)
    if r.random() < 0.2:
        lots.append(
            {
                "id": f"L{len(lots) + 1}",
                "unit": "hours",
                "zones": [zones[0]],
                "services": ["individual_support"],
                "complexities": COMPLEX[:],
            }
        )
    for lot in lots:
        if r.random() < (0.4 if seed >= 2000 else 0.25):
            lot["framework"] = False
        if r.random() < 0.3:
            lot["min_quality"] = r.choice([30, 50, 60, 80])
        if r.random() < 0.8:
            blk = {}
            if r.random() < 0.2:
                blk["min_providers"] = r.randint(0, 2)
            if r.random() < 0.3:
                blk["max_providers"] = r.randint(blk.get("min_providers", 0), 2)
            if r.random() < 0.15:
                blk["min_share"] = r.choice([0.1, 0.2, 0.4])
            if r.random() < 0.25:
                blk["max_share"] = r.choice([0.5, 0.7, 1.0])
                blk["max_share"] = max(blk["max_share"], blk.get("min_share", 0))
            if r.random() < 0.25:
                blk["min_quality"] = r.choice([30, 50, 75])
            lot["block"] = blk
    # offers
    offers = []
    k = 0
    for p in providers:
        for z in zones:
            if r.random() < 0.6:
                k += 1
                o = {
                    "id": f"o{k}",
                    "provider": p["id"],
                    "zone": z,
                    "service": "personal_care",
                    "unit": "hours",
                    "price": r.choice([18, 20, 22, 25, 28, 30]),
                    "capacity": r.choice([4, 8, 12, 20]),
                    "max_complexity": r.choice(COMPLEX[1:] + ["highly_complex"]),
                }
                if r.random() < 0.2:
                    o["travel_factor"] = 1.25
                if r.random() < 0.15:
                    o["care_groups"] = r.sample(GROUPS, 2)
                offers.append(o)
            if use_beds and r.random() < 0.35:
                k += 1
                offers.append(
                    {
                        "id": f"o{k}",
                        "provider": p["id"],
                        "zone": z,
                        "service": "supported_living",
                        "unit": "beds",
                        "price": r.choice([600, 800, 1000]),
                        "capacity": r.randint(0, 2),
                        "max_complexity": r.choice(COMPLEX[1:]),
                        "scheme": f"S{k}",
                    }
                )
    # bids and contracts
    bids, contracts = [], []
    for lot in lots:
        beds = lot["unit"] == "beds"
        for p in providers:
            u = r.random()
            if u < 0.6:
                mx = r.choice([1, 2, 3]) if beds else r.choice([4, 8, 12, 20])
                b = {
                    "provider": p["id"],
                    "lot": lot["id"],
                    "rate": r.choice([500, 700, 900]) if beds else r.choice([10, 14, 17, 21]),
                    "max_volume": mx,
                }
                if r.random() < 0.3:
                    b["min_volume"] = r.choice([1, 2]) if beds else r.choice([2, 4])
                    b["min_volume"] = min(b["min_volume"], mx)
                if r.random() < 0.4:
                    b["award_cost"] = r.choice([5, 20, 60])
                bids.append(b)
                if r.random() < 0.08:  # contract in force on the same (p,l) as a bid
                    contracts.append(
                        {
                            "provider": p["id"],
                            "lot": lot["id"],
                            "rate": 12 if not beds else 700,
                            "volume": 2 if not beds else 1,
                        }
                    )
            elif u < 0.7:
                contracts.append(
                    {
                        "provider": p["id"],
                        "lot": lot["id"],
                        "rate": r.choice([650, 750]) if beds else r.choice([12, 16]),
                        "volume": r.choice([1]) if beds else r.choice([3, 6]),
                    }
                )
    # if_awarded offers
    holders = [(b["provider"], b["lot"], "bid") for b in bids] + [
        (c["provider"], c["lot"], "contract") for c in contracts
    ]
    if r.random() < 0.4:
        holders.append((r.choice(providers)["id"], r.choice(lots)["id"], "none"))
    lot_by = {lt["id"]: lt for lt in lots}
    for p, lt, kind in holders:
        if r.random() < ((0.8 if seed >= 2000 else 0.5) if kind == "bid" else 0.35):
            lot = lot_by[lt]
            k += 1
            beds = lot["unit"] == "beds"
            o = {
                "id": f"o{k}",
                "provider": p,
                "zone": r.choice(lot["zones"]),
                "service": lot["services"][0],
                "unit": lot["unit"],
                "price": r.choice([600, 900]) if beds else r.choice([16, 19, 24]),
                "capacity": r.randint(1, 2) if beds else r.choice([5, 10]),
                "max_complexity": "highly_complex",
                "if_awarded": lt,
            }
            if beds:
                o["scheme"] = f"S{k}"
            # sometimes in a zone of a different lot (award-only offer outside its lot)
            if not beds and r.random() < 0.2:
                o["zone"] = r.choice(zones)
            offers.append(o)

    # needs
    def mk_needs(prefix, n):
        out = []
        for i in range(n):
            z = r.choice(zones)
            beds = use_beds and r.random() < 0.3
            nd = {
                "id": f"{prefix}{i + 1}",
                "kind": "placement" if beds else "package",
                "zone": z,
                "service": "supported_living" if beds else "personal_care",
                "complexity": r.choice(COMPLEX),
                "care_group": r.choice(GROUPS),
                "quantity": 1 if beds else r.choice([2, 3, 5, 6, 8, 10]),
            }
            if not beds and r.random() < 0.2:
                nd["priority"] = "urgent"
            if beds:
                nd["priority"] = "standard_bed"
            if nz > 1 and r.random() < 0.3:
                nd["acceptable_zones"] = sorted(set([z, r.choice(zones)]))
            if r.random() < 0.25:
                nd["current_provider"] = r.choice(providers)["id"]
            out.append(nd)
        return out

    needs = mk_needs("n", r.randint(4, 6) if big else r.randint(2, 5))
    policy = {
        "unmet_penalty": {"standard": r.choice([25, 40, 60]), "urgent": 90, "standard_bed": 1500}
    }
    if r.random() < 0.4:
        policy["transfer_penalty"] = r.choice([10, 50, 200])
    if r.random() < 0.4:
        policy["quality_weight"] = r.choice([2, 5])
    if r.random() < 0.3:
        policy["out_of_zone_penalty"] = r.choice([1, 3])
    if r.random() < 0.2:
        policy["min_framework_quality"] = r.choice([30, 50])
    if r.random() < 0.2:
        policy["max_provider_share"] = r.choice([0.5, 0.7, 0.9])
    if r.random() < 0.3:
        policy["objective"] = "lexicographic"
    # targets
    targets = []
    for t in range(r.choice([2, 3]) if seed >= 2000 else r.choice([0, 1, 1, 2, 2])):
        tl = sorted(r.sample([lt["id"] for lt in lots], r.randint(1, min(3, len(lots)))))
        tg = {"id": f"T{t + 1}", "lots": tl}
        if r.random() < 0.4:
            tg["min_block_share"] = r.choice([0.1, 0.25, 0.5, 0.8])
        if r.random() < 0.5:
            tg["max_block_share"] = r.choice([0.3, 0.6, 0.9, 1.0])
            if tg["max_block_share"] < tg.get("min_block_share", 0):
                tg["max_block_share"] = tg["min_block_share"]
        if r.random() < 0.35:
            tg["min_providers"] = r.choice([1, 1, 2, 3])
        if r.random() < 0.5:
            tg["max_providers"] = r.randint(max(1, tg.get("min_providers", 0)), 3)
        targets.append(tg)
    doc = {
        "name": f"rand{seed}",
        "zones": [{"id": z} for z in zones],
        "providers": providers,
        "offers": offers,
        "needs": needs,
        "lots": lots,
        "block_contracts": contracts,
        "block_bids": bids,
        "design_targets": targets,
        "policy": policy,
    }
    ns = r.choice([2, 3]) if big else r.choice([0, 1, 2, 2, 3])
    if ns:
        ws = {1: [1.0], 2: [0.5, 0.5], 3: [0.25, 0.25, 0.5]}[ns]
        if seed >= 2000:
            ws = {1: [1.0], 2: [0.3, 0.7], 3: [0.1, 0.2, 0.7]}[ns]
        if ns == 2 and r.random() < 0.5:
            ws = [0.25, 0.75]
        sc = []
        for i in range(ns):
            s = {"id": f"s{i + 1}", "weight": ws[i]}
            if r.random() < 0.6:
                s["demand_multiplier"] = r.choice([0.5, 0.8, 1.2, 1.5])
            elif r.random() < 0.5:
                s["needs"] = mk_needs(f"s{i + 1}n", r.randint(3, 6) if big else r.randint(2, 4))
            sc.append(s)
        doc["scenarios"] = sc
    return doc


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    a, b = int(sys.argv[2]), int(sys.argv[3])
    for s in range(a, b):
        (out / f"i{s:04d}.json").write_text(json.dumps(gen(s), indent=1))
