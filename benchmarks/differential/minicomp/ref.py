"""Independent implementation of DESIGN.md 9.4 (mini-competition) for tiny instances.

Written from DESIGN.md sections 3, 4, 5, 8, 9.1, 9.2, 9.4 only. The whole-market cost is a small
MIP built from scratch with PuLP + CBC (the engine's default is HiGHS). Weighted objective only.

python ref.py LOT QP PP FILE...   -> prints one JSON line per file
"""

import json
import statistics
import sys

import pulp

RANK = {"less_complex": 0, "complex": 1, "highly_complex": 2}
UNIT_OF_KIND = {"package": "hours", "placement": "beds"}


def offer_id(o):
    return o.get("id") or o.get("scheme") or f"{o['provider']}/{o['zone']}/{o['service']}"


def scenario_needs(inst):
    """[(weight, needs)] per clarification 9: multiplier on packages, or own needs list."""
    base = inst["needs"]
    scs = inst.get("scenarios") or []
    if not scs:
        return [(1.0, base)]
    out = []
    for s in scs:
        if s.get("needs") is not None:
            out.append((s["weight"], s["needs"]))
        elif s.get("demand_multiplier") is not None:
            m = s["demand_multiplier"]
            out.append(
                (
                    s["weight"],
                    [
                        dict(n, quantity=n["quantity"] * m) if n["kind"] == "package" else n
                        for n in base
                    ],
                )
            )
        else:
            out.append((s["weight"], base))
    return out


def lot_of_cell(inst, zone, service, cx):
    for lt in inst.get("lots", []):
        if zone in lt["zones"] and service in lt["services"] and cx in lt["complexities"]:
            return lt
    return None


SOLVER = "both"
SHARE_D = (
    "scenario"  # max_provider_share: D[l] of each scenario ("scenario") or expected ("expected")
)


def whole_market_cost(inst, lot_id, bid, solver_msg=False, time_limit=120):
    """Solve with CBC (preprocessing off: CBC 2.10's preprocessing returned a wrong 'optimal'
    on inst_63) and with HiGHS through PuLP; report a disagreement between the two."""
    if SOLVER != "both":
        return _wmc(inst, lot_id, bid, solver_msg, time_limit, SOLVER)
    a = _wmc(inst, lot_id, bid, solver_msg, time_limit, "cbc")
    b = _wmc(inst, lot_id, bid, solver_msg, time_limit, "highs")
    if (a[0] is None) != (b[0] is None) or (
        a[0] is not None and abs(a[0] - b[0]) > 1e-6 * max(1, abs(a[0]))
    ):
        a[2]["solver_disagreement"] = {"cbc": a[0], "highs": b[0]}
    return a


def _wmc(inst, lot_id, bid, solver_msg, time_limit, which):
    """Optimum of the design model with `bid` the only bid on lot_id (exactly one provider),
    other lots' bids and limits dropped, design targets ignored, contracts in force kept.
    Returns (cost, status, detail)."""
    pol = inst.get("policy", {})
    pen = pol.get("unmet_penalty", {})
    tp = pol.get("transfer_penalty", 0.0)
    qw = pol.get("quality_weight", 0.0)
    ooz = pol.get("out_of_zone_penalty", 0.0)
    mfq = pol.get("min_framework_quality", 0.0)
    mps = pol.get("max_provider_share")
    lex = pol.get("objective", "weighted") == "lexicographic"
    qual = {p["id"]: p["quality"] for p in inst["providers"]}
    pcap = {p["id"]: p.get("capacity") for p in inst["providers"]}
    lots = {lt["id"]: lt for lt in inst.get("lots", [])}
    L = lots[lot_id]
    pj = bid["provider"]
    scen = scenario_needs(inst)

    # block pools: (p, lot) -> fixed volume from contracts in force; the bid adds V
    fixed_vol = {}
    const = 0.0
    for c in inst.get("block_contracts", []):
        fixed_vol[(c["provider"], c["lot"])] = (
            fixed_vol.get((c["provider"], c["lot"]), 0.0) + c["volume"]
        )
        const += c["rate"] * c["volume"]
    holds = set(fixed_vol) | {(pj, lot_id)}

    def y(p, lt):  # 9.1: contract in force counts as y = 1
        return 1 if (p, lt) in holds else 0

    prob = pulp.LpProblem("wm", pulp.LpMinimize)
    mn, mx = bid.get("min_volume", 0.0), bid["max_volume"]
    # D[L] = weighted expectation of the quantity of needs whose own cell is in L
    D = 0.0
    for w, needs in scen:
        D += w * sum(
            n["quantity"]
            for n in needs
            if (lot_of_cell(inst, n["zone"], n["service"], n["complexity"]) or {}).get("id")
            == lot_id
        )
    lo, hi = mn, mx
    blk = L.get("block") or {}
    if D > 0:
        lo = max(lo, blk.get("min_share", 0.0) * D)
        hi = min(hi, blk.get("max_share", 1.0) * D)
    if lo > hi + 1e-9:
        return None, "infeasible", {"lo": lo, "hi": hi}
    V = pulp.LpVariable("V", lowBound=mn, upBound=mx)
    if D > 0:
        prob += V >= blk.get("min_share", 0.0) * D
        prob += V <= blk.get("max_share", 1.0) * D
    obj = const + bid["rate"] * V + bid.get("award_cost", 0.0)

    def vol(p, lt):
        v = fixed_vol.get((p, lt), 0.0)
        if (p, lt) == (pj, lot_id):
            return v + V
        return v

    unmet_total = 0
    Dl_exp = {}
    for w, needs in scen:
        for n in needs:
            lt = lot_of_cell(inst, n["zone"], n["service"], n["complexity"])
            if lt is not None:
                Dl_exp[lt["id"]] = Dl_exp.get(lt["id"], 0.0) + w * n["quantity"]
    for si, (w, needs) in enumerate(scen):
        x, b = {}, {}
        u = {}
        rec = 0
        for ni, n in enumerate(needs):
            u[ni] = pulp.LpVariable(f"u_{si}_{ni}", cat="Binary")
            acc = n.get("acceptable_zones") or [n["zone"]]
            for oi, o in enumerate(inst["offers"]):
                if o["zone"] not in acc or o["service"] != n["service"]:
                    continue
                if o["unit"] != UNIT_OF_KIND[n["kind"]]:
                    continue
                if RANK[n["complexity"]] > RANK[o["max_complexity"]]:
                    continue
                if o.get("care_groups") and n["care_group"] not in o["care_groups"]:
                    continue
                p = o["provider"]
                if qual[p] < mfq:
                    continue
                lot = lot_of_cell(inst, o["zone"], n["service"], n["complexity"])
                if lot is not None and qual[p] < lot.get("min_quality", 0.0):
                    continue
                xv = pulp.LpVariable(f"x_{si}_{ni}_{oi}", cat="Binary")
                x[ni, oi] = xv
                if lot is not None and (p, lot["id"]) in holds:
                    if lot.get("framework", True):
                        bv = pulp.LpVariable(f"b_{si}_{ni}_{oi}", lowBound=0)
                        prob += bv <= xv
                    else:
                        bv = xv
                    b[ni, oi] = (bv, p, lot["id"])
                elif lot is not None and not lot.get("framework", True):
                    prob += xv == 0  # block-only lot, provider holds no block there
                q = n["quantity"]
                bterm = b[ni, oi][0] if (ni, oi) in b else 0
                rec += o["price"] * q * (xv - bterm)
                rec += (
                    q
                    * (qw * (100 - qual[p]) / 100 + ooz * (1 if o["zone"] != n["zone"] else 0))
                    * xv
                )
            prob += pulp.lpSum(x[ni, oi] for (a, oi) in x if a == ni) + u[ni] == 1
            rec += pen[n["priority"]] * n["quantity"] * u[ni]
            unmet_total += w * pen[n["priority"]] * n["quantity"] * u[ni]
            c = n.get("current_provider")
            if c is not None:
                rec += tp * (
                    1
                    - pulp.lpSum(
                        x[ni, oi]
                        for (a, oi) in x
                        if a == ni and inst["offers"][oi]["provider"] == c
                    )
                )
        # offer capacities (9.1: if_awarded -> capacity * y)
        for oi, o in enumerate(inst["offers"]):
            cap = o["capacity"]
            if o.get("if_awarded") is not None:
                cap *= y(o["provider"], o["if_awarded"])
            terms = [
                needs[ni]["quantity"] * o.get("travel_factor", 1.0) * x[ni, oj]
                for (ni, oj) in x
                if oj == oi
            ]
            if terms:
                prob += pulp.lpSum(terms) <= cap
        # provider capacity over hours offers
        for p, cp in pcap.items():
            if cp is None:
                continue
            terms = [
                needs[ni]["quantity"] * inst["offers"][oi].get("travel_factor", 1.0) * x[ni, oi]
                for (ni, oi) in x
                if inst["offers"][oi]["provider"] == p and inst["offers"][oi]["unit"] == "hours"
            ]
            if terms:
                prob += pulp.lpSum(terms) <= cp
        if mps is not None:
            if SHARE_D == "scenario":
                Dl = {}
                for n in needs:
                    lt = lot_of_cell(inst, n["zone"], n["service"], n["complexity"])
                    if lt is not None:
                        Dl[lt["id"]] = Dl.get(lt["id"], 0.0) + n["quantity"]
            else:
                Dl = Dl_exp
            rows = {}
            for (ni, oi), xv in x.items():
                o = inst["offers"][oi]
                lt = lot_of_cell(inst, o["zone"], needs[ni]["service"], needs[ni]["complexity"])
                if lt is not None and Dl.get(lt["id"], 0) > 0:
                    rows.setdefault((o["provider"], lt["id"]), []).append(
                        needs[ni]["quantity"] * xv
                    )
            for (_p, lt), terms in rows.items():
                prob += pulp.lpSum(terms) <= mps * Dl[lt]
        # block volume rows
        pools = {}
        for (ni, _oi), (bv, p, lt) in b.items():
            pools.setdefault((p, lt), []).append(needs[ni]["quantity"] * bv)
        for (p, lt), terms in pools.items():
            prob += pulp.lpSum(terms) <= vol(p, lt)
        obj += w * rec
    if lex:
        prob.setObjective(unmet_total)
        prob.solve(_solver(which, solver_msg, time_limit))
        if pulp.LpStatus[prob.status] != "Optimal":
            return None, pulp.LpStatus[prob.status], {}
        U1 = pulp.value(unmet_total) or 0.0
        prob += unmet_total <= U1 + 1e-6 * max(1, abs(U1))
    prob.setObjective(obj)
    prob.solve(_solver(which, solver_msg, time_limit))
    status = pulp.LpStatus[prob.status]
    if status == "Infeasible":
        return None, "infeasible", {}
    if status != "Optimal":
        return None, status, {}
    return (
        pulp.value(prob.objective),
        "optimal",
        {"V": V.value(), "D": D, "unmet": pulp.value(unmet_total)},
    )


def _solver(which, solver_msg, time_limit):
    if which == "cbc":
        slv = pulp.PULP_CBC_CMD(
            msg=solver_msg,
            timeLimit=time_limit,
            gapRel=1e-9,
            gapAbs=1e-7,
            options=["preprocess off"],
        )
    else:
        slv = pulp.HiGHS(msg=solver_msg, timeLimit=time_limit, gapRel=1e-9, gapAbs=1e-7)
    return slv


def mini_competition(inst, lot_id, qp=60.0, pp=40.0):
    lots = {lt["id"]: lt for lt in inst.get("lots", [])}
    if lot_id not in lots:
        raise ValueError("unknown lot")
    L = lots[lot_id]
    bids = [b for b in inst.get("block_bids", []) if b["lot"] == lot_id]
    if not bids:
        raise ValueError("no bids")
    # Admissibility. DESIGN.md 9.4 names only the lot's block.min_quality. The engine (commit
    # cf3c218) also refuses a bid whose provider is below the lot's own min_quality (9.2) or
    # below policy.min_framework_quality: such a provider gets no work in the lot's cells, so its
    # award could only be paid for. DESIGN.md does not say so; this reference follows the
    # engine's reading. The first threshold failed (in this order) must be named in the reason.
    thresholds = [
        ("block min_quality", (L.get("block") or {}).get("min_quality", 0.0)),
        (f"lot {lot_id} min_quality", L.get("min_quality", 0.0)),
        ("min_framework_quality", inst.get("policy", {}).get("min_framework_quality", 0.0)),
    ]
    qual = {p["id"]: p["quality"] for p in inst["providers"]}
    rows = []
    for b in bids:
        q = qual[b["provider"]]
        failed = next((name for name, t in thresholds if q < t), None)
        rows.append(
            {
                "provider": b["provider"],
                "rate": b["rate"],
                "quality": q,
                "admissible": failed is None,
                "threshold": failed,
                "bid": b,
            }
        )
    adm = [r for r in rows if r["admissible"]]
    if adm:
        maxq = max(r["quality"] for r in adm)
        minr = min(r["rate"] for r in adm)
        med = statistics.median(r["rate"] for r in adm)
    for r in rows:
        if r["admissible"]:
            r["score"] = (qp * r["quality"] / maxq if maxq > 0 else float("nan")) + (
                pp * minr / r["rate"] if r["rate"] > 0 else float("nan")
            )
            r["abnormally_low"] = r["rate"] < 0.8 * med - 1e-9 * max(
                1.0, abs(med)
            )  # exactly 80% is not below
            c, st, det = whole_market_cost(inst, lot_id, r["bid"])
            r["whole_market_cost"], r["status"], r["detail"] = c, st, det
        else:
            r["score"] = None
            r["abnormally_low"] = False
            r["whole_market_cost"], r["status"] = None, "inadmissible"
        del r["bid"]
    priced = [r for r in rows if r["whole_market_cost"] is not None]
    scored = [r for r in rows if r["score"] is not None]
    res = {"rows": rows, "median_rate": med if adm else None}
    if scored:
        best = max(r["score"] for r in scored)
        res["score_winners"] = sorted(r["provider"] for r in scored if r["score"] >= best - 1e-9)
    if priced:
        best = min(r["whole_market_cost"] for r in priced)
        res["wm_winners"] = sorted(
            r["provider"]
            for r in priced
            if r["whole_market_cost"] <= best + 1e-6 * max(1, abs(best))
        )
        res["wm_best"] = best
    return res


if __name__ == "__main__":
    lot, qp, pp = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    for f in sys.argv[4:]:
        inst = json.load(open(f))
        try:
            res = mini_competition(inst, lot, qp, pp)
        except Exception as e:  # noqa
            res = {"error": repr(e)}
        res["file"] = f
        print(json.dumps(res), flush=True)
