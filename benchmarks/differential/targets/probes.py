"""Hand-made probe instances for DESIGN.md 9.1-9.3 corner cases.

python probes.py OUTDIR  -> OUTDIR/<name>.json (one file per probe)
"""

import json
import sys
from pathlib import Path

H = {"service": "personal_care", "unit": "hours", "max_complexity": "highly_complex"}
ALLC = ["less_complex", "complex", "highly_complex"]


def need(i, z, q, **kw):
    d = {
        "id": i,
        "kind": "package",
        "zone": z,
        "service": "personal_care",
        "complexity": "complex",
        "care_group": "OP",
        "quantity": q,
    }
    d.update(kw)
    return d


def lot(i, zones, **kw):
    d = {
        "id": i,
        "unit": "hours",
        "zones": zones,
        "services": ["personal_care"],
        "complexities": ALLC,
    }
    d.update(kw)
    return d


def offer(i, p, z, price, cap, **kw):
    d = {"id": i, "provider": p, "zone": z, "price": price, "capacity": cap, **H}
    d.update(kw)
    return d


def bed_need(i):
    return {
        "id": i,
        "kind": "placement",
        "zone": "Z1",
        "service": "supported_living",
        "complexity": "complex",
        "care_group": "LD",
        "priority": "bed",
    }


def bed_offer(i, p, price, cap, **kw):
    d = {
        "id": i,
        "provider": p,
        "zone": "Z1",
        "service": "supported_living",
        "unit": "beds",
        "price": price,
        "capacity": cap,
        "max_complexity": "highly_complex",
        "scheme": i,
    }
    d.update(kw)
    return d


P = {}
# A: bid by a provider excluded from the lot's cells by lots[].min_quality (9.2) but above the
#    lot's block.min_quality (0); the lot requires one provider. Read literally, DESIGN.md forces
#    an award to P1 that nobody can use; the engine (since cf3c218) drops the bid as not
#    awardable, so no design exists (infeasible).
P["A_lotq_forced_award"] = {
    "zones": [{"id": "Z1"}, {"id": "Z2"}],
    "providers": [{"id": "P1", "quality": 40}, {"id": "P2", "quality": 90}],
    "offers": [
        offer("o1", "P1", "Z1", 20, 20),
        offer("o2", "P2", "Z1", 30, 20),
        offer("o3", "P1", "Z2", 25, 10, if_awarded="L1"),
    ],
    "needs": [need("n1", "Z1", 10), need("n2", "Z2", 5)],
    "lots": [lot("L1", ["Z1"], min_quality=50, block={"min_providers": 1}), lot("L2", ["Z2"])],
    "block_bids": [
        {
            "provider": "P1",
            "lot": "L1",
            "rate": 10,
            "min_volume": 2,
            "max_volume": 10,
            "award_cost": 7,
        }
    ],
    "policy": {"unmet_penalty": {"standard": 100}},
}
# A2: as A without the lot's min_providers: P1's bid is dropped (not awardable), its if_awarded
#     offer o3 never exists.
P["A2_lotq_bid_dropped"] = {
    **P["A_lotq_forced_award"],
    "lots": [lot("L1", ["Z1"], min_quality=50), lot("L2", ["Z2"])],
}
# A3: a bid from a provider below policy.min_framework_quality (not awardable either).
P["A3_framework_quality_bid_dropped"] = {
    **P["A2_lotq_bid_dropped"],
    "lots": [lot("L1", ["Z1"]), lot("L2", ["Z2"])],
    "policy": {"unmet_penalty": {"standard": 100}, "min_framework_quality": 50},
}
# B: bid dropped for block.min_quality; an if_awarded offer on that lot (never exists)
P["B_dropped_bid_ifaw"] = {
    "zones": [{"id": "Z1"}],
    "providers": [{"id": "P1", "quality": 40}, {"id": "P2", "quality": 90}],
    "offers": [offer("o1", "P1", "Z1", 20, 10, if_awarded="L1"), offer("o2", "P2", "Z1", 50, 20)],
    "needs": [need("n1", "Z1", 10)],
    "lots": [lot("L1", ["Z1"], block={"min_quality": 50})],
    "block_bids": [
        {"provider": "P1", "lot": "L1", "rate": 10, "max_volume": 10},
        {"provider": "P2", "lot": "L1", "rate": 45, "max_volume": 10},
    ],
    "policy": {"unmet_penalty": {"standard": 100}},
}
# C: target over a zero-demand lot without block section, min_providers 1
P["C_zero_demand_target"] = {
    "zones": [{"id": "Z1"}, {"id": "Z2"}],
    "providers": [{"id": "P1", "quality": 60}, {"id": "P2", "quality": 90}],
    "offers": [offer("o1", "P1", "Z1", 20, 20), offer("o2", "P2", "Z2", 30, 20)],
    "needs": [need("n1", "Z1", 10)],
    "lots": [lot("L1", ["Z1"]), lot("L2", ["Z2"])],
    "block_bids": [
        {
            "provider": "P2",
            "lot": "L2",
            "rate": 10,
            "min_volume": 1,
            "max_volume": 10,
            "award_cost": 3,
        }
    ],
    "design_targets": [{"id": "T", "lots": ["L2"], "min_providers": 1, "min_block_share": 0.5}],
    "policy": {"unmet_penalty": {"standard": 100}},
}
# D: max_provider_share with scenarios of different demand (D per scenario or expected?)
P["D_share_cap_scenarios"] = {
    "zones": [{"id": "Z1"}],
    "providers": [{"id": "P1", "quality": 60}, {"id": "P2", "quality": 90}],
    "offers": [offer("o1", "P1", "Z1", 20, 40), offer("o2", "P2", "Z1", 30, 40)],
    "needs": [need("n1", "Z1", 6), need("n2", "Z1", 4)],
    "lots": [lot("L1", ["Z1"])],
    "scenarios": [
        {"id": "lo", "weight": 0.5, "demand_multiplier": 0.5},
        {
            "id": "hi",
            "weight": 0.5,
            "needs": [need("m1", "Z1", 6), need("m2", "Z1", 4), need("m3", "Z1", 10)],
        },
    ],
    "policy": {"unmet_penalty": {"standard": 100}, "max_provider_share": 0.6},
}
# E: lexicographic across scenarios: award that removes unmet in one scenario at high cost
P["E_lex_scen"] = {
    "zones": [{"id": "Z1"}],
    "providers": [{"id": "P1", "quality": 60}, {"id": "P2", "quality": 90}],
    "offers": [offer("o1", "P1", "Z1", 20, 5), offer("o2", "P2", "Z1", 30, 8, if_awarded="L1")],
    "needs": [need("n1", "Z1", 5), need("n2", "Z1", 8)],
    "lots": [lot("L1", ["Z1"])],
    "block_bids": [
        {
            "provider": "P2",
            "lot": "L1",
            "rate": 10,
            "min_volume": 8,
            "max_volume": 10,
            "award_cost": 900,
        }
    ],
    "scenarios": [
        {"id": "a", "weight": 0.5, "needs": [need("n1", "Z1", 5)]},
        {"id": "b", "weight": 0.5},
    ],
    "policy": {"unmet_penalty": {"standard": 10}, "objective": "lexicographic"},
}
# F: framework=false lot, beds, fractional volume
P["F_block_only_beds"] = {
    "zones": [{"id": "Z1"}],
    "providers": [{"id": "P1", "quality": 60}, {"id": "P2", "quality": 90}],
    "offers": [bed_offer("s1", "P1", 800, 3), bed_offer("s2", "P2", 900, 2, if_awarded="B")],
    "needs": [bed_need(f"b{i}") for i in range(3)],
    "lots": [
        {
            "id": "B",
            "unit": "beds",
            "zones": ["Z1"],
            "services": ["supported_living"],
            "complexities": ALLC,
            "framework": False,
            "block": {"max_share": 0.5},
        }
    ],
    "block_bids": [
        {"provider": "P1", "lot": "B", "rate": 700, "max_volume": 3},
        {"provider": "P2", "lot": "B", "rate": 650, "max_volume": 2, "min_volume": 0.5},
    ],
    "scenarios": [
        {"id": "a", "weight": 0.5},
        {"id": "b", "weight": 0.5, "needs": [bed_need("b0")]},
    ],
    "policy": {"unmet_penalty": {"bed": 2000}},
}
# G: contract in force + bid on same (p,l); contract counts as y=1 for if_awarded; target
#    counts only bids
P["G_contract_and_bid"] = {
    "zones": [{"id": "Z1"}],
    "providers": [{"id": "P1", "quality": 60}, {"id": "P2", "quality": 90}],
    "offers": [offer("o1", "P1", "Z1", 30, 20), offer("o2", "P2", "Z1", 30, 10, if_awarded="L1")],
    "needs": [need("n1", "Z1", 10), need("n2", "Z1", 8)],
    "lots": [lot("L1", ["Z1"])],
    "block_contracts": [{"provider": "P2", "lot": "L1", "rate": 15, "volume": 4}],
    "block_bids": [
        {"provider": "P2", "lot": "L1", "rate": 12, "max_volume": 10},
        {"provider": "P1", "lot": "L1", "rate": 14, "max_volume": 10},
    ],
    "design_targets": [{"id": "T", "lots": ["L1"], "max_providers": 1, "max_block_share": 0.5}],
    "policy": {"unmet_penalty": {"standard": 100}},
}
# H: a target's max_providers counts distinct providers over several lots
_HI_OFFERS = [
    offer("o1", "P1", "Z1", 20, 20),
    offer("o2", "P1", "Z2", 20, 20),
    offer("o3", "P2", "Z1", 25, 20),
]
_HI_NEEDS = [need("n1", "Z1", 6), need("n2", "Z2", 6)]
P["H_target_k_providers_multi_lot"] = {
    "zones": [{"id": "Z1"}, {"id": "Z2"}],
    "providers": [{"id": "P1", "quality": 60}, {"id": "P2", "quality": 90}],
    "offers": _HI_OFFERS,
    "needs": _HI_NEEDS,
    "lots": [lot("L1", ["Z1"], block={"max_providers": 1}), lot("L2", ["Z2"], block={})],
    "block_bids": [
        {"provider": "P1", "lot": "L1", "rate": 15, "max_volume": 5},
        {"provider": "P1", "lot": "L2", "rate": 15, "max_volume": 5},
        {"provider": "P2", "lot": "L1", "rate": 10, "max_volume": 6},
    ],
    "design_targets": [
        {"id": "T", "lots": ["L1", "L2"], "max_providers": 1, "min_block_share": 0.8}
    ],
    "policy": {"unmet_penalty": {"standard": 100}},
}
# I: a target's min_providers together with its min_block_share
P["I_target_min_providers_share"] = {
    "zones": [{"id": "Z1"}, {"id": "Z2"}],
    "providers": [{"id": "P1", "quality": 60}, {"id": "P2", "quality": 90}],
    "offers": _HI_OFFERS,
    "needs": _HI_NEEDS,
    "lots": [
        lot("L1", ["Z1"], block={"max_providers": 1}),
        lot("L2", ["Z2"], block={"max_providers": 1}),
    ],
    "block_bids": [
        {"provider": "P1", "lot": "L1", "rate": 15, "max_volume": 5},
        {"provider": "P1", "lot": "L2", "rate": 15, "max_volume": 5},
        {"provider": "P2", "lot": "L1", "rate": 10, "max_volume": 6},
        {"provider": "P2", "lot": "L2", "rate": 10, "max_volume": 1},
    ],
    "design_targets": [
        {"id": "T", "lots": ["L1", "L2"], "min_providers": 2, "min_block_share": 0.9}
    ],
    "policy": {"unmet_penalty": {"standard": 100}},
}


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for k, v in P.items():
        (out / f"{k}.json").write_text(json.dumps(v, indent=1))
    print(f"{len(P)} probes in {out}")
