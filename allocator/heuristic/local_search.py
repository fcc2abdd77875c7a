"""Shift moves, screened for all pairs at once with numpy, applied one by one exactly.

A shift moves one need to another of its pairs (or to unmet). Every candidate move is
screened in one vectorised pass: its cost change, with the block funding estimated from the
holders' current state, and whether it fits the rows' current slack. The improving candidates
are then applied best first through :meth:`.state.Assignment.change`, which re-checks the rows
and funds the touched holders exactly, so a move is kept only if it truly improves.
"""

from __future__ import annotations

import time

import numpy as np

from allocator.heuristic.state import TOL, Assignment, funding


def shift(state: Assignment, *, rounds: int = 20, deadline: float | None = None) -> int:
    """Apply improving shift moves until none is left (or ``rounds`` passes, or the
    :func:`time.monotonic` ``deadline``). Returns the number of moves applied."""
    d = state.data
    applied_total = 0
    if d.n_pairs == 0:
        return 0
    for _ in range(rounds):
        if deadline is not None and time.monotonic() > deadline:
            break
        ch = state.chosen
        served = ch >= 0
        fund = funding(d, ch, state.load)
        chs = np.maximum(ch, 0)
        current = np.where(served, d.pair_cost[chs] - d.pair_price[chs] * fund, d.unmet_cost)
        # price of volume per holder: 0 while some is left, else the cheapest funded price
        left = np.maximum(d.holder_volume - state.load[d.holder_row], 0.0)
        fundable = np.nonzero(served & (d.pair_holder[chs] >= 0))[0]
        used = np.zeros(d.n_holders)
        np.add.at(used, d.pair_holder[chs[fundable]], fund[fundable])
        spare = left - used
        marginal = np.full(d.n_holders, np.inf)
        funded_pairs = chs[served & (fund > 0)]
        funded_pairs = funded_pairs[d.pair_holder[funded_pairs] >= 0]
        if len(funded_pairs):
            np.minimum.at(marginal, d.pair_holder[funded_pairs], d.pair_price[funded_pairs])
        marginal = np.where(spare > 1e-9, 0.0, np.where(np.isfinite(marginal), marginal, 0.0))
        est = np.zeros(d.n_pairs)
        h = np.nonzero(d.pair_holder >= 0)[0]
        est[h] = d.pair_q[h] * np.maximum(0.0, d.pair_price[h] - marginal[d.pair_holder[h]])
        delta = d.pair_cost - est - current[d.pair_need]
        cur = ch[d.pair_need]
        is_cur = cur == np.arange(d.n_pairs)
        # fits the slack, counting what the need's current pair frees on the same row
        slack = d.row_cap - state.load
        rows, w = d.pair_rows, d.pair_w
        has_cur = cur >= 0
        cur_rows = np.where(has_cur[:, None], rows[np.maximum(cur, 0)], -1)
        freed = np.where(cur_rows == rows, w[np.maximum(cur, 0)], 0.0)
        tol = TOL * np.maximum(1.0, np.where(np.isinf(d.row_cap), 1.0, d.row_cap))
        fits = np.all(w - freed <= slack[rows] + tol[rows], axis=1)
        cand = np.nonzero(fits & ~is_cur & (delta < -1e-9))[0]
        # moves to unmet
        unmet_delta = np.where(served, d.unmet_cost - current, 0.0)
        cand_unmet = np.nonzero(served & (unmet_delta < -1e-9))[0]
        moves_need = np.r_[d.pair_need[cand], cand_unmet]
        moves_pair = np.r_[cand, np.full(len(cand_unmet), -1)]
        gains = np.r_[delta[cand], unmet_delta[cand_unmet]]
        if len(gains) == 0:
            break
        # each need's best candidate, best first; a need whose best no longer fits is
        # screened again in the next round
        order = np.lexsort((moves_pair, gains, moves_need))
        first = order[np.r_[True, moves_need[order][1:] != moves_need[order][:-1]]]
        first = first[np.lexsort((moves_need[first], gains[first]))]
        applied = 0
        for i in first:
            if deadline is not None and applied % 256 == 0 and time.monotonic() > deadline:
                break
            if state.move(int(moves_need[i]), int(moves_pair[i]), max_delta=-1e-9) is not None:
                applied += 1
        applied_total += applied
        if applied == 0:
            break
    return applied_total


def eject(state: Assignment, *, deadline: float | None = None, max_candidates: int = 20_000,
          index: tuple[np.ndarray, np.ndarray] | None = None, prune: bool = True) -> int:
    """Ejection chains of length two: a need takes a cheaper pair whose row is full by moving
    one need that row serves elsewhere (or leaving it unmet), when the two moves together
    improve. Candidates are screened with numpy, applied exactly through
    :meth:`.state.Assignment.change`. Returns the number of chains applied.

    ``index`` is :func:`.data.row_pairs` of the data, if already at hand.

    ``prune`` (the default) skips, before their pairs are looked at, the needs ``b`` on the
    full row whose cheapest other pair cannot make the chain pay (``gain_a + cheapest other
    cost of b - cost of b's pair >= 0``), and then the pairs of ``b`` that cannot either: the
    chains found are the same, in the same order (``prune=False`` looks at every pair, for
    the test that says so). Where the start is already polished almost nothing pays, and a
    full provider row serves hundreds of needs with dozens of pairs each: on zoo-indep L-2
    the halves' polish spent 23-50 s of each 55 s epoch here, finding 36-161 chains. It also
    keeps, per full row, the pairs the row serves, and per pair whether it fits its rows'
    slack once its need leaves its own pair (both brought up to date as chains apply): a pair
    of ``b`` that does not can fit only through a row ``a``'s pair leaves, so only those are
    tested exactly. Measured on zoo-indep-M-1 (greedy, shift moves, ejection chains, shift
    moves, then this): the same 239 chains in 1.5 s against 4.3 s; on zoo-indep-L-2 stage 1's
    polish (the halves) took 17 s instead of 55 s.
    """
    from allocator.heuristic.data import row_pairs

    d = state.data
    if d.n_pairs == 0 or d.n_rows == 0:
        return 0
    rstart, rpairs = row_pairs(d) if index is None else index
    ch = state.chosen
    served = ch >= 0
    chs = np.maximum(ch, 0)
    current = np.where(served, d.pair_cost[chs], d.unmet_cost)
    delta = d.pair_cost - current[d.pair_need]
    cur = ch[d.pair_need]
    rows, w = d.pair_rows, d.pair_w
    slack = d.row_cap - state.load
    cur_rows = np.where((cur >= 0)[:, None], rows[np.maximum(cur, 0)], -1)
    freed = np.where(cur_rows == rows, w[np.maximum(cur, 0)], 0.0)
    short = w - freed - slack[rows]  # > 0: the row lacks that much
    tol = 1e-9 * np.maximum(1.0, np.where(np.isinf(d.row_cap), 1.0, d.row_cap))
    blocked = short > tol[rows]
    one = blocked.sum(axis=1) == 1
    cand = np.nonzero(one & (delta < -1e-9) & (cur != np.arange(d.n_pairs)))[0]
    if len(cand) == 0:
        return 0
    cand = cand[np.argsort(delta[cand], kind="stable")][:max_candidates]
    # each need's cheapest pair other than its own (inf if it has none): no chain moves a
    # need twice, so its own pair is the one it had here whenever it is looked at
    other = d.pair_cost.astype(float, copy=True)
    other[ch[served]] = np.inf
    counts_all = np.diff(d.need_start)
    cheapest_other = np.full(d.n_needs, np.inf)
    has = counts_all > 0
    if has.any():
        cheapest_other[has] = np.minimum.reduceat(other, d.need_start[:-1][has])
    applied = 0
    moved = np.zeros(d.n_needs, dtype=bool)
    # per full row, the pairs it serves now; a chain applied drops the rows it touched
    served_on: dict[int, np.ndarray] | None = {} if prune else None
    # per pair, whether it fits its rows' slack once its need leaves its own pair: a pair of b
    # that does not can fit only through a row a leaves (kept up to date as chains apply;
    # twice the tolerance, so that it never rules out what the exact test below admits)
    fit_alone = (short <= 2 * tol[rows]).all(axis=1)

    def refresh(pairs: np.ndarray) -> None:
        cur_p = state.chosen[d.pair_need[pairs]]
        on_rows = rows[pairs]
        same = np.where((cur_p >= 0)[:, None], rows[np.maximum(cur_p, 0)], -1) == on_rows
        fr = np.where(same, w[np.maximum(cur_p, 0)], 0.0)
        room = d.row_cap[on_rows] - state.load[on_rows]
        fit_alone[pairs] = (w[pairs] - fr - room <= 2 * tol[on_rows]).all(axis=1)
    for i, ka in enumerate(cand):
        if deadline is not None and i % 64 == 0 and time.monotonic() > deadline:
            break
        a = int(d.pair_need[ka])
        if moved[a] or state.chosen[a] == ka:
            continue
        slot = int(np.argmax(blocked[ka]))
        r = int(rows[ka, slot])
        on = None if served_on is None else served_on.get(r)
        if on is None:
            ps = rpairs[rstart[r]:rstart[r + 1]]
            on = ps[state.chosen[d.pair_need[ps]] == ps]
            if served_on is not None:
                served_on[r] = on
        on = on[(d.pair_need[on] != a) & ~moved[d.pair_need[on]]]
        if len(on) == 0:
            continue
        need_free = w[ka, slot] - (w[state.chosen[a], slot]
                                    if state.chosen[a] >= 0 and rows[state.chosen[a], slot] == r
                                    else 0.0) - (d.row_cap[r] - state.load[r])
        on = on[w[on, slot] >= need_free - tol[r]]
        if len(on) == 0:
            continue
        bs = d.pair_need[on]
        gain_a = delta[ka]
        best_gain, best = -1e-9, None
        # only the needs whose cheapest other pair could make the chain pay are expanded
        pays = (gain_a + cheapest_other[bs] - d.pair_cost[on] < best_gain) if prune \
            else np.ones(len(on), dtype=bool)
        look = np.nonzero(pays)[0]
        counts = d.need_start[bs[look] + 1] - d.need_start[bs[look]]
        alt = (np.repeat(d.need_start[bs[look]], counts) + np.arange(counts.sum())
               - np.repeat(np.cumsum(counts) - counts, counts))
        owner = np.repeat(look, counts)
        if prune:  # and of their pairs, those that could
            pay = gain_a + d.pair_cost[alt] - d.pair_cost[on[owner]] < best_gain
            alt, owner = alt[pay], owner[pay]
        if prune and len(alt):  # and of those, the ones that could fit: alone, or through
            # a row a's pair leaves (in the same slot, as free_a below counts it)
            maybe = fit_alone[alt]
            if state.chosen[a] >= 0 and not maybe.all():
                rest = np.nonzero(~maybe)[0]
                a_rows = np.where(rows[state.chosen[a]] < d.n_rows, rows[state.chosen[a]], -1)
                maybe[rest] = (rows[alt[rest]] == a_rows).any(axis=1)
            alt, owner = alt[maybe], owner[maybe]
        keep = (rows[alt] != r).all(axis=1)
        alt, owner = alt[keep], owner[keep]
        if len(alt):
            # room for b's new pair: slack, plus what b and a free, minus what a takes
            b_cur = on[owner]
            free_b = np.where(rows[b_cur] == rows[alt], w[b_cur], 0.0)
            a_cur = state.chosen[a]
            free_a = np.where(rows[a_cur] == rows[alt], w[a_cur], 0.0) if a_cur >= 0 else 0.0
            take_a = np.where(rows[ka] == rows[alt], w[ka], 0.0)
            alt_rows = rows[alt]
            room = d.row_cap[alt_rows] - state.load[alt_rows] + free_b + free_a - take_a
            fits = np.all(w[alt] <= room + tol[rows[alt]], axis=1)
            gain = gain_a + d.pair_cost[alt] - d.pair_cost[b_cur]
            ok = np.nonzero(fits & (gain < best_gain))[0]
            if len(ok):
                j = ok[np.argmin(gain[ok])]
                best_gain, best = gain[j], (int(d.pair_need[alt[j]]), int(alt[j]))
        # or leave b unmet
        unmet_gain = gain_a + d.unmet_cost[bs] - d.pair_cost[on]
        j = int(np.argmin(unmet_gain))
        if unmet_gain[j] < best_gain:
            best = (int(bs[j]), -1)
        if best is None:
            continue
        b, kb = best
        before = [int(state.chosen[a]), int(state.chosen[b])]
        if state.change(np.array([a, b]), np.array([ka, kb]), max_delta=-1e-9) is not None:
            moved[a] = moved[b] = True
            applied += 1
            if served_on is not None:
                touched = np.unique(np.concatenate([rows[k] for k in (*before, int(ka), int(kb))
                                                    if k >= 0]))
                touched = touched[touched < d.n_rows]
                for row in touched:
                    served_on.pop(int(row), None)
                lo, hi = d.need_start[[a, b]], d.need_start[[a + 1, b + 1]]
                refresh(np.unique(np.concatenate(
                    [rpairs[rstart[t]:rstart[t + 1]] for t in touched]
                    + [np.arange(lo[0], hi[0]), np.arange(lo[1], hi[1])])))
    return applied
