"""Random tiny design instances for the mini-competition check (DESIGN.md 9.4).

python gen.py START END OUTDIR  -> OUTDIR/inst_<seed>.json  (competed lot is always "L")
"""

import json
import random
import sys
from pathlib import Path

CX = ["less_complex", "complex", "highly_complex"]
CG = ["OP", "LD", "MH", "PD"]


def gen(seed: int) -> dict:
    r = random.Random(seed)
    zones = ["z1", "z2"] if r.random() < 0.6 else ["z1"]
    # unit of the instance: beds (supported living) or hours (personal care); sometimes both
    mode = r.choice(["beds", "hours", "both"])
    services = {
        "beds": ["supported_living"],
        "hours": ["personal_care"],
        "both": ["supported_living", "personal_care"],
    }[mode]
    nprov = r.randint(2, 4)
    qual_pool = [40, 55, 60, 70, 80, 90, 100]
    providers = []
    for k in range(nprov):
        p = {"id": f"P{k + 1}", "quality": float(r.choice(qual_pool))}
        if r.random() < 0.25:
            p["capacity"] = float(r.randint(3, 15))
        providers.append(p)
    pids = [p["id"] for p in providers]

    # lots: L (competed) and maybe M (other lot with bids, limits, targets to ignore)
    svc_L = r.choice(services)
    unit_L = "beds" if svc_L == "supported_living" else "hours"
    L = {
        "id": "L",
        "unit": unit_L,
        "zones": ["z1"],
        "services": [svc_L],
        "complexities": r.sample(CX, r.randint(1, 3)),
    }
    if r.random() < 0.3:
        L["framework"] = False
    if r.random() < 0.85:
        blk = {"min_quality": float(r.choice([0, 0, 50, 60, 75]))}
        if r.random() < 0.3:
            blk["min_providers"] = r.choice([0, 1, 2])
            blk["max_providers"] = blk["min_providers"] + r.choice([0, 1, 2])
            if blk["max_providers"] == 0:
                blk["max_providers"] = 2
        if r.random() < 0.3:
            blk["min_share"] = r.choice([0.0, 0.2, 0.5])
            blk["max_share"] = r.choice([0.6, 0.8, 1.0])
        L["block"] = blk
    if r.random() < 0.15:
        L["min_quality"] = float(r.choice([50, 65]))
    lots = [L]
    has_M = r.random() < 0.6
    if has_M:
        svc_M = r.choice(services)
        unit_M = "beds" if svc_M == "supported_living" else "hours"
        mz = "z2" if len(zones) == 2 else "z1"
        if mz == "z1" and svc_M == svc_L:
            mcx = [c for c in CX if c not in L["complexities"]]
            if not mcx:
                svc_M = None
        else:
            mcx = r.sample(CX, r.randint(1, 3))
        if svc_M is not None:
            M = {
                "id": "M",
                "unit": unit_M,
                "zones": [mz],
                "services": [svc_M],
                "complexities": mcx,
                "block": {"min_providers": r.choice([0, 1, 2]), "min_share": r.choice([0.0, 0.3])},
            }
            if r.random() < 0.3:
                M["framework"] = False
            lots.append(M)
        else:
            has_M = False

    def unit_of(s):
        return "beds" if s == "supported_living" else "hours"

    # offers: 1-2 per provider
    offers = []
    for p in pids:
        combos = [(z, s) for z in zones for s in services]
        r.shuffle(combos)
        for z, s in combos[: r.randint(1, min(2, len(combos)))]:
            u = unit_of(s)
            o = {
                "id": f"{p}-{z}-{s[:2]}",
                "provider": p,
                "zone": z,
                "service": s,
                "unit": u,
                "price": float(r.randint(800, 1500) if u == "beds" else r.randint(15, 35)),
                "capacity": float(r.randint(0, 3) if u == "beds" else r.randint(0, 20)),
                "max_complexity": r.choice(CX + ["highly_complex"]),
            }
            if u == "hours" and r.random() < 0.3:
                o["travel_factor"] = r.choice([1.1, 1.5])
            if r.random() < 0.2:
                o["care_groups"] = r.sample(CG, 2)
            offers.append(o)
        # an extra offer that exists only with an award
        if r.random() < 0.45:
            tgt = r.choice(["L"] * 3 + (["M"] if has_M else []))
            lot = next(lt for lt in lots if lt["id"] == tgt)
            s = lot["services"][0]
            u = unit_of(s)
            o = {
                "id": f"{p}-new-{tgt}",
                "provider": p,
                "zone": lot["zones"][0],
                "service": s,
                "unit": u,
                "price": float(r.randint(800, 1500) if u == "beds" else r.randint(15, 35)),
                "capacity": float(r.randint(1, 4) if u == "beds" else r.randint(5, 25)),
                "max_complexity": "highly_complex",
                "if_awarded": tgt,
            }
            offers.append(o)

    prios = {
        "standard": r.choice([40.0, 60.0]),
        "urgent": r.choice([100.0, 200.0]),
        "standard_bed": r.choice([1500.0, 2500.0, 6000.0]),
        "urgent_bed": 8000.0,
    }

    def make_need(i, prefix="n"):
        s = r.choice(services)
        if r.random() < 0.6:
            s = svc_L
        kind = "placement" if s == "supported_living" else "package"
        z = r.choice(zones)
        if r.random() < 0.55:
            z = "z1"
        n = {
            "id": f"{prefix}{i}",
            "kind": kind,
            "zone": z,
            "service": s,
            "complexity": r.choice(CX),
            "care_group": r.choice(CG),
            "quantity": 1.0 if kind == "placement" else float(r.randint(2, 12)),
        }
        urgent = r.random() < 0.25
        n["priority"] = ("urgent" if urgent else "standard") + (
            "_bed" if kind == "placement" else ""
        )
        if len(zones) == 2 and r.random() < 0.35:
            n["acceptable_zones"] = ["z1", "z2"]
        if r.random() < 0.3:
            n["current_provider"] = r.choice(pids)
        return n

    nneeds = r.randint(2, 6)
    needs = [make_need(i) for i in range(1, nneeds + 1)]

    # bids on L: 1-4 distinct providers
    nb = r.randint(1, min(4, nprov))
    bidders = r.sample(pids, nb)
    bids = []
    base_rate = 1000 if unit_L == "beds" else 22
    rates_pool = [round(base_rate * f, 2) for f in (0.55, 0.7, 0.8, 0.9, 1.0, 1.0, 1.1, 1.25)]
    for p in bidders:
        mx = float(r.randint(1, 3)) if unit_L == "beds" else float(r.randint(4, 20))
        mn = r.choice([0.0, 0.0, round(mx * r.choice([0.5, 1.0]), 1)])
        b = {
            "provider": p,
            "lot": "L",
            "rate": r.choice(rates_pool),
            "min_volume": mn,
            "max_volume": mx,
        }
        if r.random() < 0.35:
            b["award_cost"] = float(r.choice([50, 200, 500]))
        bids.append(b)
    # bids on M (to be dropped)
    if has_M:
        M = lots[1]
        um = M["unit"]
        for p in r.sample(pids, r.randint(0, min(2, nprov))):
            bids.append(
                {
                    "provider": p,
                    "lot": "M",
                    "rate": float(r.randint(500, 900) if um == "beds" else r.randint(8, 18)),
                    "min_volume": 0.0,
                    "max_volume": float(r.randint(1, 10)),
                }
            )
    contracts = []
    if r.random() < 0.35:
        tgt = r.choice(["L"] + (["M"] if has_M else []))
        lot = next(lt for lt in lots if lt["id"] == tgt)
        cands = [p for p in pids if not (tgt == "L" and p in bidders)]
        if cands:
            p = r.choice(cands)
            contracts.append(
                {
                    "provider": p,
                    "lot": tgt,
                    "rate": float(900 if lot["unit"] == "beds" else 20),
                    "volume": float(r.randint(1, 2) if lot["unit"] == "beds" else r.randint(2, 8)),
                }
            )
    policy = {
        "unmet_penalty": prios,
        "transfer_penalty": r.choice([0.0, 0.0, 300.0, 3000.0]),
        "quality_weight": r.choice([0.0, 0.0, 5.0, 200.0]),
        "out_of_zone_penalty": r.choice([0.0, 3.0, 100.0]),
    }
    if r.random() < 0.15:
        policy["min_framework_quality"] = 50.0
    if seed >= 1000:  # batch c: the remaining policy switches
        if r.random() < 0.4:
            policy["max_provider_share"] = r.choice([0.5, 0.7])
        if r.random() < 0.4:
            policy["objective"] = "lexicographic"
    inst = {
        "schema_version": 1,
        "name": f"mc-random-{seed}",
        "zones": [{"id": z} for z in zones],
        "providers": providers,
        "offers": offers,
        "needs": needs,
        "lots": lots,
        "block_contracts": contracts,
        "block_bids": bids,
        "policy": policy,
    }
    if has_M and r.random() < 0.6:
        inst["design_targets"] = [
            {
                "id": "T",
                "lots": ["L", "M"],
                "min_block_share": r.choice([0.0, 0.5, 0.9]),
                "min_providers": r.choice([0, 2, 3]),
            }
        ]
    ns = r.choice([0, 0, 1, 2, 3])
    if ns:
        ws = [r.randint(1, 5) for _ in range(ns)]
        tot = sum(ws)
        ws = [w / tot for w in ws]
        ws[-1] = 1 - sum(ws[:-1])
        scen = []
        for k in range(ns):
            sc = {"id": f"s{k}", "weight": ws[k]}
            t = r.random()
            if t < 0.4:
                sc["demand_multiplier"] = r.choice([0.5, 1.3, 2.0])
            elif t < 0.8:
                sc["needs"] = [make_need(i, prefix=f"s{k}n") for i in range(1, r.randint(1, 5) + 1)]
            scen.append(sc)
        inst["scenarios"] = scen
    return inst


if __name__ == "__main__":
    a, b, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    for s in range(a, b):
        (out / f"inst_{s}.json").write_text(json.dumps(gen(s), indent=1))
