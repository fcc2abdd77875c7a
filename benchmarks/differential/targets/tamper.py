"""Tampered design answers: each must be refused by `allocator check` (the CLI) and by mine.py's
own evaluator.

python tamper.py PROBE_OUT OUTDIR
  PROBE_OUT: the cli_run.sh outputs of the probes (PROBE_OUT/<probe>/instance.json, result.json)
  OUTDIR:    OUTDIR/<case>/result.json, the tampered answers
Prints one line per case and a final count; exit 1 if any tampered answer is accepted.
"""

import copy
import json
import subprocess
import sys
from pathlib import Path

from mine import Model


def set_award(sol, provider, lot, volume):
    for a in sol["awards"]:
        if (a["provider"], a["lot"]) == (provider, lot):
            a["volume"] = volume
            return
    sol["awards"].append({"provider": provider, "lot": lot, "volume": volume})


def other_bidder(inst, sol, lot):
    held = {a["provider"] for a in sol["awards"] if a["lot"] == lot}
    return next(
        b["provider"] for b in inst["block_bids"] if b["lot"] == lot and b["provider"] not in held
    )


def b_ifaw_without_award(inst, sol):
    # P1's if_awarded offer o1 used although P1's bid (below block.min_quality) is dropped
    sol["awards"] = []
    sol["assignment"]["n1"] = "o1"
    sol["block"].pop("n1", None)


def b_dropped_bid_awarded(inst, sol):
    set_award(sol, "P1", "L1", 0.0)  # a bid below the lot's block.min_quality


def a2_not_awardable_award(inst, sol):
    set_award(sol, "P1", "L1", 2.0)  # a bid below the lot's own min_quality (cf3c218)


def a2_lot_quality(inst, sol):
    sol["assignment"]["n1"] = "o1"  # P1 is below L1's min_quality: not eligible in L1's cells


def a3_framework_quality_award(inst, sol):
    set_award(sol, "P1", "L1", 2.0)  # a bid below policy.min_framework_quality (cf3c218)


def c_target_min_providers(inst, sol):
    sol["awards"] = []  # the target needs one provider


def f_volume_below_min(inst, sol):
    set_award(sol, "P2", "B", 0.25)  # P2's min_volume is 0.5


def g_share_over(inst, sol):
    sol["awards"][0]["volume"] += 1.0  # the target's max_block_share is 0.5 of D = 18


def g_two_providers(inst, sol):
    set_award(sol, other_bidder(inst, sol, "L1"), "L1", 0.0)  # the target's max_providers is 1


CASES = {
    "B_ifaw_without_award": ("B_dropped_bid_ifaw", b_ifaw_without_award),
    "B_dropped_bid_awarded": ("B_dropped_bid_ifaw", b_dropped_bid_awarded),
    "A2_not_awardable_award": ("A2_lotq_bid_dropped", a2_not_awardable_award),
    "A2_lot_quality": ("A2_lotq_bid_dropped", a2_lot_quality),
    "A3_framework_quality_award": ("A3_framework_quality_bid_dropped", a3_framework_quality_award),
    "C_target_min_providers": ("C_zero_demand_target", c_target_min_providers),
    "F_volume_below_min": ("F_block_only_beds", f_volume_below_min),
    "G_share_over": ("G_contract_and_bid", g_share_over),
    "G_two_providers": ("G_contract_and_bid", g_two_providers),
}


def worlds_of(sol):
    if sol.get("scenarios"):
        return {s: (w["assignment"], w["block"]) for s, w in sol["scenarios"].items()}
    return {"base": (sol["assignment"], sol["block"])}


def main():
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    accepted = 0
    for name, (probe, tamper) in CASES.items():
        inst_path = src / probe / "instance.json"
        res = json.loads((src / probe / "result.json").read_text())
        inst = json.loads(inst_path.read_text())
        if res.get("solution") is None:
            print(f"{name:28s} SKIP: the engine gave no answer for {probe} ({res['status']})")
            accepted += 1
            continue
        res = copy.deepcopy(res)
        tamper(inst, res["solution"])
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "result.json").write_text(json.dumps(res, indent=1))
        proc = subprocess.run(
            [sys.executable, "-m", "allocator", "check", str(inst_path), str(d / "result.json")],
            capture_output=True,
            text=True,
        )
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        sol = res["solution"]
        awards = {(a["provider"], a["lot"]): a["volume"] for a in sol["awards"]}
        _, _, probs = Model(inst).evaluate(awards, worlds_of(sol))
        ok = proc.returncode != 0 and bool(probs)
        accepted += not ok
        print(
            f"{name:28s} {'refused' if ok else 'ACCEPTED'}: check exit {proc.returncode}"
            f" ({lines[0][:110] if lines else ''}); mine: {'; '.join(probs)[:110] or 'no problem'}",
            flush=True,
        )
    print(f"tampered answers: {len(CASES)}, accepted by either side {accepted}")
    sys.exit(1 if accepted else 0)


if __name__ == "__main__":
    main()
