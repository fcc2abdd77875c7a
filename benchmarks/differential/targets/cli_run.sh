#!/usr/bin/env bash
# usage: cli_run.sh INSTANCE OUTDIR [extra design args]
# Runs `allocator design` then `allocator check` on its answer (both through the CLI) and writes
# OUTDIR/eng.json in run_engine.py's form (status, objective, bound, awards, worlds, dropped
# bids, check result), plus OUTDIR.log. Python: ${PYTHON:-python}.
set -u
PY="${PYTHON:-python}"
inst=$1; out=$2; shift 2
mkdir -p "$out"
"$PY" -m allocator design "$inst" --out "$out" --time-limit 120 --gap 0 --workers 1 -q "$@"
echo "design exit $?" > "$out.log"
"$PY" -m allocator check "$out/instance.json" "$out/result.json" >> "$out.log" 2>&1
echo "check exit $?" >> "$out.log"
"$PY" - "$out" <<'PY'
import json
import sys

out = sys.argv[1]
r = json.load(open(f"{out}/result.json"))
log = open(f"{out}.log").read()
rec = {"status": r["status"], "objective": r["objective"], "bound": r["bound"],
       "message": r.get("message", ""), "dropped": (r.get("extra") or {}).get("dropped_bids")}
sol = r.get("solution")
if sol:
    rec["awards"] = {f"{a['provider']}|{a['lot']}": a["volume"] for a in sol["awards"]}
    if sol.get("scenarios"):
        rec["worlds"] = {s: {"assignment": w["assignment"], "block": w["block"]}
                         for s, w in sol["scenarios"].items()}
    else:
        rec["worlds"] = {"base": {"assignment": sol["assignment"], "block": sol["block"]}}
    rec["check_ok"] = "check exit 0" in log
    rec["check"] = log
json.dump(rec, open(f"{out}/eng.json", "w"), indent=1)
PY
