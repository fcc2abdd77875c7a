"""Targeted probe instances for the mini-competition (each competes lot "L").

python probes.py OUTDIR  -> OUTDIR/<name>.json
"""

import json
import sys
from pathlib import Path


def hand(rates, quality, beds=None, max_volume=2.0, needs=2, block=None, extra=None):
    """Hand market in the style of the engine's test (one zone, one lot L of beds)."""
    provs = list(quality)
    beds = beds or {p: 1 for p in provs}
    inst = {
        "schema_version": 1,
        "name": "probe",
        "zones": [{"id": "z1"}],
        "providers": [{"id": p, "quality": float(q)} for p, q in quality.items()],
        "offers": [
            {
                "id": f"s{p}",
                "provider": p,
                "zone": "z1",
                "service": "supported_living",
                "unit": "beds",
                "price": 1400.0,
                "capacity": float(beds[p]),
                "max_complexity": "complex",
            }
            for p in provs
        ],
        "needs": [
            {
                "id": f"n{k}",
                "kind": "placement",
                "zone": "z1",
                "service": "supported_living",
                "complexity": "complex",
                "care_group": "LD",
                "quantity": 1.0,
                "priority": "standard_bed",
            }
            for k in range(1, needs + 1)
        ],
        "lots": [
            {
                "id": "L",
                "unit": "beds",
                "zones": ["z1"],
                "services": ["supported_living"],
                "complexities": ["less_complex", "complex"],
                "block": block if block is not None else {"min_quality": 50.0},
            }
        ],
        "block_bids": [
            {"provider": p, "lot": "L", "rate": float(r), "max_volume": max_volume}
            for p, r in rates.items()
        ],
        "policy": {"unmet_penalty": {"standard_bed": 6000.0}},
    }
    if extra:
        extra(inst)
    return inst


probes = {}
# 1. 80%-of-median boundary that floating point gets wrong: 8.04 is exactly 80% of 10.05
probes["median_boundary_float"] = hand(
    {"A": 8.04, "B": 10.05, "C": 12.0}, {"A": 80, "B": 80, "C": 80}
)
# 2. median over all bids or admissible only: C (inadmissible) moves the median
probes["median_with_inadmissible"] = hand(
    {"A": 700, "B": 800, "C": 300, "D": 560}, {"A": 100, "B": 90, "C": 40, "D": 60}
)


# 3. bidder B also holds a contract in force on L (pooled volume)
def _contract_on_L(inst):
    inst["block_contracts"] = [{"provider": "B", "lot": "L", "rate": 900.0, "volume": 1.0}]
    inst["offers"][1]["capacity"] = 3.0


probes["bidder_holds_contract_on_L"] = hand(
    {"A": 700, "B": 800}, {"A": 100, "B": 90}, needs=3, extra=_contract_on_L
)


# 4. another provider's contract in force on L must not count towards exactly-one / share
def _other_contract(inst):
    inst["block_contracts"] = [{"provider": "F", "lot": "L", "rate": 900.0, "volume": 1.0}]
    inst["providers"].append({"id": "F", "quality": 80.0})
    inst["offers"].append(
        {
            "id": "sF",
            "provider": "F",
            "zone": "z1",
            "service": "supported_living",
            "unit": "beds",
            "price": 1500.0,
            "capacity": 2.0,
            "max_complexity": "complex",
        }
    )


probes["other_contract_on_L_share"] = hand(
    {"A": 700, "B": 800},
    {"A": 100, "B": 90},
    needs=2,
    block={"min_quality": 50.0, "max_share": 0.5, "max_providers": 3, "min_providers": 2},
    extra=_other_contract,
)
# 5. lot without a block section
probes["no_block_section"] = hand({"A": 700, "B": 800}, {"A": 40, "B": 90}, block=None)
del probes["no_block_section"]["lots"][0]["block"]


# 6. if_awarded offer of a non-bidder whose contract in force on another lot M gives y = 1,
#    and a bidder's if_awarded offer on M (no award there: must be capacity 0)
def _ifaw(inst):
    inst["zones"].append({"id": "z2"})
    inst["lots"].append(
        {
            "id": "M",
            "unit": "beds",
            "zones": ["z2"],
            "services": ["supported_living"],
            "complexities": ["less_complex", "complex"],
            "block": {"min_providers": 1},
        }
    )
    inst["block_contracts"] = [{"provider": "F", "lot": "M", "rate": 100.0, "volume": 0.0}]
    inst["providers"].append({"id": "F", "quality": 80.0})
    inst["offers"] += [
        {
            "id": "newF",
            "provider": "F",
            "zone": "z1",
            "service": "supported_living",
            "unit": "beds",
            "price": 1000.0,
            "capacity": 1.0,
            "max_complexity": "complex",
            "if_awarded": "M",
        },
        {
            "id": "newA",
            "provider": "A",
            "zone": "z1",
            "service": "supported_living",
            "unit": "beds",
            "price": 900.0,
            "capacity": 2.0,
            "max_complexity": "complex",
            "if_awarded": "M",
        },
        {
            "id": "newB",
            "provider": "B",
            "zone": "z1",
            "service": "supported_living",
            "unit": "beds",
            "price": 1100.0,
            "capacity": 2.0,
            "max_complexity": "complex",
            "if_awarded": "L",
        },
    ]
    inst["block_bids"].append({"provider": "A", "lot": "M", "rate": 10.0, "max_volume": 5.0})
    inst["design_targets"] = [{"id": "T", "lots": ["L", "M"], "min_providers": 3}]
    inst["needs"].append(dict(inst["needs"][0], id="n9"))


probes["if_awarded_other_lot"] = hand(
    {"A": 700, "B": 1300}, {"A": 100, "B": 90}, needs=3, max_volume=1.0, extra=_ifaw
)


# 7. max_provider_share with scenarios (D[l] per scenario or expected?)
def _share(inst):
    inst["policy"]["max_provider_share"] = 0.5
    inst["scenarios"] = [
        {"id": "lo", "weight": 0.5, "needs": inst["needs"][:2]},
        {
            "id": "hi",
            "weight": 0.5,
            "needs": inst["needs"] + [dict(inst["needs"][0], id=f"m{k}") for k in range(4)],
        },
    ]
    for o in inst["offers"]:
        o["capacity"] = 6.0


probes["max_provider_share_scenarios"] = hand(
    {"A": 700, "B": 800}, {"A": 100, "B": 90}, max_volume=4.0, needs=2, extra=_share
)


# 8. lexicographic objective
def _lex(inst):
    inst["policy"]["objective"] = "lexicographic"
    inst["policy"]["unmet_penalty"]["standard_bed"] = 1000.0


probes["lexicographic"] = hand(
    {"A": 700, "B": 800}, {"A": 100, "B": 90}, beds={"A": 1, "B": 0}, needs=2, extra=_lex
)
# 9. quality ties at the top, rate ties
probes["ties"] = hand({"A": 800, "B": 800, "C": 700}, {"A": 90, "B": 90, "C": 60})


# 10. a provider above the block min_quality but below the lot's own min_quality (DESIGN.md 9.2),
#     and one below policy.min_framework_quality: inadmissible in the engine's reading (cf3c218)
def _lot_min_quality(inst):
    inst["lots"][0]["min_quality"] = 70.0


def _framework_quality(inst):
    inst["policy"]["min_framework_quality"] = 70.0


probes["lot_min_quality_inadmissible"] = hand(
    {"A": 700, "B": 800, "C": 900}, {"A": 100, "B": 60, "C": 90}, extra=_lot_min_quality
)
probes["framework_quality_inadmissible"] = hand(
    {"A": 700, "B": 800, "C": 900}, {"A": 100, "B": 60, "C": 90}, extra=_framework_quality
)

if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for k, v in probes.items():
        (out / f"{k}.json").write_text(json.dumps(v, indent=1))
    print(f"{len(probes)} probes in {out}")
