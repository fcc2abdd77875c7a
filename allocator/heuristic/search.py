"""The search driver: relax, round, improve, then large neighbourhood search.

1. A regret greedy on the plain costs gives a first feasible assignment at once (or, where it
   is better, the construction that keeps people in care with their current provider first,
   :func:`.construct.keep_current`).
2. The LP relaxation, component by component (:mod:`.relaxation`), within a share of the time.
   Its row prices give the bound ``L(lambda)`` and its solution is rounded (needs it serves
   wholly keep their pair, the rest are placed by regret on reduced costs).
   Where the LP is too big or does not finish, the Lagrangian subgradient method
   (:mod:`.lagrangian`), warm-started from whatever prices the LP gave, takes over: every few
   dozen steps the regret greedy is rebuilt on its reduced costs.
3. Shift local search (:mod:`.local_search`) on every construction; the best is kept.
4. LNS (:mod:`.lns`): neighbourhoods from :mod:`.neighbourhoods` (seeded at tight rows, unmet
   needs and needs that disagree with the LP) are re-optimised by CP-SAT and kept when no
   worse (exact evaluation). Many cheap sub-solves beat a few thorough ones: each gets a
   small work limit, and their size adapts (larger after sub-problems solved to optimality,
   smaller after ones that hit the limit). When the needs have been covered a few times
   without improvement, the work limit triples.

It stops at the deadline, when ``stop()`` says so, when the gap to the bound is closed, or
when the search has stalled at its largest work limit (or a neighbourhood covering every
need was solved to optimality). Every random choice comes from the
seed and sub-problems stop at work limits, not wall time, so the sequence of assignments is a
function of the data and the seed; only where the deadline or ``stop`` cut the run short (or
the LP ran out of time) does the result depend on the machine's speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from allocator.heuristic.construct import first_assignment, keep_current, regret_greedy
from allocator.heuristic.data import SearchData, components, row_pairs
from allocator.heuristic.lagrangian import Subgradient, dual_value, reduced_costs
from allocator.heuristic.local_search import eject, shift
from allocator.heuristic.state import Assignment

Report = Callable[[str, dict], None]


@dataclass(frozen=True)
class SearchOptions:
    """Tuning of one search (the defaults suit S to XL)."""

    seed: int = 0
    gap: float = 1e-7  # stop once (objective - bound) <= gap * |objective|
    lp: bool = True  # solve the LP relaxation (per component)
    lp_share: float = 0.5  # of the time, at most, for the LP
    lp_max_pairs: int = 400_000  # larger components go to PDLP (first-order LP)
    # PDLP's threads: 2 in stage 1 of the halves (.halves), where the other core would idle;
    # on zoo-indep L-2's component (1.56 million columns) 34 s instead of 64 s
    lp_threads: int = 1
    lagrangian_share: float = 0.2  # of the time, at most, for the subgradient method
    lagrangian_steps: int = 600
    greedy_every: int = 50  # subgradient steps between constructions
    size: int = 30  # initial neighbourhood size (needs)
    min_size: int = 8
    max_size: int = 400
    effort: float = 0.05  # work limit per neighbourhood (see lns.solve_neighbourhood) ...
    max_effort: float = 1.5  # ... tripled whenever the search stalls, up to this
    backend: str = "cp-sat"
    stall: float = 3.0  # coverings of the needs without improvement that count as a stall
    lns: bool = True
    bounds: bool = True  # False: no LP and no Lagrangian (a half of :mod:`.halves`)
    # Shift moves and ejection chains on each construction (and on a start) before the LNS:
    # "all"; "best", after the LP only the construction whose own objective is lower (stage
    # 1 of :mod:`.halves`, where each polish takes 25-37 s on one core); "none", none.
    polish: Literal["all", "best", "none"] = "all"
    # share of the time left that a polish may take (the halves' epochs: the rest is LNS's)
    polish_share: float = 1.0


@dataclass
class SearchOutcome:
    """The best assignment (search pairs), its search objective, the proven bound (search
    units; -inf if none), how the bound was obtained, and counters."""

    chosen: np.ndarray
    objective: float
    bound: float
    bound_method: str
    stats: dict = field(default_factory=dict)
    guide: np.ndarray | None = None  # per need: the LP's pair (see _lp_guide), if solved


def _noop(kind: str, info: dict) -> None:
    return None


def search(data: SearchData, *, deadline: float, options: SearchOptions | None = None,
           report: Report | None = None, stop: Callable[[], bool] | None = None,
           start: np.ndarray | None = None,
           guide: np.ndarray | None = None) -> SearchOutcome:
    """Run the search until ``deadline`` (a :func:`time.monotonic` instant) at the latest.

    Parameters
    ----------
    data
        The search data.
    deadline
        When to return at the latest.
    options
        Tuning; the seed is there.
    report
        Called with ("solution", {"t", "objective", "chosen"}) on every improvement and
        ("bound", {"t", "bound", "method"}) on every better bound.
    stop
        Polled between steps; True ends the search early.
    start
        An assignment to start from (search pairs), instead of the greedy construction.
    guide
        Per need, the pair an LP solution gives it wholly (-1 unmet, -2 neither), for the
        LNS to look where the answer differs, where this search solves no LP of its own.
    """
    opts = options or SearchOptions()
    report = report or _noop
    stop = stop or (lambda: False)
    t0 = time.monotonic()
    rng = np.random.default_rng(opts.seed)
    stats: dict = {"lagrangian_steps": 0, "constructions": 0, "shift_moves": 0,
                   "neighbourhoods": 0, "lns_improvements": 0}

    def left() -> float:
        return deadline - time.monotonic()

    first = Assignment(data, first_assignment(data) if start is None else start)
    if not first.feasible:  # a start that does not fit: construct instead
        first = Assignment(data, first_assignment(data))
    best_obj = first.objective
    best_chosen = first.chosen.copy()
    report("solution", {"t": time.monotonic(), "objective": best_obj, "chosen": best_chosen})
    bound, method = -np.inf, "none"

    def offer(candidate: Assignment) -> None:
        nonlocal best_obj, best_chosen
        if candidate.objective < best_obj - 1e-9 * max(1.0, abs(best_obj)):
            best_obj = candidate.objective
            best_chosen = candidate.chosen.copy()
            report("solution", {"t": time.monotonic(), "objective": best_obj,
                                "chosen": best_chosen})

    def better_bound(value: float, how: str) -> None:
        nonlocal bound, method
        if value > bound:
            bound, method = value, how
            report("bound", {"t": time.monotonic(), "bound": bound, "method": method})

    def closed() -> bool:
        return best_obj - bound <= opts.gap * max(1.0, abs(best_obj))

    index: list[tuple[np.ndarray, np.ndarray]] = []  # rows' pairs, built once when needed

    def row_index() -> tuple[np.ndarray, np.ndarray]:
        if not index:
            index.append(row_pairs(data))
        return index[0]

    def polish(chosen: np.ndarray) -> None:
        t = time.monotonic()
        cand = Assignment(data, chosen)
        if opts.polish != "none":
            improve(cand, min(deadline, t + opts.polish_share * max(0.0, deadline - t)), stats,
                    index=row_index())
            stats["polish_s"] = round(stats.get("polish_s", 0.0) + time.monotonic() - t, 3)
        stats["constructions"] += 1
        offer(cand)

    # ---- 2. LP relaxation per component
    n_comp, labels = components(data)
    stats["components"] = n_comp
    lam = np.zeros(data.n_rows + 1)
    relax = None
    if opts.lp and opts.bounds and data.n_pairs and not stop():
        from allocator.heuristic.relaxation import round_relaxation, solve_relaxation

        relax = solve_relaxation(data, labels, n_comp,
                                 deadline=time.monotonic() + opts.lp_share * max(0.0, left()),
                                 max_pairs=opts.lp_max_pairs, threads=opts.lp_threads)
        stats["lp_components"] = f"{relax.solved_components}/{relax.components}"
        stats["lp_s"] = round(relax.runtime_s, 3)
        if np.isfinite(relax.value):
            stats["lp_value"] = relax.value  # the LP optimum (search units)
        if relax.solved_components:
            lam = relax.lam
            value, _, _ = dual_value(data, lam)
            if relax.split:
                better_bound(value, "lagrangian (LP prices, PDLP on the largest components)")
            else:
                better_bound(value, "lp" if relax.solved.all() else "lp+lagrangian")
            rc = reduced_costs(data, lam)
            built = [round_relaxation(data, relax, rc)]
            if data.pair_current.any():  # people in care stay unless the prices say move
                built.append(keep_current(data, rc=rc))
            if opts.polish == "best" and len(built) > 1:
                # on zoo-indep L-2 the rounding was 15.68 M before its polish, 13.68 M after
                # (37 s); keeping people in care 16.92 M and 13.75 M (35 s)
                objectives = [Assignment(data, c).objective for c in built]
                built = [built[int(np.argmin(objectives))]]
            for chosen in built:
                polish(chosen)
            guide = _lp_guide(data, relax)

    # ---- Lagrangian where the LP did not settle every component
    if (relax is None or not relax.solved.all()) and opts.bounds and data.n_pairs \
            and not stop():
        sg = Subgradient(data, lam=lam)
        lag_deadline = time.monotonic() + opts.lagrangian_share * max(0.0, left())
        while (sg.iterations < opts.lagrangian_steps and not sg.converged
               and time.monotonic() < lag_deadline and not stop() and not closed()):
            b = sg.run(opts.greedy_every, best_obj, deadline=lag_deadline)
            better_bound(b, "lagrangian" if relax is None or not relax.solved_components
                         else "lagrangian (from LP prices)")
            polish(regret_greedy(data, rc=reduced_costs(data, sg.best_lam)))
        stats["lagrangian_steps"] = sg.iterations
    elif data.n_pairs == 0 and opts.bounds:
        better_bound(best_obj, "trivial")  # nothing can be served: the only assignment

    # ---- 3. local search on the first construction, if nothing else was built
    if stats["constructions"] == 0 and opts.polish != "none" and not closed():
        polish(best_chosen)

    # ---- 4. LNS
    if opts.lns and data.n_pairs and not stop() and left() > 0 and not closed():
        cur = Assignment(data, best_chosen)
        prices = None
        if relax is not None and relax.solved.all() and not relax.split:
            prices = (relax.lam, labels, n_comp)
        stats["lns_from_s"] = round(time.monotonic() - t0, 3)
        _lns(cur, deadline=deadline, opts=opts, rng=rng, stats=stats, offer=offer, stop=stop,
             closed=closed, guide=guide, index=row_index(), prices=prices)
    stats["runtime_s"] = round(time.monotonic() - t0, 3)
    return SearchOutcome(chosen=best_chosen.copy(), objective=best_obj, bound=bound,
                         bound_method=method, stats=stats, guide=guide)


def improve(state: Assignment, deadline: float, stats: dict,
            index: tuple[np.ndarray, np.ndarray] | None = None) -> bool:
    """Shift moves and ejection chains until neither helps; whether anything improved."""
    any_move = False
    for _ in range(5):
        moves = shift(state, deadline=deadline)
        chains = eject(state, deadline=deadline, index=index)
        stats["shift_moves"] += moves
        stats["ejection_chains"] = stats.get("ejection_chains", 0) + chains
        any_move |= bool(moves or chains)
        if not chains or time.monotonic() > deadline:
            break
    return any_move


def _lp_guide(data: SearchData, relax) -> np.ndarray:
    """Per need: the pair the LP gives it wholly, -1 if the LP leaves it wholly unmet, -2 if
    the LP splits it or its component was not solved."""
    guide = np.full(data.n_needs, -2, dtype=np.int64)
    whole = np.nonzero(relax.x >= 1.0 - 1e-6)[0]
    guide[data.pair_need[whole]] = whole
    served = np.zeros(data.n_needs)
    np.add.at(served, data.pair_need, relax.x)
    guide[(served <= 1e-6) & relax.solved] = -1
    return guide


# Components whose part of the objective already meets their part of the LP bound get no
# neighbourhood, where the rows are few enough for Neighbourhoods to filter them all (it looks
# at 2,000 candidate rows at most once restricted). On zoo-blockonly-S the search group of 760
# pairs holds a component of 31 needs that the LP's rounding solves and one of 151 needs
# whose LP is 28 below its optimum: restricted to the second, the group's search ended on
# average 32.4 above its LP bound against 38.3 (16 seeds, 8.5 s, alone on a core).
SOLVED_MAX_ROWS = 2_000


def component_parts(cur: Assignment, lam: np.ndarray, labels: np.ndarray, n_comp: int,
                    index: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per component: (its part of ``cur``'s objective, its part of ``L(lam)``). Each sums,
    with the constant, to the whole; and a component's part of ``L(lam)`` bounds its part of
    every assignment's objective (``lam >= 0``): its rows never touch another's needs.

    A need's part is its pair's cost (or its unmet cost), a holder's part minus its block
    saving, a row's part of the bound ``-lam_r cap_r``.
    """
    from allocator.heuristic.lagrangian import cheapest, reduced_costs

    d = cur.data
    start, pairs = index
    row_comp = np.full(d.n_rows + 1, -1, dtype=np.int64)
    has = start[1:d.n_rows + 1] > start[:d.n_rows]
    row_comp[np.flatnonzero(has)] = labels[d.pair_need[pairs[start[:d.n_rows][has]]]]
    _, value = cheapest(d, reduced_costs(d, lam))
    rows = np.flatnonzero(row_comp[:d.n_rows] >= 0)
    bound = (np.bincount(labels, weights=value, minlength=n_comp)
             - np.bincount(row_comp[rows], weights=lam[rows] * d.row_cap[rows],
                           minlength=n_comp))
    ch = cur.chosen
    served = ch >= 0
    part = d.unmet_cost.astype(float).copy()
    part[served] = d.pair_cost[ch[served]]
    own = row_comp[d.holder_row]
    kept = own >= 0
    objective = (np.bincount(labels, weights=part, minlength=n_comp)
                 - np.bincount(own[kept], weights=cur.saving[kept], minlength=n_comp))
    return objective, bound


def solved_components(cur: Assignment, lam: np.ndarray, labels: np.ndarray, n_comp: int,
                      index: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Per component: its part of ``cur``'s objective is within a rounding of its part of
    ``L(lam)`` (:func:`component_parts`), so nothing better exists there."""
    objective, bound = component_parts(cur, lam, labels, n_comp, index)
    tol = 1e-7 * np.maximum(1.0, np.abs(objective)) + 1e-6
    return objective - bound <= tol


def _lns(cur: Assignment, *, deadline: float, opts: SearchOptions, rng: np.random.Generator,
         stats: dict, offer: Callable[[Assignment], None], stop: Callable[[], bool],
         closed: Callable[[], bool], guide: np.ndarray | None,
         index: tuple[np.ndarray, np.ndarray],
         prices: tuple[np.ndarray, np.ndarray, int] | None = None) -> None:
    """``prices`` (LP row prices, component labels, count): neighbourhoods only in the
    components not yet solved (:func:`solved_components`), where the rows allow it."""
    from allocator.heuristic.lns import solve_neighbourhood
    from allocator.heuristic.neighbourhoods import Neighbourhoods

    data = cur.data
    if prices is not None and (data.n_rows > SOLVED_MAX_ROWS or prices[2] < 2):
        prices = None
    open_needs = data.n_needs

    def restrict() -> Neighbourhoods | None:
        """Neighbourhoods in the components not yet solved; None once all are."""
        nonlocal open_needs
        if prices is None:
            return Neighbourhoods(data, rng, guide=guide, index=index)
        lam, labels, n_comp = prices
        solved = solved_components(cur, lam, labels, n_comp, index)
        if solved.all():
            return None
        keep = np.flatnonzero(~solved[labels])
        open_needs = len(keep)
        stats["solved_components"] = int(solved.sum())
        return Neighbourhoods(data, rng, needs=None if not solved.any() else keep,
                              guide=guide, index=index)

    hoods = restrict()
    if hoods is None:
        return
    size = min(opts.size, data.n_needs)
    effort = opts.effort
    refresh_every = max(50, data.n_pairs // 20_000)  # a refresh costs O(pairs)
    since = 0.0  # coverings of the needs since the last improvement
    while time.monotonic() < deadline and not stop():
        needs = hoods.draw(cur, size)
        if len(needs) == 0:
            break
        stats["neighbourhoods"] += 1
        seed = int(rng.integers(2**31 - 1))
        res = solve_neighbourhood(cur, needs, effort=effort, seed=seed,
                                  backend=opts.backend, deadline=deadline)
        improved = False
        if res.new is not None:
            before = cur.objective
            delta = cur.change(needs, res.new, max_delta=1e-9 * max(1.0, abs(before)))
            if delta is not None and delta < -1e-9 * max(1.0, abs(before)):
                improved = True
                stats["lns_improvements"] += 1
                if stats["lns_improvements"] % refresh_every == 0:
                    cur.refresh()  # drop the rounding drift of incremental updates
                offer(cur)
                if prices is not None:  # a component may be solved now
                    nxt = restrict()
                    if nxt is None:
                        break
                    if nxt.allowed is not None and (hoods.allowed is None or not np.array_equal(
                            nxt.allowed, hoods.allowed)):
                        nxt.count = hoods.count
                        hoods = nxt
        if res.status == "optimal":
            if len(needs) >= open_needs and not improved:
                break  # every component not yet solved is: nothing left to find
            size = min(opts.max_size, data.n_needs, int(size * 1.1) + 1)
        else:
            size = max(opts.min_size, int(size * 0.85))
        since = 0.0 if improved else since + len(needs) / max(1, open_needs)
        if since >= opts.stall:
            # stalled: local moves first (cheap), then more work per neighbourhood
            if improve(cur, deadline, stats, index=index):
                offer(cur)
                since = 0.0
                continue
            if effort >= opts.max_effort:
                break
            effort, since = min(opts.max_effort, 3 * effort), 0.0
        if closed():
            break
