"""The LP relaxation inside the search: per component, with OR-Tools (bundled HiGHS).

Its row prices are the best Lagrangian multipliers there are (:mod:`.lagrangian`: the
Lagrangian dual equals the LP), and its solution is what the construction rounds: needs the LP
serves wholly keep that pair, the few it splits are placed greedily. The bound reported is
recomputed from the prices, ``L(lambda)`` of :func:`.lagrangian.dual_value`, which is a valid
lower bound for any prices whatever the LP solver's tolerances.

Components (:func:`.data.components`) share no row, so each is solved on its own, smallest
first, within the time given; a component left unsolved keeps zero prices (its part of the
bound is then weaker, never wrong) and no LP solution.

A component too big for the simplex method in reasonable time (a region whose providers
chain hundreds of zones together) goes to PDLP, OR-Tools' first-order LP method, which scales
with the number of nonzeros: it answers within a relative tolerance, so its value is not a
proof, but its prices are multipliers like any others and ``L(lambda)`` is the proven bound.
(Cutting such a component into regions of zones and giving each region the whole capacity of
the rows it shares is a valid relaxation too, but measured 3% weaker at scale L.) Rounding
keeps the pairs an LP answer takes (almost) wholly, and releases the needs on any row an
approximate answer overfills.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocator.heuristic.data import SearchData
from allocator.heuristic.lp import lp_model, merged_lp_model, unmerge


@dataclass(frozen=True)
class Relaxation:
    """The LP answer over the components solved in time."""

    x: np.ndarray  # LP value per pair (0 in unsolved components)
    lam: np.ndarray  # row prices (n_rows + 1; 0 on unsolved components' rows)
    solved: np.ndarray  # per need: its component's LP was solved
    value: float  # sum of the LP values (a bound, search units); -inf unless all exact
    split: bool  # some component was solved approximately (PDLP)
    components: int
    solved_components: int
    runtime_s: float


def solve_relaxation(data: SearchData, labels: np.ndarray, n_components: int, *,
                     deadline: float, max_pairs: int = 1_000_000, tolerance: float = 1e-4,
                     threads: int = 1) -> Relaxation:
    """Solve the LP of each component until ``deadline`` (a :func:`time.monotonic` instant).

    Components with more than ``max_pairs`` eligible pairs go to PDLP with a relative
    ``tolerance`` (see the module docstring), on ``threads`` threads (the simplex method on
    the others always has one).
    """
    from allocator.heuristic.mathopt import solve_matrix

    t0 = time.monotonic()
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_components + 1))
    pair_count = np.bincount(labels[data.pair_need], minlength=n_components)
    x = np.zeros(data.n_pairs)
    lam = np.zeros(data.n_rows + 1)
    solved = np.zeros(data.n_needs, dtype=bool)
    value = 0.0
    done = 0
    free = None  # each need's cheapest option, rows ignored (components without rows)
    split = False
    exact = True  # every component's LP was solved exactly: value is a bound
    for comp in np.argsort(pair_count, kind="stable"):
        left = deadline - time.monotonic()
        needs = order[bounds[comp]:bounds[comp + 1]]
        if left <= 0.05:
            exact = False
            continue
        approximate = bool(pair_count[comp] > max_pairs)
        # PDLP gets the LP with the needs of one type merged (the same LP, fewer columns:
        # 19.6 s instead of 36.5 s on zoo-indep-L-2's component); the simplex method the LP
        # as it is: its vertex is what the rounding and the LNS's guide read, and on
        # zoo-indep-M-2 the merged LP's vertex led the search to 0.255% at 60 s against
        # 0.167% (twice each, the same minutes)
        types = None
        if approximate:
            model, types, used = merged_lp_model(data, needs)
        else:
            model, pairs, used = lp_model(data, needs)
        if len(used) == 0:  # nothing binds: every need takes its cheapest option
            ans_x = None
        else:
            ans = solve_matrix(model.c, model.A, model.row_hi, model.col_hi,
                               offset=model.offset, time_limit=left,
                               solver="pdlp" if approximate else "highs", tolerance=tolerance,
                               threads=threads if approximate else None)
            if ans.x is None or ans.row_dual is None or (ans.status != "optimal"
                                                         and not approximate):
                exact = False
                continue
            if types is None:
                ans_x = np.clip(ans.x[:len(pairs)], 0.0, 1.0)
                n_t = len(needs)
            else:
                pairs, ans_x = unmerge(data, types, ans.x)
                n_t = len(types.reps)
            lam[used] = np.maximum(0.0, -ans.row_dual[n_t:n_t + len(used)])
            if approximate:
                split, exact = True, False
            else:
                value += float(ans.objective or 0.0)
        if ans_x is None:
            if free is None:
                from allocator.heuristic.lagrangian import cheapest, reduced_costs

                free = cheapest(data, reduced_costs(data, np.zeros(data.n_rows + 1)))
            on = free[0][needs]
            x[on[on >= 0]] = 1.0
            value += float(free[1][needs].sum())
        else:
            x[pairs] = ans_x
        solved[needs] = True
        done += 1
    return Relaxation(x=x, lam=lam, solved=solved,
                      value=value + data.constant if exact else -np.inf, split=split,
                      components=n_components, solved_components=done,
                      runtime_s=time.monotonic() - t0)


def round_relaxation(data: SearchData, relax: Relaxation, rc: np.ndarray) -> np.ndarray:
    """A feasible assignment from the LP: needs the LP serves wholly by one pair keep it; the
    rest (split by the LP, or in unsolved components) are placed by the regret greedy on
    ``rc``."""
    from allocator.heuristic.construct import regret_greedy
    from allocator.heuristic.state import row_loads

    # whole: x = 1 at an exact vertex, within PDLP's tolerance otherwise (one per need)
    whole = np.nonzero(relax.x >= (0.99 if relax.split else 1.0 - 1e-6))[0]
    chosen = np.full(data.n_needs, -1, dtype=np.int64)
    chosen[data.pair_need[whole]] = whole
    load = row_loads(data, chosen)
    cap = data.row_cap
    over = load[:-1] > cap[:-1] + 1e-9 * np.maximum(1.0, cap[:-1])
    if over.any():  # LP tolerances: release the needs on overfull rows
        bad = np.isin(data.pair_rows[np.maximum(chosen, 0)], np.nonzero(over)[0]).any(axis=1)
        chosen[bad & (chosen >= 0)] = -1
        load = row_loads(data, chosen)
    # needs the LP leaves wholly unmet stay candidates too: capacity may be left for them
    rest = np.nonzero(chosen < 0)[0]
    return regret_greedy(data, rc=rc, load=load, needs=rest, chosen=chosen)
