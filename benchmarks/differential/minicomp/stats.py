"""Coverage counts of a mini-competition run. python stats.py ENG.jsonl REF.jsonl"""

import collections
import json
import sys

c = collections.Counter()
eng = {json.loads(lt)["file"]: json.loads(lt) for lt in open(sys.argv[1])}
for lt in open(sys.argv[2]):
    r = json.loads(lt)
    e = eng.get(r["file"])
    if e is None:
        continue
    inst = json.load(open(r["file"]))
    c["instances"] += 1
    rows = r.get("rows", [])
    c["bids"] += len(rows)
    c["inadmissible bids"] += sum(not x["admissible"] for x in rows)
    c["infeasible alone"] += sum(x["status"] == "infeasible" for x in rows)
    c["abnormally low"] += sum(x["abnormally_low"] for x in rows)
    c["inst >=2 priced"] += sum(x["whole_market_cost"] is not None for x in rows) >= 2
    c["winners differ"] += bool(e.get("winners_differ"))
    c["wm ties"] += len(r.get("wm_winners", [])) > 1
    c["score ties"] += len(r.get("score_winners", [])) > 1
    L = inst["lots"][0]
    c["L framework=false"] += L.get("framework", True) is False
    c["L no block section"] += "block" not in L
    c["L lot min_quality"] += "min_quality" in L
    c["scenarios"] += bool(inst.get("scenarios"))
    c["design_targets"] += bool(inst.get("design_targets"))
    c["other-lot bids"] += any(b["lot"] != "L" for b in inst["block_bids"])
    c["contracts in force"] += bool(inst["block_contracts"])
    c["if_awarded L"] += any(o.get("if_awarded") == "L" for o in inst["offers"])
    c["if_awarded M"] += any(o.get("if_awarded") == "M" for o in inst["offers"])
    c["award_cost"] += any(b.get("award_cost") for b in inst["block_bids"] if b["lot"] == "L")
    c["transfer>0"] += inst["policy"].get("transfer_penalty", 0) > 0
    c["V>0 somewhere"] += any((x.get("detail") or {}).get("V") for x in rows)
    c["unmet>0"] += any(x.get("terms", {}).get("unmet", 0) > 0 for x in e.get("ranking", []))
    c["engine errors"] += any(k in e for k in ("mc_error", "load_error", "crash"))
for k, v in c.items():
    print(f"{k:25s} {v}")
