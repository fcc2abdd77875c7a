"""One replication: every policy replays the same stream, day by day.

A day, in order:

1. capacity changes of the day: a provider that leaves closes its offers and block contracts,
   and the people it served go back to the waiting list; a new scheme opens its beds;
2. packages and placements that end leave the book (a referral still waiting leaves the
   waiting list: its need has gone, e.g. to residential care or hospital);
3. the day's referrals arrive;
4. the policy is offered the waiting list: first the hospital discharges and urgent
   referrals, then the others, each group in order of waiting (earliest first, then arrival);
5. the day is recorded (waiting, unmet hours and beds, the weekly cost of the book as it
   stands, moves, utilisation), with every zone apart.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from allocator.core.evaluate import block_funding
from allocator.core.problem import Problem
from allocator.instance.schema import Instance
from allocator.nightly.continuity import current_pairs
from allocator.simulate.book import IN_CARE, WAITING, Book, Night, PolicyError
from allocator.simulate.config import SimulationConfig
from allocator.simulate.policies import FirstCome, Nightly, Policy
from allocator.simulate.stream import Stream, draw, universe
from allocator.store.book import Pin

# Daily series of the whole county (one value a day).
DAILY = ("waiting_people", "unmet_hours", "unmet_beds", "active_hours", "served_hours",
         "active_beds", "served_beds", "referred_hours", "placed", "moves", "displaced",
         "ended_waiting", "cost_block", "cost_framework", "cost_quality_zone", "cost_unmet",
         "cost_transfer", "hours_used", "hours_capacity", "beds_used", "beds_capacity")
# Daily series by zone (days x zones).
# per provider, summed over the days of a replication (PolicyRun.provider_totals)
PROVIDER_TOTALS = ("hours_used", "hours_capacity", "beds_used", "beds_capacity")
ZONE_DAILY = ("waiting_people", "unmet_hours", "unmet_beds", "hours_used", "hours_capacity")


@dataclass(frozen=True, eq=False)
class PolicyRun:
    """What one policy did in one replication.

    daily
        name -> array over days (:data:`DAILY`).
    zone_daily
        name -> array (days, zones) (:data:`ZONE_DAILY`).
    waits
        One row per wait that ended: columns day (it ended), zone, days waited, placed (1) or
        ended while waiting (0), first priority (1) or not (0).
    provider_totals
        name -> array over providers, summed over the days (:data:`PROVIDER_TOTALS`): hours
        used and allowed (the provider's open hours offers, within its cap), beds used and
        open; a provider's utilisation over the replay is used / allowed.
    runtime_s
        Wall time of the replay; ``solve_s`` of it in solver calls (nightly policies).
    """

    policy: str
    daily: Mapping[str, np.ndarray]
    zone_daily: Mapping[str, np.ndarray]
    waits: np.ndarray
    runtime_s: float
    provider_totals: Mapping[str, np.ndarray] = field(default_factory=dict)
    solves: int = 0
    solve_s: float = 0.0
    failures: int = 0
    time_limited: int = 0


@dataclass(frozen=True, eq=False)
class ReplicationRun:
    """Every policy's run on one replication's stream."""

    replication: int
    runs: tuple[PolicyRun, ...]
    n_arrivals: int
    n_exits: int
    n_openings: int
    runtime_s: float
    notes: tuple[str, ...] = field(default=())


def initial_book(instance: Instance, config: SimulationConfig,
                 notes: list[str] | None = None) -> dict[str, str]:
    """Who serves whom on day 0 (need id -> offer id), the same for every policy.

    People with a current provider stay with it (its best eligible offer, as the nightly run
    reads a book); the engine's nightly run (people in care pinned) places the others against
    the room that leaves, and any need it leaves waiting that still fits somewhere (its solve
    may stop at the time limit on a county) is placed by the DPS rule. Those left are the
    waiting list on day 0: nobody waits who could be placed. ``notes`` (if given) gets a line
    saying how the day-0 book was made.
    """
    problem = Problem.from_instance(instance)
    pins = {n.id: Pin(provider=n.current_provider, offer=None)
            for n in instance.needs if n.current_provider is not None}
    current = current_pairs(problem, pins)
    book = Book(problem, problem.offer_capacity)
    everyone = np.arange(problem.n_needs)
    book.arrive(everyone, 0)
    for n in np.nonzero(current >= 0)[0]:  # one by one: a book over capacity keeps who fits
        try:
            book.assign({int(n): int(current[n])}, who="initial book")
        except PolicyError:
            pass
    kept = len(book.in_care())  # those who fit: the others are offered again below
    over = int(np.count_nonzero(current >= 0)) - kept
    first = _first_mask(problem, config)
    engine = Nightly(None, _params(config), config.max_candidates)
    _offer(engine, book, 0, first)
    by_engine = len(book.in_care())
    # settle: a need the solve left waiting (at its time limit) that fits somewhere is placed
    # by the DPS rule, so that day 0 starts with nobody waiting who could be placed
    _offer(FirstCome(config.quality_points, config.price_points), book, 0, first)
    if notes is not None:
        notes.append(
            f"day-0 book: {kept:,} people kept with their current provider"
            + (f" ({over:,} others with a current provider did not fit its capacity and"
               " were offered again with the referrals)" if over else "")
            + f", {by_engine - kept:,} placed by the engine"
            + (f" (its solve stopped at the {config.time_limit:g} s limit: the start depends "
               "on the machine's speed, but is the same for every policy and replication)"
               if engine.time_limited else "")
            + f", {len(book.in_care()) - by_engine:,} more by the DPS rule, "
            f"{len(book.waiting()):,} waiting")
    return {problem.need_ids[n]: problem.offer_ids[problem.pair_offer[book.pair[n]]]
            for n in book.in_care()}


def _params(config: SimulationConfig):
    from allocator.core.params import SolveParams

    return SolveParams(solver=config.solver, time_limit=config.time_limit, gap=config.gap,
                       threads=config.threads)


def _first_mask(problem: Problem, config: SimulationConfig) -> np.ndarray:
    first = set(config.first_priorities)
    return np.array([n.priority in first for n in problem.needs], dtype=bool)


def _offer(policy: Policy, book: Book, day: int, first: np.ndarray) -> tuple[int, int]:
    """Offer the waiting list to ``policy``: first priorities, then the others."""
    waiting = book.waiting()
    order = np.lexsort((waiting, book.wait_since[waiting]))
    waiting = waiting[order]
    moves = placed = 0
    groups = [g for g in (waiting[first[waiting]], waiting[~first[waiting]]) if len(g)]
    # nobody waiting: the night still runs (moves that save money, under nightly_moves:K; an
    # independent check found no move on such nights although moves were free and cheaper)
    for group in groups or [waiting]:
        night = Night(book, day, group, moves_made=moves)
        policy.decide(night)
        moves += night.moved
        placed += night.placed
    return placed, moves


def run_replication(instance: Instance, config: SimulationConfig, policies: Sequence[Policy],
                    replication: int, initial: Mapping[str, str]) -> ReplicationRun:
    """Replay replication ``replication`` under each policy (see the module docstring)."""
    t0 = time.perf_counter()
    stream = draw(instance, config, replication)
    world = universe(instance, stream)
    problem = Problem.from_instance(world)
    runs = tuple(_replay(problem, stream, instance, config, copy.deepcopy(policy), initial)
                 for policy in policies)
    return ReplicationRun(replication=replication, runs=runs, n_arrivals=stream.n_arrivals,
                          n_exits=len(stream.exit_day), n_openings=len(stream.opening_day),
                          runtime_s=time.perf_counter() - t0)


def _replay(problem: Problem, stream: Stream, instance: Instance, config: SimulationConfig,
            policy: Policy, initial: Mapping[str, str]) -> PolicyRun:
    t0 = time.perf_counter()
    p = problem
    days = config.days
    n0 = len(instance.needs)
    n_base_offers = len(instance.offers)
    arrival = np.concatenate([np.zeros(n0, dtype=np.int64), stream.arrival_day])
    end = np.concatenate([stream.initial_end, stream.arrival_end])
    bed = np.array([n.kind == "placement" for n in p.needs], dtype=bool)
    first = _first_mask(p, config)
    n_zones = len(p.zone_ids)

    capacity = np.array(p.offer_capacity, dtype=float)
    capacity[n_base_offers:] = 0.0  # schemes that open later
    book = Book(p, capacity)
    book.arrive(np.arange(n0), 0)
    offer_ix = {o: i for i, o in enumerate(p.offer_ids)}
    order, start = p.pairs_by_need
    placed0: dict[int, int] = {}
    for n in range(n0):
        oid = initial.get(p.need_ids[n])
        if oid is None:
            continue
        ks = order[start[n]:start[n + 1]]
        hit = ks[p.pair_offer[ks] == offer_ix[oid]]
        placed0[n] = int(hit[0])
    book.assign(placed0, who="initial book")

    # day indices of the events
    arrivals_of = _by_day(arrival[n0:], days, offset=n0)
    ends_of = _by_day(end, days)
    exits = _by_day(stream.exit_day, days)
    openings = _by_day(stream.opening_day, days)

    rec = {name: np.zeros(days) for name in DAILY}
    zrec = {name: np.zeros((days, n_zones)) for name in ZONE_DAILY}
    prec = {name: np.zeros(p.n_providers) for name in PROVIDER_TOTALS}
    waits: list[np.ndarray] = []
    # referred and still active, from the stream alone (the conservation check's right side)
    q = p.need_q
    referred = _active_series(arrival, end, np.where(bed, 0.0, q), days)

    hour_offer = p.offer_unit == 0
    holder_open = np.ones(p.n_holders, dtype=bool)
    for d in range(days):
        displaced = 0
        for e in exits[d]:
            prov = int(stream.exit_provider[e])
            book.offer_capacity[p.offer_provider == prov] = 0.0
            book.provider_capacity[prov] = 0.0
            gone = p.holder_provider == prov
            book.holder_volume[gone] = 0.0
            holder_open &= ~gone
            served = book.in_care()
            lost = served[p.pair_provider[book.pair[served]] == prov]
            book.displace(lost, d)
            displaced += len(lost)
        for j in openings[d]:
            book.offer_capacity[n_base_offers + int(j)] = float(stream.opening_capacity[j])
        ending = ends_of[d]
        still = ending[book.status[ending] == WAITING]
        if len(still):
            waits.append(_wait_rows(d, p.need_zone[still], d - book.wait_since[still], 0,
                                    first[still]))
        book.leave(ending)
        book.arrive(arrivals_of[d], d)
        before = book.waiting()
        placed, moves = _offer(policy, book, d, first)
        now = before[book.status[before] == IN_CARE]
        if len(now):
            waits.append(_wait_rows(d, p.need_zone[now], d - book.wait_since[now], 1,
                                    first[now]))
        _record(rec, zrec, d, book, bed, hour_offer, holder_open, n_zones, prec)
        rec["referred_hours"][d] = referred[d]
        rec["placed"][d] = placed
        rec["moves"][d] = moves
        rec["displaced"][d] = displaced
        rec["ended_waiting"][d] = len(still)
        rec["cost_transfer"][d] = p.transfer_penalty * moves
    solves = getattr(policy, "solves", 0)
    return PolicyRun(
        policy=policy.name, daily=rec, zone_daily=zrec, provider_totals=prec,
        waits=np.concatenate(waits) if waits else np.zeros((0, 5)),
        runtime_s=time.perf_counter() - t0, solves=int(solves),
        solve_s=float(getattr(policy, "solve_s", 0.0)),
        failures=int(getattr(policy, "failures", 0)),
        time_limited=int(getattr(policy, "time_limited", 0)))


def _by_day(days_of: np.ndarray, days: int, offset: int = 0) -> list[np.ndarray]:
    """Indices (plus ``offset``) of the entries falling on each day 0..days-1."""
    order = np.argsort(days_of, kind="stable")
    bounds = np.searchsorted(days_of[order], np.arange(days + 1))
    return [order[bounds[d]:bounds[d + 1]] + offset for d in range(days)]


def _active_series(arrival: np.ndarray, end: np.ndarray, weight: np.ndarray,
                   days: int) -> np.ndarray:
    """Sum of ``weight`` over needs in the book (arrival <= day < end), each day."""
    delta = np.zeros(days + 1)
    np.add.at(delta, np.minimum(arrival, days), weight)
    np.add.at(delta, np.minimum(end, days), -weight)
    return np.cumsum(delta)[:days]


def _wait_rows(day: int, zone: np.ndarray, waited: np.ndarray, placed: int,
               first: np.ndarray) -> np.ndarray:
    return np.column_stack([np.full(len(zone), day), zone, waited,
                            np.full(len(zone), placed), first.astype(float)]).astype(float)


def _record(rec: dict[str, np.ndarray], zrec: dict[str, np.ndarray], d: int, book: Book,
            bed: np.ndarray, hour_offer: np.ndarray, holder_open: np.ndarray,
            n_zones: int, prec: dict[str, np.ndarray] | None = None) -> None:
    p = book.problem
    q = p.need_q
    waiting = book.status == WAITING
    in_care = book.status == IN_CARE
    w_pkg, w_bed = waiting & ~bed, waiting & bed
    rec["waiting_people"][d] = np.count_nonzero(waiting)
    rec["unmet_hours"][d] = q[w_pkg].sum()
    rec["unmet_beds"][d] = np.count_nonzero(w_bed)
    rec["served_hours"][d] = q[in_care & ~bed].sum()
    rec["active_hours"][d] = rec["served_hours"][d] + rec["unmet_hours"][d]
    rec["served_beds"][d] = np.count_nonzero(in_care & bed)
    rec["active_beds"][d] = rec["served_beds"][d] + rec["unmet_beds"][d]
    zone = p.need_zone
    zrec["waiting_people"][d] = np.bincount(zone[waiting], minlength=n_zones)
    zrec["unmet_hours"][d] = np.bincount(zone[w_pkg], weights=q[w_pkg], minlength=n_zones)
    zrec["unmet_beds"][d] = np.bincount(zone[w_bed], minlength=n_zones)
    # the weekly cost of the book as it stands tonight (DESIGN.md section 4's terms)
    chosen = book.chosen()
    sel = chosen[chosen >= 0]
    bq = block_funding(p, chosen, book.holder_volume)
    frac = np.divide(bq[sel], p.pair_q[sel], out=np.zeros(len(sel)), where=p.pair_q[sel] > 0)
    rec["cost_block"][d] = float(np.dot(p.holder_rate[holder_open],
                                        p.holder_volume[holder_open]))
    rec["cost_framework"][d] = float(np.sum(p.pair_price_q[sel] - p.pair_block_saving[sel] * frac))
    rec["cost_quality_zone"][d] = float(np.sum(p.pair_quality_zone[sel]))
    rec["cost_unmet"][d] = float(np.dot(p.need_penalty[waiting], q[waiting]))
    # utilisation: hours used over the hours the open offers (and providers' caps) allow
    cap_o = np.where(hour_offer, book.offer_capacity, 0.0)
    cap_p = np.minimum(np.bincount(p.offer_provider, weights=cap_o, minlength=p.n_providers),
                       book.provider_capacity)
    rec["hours_used"][d] = book.provider_use.sum()
    rec["hours_capacity"][d] = cap_p.sum()
    beds_o = ~hour_offer
    rec["beds_used"][d] = book.offer_use[beds_o].sum()
    rec["beds_capacity"][d] = book.offer_capacity[beds_o].sum()
    zo = p.offer_zone
    zrec["hours_used"][d] = np.bincount(zo[hour_offer], weights=book.offer_use[hour_offer],
                                        minlength=n_zones)
    zrec["hours_capacity"][d] = np.bincount(zo, weights=cap_o, minlength=n_zones)
    if prec is not None:  # per provider, summed over the days
        op = p.offer_provider
        prec["hours_used"] += book.provider_use
        prec["hours_capacity"] += cap_p
        prec["beds_used"] += np.bincount(op[beds_o], weights=book.offer_use[beds_o],
                                         minlength=p.n_providers)
        prec["beds_capacity"] += np.bincount(op[beds_o], weights=book.offer_capacity[beds_o],
                                             minlength=p.n_providers)
