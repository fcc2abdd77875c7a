"""Mini-competitions under a framework (DESIGN.md section 9.4, seed 004).

For one lot L with block bids, each bid is judged two ways:

* **Published score** (what a tender evaluation publishes): for an admissible bid,
  ``quality_points * quality / max(quality) + price_points * min(rate) / rate``, where the
  maximum quality and the minimum rate are taken over the *admissible* bids on L (the ones in
  the competition). A bid whose provider's quality is below L's ``block.min_quality`` is
  inadmissible: it gets no score and its reason says why. So is a bid whose provider is below
  L's own ``min_quality`` (9.2) or the policy's ``min_framework_quality``: it could get no work
  in L, so its award could only be paid for (:func:`allocator.core.problem.bid_exclusion`).
* **Whole-market cost**: the optimum of the design model (section 5, every scenario) in which
  that bid is the only one left on L, L's block section requires exactly one provider, every
  other lot's bids and block limits are dropped and ``design_targets`` are ignored; contracts in
  force stay (:func:`bid_instance` builds that instance). It is solved by
  :func:`allocator.design.solve.solve_design`, which returns the best design found and a proven
  lower bound; a bid whose solve is not proven optimal says so (``status``, ``proven``).

Under the lexicographic objective (clarification 6) the whole-market ranking compares the
expected unmet term first, then the cost, and the winner counts as proven only when every bid's
solve is.

The two rankings can disagree: a cheap rate from a provider whose scheme is in the wrong place,
or whose award displaces cheaper framework capacity, scores well and costs the market more.
The result names the score winner and the whole-market winner and the difference between them
a week and a year (52 weeks), with the interval the bounds prove for it. A bid whose rate is
below 80% of the median rate of the admissible bids is flagged as abnormally low (to be queried
before award, as public procurement rules require). DESIGN.md 9.4(c) does not say over which
bids the median is taken; it is taken over the bids that are ranked (the admissible ones), the
subject of the same sentence, so a low rate from a bid that cannot win does not move it.

Two cases 9.4 leaves open: bids that cost the market the same (within 1e-6) are ranked by
score, so a tie with the score winner makes it the whole-market winner too; and a bid whose
design model is proven infeasible alone on the lot (its minimum volume above the lot's share
cap, say) is out of the whole-market ranking without making the winner unproven.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from allocator.core.problem import bid_exclusion
from allocator.core.result import Result, Status
from allocator.design.solve import DesignParams, solve_design
from allocator.design.sweep import Runner
from allocator.instance.schema import BlockBid, BlockRules, Instance

WEEKS_PER_YEAR = 52
ABNORMALLY_LOW = 0.8  # a rate below this share of the median rate is queried before award
TOL = 1e-6  # relative tolerance when comparing costs with bounds


class MiniCompetitionError(ValueError):
    """The lot cannot hold a mini-competition (unknown lot, no bids, bad points)."""


@dataclass(frozen=True)
class BidOutcome:
    """One bid's score, whole-market cost and flags.

    ``score``, ``score_rank`` are None for an inadmissible bid; ``whole_market_cost`` (the
    expected weekly cost of the best design found with this bid alone on the lot),
    ``whole_market_bound`` (a proven lower bound on its optimum) and ``cost_rank`` are None
    where no solve ran or none found a design. ``proven`` is True when the solve proved its
    design optimal (within the design solve's gap).
    """

    provider: str
    rate: float
    quality: float
    min_volume: float
    max_volume: float
    award_cost: float
    admissible: bool
    reason: str
    score: float | None = None
    quality_score: float | None = None
    price_score: float | None = None
    abnormally_low: bool = False
    whole_market_cost: float | None = None
    whole_market_bound: float | None = None
    gap: float | None = None
    status: str = "not_solved"
    proven: bool = False
    awarded_volume: float | None = None
    terms: dict[str, float] = field(default_factory=dict)
    runtime_s: float = 0.0
    method: str = ""
    score_rank: int | None = None
    cost_rank: int | None = None

    @property
    def infeasible(self) -> bool:
        """Proven to have no feasible design with this bid alone on the lot: an answer, which
        takes it out of the whole-market ranking without leaving the winner unproven."""
        return self.status == Status.infeasible.value


@dataclass(frozen=True)
class MiniCompetition:
    """The outcome of :func:`mini_competition` (see the module docstring)."""

    instance: str
    lot: str
    currency: str
    quality_points: float
    price_points: float
    bids: tuple[BidOutcome, ...]  # in the instance's order
    median_rate: float | None
    score_winner: str | None
    whole_market_winner: str | None
    difference_week: float | None  # whole-market cost of the score winner minus the winner's
    difference_week_low: float | None  # what the bounds prove: the difference lies in
    difference_week_high: float | None  # [low, high]
    winner_proven: bool  # the whole-market winner's cost is at most every other bid's bound
    notes: tuple[str, ...] = ()
    runtime_s: float = 0.0
    # the market's objective is lexicographic (clarification 6): the whole-market ranking puts
    # less unmet need first, so its winner may cost more in all than another bid
    lexicographic: bool = False

    def unmet_difference_week(self) -> float | None:
        """Expected unmet-need penalty a week of the score winner minus the whole-market
        winner's (the term a lexicographic ranking compares first)."""
        s = next((b for b in self.bids if b.provider == self.score_winner), None)
        w = next((b for b in self.bids if b.provider == self.whole_market_winner), None)
        if s is None or w is None or s.whole_market_cost is None or w.whole_market_cost is None:
            return None
        return float(s.terms.get("unmet", 0.0)) - float(w.terms.get("unmet", 0.0))

    def cheapest(self) -> BidOutcome | None:
        """The bid whose whole-market cost is least in all (under a lexicographic objective
        it need not be the whole-market winner)."""
        costed = [b for b in self.bids if b.whole_market_cost is not None and not b.infeasible]
        return min(costed, key=lambda b: (_round(b.whole_market_cost), b.cost_rank or 0),
                   default=None)

    @property
    def difference_year(self) -> float | None:
        """:attr:`difference_week` times 52."""
        return None if self.difference_week is None else WEEKS_PER_YEAR * self.difference_week

    def by_score(self) -> list[BidOutcome]:
        """Admissible bids, best score first (then inadmissible ones)."""
        return sorted(self.bids, key=lambda b: (b.score_rank is None, b.score_rank or 0,
                                                b.provider))

    def by_cost(self) -> list[BidOutcome]:
        """Bids with a whole-market cost, cheapest first (then the others)."""
        return sorted(self.bids, key=lambda b: (b.cost_rank is None, b.cost_rank or 0,
                                                b.provider))

    def to_dict(self) -> dict[str, Any]:
        """The ``result.json`` document: summary fields, then ``ranking`` (by whole-market
        cost, as section 9.4 asks) and ``score_ranking`` (provider ids by score)."""
        return {
            "kind": "mini_competition",
            "instance": self.instance, "lot": self.lot, "currency": self.currency,
            "quality_points": self.quality_points, "price_points": self.price_points,
            "median_rate": self.median_rate,
            "abnormally_low_below": (None if self.median_rate is None
                                     else ABNORMALLY_LOW * self.median_rate),
            "score_winner": self.score_winner,
            "whole_market_winner": self.whole_market_winner,
            "winners_differ": (self.score_winner is not None
                               and self.score_winner != self.whole_market_winner),
            "difference_week": self.difference_week,
            "difference_year": self.difference_year,
            "difference_week_proven_range": [self.difference_week_low,
                                             self.difference_week_high],
            "objective": "lexicographic" if self.lexicographic else "weighted",
            "difference_unmet_week": self.unmet_difference_week(),
            "winner_proven": self.winner_proven,
            "notes": list(self.notes),
            "runtime_s": self.runtime_s,
            "ranking": [_jsonable(asdict(b)) for b in self.by_cost()],
            "score_ranking": [b.provider for b in self.by_score() if b.score_rank is not None],
        }


# --------------------------------------------------------------------------- the instances


def lot_bids(instance: Instance, lot: str) -> list[BlockBid]:
    """The block bids on ``lot``, in the instance's order.

    Raises
    ------
    MiniCompetitionError
        When the instance has no such lot, or no bid on it.
    """
    if lot not in {item.id for item in instance.lots}:
        known = ", ".join(item.id for item in instance.lots) or "none"
        raise MiniCompetitionError(f"lot {lot!r} is not in the instance (lots: {known})")
    bids = [b for b in instance.block_bids if b.lot == lot]
    if not bids:
        raise MiniCompetitionError(f"lot {lot!r} has no block bids: nothing to compete")
    return bids


def bid_instance(instance: Instance, bid: BlockBid) -> Instance:
    """The design instance that prices ``bid`` (section 9.4 (b)).

    ``bid`` is the only bid left in the instance; its lot's block section requires exactly one
    provider (its share bounds and ``min_quality`` are kept); every other lot loses its block
    section (no limits) and ``design_targets`` are dropped. Contracts in force, scenarios,
    offers (``if_awarded`` ones included) and the policy are unchanged.
    """
    lots = []
    for item in instance.lots:
        if item.id == bid.lot:
            rules = item.block or BlockRules()
            rules = rules.model_copy(update={"min_providers": 1, "max_providers": 1})
            lots.append(item.model_copy(update={"block": rules}))
        else:
            lots.append(item.model_copy(update={"block": None}))
    update: dict[str, Any] = {"lots": lots, "block_bids": [bid]}
    if "design_targets" in type(instance).model_fields:
        update["design_targets"] = []
    return instance.model_copy(update=update)


# --------------------------------------------------------------------------- the competition


def mini_competition(
    instance: Instance,
    lot: str,
    *,
    quality_points: float = 60.0,
    price_points: float = 40.0,
    params: DesignParams | None = None,
    runner: Runner | None = None,
    on_bid: Callable[[int, int, BidOutcome], None] | None = None,
) -> MiniCompetition:
    """Score every bid on ``lot`` and price each admissible one on the whole market.

    Parameters
    ----------
    instance
        A validated design instance with block bids on ``lot``.
    lot
        The lot competed for.
    quality_points, price_points
        The published weights (e.g. 60 and 40).
    params
        Design solve parameters for *each* bid's solve (its ``time_limit`` is per bid).
    runner
        Where each design solve runs its independent sub-solves (in-process when None).
    on_bid
        Called after each bid with (bids done, bids in all, its outcome): progress for a
        caller that shows it (the web app's job page).

    Returns
    -------
    MiniCompetition

    Raises
    ------
    MiniCompetitionError
        Unknown lot, no bids on it, or negative / all-zero points.
    """
    t0 = time.perf_counter()
    for name, value in (("quality points", quality_points), ("price points", price_points)):
        if not math.isfinite(value) or value < 0:
            raise MiniCompetitionError(f"{name} {value:g}: must be finite and non-negative")
    if quality_points + price_points <= 0:
        raise MiniCompetitionError("quality and price points are both 0: nothing to score")
    params = params or DesignParams()
    bids = lot_bids(instance, lot)
    the_lot = next(item for item in instance.lots if item.id == lot)
    quality = {p.id: p.quality for p in instance.providers}
    floor = instance.policy.min_framework_quality
    excluded = {b.provider: bid_exclusion(b.provider, quality[b.provider], the_lot, floor)
                for b in bids}

    admissible = [b for b in bids if excluded[b.provider] is None]
    best_q = max((quality[b.provider] for b in admissible), default=0.0)
    low_rate = min((b.rate for b in admissible), default=0.0)
    median = statistics.median(b.rate for b in admissible) if admissible else None
    notes: list[str] = []
    if median is not None and median == 0:
        notes.append("the median rate is 0: no bid can be abnormally low")

    outcomes: list[BidOutcome] = []
    for bid in bids:
        q = quality[bid.provider]
        common: dict[str, Any] = {"provider": bid.provider, "rate": bid.rate, "quality": q,
                  "min_volume": bid.min_volume, "max_volume": bid.max_volume,
                  "award_cost": bid.award_cost}
        why = excluded[bid.provider]
        if why is not None:
            outcomes.append(BidOutcome(
                **common, admissible=False, reason=f"inadmissible: {why}",
                status="inadmissible"))
            if on_bid is not None:
                on_bid(len(outcomes), len(bids), outcomes[-1])
            continue
        qs = quality_points * q / best_q if best_q > 0 else quality_points
        # min(rate) / rate with a zero rate: that bid is the cheapest, full price points
        ps = price_points * (low_rate / bid.rate if bid.rate > 0 else 1.0)
        result = solve_design(bid_instance(instance, bid), params, runner=runner)
        outcomes.append(_priced(common, qs, ps, median, result, params,
                                currency=instance.currency))
        if on_bid is not None:
            on_bid(len(outcomes), len(bids), outcomes[-1])
    kind = params.objective or instance.policy.objective
    ranked = _ranked(outcomes, lexicographic=kind == "lexicographic")
    return _summarise(instance, lot, quality_points, price_points, ranked, median, notes,
                      time.perf_counter() - t0, lexicographic=kind == "lexicographic")


def _priced(common: dict[str, Any], qs: float, ps: float, median: float | None,
            result: Result, params: DesignParams, currency: str = "GBP") -> BidOutcome:
    from allocator.core.reasons import money

    # "below 80% of the median": a rate at exactly 80% is not below it (0.8 * 16.5 is
    # 13.200000000000001 in floating point: an independent check found 13.20 flagged)
    low = median is not None and median > 0 and \
        common["rate"] < ABNORMALLY_LOW * median * (1 - 1e-9)
    reason = ""
    if low:
        assert median is not None
        reason = (f"abnormally low: rate {money(common['rate'], currency)} is below "
                  f"{ABNORMALLY_LOW:.0%} of the median rate {money(median, currency)} "
                  f"({money(ABNORMALLY_LOW * median, currency)}); query before award")
    has = result.status.has_solution and result.objective is not None
    if not has:
        why = result.message or result.status.value
        reason = "; ".join(filter(None, [reason, f"no whole-market cost: {why}"]))
    elif result.status != Status.optimal:
        reason = "; ".join(filter(None, [reason, (
            f"whole-market cost not proven optimal ({result.status.value}, gap "
            + ("unknown" if result.gap is None else f"{100 * result.gap:.3f}%") + ")")]))
    volume = None
    if has and result.solution is not None:
        volume = float(sum(v for (prov, lot), v in result.solution.awards.items()
                           if prov == common["provider"]))
    return BidOutcome(
        **common, admissible=True, reason=reason, score=qs + ps, quality_score=qs,
        price_score=ps, abnormally_low=low,
        whole_market_cost=result.objective if has else None,
        whole_market_bound=result.bound, gap=result.gap, status=result.status.value,
        proven=result.status == Status.optimal, awarded_volume=volume,
        terms={k: float(v) for k, v in result.terms.items()}, runtime_s=result.runtime_s,
        method=str(result.extra.get("method", "")),
    )


def _ranked(outcomes: Sequence[BidOutcome], *, lexicographic: bool) -> list[BidOutcome]:
    scored = sorted((b for b in outcomes if b.score is not None),
                    key=lambda b: (-_round(b.score), b.rate, b.provider))

    def cost_key(b: BidOutcome) -> tuple[float, float, float, float, str]:
        # lexicographic objective (clarification 6): less unmet need first, then cost; a tie
        # in cost goes to the better score (so tied winners are one bid, not two "differing")
        unmet = _round(b.terms.get("unmet", 0.0)) if lexicographic else 0.0
        return (unmet, _round(b.whole_market_cost), -_round(b.score), b.rate, b.provider)

    costed = sorted((b for b in outcomes if b.whole_market_cost is not None), key=cost_key)
    s_rank = {b.provider: i + 1 for i, b in enumerate(scored)}
    c_rank = {b.provider: i + 1 for i, b in enumerate(costed)}
    return [replace(b, score_rank=s_rank.get(b.provider), cost_rank=c_rank.get(b.provider))
            for b in outcomes]


def _round(x: float | None) -> float:
    # ties within floating noise are broken by the next key, not by the 12th digit
    return round(float(x or 0.0), 6)


def _summarise(instance: Instance, lot: str, qp: float, pp: float, bids: list[BidOutcome],
               median: float | None, notes: list[str], runtime: float, *,
               lexicographic: bool = False) -> MiniCompetition:
    by_score = [b for b in bids if b.score_rank is not None]
    by_cost = [b for b in bids if b.cost_rank is not None]
    s_win = min(by_score, key=lambda b: b.score_rank or 0) if by_score else None
    c_win = min(by_cost, key=lambda b: b.cost_rank or 0) if by_cost else None
    diff = low = high = None
    proven = False
    if c_win is not None:
        others = [b for b in bids if b.admissible and b is not c_win]
        cost = float(c_win.whole_market_cost or 0.0)
        # a bid whose design model is proven infeasible has no design at any cost: it is
        # out of the running as surely as one whose bound is above the winner's cost
        out = [b for b in others if b.infeasible]
        others = [b for b in others if not b.infeasible]
        if lexicographic:
            # phase-2 bounds hold only given each bid's own least unmet need: compare optima
            proven = c_win.proven and all(b.proven for b in others)
        else:
            proven = c_win.proven and all(
                b.whole_market_bound is not None
                and cost <= b.whole_market_bound + TOL * max(1.0, abs(cost)) for b in others)
        if out:
            notes.append("no feasible design with " + ", ".join(b.provider for b in out)
                         + " alone on the lot (proven infeasible): out of the whole-market"
                         " ranking")
        if not proven:
            notes.append(f"the whole-market winner {c_win.provider} is not proven: another bid's"
                         " bound is below its cost (or a solve found no design or no bound)")
    unsolved = [b.provider for b in bids if b.admissible and b.whole_market_cost is None
                and not b.infeasible]
    if unsolved:
        notes.append(f"no whole-market cost for {', '.join(unsolved)} (see their reasons)")
    if s_win is not None and c_win is not None and s_win.whole_market_cost is not None:
        diff = float(s_win.whole_market_cost) - float(c_win.whole_market_cost or 0.0)
        if s_win.whole_market_bound is not None and c_win.whole_market_bound is not None:
            # each bid's optimum lies in [its bound, its cost], so their difference lies in
            # [bound_s - cost_c, cost_s - bound_c]
            low = float(s_win.whole_market_bound) - float(c_win.whole_market_cost or 0.0)
            high = float(s_win.whole_market_cost) - float(c_win.whole_market_bound)
    elif s_win is not None and c_win is not None:
        notes.append(f"the score winner {s_win.provider} has no whole-market cost:"
                     " no difference can be given")
    return MiniCompetition(
        instance=instance.name, lot=lot, currency=instance.currency, quality_points=qp,
        price_points=pp, bids=tuple(bids), median_rate=median,
        score_winner=s_win.provider if s_win else None,
        whole_market_winner=c_win.provider if c_win else None,
        difference_week=diff, difference_week_low=low, difference_week_high=high,
        winner_proven=proven, notes=tuple(notes), runtime_s=runtime,
        lexicographic=lexicographic,
    )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj
