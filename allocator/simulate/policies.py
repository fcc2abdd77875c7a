"""Brokerage policies (DESIGN.md section 9.5): who takes each referral as it waits.

A policy is anything with a ``name`` and a ``decide(night)`` method (:class:`Policy`); it
places referrals and moves people in care through the :class:`~allocator.simulate.book.Night`
it is given, which refuses anything the market's limits do not allow. The simulation calls it
each night, first for the hospital discharges and urgent referrals, then for the others, so
every policy offers those first. A policy object is copied for each replication and may keep
state across nights.

* :class:`FirstCome` - today's practice: in arrival order, each referral goes to the eligible
  offer with room that ranks best on the DPS score ``quality_points * quality / 100 +
  price_points * cheapest / price`` (cheapest: the lowest price among those offers, i.e. among
  the providers who could respond), and waits if none has room.
* :class:`Nightly` - the engine's nightly run: the referrals waiting tonight are allocated by
  the exact model of DESIGN.md section 4 against the room left, people in care pinned; with
  ``moves=K`` (``nightly_moves:K``) at most K people in care may move a night.

A custom policy in a few lines (the nearest-to-full offer, a "fill them up" rule)::

    class FillUp:
        name = "fill_up"

        def decide(self, night):
            for n in night.referrals:
                ks = night.pairs_with_room(n)
                if len(ks):
                    room = night.book.offer_room()[night.problem.pair_offer[ks]]
                    night.place(n, int(ks[np.argmin(room)]))
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import numpy as np

from allocator.core.evaluate import block_funding, chosen_from_solution
from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import Solution, Status
from allocator.exact.solve import finish, solve_model, warm_start_values
from allocator.nightly.continuity import nightly_model
from allocator.simulate.book import Book, Night
from allocator.simulate.subproblem import subproblem
from allocator.solvers import certify, solve
from allocator.store.book import Pin


@runtime_checkable
class Policy(Protocol):
    """A brokerage policy: places the night's referrals through ``night``.

    ``decide`` is called every night: once per group of referrals waiting (first priorities,
    then the others), and once with no referral on a night when nobody waits (a policy that
    moves people in care may still move them then)."""

    name: str

    def decide(self, night: Night) -> None: ...


class FirstCome:
    """Today's practice (DESIGN.md 9.5): arrival order, best DPS score with room, else wait.

    Parameters
    ----------
    quality_points, price_points
        Points of the DPS ranking (60 / 40 in the seed councils' portals).
    """

    name = "first_come"

    def __init__(self, quality_points: float = 60.0, price_points: float = 40.0):
        self.quality_points = float(quality_points)
        self.price_points = float(price_points)

    def decide(self, night: Night) -> None:
        p = night.problem
        for n in night.referrals:
            ks = night.pairs_with_room(int(n))
            if len(ks) == 0:
                continue
            night.place(int(n), int(ks[self.best(p, ks)]))

    def score(self, p: Problem, ks: np.ndarray) -> np.ndarray:
        """DPS score of each pair among ``ks`` (the responses to one referral)."""
        price = p.offer_price[p.pair_offer[ks]]
        cheapest = float(price.min())
        # a free offer scores full price points; beside a free one, a priced one scores none
        price_score = np.divide(cheapest, price, out=np.ones(len(ks)), where=price > 0)
        quality = p.provider_quality[p.pair_provider[ks]]
        return self.quality_points * quality / 100.0 + self.price_points * price_score

    def best(self, p: Problem, ks: np.ndarray) -> int:
        """Position in ``ks`` of the best-ranked pair (ties: the first offer)."""
        return int(np.argmax(self.score(p, ks)))


class Nightly:
    """The engine's nightly run on the night's referrals, people in care pinned.

    Each call builds the model of DESIGN.md section 4 on a cut of the market
    (:func:`allocator.simulate.subproblem.subproblem`): the referrals that have an eligible
    offer with room, the pairs that fit, and the capacities and block volumes the people in
    care leave. It is solved exactly (``allocator.solvers.solve``) - a few hundred needs on a
    county, well under a second.

    With ``moves=K``: if referrals are left waiting, or someone in care has a cheaper offer
    with room, a second model adds *candidates* - people in care at an offer a waiting referral
    could use, who have another offer with room, and people on packages of hours whose move
    would save more than the transfer penalty (supported-living tenants only move to let a
    referral in) - free to move (continuity's ``--max-moves`` model:
    :func:`allocator.nightly.continuity.nightly_model`), at most K moves a night in all,
    warm-started from the pinned answer. Candidates are limited to ``max_candidates`` (the
    cheapest moves first, a few per offer), so a chain of moves through offers that are full
    is only found among them: the moves model is exact on its candidates, not on the book.

    Parameters
    ----------
    moves
        None: people in care stay (``nightly``); K: at most K of them move a night.
    params
        The exact solver's parameters (``threads=1`` keeps replications independent).
    max_candidates
        Most people in care offered a move in one model.
    """

    def __init__(self, moves: int | None = None, params: SolveParams | None = None,
                 max_candidates: int = 30):
        if moves is not None and moves < 0:
            raise ValueError(f"moves must be >= 0, got {moves}")
        self.moves = moves
        self.params = params or SolveParams(solver="highs", time_limit=10.0, gap=1e-4,
                                            threads=1)
        self.max_candidates = int(max_candidates)
        self.name = "nightly" if moves is None else f"nightly_moves:{moves}"
        self.solves = 0
        self.solve_s = 0.0
        self.failures = 0  # solves with no answer (the referrals wait)
        self.time_limited = 0  # answers found at the time limit, not proven within the gap

    def decide(self, night: Night) -> None:
        book = night.book
        p = night.problem
        refs = np.asarray(night.referrals, dtype=np.int64)
        budget = 0 if self.moves is None else self.moves - night.moves_made
        if len(refs) == 0 and budget <= 0:
            return
        room_o, room_p, room_h = book.offer_room(), book.provider_room(), _holder_left(book)
        # pairs of the referrals that fit on their own: no other pair can ever be chosen
        keep = np.zeros(p.n_pairs, dtype=bool)
        for n in refs:
            ks = night.pairs_with_room(int(n))
            keep[ks] = True
        placeable = refs[np.isin(refs, p.pair_need[keep])]
        chosen: dict[int, int] = {}
        if len(placeable):
            cut, kp = subproblem(p, placeable, keep, offer_capacity=room_o,
                                 provider_capacity=room_p, holder_volume=room_h)
            result = self._solve(cut)
            if result is not None:
                ch = chosen_from_solution(cut, result)
                served = np.nonzero(ch >= 0)[0]
                chosen = {int(placeable[i]): int(kp[ch[i]]) for i in served}
        if budget > 0:
            moved = self._with_moves(night, refs, chosen, budget)
            if moved is not None:
                chosen = moved
        night.assign(chosen)

    # ------------------------------------------------------------------ solving

    def _solve(self, cut: Problem) -> Solution | None:
        t0 = time.perf_counter()
        result = solve(cut, self.params)
        self._count(result.status, t0)
        if not result.status.has_solution or result.solution is None:
            return None
        return result.solution

    def _count(self, status: Status, t0: float) -> None:
        self.solves += 1
        self.solve_s += time.perf_counter() - t0
        if not status.has_solution:
            self.failures += 1
        elif status is not Status.optimal:
            self.time_limited += 1

    def _with_moves(self, night: Night, refs: np.ndarray, chosen: dict[int, int],
                    budget: int) -> dict[int, int] | None:
        """Tonight's placements with the moves of the moves model, or None (no moves model).

        The pinned answer's placements stay; the model holds the referrals it left waiting
        that could use an offer a candidate would leave, and the candidates.
        """
        book = night.book
        p = night.problem
        waiting = refs[~np.isin(refs, np.fromiter(chosen, dtype=np.int64, count=len(chosen)))]
        cands = move_candidates(book, waiting, chosen, self.max_candidates, budget)
        if len(cands) == 0:
            return None
        cand_k = book.pair[cands]
        seat = np.zeros(p.n_offers, dtype=bool)
        seat[p.pair_offer[cand_k]] = True
        hopeful = np.array([n for n in waiting if seat[p.pair_offer[book.pairs(int(n))]].any()],
                           dtype=np.int64)
        needs = np.concatenate([hopeful, cands])
        # room: what tonight's placements leave, plus what the candidates hold (theirs to keep
        # or leave in this model)
        placed_k = np.fromiter(chosen.values(), dtype=np.int64, count=len(chosen))
        room_o = (book.offer_room()
                  - np.bincount(p.pair_offer[placed_k], weights=p.pair_use[placed_k],
                                minlength=p.n_offers)
                  + np.bincount(p.pair_offer[cand_k], weights=p.pair_use[cand_k],
                                minlength=p.n_offers))
        hk_in = cand_k[p.pair_hours[cand_k]]
        hk_out = placed_k[p.pair_hours[placed_k]]
        room_p = (book.provider_room()
                  - np.bincount(p.pair_provider[hk_out], weights=p.pair_use[hk_out],
                                minlength=p.n_providers)
                  + np.bincount(p.pair_provider[hk_in], weights=p.pair_use[hk_in],
                                minlength=p.n_providers))
        room_h = _holder_left(book, exclude=cands, add=chosen)
        keep = np.zeros(p.n_pairs, dtype=bool)
        for n in needs:
            ks = book.pairs(int(n))
            ks = ks[p.pair_use[ks] <= room_o[p.pair_offer[ks]] * (1 + 1e-9) + 1e-9]
            keep[ks] = True
        keep[cand_k] = True
        current = np.concatenate([np.full(len(hopeful), -1, dtype=np.int64),
                                  p.pair_provider[cand_k]])
        cut, kp = subproblem(p, needs, keep, offer_capacity=room_o, provider_capacity=room_p,
                             holder_volume=room_h, current_provider=current)
        pins = {p.need_ids[int(n)]: Pin(provider=p.provider_ids[p.pair_provider[k]],
                                         offer=p.offer_ids[p.pair_offer[k]])
                for n, k in zip(cands, cand_k, strict=True)}
        nm = nightly_model(cut, pins, set(), max_moves=budget)
        start_assignment = {nid: pin.offer or "" for nid, pin in pins.items()}
        t0 = time.perf_counter()
        start = warm_start_values(nm.problem, nm.model, Solution(assignment=start_assignment))
        kind = self.params.objective or cut.objective_kind
        res, phases = solve_model(nm.model, self.params, kind, warm_start=start)
        result = certify(finish(nm.problem, nm.model, res, phases, self.params.solver, t0, 0.0),
                         self.params, kind)
        self._count(result.status, t0)
        if not result.status.has_solution or result.solution is None:
            return None
        # nightly_model may have dropped pairs: map its pairs back through the cut
        ch = chosen_from_solution(nm.problem, result.solution)
        cut_pair = _pair_lookup(cut, nm.problem)
        out: dict[int, int] = dict(chosen)
        for i in np.nonzero(ch >= 0)[0]:
            out[int(needs[i])] = int(kp[cut_pair[ch[i]]])
        return out


def _pair_lookup(cut: Problem, restricted: Problem) -> np.ndarray:
    """Index in ``cut`` of each pair of ``restricted`` (a subset of cut's pairs, same needs)."""
    key_cut = cut.pair_need * (cut.n_offers + 1) + cut.pair_offer
    key_res = restricted.pair_need * (cut.n_offers + 1) + restricted.pair_offer
    order = np.argsort(key_cut, kind="stable")
    pos = np.searchsorted(key_cut[order], key_res)
    return order[pos]


def _holder_left(book: Book, exclude: np.ndarray | None = None,
                 add: dict[int, int] | None = None) -> np.ndarray:
    """Block volume left for new work: what the people in care (but ``exclude``), and the
    placements ``add`` (need -> pair), do not use."""
    p = book.problem
    if p.n_holders == 0:
        return np.zeros(0)
    chosen = book.chosen().copy()
    if exclude is not None and len(exclude):
        chosen[exclude] = -1
    for n, k in (add or {}).items():
        chosen[n] = k
    bq = block_funding(p, chosen, book.holder_volume)
    sel = chosen[chosen >= 0]
    hk = sel[p.pair_holder[sel] >= 0]
    used = np.bincount(p.pair_holder[hk], weights=bq[hk], minlength=p.n_holders)
    return np.maximum(book.holder_volume - used, 0.0)


def move_candidates(book: Book, waiting: np.ndarray, chosen: dict[int, int], limit: int,
                    budget: int) -> np.ndarray:
    """People in care worth offering a move tonight (see :class:`Nightly`).

    Two kinds, each with another eligible offer that has room for them now: people at an
    offer one of ``waiting`` could use (a move lets that referral in), and people on a
    package of hours whose move would cost less than staying by more than the transfer
    penalty (a supported-living tenant is not moved home to save money). At most ``limit``,
    and at most ``max(2 * budget, 5)`` per offer, cheapest moves first.
    """
    p = book.problem
    in_care = book.in_care()
    if len(in_care) == 0 or limit <= 0:
        return np.zeros(0, dtype=np.int64)
    cur = book.pair[in_care]
    cur_cost = p.pair_cost_x[cur]
    # offers the waiting referrals could use
    wanted = np.zeros(p.n_offers, dtype=bool)
    for n in waiting:
        wanted[p.pair_offer[book.pairs(int(n))]] = True
    # every pair of the people in care, to an open offer with room, other than their own
    order, start = p.pairs_by_need
    lens = start[in_care + 1] - start[in_care]
    owner = np.repeat(np.arange(len(in_care)), lens)
    idx = np.concatenate([order[start[n]:start[n + 1]] for n in in_care]) if len(in_care) \
        else np.zeros(0, dtype=np.int64)
    other = p.pair_offer[idx] != p.pair_offer[cur[owner]]
    fits = book.fits(idx) & (book.offer_capacity[p.pair_offer[idx]] > 0) & other
    # seats taken by tonight's placements are not free any more
    taken = np.zeros(p.n_offers)
    for k in chosen.values():
        taken[p.pair_offer[k]] += p.pair_use[k]
    fits &= p.pair_use[idx] <= book.offer_room()[p.pair_offer[idx]] - taken[p.pair_offer[idx]]
    idx, owner = idx[fits], owner[fits]
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    transfer = np.where(p.pair_provider[idx] != p.pair_provider[cur[owner]], p.transfer_penalty,
                        0.0)
    extra = p.pair_cost_x[idx] + transfer - cur_cost[owner]  # cost of moving this week
    best = np.full(len(in_care), np.inf)
    np.minimum.at(best, owner, extra)
    movable = np.isfinite(best)
    helps = movable & wanted[p.pair_offer[cur]]
    # a move to save money is offered to people on packages of hours only: a supported-living
    # tenant moves home only to let a waiting referral in. Measured on the Devon-like county
    # (replications 0 and 3 of seed 1): money-saving moves of tenants, about a fifth of all
    # moves, filled the vacancies later placements needed; without them unmet beds fell from
    # 7.26 to 4.93 and 5.28 to 0.54, and unmet hours fell too (the night's budget of moves
    # went to packages instead)
    saves = movable & (best < -1e-9) & p.pair_hours[cur]
    pick = np.nonzero(helps | saves)[0]
    if len(pick) == 0:
        return np.zeros(0, dtype=np.int64)
    pick = pick[np.lexsort((pick, best[pick]))]
    per_offer = max(2 * budget, 5)
    offer_of = p.pair_offer[cur[pick]]
    rank = np.zeros(len(pick), dtype=np.int64)
    seen: dict[int, int] = {}
    for i, o in enumerate(offer_of):
        rank[i] = seen.get(int(o), 0)
        seen[int(o)] = rank[i] + 1
    pick = pick[rank < per_offer][:limit]
    return in_care[np.sort(pick)]


def parse_policy(spec: str, *, params: SolveParams | None = None,
                 quality_points: float = 60.0, price_points: float = 40.0,
                 max_candidates: int = 30) -> Policy:
    """A policy from its name: ``first_come``, ``nightly`` or ``nightly_moves:K``.

    Raises
    ------
    ValueError
        For an unknown name or a bad K (the message lists the names).
    """
    name, _, arg = spec.strip().partition(":")
    if name == "first_come" and not arg:
        return FirstCome(quality_points, price_points)
    if name == "nightly" and not arg:
        return Nightly(None, params, max_candidates)
    if name == "nightly_moves":
        try:
            k = int(arg)
        except ValueError:
            k = -1
        if k < 0:
            raise ValueError(f"policy {spec!r}: nightly_moves needs a number of moves >= 0, "
                             "e.g. nightly_moves:5")
        return Nightly(k, params, max_candidates)
    raise ValueError(f"unknown policy {spec!r}; choose first_come, nightly or nightly_moves:K")
