"""Awkward and bad inputs for `allocator mini-competition` (the CLI): each must either be refused
with a non-zero exit and a message, or give the documented answer.

python bad.py OUTDIR   -> writes OUTDIR/<case>.json and OUTDIR/out_<case>/, prints one line per
case and a final count of failures (exit 1 if any).
"""

import copy
import json
import sys
from pathlib import Path

from cli import run_cli
from probes import hand

BASE = hand(
    {"A": 900, "B": 1000, "C": 1100}, {"A": 70, "B": 70, "C": 40}, block={"min_quality": 0.0}
)


def variant(change):
    d = copy.deepcopy(BASE)
    change(d)
    return d


def _other_lot(d):
    d["lots"].append(
        {
            "id": "M",
            "unit": "beds",
            "zones": ["z1"],
            "services": ["supported_living"],
            "complexities": ["highly_complex"],
        }
    )


CASES = {
    # (instance, lot competed, expectation)
    "no_bids_at_all": (variant(lambda d: d.update(block_bids=[])), "L", "refused"),
    "no_bids_on_lot": (variant(_other_lot), "M", "refused"),
    "unknown_lot": (BASE, "X", "refused"),
    "negative_rate": (variant(lambda d: d["block_bids"][0].update(rate=-5.0)), "L", "refused"),
    "all_inadmissible": (
        variant(lambda d: d["lots"][0].update(block={"min_quality": 100.0})),
        "L",
        "no_winner",
    ),
    "all_quality_zero": (
        variant(lambda d: [p.update(quality=0.0) for p in d["providers"]]),
        "L",
        "full_quality_points",
    ),
    "rate_zero": (
        variant(lambda d: d["block_bids"][0].update(rate=0.0)),
        "L",
        "zero_rate_full_price_points",
    ),
}


def judge(expect, code, res, qp=60.0, pp=40.0):
    if expect == "refused":
        return code != 0 and (res is None or res.get("ranking") is None), "expected a refusal"
    if res is None or code not in (0, 1):
        return False, f"exit {code}"
    rows = res["ranking"]
    if expect == "no_winner":  # the CLI exits 1 when nothing is admissible (result written)
        ok = (
            res["score_winner"] is None
            and res["whole_market_winner"] is None
            and not any(r["admissible"] for r in rows)
        )
        return ok, "expected no winner and every bid inadmissible"
    adm = [r for r in rows if r["admissible"]]
    if code != 0:
        return False, f"exit {code}"
    if expect == "full_quality_points":
        # max quality 0: every bid gets the quality points (the engine's reading of 0/0)
        return all(
            abs(r["score"] - qp - pp * min(x["rate"] for x in adm) / r["rate"]) < 1e-9 for r in adm
        ), "expected the full quality points for every bid"
    if expect == "zero_rate_full_price_points":
        zero = [r for r in adm if r["rate"] == 0]
        maxq = max(r["quality"] for r in adm)
        ok = all(
            abs(r["score"] - qp * r["quality"] / maxq - (pp if r in zero else 0.0)) < 1e-9
            for r in adm
        )
        return ok, "expected the price points for the zero rate, 0 for every other bid"
    return False, "unknown expectation"


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    failures = 0
    for name, (inst, lot, expect) in CASES.items():
        path = out / f"{name}.json"
        path.write_text(json.dumps(inst, indent=1))
        code, res, err = run_cli(path, lot, 60.0, 40.0, out / f"out_{name}")
        ok, why = judge(expect, code, res)
        failures += not ok
        msg = err.strip().splitlines()[-1][:150] if err.strip() else ""
        print(
            f"{name:18s} {'ok  ' if ok else 'FAIL'} exit {code} {expect}"
            f"{'' if ok else ' (' + why + ')'} {msg}",
            flush=True,
        )
    print(f"bad inputs: {len(CASES)} cases, failures {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
