"""Regions: cutting a component too big for one search into pieces that one search carries.

At regional scale (DESIGN.md section 7, XL: 600,000 needs in 800 zones) the providers that
work across a county boundary chain every zone into one connected component, so the split into
components (:func:`.data.components`) leaves one piece of about six million eligible pairs:
too big for the simplex method, and too big for LNS to sweep in the time. Zones are the
natural cut: needs only reach offers in their acceptable zones, and only the rows of the
providers (and lots) that work in several zones couple zones.

:func:`partition`
    groups whole zones into regions of at most ``max_pairs`` eligible pairs, greedily merging
    the most strongly coupled zones first (Kruskal's algorithm with a size cap; the coupling
    of two zones is the number of eligible pairs the rows they share would lose by the cut),
    so that counties stay whole and few rows are cut.
:func:`region_data`
    the search data of one region. A row the cut leaves in several regions (a provider's
    capacity, a block volume, a share limit) is *split*: each region gets a share of its
    capacity (:func:`row_shares`: in proportion to the quantity its eligible pairs could put
    on the row; :func:`split_by_use`: in proportion to what it would use). The
    regions' assignments then fit together (the shares add up to the capacity), so their
    union is feasible, and pooled block volumes can only fund more than the shares did.
:func:`split_by_use`
    the shares themselves, from the LP relaxation of each region with the *whole* capacity
    of its rows: each region gets what its LP solution puts on a cut row, scaled down where
    the regions together want more than there is.

The bound: giving every region the whole capacity of every row it reaches relaxes the
problem (the weights are non-negative, so whatever the whole problem's assignment puts on a
row, each region's part of it fits), so the regions' LP bounds with whole capacities add up
to a valid bound. Measured at scale L cut into 5 regions (40 cut rows of 5,139) the sum is
0.001% below the LP relaxation of the whole. Split by eligible quantity alone, the regions'
LPs summed 0.54% above the LP of the whole; split by the LP's use, the regions' searches
ended 0.15% above it (300 s).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from allocator.heuristic.data import SearchData, need_pairs, restrict, row_pairs

STAR_ABOVE = 12  # rows over more zones than this couple each zone to the row's largest only


def _row_entries(data: SearchData) -> tuple[np.ndarray, np.ndarray]:
    """(row, pair) of every pair on every row (a fundable pair counts on its holder's row)."""
    start, pairs = row_pairs(data)
    rows = np.repeat(np.arange(data.n_rows, dtype=np.int64), np.diff(start))
    return rows, pairs


def partition(data: SearchData, max_pairs: int,
              noise: np.random.Generator | None = None) -> list[np.ndarray]:
    """Needs grouped by whole zones into regions of at most ``max_pairs`` eligible pairs (a
    single zone above it is a region of its own). Regions are sorted by their first need.
    ``noise``: the zones' couplings are multiplied by random factors (log-normal, sigma 0.5)
    drawn from it, for another cut of about the same quality."""
    zone = np.asarray(data.need_zone, dtype=np.int64)
    if data.n_needs == 0:
        return []
    n_zones = int(zone.max()) + 1
    size = np.bincount(zone[data.pair_need], minlength=n_zones) + \
        np.bincount(zone, minlength=n_zones)
    # coupling of zones: for each row, the pairs of each zone on it
    rows, pairs = _row_entries(data)
    key = rows * n_zones + zone[data.pair_need[pairs]]
    uniq, count = np.unique(key, return_counts=True)
    r_of, z_of = uniq // n_zones, uniq % n_zones
    bounds = np.r_[0, np.nonzero(np.diff(r_of))[0] + 1, len(r_of)]
    weight: dict[tuple[int, int], float] = {}
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b - a < 2:
            continue
        zs, cs = z_of[a:b].tolist(), count[a:b].tolist()
        if len(zs) > STAR_ABOVE:
            hub = int(np.argmax(cs))
            links = [(hub, j) for j in range(len(zs)) if j != hub]
        else:
            links = [(i, j) for i in range(len(zs)) for j in range(i + 1, len(zs))]
        for i, j in links:
            e = (zs[i], zs[j]) if zs[i] < zs[j] else (zs[j], zs[i])
            weight[e] = weight.get(e, 0.0) + min(cs[i], cs[j])
    if noise is not None:
        factor = noise.lognormal(0.0, 0.5, size=len(weight))
        weight = {e: w * f for (e, w), f in zip(weight.items(), factor, strict=True)}
    # Kruskal with a size cap
    parent = np.arange(n_zones)
    total = size.astype(np.int64).copy()

    def find(z: int) -> int:
        while parent[z] != z:
            parent[z] = parent[parent[z]]
            z = parent[z]
        return int(z)

    for (a, b), _w in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0])):
        ra, rb = find(a), find(b)
        if ra != rb and total[ra] + total[rb] <= max_pairs:
            parent[rb] = ra
            total[ra] += total[rb]
    roots = np.array([find(z) for z in range(n_zones)])
    # pack the clusters into regions (largest first, into the fullest region it fits)
    clusters = np.unique(roots)
    loads: list[int] = []
    region_of_cluster = {}
    for c in sorted(clusters.tolist(), key=lambda c: (-int(total[c]), c)):
        fits = [i for i, load in enumerate(loads) if load + int(total[c]) <= max_pairs]
        if fits:
            i = max(fits, key=lambda i: loads[i])
            loads[i] += int(total[c])
        else:
            i = len(loads)
            loads.append(int(total[c]))
        region_of_cluster[c] = i
    region_of_zone = np.array([region_of_cluster[int(r)] for r in roots], dtype=np.int64)
    label = region_of_zone[zone]
    regions = [np.nonzero(label == i)[0] for i in range(len(loads))]
    regions = [g for g in regions if len(g)]
    return sorted(regions, key=lambda g: int(g[0]))


def size_of(data: SearchData, needs: np.ndarray) -> int:
    """Eligible pairs plus needs of ``needs``: the measure of a region's size and its share of
    the time."""
    needs = np.asarray(needs, dtype=np.int64)
    return int((data.need_start[needs + 1] - data.need_start[needs]).sum()) + len(needs)


def reached_rows(data: SearchData, needs: np.ndarray) -> np.ndarray:
    """The rows :func:`.data.restrict` keeps for ``needs``, in its order (its row i is the
    whole problem's row ``reached_rows(...)[i]``)."""
    d = data
    pairs = need_pairs(d, np.sort(np.asarray(needs, dtype=np.int64)))
    slot = d.pair_rows[pairs]
    holders = np.unique(np.r_[d.pair_touch[pairs], d.pair_holder[pairs]])
    holders = holders[holders >= 0]
    rows = np.unique(np.r_[slot[slot < d.n_rows].astype(np.int64), d.holder_row[holders]])
    return rows[rows < d.n_rows]


def row_shares(data: SearchData, regions: list[np.ndarray]) -> np.ndarray:
    """(n_regions, n_rows): the quantity each region's eligible pairs could put on each row,
    as a share of the whole (rows no region reaches: equal shares)."""
    label = np.full(data.n_needs, -1, dtype=np.int64)
    for i, g in enumerate(regions):
        label[g] = i
    rows, pairs = _row_entries(data)
    reg = label[data.pair_need[pairs]]
    weight = np.zeros((len(regions), data.n_rows))
    np.add.at(weight, (reg, rows), data.pair_q[pairs])
    tot = weight.sum(axis=0)
    share = np.where(tot > 0, weight / np.where(tot > 0, tot, 1.0), 1.0 / max(1, len(regions)))
    return share


def region_data(data: SearchData, needs: np.ndarray, share: np.ndarray, *,
                keep_constant: bool) -> tuple[SearchData, np.ndarray]:
    """The search data of one region with its shares of the cut rows (``share``: this
    region's row of :func:`row_shares`), and the whole problem's number of each of its rows."""
    sub = restrict(data, needs, keep_constant=keep_constant)
    rows = reached_rows(data, needs)
    cap = sub.row_cap.copy()
    cap[:-1] = data.row_cap[rows] * share[rows]
    volume = sub.holder_volume.copy()
    held = sub.holder_row < sub.n_rows
    volume[held] = volume[held] * share[rows[sub.holder_row[held]]]
    return replace(sub, row_cap=cap, holder_volume=volume), rows


def split_by_use(data: SearchData, region_rows: list[np.ndarray],
                 loads: list[np.ndarray | None], eligible: np.ndarray) -> np.ndarray:
    """(n_regions, n_rows): each region's share of every row from what the region would put
    on it with the whole capacity to itself (``loads``: its LP solution's load on each of its
    rows, None if unknown). Where the regions together want no more than the capacity, each
    gets what it wants and the slack is shared as ``eligible`` (:func:`row_shares`) shares
    it; where they want more, each gets its proportion of the wants. Rows without wants are
    shared as ``eligible``."""
    want = np.zeros((len(region_rows), data.n_rows))
    for i, (rows, load) in enumerate(zip(region_rows, loads, strict=True)):
        if load is not None:
            want[i, rows] = np.maximum(0.0, load[:len(rows)])
    cap = data.row_cap[:-1]
    total = want.sum(axis=0)
    finite = np.isfinite(cap) & (cap > 0)
    slack = np.where(finite, np.maximum(0.0, cap - total), 0.0)
    under = finite & (total <= cap)
    share = eligible.copy()
    c = np.where(finite, cap, 1.0)
    share[:, under] = (want[:, under] + eligible[:, under] * slack[under]) / c[under]
    over = finite & (total > cap) & (total > 0)
    share[:, over] = want[:, over] / total[over]
    return share
