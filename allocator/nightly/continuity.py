"""Continuity of care in the model: people in care stay put, or move at most K of them.

The nightly problem is the whole book (active needs and new referrals) so that capacities, block
volumes and shares are counted exactly; on top of :func:`allocator.exact.model.build`:

* **pinned** (the default): each active need keeps its current pair only, and must be served
  (its unmet column is fixed at 0);
* **--max-moves K**: each active need may take any eligible pair but must still be served, and
  at most K of them may leave their current pair (one row: sum of x over current pairs >=
  number of active needs - K). A person in care is never dropped by a nightly run: moving is
  the most a run may suggest (seed 002: moves are what everyone fears);
* **rejected pairs** (need, provider) are removed, so they are never suggested again.

An active need whose current provider can no longer serve it under the book's rules (its pair
is not eligible any more) is *displaced*: it is treated like a new referral, and the run
suggests a move for it or reports it unmet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np

from allocator.core.problem import Problem
from allocator.exact.base import add_row
from allocator.exact.model import MatrixModel, build
from allocator.store.book import Pin


@dataclass(frozen=True, eq=False)
class NightlyModel:
    """The nightly problem (rejected pairs removed, pins applied) and its MIP.

    current_pair
        Pair index (in ``problem``) of each active need's current assignment, -1 for new
        referrals and displaced needs.
    active
        Need is in care (pinned, or moving under --max-moves).
    displaced
        Active need whose current provider has no eligible pair for it any more.
    """

    problem: Problem
    model: MatrixModel
    current_pair: np.ndarray
    active: np.ndarray
    displaced: np.ndarray
    max_moves: int | None


def restrict(problem: Problem, keep: np.ndarray) -> Problem:
    """A copy of ``problem`` with only the pairs where ``keep`` is true.

    Costs, capacities and lot demands do not depend on which pairs exist, so everything but the
    ``pair_*`` arrays is shared.
    """
    keep = np.asarray(keep, dtype=bool)
    changes = {}
    for f in fields(problem):
        if f.name.startswith("pair_"):
            a = getattr(problem, f.name)[keep]
            a.setflags(write=False)
            changes[f.name] = a
    return replace(problem, **changes)


def current_pairs(problem: Problem, pins: Mapping[str, Pin]) -> np.ndarray:
    """Pair index of each pinned need's current assignment (-1: none, or displaced).

    The recorded offer if that pair is eligible; else the current provider's best eligible
    pair (own zone first, then cheapest) - the offer may be unknown (an imported need names
    only its provider) or no longer eligible.
    """
    p = problem
    out = np.full(p.n_needs, -1, dtype=np.int64)
    order, start = p.pairs_by_need
    offer_ix = {o: i for i, o in enumerate(p.offer_ids)}
    prov_ix = {pid: i for i, pid in enumerate(p.provider_ids)}
    for n, nid in enumerate(p.need_ids):
        pin = pins.get(nid)
        if pin is None:
            continue
        ks = order[start[n]:start[n + 1]]
        if pin.offer is not None and pin.offer in offer_ix:
            hit = ks[p.pair_offer[ks] == offer_ix[pin.offer]]
            if len(hit):
                out[n] = hit[0]
                continue
        mine = ks[p.pair_provider[ks] == prov_ix.get(pin.provider, -1)]
        if len(mine):
            best = np.lexsort((p.pair_offer[mine], p.pair_cost_x[mine], ~p.pair_own_zone[mine]))
            out[n] = mine[best[0]]
    return out


def nightly_model(problem: Problem, pins: Mapping[str, Pin],
                  rejected: set[tuple[str, str]], max_moves: int | None = None
                  ) -> NightlyModel:
    """Apply pins, rejections and the move limit to the book's problem (see module docs)."""
    if max_moves is not None and max_moves < 0:
        raise ValueError(f"max_moves must be >= 0, got {max_moves}")
    p = problem
    current = current_pairs(p, pins)
    active = np.array([nid in pins for nid in p.need_ids], dtype=bool)
    displaced = active & (current < 0)
    keep = np.ones(p.n_pairs, dtype=bool)
    if rejected:
        need_ids = np.asarray(p.need_ids, dtype=object)[p.pair_need]
        prov_ids = np.asarray(p.provider_ids, dtype=object)[p.pair_provider]
        keep &= np.fromiter(((n, q) not in rejected for n, q in zip(need_ids, prov_ids,
                                                                     strict=True)),
                            dtype=bool, count=p.n_pairs)
    is_current = np.zeros(p.n_pairs, dtype=bool)
    is_current[current[current >= 0]] = True
    keep |= is_current  # a broker's rejection never takes a person away from their carer
    held = active & ~displaced
    if max_moves is None:
        keep &= ~held[p.pair_need] | is_current
    restricted = restrict(p, keep)
    new_index = np.cumsum(keep) - 1
    current_r = np.where(current >= 0, new_index[np.maximum(current, 0)], -1)

    model = build([(restricted, 1.0)])
    demand = model.demands[0]
    col_hi = model.col_hi.copy()
    col_hi[demand.u0 + np.nonzero(held)[0]] = 0.0  # people in care stay in care
    model = replace(model, col_hi=col_hi)
    if max_moves is not None and held.any():
        coeffs = np.zeros(model.n_cols)
        coeffs[demand.x0 + current_r[held]] = 1.0
        model = add_row(model, coeffs, float(held.sum()) - max_moves, np.inf)
        kind, a, b = model.row_kinds[-1]
        model = replace(model, row_kinds=model.row_kinds[:-1] + (("max moves", a, b),),
                        row_names=model.row_names[:-1] + ("max moves",)
                        if model.row_names else ())
    return NightlyModel(problem=restricted, model=model, current_pair=current_r, active=active,
                        displaced=displaced, max_moves=max_moves)


def pinned_overloads(nm: NightlyModel) -> list[str]:
    """The limits that the people kept in care already break on their own.

    A pinned book is infeasible exactly when one of these is non-empty (or a share cap binds):
    the book's capacities were lowered below what its current assignments use.
    """
    p = nm.problem
    held = nm.active & ~nm.displaced
    if nm.max_moves is not None or not held.any():
        return []
    ks = nm.current_pair[held]
    out = []
    use_o = np.bincount(p.pair_offer[ks], weights=p.pair_use[ks], minlength=p.n_offers)
    for o in np.nonzero(use_o > p.offer_capacity * (1 + 1e-9) + 1e-9)[0]:
        out.append(f"offer {p.offer_ids[o]}: people in care use {use_o[o]:g}, capacity"
                   f" {p.offer_capacity[o]:g}")
    hk = ks[p.pair_hours[ks]]
    use_p = np.bincount(p.pair_provider[hk], weights=p.pair_use[hk], minlength=p.n_providers)
    for i in np.nonzero(use_p > p.provider_capacity * (1 + 1e-9) + 1e-9)[0]:
        out.append(f"provider {p.provider_ids[i]}: people in care use {use_p[i]:g} hours,"
                   f" capacity {p.provider_capacity[i]:g}")
    fk = ks[p.pair_forced[ks] & (p.pair_holder[ks] >= 0)]
    if p.n_holders and len(fk):
        vol = np.bincount(p.pair_holder[fk], weights=p.pair_q[fk], minlength=p.n_holders)
        for h in np.nonzero(vol > p.holder_volume * (1 + 1e-9) + 1e-9)[0]:
            out.append(f"block of {p.provider_ids[p.holder_provider[h]]} in lot"
                       f" {p.lot_ids[p.holder_lot[h]]} (block-only): people in care use"
                       f" {vol[h]:g}, volume {p.holder_volume[h]:g}")
    return out
