"""Both cores on one component: a large component searched in two halves, epoch by epoch.

Where one connected component holds most of a market (the independent generator's L markets:
one component of 1.5 million eligible pairs, which regions decline because their cut is thick,
:func:`.regional.plan`), the portfolio's two groups of components are that component and the
rest. The second core finishes the rest in seconds and then idles for the whole solve. Here it
searches the large component too:

1. *Stage 1.* One search (a child process) solves the LP relaxation of the component, rounds
   it and polishes it, with no LNS: the bound, and an answer to share out. Its PDLP has two
   threads (``SearchOptions.lp_threads``): the rest of the market is done in seconds, and the
   other core would idle until the epochs (zoo-indep-L-2: 34 s instead of 64 s). Of its two
   constructions (the LP's rounding, and people kept with their current provider) only the
   one with the lower objective is polished (``SearchOptions.polish = "best"``): each polish
   takes 25-37 s at L on one core while the other idles, and on zoo-indep L-1 and L-2 the
   construction that was better before its polish was better after it (by 80,000 and
   67,000 a week); the other is dropped. With it the epochs start 32-47 s sooner: L-1
   0.422% -> 0.408% (one run each), L-2 0.516-0.517% -> 0.490-0.495% (two runs each), at
   300 s. Leaving out the halves' own local search as well (``polish = "none"``: it found
   8-16 shift moves and 50-180 ejection chains an epoch, in 20-30 s of it) gave 0.444% and
   0.485%: it stays.
2. *Epochs.* The component's needs are cut into two halves of whole zones (:func:`bisect`:
   :func:`.regions.partition`, its couplings randomised from the second epoch on, so that the
   border moves). Each half is searched in its own child (local search on its start, then
   LNS) on :func:`residual` data: on every row the halves share, each keeps what it loads now
   plus a share of the slack (in proportion to the quantity its pairs could put there). A
   block volume is divided the same way: each half keeps what it loads and funds now, and the
   volume nobody uses is divided in proportion to use. So each half starts from its part of
   the answer, which fits; whatever either half then finds fits beside whatever the other
   finds; and the union is no worse than the two halves' objectives add up to (pooled block
   volume funds at least what the divided volume did: a fractional knapsack).
3. At the end of an epoch the halves' answers are put together and the next epoch cuts again.
   With less than ``MIN_EPOCH_S`` left, the last epoch is one search of the whole group from
   the answer so far (on zoo-indep-M-1 with the threshold lowered, stage 1 took 40 s of 60 and
   the solve had returned at 40 s with stage 1's answer, 0.234%; now 0.165%).

The bound is stage 1's, the LP of the whole component; the halves prove nothing of their own.
:func:`residual` also serves the regions' third pass on a thick cut (:mod:`.regional`), with
any number of parts.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from allocator.heuristic.data import SearchData, need_pairs, restrict
from allocator.heuristic.regions import partition, reached_rows, size_of
from allocator.heuristic.state import funding, row_loads

# A group of at least this many eligible pairs, holding at least DOMINANT of the market's
# pairs and needs, is searched in halves. On zoo-indep L (1.5 million pairs, 300 s) it took
# the gaps from 0.458% / 0.554% to 0.422% / 0.517%. On zoo-indep M (150,000 pairs, 60 s) with
# the threshold lowered it moved them both ways (M-1 0.216% -> 0.165%, M-2 0.178% -> 0.243%,
# M-3 0.204% -> 0.204%, one run each, same day): there it is left as it was.
MIN_PAIRS = 400_000
DOMINANT = 0.75
EPOCH_S = 60.0  # about this long between two cuts
MIN_EPOCH_S = 20.0  # no halves for less than this (starting two children costs seconds at L)
BALANCE = 0.55  # no half above this share of the component's pairs and needs, where zones allow
# share of an epoch a half's polish (shift moves, ejection chains) may take before its LNS:
# on zoo-indep-L-2 the first half's polish had taken 49-61 s of 64 s epochs (22-181
# neighbourhoods after it); capped, 18.5 s and 549-590 neighbourhoods, with as many chains
# (107 against 117, 186 against 170: they are found early in the scan), and the gap 0.530% ->
# 0.506% (one run each, quiet machine)
POLISH_SHARE = 0.3


def bisect(data: SearchData, rng: np.random.Generator | None = None) -> list[np.ndarray] | None:
    """The needs of ``data`` in two groups of whole zones with few shared rows (``rng``: the
    couplings randomised, for another border); None if the needs are in one zone."""
    if data.n_needs == 0 or len(np.unique(data.need_zone)) < 2:
        return None
    total = data.n_pairs + data.n_needs
    regions = partition(data, int(BALANCE * total) + 1, noise=rng)
    if len(regions) < 2:
        return None
    size = [size_of(data, g) for g in regions]
    bins: list[list[np.ndarray]] = [[], []]
    load = [0, 0]
    for i in sorted(range(len(regions)), key=lambda i: (-size[i], int(regions[i][0]))):
        b = int(np.argmin(load))
        bins[b].append(regions[i])
        load[b] += size[i]
    groups = [np.sort(np.concatenate(b)) for b in bins if b]
    if len(groups) < 2:
        return None
    return sorted(groups, key=lambda g: int(g[0]))


def residual(data: SearchData, needs: np.ndarray, chosen: np.ndarray, share: np.ndarray, *,
             keep_constant: bool) -> tuple[SearchData, np.ndarray, np.ndarray]:
    """One half's search data, beside the rest of ``chosen`` (search pairs of ``data``).

    Returns (the half's data, the ``data`` pair of each of its pairs, its part of ``chosen``
    in its own pair numbers). Rows: the half's own load under ``chosen`` plus its ``share``
    (per row of ``data``; the halves' shares add up to 1, :func:`.regions.row_shares`) of the
    row's slack. Block volumes: the half's own use (its block-only load and its funded
    quantity) plus a share of the volume nobody uses, in proportion to the use (the other
    half's share is the rest); its row is capped there too.
    """
    d = data
    needs = np.sort(np.asarray(needs, dtype=np.int64))
    chosen = np.asarray(chosen, dtype=np.int64)
    sub = restrict(d, needs, keep_constant=keep_constant)
    pairs = need_pairs(d, needs)
    rows = reached_rows(d, needs)
    inside = np.zeros(d.n_needs, dtype=bool)
    inside[needs] = True
    load_all = row_loads(d, chosen)
    load_in = row_loads(d, np.where(inside, chosen, -1))
    load_out = load_all - load_in
    cap = sub.row_cap.copy()
    slack = np.maximum(d.row_cap[rows] - load_all[rows], 0.0)
    cap[:-1] = load_in[rows] + share[rows] * slack

    funded = funding(d, chosen, load_all)
    served = chosen >= 0
    holder = np.full(d.n_needs, -1, dtype=np.int64)
    holder[served] = d.pair_holder[chosen[served]]
    has = holder >= 0
    f_in = np.bincount(holder[has & inside], weights=funded[has & inside],
                       minlength=d.n_holders)
    f_out = np.bincount(holder[has & ~inside], weights=funded[has & ~inside],
                        minlength=d.n_holders)
    hr = d.holder_row
    used_in = load_in[hr] + f_in
    used_out = load_out[hr] + f_out
    free = np.maximum(d.holder_volume - load_all[hr] - f_in - f_out, 0.0)
    both = used_in + used_out
    share = np.where(both > 0, used_in / np.where(both > 0, both, 1.0), 0.5)
    volume = used_in + free * share
    # the half's holders, in restrict's order
    holders = np.unique(np.r_[d.pair_touch[pairs], d.pair_holder[pairs]])
    holders = holders[holders >= 0]
    sub_volume = volume[holders]
    held = sub.holder_row < sub.n_rows
    cap[sub.holder_row[held]] = np.minimum(cap[sub.holder_row[held]], sub_volume[held])

    sub = replace(sub, row_cap=cap, holder_volume=sub_volume)
    return sub, pairs, lower(d, sub, needs, chosen)


def lower(data: SearchData, sub: SearchData, needs: np.ndarray,
          values: np.ndarray) -> np.ndarray:
    """Per need of the half ``sub`` (of ``needs``): the pair ``values`` gives it in ``data``,
    in the half's own pair numbers (negative values are kept as they are)."""
    needs = np.sort(np.asarray(needs, dtype=np.int64))
    mine = np.asarray(values, dtype=np.int64)[needs]
    out = mine.copy()
    on = mine >= 0
    out[on] = sub.need_start[np.flatnonzero(on)] + (mine[on] - data.need_start[needs[on]])
    return out


def lift(chosen: np.ndarray, needs: np.ndarray, pairs: np.ndarray,
         local: np.ndarray) -> None:
    """Write a half's assignment ``local`` (its own pairs) into ``chosen`` (the whole's)."""
    needs = np.sort(np.asarray(needs, dtype=np.int64))
    local = np.asarray(local, dtype=np.int64)
    out = np.full(len(needs), -1, dtype=np.int64)
    on = local >= 0
    out[on] = pairs[local[on]]
    chosen[needs] = out
