"""An independent check of a solution: every constraint and the objective, recomputed.

This module is the engine's second implementation of DESIGN.md sections 4, 5 and 8. It works
on the raw :class:`allocator.instance.schema.Instance` and its ids only and shares no code with the
model builders, so that a bug in one is caught by the other. Every solver's output passes
through :func:`check` in the tests.

Conventions settled here (DESIGN.md leaves them open):

* Design mode (DESIGN.md section 5) is on when the solution carries awards or scenario
  allocations, or when asked for (``mode="design"``); only then do the per-lot limits of a
  ``block`` section (providers, shares) and the scenarios apply. Otherwise the solution is
  an allocation (section 4) of the instance's own needs: bids and scenarios are not used.
* A provider holding both a contract in force and an awarded bid in one lot has one block
  pool there, of the summed volume.
* Clarification 4 (no share row where D[l] = 0) is applied to the design share bounds too.
* An ``if_awarded`` offer (DESIGN.md 9.1) exists where its provider holds a block in that lot,
  in force or awarded (an award at volume 0 counts); elsewhere any use of it is a violation.
* Travel factors scale the offer's capacity use as given, on ``beds`` offers too (the
  formula of section 4 as written; validation does not reject them); provider capacity
  counts ``hours`` offers only.
"""

from __future__ import annotations

import math
import numbers
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from allocator.core.result import TERMS, Solution
from allocator.instance.schema import (
    COMPLEXITY_RANK,
    UNIT_OF_KIND,
    Instance,
    Lot,
    Need,
    Offer,
    Provider,
)

Pool = tuple[str, str]  # (provider id, lot id)
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check` found.

    violations
        One sentence per broken rule, naming the need / offer / provider / lot and the numbers.
    terms
        The objective's terms (:data:`allocator.core.result.TERMS`) recomputed from the solution.
    objective
        Their sum (for a lexicographic policy too: the full objective).
    """

    violations: list[str]
    terms: dict[str, float]
    objective: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self, limit: int = 10) -> str:
        """One line when the solution is sound, else the first ``limit`` violations."""
        terms = ", ".join(f"{name} {self.terms.get(name, 0.0):,.4f}" for name in TERMS)
        head = f"objective {self.objective:,.4f} ({terms})"
        if self.ok:
            return f"ok: {head}"
        lines = [f"{len(self.violations)} violation(s); {head}"]
        lines += [f"  - {v}" for v in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"  ... and {len(self.violations) - limit} more")
        return "\n".join(lines)


def check(
    instance_or_problem: Any,
    solution: Solution,
    *,
    reported: Any = None,
    tol: float = 1e-6,
    mode: str = "auto",
) -> CheckReport:
    """Recompute every constraint and the objective of ``solution`` from scratch.

    Parameters
    ----------
    instance_or_problem
        An :class:`~allocator.instance.schema.Instance`, or any object whose ``instance`` attribute
        holds one (the frozen problem does).
    solution
        The allocation in the instance's ids. In design mode ``awards`` gives the awarded
        bids' volumes; with scenarios ``scenarios`` gives each scenario's allocation (the
        top-level assignment is then not used).
    reported
        Optional :class:`~allocator.core.result.Result` or mapping with ``objective`` and
        ``terms``; each is compared with the recomputed value.
    tol
        Relative tolerance, applied as ``tol * max(1, |reference|)``.
    mode
        ``"allocation"`` (section 4), ``"design"`` (section 5), or ``"auto"``: design when
        the solution has awards or scenario allocations.

    Returns
    -------
    CheckReport
        The violations found (empty when the solution is feasible and, if given, the
        reported values match), the recomputed terms and objective.
    """
    instance = _instance_of(instance_or_problem)
    if mode not in ("auto", "allocation", "design"):
        raise ValueError(f"mode must be 'auto', 'allocation' or 'design', not {mode!r}")
    design = mode == "design" or (
        mode == "auto" and (bool(solution.awards) or bool(solution.scenarios))
    )
    checker = _Checker(instance, tol, design)
    checker.check_numbers(solution)
    terms = checker.run(solution)
    if reported is not None:
        checker.compare(terms, reported)
        tables = reported.get("tables") if isinstance(reported, Mapping) else None
        if isinstance(tables, Mapping) and "assignments" in tables:
            checker.check_assignment_table(tables["assignments"], solution)
    return CheckReport(
        violations=checker.violations,
        terms=terms,
        objective=sum(terms.values()),
        notes=checker.notes,
    )


def _finite(value: Any) -> bool:
    """A real, finite number (not NaN, not infinite, not a boolean or text)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(float(value))


def _instance_of(obj: Any) -> Instance:
    if isinstance(obj, Instance):
        return obj
    inner = getattr(obj, "instance", None)
    if isinstance(inner, Instance):
        return inner
    raise TypeError(f"expected an Instance or an object with .instance, got {type(obj).__name__}")


@overload
def _pairs(mapping: Mapping[K, V]) -> list[tuple[K, V]]: ...


@overload
def _pairs(mapping: Iterable[tuple[K, V]]) -> list[tuple[K, V]]: ...


def _pairs(mapping: Mapping[K, V] | Iterable[tuple[K, V]]) -> list[tuple[K, V]]:
    # A list of pairs is accepted as well as a mapping, so a duplicated need can be seen.
    if isinstance(mapping, Mapping):
        return list(mapping.items())
    return [tuple(item) for item in mapping]  # type: ignore[misc]


def lot_of_cell(lots: Sequence[Lot], zone: str, service: str, complexity: str) -> Lot | None:
    """The lot holding cell (zone, service, complexity), or None."""
    for lot in lots:
        if zone in lot.zones and service in lot.services and complexity in lot.complexities:
            return lot
    return None


def demand_by_lot(lots: Sequence[Lot], needs: Iterable[Need]) -> dict[str, float]:
    """D[l]: the total quantity of the needs whose own cell is in lot l."""
    demand = {lot.id: 0.0 for lot in lots}
    for need in needs:
        lot = lot_of_cell(lots, need.zone, need.service, need.complexity)
        if lot is not None:
            demand[lot.id] += need.quantity
    return demand


def scenario_needs(instance: Instance, scenario_id: str) -> list[Need]:
    """The needs of one scenario (clarification 9)."""
    scenario = next(s for s in instance.scenarios if s.id == scenario_id)
    if scenario.needs is not None:
        return list(scenario.needs)
    factor = 1.0 if scenario.demand_multiplier is None else scenario.demand_multiplier
    return [
        need.model_copy(update={"quantity": need.quantity * factor})
        if need.kind == "package"
        else need
        for need in instance.needs
    ]


def ineligibility(need: Need, offer: Offer, provider: Provider, min_quality: float,
                  lot: Lot | None = None) -> str | None:
    """Why (need, offer) is not an eligible pair of DESIGN.md section 4, or None.

    ``lot`` is the lot holding the pair's cell (offer zone, need service, need complexity), if
    any: its ``min_quality`` (DESIGN.md 9.2) is a threshold on top of ``min_quality``.
    """
    if offer.zone not in need.zones:
        return f"offer zone {offer.zone} is not among the need's acceptable zones {need.zones}"
    if offer.service != need.service:
        return f"offer service {offer.service} differs from the need's {need.service}"
    if offer.unit != UNIT_OF_KIND[need.kind]:
        return f"offer unit {offer.unit} does not serve a {need.kind}"
    if COMPLEXITY_RANK[need.complexity] > COMPLEXITY_RANK[offer.max_complexity]:
        return f"need complexity {need.complexity} exceeds the offer's {offer.max_complexity}"
    if offer.care_groups and need.care_group not in offer.care_groups:
        return f"care group {need.care_group} is not among the offer's {offer.care_groups}"
    if provider.quality < min_quality:
        return (
            f"provider {provider.id} quality {provider.quality:g} is below "
            f"min_framework_quality {min_quality:g}"
        )
    if lot is not None and provider.quality < lot.min_quality:
        return (
            f"provider {provider.id} quality {provider.quality:g} is below lot {lot.id}'s "
            f"min_quality {lot.min_quality:g}"
        )
    return None


class _Checker:
    """Holds the instance's lookups and the violations found so far."""

    def __init__(self, instance: Instance, tol: float, design: bool):
        self.instance = instance
        self.tol = tol
        self.violations: list[str] = []
        self.notes: list[str] = []
        self.providers = {p.id: p for p in instance.providers}
        self.offers: dict[str, Offer] = {}
        for offer in instance.offers:
            self.offers.setdefault(offer.key, offer)
        self.lots = {lot.id: lot for lot in instance.lots}
        self.design = design
        self.policy = instance.policy

    def slack(self, rhs: float) -> float:
        return self.tol * max(1.0, abs(rhs))

    def flag(self, message: str) -> None:
        self.violations.append(message)

    # ---- top level -------------------------------------------------------------------

    def run(self, solution: Solution) -> dict[str, float]:
        volumes: dict[Pool, float] = defaultdict(float)
        block_cost = 0.0
        for contract in self.instance.block_contracts:
            volumes[(contract.provider, contract.lot)] += contract.volume
            block_cost += contract.rate * contract.volume
        awarded, award_cost = self.check_awards(solution.awards)
        block_cost += award_cost
        for pool, volume in awarded.items():
            volumes[pool] += volume

        terms = dict.fromkeys(TERMS, 0.0)
        terms["block"] = block_cost
        if self.design and self.instance.scenarios:
            expected: dict[str, float] = defaultdict(float)
            known = {s.id for s in self.instance.scenarios}
            for name in solution.scenarios:
                if name not in known:
                    self.flag(f"solution has an allocation for unknown scenario {name!r}")
            for scenario in self.instance.scenarios:
                needs = scenario_needs(self.instance, scenario.id)
                for lot_id, d in demand_by_lot(self.instance.lots, needs).items():
                    expected[lot_id] += scenario.weight * d
                allocation = solution.scenarios.get(scenario.id)
                if allocation is None:
                    self.flag(f"scenario {scenario.id}: no allocation in the solution")
                    allocation = Solution(assignment={})
                recourse = self.check_allocation(
                    needs, allocation, volumes, f"scenario {scenario.id}: "
                )
                for name, value in recourse.items():
                    terms[name] += scenario.weight * value
            demand = dict(expected)
        else:
            if solution.scenarios:
                self.flag("solution has scenario allocations but the instance has no scenarios"
                          if not self.instance.scenarios else
                          "scenario allocations given to an allocation (not design) check")
            recourse = self.check_allocation(self.instance.needs, solution, volumes, "")
            for name, value in recourse.items():
                terms[name] += value
            demand = demand_by_lot(self.instance.lots, self.instance.needs)
        if self.design:
            self.check_lot_limits(awarded, demand)
            self.check_targets(awarded, demand)
        return terms

    def check_numbers(self, solution: Solution, where: str = "") -> None:
        """Every number of the solution is finite (NaN passes every ``<`` test silently)."""
        for need_id, quantity in _pairs(solution.block):
            if not _finite(quantity):
                self.flag(f"{where}need {need_id}: block quantity {quantity!r} is not a finite "
                          "number")
        for key, volume in _pairs(solution.awards):
            if not _finite(volume):
                self.flag(f"{where}award {tuple(key)}: volume {volume!r} is not a finite number")
        for sid, sub in solution.scenarios.items():
            self.check_numbers(Solution(assignment={}, block=sub.block, awards=sub.awards),
                               f"scenario {sid}: ")

    def check_assignment_table(self, rows: Any, solution: Solution) -> None:
        """The result's ``assignments`` table says what the solution says, once per need."""
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            self.flag("tables.assignments is not a list of rows")
            return
        per: dict[str, dict[str, str]] = defaultdict(dict)
        for i, row in enumerate(rows, start=1):
            sid = str(row.get("scenario") or "")
            where = f"tables.assignments row {i}" + (f" (scenario {sid})" if sid else "")
            need, offer = row.get("need"), row.get("offer")
            if not isinstance(need, str) or not isinstance(offer, str):
                self.flag(f"{where}: need and offer must be ids, got {need!r}, {offer!r}")
                continue
            for name in ("quantity", "block_quantity", "framework_cost",
                         "quality_zone_cost"):
                if name in row and not _finite(row[name]):
                    self.flag(f"{where}: need {need}: {name} {row[name]!r} is not a finite "
                              "number")
            if need in per[sid]:
                self.flag(f"{where}: need {need} is listed more than once in the assignments "
                          "table")
                continue
            per[sid][need] = offer
        allocations = ({sid: sub.assignment for sid, sub in solution.scenarios.items()}
                       if solution.scenarios else {"": solution.assignment})
        for sid, assignment in allocations.items():
            table = per.get(sid, {})
            label = f"scenario {sid}: " if sid else ""
            for need, offer in _pairs(assignment):
                if need not in table:
                    self.flag(f"{label}need {need} is assigned in the solution but missing from "
                              "the assignments table")
                elif table[need] != offer:
                    self.flag(f"{label}need {need}: the assignments table says {table[need]}, "
                              f"the solution {offer}")
            extra = set(table) - {n for n, _ in _pairs(assignment)}
            for need in sorted(extra):
                self.flag(f"{label}need {need} is in the assignments table but not assigned in "
                          "the solution")
        unknown = set(per) - set(allocations)
        for sid in sorted(unknown):
            self.flag(f"tables.assignments has rows for scenario {sid!r}, which the solution "
                      "does not have")

    def compare(self, terms: dict[str, float], reported: Any) -> None:
        if isinstance(reported, Mapping):
            objective = reported.get("objective")
            their_terms = reported.get("terms", {}) or {}
        else:
            objective = getattr(reported, "objective", None)
            their_terms = getattr(reported, "terms", {}) or {}
        ours = sum(terms.values())
        if not isinstance(their_terms, Mapping):
            self.flag(f"reported terms are not a mapping: {their_terms!r}")
            their_terms = {}
        bad = [name for name, v in their_terms.items() if not _finite(v)]
        for name in bad:
            self.flag(f"reported term {name!r} {their_terms[name]!r} is not a finite number")
        their_terms = {k: v for k, v in their_terms.items() if k not in bad}
        if objective is not None and not _finite(objective):
            self.flag(f"reported objective {objective!r} is not a finite number (recomputed "
                      f"{ours:.6f})")
        elif objective is None:
            self.flag(f"no objective reported (recomputed {ours:.6f})")
        elif abs(objective - ours) > self.slack(ours):
            self.flag(f"reported objective {objective:.6f} differs from recomputed {ours:.6f}")
        for name in TERMS:
            if name in bad:
                continue
            if name not in their_terms:
                self.flag(f"term {name!r} not reported (recomputed {terms[name]:.6f})")
            elif abs(their_terms[name] - terms[name]) > self.slack(terms[name]):
                self.flag(
                    f"reported term {name!r} {their_terms[name]:.6f} differs from "
                    f"recomputed {terms[name]:.6f}"
                )
        for name in their_terms:
            if name not in TERMS:
                self.flag(f"reported term {name!r} is not one of {TERMS}")

    # ---- design mode -----------------------------------------------------------------

    def check_awards(self, awards: Mapping[Pool, float]) -> tuple[dict[Pool, float], float]:
        bids = {(b.provider, b.lot): b for b in self.instance.block_bids}
        awarded: dict[Pool, float] = {}
        cost = 0.0
        for key, volume in _pairs(awards):
            provider_id, lot_id = key
            bid = bids.get((provider_id, lot_id))
            if bid is None:
                self.flag(f"award ({provider_id}, {lot_id}) of volume {volume:g}: no such bid")
                continue
            if (provider_id, lot_id) in awarded:
                self.flag(f"award ({provider_id}, {lot_id}) appears more than once")
                continue
            if volume < bid.min_volume - self.slack(bid.min_volume):
                self.flag(
                    f"award ({provider_id}, {lot_id}): volume {volume:g} below the bid's "
                    f"min_volume {bid.min_volume:g}"
                )
            if volume > bid.max_volume + self.slack(bid.max_volume):
                self.flag(
                    f"award ({provider_id}, {lot_id}): volume {volume:g} above the bid's "
                    f"max_volume {bid.max_volume:g}"
                )
            lot = self.lots.get(lot_id)
            provider = self.providers.get(provider_id)
            if lot is not None and provider is not None:
                # DESIGN.md 5 (block.min_quality); a provider below the lot's min_quality
                # (9.2) or min_framework_quality (clarification 5) could do no work under it
                for name, floor in (("the lot's block min_quality",
                                     lot.block.min_quality if lot.block is not None else 0.0),
                                    ("the lot's min_quality", lot.min_quality),
                                    ("the policy's min_framework_quality",
                                     self.policy.min_framework_quality)):
                    if provider.quality < floor:
                        self.flag(
                            f"award ({provider_id}, {lot_id}): provider quality "
                            f"{provider.quality:g} is below {name} {floor:g}, the bid is not "
                            "awardable"
                        )
                        break
            awarded[(provider_id, lot_id)] = volume
            cost += bid.award_cost + bid.rate * volume
        return awarded, cost

    def check_lot_limits(self, awarded: Mapping[Pool, float], demand: Mapping[str, float]) -> None:
        for lot in self.instance.lots:
            rules = lot.block
            if rules is None:
                continue
            pools = [pool for pool in awarded if pool[1] == lot.id]
            count = len(pools)
            volume = sum(awarded[pool] for pool in pools)
            if count < rules.min_providers:
                self.flag(
                    f"lot {lot.id}: {count} block provider(s) awarded, fewer than "
                    f"min_providers {rules.min_providers}"
                )
            if rules.max_providers is not None and count > rules.max_providers:
                self.flag(
                    f"lot {lot.id}: {count} block provider(s) awarded, more than "
                    f"max_providers {rules.max_providers}"
                )
            d = demand.get(lot.id, 0.0)
            if d <= 0:
                continue
            low, high = rules.min_share * d, rules.max_share * d
            if volume < low - self.slack(low):
                self.flag(
                    f"lot {lot.id}: awarded block volume {volume:g} below min_share "
                    f"{rules.min_share:g} x D {d:g} = {low:g}"
                )
            if volume > high + self.slack(high):
                self.flag(
                    f"lot {lot.id}: awarded block volume {volume:g} above max_share "
                    f"{rules.max_share:g} x D {d:g} = {high:g}"
                )

    def check_targets(self, awarded: Mapping[Pool, float], demand: Mapping[str, float]) -> None:
        """DESIGN.md 9.3: block share and distinct providers over each target's lots."""
        for target in self.instance.design_targets:
            lots = set(target.lots)
            pools = [pool for pool in awarded if pool[1] in lots]
            count = len({provider for provider, _ in pools})
            if count < target.min_providers:
                self.flag(
                    f"design target {target.id}: {count} distinct block provider(s) awarded "
                    f"in lots {', '.join(target.lots)}, fewer than min_providers "
                    f"{target.min_providers}"
                )
            if target.max_providers is not None and count > target.max_providers:
                self.flag(
                    f"design target {target.id}: {count} distinct block provider(s) awarded "
                    f"in lots {', '.join(target.lots)}, more than max_providers "
                    f"{target.max_providers}"
                )
            d = sum(demand.get(lot_id, 0.0) for lot_id in lots)
            if d <= 0:
                continue
            volume = sum(awarded[pool] for pool in pools)
            low, high = target.min_block_share * d, target.max_block_share * d
            if volume < low - self.slack(low):
                self.flag(
                    f"design target {target.id}: awarded block volume {volume:g} below "
                    f"min_block_share {target.min_block_share:g} x D {d:g} = {low:g}"
                )
            if volume > high + self.slack(high):
                self.flag(
                    f"design target {target.id}: awarded block volume {volume:g} above "
                    f"max_block_share {target.max_block_share:g} x D {d:g} = {high:g}"
                )

    # ---- one allocation (the base week, or one scenario) -----------------------------

    def check_allocation(
        self,
        needs: Sequence[Need],
        solution: Solution,
        volumes: Mapping[Pool, float],
        where: str,
    ) -> dict[str, float]:
        policy = self.policy
        by_id = {need.id: need for need in needs}
        served: dict[str, tuple[Offer, Lot | None]] = {}

        for need_id, offer_id in _pairs(solution.assignment):
            need = by_id.get(need_id)
            if need is None:
                self.flag(f"{where}assignment of unknown need {need_id!r} to {offer_id!r}")
                continue
            if need_id in served:
                self.flag(
                    f"{where}need {need_id} is assigned more than once "
                    f"({served[need_id][0].key} and {offer_id})"
                )
                continue
            offer = self.offers.get(offer_id)
            if offer is None:
                self.flag(f"{where}need {need_id} is assigned to unknown offer {offer_id!r}")
                continue
            provider = self.providers.get(offer.provider)
            if provider is None:
                self.flag(f"{where}offer {offer_id} names unknown provider {offer.provider!r}")
                continue
            lot = lot_of_cell(self.instance.lots, offer.zone, need.service, need.complexity)
            reason = ineligibility(need, offer, provider, policy.min_framework_quality, lot)
            if reason is not None:
                self.flag(f"{where}need {need_id} -> offer {offer_id} is not eligible: {reason}")
            if lot is not None and not lot.framework and (offer.provider, lot.id) not in volumes:
                self.flag(
                    f"{where}need {need_id} -> offer {offer_id}: lot {lot.id} has no framework "
                    f"and provider {offer.provider} holds no block contract or award there"
                )
            served[need_id] = (offer, lot)

        block: dict[str, float] = {}
        for need_id, quantity in _pairs(solution.block):
            need = by_id.get(need_id)
            if need is None:
                self.flag(f"{where}block quantity {quantity:g} for unknown need {need_id!r}")
                continue
            if need_id in block:
                self.flag(f"{where}need {need_id} has more than one block quantity")
                continue
            if need_id not in served:
                if abs(quantity) <= self.tol:
                    continue  # an explicit zero for an unmet need is harmless
                self.flag(f"{where}need {need_id} is unmet but has block quantity {quantity:g}")
                continue
            if quantity < -self.slack(need.quantity):
                self.flag(f"{where}need {need_id}: negative block quantity {quantity:g}")
            if quantity > need.quantity + self.slack(need.quantity):
                self.flag(
                    f"{where}need {need_id}: block quantity {quantity:g} exceeds its quantity "
                    f"{need.quantity:g}"
                )
            offer, lot = served[need_id]
            if quantity > self.tol and (lot is None or (offer.provider, lot.id) not in volumes):
                self.flag(
                    f"{where}need {need_id} -> offer {offer.key}: block quantity {quantity:g} "
                    f"but provider {offer.provider} holds no block in "
                    f"{'no lot' if lot is None else 'lot ' + lot.id}"
                )
            block[need_id] = quantity

        offer_use: dict[str, float] = defaultdict(float)
        provider_use: dict[str, float] = defaultdict(float)
        pool_use: dict[Pool, float] = defaultdict(float)
        share_use: dict[Pool, float] = defaultdict(float)
        terms = dict.fromkeys(TERMS[1:], 0.0)
        for need in needs:
            pair = served.get(need.id)
            if pair is None:
                continue
            offer, lot = pair
            q = need.quantity
            use = q * offer.travel_factor
            offer_use[offer.key] += use
            if offer.unit == "hours":
                provider_use[offer.provider] += use
            b = block.get(need.id, 0.0)
            if lot is not None:
                pool_use[(offer.provider, lot.id)] += b
                share_use[(offer.provider, lot.id)] += q
                if not lot.framework and abs(b - q) > self.slack(q):
                    self.flag(
                        f"{where}need {need.id} -> offer {offer.key}: lot {lot.id} has no "
                        f"framework, so its block quantity must be {q:g}, got {b:g}"
                    )
            paid = q if (lot is not None and lot.reservation) else q - b
            terms["framework"] += offer.price * paid
            quality = self.providers[offer.provider].quality
            per_unit = policy.quality_weight * (100.0 - quality) / 100.0
            if offer.zone != need.zone:
                per_unit += policy.out_of_zone_penalty
            terms["quality_zone"] += q * per_unit

        for need in needs:
            if need.id in served:
                continue
            penalty = policy.unmet_penalty.get(need.priority)
            if penalty is None:
                self.flag(f"{where}need {need.id}: priority {need.priority!r} has no penalty")
                penalty = 0.0
            terms["unmet"] += penalty * need.quantity
        for need in needs:
            if need.current_provider is None:
                continue
            pair = served.get(need.id)
            if pair is None or pair[0].provider != need.current_provider:
                terms["transfer"] += policy.transfer_penalty

        for offer_id, use in offer_use.items():
            offer = self.offers[offer_id]
            cap = offer.capacity
            gate = offer.if_awarded
            if gate is not None and (offer.provider, gate) not in volumes:
                # DESIGN.md 9.1: no block in that lot (in force or awarded), no offer
                if use > self.slack(0.0):
                    self.flag(
                        f"{where}offer {offer_id}: used {use:g} but it exists only if "
                        f"provider {offer.provider} holds a block in lot {gate}, and it "
                        f"holds none"
                    )
                continue
            if use > cap + self.slack(cap):
                self.flag(
                    f"{where}offer {offer_id}: capacity use {use:g} (with travel factor) "
                    f"exceeds its capacity {cap:g}"
                )
        for provider_id, use in provider_use.items():
            provider_cap = self.providers[provider_id].capacity
            if provider_cap is not None and use > provider_cap + self.slack(provider_cap):
                self.flag(
                    f"{where}provider {provider_id}: hours used {use:g} (with travel factors) "
                    f"exceed its capacity {provider_cap:g}"
                )
        for (provider_id, lot_id), use in pool_use.items():
            volume = volumes.get((provider_id, lot_id), 0.0)
            if use > volume + self.slack(volume):
                self.flag(
                    f"{where}provider {provider_id} in lot {lot_id}: block quantity {use:g} "
                    f"exceeds its block volume {volume:g}"
                )
        share = policy.max_provider_share
        if share is not None:
            demand = demand_by_lot(self.instance.lots, needs)
            for (provider_id, lot_id), use in share_use.items():
                d = demand[lot_id]
                if d <= 0:
                    continue
                if use > share * d + self.slack(share * d):
                    self.flag(
                        f"{where}provider {provider_id} in lot {lot_id}: serves {use:g}, more "
                        f"than max_provider_share {share:g} x D {d:g} = {share * d:g}"
                    )
        return terms
