"""Tiny random markets with the additions of DESIGN.md 9.1-9.3 on top of :mod:`random_instances`.

:func:`with_additions` takes a random instance and adds, each at random:

* ``lots[].min_quality`` on some lots (a threshold that cuts some providers out of a lot);
* offers that exist only with an award (``if_awarded``): a new offer for some bids (the
  capacity a block brings), for some contracts in force (the offer exists), and for some
  provider with neither in a lot (it never exists);
* ``design_targets`` over random groups of lots, with share and distinct-provider bounds.

Sizes stay small enough for :mod:`reference` to enumerate (at most four bids).
"""

from __future__ import annotations

import numpy as np
from random_instances import random_instance

from allocator.instance.schema import Instance


def with_additions(instance: Instance, rng: np.random.Generator, *, targets: bool = True
                   ) -> Instance:
    """``instance`` with per-lot quality, award-only offers and design targets added."""
    doc = instance.model_dump(mode="json", exclude_none=True)
    lots = doc["lots"]
    for lot in lots:
        if rng.random() < 0.35:
            lot["min_quality"] = float(rng.integers(25, 75))
    offers = doc["offers"]
    pools = [(b["provider"], b["lot"], "bid") for b in doc["block_bids"]]
    pools += [(c["provider"], c["lot"], "contract") for c in doc["block_contracts"]]
    if lots and doc["providers"] and rng.random() < 0.3:
        pools.append((doc["providers"][int(rng.integers(len(doc["providers"])))]["id"],
                      lots[int(rng.integers(len(lots)))]["id"], "none"))
    by_id = {lot["id"]: lot for lot in lots}
    for k, (provider, lot_id, kind) in enumerate(pools):
        if rng.random() > (0.7 if kind == "bid" else 0.4):
            continue
        lot = by_id[lot_id]
        zone = lot["zones"][int(rng.integers(len(lot["zones"])))]
        beds = lot["unit"] == "beds"
        offer = {
            "id": f"new{k}_{provider}_{lot_id}",
            "provider": provider,
            "zone": zone,
            "service": lot["services"][0],
            "unit": lot["unit"],
            "price": round(float(rng.uniform(400, 1200) if beds else rng.uniform(10, 28)), 2),
            "capacity": float(rng.integers(1, 3)) if beds else round(float(rng.uniform(4, 16)), 1),
            "max_complexity": "highly_complex",
            "if_awarded": lot_id,
        }
        if beds:
            offer["scheme"] = offer["id"]
        offers.append(offer)
    with_bids = sorted({b["lot"] for b in doc["block_bids"]})
    if targets and with_bids:
        doc["design_targets"] = []
        for t in range(int(rng.integers(1, 3))):
            size = int(rng.integers(1, len(lots) + 1))
            chosen = sorted(str(x) for x in rng.choice([lot["id"] for lot in lots], size=size,
                                                        replace=False))
            target: dict = {"id": f"T{t + 1}", "lots": chosen}
            if rng.random() < 0.5:
                target["min_block_share"] = round(float(rng.uniform(0.05, 0.4)), 2)
            if rng.random() < 0.5:
                target["max_block_share"] = round(float(rng.uniform(0.4, 1.0)), 2)
            if rng.random() < 0.5:
                target["min_providers"] = int(rng.integers(1, 3))
            if rng.random() < 0.5:
                target["max_providers"] = int(rng.integers(max(1, target.get("min_providers", 0)),
                                                          4))
            doc["design_targets"].append(target)
    return Instance.model_validate(doc)


def additions_case(seed: int, n_scenarios: int, lexicographic: bool | None = None) -> Instance:
    """A random design instance with the additions (a pure function of its arguments)."""
    rng = np.random.default_rng(10_000 + seed)
    # With two scenarios the reference pairs every assignment of one with every one of the
    # other: fewer needs keep it to seconds.
    n_needs = int(rng.integers(2, 5 if n_scenarios < 2 else 4))
    base = random_instance(rng, design=True, n_scenarios=n_scenarios, lexicographic=lexicographic,
                           n_needs=n_needs)
    return with_additions(base, rng)


def allocation_additions_case(seed: int) -> Instance:
    """A random allocation instance with per-lot quality and award-only offers."""
    rng = np.random.default_rng(20_000 + seed)
    return with_additions(random_instance(rng), rng, targets=False)
