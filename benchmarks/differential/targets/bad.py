"""Bad inputs for DESIGN.md 9.1-9.3 fields (targets, if_awarded, lot min_quality, block shares):
each is a variant of probe G and must be refused by `allocator validate` (exit 2), except the
ones in EXPECT_ACCEPTED.

python bad.py OUTDIR  -> OUTDIR/<case>.json; one line per case, exit 1 on an unexpected outcome
"""

import copy
import json
import subprocess
import sys
from pathlib import Path

from probes import P

base = copy.deepcopy(P["G_contract_and_bid"])
base["lots"].append(
    {
        "id": "L2",
        "unit": "hours",
        "zones": ["Z1"],
        "services": ["individual_support"],
        "complexities": ["complex"],
    }
)
V = {}


def v(name, f):
    d = copy.deepcopy(base)
    f(d)
    V[name] = d


v("target_unknown_lot", lambda d: d["design_targets"][0].update(lots=["L1", "LX"]))
v(
    "target_min_gt_max_share",
    lambda d: d["design_targets"][0].update(min_block_share=0.8, max_block_share=0.5),
)
v(
    "target_min_gt_max_prov",
    lambda d: d["design_targets"][0].update(min_providers=3, max_providers=1),
)
v("target_share_gt1", lambda d: d["design_targets"][0].update(max_block_share=1.5))
v("target_share_neg", lambda d: d["design_targets"][0].update(min_block_share=-0.1))
v("target_empty_lots", lambda d: d["design_targets"][0].update(lots=[]))
v("target_dup_lot", lambda d: d["design_targets"][0].update(lots=["L1", "L1"]))
v("target_unknown_field", lambda d: d["design_targets"][0].update(min_share=0.1))
v("target_neg_providers", lambda d: d["design_targets"][0].update(min_providers=-1))
v("target_dup_id", lambda d: d["design_targets"].append({"id": "T", "lots": ["L2"]}))
v("target_providers_float", lambda d: d["design_targets"][0].update(max_providers=1.5))
v("ifaw_unknown_lot", lambda d: d["offers"][1].update(if_awarded="LX"))
v("ifaw_no_bid_in_lot", lambda d: d["offers"][1].update(if_awarded="L2"))
v(
    "ifaw_other_unit_lot",
    lambda d: (
        d["lots"].append(
            {
                "id": "LB",
                "unit": "beds",
                "zones": ["Z1"],
                "services": ["supported_living"],
                "complexities": ["complex"],
            }
        ),
        d["offers"][1].update(if_awarded="LB"),
    ),
)
v("ifaw_empty", lambda d: d["offers"][1].update(if_awarded=""))
v("lot_min_quality_gt100", lambda d: d["lots"][0].update(min_quality=150))
v("lot_min_quality_neg", lambda d: d["lots"][0].update(min_quality=-5))
v("lot_min_quality_text", lambda d: d["lots"][0].update(min_quality="high"))
v("lot_min_quality_bool", lambda d: d["lots"][0].update(min_quality=True))
v(
    "block_min_gt_max_share",
    lambda d: d["lots"][0].update(block={"min_share": 0.9, "max_share": 0.2}),
)
v("target_providers_bool", lambda d: d["design_targets"][0].update(max_providers=True))


# Accepted by the validator, and DESIGN.md does not forbid them: an offer gated on a lot where its
# provider holds no bid or contract simply never exists (capacity 0, lot_design.md), whatever the
# lot's unit. `if_awarded: ""` is accepted too (listed so that a change shows up).
EXPECT_ACCEPTED = {"ifaw_no_bid_in_lot", "ifaw_other_unit_lot", "ifaw_empty"}


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    accepted = 0
    for k, d in V.items():
        path = out / f"{k}.json"
        path.write_text(json.dumps(d, indent=1))
        proc = subprocess.run(
            [sys.executable, "-m", "allocator", "validate", str(path)],
            capture_output=True,
            text=True,
        )
        lines = [x for x in (proc.stdout + proc.stderr).strip().splitlines() if x.strip()]
        expect = 0 if k in EXPECT_ACCEPTED else 2
        ok = proc.returncode == expect
        accepted += not ok
        verdict = {0: "accepted", 2: "refused"}.get(proc.returncode, "error")
        print(
            f"{k:24s} {verdict} ({'as expected' if ok else 'UNEXPECTED'}) exit "
            f"{proc.returncode}: {lines[-1].strip()[:110] if lines else ''}",
            flush=True,
        )
    print(f"bad inputs: {len(V)}, unexpected outcomes {accepted}")
    sys.exit(1 if accepted else 0)


if __name__ == "__main__":
    main()
