"""Whether awards can meet, or do meet, the lots' limits and the design targets.

The first-stage rules of the design model (DESIGN.md section 5, clarification 7; targets 9.3)
against the awardable bids and the lots' expected demand ``lot_demand``:
:func:`unreachable_limits` says before any solve why no design can meet them (the design solve
is then infeasible), :func:`limits_ok` whether given awards keep them, and
:func:`target_problems` what given awards break of the design targets.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from allocator.core.problem import Problem
from allocator.design.recourse import Pool, design_holders
from allocator.instance.schema import Instance


def unreachable_limits(instance: Instance, base: Problem, lot_demand: np.ndarray) -> str:
    """Why no design can meet the lots' limits with the awardable bids, or ''."""
    volumes: dict[int, list[float]] = {}
    for h in design_holders(base):
        bid = instance.block_bids[int(base.holder_bid[h])]
        volumes.setdefault(int(base.holder_lot[h]), []).append(bid.max_volume)
    for li, lot in enumerate(instance.lots):
        rules = lot.block
        if rules is None:
            continue
        mine = sorted(volumes.get(li, []), reverse=True)
        if len(mine) < rules.min_providers:
            return (f"lot {lot.id} needs at least {rules.min_providers} block provider(s) but "
                    f"has {len(mine)} awardable bid(s)")
        most = sum(mine if rules.max_providers is None else mine[:rules.max_providers])
        need = rules.min_share * lot_demand[li]
        if lot_demand[li] > 0 and most < need - 1e-9:
            return (f"lot {lot.id}: min_share {rules.min_share:g} x expected demand "
                    f"{lot_demand[li]:g} = {need:g} exceeds the most volume that "
                    f"{'its' if rules.max_providers is None else rules.max_providers} "
                    f"largest bid(s) can offer ({most:g})")
    return unreachable_targets(instance, base, lot_demand)


def unreachable_targets(instance: Instance, base: Problem, lot_demand: np.ndarray) -> str:
    """Why no design can meet a design target with the awardable bids, or ''."""
    bids = [instance.block_bids[int(base.holder_bid[h])] for h in design_holders(base)]
    for target in instance.design_targets:
        lots = set(target.lots)
        mine = [b for b in bids if b.lot in lots]
        providers = {b.provider for b in mine}
        if len(providers) < target.min_providers:
            return (f"design target {target.id} needs at least {target.min_providers} distinct "
                    f"block provider(s) but its lots have awardable bids from {len(providers)}")
        d = float(sum(lot_demand[i] for i, lot in enumerate(instance.lots) if lot.id in lots))
        most = sum(b.max_volume for b in mine)
        if d > 0 and most < target.min_block_share * d - 1e-9:
            return (f"design target {target.id}: min_block_share {target.min_block_share:g} x "
                    f"expected demand {d:g} = {target.min_block_share * d:g} exceeds the volume "
                    f"of every awardable bid in its lots together ({most:g})")
    return ""


def limits_ok(instance: Instance, awards: Mapping[Pool, float], lot_demand: np.ndarray,
              *, tol: float = 1e-6) -> bool:
    """Whether ``awards`` keep every bid's volume range and every lot's limits."""
    bids = {(b.provider, b.lot): b for b in instance.block_bids}
    for key, v in awards.items():
        bid = bids.get(key)
        if bid is None or not (bid.min_volume - tol * max(1, bid.min_volume) <= v
                               <= bid.max_volume + tol * max(1, bid.max_volume)):
            return False
    for li, lot in enumerate(instance.lots):
        rules = lot.block
        if rules is None:
            continue
        mine = [v for (_, lid), v in awards.items() if lid == lot.id]
        if len(mine) < rules.min_providers or (rules.max_providers is not None
                                               and len(mine) > rules.max_providers):
            return False
        d = lot_demand[li]
        if d > 0:
            low, high = rules.min_share * d, rules.max_share * d
            if not low - tol * max(1, low) <= sum(mine) <= high + tol * max(1, high):
                return False
    return not target_problems(instance, awards, lot_demand, tol=tol)


def target_problems(instance: Instance, awards: Mapping[Pool, float], lot_demand: np.ndarray,
                    *, tol: float = 1e-6) -> list[str]:
    """What ``awards`` break of the design targets (DESIGN.md 9.3), one sentence each."""
    lot_ix = {lot.id: i for i, lot in enumerate(instance.lots)}
    out = []
    for target in instance.design_targets:
        lots = set(target.lots)
        mine = {k: v for k, v in awards.items() if k[1] in lots}
        count = len({p for p, _ in mine})
        if count < target.min_providers or (target.max_providers is not None
                                            and count > target.max_providers):
            top = "" if target.max_providers is None else f"-{target.max_providers}"
            out.append(f"design target {target.id}: {count} distinct block provider(s), "
                       f"outside {target.min_providers}{top}")
        d = float(sum(lot_demand[lot_ix[lid]] for lid in lots))
        if d > 0:
            low, high = target.min_block_share * d, target.max_block_share * d
            volume = sum(mine.values())
            if not low - tol * max(1, low) <= volume <= high + tol * max(1, high):
                out.append(f"design target {target.id}: block volume {volume:g} outside "
                           f"[{low:g}, {high:g}] ({target.min_block_share:g}-"
                           f"{target.max_block_share:g} of demand {d:g})")
    return out
