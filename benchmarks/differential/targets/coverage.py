"""Coverage counts of a design run: how many optimal instances exercise each 9.1-9.3 feature.

python coverage.py INSTDIR ENGDIR
"""

import copy
import json
import sys
from pathlib import Path

from mine import Model

idir, edir = Path(sys.argv[1]), Path(sys.argv[2])
c = dict(
    feasible=0,
    targets=0,
    targets_bind=0,
    ifaw_used=0,
    ifaw_none_holder=0,
    lotq_bind=0,
    fwfalse_used=0,
    zero_demand_lot_with_bids=0,
    scen=0,
    scen_needs=0,
    lex=0,
    share_cap=0,
    transfer=0,
    dropped=0,
    contract_and_bid=0,
    infeasible_targets=0,
)
for ep in sorted(edir.glob("*.json")):
    doc = json.load(open(idir / ep.name))
    eng = json.load(open(ep))
    m = Model(doc)
    if eng["status"] != "optimal":
        if doc.get("design_targets"):
            d2 = copy.deepcopy(doc)
            d2["design_targets"] = []
            if Model(d2).solve()["status"] == "Optimal":
                c["infeasible_targets"] += 1
        continue
    c["feasible"] += 1
    c["scen"] += bool(doc.get("scenarios"))
    c["scen_needs"] += any("needs" in s for s in doc.get("scenarios", []))
    c["lex"] += doc["policy"].get("objective") == "lexicographic"
    c["share_cap"] += doc["policy"].get("max_provider_share") is not None
    c["transfer"] += doc["policy"].get("transfer_penalty", 0) > 0 and any(
        n.get("current_provider") for n in doc["needs"]
    )
    c["dropped"] += bool(m.dropped)
    cb = {(b["provider"], b["lot"]) for b in doc["block_bids"]} & {
        (x["provider"], x["lot"]) for x in doc["block_contracts"]
    }
    c["contract_and_bid"] += bool(cb)
    gated = {o["id"] for o in doc["offers"] if o.get("if_awarded")}
    used = {o for w in eng["worlds"].values() for o in w["assignment"].values()}
    c["ifaw_used"] += bool(gated & used)
    holders = {(b["provider"], b["lot"]) for b in doc["block_bids"]} | {
        (x["provider"], x["lot"]) for x in doc["block_contracts"]
    }
    c["ifaw_none_holder"] += any(
        o.get("if_awarded") and (o["provider"], o["if_awarded"]) not in holders
        for o in doc["offers"]
    )
    fwf = {lt["id"] for lt in doc["lots"] if lt.get("framework") is False}
    c["fwfalse_used"] += any(k.split("|")[1] in fwf for k in eng["awards"])
    c["zero_demand_lot_with_bids"] += any(m.Dexp.get(b["lot"], 0) == 0 for b in doc["block_bids"])
    if doc.get("design_targets"):
        c["targets"] += 1
        d2 = copy.deepcopy(doc)
        d2["design_targets"] = []
        r2 = Model(d2).solve()
        if abs(r2["objective"] - eng["objective"]) > 1e-6 * max(1, abs(eng["objective"])):
            c["targets_bind"] += 1
    if any(lt.get("min_quality") for lt in doc["lots"]):
        d2 = copy.deepcopy(doc)
        for lt in d2["lots"]:
            lt.pop("min_quality", None)
        r2 = Model(d2).solve()
        if r2["status"] != "Optimal" or abs(r2["objective"] - eng["objective"]) > 1e-6 * max(
            1, abs(eng["objective"])
        ):
            c["lotq_bind"] += 1
print(c)
