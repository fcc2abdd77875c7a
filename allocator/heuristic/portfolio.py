"""The solver portfolio behind ``--solver heuristic`` and ``--solver auto`` (the default).

``heuristic``
    The search of :mod:`allocator.heuristic` (LP relaxation per component, rounding, local
    search, LNS on OR-Tools) in child processes, with the proven bound it computes. Needs only
    meet through rows (capacities, block volumes, shares), so the connected components of the
    need-row graph are independent problems: from :data:`PARALLEL_MIN_PAIRS` eligible pairs
    they are split into two groups of whole components, balanced by eligible pairs, searched
    by two children at once (one per core); the answers, objectives and bounds add up.
    Above :data:`allocator.heuristic.regional.REGION_MAX_PAIRS` eligible pairs plus needs
    (scales L and XL), given the time for it (:func:`allocator.heuristic.regional.worth_it`:
    20 s a region) and where the cut is thin (:func:`allocator.heuristic.regional.plan`: the
    rows two regions share hold at most a quarter of the entries, or whatever the cut above
    3 million pairs), the needs are cut into regions of whole zones instead
    (:mod:`allocator.heuristic.regional`):
    the bound is the sum of the regions' LPs with whole capacities, and the rows the cut
    shares are split by what those LPs use.
``auto``
    The same searches; on instances small enough for branch and bound to move its bound
    within the time (at most :data:`MIP_MAX_PAIRS` eligible pairs: a lot, a small authority,
    the OR-Library sets) HiGHS also runs in this process on the exact model
    (:mod:`allocator.heuristic.mip`), warm-started from the searches' first answers and handed
    their newer ones while it runs. The better answer is returned with the best of the bounds
    (the searches' LP / Lagrangian bound, HiGHS's MIP bound). Measured on a county (scale M),
    HiGHS spends the minute in its root node and moves the LP bound by 0.02%: there, and
    above, ``auto`` is ``heuristic``.

Every answer is evaluated exactly (:func:`allocator.core.evaluate.evaluate`) and carries a bound, so
its gap is known; ``Result.extra["bound_method"]`` says where the bound came from (``lp``: the
LP relaxation of every component; ``lagrangian ...``: ``L(lambda)`` of
:mod:`allocator.heuristic.lagrangian` for LP prices from PDLP or the subgradient method;
``mip``: HiGHS's branch and bound; ``... (2 parts)``: summed over the parts; ``row-free ...``:
``L(0)``, each need at its cheapest pair with no capacity row, when no other bound came in the
time, so that a weighted answer always has one).
``Result.progress`` lists (seconds since the start, best objective, best bound) at every
improvement of either.

Lexicographic objective (DESIGN.md section 4, clarification 6): two true phases
(:func:`solve_lexicographic`). Phase 1 first solves the weighted problem, where the LP bound on
the unmet term alone can prove its answer's unmet term minimal; otherwise it minimises the
unmet term alone, as a weighted solve of :func:`unmet_only` with every tool above, and keeps
its proven bound on the unmet term. Phase 2 minimises the full objective among answers that
leave no more unmet than the best phase-1 answer seen: the search with the unmet penalties
scaled (:func:`allocator.heuristic.data.lexicographic_scale`), started from phase 1's answer,
and, where ``auto`` runs HiGHS, HiGHS on the exact model with the unmet cap as a row, started
from phase 1's answer too. Phase 1's answer is always a candidate. The bound is the largest of
the weighted bounds (LP, or phase 1's weighted solve) and HiGHS's bound on the capped model
(all hold for the lexicographic optimum); the answer is ``optimal`` only when the
unmet term is proven minimal too (``extra["unmet_proven"]``, ``extra["unmet_bound"]``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from allocator.core.evaluate import Evaluation, chosen_from_solution, evaluate, to_solution
from allocator.core.problem import Problem
from allocator.core.progress import report
from allocator.core.result import Result, Status
from allocator.exact.base import add_row
from allocator.heuristic import regional
from allocator.heuristic.data import (
    SearchData,
    from_problem,
    from_problem_chosen,
    restrict,
    split,
    to_problem_chosen,
)
from allocator.heuristic.search import SearchOptions

LOG = logging.getLogger("allocator.heuristic")

SOLVERS = ("heuristic", "auto")
# where the answer came from, in the words of a message (``extra["answer_from"]`` keeps the key)
ANSWER_FROM = {"search": "the other search processes'",
               "search (interrupted)": "the other search processes', interrupted",
               "mip": "HiGHS's", "phase 1": "the lexicographic solve's phase 1",
               "fallback": "a greedy construction made after the search"}
MIP_MAX_PAIRS = 20_000  # auto hands the search's answers to HiGHS up to this size
MIP_START_SHARE = 0.3  # auto starts HiGHS at the latest after this share of the time
PARALLEL_MIN_PAIRS = 2_000  # from this size, two searches on two groups of components
LP_MAX_PAIRS_MAIN = 3_000_000  # lexicographic: weighted LP bound in this process up to this
LP_CAPPED_MAX_PAIRS = 400_000  # lexicographic: the LP with the unmet cap up to this size
TIE_SHARE = 0.01  # lexicographic phase 1 beyond MIP_MAX_PAIRS: see tie_weight
WEIGHTED_FIRST_SHARE = 0.5  # lexicographic: the weighted solve first, in this share at most
WEIGHTED_UNPROVEN_SHARE = 0.6  # ... where the unmet LP does not fit (its route cannot be proven)
MIN_JOB_S = 2.0  # halves: no search child is started with less time than this left
MIN_PHASE_S = 1.0  # lexicographic: a phase with less search time than this is not started
PHASE1_SHARE_PROVEN = 0.75  # lexicographic: phase 1's share of the time left (at most half
# the limit) when the weighted answer is proven optimal: phase 2 is then solved unless phase 1
# leaves less unmet
# auto: HiGHS's thread this much nicer than the searches it shares the two cores with. On the
# S zoo (dense, sharecap, blockonly; 3 seeds each, 10 s) the mean gap went from 0.028, 0.069,
# 0.069% to 0.016, 0.031, 0.045%; HiGHS's bounds barely moved (its root does most of it)
MIP_NICE = 8
# From this many eligible pairs in a search, local search after the LP polishes only the
# better of the two constructions (the LP's rounding, people kept with their current provider;
# :class:`.search.SearchOptions` ``polish="best"``), not both: on zoo-indep M (about 140,000
# pairs) at 60 s the LNS then starts at about 25 s instead of 46 s. Below it a polish takes a
# fraction of a second and both polished answers are candidates (models/heuristic.md)
POLISH_BEST_PAIRS = 50_000
ROW_FREE = "row-free (each need at its cheapest pair, capacities ignored: no LP in the time)"
T = TypeVar("T")


def solve(problem: Problem, params: Any) -> Result:
    """Solve with the heuristic or the portfolio (``params.solver``: ``heuristic``, ``auto``).

    ``params`` is an :class:`allocator.exact.solve.SolveParams`: its time limit is the wall time of
    the whole call, its seed makes the search reproducible, its gap ends the search early.
    """
    if params.solver not in SOLVERS:
        raise ValueError(f"unknown solver {params.solver!r}; the portfolio runs "
                         f"{', '.join(SOLVERS)}")
    if problem.mode != "allocation":
        raise ValueError("the heuristic solves the allocation model (DESIGN.md section 4); "
                         "design mode goes through allocator.design with an exact solver")
    if (params.objective or problem.objective_kind) == "lexicographic":
        return solve_lexicographic(problem, params)
    return _Portfolio(problem, params).run()


def unmet_only(problem: Problem, tie: float = 0.0) -> Problem:
    """The phase-1 problem of a lexicographic solve: the same market with every cost but the
    unmet penalty multiplied by ``tie`` (prices, quality and out-of-zone weights, transfer
    penalty); with ``tie`` 0 they are zero.

    With ``tie`` 0 its objective is the unmet term plus the block term, which is a constant in
    allocation mode (contracts in force), so minimising it minimises the unmet term alone, and
    its bound minus the block term bounds the unmet term. A small ``tie`` breaks ties between
    answers that leave the same need unmet by what they cost (a phase 1 that prices nothing
    else moves people in care for no reason); its bound then bounds the unmet term only after
    :func:`tie_slack` is taken off.
    """
    inst = problem.instance
    policy = inst.policy.model_copy(update={
        "quality_weight": tie * inst.policy.quality_weight,
        "out_of_zone_penalty": tie * inst.policy.out_of_zone_penalty,
        "transfer_penalty": tie * inst.policy.transfer_penalty,
        "objective": "weighted"})
    offers = tuple(o.model_copy(update={"price": tie * o.price}) for o in inst.offers)
    return Problem.from_instance(inst.model_copy(update={"policy": policy, "offers": offers}))


def other_cost_max(problem: Problem) -> float:
    """An upper bound on every term but block and unmet, over every answer: each need at its
    dearest pair (or nothing, when that is negative) and every person in care moved."""
    dearest = np.zeros(problem.n_needs)
    np.maximum.at(dearest, problem.pair_need, problem.pair_cost_x)
    return float(dearest.sum() + problem.transfer_constant)


def unmet_lattice(problem: Problem) -> float | None:
    """The largest ``g`` of which every need's unmet penalty (penalty per unit times its
    quantity) is a whole multiple, found with at most six decimals, or None.

    The unmet term is a sum of some of those penalties, so every value it takes is a multiple
    of ``g`` too: a lower bound ``L`` on it rounds up to the next multiple of ``g``
    (:func:`round_up_to_lattice`).
    """
    unmet = problem.need_penalty * problem.need_q
    unmet = unmet[unmet > 0]
    if unmet.size == 0:
        return None
    for digits in range(7):
        scaled = unmet * 10.0 ** digits
        whole = np.rint(scaled)
        if np.all(np.abs(scaled - whole) <= 1e-12 * np.maximum(1.0, scaled)) \
                and float(whole.max()) < 2.0 ** 52:
            g = int(np.gcd.reduce(whole.astype(np.int64)))
            return g / 10.0 ** digits if g > 0 else None
    return None


def round_up_to_lattice(lower: float, lattice: float | None) -> float:
    """A lower bound on the unmet term raised to the next value that term can take: the next
    multiple of ``lattice``; ``lower`` unchanged without a lattice. A bound less than a
    thousandth of a step above a multiple is read as on it: the solvers' tolerances must not
    lift it a whole step."""
    if lattice is None or lattice <= 0:
        return lower
    return max(lower, lattice * math.ceil(lower / lattice - 1e-3))


def tie_weight(problem: Problem, lattice: float | None = None) -> float:
    """The ``tie`` of :func:`unmet_only` for a phase 1 that breaks ties by cost.

    All the other terms together, scaled by it, are worth at most ``TIE_SHARE`` of the
    smallest unmet penalty of one need: no tie-break can outweigh serving a need. Given the
    unmet term's ``lattice`` (:func:`unmet_lattice`), they are also worth at most half of it,
    so a phase-1 bound within half a step of the best unmet value, with their most taken off,
    still rounds up to that value: the tie-break costs phase 1 none of its proof.
    """
    unmet = problem.need_penalty * problem.need_q
    if not np.any(unmet > 0):
        return 0.0
    other = other_cost_max(problem)
    worth = TIE_SHARE * float(unmet[unmet > 0].min())
    if lattice is not None:
        worth = min(worth, 0.5 * lattice)
    return 0.0 if other <= 0 else worth / other


@dataclass(frozen=True)
class _Phase1:
    """What phase 1 of a lexicographic solve established."""

    evaluation: Evaluation | None  # its best answer, evaluated on the full problem
    unmet: float | None  # the unmet term of that answer
    unmet_bound: float | None  # a proven lower bound on the unmet term
    result: Result
    tie: float = 0.0  # the tie-break weight of its other costs (unmet_only)
    lattice: float | None = None  # the unmet term's step its bound was rounded up to
    route: str = "unmet"  # "weighted": the weighted solve's answer, proven minimal in unmet
    bound: float | None = None  # a weighted solve's bound (it holds for the lexicographic optimum)
    runtime_s: float | None = None  # the whole of phase 1, every solve in it


def _unmet_lp_bound(problem: Problem, time_limit: float) -> float | None:
    """The LP bound on the unmet term alone (HiGHS in this process, component by component,
    on the tightened search data), or None when it is too large or not solved in time."""
    from allocator.heuristic.data import components, oversized_pairs
    from allocator.heuristic.lp import lp_bound

    pure = unmet_only(problem)
    # the size check before the build: the search data leave out exactly the oversized pairs
    # (a second at L, where the LP is then too large anyway)
    if pure.n_pairs - int(oversized_pairs(pure).sum()) > LP_CAPPED_MAX_PAIRS:
        return None
    data = from_problem(pure)
    n_comp, labels = components(data)
    res = lp_bound(data, labels, n_comp, time_limit=max(0.05, time_limit),
                   max_pairs=LP_CAPPED_MAX_PAIRS)
    if res.bound is None or not np.isfinite(res.bound):
        return None
    return max(0.0, float(res.bound) - pure.fixed_block_cost)


def solve_lexicographic(problem: Problem, params: Any) -> Result:
    """DESIGN.md section 4 and clarification 6 with the search: two true phases.

    Phase 1 finds an answer whose unmet term is proven minimal, or as low as it can:

    * where the LP of the unmet term alone fits (:data:`LP_CAPPED_MAX_PAIRS`), its optimum,
      rounded up to the unmet lattice (:func:`unmet_lattice`), bounds the unmet term, and the
      weighted solve of the full market (every tool of the portfolio, the regions included)
      runs first, in at most :data:`WEIGHTED_FIRST_SHARE` of the time. When its answer leaves
      no more unmet than that bound, the unmet term is proven minimal and phase 1 is over: the
      weighted problem is well posed where the unmet term alone is a sea of ties, and the
      weighted bound holds for the lexicographic optimum too (it is one of the weighted
      problem's answers).
    * otherwise :func:`unmet_only` (the unmet term, ties broken by cost) is solved, started
      from the weighted answer, in at most half the time left (three quarters of it when the
      weighted answer is proven optimal: phase 2 under its unmet term is then solved
      already), never more than half the limit, with its own proven bound; the weighted
      answer is kept instead of its answer when it comes first in the lexicographic order
      (:func:`_lex_better`). Where the LP does
      not fit, the weighted solve still runs first (in :data:`WEIGHTED_UNPROVEN_SHARE` of
      the time) and only competes: at L the tie-broken search alone leaves more unmet than
      the weighted one.

    Phase 2 minimises the full objective among answers whose unmet term is at most the best
    phase-1 value (plus 1e-6 relative), starting from phase 1's answer: the search with scaled
    unmet penalties, and HiGHS on the exact model with that cap where the instance is small
    enough. Phase 1's answer is always a candidate, so the answer never leaves more unmet than
    phase 1 found.
    """
    t0 = time.monotonic()
    total = float(params.time_limit)
    # A phase 1 that prices nothing but unmet need hands phase 2 an answer with people in
    # care moved for nothing, which the time left may not undo: phase 1 breaks ties by cost.
    # Where auto runs HiGHS on the whole model, HiGHS must also prove the unmet optimum, so
    # the ties there are worth at most half a step of the unmet term (else no tie-break).
    small = params.solver == "auto" and problem.n_pairs <= MIP_MAX_PAIRS
    lattice = unmet_lattice(problem)
    lp_unmet = _unmet_lp_bound(problem, time_limit=0.1 * total)
    if lp_unmet is not None:
        lp_unmet = round_up_to_lattice(lp_unmet, lattice)
    # What one portfolio costs beyond its time limit (building the search data, starting and
    # stopping the search processes, evaluating): measured on the first solve, estimated
    # before it. The phases' limits leave it out, and a phase whose search time would be less
    # than it is not started (phase 1 first: at L it rarely leaves less unmet than the
    # weighted solve), so that a short limit is kept.
    overhead = phase_overhead(problem.n_pairs)
    weighted: tuple[Evaluation, Result] | None = None
    if WEIGHTED_FIRST_SHARE > 0:
        left = total - (time.monotonic() - t0)
        share = WEIGHTED_FIRST_SHARE if lp_unmet is not None else WEIGHTED_UNPROVEN_SHARE
        limit = max(0.05, min(share * left, left - overhead))
        started = time.monotonic()
        rw = _Portfolio(problem, params.model_copy(update={
            "objective": "weighted", "time_limit": limit})).run()
        overhead = max(overhead, time.monotonic() - started - limit)
        if rw.status.has_solution and rw.solution is not None:
            evw = evaluate(problem, chosen_from_solution(problem, rw.solution))
            if evw.feasible:
                weighted = (evw, rw)
                w_bound = None if rw.bound is None else float(rw.bound)
                if lp_unmet is not None and \
                        evw.terms["unmet"] <= lp_unmet + 1e-6 * max(1.0, lp_unmet):
                    phase1 = _Phase1(evw, evw.terms["unmet"], lp_unmet, rw, 1.0, lattice,
                                     route="weighted", bound=w_bound)
                    return _phase2(problem, params, phase1, t0, total, overhead)
                left = total - (time.monotonic() - t0)
                if (left - 2 * overhead) / 2 < max(MIN_PHASE_S, overhead):
                    # no time for a phase 1 of its own: the weighted answer stands for it
                    phase1 = _Phase1(evw, evw.terms["unmet"], lp_unmet, rw, 1.0, lattice,
                                     route="weighted only", bound=w_bound)
                    return _phase2(problem, params, phase1, t0, total, overhead)
    tie = (0.0 if lattice is None else tie_weight(problem, lattice)) if small \
        else tie_weight(problem)
    p1_problem = unmet_only(problem, tie)
    left = total - (time.monotonic() - t0)
    # Phase 1's own time, at most half the limit (DESIGN.md clarification 6). Where the
    # weighted answer is proven optimal, phase 2 under its unmet term is solved already (the
    # weighted optimum is feasible under that cap, so optimal there): phase 2 needs time only
    # if phase 1 leaves less unmet, and phase 1 gets PHASE1_SHARE_PROVEN of what is left, up
    # to that half. Otherwise the two phases share what is left.
    proven_weighted = weighted is not None and weighted[1].status == Status.optimal
    share = PHASE1_SHARE_PROVEN if proven_weighted else 0.5
    p1_limit = min(total / 2, share * (left - 2 * overhead))
    start = None if weighted is None or p1_problem.n_pairs != problem.n_pairs \
        else weighted[0].chosen
    r1 = _Portfolio(p1_problem, params.model_copy(update={
        "objective": "weighted", "time_limit": max(0.05, p1_limit)}), start=start).run()
    ev1: Evaluation | None = None
    unmet_bound = lp_unmet
    if r1.status.has_solution and r1.solution is not None:
        ev1 = evaluate(problem, chosen_from_solution(problem, r1.solution))
        ev1 = ev1 if ev1.feasible else None
        if r1.bound is not None:
            block = r1.terms.get("block", 0.0)
            # bound on (unmet + tie * other) minus block, minus the most tie * other can be
            own = max(0.0, r1.bound - block - tie * other_cost_max(problem))
            unmet_bound = own if unmet_bound is None else max(unmet_bound, own)
    if unmet_bound is not None:
        unmet_bound = round_up_to_lattice(unmet_bound, lattice)
    route = "unmet"
    if weighted is not None and (ev1 is None or _lex_better(weighted[0], ev1)):
        ev1, route = weighted[0], "unmet, weighted answer kept"
    phase1 = _Phase1(ev1, None if ev1 is None else ev1.terms["unmet"], unmet_bound, r1, tie,
                     lattice, route=route,
                     bound=None if weighted is None or weighted[1].bound is None
                     else float(weighted[1].bound))
    return _phase2(problem, params, phase1, t0, total, overhead)


def _lex_better(a: Evaluation, b: Evaluation) -> bool:
    """Whether answer ``a`` comes before ``b`` in the lexicographic order: less unmet, or the
    same unmet term (within 1e-6 relative) at a smaller full objective. Phase 1 keeps the
    weighted answer over its own on a tie in the unmet term when it costs less: on a 250-need
    market both left 5,310 unmet and phase 1's own answer cost 0.6% more, which phase 2,
    started from it, did not win back in 10 s."""
    ua, ub = a.terms["unmet"], b.terms["unmet"]
    tol = 1e-6 * max(1.0, abs(ua), abs(ub))
    return ua < ub - tol or (abs(ua - ub) <= tol and a.objective < b.objective)


def phase_overhead(n_pairs: int) -> float:
    """An estimate of what one portfolio costs beyond its search, in seconds: building the
    search data, starting and stopping the search processes, evaluating the answer. Measured
    on ``zoo-lexicographic-L`` (784,273 pairs): 2.6-3.6 s whatever the limit; about a second
    at S. A second of each was the search child's exit (it aborted at interpreter shutdown
    after waiting a second for stdin, :mod:`.worker`); without it, 0.3 s at S. The part that
    grows with the pairs keeps the L figure. A portfolio keeps it (at most a tenth of its
    limit) as its margin at the end, and the lexicographic phases' limits leave it out."""
    return 0.3 + 2.9e-6 * n_pairs


def _phase2(problem: Problem, params: Any, phase1: _Phase1, t0: float, total: float,
            overhead: float) -> Result:
    """Lexicographic phase 2 in the time left (see :func:`solve_lexicographic`); with less
    search time left than :func:`phase_overhead` and a phase-1 answer, no search starts and
    phase 1's answer is returned with what phase 1 proved."""
    elapsed = time.monotonic() - t0
    phase1 = dataclasses.replace(phase1, runtime_s=elapsed)
    limit = total - elapsed - overhead
    search = phase1.evaluation is None or limit >= max(MIN_PHASE_S, overhead)
    p2 = _Portfolio(problem, params.model_copy(update={
        "time_limit": max(0.05, limit)}), phase1=phase1, search=search)
    p2.t0 = t0  # progress and runtime count from the start of phase 1
    return p2.run()


def _niced(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a thread of its own, :data:`MIP_NICE` steps nicer on Linux
    (a thread's niceness only; elsewhere as it is), so that where HiGHS shares the cores with
    the searches the searches get most of them. Exceptions are raised here."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            if MIP_NICE and sys.platform.startswith("linux"):
                tid = threading.get_native_id()
                try:
                    now = os.getpriority(os.PRIO_PROCESS, tid)
                    os.setpriority(os.PRIO_PROCESS, tid, min(19, now + MIP_NICE))
                except OSError:  # pragma: no cover - a sandbox that forbids it: run as is
                    pass
            out["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            out["error"] = exc

    thread = threading.Thread(target=run, name="portfolio-mip", daemon=True)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]  # type: ignore[no-any-return]


def _total(values: Sequence[float | None]) -> float | None:
    """The sum of the values, or None while any of them is still None."""
    known = [float(v) for v in values if v is not None]
    return sum(known) if len(known) == len(values) else None


class _Part:
    """One group of components and the child process searching it."""

    def __init__(self, data: SearchData, needs: np.ndarray, worker: Any) -> None:
        self.data = data
        self.needs = needs  # the whole problem's need numbers, in the part's order
        self.worker = worker
        self.objective: float | None = None  # true objective of the part's best
        self.bound: float | None = None
        self.method = "none"
        self.chosen: np.ndarray | None = None  # the part's search pairs

    @property
    def done(self) -> bool:
        return self.worker.outcome is not None or self.worker.error is not None or \
            self.worker.eof


def _large(datas: list[SearchData]) -> int | None:
    """The group to search in halves (:mod:`.halves`): one that holds a large component, most
    of the market, and more than one zone; None if there is none."""
    from allocator.heuristic.halves import DOMINANT, MIN_PAIRS

    size = [d.n_pairs + d.n_needs for d in datas]
    i = int(np.argmax(size))
    d = datas[i]
    if d.n_pairs < MIN_PAIRS or size[i] < DOMINANT * sum(size) \
            or len(np.unique(d.need_zone)) < 2:
        return None
    return i


class _Twin:
    """The halves' bookkeeping: stage 1's part, the epochs' parts and what they reported."""

    def __init__(self, stage1: _Part, options: SearchOptions) -> None:
        self.stage1 = stage1
        self.options = options
        self.current: list[_Part] = [stage1]  # the parts now covering the component
        # each part's needs and pairs in stage 1's numbering (None: stage 1 itself)
        self.pairs: list[tuple[np.ndarray, np.ndarray] | None] = [None]
        self.retired: list[_Part] = []
        self.stats: list[dict] = []
        self.epochs: list[dict[str, Any]] = []
        self.guide: np.ndarray | None = None
        self.rng = np.random.default_rng(options.seed)
        self.over = False  # no further epoch


class _Portfolio:
    def __init__(self, problem: Problem, params: Any, phase1: _Phase1 | None = None,
                 search: bool = True, start: np.ndarray | None = None) -> None:
        self.problem = problem
        self.params = params
        self.phase1 = phase1  # lexicographic phase 2: what phase 1 established
        # lexicographic phase 1: the weighted answer to start the searches and HiGHS from
        # (``chosen`` in the problem's pair numbering; phase 2 starts from phase 1's answer)
        self.start = start
        # False: lexicographic phase 2 with no time to search; phase 1's answer is returned
        self.search = search or phase1 is None or phase1.evaluation is None
        self.t0 = time.monotonic()
        self.deadline = self.t0 + float(params.time_limit)
        self.lexicographic = (params.objective or problem.objective_kind) == "lexicographic"
        self.progress: list[tuple[float, float | None, float | None]] = []
        self.best_obj: float | None = None  # true objective of the best known answer
        self.bound: float | None = None
        self.bound_method = "none"
        self.parts: list[_Part] = []
        self.mip_injected = 0
        self.mip_restarted = False  # HiGHS's warm-started answer was inconsistent (.mip)
        self.regions_plan: dict[str, Any] = {}  # regional.plan's reasons, when it declined
        self.admissible: Evaluation | None = None  # lexicographic: best search answer under the cap
        self.admissible_next = 0.0  # lexicographic: when the next search answer may be evaluated
        self.twin: _Twin | None = None  # a large component searched in halves (.halves)

    # ------------------------------------------------------------------ bookkeeping

    def _note(self, at: float, objective: float | None = None, bound: float | None = None,
              method: str | None = None) -> None:
        changed = False
        objective = None if objective is None else float(objective)
        bound = None if bound is None else float(bound)
        if objective is not None and (self.best_obj is None or objective < self.best_obj):
            self.best_obj = objective
            changed = True
        if bound is not None and np.isfinite(bound) and (self.bound is None or bound > self.bound):
            self.bound = bound
            self.bound_method = method or self.bound_method
            changed = True
        if changed:
            # A part's answer carries the time its child found it, but it is read later and
            # summed with the other part's newest: the sum exists from the later of the two,
            # so a point is never stamped before the one it follows (times stay sorted).
            elapsed = round(at - self.t0, 4)
            if self.progress:
                elapsed = max(elapsed, self.progress[-1][0])
            self.progress.append((elapsed, self.best_obj, self.bound))
            report(elapsed, self.best_obj, self.bound, "portfolio")

    def _take(self, part: _Part, messages: list[tuple]) -> None:
        for msg in messages:
            if msg[0] == "solution":
                _, t, _obj, true_obj, chosen = msg
                part.objective = true_obj
                if chosen is not None:
                    part.chosen = chosen
                objective = _total([q.objective for q in self.parts])
                if objective is not None and self.lexicographic:
                    self._admissible(t)
                elif objective is not None:
                    self._note(t, objective=objective)
            elif msg[0] == "bound" and not self.lexicographic:
                _, t, value, method = msg
                part.bound, part.method = value, method
                bound = _total([q.bound for q in self.parts])
                if bound is not None:
                    self._note(t, bound=bound, method=self._method())

    def _admissible(self, t: float) -> None:
        """Lexicographic phase 2: the searches' merged answer, kept (and noted) only when it
        leaves no more unmet than the cap; the scaled search may pass through answers that
        leave more. Answers arriving while an evaluation's time is not yet paid back twenty
        times over are skipped (at L an evaluation takes a noticeable share of a core); the
        search's last answer is evaluated at the end anyway."""
        now = time.monotonic()
        if now < self.admissible_next:  # evaluations take at most a twentieth of the time
            return
        chosen = self._merged()
        cap = self._unmet_cap([])
        if chosen is None or cap is None:
            return
        ev = evaluate(self.problem, chosen)
        self.admissible_next = time.monotonic() + 20 * (time.monotonic() - now)
        if not ev.feasible or ev.terms["unmet"] > cap:
            return
        if self.admissible is None or ev.objective < self.admissible.objective:
            self.admissible = ev
            self._note(t, objective=ev.objective)

    def _method(self) -> str:
        methods = sorted({q.method for q in self.parts})
        text = " / ".join(methods)
        return text if len(self.parts) == 1 else f"{text} ({len(self.parts)} parts)"

    def _poll(self, timeout: float) -> bool:
        """Read every part's messages (waiting up to ``timeout`` in all); True once all
        parts are done."""
        each = max(0.01, timeout / max(1, len(self.parts)))
        for part in self.parts:
            if not part.done:
                self._take(part, part.worker.messages(timeout=each))
        return all(part.done for part in self.parts)

    def _closed(self) -> bool:
        return (self.best_obj is not None and self.bound is not None
                and self.best_obj - self.bound <= self.params.gap * max(1.0, abs(self.best_obj)))

    # ------------------------------------------------------------------ the run

    def run(self) -> Result:
        from allocator.heuristic.worker import Worker

        # build_s is this portfolio's own build: in lexicographic phase 2, t0 is phase 1's
        # start (runtime_s is the whole solve), and phase 1 is solving, not building
        started = time.monotonic()
        p, params = self.problem, self.params
        if not self.search:
            assert self.phase1 is not None and self.phase1.evaluation is not None
            self._note(time.monotonic(), objective=self.phase1.evaluation.objective)
            if self.phase1.bound is not None:
                self._note(time.monotonic(), bound=self.phase1.bound,
                           method="weighted solve's bound (phase 1)")
            return self._result(None, None, 0.0, "")
        data = from_problem(p, lexicographic=self.lexicographic)
        total = float(params.time_limit)
        use_mip = params.solver == "auto" and data.n_pairs <= MIP_MAX_PAIRS and (
            not self.lexicographic
            or (self.phase1 is not None and self.phase1.evaluation is not None))
        regions, why = (None, {}) if self.lexicographic else regional.plan(data, total)
        if regions is not None:
            margin = min(0.1 * total, phase_overhead(data.n_pairs))
            return regional.solve_regions(p, data, params, t0=self.t0,
                                          deadline=self.deadline - margin,
                                          build_s=time.monotonic() - started, groups=regions,
                                          cut=why["cut_share"])
        self.regions_plan = why
        groups = [np.arange(data.n_needs)]
        if data.n_pairs >= PARALLEL_MIN_PAIRS:
            groups = split(data, 2)
        datas = [data] if len(groups) == 1 else \
            [restrict(data, g, keep_constant=i == 0) for i, g in enumerate(groups)]
        build_s = time.monotonic() - started
        # keep time to evaluate and write the answer at the end
        margin = min(0.1 * total, phase_overhead(data.n_pairs))
        options = SearchOptions(seed=int(params.seed), gap=float(params.gap))
        # lexicographic phase 1 starts from the weighted answer, phase 2 from phase 1's
        start = self.start
        if self.phase1 is not None and self.phase1.evaluation is not None:
            start = self.phase1.evaluation.chosen
            self._note(time.monotonic(), objective=self.phase1.evaluation.objective)
            if self.phase1.bound is not None:
                self._note(time.monotonic(), bound=self.phase1.bound,
                           method="weighted solve's bound (phase 1)")
        # halves where HiGHS does not take this process's time (use_mip) and a search has one
        # objective (not lexicographic phase 2)
        large = None if self.lexicographic or self.phase1 is not None or use_mip \
            else _large(datas)
        for i, (part_data, needs) in enumerate(zip(datas, groups, strict=True)):
            job = {"data": part_data, "deadline": self.deadline - margin,
                   "options": dataclasses.replace(options, polish="best")
                   if part_data.n_pairs >= POLISH_BEST_PAIRS else options}
            if start is not None:
                job["start"] = from_problem_chosen(part_data, start[needs])
            if i == large:  # stage 1 of the halves: LP, rounding and polish, no LNS; PDLP
                # on both cores (the rest of the market is done in seconds: the other core
                # would idle until the epochs)
                job["options"] = dataclasses.replace(options, lns=False, polish="best",
                                                     lp_threads=2)
                job["want_guide"] = True
            self.parts.append(_Part(part_data, needs, Worker(job)))
            if i == large:
                self.twin = _Twin(self.parts[-1], options)
        mip: tuple[Evaluation, float | None, str] | None = None
        error = ""
        try:
            if self.lexicographic and not self._capped_bound(until=self.deadline - margin):
                self._weighted_bound(from_problem(p), until=self.deadline - margin)
            if use_mip:
                mip = self._mip_after_search(margin)
            while time.monotonic() < self.deadline - margin and not self._closed():
                done = self._poll(timeout=0.2)
                tw = self.twin
                if tw is not None and not tw.over and all(q.done for q in tw.current):
                    if self._epoch(self.deadline - margin):
                        continue
                    tw.over = True
                if done:
                    break
        finally:
            if self.twin is not None:
                for part in self.twin.retired:
                    part.worker.close()
            for part in self.parts:
                part.worker.stop()
            for part in self.parts:
                part.worker.finish(timeout=max(5.0, 0.05 * total))
                self._take(part, part.worker.messages())
                if part.worker.outcome is None:
                    error = part.worker.error or part.worker.why_no_answer()
                part.worker.close()
        return self._result(data, mip, build_s, error)

    def _epoch(self, end: float) -> bool:
        """Halves (:mod:`.halves`): put the large component's answer together (stage 1's, or
        the last epoch's halves'), cut it again and start the next epoch's two searches; False
        when there is no time for a search, or no answer to share out.

        With less than ``MIN_EPOCH_S`` left (or no cut along zones), the last epoch is one
        search of the whole component from the answer so far, so that the time is not lost."""
        from allocator.heuristic.halves import (
            EPOCH_S,
            MIN_EPOCH_S,
            POLISH_SHARE,
            bisect,
            lift,
            lower,
            residual,
        )
        from allocator.heuristic.regions import row_shares
        from allocator.heuristic.worker import Worker

        tw = self.twin
        assert tw is not None
        now = time.monotonic()
        whole = tw.stage1.data
        if end - now < max(MIN_JOB_S, 2 * phase_overhead(whole.n_pairs)):
            return False
        chosen = np.full(whole.n_needs, -1, dtype=np.int64)
        for part, where in zip(tw.current, tw.pairs, strict=True):
            out = part.worker.outcome
            local = out["chosen"] if out is not None else part.chosen
            if local is None:
                return False
            if where is None:  # stage 1: the whole component
                chosen = np.asarray(local, dtype=np.int64)
                if out is not None and np.isfinite(out["bound"]):
                    part.bound, part.method = float(out["bound"]), out["bound_method"]
            else:
                lift(chosen, where[0], where[1], local)
            if out is not None:
                tw.stats.append(out["stats"])
                if out.get("guide") is not None:
                    tw.guide = out["guide"]
        if tw.epochs:
            tw.epochs[-1]["objective"] = _total([q.objective for q in tw.current])
            tw.epochs[-1]["search"] = [None if q.worker.outcome is None
                                       else q.worker.outcome["stats"] for q in tw.current]
        groups = None if end - now < MIN_EPOCH_S else \
            bisect(whole, None if not tw.epochs else tw.rng)
        if groups is None:
            groups = [np.arange(whole.n_needs)]
        for part in tw.current:
            part.worker.finish(timeout=5.0)
            tw.retired.append(part)
            self.parts.remove(part)
        n = 1 if len(groups) == 1 else max(1, round((end - now) / EPOCH_S))
        until = now + (end - now) / n
        k = len(tw.epochs)
        tw.current, tw.pairs = [], []
        shares = row_shares(whole, groups)
        for j, g in enumerate(groups):
            sub, pairs, start = residual(whole, g, chosen, shares[j], keep_constant=j == 0)
            job = {"data": sub, "start": start, "deadline": until,
                   # each half first runs the local search (shift moves, ejection chains)
                   # on its start, then LNS: measured at L, that beat LNS alone (.halves)
                   "options": dataclasses.replace(tw.options, lp=False, bounds=False,
                                                  polish_share=POLISH_SHARE,
                                                  seed=tw.options.seed + 1000 * (k + 1) + j)}
            if tw.guide is not None:
                job["guide"] = lower(whole, sub, g, tw.guide)
            part = _Part(sub, tw.stage1.needs[g], Worker(job))
            part.chosen = start  # its answer until it sends one (should its process fail)
            # the halves prove nothing: stage 1's bound stays with the first
            part.bound = tw.stage1.bound if j == 0 else 0.0
            part.method = tw.stage1.method
            self.parts.append(part)
            tw.current.append(part)
            tw.pairs.append((g, pairs))
        tw.epochs.append({"start_s": round(now - self.t0, 3), "end_s": round(until - self.t0, 3),
                          "needs": [len(g) for g in groups],
                          "pairs": [q.data.n_pairs for q in tw.current]})
        return True

    def _capped_bound(self, until: float) -> bool:
        """Lexicographic phase 2: the LP relaxation of the exact model with the unmet term
        capped at the best phase-1 value, with HiGHS in this process (True once noted).

        The lexicographic optimum leaves at most that much unmet, so it lies in the capped set
        and the LP's optimum bounds its full objective; it is never below the weighted LP bound.
        """
        from allocator.exact.base import SolverOptions
        from allocator.exact.highs import solve as highs_solve
        from allocator.exact.model import build

        cap = self._unmet_cap([])
        if cap is None or self.problem.n_pairs > LP_CAPPED_MAX_PAIRS:
            return False
        model = build([(self.problem, 1.0)])
        if model.unmet_cost is None:
            return False
        capped = add_row(model, model.unmet_cost, -np.inf, cap)
        limit = max(0.05, 0.5 * (until - time.monotonic()))
        res = highs_solve(capped, SolverOptions(time_limit=limit, threads=1), relax=True)
        if res.status is not Status.optimal or res.objective is None:
            return False
        self._note(time.monotonic(), bound=res.objective, method="lp (unmet capped)")
        return True

    def _weighted_bound(self, data_for_bound: SearchData, until: float) -> None:
        """Lexicographic: the weighted LP bound, with HiGHS in this process."""
        from allocator.heuristic.data import components
        from allocator.heuristic.lp import free_values, lp_bound

        if data_for_bound.n_pairs > LP_MAX_PAIRS_MAIN:
            value = data_for_bound.constant + float(free_values(data_for_bound).sum())
            self._note(time.monotonic(), bound=value, method="relaxed rows (weighted)")
            return
        n_comp, labels = components(data_for_bound)
        res = lp_bound(data_for_bound, labels, n_comp,
                       time_limit=max(0.05, 0.5 * (until - time.monotonic())),
                       max_pairs=LP_MAX_PAIRS_MAIN)
        self._note(time.monotonic(), bound=res.bound,
                   method="lp (weighted)" if res.exact_components == n_comp
                   else "lp (weighted, partly relaxed rows)")

    def _merged(self) -> np.ndarray | None:
        """The parts' latest assignments as one (problem pairs), once every part has one."""
        chosen = np.full(self.problem.n_needs, -1, dtype=np.int64)
        for q in self.parts:
            if q.chosen is None:
                return None
            chosen[q.needs] = to_problem_chosen(q.data, q.chosen)
        return chosen

    def _drain(self) -> None:
        for q in self.parts:
            if not q.done:
                self._take(q, q.worker.messages())

    def _mip_after_search(self, margin: float) -> tuple[Evaluation, float | None, str] | None:
        """HiGHS on the exact model, warm-started from the search's best assignment."""
        from allocator.exact.model import build, chosen_from_values, values_from_chosen

        p, params = self.problem, self.params
        start_by = self.t0 + MIP_START_SHARE * float(params.time_limit)
        # wait for every search's LP rounding (its first answer after its bound) or start_by
        bound_seen = {id(q): False for q in self.parts}
        rounded = {id(q): False for q in self.parts}
        while time.monotonic() < start_by and not self._closed() \
                and not all(rounded[id(q)] or q.done for q in self.parts):
            for q in self.parts:
                if q.done or rounded[id(q)]:
                    continue
                msgs = q.worker.messages(timeout=0.1 / len(self.parts))
                self._take(q, msgs)
                for m in msgs:
                    if m[0] == "bound":
                        bound_seen[id(q)] = True
                    elif m[0] == "solution" and m[4] is not None and bound_seen[id(q)]:
                        rounded[id(q)] = True
        merged = self._merged()
        # lexicographic phase 2 starts from phase 1's answer and needs no search answer yet:
        # its start_by counts from phase 1's start, so it may be past before the search has
        # sent anything (HiGHS was then skipped and the answer left unproven)
        if self._closed() or (merged is None and self.start is None and not self.lexicographic):
            return None
        left = self.deadline - margin - time.monotonic()
        if left < 0.5:
            return None
        model = build([(p, 1.0)])
        if merged is None:
            merged = self.start
        start = None if merged is None else values_from_chosen(model, [merged])
        if self.lexicographic:
            # phase 2 on the exact model: the full objective under the unmet cap, started
            # from phase 1's answer (which satisfies the cap); the search's answers are handed
            # over too, and HiGHS drops those above the cap
            cap = self._unmet_cap([])
            if cap is None or model.unmet_cost is None:
                return None
            model = add_row(model, model.unmet_cost, -np.inf, cap)
            assert self.phase1 is not None and self.phase1.evaluation is not None
            start = values_from_chosen(model, [self.phase1.evaluation.chosen])
        fed = [tuple(id(q.chosen) for q in self.parts)]

        def incoming() -> np.ndarray | None:
            """The searches' newest assignment, if newer than the last one handed over."""
            self._drain()
            now = tuple(id(q.chosen) for q in self.parts)
            if now == fed[0]:
                return None
            fed[0] = now
            chosen = self._merged()
            return None if chosen is None else values_from_chosen(model, [chosen])

        from allocator.heuristic.mip import solve_fed

        assert start is not None  # phase 1's answer, or the searches' merged one
        ans = _niced(solve_fed, model, start=start, deadline=self.deadline - margin,
                     incoming=incoming, gap=float(params.gap),
                     threads=params.threads or 1, seed=int(params.seed))
        status, values, bound = ans.status, ans.values, ans.bound
        self.mip_injected = ans.injected
        self.mip_restarted = ans.restarted
        self._drain()
        if not status.has_solution or values is None:
            return None
        ev = evaluate(p, chosen_from_values(model, values)[0])
        if not ev.feasible:
            return None
        now = time.monotonic()
        if self.lexicographic:
            self._note(now, objective=ev.objective)
            if bound is not None:  # the capped set holds the lexicographic optimum
                self._note(now, bound=bound, method="mip (lexicographic phase 2, unmet capped)")
        else:
            self._note(now, objective=ev.objective, bound=bound, method="mip")
        if status == Status.optimal:
            for q in self.parts:
                q.worker.stop()
        return ev, bound, status.value

    def _lexicographic_extra(self, best: Evaluation, data: SearchData | None) -> dict[str, Any]:
        """What a lexicographic answer claims about its unmet term, and how it was solved."""
        p1 = self.phase1
        unmet = best.terms["unmet"]
        lower = None if p1 is None else p1.unmet_bound
        proven = lower is not None and unmet - lower <= (
            self.params.gap * max(1.0, abs(unmet)) + 1e-6 * max(1.0, abs(unmet)))
        out: dict[str, Any] = {
            "unmet_best": unmet,
            "unmet_bound": lower,
            "unmet_proven": bool(proven),
            "lexicographic": (
                ("phase 1 solved the weighted problem first and its answer left no more unmet "
                 "than the LP bound on the unmet term alone, so its unmet term is proven "
                 "minimal" if p1 is not None and p1.route == "weighted" else
                 "phase 1 had no time of its own: the weighted solve's answer stands for it, "
                 "its unmet term not proven minimal" if p1 is not None
                 and p1.route == "weighted only" else
                 "phase 1 minimised the unmet term alone (prices and other penalties set to "
                 "zero) with its own bound" if p1 is None or p1.tie == 0 else
                 f"phase 1 minimised the unmet term, ties broken by the other costs scaled by "
                 f"{p1.tie:.3g} (together worth at most {TIE_SHARE:g} of the smallest unmet "
                 "penalty), with a proven bound on the unmet term alone")
                + ("" if p1 is None or p1.route != "unmet, weighted answer kept" else
                   " (the weighted solve, run first, left less unmet and its answer was kept)")
                + ("" if p1 is None or p1.lattice is None or p1.unmet_bound is None else
                   f", rounded up to a multiple of {p1.lattice:g} (every unmet penalty is one)")
                + ("; phase 2 had no time left to search (less than what starting one "
                   "costs): phase 1's answer is returned" if data is None else
                   "; phase 2 minimised the full objective with the unmet "
                   f"term capped at the best phase-1 value (the search with unmet penalties "
                   f"scaled by {data.unmet_scale:.3g}, HiGHS with the cap where small "
                   "enough)")),
        }
        if p1 is not None:
            out["phases"] = [
                # the weighted route's own status is the weighted problem's; its unmet term
                # is proven minimal by the LP bound, so phase 1 (the unmet term) is optimal
                {"phase": "unmet",
                 "status": "optimal" if p1.route == "weighted" else
                 # the weighted problem's status says nothing about the unmet term alone
                 ("optimal" if proven else "feasible") if p1.route == "weighted only" else
                 p1.result.status.value,
                 "objective": p1.unmet, "bound": lower,
                 "runtime_s": p1.runtime_s if p1.runtime_s is not None else p1.result.runtime_s},
                {"phase": "full",
                 "status": "optimal" if proven and self._closed() else "feasible",
                 "objective": best.objective, "bound": self.bound,
                 "runtime_s": time.monotonic() - self.t0 - (
                     p1.runtime_s if p1.runtime_s is not None else p1.result.runtime_s)},
            ]
        return out

    def _unmet_cap(self, evaluations: list[Evaluation]) -> float | None:
        """Lexicographic phase 2: the cap on the unmet term, the best value seen in phase 1
        or among ``evaluations``, plus 1e-6 relative (clarification 6)."""
        seen = [ev.terms["unmet"] for ev in evaluations if ev.feasible]
        if self.phase1 is not None and self.phase1.unmet is not None \
                and self.phase1.evaluation is not None:
            seen.append(self.phase1.unmet)
        if not seen:
            return None
        best = min(seen)
        return best + 1e-6 * max(1.0, abs(best))

    # ------------------------------------------------------------------ the answer

    def _result(self, data: SearchData | None,
                mip: tuple[Evaluation, float | None, str] | None,
                build_s: float, error: str) -> Result:
        p, params = self.problem, self.params
        extra: dict[str, Any] = {
            "objective_kind": "lexicographic" if self.lexicographic else "weighted",
            "parts": len(self.parts),
        }
        if self.regions_plan:
            extra["regions_declined"] = self.regions_plan
        candidates: list[tuple[Evaluation, str]] = []
        chosen = np.full(p.n_needs, -1, dtype=np.int64)
        complete = bool(self.parts)  # no parts: phase 2 did not search (self.search)
        searches = []
        for part in self.parts:
            outcome = part.worker.outcome
            local = outcome["chosen"] if outcome is not None else part.chosen
            if local is None:
                complete = False
                continue
            chosen[part.needs] = to_problem_chosen(part.data, local)
            if outcome is not None:
                searches.append(outcome["stats"])
                if not self.lexicographic and np.isfinite(outcome["bound"]):
                    part.bound, part.method = float(outcome["bound"]), outcome["bound_method"]
        parts_bound = _total([q.bound for q in self.parts])
        if not self.lexicographic and parts_bound is not None:
            self._note(time.monotonic(), bound=parts_bound, method=self._method())
        if not self.lexicographic and self.bound is None and data is not None:
            # No LP or Lagrangian bound in the time (a short limit on a large market): the
            # row-free bound, each need at its cheapest pair or unmet with no capacity row,
            # L(0) of the Lagrangian (numpy, one pass over the pairs). Weak, but proven: an
            # answer never comes without a bound it can defend.
            from allocator.heuristic.lagrangian import dual_value

            self._note(time.monotonic(), bound=dual_value(data, np.zeros(data.n_rows + 1))[0],
                       method=ROW_FREE)
        if complete:
            interrupted = any(q.worker.outcome is None for q in self.parts)
            candidates.append((evaluate(p, chosen),
                               "search (interrupted)" if interrupted else "search"))
        extra["search"] = searches[0] if len(searches) == 1 else searches
        if self.twin is not None:
            tw = self.twin
            if tw.epochs and tw.epochs[-1].get("objective") is None:
                tw.epochs[-1]["objective"] = _total([q.objective for q in tw.current])
                tw.epochs[-1]["search"] = [None if q.worker.outcome is None
                                           else q.worker.outcome["stats"] for q in tw.current]
            extra["halves"] = {"stage1": tw.stats[0] if tw.stats else None,
                               "epochs": tw.epochs}
        if self.admissible is not None:
            candidates.append((self.admissible, "search"))
        if mip is not None:
            candidates.append((mip[0], "mip"))
            extra["mip_status"] = mip[2]
            extra["mip_fed_answers"] = self.mip_injected
            if self.mip_restarted:
                extra["mip_restarted"] = ("HiGHS reported an objective its values were not "
                                          "worth, warm-started: solved again without the start")
        if self.lexicographic and self.phase1 is not None \
                and self.phase1.evaluation is not None:
            candidates.append((self.phase1.evaluation, "phase 1"))
        if not any(ev.feasible for ev, _ in candidates):
            # no usable answer from the search (a process failed): construct here, numpy only
            from allocator.heuristic.construct import regret_greedy
            from allocator.heuristic.local_search import shift
            from allocator.heuristic.state import Assignment

            if data is None:
                data = from_problem(p, lexicographic=self.lexicographic)
            st = Assignment(data, regret_greedy(data))
            shift(st, deadline=time.monotonic() + 5.0)
            candidates.append((evaluate(p, to_problem_chosen(data, st.chosen)), "fallback"))
            extra["fallback"] = "no answer from the search: greedy construction here"
        feasible = [(ev, src) for ev, src in candidates if ev.feasible]
        runtime = time.monotonic() - self.t0
        if not feasible:
            why = "; ".join(candidates[0][0].violations[:3])
            return Result(status=Status.error, solver=params.solver, runtime_s=runtime,
                          build_s=build_s, solve_s=runtime - build_s,
                          message=f"no feasible answer: {why}", extra=extra)

        if self.lexicographic and self.phase1 is not None:
            cap = self._unmet_cap([ev for ev, _ in feasible])
            assert cap is not None
            # never more unmet than the best answer seen, phase 1's included
            feasible = [(ev, src) for ev, src in feasible if ev.terms["unmet"] <= cap]
        best, source = min(feasible, key=lambda item: item[0].objective)
        objective = best.objective
        self._note(time.monotonic(), objective=objective)
        bound = None if self.bound is None else min(self.bound, objective)
        closed = bound is not None and objective - bound <= params.gap * max(1.0, abs(objective))
        status = Status.optimal if closed else Status.feasible
        extra.update({"bound_method": self.bound_method if bound is not None else "none",
                      "answer_from": source})
        if self.lexicographic:
            extra.update(self._lexicographic_extra(best, data))
            if not extra["unmet_proven"]:
                status = Status.feasible
        message = ""
        if error.strip():
            # the answer stands (it is checked, and its bound is the bound), but a search
            # that failed may leave it far poorer than the market allows: the message names
            # the failure and ``extra`` keeps the child's whole traceback for whoever mends it
            message = (f"search process: {error.strip().splitlines()[-1]} (the answer is "
                       f"{ANSWER_FROM.get(source, source)}, without that process's search)")
            extra["search_error"] = error.strip()
            LOG.warning("a search process failed; the answer is from %s: %s", source,
                        error.strip())
        return Result(status=status, solver=params.solver, objective=objective, bound=bound,
                      runtime_s=runtime, terms=best.terms, solution=to_solution(p, best),
                      build_s=build_s, solve_s=runtime - build_s, message=message,
                      progress=tuple(self.progress), extra=extra)
