"""Regional scale: the search region by region, two at a time, with one bound for the whole.

Used by :mod:`allocator.heuristic.portfolio` above :data:`REGION_MAX_PAIRS` eligible pairs plus
needs (scales L and XL; at XL the cross-county providers chain 800 zones into one component of six
million pairs, too big for one LP and for LNS to sweep in the time). Measured at L (60,000
needs, 784,000 pairs, 300 s), five regions ended 0.15% above their bound where the two
searches over whole components ended 0.26% above theirs. Only where the cut is thin
(:func:`plan`): on a grid of zones with providers across them, regions share most rows, and
there the whole is searched instead.
:func:`allocator.heuristic.regions.partition` cuts the needs along zone boundaries into
regions of a few counties, and two passes run in child processes, two at once (one per core):

1. **Bound and wants.** The LP relaxation of each region with the *whole* capacity of every
   row it reaches. The regions' bounds add up to a valid bound for the whole problem (see
   :mod:`allocator.heuristic.regions`), and each LP solution says how much of every cut row
   the region would use.
2. **Search.** Each cut row's capacity is split in proportion to those wants
   (:func:`~allocator.heuristic.regions.split_by_use`) and each region is searched on its own
   (:mod:`allocator.heuristic.search`: LP, rounding, local search, LNS) within a time in
   proportion to its eligible pairs. The shares add up to the capacities, so the regions'
   assignments together are feasible; they are evaluated exactly. Where the cut is thick
   (above :data:`THICK_CUT`) this pass is replaced by the whole market's greedy and pass 3
   (see :data:`THICK_CUT`).

What is lost against one search of the whole: a region cannot borrow what another leaves
unused on a cut row. Pass 1 takes at most :data:`LP_SHARE` of the time; regions whose LP is
not finished by then keep the row-free bound and share their cut rows by eligible quantity.

**On a cluster** (``SolveParams.dask``, ``allocator solve --dask tcp://HOST:PORT``): both
passes submit every region at once to a ``dask.distributed`` scheduler instead of running two
local children. Each task runs the very job a local child would (:func:`.worker.run_to_end`,
in a child of the dask worker) with the same time budget, the budget of a region being its
size's share of the time times the cluster's worker threads (all the time left when there are
at least as many threads as regions). The parent combines the answers exactly as locally, so
a region whose search ends by itself (gap closed, or stalled at its largest work limit) gives
the same answer on the cluster as here; only searches cut by their deadline depend on the
machine they ran on. Where the cut is thick, pass 1 is one PDLP solve of the whole market's LP
(:func:`_whole_prices`), which runs on this machine whether or not there is a cluster.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from allocator.core.evaluate import evaluate, to_solution
from allocator.core.problem import Problem
from allocator.core.progress import report
from allocator.core.result import Result, Status
from allocator.heuristic.data import SearchData, need_pairs, to_problem_chosen
from allocator.heuristic.halves import lift
from allocator.heuristic.search import SearchOptions

REGION_MAX_PAIRS = 200_000  # eligible pairs plus needs: above, the search goes by regions
LP_SHARE = 0.25  # of the time, at most, for pass 1
SLOTS = 2  # child processes at once (one per core)
MIN_JOB_S = 2.0  # no child is started with less time than this left (set when a child's
# start and end took about a second each; its end now takes milliseconds, see .worker)
MIN_REGION_S = 20.0  # regions only with at least this many seconds per region of the size


def worth_it(n_pairs_and_needs: int, time_limit: float) -> bool:
    """Whether to go by regions: above :data:`REGION_MAX_PAIRS`, and with the time for it
    (every region starts two child processes, one for its LP and one for its search;
    measured on a small two-county market cut into five regions, when each child still lost
    a second at its end, 3-6 s left three of them to the greedy, 25% above the searches over
    whole components)."""
    if n_pairs_and_needs <= REGION_MAX_PAIRS:
        return False
    regions = -(-n_pairs_and_needs // REGION_MAX_PAIRS)
    return time_limit >= MIN_REGION_S * regions


# A cut is worth making only where it is thin: the share of the rows' entries (pair, row) on
# rows that two regions or more reach. Our generator's L markets (counties apart) cut 2-4%
# of them; the independent L market (zones on one grid, providers across them) 81%, and
# there regions ended 18.5% above their bound where the whole search ended 0.46% above its
# own (zoo-indep-L-1, 300 s).
MAX_CUT_SHARE = 0.25
# Above this many eligible pairs the whole search is not tried whatever the cut (its LP, on
# PDLP, took 51 s at 1.55 million pairs; at XL the largest component has about six million).
WHOLE_MAX_PAIRS = 3_000_000


def cut_share(data: SearchData, groups: list[np.ndarray]) -> float:
    """The share of the rows' (pair, row) entries on rows that two regions or more reach."""
    from allocator.heuristic.regions import _row_entries

    label = np.full(data.n_needs, -1, dtype=np.int64)
    for i, g in enumerate(groups):
        label[g] = i
    rows, pairs = _row_entries(data)
    if len(rows) == 0:
        return 0.0
    reg = label[data.pair_need[pairs]]
    key = np.unique(rows * len(groups) + reg)
    reach = np.bincount(key // len(groups), minlength=data.n_rows)
    return float((reach[rows] > 1).mean())


def plan(data: SearchData, time_limit: float) -> tuple[list[np.ndarray] | None, dict]:
    """The regions to search (None: search the whole) and why, for ``Result.extra``.

    By regions when :func:`worth_it` (size and time) and the cut is thin
    (:data:`MAX_CUT_SHARE`), or whatever the cut above :data:`WHOLE_MAX_PAIRS`."""
    from allocator.heuristic.regions import partition

    if not worth_it(data.n_pairs + data.n_needs, time_limit):
        return None, {}
    groups = partition(data, REGION_MAX_PAIRS)
    if len(groups) < 2:
        return None, {}
    share = cut_share(data, groups)
    why = {"regions": len(groups), "cut_share": round(share, 4)}
    if share <= MAX_CUT_SHARE or data.n_pairs > WHOLE_MAX_PAIRS:
        return groups, why
    return None, {**why, "declined": f"the cut would split rows holding {share:.0%} of the "
                  f"entries (more than {MAX_CUT_SHARE:.0%}): the whole is searched"}


class _Region:
    def __init__(self, index: int, needs: np.ndarray, rows: np.ndarray, size: int) -> None:
        self.index = index
        self.needs = needs
        self.rows = rows  # the whole problem's row of each of the region's rows
        self.size = size  # eligible pairs plus needs: its share of the time
        self.data: SearchData | None = None  # with split capacities (pass 2)
        self.bound: float | None = None  # pass 1
        self.load: np.ndarray | None = None
        self.lam: np.ndarray | None = None  # its LP's row prices (its rows, then the dummy)
        self.lp: dict = {}
        self.objective: float | None = None  # true objective of its best answer (pass 2)
        self.chosen: np.ndarray | None = None
        self.pairs: np.ndarray | None = None  # pass 3: the whole's pair of each of its pairs
        self.stats: dict = {}


def price_bound(data: SearchData, regions: list[_Region],
                eligible: np.ndarray) -> tuple[float, str, np.ndarray] | None:
    """The Lagrangian bound of the *whole* problem at prices put together from the regions'
    LPs, how the prices were put together, and the prices (one per row); None without any
    region's prices.

    The regions' LP bounds, summed, count the capacity of every row the cut shares once per
    region (each region's LP has the whole capacity): on a thick cut that sum falls far below
    the LP of the whole (9% on zoo-indep-L-1 cut into nine regions). ``L(lambda)`` of the whole
    (:func:`.lagrangian.dual_value`) is a valid bound for any prices ``lambda >= 0`` and
    counts each capacity once. A row only one region reaches gets that region's price (its
    LP's, exact where the region holds the row alone); a shared row gets either the largest
    of the regions' prices or their mean weighted by the quantity each region's pairs could
    put on it (``eligible``): the better of the two is kept."""
    from allocator.heuristic.lagrangian import dual_value

    prices = np.zeros((len(regions), data.n_rows))
    seen = False
    for i, r in enumerate(regions):
        if r.lam is None or len(r.lam) != len(r.rows) + 1:
            continue
        prices[i, r.rows] = np.maximum(0.0, r.lam[:len(r.rows)])
        seen = True
    if not seen:
        return None
    best: tuple[float, str, np.ndarray] | None = None
    for how, lam in (("largest", prices.max(axis=0)),
                     ("mean weighted by eligible quantity", (prices * eligible).sum(axis=0))):
        value = float(dual_value(data, np.r_[lam, 0.0])[0])
        if best is None or value > best[0]:
            best = (value, "lagrangian of the whole at the regions' LP prices "
                           f"({how} on shared rows)", lam)
    return best


def _run_jobs(jobs: list[tuple[_Region, Any]], end: float, make: Any, take: Any,
              done: Any) -> None:
    """Run ``make(region, until)`` jobs two at a time, longest first, until ``end``; each
    job's deadline gives it its size's share of the time left to its slot. ``take`` gets
    every message, ``done`` the finished worker."""
    from allocator.heuristic.worker import Worker

    slots: list[list[_Region]] = [[] for _ in range(SLOTS)]
    work = np.zeros(SLOTS)
    for r, _ in sorted(jobs, key=lambda j: (-j[0].size, j[0].index)):
        s = int(np.argmin(work))
        slots[s].append(r)
        work[s] += r.size
    running: list[tuple[_Region, Worker] | None] = [None] * SLOTS

    def start(s: int) -> None:
        running[s] = None
        if not slots[s] or end - time.monotonic() < MIN_JOB_S:
            return
        r = slots[s].pop(0)
        now = time.monotonic()
        left = r.size + sum(q.size for q in slots[s])
        until = min(end, now + max(1.0, (end - now) * r.size / left))
        running[s] = (r, Worker(make(r, until)))

    def finish(r: _Region, w: Worker) -> None:
        w.stop()
        w.finish(timeout=30.0)
        for msg in w.messages():
            take(r, msg)
        done(r, w)
        w.close()

    try:
        for s in range(SLOTS):
            start(s)
        while any(running) and time.monotonic() < end:
            for s, item in enumerate(running):
                if item is None:
                    continue
                r, w = item
                for msg in w.messages(timeout=0.1):
                    take(r, msg)
                if w.outcome is not None or w.error is not None or w.eof:
                    finish(r, w)
                    start(s)
    finally:
        for item in running:  # cut short by the time (finished ones are not kept here)
            if item is not None:
                finish(*item)


class _Done:
    """What :func:`_run_jobs`' ``done`` callback reads of a finished remote job."""

    def __init__(self, outcome: dict | None) -> None:
        self.outcome = outcome


GRACE_S = 30.0  # a remote job's answer is awaited this long past its budget


def _run_jobs_dask(client: Any, jobs: list[tuple[_Region, Any]], end: float, make: Any,
                   done: Any) -> list[str]:
    """The jobs of :func:`_run_jobs` as tasks on a ``dask.distributed`` cluster.

    Every region is submitted at once; its budget is its size's share of the time left times
    the cluster's worker threads, at most all of it. Answers are taken as they come until
    ``end`` (plus a grace for the transfer); a region without an answer by then is left to
    the caller's fallback, like a local region the time did not reach. Returns the errors.
    """
    from distributed import as_completed

    from allocator.heuristic.worker import run_to_end

    now = time.monotonic()
    threads = max(1, sum(client.nthreads().values()))
    total = sum(r.size for r, _ in jobs) or 1
    futures = {}
    for r, _ in sorted(jobs, key=lambda j: (-j[0].size, j[0].index)):
        share = min(1.0, threads * r.size / total)
        until = now + max(1.0, (end - now) * share)
        job = make(r, until)
        job["budget_s"] = until - now
        del job["deadline"]
        futures[client.submit(run_to_end, job, pure=False)] = r
    errors: list[str] = []
    waiting = as_completed(list(futures), timeout=max(1.0, end - now + GRACE_S))
    try:
        for fut in waiting:
            r = futures[fut]
            try:
                done(r, _Done(fut.result()))
            except Exception as error:  # a failed region falls back, like a late one
                errors.append(f"region {r.index}: {error}")
                done(r, _Done(None))
    except TimeoutError:
        errors.append("some regions had no answer from the cluster in time")
    finally:
        for fut in futures:
            if not fut.done():
                fut.cancel()
    return errors


def solve_regions(problem: Problem, data: SearchData, params: Any, *, t0: float,
                  deadline: float, build_s: float,
                  groups: list[np.ndarray] | None = None, cut: float | None = None) -> Result:
    """Search ``data`` (the whole problem, weighted objective) region by region until
    ``deadline`` (a :func:`time.monotonic` instant, the margin for the answer already taken
    off), locally or on the ``dask.distributed`` scheduler at ``params.dask``; ``groups``:
    the regions (:func:`plan`'s), else :func:`~allocator.heuristic.regions.partition`'s;
    ``cut``: their cut share (:func:`cut_share`), computed here if not given."""
    address = getattr(params, "dask", None)
    if not address:
        return _solve_regions(problem, data, params, t0=t0, deadline=deadline,
                              build_s=build_s, client=None, groups=groups, cut=cut)
    from distributed import Client

    client = Client(address, timeout=30)
    try:
        return _solve_regions(problem, data, params, t0=t0, deadline=deadline,
                              build_s=build_s, client=client, groups=groups, cut=cut)
    finally:
        client.close()


# Where the cut is thick (cut share above THICK_CUT, only above WHOLE_MAX_PAIRS, since below
# it :func:`plan` declines such cuts), pass 2 is skipped: a capacity split strands capacity on
# the rows the regions share, and each region's sliver of them starves it. The first answer is
# the whole market's greedy (:func:`_greedy_start`), and pass 3 has the rest of the time: the
# regions are cut again along other borders (the couplings randomised) and each is searched
# beside the others' answers: its own load on every row plus a share of the slack
# (:func:`.halves.residual`), so capacity one region left unused goes to the others. Up to
# RECUT_ROUNDS rounds share the time left, each cut along other borders and started from the
# best answer so far.
THICK_CUT = 0.25
RECUT_ROUNDS = 3
# Pass 3's parts are larger than pass 2's regions (at most RECUT_MAX_PAIRS eligible pairs plus
# needs): fewer, longer searches, each free to move needs across more of the market. On
# zoo-indep-L-1 forced into regions at 150 s (one run each): parts of at most 200,000 ended at
# 14,271,443 (gap 2.65%), 400,000 at 14,186,215 (1.98%), 800,000 at 14,109,173 (1.37%); on
# zoo-indep-XL-1 at 1,800 s, 3,200,000 ended at 139,517,872 (2.74%), 1,600,000 at 139,752,560
# (2.88%) and 200,000 at 140,738,197 (3.48%) (benchmarks/results/zoo-indep-xl-recut3200.md,
# zoo-indep-xl-recut.md, zoo-indep-xl-pdlp.md), each at most 10.6 GB.
RECUT_MAX_PAIRS = 3_200_000
# On such a cut pass 1 is PDLP on the LP of the *whole* market (:func:`_whole_prices`), not
# the regions' LPs: the regions' prices made a bound 6.7% below the whole LP on zoo-indep-L-1
# forced into regions, and on zoo-indep-XL-1 the whole market's PDLP prices proved 133.5 M
# after 150 s, 135.5 M after 300 s and 136.3 M after 450 s where the regions' LPs had proved
# 128.9 M in 300 s. PDLP runs in one round (PDLP_ROUNDS) until WHOLE_LP_SHARE of the time:
# every round starts PDLP again (scaling, step sizes) from the last answer, so each restart
# loses ground (in rounds of 60 s the same XL market reached only 130.5 M by 450 s: 69.4,
# 103.7, 118.6, 129.8, 130.5 M after each), and one long round goes further: 136.97 M after
# 762 s and 137.62 M after 1,505 s in two rounds of 750 s (a diagnostic script, quiet
# machine). In the 1,800 s solve, two rounds in a quarter of the time (until 7b68c15) proved
# 135.7 M and the answer was 139,517,872 (2.74%, zoo-indep-xl-recut3200.md); one round in
# 40% of it proved 136,774,459 at 708 s, and pass 3, with about 960 s instead of 1,210 s,
# ended at 139,519,140 (1.97%, zoo-indep-xl-pdlp1.md): the start rounded from PDLP's longer
# round is better (148.8 M against 149.2 M), which makes up for the shorter search. Until
# half the time (zoo-indep-xl-pdlp1-50.md): bound 137.02 M, answer 139.61 M (0.07% dearer),
# gap 1.86%: not kept, the answer matters more than 0.1 point of gap in one run each. The
# prices of the round are a bound.
PDLP_ROUND_S = 60.0
PDLP_ROUNDS = 1
WHOLE_LP_SHARE = 0.4  # of the time, at most, for PDLP on the whole market (thick cut)
# PDLP's shards (pieces of the matrix the threads share out; 0: PDLP's default). On the XL LP,
# two threads, 100 s from the start, 64 shards ran 113 iterations and proved 131.7 M where the
# default ran 74 and proved 127.1 M (one thread: 18 iterations); but in the 1,800 s solve 64
# shards ended at bound 135.7 M and gap 3.80% against 135.8 M and 3.48% with the default
# (benchmarks/results/zoo-indep-xl-pdlp64.md), so the default stays.
PDLP_SHARDS = 0


def _recut(problem: Problem, data: SearchData, params: Any, current: np.ndarray,
           ev: Any, deadline: float, client: Any, remote_errors: list[str],
           on_better: Any = None) -> tuple[Any, dict[str, Any]]:
    """Pass 3 (see THICK_CUT), in up to RECUT_ROUNDS rounds sharing the time left, each cut
    along other borders and started from the best answer so far: returns the best evaluation
    and what each round did. ``on_better(objective)`` is called when a round improves on the
    best answer (for the solve's progress)."""
    from allocator.heuristic.halves import lift, residual
    from allocator.heuristic.regions import partition, reached_rows, row_shares, size_of

    rng = np.random.default_rng(int(params.seed))
    info: dict[str, Any] = {"objective_before": ev.objective, "rounds": []}
    best = ev
    for k in range(RECUT_ROUNDS):
        now = time.monotonic()
        if deadline - now < 2 * MIN_JOB_S:
            break
        until = now + (deadline - now) / (RECUT_ROUNDS - k)
        groups = partition(data, RECUT_MAX_PAIRS, noise=rng)
        shares = row_shares(data, groups)
        regions = []
        for i, g in enumerate(groups):
            regions.append(_Region(i, g, reached_rows(data, g), size_of(data, g)))
        options = SearchOptions(seed=int(params.seed) + 1 + k, gap=float(params.gap),
                                lp=False, bounds=False)
        start = current

        def make(r: _Region, until: float, shares: np.ndarray = shares,
                 options: SearchOptions = options, start: np.ndarray = start) -> dict:
            r.data, r.pairs, r.chosen = residual(data, r.needs, start, shares[r.index],
                                                 keep_constant=r.index == 0)
            return {"data": r.data, "start": r.chosen, "options": options, "deadline": until}

        def take(r: _Region, msg: tuple) -> None:
            if msg[0] == "solution" and msg[4] is not None:
                r.chosen = msg[4]

        def done(r: _Region, w: Any) -> None:
            if w.outcome is not None:
                r.chosen, r.stats = w.outcome["chosen"], w.outcome["stats"]

        if client is None:
            _run_jobs([(r, None) for r in regions], until, make, take, done)
        else:
            remote_errors += _run_jobs_dask(client, [(r, None) for r in regions], until, make,
                                            done)
        new = current.copy()
        searched = 0
        for r in regions:
            if r.pairs is not None and r.chosen is not None:  # else: its part of ``current``
                lift(new, r.needs, r.pairs, r.chosen)
                searched += 1
        after = evaluate(problem, to_problem_chosen(data, new))
        info["rounds"].append({
            "regions": len(regions), "searched": searched,
            "cut_share": round(float(cut_share(data, groups)), 4),
            "objective": after.objective if after.feasible else None})
        if after.feasible and after.objective < best.objective:
            best, current = after, new
            if on_better is not None:
                on_better(best.objective)
    info["objective_after"] = best.objective
    return best, info


def _split_searches(problem: Problem, data: SearchData, params: Any, regions: list[_Region],
                    share: np.ndarray, bound: float,
                    progress: list[tuple[float, float | None, float | None]], t0: float,
                    deadline: float, client: Any, remote_errors: list[str]
                    ) -> tuple[np.ndarray, Any, int]:
    """Pass 2 (a thin cut): each region searched on its share of the capacities until
    ``deadline``; returns the answer (search pairs of ``data``), its evaluation and how many
    regions the time did not reach (they get the greedy)."""
    from allocator.heuristic.construct import first_assignment
    from allocator.heuristic.regions import region_data

    options = SearchOptions(seed=int(params.seed), gap=float(params.gap))
    best_sum: list[float | None] = [None]

    def make_search(r: _Region, until: float) -> dict:
        r.data, _ = region_data(data, r.needs, share[r.index], keep_constant=r.index == 0)
        return {"data": r.data, "options": options, "deadline": until}

    def take(r: _Region, msg: tuple) -> None:
        if msg[0] != "solution":
            return
        r.objective = msg[3]
        if msg[4] is not None:
            r.chosen = msg[4]
        objectives = [q.objective for q in regions if q.objective is not None]
        if len(objectives) == len(regions):
            value = sum(objectives)
            if best_sum[0] is None or value < best_sum[0]:
                best_sum[0] = value
                # found at msg[1] in its region, summed with the others' newest: never
                # stamped before the point it follows
                progress.append((max(round(msg[1] - t0, 4), progress[-1][0]), value, bound))
                report(*progress[-1], "regions")

    def search_done(r: _Region, w: Any) -> None:
        out = w.outcome
        if out is not None:
            r.chosen, r.objective, r.stats = out["chosen"], out["true_objective"], out["stats"]

    if client is None:
        _run_jobs([(r, None) for r in regions], deadline, make_search, take, search_done)
    else:
        remote_errors += _run_jobs_dask(client, [(r, None) for r in regions], deadline,
                                        make_search, search_done)

    # ---- the answer: regions the time did not reach get the greedy, here
    current = np.full(data.n_needs, -1, dtype=np.int64)  # search pairs of data
    fallback = 0
    for r in regions:
        if r.data is None:
            r.data, _ = region_data(data, r.needs, share[r.index], keep_constant=r.index == 0)
        local = r.chosen
        if local is None:
            local = first_assignment(r.data)
            fallback += 1
        lift(current, r.needs, need_pairs(data, np.sort(r.needs)), local)
    ev = evaluate(problem, to_problem_chosen(data, current))
    return current, ev, fallback


def _whole_prices(data: SearchData, end: float, on_bound: Any
                  ) -> tuple[tuple[float, str, np.ndarray] | None, dict, np.ndarray | None]:
    """Prices for every row from PDLP on the LP of the whole market, in one child process
    (OR-Tools, two threads) until ``end``: the best Lagrangian bound of the whole at the
    prices of PDLP's rounds (:func:`.lagrangian.dual_value`, valid for any prices whether or
    not PDLP has converged), how it was got and the prices (one per row), or None when no
    round ended with prices; and what was run, for ``Result.extra``. ``on_bound(value)`` is
    called on every better bound. Also the shares PDLP's last round gives each search pair
    (None if none came), for :func:`_greedy_start` to round."""
    from allocator.heuristic.lagrangian import dual_value
    from allocator.heuristic.lp import merged_lp_model, unmerge
    from allocator.heuristic.worker import Worker

    started = time.monotonic()
    model, types, used = merged_lp_model(data)  # needs of one type merged: the same LP
    n_t = len(types.reps)
    x_cols = int((data.need_start[types.reps + 1] - data.need_start[types.reps]).sum())
    job: dict[str, Any] = {
        "kind": "pdlp", "c": model.c, "A": model.A.tocsc(), "row_hi": model.row_hi,
        "col_hi": model.col_hi, "offset": model.offset, "primal_cols": x_cols,
        "price_rows": slice(n_t, n_t + len(used)), "deadline": end,
        "round_s": max(PDLP_ROUND_S, (end - time.monotonic()) / PDLP_ROUNDS), "threads": SLOTS,
        "shards": PDLP_SHARDS}
    columns, nonzeros = model.n_cols, int(model.A.nnz)
    del model
    worker = Worker(job)
    del job
    best: tuple[float, str, np.ndarray] | None = None
    info: dict[str, Any] = {"columns": columns, "nonzeros": nonzeros, "rounds_priced": 0,
                            "need_types": n_t}
    primal: np.ndarray | None = None

    def take(msgs: list[tuple]) -> None:
        nonlocal best, primal
        for msg in msgs:
            if msg[0] != "prices":
                continue
            if len(msg) > 4 and msg[4] is not None:
                # the latest round's (the nearest PDLP came to the LP), as each need's shares
                primal = unmerge(data, types, msg[4])[1].astype(np.float32)
            lam = np.zeros(data.n_rows + 1)
            lam[used] = msg[2]
            value = float(dual_value(data, lam)[0])
            info["rounds_priced"] += 1
            if best is None or value > best[0]:
                best = (value, "lagrangian of the whole at the prices of PDLP on the whole "
                               f"market's LP ({msg[3]} iterations)", lam[:-1])
                on_bound(value)

    try:
        while time.monotonic() < end + PDLP_ROUND_S:
            take(worker.messages(timeout=0.2))
            if worker.outcome is not None or worker.error is not None or worker.eof:
                break
    finally:
        worker.stop()
        worker.finish(timeout=10.0)
        take(worker.messages())
        worker.close()
    if worker.outcome is not None:
        info.update({k: worker.outcome[k] for k in ("rounds", "iterations", "reason")})
    if worker.error is not None:
        info["error"] = worker.error.strip().splitlines()[-1]
    info["s"] = round(time.monotonic() - started, 3)
    return best, info, primal


def _greedy_start(problem: Problem, data: SearchData,
                  priced: tuple[float, str, np.ndarray] | None,
                  primal: np.ndarray | None = None) -> tuple[np.ndarray, Any, dict]:
    """The first answer where the cut is thick: the whole market's construction
    (:func:`.construct.first_assignment`: regret greedy, or people kept with their current
    provider) on its own costs and on the reduced costs at the bound's prices, and, where
    PDLP sent its answer ``primal``, that answer rounded (:func:`.construct.round_fractional`,
    the rest placed on reduced costs, and again on costs): the cheapest of them. Measured on
    ``zoo-indep-L-1`` forced into nine regions (150 s): pass 2's searches
    on split capacities came to 15,685,744 at 45% of the time; the regret greedy took 1.4 s
    and came to 15,451,221 on costs, 15,320,676 at the prices (mean on shared rows)."""
    from allocator.heuristic.construct import first_assignment, round_fractional
    from allocator.heuristic.lagrangian import reduced_costs

    started = time.monotonic()
    tried: dict[str, float] = {}
    best: tuple[np.ndarray, Any] | None = None
    best_how = ""
    options: list[tuple[str, np.ndarray | None]] = [("costs", None)]
    if priced is not None:
        options.append(("reduced costs at the bound's prices", np.r_[priced[2], 0.0]))
    if priced is not None and primal is not None:
        options.append(("PDLP's answer to the whole LP, rounded, the rest on reduced costs",
                        np.r_[priced[2], 0.0]))
        options.append(("PDLP's answer to the whole LP, rounded, the rest on costs", None))
    for how, lam in options:
        rc = None if lam is None else reduced_costs(data, lam)
        if how.startswith("PDLP") and primal is not None:
            chosen = round_fractional(data, primal, rc)
        else:
            chosen = first_assignment(data, rc)
        ev = evaluate(problem, to_problem_chosen(data, chosen))
        tried[how] = ev.objective if ev.feasible else float("inf")
        if ev.feasible and (best is None or ev.objective < best[1].objective):
            best, best_how = (chosen, ev), how
    assert best is not None  # a greedy answer always fits
    return best[0], best[1], {"start": f"the whole market's greedy on {best_how}",
                              "greedy": tried,
                              "greedy_s": round(time.monotonic() - started, 3)}


def _solve_regions(problem: Problem, data: SearchData, params: Any, *, t0: float,
                   deadline: float, build_s: float, client: Any,
                   groups: list[np.ndarray] | None = None, cut: float | None = None) -> Result:
    from allocator.heuristic.lagrangian import dual_value
    from allocator.heuristic.regions import (
        partition,
        reached_rows,
        region_data,
        row_shares,
        size_of,
        split_by_use,
    )

    progress: list[tuple[float, float | None, float | None]] = []
    if groups is None:
        groups = partition(data, REGION_MAX_PAIRS)
    regions = []
    for i, g in enumerate(groups):
        regions.append(_Region(i, g, reached_rows(data, g), size_of(data, g)))
    eligible = row_shares(data, groups)
    whole = np.ones(data.n_rows)
    if cut is None:
        cut = cut_share(data, groups)
    thick = cut > THICK_CUT
    bound = -np.inf
    bound_method = ""
    lp_end = t0 + (WHOLE_LP_SHARE if thick else LP_SHARE) * (deadline - t0)
    priced: tuple[float, str, np.ndarray] | None = None
    primal: np.ndarray | None = None
    whole_lp: dict[str, Any] = {}
    if thick:
        # ---- pass 1 on a thick cut: PDLP on the LP of the whole market
        def whole_bound(value: float) -> None:
            progress.append((round(time.monotonic() - t0, 4), None, value))
            report(*progress[-1], "regions")

        priced, whole_lp, primal = _whole_prices(data, lp_end, whole_bound)
        if priced is not None:
            bound, bound_method = priced[0], priced[1]
        else:  # no prices from PDLP: the regions' LPs in a share of the time left
            lp_end = time.monotonic() + LP_SHARE * (deadline - time.monotonic())

    # ---- pass 1: each region's LP with whole capacities: the bound and the wants
    def make_lp(r: _Region, until: float) -> dict:
        sub, _ = region_data(data, r.needs, whole, keep_constant=r.index == 0)
        return {"kind": "lp", "data": sub, "deadline": until}

    def lp_done(r: _Region, w: Any) -> None:
        out = w.outcome
        if out is not None:
            r.bound, r.load, r.lam = out["bound"], out["load"], out.get("lam")
            r.lp = {k: out[k] for k in ("solved", "exact", "lp_s")}

    remote_errors: list[str] = []
    bound_parts: list[float] = []
    if priced is None:
        if client is None:
            _run_jobs([(r, None) for r in regions], lp_end, make_lp, lambda r, m: None,
                      lp_done)
        else:
            remote_errors += _run_jobs_dask(client, [(r, None) for r in regions], lp_end,
                                            make_lp, lp_done)
        for r in regions:
            if r.bound is None:  # not reached in time: the row-free bound of the region
                sub, _ = region_data(data, r.needs, whole, keep_constant=r.index == 0)
                r.bound = float(dual_value(sub, np.zeros(sub.n_rows + 1))[0])
            bound_parts.append(r.bound)
        bound = float(sum(bound_parts))
        bound_method = "lp of each region with whole capacities (summed)"
        priced = price_bound(data, regions, eligible)
        if priced is not None and priced[0] > bound:
            bound, bound_method = priced[0], priced[1]
        progress.append((round(time.monotonic() - t0, 4), None, bound))
        report(*progress[-1], "regions")
    cut_rows = int(((eligible > 0).sum(axis=0) > 1).sum())

    fallback = 0
    start_info: dict[str, Any] = {}
    if thick:
        # ---- a thick cut: pass 2 is skipped (split capacities starve every region); the
        # first answer is the whole market's greedy or PDLP's answer rounded, and pass 3 gets
        # the time
        current, ev, start_info = _greedy_start(problem, data, priced, primal)
        progress.append((max(round(time.monotonic() - t0, 4), progress[-1][0]), ev.objective,
                         bound))
        report(*progress[-1], "regions")
    else:
        # the capacity split (pass 2 only: a thick cut never uses it)
        share = split_by_use(data, [r.rows for r in regions], [r.load for r in regions],
                             eligible)
        current, ev, fallback = _split_searches(problem, data, params, regions, share, bound,
                                                progress, t0, deadline, client, remote_errors)
    recut: dict[str, Any] = {}
    if thick and ev.feasible and deadline - time.monotonic() >= 2 * MIN_JOB_S:
        def better(objective: float) -> None:
            progress.append((max(round(time.monotonic() - t0, 4), progress[-1][0]),
                             objective, bound))
            report(*progress[-1], "regions")

        ev, recut = _recut(problem, data, params, current, ev, deadline, client, remote_errors,
                           on_better=better)
    runtime = time.monotonic() - t0
    extra = {"objective_kind": "weighted", "parts": len(regions), "regions": len(regions),
             "cut_rows": cut_rows,
             "regions_without_search": fallback,
             "region_lp": [r.lp for r in regions], "search": [r.stats for r in regions],
             "answer_from": "regions", "dask": getattr(params, "dask", None),
             "remote_errors": remote_errors,
             "bound_method": bound_method,
             "region_bounds_summed": float(sum(bound_parts)) if bound_parts else None,
             "cut_share": round(float(cut), 4)}
    if whole_lp:
        extra["whole_lp"] = whole_lp
    if start_info:
        extra["first_answer"] = start_info
    if recut:
        extra["recut"] = recut
    if not ev.feasible:
        why = "; ".join(ev.violations[:3])
        return Result(status=Status.error, solver=params.solver, runtime_s=runtime,
                      build_s=build_s, solve_s=runtime - build_s,
                      message=f"no feasible answer: {why}", extra=extra)
    objective = ev.objective
    progress.append((round(runtime, 4), objective, bound))
    report(*progress[-1], "regions")
    bound = min(bound, objective)
    closed = objective - bound <= params.gap * max(1.0, abs(objective))
    return Result(status=Status.optimal if closed else Status.feasible, solver=params.solver,
                  objective=objective, bound=bound, runtime_s=runtime, terms=ev.terms,
                  solution=to_solution(problem, ev), build_s=build_s,
                  solve_s=runtime - build_s, progress=tuple(progress), extra=extra)
