"""Brute-force optima of DESIGN.md sections 4 and 5 for tiny instances.

The reference enumerates every assignment of needs to eligible offers (or unmet) and, for
each, pays the block funding optimally:

* Allocation (section 4): block volumes are fixed, so for a fixed assignment x the best b is
  found pool by pool, each pool (provider, lot) independently. In a ``framework=false`` lot
  every served need is paid out of the pool (b = x), so the pool is feasible iff those
  quantities fit in its volume. Otherwise b only saves money: maximise
  sum price[o] * q[n] * b[n] subject to sum q[n] * b[n] <= V, 0 <= b <= 1 -- a fractional
  knapsack whose value per unit of volume is the offer's price, so filling the volume in
  decreasing price order is exact. In a reservation lot b saves nothing.
* Design (section 5): the awards y are enumerated too, and for fixed (y, x) the volumes V and
  the funding b of every scenario form an LP, solved with :func:`scipy.optimize.linprog`.

Lexicographic objective: phase 1 is the least unmet term U1 over all feasible choices; phase 2
the least full objective among choices whose unmet term is <= U1 + 1e-6 * max(1, |U1|).

This file shares no code with the engine's model or with :mod:`allocator.core.check`: it is the
third opinion on what the optimum is.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from allocator.core.result import TERMS, Solution
from allocator.instance.schema import Instance, Need

RANK = {"less_complex": 0, "complex": 1, "highly_complex": 2}
EPS = 1e-9


@dataclass(frozen=True)
class Reference:
    """The brute-force optimum.

    objective is None when no choice is feasible; then terms and solution are empty / None.
    leaves counts the feasible assignments evaluated (summed over scenarios and awards).
    """

    objective: float | None
    terms: dict[str, float] = field(default_factory=dict)
    solution: Solution | None = None
    leaves: int = 0


@dataclass(frozen=True)
class _Option:
    """Serving one need by one offer, with everything the objective needs."""

    offer: str
    provider: str
    unit: str
    tf: float
    lot: str | None  # the lot holding the pair's cell
    pool: tuple[str, str] | None  # (provider, lot) when p holds (or may hold) a block there
    forced: bool  # the lot has framework=false: b = x
    price_saved: float  # price per unit that block funding saves (0 in a reservation lot)
    framework_full: float  # price * q
    quality_zone: float
    q: float


@dataclass(frozen=True)
class _Leaf:
    """One feasible assignment of one world (the base week or one scenario)."""

    choice: tuple[_Option | None, ...]
    unmet: float
    framework_full: float
    quality_zone: float
    transfer: float


def _lot_of(instance: Instance, zone: str, service: str, complexity: str):
    for lot in instance.lots:
        if zone in lot.zones and service in lot.services and complexity in lot.complexities:
            return lot
    return None


def _world_needs(instance: Instance) -> list[tuple[str | None, float, list[Need]]]:
    """(scenario id or None, weight, needs) for each world the recourse is paid in."""
    if not instance.scenarios:
        return [(None, 1.0, list(instance.needs))]
    worlds = []
    for s in instance.scenarios:
        if s.needs is not None:
            needs = list(s.needs)
        else:
            m = 1.0 if s.demand_multiplier is None else s.demand_multiplier
            needs = [
                n.model_copy(update={"quantity": n.quantity * m}) if n.kind == "package" else n
                for n in instance.needs
            ]
        worlds.append((s.id, s.weight, needs))
    return worlds


def _demand(instance: Instance, needs: list[Need]) -> dict[str, float]:
    d = {lot.id: 0.0 for lot in instance.lots}
    for n in needs:
        lot = _lot_of(instance, n.zone, n.service, n.complexity)
        if lot is not None:
            d[lot.id] += n.quantity
    return d


def _options(instance: Instance, need: Need, pools: set[tuple[str, str]]) -> list[_Option]:
    """The offers that may serve ``need`` given the block pools that may exist."""
    policy = instance.policy
    quality = {p.id: p.quality for p in instance.providers}
    unit = "hours" if need.kind == "package" else "beds"
    zones = need.acceptable_zones or [need.zone]
    found = []
    for o in instance.offers:
        key = o.id if o.id is not None else o.scheme if o.scheme is not None else (
            f"{o.provider}/{o.zone}/{o.service}")
        if o.zone not in zones or o.service != need.service or o.unit != unit:
            continue
        if RANK[need.complexity] > RANK[o.max_complexity]:
            continue
        if o.care_groups and need.care_group not in o.care_groups:
            continue
        if quality[o.provider] < policy.min_framework_quality:
            continue
        lot = _lot_of(instance, o.zone, need.service, need.complexity)
        if lot is not None and quality[o.provider] < lot.min_quality:
            continue  # DESIGN.md 9.2: below the lot's quality threshold, no work in its cells
        pool = None if lot is None else (o.provider, lot.id)
        forced = lot is not None and not lot.framework
        if forced and pool not in pools:
            continue  # only block volume may serve this lot, and p holds none there
        q = need.quantity
        per_unit = policy.quality_weight * (100 - quality[o.provider]) / 100
        if o.zone != need.zone:
            per_unit += policy.out_of_zone_penalty
        found.append(_Option(
            offer=key, provider=o.provider, unit=o.unit, tf=o.travel_factor,
            lot=None if lot is None else lot.id,
            pool=pool if pool in pools else None,
            forced=forced,
            price_saved=0.0 if (lot is not None and lot.reservation) else o.price,
            framework_full=o.price * q, quality_zone=per_unit * q, q=q,
        ))
    return found


def _enumerate(
    instance: Instance,
    needs: list[Need],
    pools: set[tuple[str, str]],
    forced_cap: dict[tuple[str, str], float],
) -> list[_Leaf]:
    """Every assignment meeting the capacity, share and forced-block limits."""
    policy = instance.policy
    offer_cap = {}
    for o in instance.offers:
        key = o.id if o.id is not None else o.scheme if o.scheme is not None else (
            f"{o.provider}/{o.zone}/{o.service}")
        # DESIGN.md 9.1: an if_awarded offer exists only while its provider holds a block
        # (in force or awarded, i.e. a pool) in that lot
        exists = o.if_awarded is None or (o.provider, o.if_awarded) in pools
        offer_cap[key] = o.capacity if exists else 0.0
    provider_cap = {p.id: p.capacity for p in instance.providers}
    share_cap: dict[str, float] = {}
    if policy.max_provider_share is not None:
        for lot_id, d in _demand(instance, needs).items():
            if d > 0:
                share_cap[lot_id] = policy.max_provider_share * d
    options = [[None, *_options(instance, n, pools)] for n in needs]

    leaves: list[_Leaf] = []
    offer_use: dict[str, float] = defaultdict(float)
    provider_use: dict[str, float] = defaultdict(float)
    share_use: dict[tuple[str, str], float] = defaultdict(float)
    forced_use: dict[tuple[str, str], float] = defaultdict(float)
    choice: list[_Option | None] = []

    def fits(used: float, cap: float) -> bool:
        return used <= cap + 1e-9 * max(1.0, cap)

    def dfs(i: int) -> None:
        if i == len(needs):
            unmet = transfer = fw = qz = 0.0
            for n, opt in zip(needs, choice, strict=True):
                if opt is None:
                    unmet += policy.unmet_penalty[n.priority] * n.quantity
                else:
                    fw += opt.framework_full
                    qz += opt.quality_zone
                if n.current_provider is not None and (
                    opt is None or opt.provider != n.current_provider
                ):
                    transfer += policy.transfer_penalty
            leaves.append(_Leaf(tuple(choice), unmet, fw, qz, transfer))
            return
        for opt in options[i]:
            if opt is None:
                choice.append(None)
                dfs(i + 1)
                choice.pop()
                continue
            use = opt.q * opt.tf
            lot_id = opt.lot
            ok = fits(offer_use[opt.offer] + use, offer_cap[opt.offer])
            cap = provider_cap[opt.provider]
            if opt.unit == "hours" and cap is not None:
                ok = ok and fits(provider_use[opt.provider] + use, cap)
            share_key = (opt.provider, lot_id) if lot_id is not None else None
            if share_key is not None and lot_id in share_cap:
                ok = ok and fits(share_use[share_key] + opt.q, share_cap[lot_id])
            if opt.forced:
                ok = ok and fits(forced_use[opt.pool] + opt.q, forced_cap[opt.pool])
            if not ok:
                continue
            offer_use[opt.offer] += use
            if opt.unit == "hours":
                provider_use[opt.provider] += use
            if share_key is not None:
                share_use[share_key] += opt.q
            if opt.forced:
                forced_use[opt.pool] += opt.q
            choice.append(opt)
            dfs(i + 1)
            choice.pop()
            offer_use[opt.offer] -= use
            if opt.unit == "hours":
                provider_use[opt.provider] -= use
            if share_key is not None:
                share_use[share_key] -= opt.q
            if opt.forced:
                forced_use[opt.pool] -= opt.q

    dfs(0)
    return leaves


def _pick(candidates: list[tuple[float, float, object]], lexicographic: bool):
    """The winning (unmet, objective, payload) under the policy's objective."""
    if not candidates:
        return None
    if not lexicographic:
        return min(candidates, key=lambda c: c[1])
    u1 = min(c[0] for c in candidates)
    limit = u1 + 1e-6 * max(1.0, abs(u1))
    return min((c for c in candidates if c[0] <= limit), key=lambda c: c[1])


# ---- section 4: allocation with fixed block volumes -----------------------------------------


def _greedy_block(leaf: _Leaf, volume: dict[tuple[str, str], float]) -> list[float]:
    """Block-funded fraction b of each need of ``leaf`` (exact, see the module docstring)."""
    b = [0.0] * len(leaf.choice)
    by_pool: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, opt in enumerate(leaf.choice):
        if opt is not None and opt.pool is not None:
            by_pool[opt.pool].append(i)
    for pool, idx in by_pool.items():
        left = volume[pool]
        if any(leaf.choice[i].forced for i in idx):
            for i in idx:
                b[i] = 1.0
            continue
        for i in sorted(idx, key=lambda i: -leaf.choice[i].price_saved):
            opt = leaf.choice[i]
            if opt.price_saved <= 0 or left <= 0:
                break
            b[i] = min(1.0, left / opt.q)
            left -= b[i] * opt.q
    return b


def brute_force_allocation(instance: Instance) -> Reference:
    """Optimum of the allocation model (section 4) by enumeration; block volumes fixed."""
    volume: dict[tuple[str, str], float] = defaultdict(float)
    block_cost = 0.0
    for c in instance.block_contracts:
        volume[(c.provider, c.lot)] += c.volume
        block_cost += c.rate * c.volume
    needs = list(instance.needs)
    leaves = _enumerate(instance, needs, set(volume), dict(volume))
    candidates = []
    for leaf in leaves:
        b = _greedy_block(leaf, volume)
        saved = sum(
            opt.price_saved * opt.q * bi for opt, bi in zip(leaf.choice, b, strict=True) if opt
        )
        total = block_cost + leaf.framework_full - saved + leaf.quality_zone + leaf.unmet
        candidates.append((leaf.unmet, total + leaf.transfer, (leaf, b, saved)))
    best = _pick(candidates, instance.policy.objective == "lexicographic")
    if best is None:  # pragma: no cover - all-unmet is always feasible here
        return Reference(objective=None, leaves=0)
    leaf, b, saved = best[2]
    terms = {
        "block": block_cost,
        "framework": leaf.framework_full - saved,
        "quality_zone": leaf.quality_zone,
        "unmet": leaf.unmet,
        "transfer": leaf.transfer,
    }
    solution = _solution_of(needs, leaf, b)
    return Reference(objective=sum(terms.values()), terms=terms, solution=solution,
                     leaves=len(leaves))


def _solution_of(needs: list[Need], leaf: _Leaf, b: list[float]) -> Solution:
    assignment = {n.id: opt.offer for n, opt in zip(needs, leaf.choice, strict=True) if opt}
    block = {
        n.id: bi * opt.q
        for n, opt, bi in zip(needs, leaf.choice, b, strict=True)
        if opt is not None and bi > 0
    }
    return Solution(assignment=assignment, block=block)


# ---- section 5: design (awards, volumes, scenarios) -----------------------------------------


def brute_force_design(instance: Instance) -> Reference:
    """Optimum of the design model (section 5) by enumeration of y and x, LP over V and b.

    Also valid on an instance without bids or scenarios (then it is section 4 solved by LP,
    a check of :func:`brute_force_allocation`), except that the per-lot design limits then
    apply to zero awards.
    """
    policy = instance.policy
    quality = {p.id: p.quality for p in instance.providers}
    lots = {lot.id: lot for lot in instance.lots}
    contract_volume: dict[tuple[str, str], float] = defaultdict(float)
    contract_cost = 0.0
    for c in instance.block_contracts:
        contract_volume[(c.provider, c.lot)] += c.volume
        contract_cost += c.rate * c.volume
    bids = []
    for bid in instance.block_bids:
        rules = lots[bid.lot].block
        if rules is not None and quality[bid.provider] < rules.min_quality:
            continue  # below the lot's quality floor: never awardable
        if quality[bid.provider] < max(lots[bid.lot].min_quality,
                                       instance.policy.min_framework_quality):
            continue  # it could do no work in the lot (9.2, clarification 5): not awardable
        bids.append(bid)
    worlds = _world_needs(instance)
    expected: dict[str, float] = defaultdict(float)
    for _, w, needs in worlds:
        for lot_id, d in _demand(instance, needs).items():
            expected[lot_id] += w * d

    candidates = []
    n_leaves = 0
    cache: dict = {}
    for y in itertools.product((0, 1), repeat=len(bids)):
        awarded = [bid for bid, on in zip(bids, y, strict=True) if on]
        if not _provider_limits_ok(instance, awarded):
            continue
        pools = set(contract_volume) | {(b.provider, b.lot) for b in awarded}
        upper = dict(contract_volume)
        for bid in awarded:
            upper[(bid.provider, bid.lot)] = upper.get((bid.provider, bid.lot), 0.0) + (
                bid.max_volume)
        fixed = contract_cost + sum(b.award_cost for b in awarded)
        # Per world: pool-content key -> unmet value -> cheapest leaf with them.
        per_world = []
        for _, _, needs in worlds:
            groups: dict[tuple, dict[float, tuple[float, _Leaf]]] = defaultdict(dict)
            for leaf in _enumerate(instance, needs, pools, upper):
                n_leaves += 1
                key = _pool_key(leaf)
                cost = leaf.framework_full + leaf.quality_zone + leaf.unmet + leaf.transfer
                best = groups[key].get(leaf.unmet)
                if best is None or cost < best[0]:
                    groups[key][leaf.unmet] = (cost, leaf)
            per_world.append(groups)
        if any(not g for g in per_world):
            continue
        for keys in itertools.product(*[list(g) for g in per_world]):
            lp = _design_lp(awarded, contract_volume, keys, [w for _, w, _ in worlds],
                            instance, expected, cache)
            if lp is None:
                continue
            lp_value, _ = lp
            for entries in itertools.product(*[list(g[k].items()) for g, k in
                                               zip(per_world, keys, strict=True)]):
                unmet = sum(w * u for (_, w, _), (u, _) in zip(worlds, entries, strict=True))
                recourse = sum(w * c for (_, w, _), (_, (c, _)) in zip(worlds, entries,
                                                                          strict=True))
                leaves = tuple(leaf for _, (_, leaf) in entries)
                candidates.append((unmet, fixed + lp_value + recourse, (awarded, keys, leaves)))

    best = _pick(candidates, policy.objective == "lexicographic")
    if best is None:
        return Reference(objective=None, leaves=n_leaves)
    awarded, keys, leaves = best[2]
    _, (volumes, fractions) = _design_lp(awarded, contract_volume, keys,
                                         [w for _, w, _ in worlds], instance, expected, cache)
    terms = dict.fromkeys(TERMS, 0.0)
    terms["block"] = contract_cost + sum(
        b.award_cost + b.rate * v for b, v in zip(awarded, volumes, strict=True))
    scenario_solutions = {}
    for (sid, w, needs), leaf, frac in zip(worlds, leaves, fractions, strict=True):
        b = _fractions_to_needs(leaf, frac)
        saved = sum(opt.price_saved * opt.q * bi for opt, bi in zip(leaf.choice, b, strict=True)
                    if opt)
        terms["framework"] += w * (leaf.framework_full - saved)
        terms["quality_zone"] += w * leaf.quality_zone
        terms["unmet"] += w * leaf.unmet
        terms["transfer"] += w * leaf.transfer
        scenario_solutions[sid] = _solution_of(needs, leaf, b)
    awards = {(b.provider, b.lot): v for b, v in zip(awarded, volumes, strict=True)}
    if instance.scenarios:
        solution = Solution(assignment={}, awards=awards, scenarios=scenario_solutions)
    else:
        base = scenario_solutions[None]
        solution = Solution(assignment=base.assignment, block=base.block, awards=awards)
    return Reference(objective=sum(terms.values()), terms=terms, solution=solution,
                     leaves=n_leaves)


def _provider_limits_ok(instance: Instance, awarded: list) -> bool:
    for target in instance.design_targets:  # DESIGN.md 9.3: distinct providers
        count = len({b.provider for b in awarded if b.lot in target.lots})
        if count < target.min_providers:
            return False
        if target.max_providers is not None and count > target.max_providers:
            return False
    for lot in instance.lots:
        if lot.block is None:
            continue
        count = sum(1 for b in awarded if b.lot == lot.id)
        if count < lot.block.min_providers:
            return False
        if lot.block.max_providers is not None and count > lot.block.max_providers:
            return False
    return True


def _pool_items(leaf: _Leaf) -> list[tuple[tuple, int]]:
    """(sort key, need position) of every need of ``leaf`` served by a block pool."""
    items = []
    for i, opt in enumerate(leaf.choice):
        if opt is not None and opt.pool is not None:
            items.append(((opt.pool, opt.forced, opt.price_saved, opt.q), i))
    items.sort()
    return items


def _pool_key(leaf: _Leaf) -> tuple:
    return tuple(k for k, _ in _pool_items(leaf))


def _fractions_to_needs(leaf: _Leaf, frac: list[float]) -> list[float]:
    b = [0.0] * len(leaf.choice)
    for (_, i), f in zip(_pool_items(leaf), frac, strict=True):
        b[i] = f
    return b


def _design_lp(awarded, contract_volume, keys, weights, instance, expected, cache):
    """min rate.V - sum_s w_s price.q.b over V, b given (y, x); None when infeasible.

    Returns (value, (V per awarded bid, per world the b of each pool item in key order)),
    where value includes the (negative) savings of forced items. The LP separates by lot
    (pools, volumes and share rows each belong to one lot), so it is solved lot by lot and
    each lot's piece is cached.
    """
    lots = {lot.id: lot for lot in instance.lots}
    involved = {b.lot for b in awarded}
    involved |= {item[0][1] for key in keys for item in key}
    involved |= {lot.id for lot in instance.lots if lot.block is not None}
    # A design target's share row (DESIGN.md 9.3) couples its lots: they are solved together.
    target_shares = []
    for target in instance.design_targets:
        d = sum(expected.get(lot_id, 0.0) for lot_id in target.lots)
        if d > 0:
            target_shares.append((frozenset(target.lots), target.min_block_share * d,
                                  target.max_block_share * d))
            involved |= set(target.lots)
    groups = _lot_groups(sorted(involved), [t[0] for t in target_shares])
    value = 0.0
    volumes = [0.0] * len(awarded)
    fractions = [[0.0] * len(key) for key in keys]
    for group in groups:
        js = [j for j, b in enumerate(awarded) if b.lot in group]
        bids = tuple((awarded[j].provider, awarded[j].lot, awarded[j].rate,
                      awarded[j].min_volume, awarded[j].max_volume) for j in js)
        positions = [[i for i, item in enumerate(key) if item[0][1] in group] for key in keys]
        items = tuple(tuple(key[i] for i in pos) for key, pos in zip(keys, positions,
                                                                       strict=True))
        shares = []
        for lot_id in group:
            rules = lots[lot_id].block
            d = expected.get(lot_id, 0.0)
            if rules is not None and d > 0:
                shares.append((frozenset([lot_id]), rules.min_share * d, rules.max_share * d))
        shares += [t for t in target_shares if t[0] <= group]
        pools = {item[0] for world in items for item in world} | {
            (b[0], b[1]) for b in bids}
        volume = tuple(sorted((pool, contract_volume.get(pool, 0.0)) for pool in pools))
        sub_key = (group, bids, items, tuple(weights), tuple(shares), volume)
        if sub_key not in cache:
            cache[sub_key] = _lot_lp(bids, items, weights, dict(volume), shares)
        piece = cache[sub_key]
        if piece is None:
            return None
        sub_value, sub_volumes, sub_fractions = piece
        value += sub_value
        for j, v in zip(js, sub_volumes, strict=True):
            volumes[j] = v
        for w, pos in enumerate(positions):
            for i, f in zip(pos, sub_fractions[w], strict=True):
                fractions[w][i] = f
    return value, (volumes, fractions)


def _lot_groups(lot_ids: list[str], linked: list[frozenset]) -> list[frozenset]:
    """The lots in groups that no design target's share row crosses."""
    groups = [frozenset([lot_id]) for lot_id in lot_ids]
    for link in linked:
        touching = [g for g in groups if g & link]
        merged = frozenset().union(*touching) | link
        groups = [g for g in groups if not g & link] + [merged]
    return sorted(groups, key=sorted)


def _lot_lp(bids, items, weights, contract_volume, shares):
    """The piece of the design LP for one group of lots (see :func:`_design_lp`).

    ``bids`` are (provider, lot, rate, min_volume, max_volume); ``shares`` are
    (lots, low, high): low <= sum of V over the awarded bids in those lots <= high.
    """
    cols_c: list[float] = [rate for _, _, rate, _, _ in bids]
    bounds: list[tuple[float, float]] = [(low, high) for _, _, _, low, high in bids]
    bid_col = {(provider, lot): j for j, (provider, lot, _, _, _) in enumerate(bids)}
    rows: list[dict[int, float]] = []
    rhs: list[float] = []
    constant = 0.0
    layout: list[list[int | None]] = []  # per world, per item: column, None (forced), -1 (b=0)
    for w, world in zip(weights, items, strict=True):
        cols: list[int | None] = []
        by_pool: dict[tuple[str, str], dict[int, float]] = {}
        forced_q: dict[tuple[str, str], float] = defaultdict(float)
        for pool, forced, price, q in world:
            by_pool.setdefault(pool, {})
            if forced:
                forced_q[pool] += q
                constant -= w * price * q
                cols.append(None)
                continue
            if price <= 0:
                cols.append(-1)  # nothing to save: b = 0 is optimal
                continue
            col = len(cols_c)
            cols_c.append(-w * price * q)
            bounds.append((0.0, 1.0))
            by_pool[pool][col] = q
            cols.append(col)
        layout.append(cols)
        for pool, entries in by_pool.items():
            row = dict(entries)
            if pool in bid_col:
                row[bid_col[pool]] = -1.0
            rows.append(row)
            rhs.append(contract_volume.get(pool, 0.0) - forced_q[pool])
    for lots, low, high in shares:
        members = [j for j, bid in enumerate(bids) if bid[1] in lots]
        rows.append({j: 1.0 for j in members})
        rhs.append(high)
        rows.append({j: -1.0 for j in members})
        rhs.append(-low)
    if not cols_c:
        if any(r < -1e-9 * max(1.0, abs(r)) for r in rhs):
            return None
        return constant, [], [[1.0 if c is None else 0.0 for c in cols] for cols in layout]
    a = np.zeros((len(rows), len(cols_c)))
    for i, row in enumerate(rows):
        for j, v in row.items():
            a[i, j] = v
    res = linprog(np.array(cols_c), A_ub=a if rows else None,
                  b_ub=np.array(rhs) if rows else None, bounds=bounds, method="highs")
    if res.status == 2:
        return None
    if res.status != 0:  # pragma: no cover - a bounded tiny LP either solves or is infeasible
        raise RuntimeError(f"reference LP failed: {res.message}")
    x = res.x
    fractions = [[1.0 if c is None else 0.0 if c < 0 else float(x[c]) for c in cols]
                 for cols in layout]
    return constant + float(res.fun), [float(v) for v in x[: len(bids)]], fractions


def brute_force(instance: Instance) -> Reference:
    """The optimum of ``instance``: design model when it has bids or scenarios, else section 4."""
    if instance.block_bids or instance.scenarios:
        return brute_force_design(instance)
    return brute_force_allocation(instance)
