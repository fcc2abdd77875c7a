"""The nightly run: the book in, suggestions out, recorded once, all or nothing.

:func:`run_nightly` does, under the exclusive ``nightly`` lock (a second run is refused):

1. read the book in one transaction: the market, the needs in demand, current assignments,
   rejected pairs and the book's version;
2. fingerprint the inputs (the canonical instance, the pins, the rejections and the options):
   if a run with that fingerprint is recorded, return it - a re-run on unchanged data records
   nothing new;
3. solve (:func:`plan`): the model of :mod:`allocator.nightly.continuity`, exact by default,
   and derive the suggestions and their explanations;
4. write the run and all its suggestions in ONE transaction, after checking that the book has
   not changed since step 1. A run killed before or during this step leaves nothing behind:
   the previous state is intact and the next run starts afresh.

The planning step is pure (no database), so that it can be tested on its own.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, insert, select

from allocator.core.evaluate import evaluate
from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import Result
from allocator.core.usage import Usage
from allocator.exact.solve import EXACT_SOLVERS, finish, solve_model, warm_start_values
from allocator.instance.io import dump_json
from allocator.instance.schema import Instance
from allocator.nightly.board import unmet_in_care
from allocator.nightly.continuity import NightlyModel, nightly_model, pinned_overloads
from allocator.nightly.explain import Explainer
from allocator.solvers import certify, solve
from allocator.store import book
from allocator.store import models as m
from allocator.store.book import Pin
from allocator.store.engine import transaction
from allocator.store.health import check_integrity
from allocator.store.lock import exclusive
from allocator.store.migrate import require_current

# Above this many needs free to move (new referrals, displaced needs, or everyone with
# --max-moves), solver "auto" hands the problem to the heuristic portfolio when it exists.
EXACT_MAX_FREE = 20_000


class NightlyFailed(RuntimeError):
    """The run could not produce suggestions; nothing was written."""


class BookChanged(RuntimeError):
    """The book changed while the run was solving; nothing was written."""


class NightlyOptions(BaseModel):
    """Options of a nightly run (they are part of its fingerprint)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    solver: str = "auto"  # "auto", an exact solver (highs, cbc, highs-pulp) or "heuristic"
    time_limit: float = Field(60.0, gt=0)
    gap: float = Field(1e-6, ge=0)
    max_moves: int | None = Field(None, ge=0)
    threads: int | None = Field(None, ge=1)


@dataclass(frozen=True)
class SuggestionRow:
    """One suggestion, ready to store (see :class:`allocator.store.models.Suggestion`)."""

    need_id: str
    seq: int
    action: str
    quantity: float
    provider_id: str | None = None
    offer_id: str | None = None
    from_provider_id: str | None = None
    from_offer_id: str | None = None
    block_quantity: float = 0.0
    cost: float | None = None
    saving: float | None = None
    reason: str = ""
    explanation: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """What a run computed, before anything is written."""

    result: Result
    solver: str
    suggestions: list[SuggestionRow]
    n_needs: int
    n_new: int
    baseline_objective: float | None = None
    message: str = ""
    usage: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NightlyOutcome:
    """What :func:`run_nightly` returns: the run's id and whether it was already recorded."""

    run_id: int
    reused: bool
    fingerprint: str
    status: str
    objective: float | None
    bound: float | None
    runtime_s: float
    n_new: int
    n_suggested: int
    n_unmet: int  # every need left unmet: new referrals and people in care displaced
    n_moves: int
    messages: list[str] = field(default_factory=list)
    # of n_unmet, people in care whose provider can no longer serve them and who have no place
    n_unmet_in_care: int = 0

    def summary(self) -> str:
        head = (f"run {self.run_id}" + (" (unchanged book: the recorded run)" if self.reused
                                        else ""))
        obj = "" if self.objective is None else f", objective {self.objective:,.2f}"
        bound = "" if self.bound is None else f", bound {self.bound:,.2f}"
        # the unmet count splits between the referrals and the people in care: on a book with
        # 120 people whose provider could not continue, "15 new referral(s): 13 suggested,
        # 14 unmet" read as if 14 of the 15 referrals had no place
        displaced = (f"; {self.n_unmet_in_care} in care whose provider can no longer serve "
                     "them have no place" if self.n_unmet_in_care else "")
        return (f"{head}: {self.status}{obj}{bound}, {self.runtime_s:.1f} s; "
                f"{self.n_new} new referral(s): {self.n_suggested} suggested,"
                f" {self.n_unmet - self.n_unmet_in_care} unmet; {self.n_moves} move(s)"
                f"{displaced}")


# ------------------------------------------------------------------------------- inputs


def fingerprint(instance: Instance, pins: Mapping[str, Pin], rejected: set[tuple[str, str]],
                options: NightlyOptions) -> tuple[str, str]:
    """(fingerprint of everything that determines the run, hash of the instance alone)."""
    canonical = dump_json(instance)
    instance_hash = hashlib.sha256(canonical.encode()).hexdigest()
    document = {
        "instance": instance_hash,
        "pins": sorted((n, p.provider, p.offer or "") for n, p in pins.items()),
        "rejected": sorted(rejected),
        "options": options.model_dump(mode="json"),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), instance_hash


# ------------------------------------------------------------------------------- planning


def plan(instance: Instance, pins: Mapping[str, Pin], rejected: set[tuple[str, str]],
         options: NightlyOptions) -> Plan:
    """Solve the nightly problem and derive the suggestions (no database involved).

    Raises
    ------
    NightlyFailed
        When no solution is found (the message says why).
    """
    full = Problem.from_instance(instance)
    nm = nightly_model(full, pins, rejected, options.max_moves)
    free = int(np.count_nonzero(~nm.active | nm.displaced)) if options.max_moves is None \
        else full.n_needs
    solver = _choose_solver(options.solver, free)
    baseline: Result | None = None
    if options.max_moves is not None and solver in EXACT_SOLVERS:
        # The pinned plan first: its objective is what the moves are measured against, and its
        # solution is a feasible start for the model with moves.
        pinned = nightly_model(full, pins, rejected, None)
        baseline = _solve_exact(pinned, options, solver, deadline_share=0.3)
        result = _solve_exact(nm, options, solver, warm=baseline, deadline_share=0.7)
    elif solver in EXACT_SOLVERS:
        result = _solve_exact(nm, options, solver)
    else:
        result = _solve_other(nm, options, solver)
    if not result.status.has_solution or result.solution is None:
        overloads = pinned_overloads(nm)
        if overloads:
            raise NightlyFailed("the people in care alone exceed the book's limits, so they"
                                " cannot all stay where they are: " + "; ".join(overloads[:10])
                                + ". Raise those capacities, or run with --max-moves K")
        raise NightlyFailed(f"the {solver} solve found no allocation: {result.status.value}"
                            f"{': ' + result.message if result.message else ''}")
    suggestions = _suggestions(full, nm, result, rejected, pins)
    n_new = len(instance.needs) - len(pins)
    return Plan(result=result, solver=solver, suggestions=suggestions, n_needs=full.n_needs,
                n_new=n_new,
                baseline_objective=None if baseline is None else baseline.objective,
                message=result.message, usage=usage_tables(nm, result))


def usage_tables(nm: NightlyModel, result: Result) -> dict[str, list[dict[str, Any]]]:
    """Provider utilisation and block use of the run's allocation (people in care plus the
    suggestions), for the morning report."""
    assert result.solution is not None
    p = nm.problem
    u = Usage.of(p, result.solution)
    in_care = u.chosen.copy()
    in_care[~(nm.active & ~nm.displaced)] = -1
    sel = in_care[in_care >= 0]
    hours = sel[p.pair_hours[sel]]
    care_use = np.bincount(p.pair_provider[hours], weights=p.pair_use[hours],
                           minlength=p.n_providers)
    hours_cap = np.zeros(p.n_providers)
    beds_cap = np.zeros(p.n_providers)
    beds_use = np.zeros(p.n_providers)
    for o in range(p.n_offers):
        target = hours_cap if p.offer_unit[o] == 0 else beds_cap
        target[p.offer_provider[o]] += p.offer_capacity[o]
        if p.offer_unit[o] == 1:
            beds_use[p.offer_provider[o]] += u.offer_use[o]
    providers = []
    for i, pid in enumerate(p.provider_ids):
        cap = p.provider_capacity[i]
        capacity = float(min(cap, hours_cap[i]) if np.isfinite(cap) else hours_cap[i])
        providers.append({
            "provider": pid, "quality": float(p.provider_quality[i]),
            "hours_capacity": capacity, "hours_in_care": float(care_use[i]),
            "hours_used": float(u.provider_use[i]),
            "utilisation": float(u.provider_use[i] / capacity) if capacity > 0 else None,
            "beds": float(beds_cap[i]), "beds_used": float(beds_use[i]),
        })
    blocks = [{
        "provider": p.provider_ids[p.holder_provider[h]], "lot": p.lot_ids[p.holder_lot[h]],
        "volume": float(u.holder_volume[h]), "used": float(u.holder_used[h]),
        "rate": float(p.holder_rate[h]),
        "void": float(max(0.0, u.holder_volume[h] - u.holder_used[h])),
    } for h in range(p.n_holders)]
    return {"providers": providers, "blocks": blocks}


def _choose_solver(requested: str, free: int) -> str:
    if requested != "auto":
        return requested
    if free > EXACT_MAX_FREE:
        try:
            import allocator.heuristic.portfolio  # noqa: F401  (the heuristic portfolio, if installed)
        except ImportError:
            return "highs"
        return "auto"
    return "highs"


def _solve_exact(nm: NightlyModel, options: NightlyOptions, solver: str, *,
                 warm: Result | None = None, deadline_share: float = 1.0) -> Result:
    t0 = time.perf_counter()
    params = SolveParams(solver=solver, time_limit=options.time_limit * deadline_share,
                         gap=options.gap, threads=options.threads)
    start = None
    if warm is not None and warm.solution is not None:
        start = warm_start_values(nm.problem, nm.model, warm.solution)
    res, phases = solve_model(nm.model, params, nm.problem.objective_kind, warm_start=start)
    result = finish(nm.problem, nm.model, res, phases, solver, t0, 0.0)
    return certify(result, params, nm.problem.objective_kind)


def _solve_other(nm: NightlyModel, options: NightlyOptions, solver: str) -> Result:
    """A non-exact solver on the restricted problem; pinned needs must come out served."""
    if nm.max_moves is not None:
        raise NightlyFailed(f"--max-moves needs an exact solver ({', '.join(EXACT_SOLVERS)}),"
                            f" not {solver}")
    result = solve(nm.problem, SolveParams(solver=solver, time_limit=options.time_limit,
                                           gap=options.gap, threads=options.threads))
    if result.solution is not None:
        held = nm.active & ~nm.displaced
        dropped = [nm.problem.need_ids[n] for n in np.nonzero(held)[0]
                   if nm.problem.need_ids[n] not in result.solution.assignment]
        if dropped:
            # The heuristic cannot be told that people in care stay in care: fall back.
            return _solve_exact(nm, options, "highs")
    return result


def _suggestions(full: Problem, nm: NightlyModel, result: Result,
                 rejected: set[tuple[str, str]], pins: Mapping[str, Pin]) -> list[SuggestionRow]:
    assert result.solution is not None
    p = nm.problem
    usage = Usage.of(p, result.solution)
    explainer = Explainer(full, p, usage, result.solution, rejected, pins)
    chosen = usage.chosen
    rows: list[SuggestionRow] = []
    for n in range(p.n_needs):
        k = int(chosen[n])
        current = int(nm.current_pair[n])
        nid = p.need_ids[n]
        q = float(p.need_q[n])
        if nm.active[n] and not nm.displaced[n]:
            if k == current:
                continue  # stays with their carer: nothing to suggest
            saving, note = _move_saving(p, usage, result, n, current)
            why = explainer.assignment(n, k)
            why["move"] = {"saving": saving, "note": note,
                           "from_cost": explainer.pair_cost(current, usage)}
            rows.append(SuggestionRow(
                need_id=nid, seq=n, action="move", quantity=q, provider_id=_prov(p, k),
                offer_id=_offer(p, k), from_provider_id=_prov(p, current),
                from_offer_id=_offer(p, current), block_quantity=float(usage.block_q[n]),
                cost=explainer.pair_cost(k, usage), saving=saving,
                reason=f"move saves {saving:,.2f} a week; {note}".rstrip("; ")
                if saving is not None else note, explanation=why))
            continue
        displaced_from: dict[str, Any] = {}
        if nm.displaced[n]:
            displaced_from = explainer.displaced(n)
        if k >= 0:
            why = explainer.assignment(n, k)
            if displaced_from:
                why["displaced"] = displaced_from
            rows.append(SuggestionRow(
                need_id=nid, seq=n, action="move" if displaced_from else "assign", quantity=q,
                provider_id=_prov(p, k), offer_id=_offer(p, k),
                from_provider_id=displaced_from.get("provider"),
                from_offer_id=displaced_from.get("offer"),
                block_quantity=float(usage.block_q[n]), cost=explainer.pair_cost(k, usage),
                reason=(displaced_from.get("reason", "") + "; " if displaced_from else "")
                + why["summary"], explanation=why))
        else:
            why = explainer.unmet(n)
            if displaced_from:
                why["displaced"] = displaced_from
            rows.append(SuggestionRow(
                need_id=nid, seq=n, action="unmet", quantity=q,
                from_provider_id=displaced_from.get("provider"),
                from_offer_id=displaced_from.get("offer"),
                reason=(displaced_from.get("reason", "") + "; " if displaced_from else "")
                + why["summary"], explanation=why))
    return rows


def _prov(p: Problem, k: int) -> str:
    return p.provider_ids[p.pair_provider[k]]


def _offer(p: Problem, k: int) -> str:
    return p.offer_ids[p.pair_offer[k]]


def _move_saving(p: Problem, usage: Usage, result: Result, n: int, current: int
                 ) -> tuple[float | None, str]:
    """Weekly saving of one move: the objective with this move alone undone, minus the run's.

    When undoing it alone does not fit (the move freed room that another change uses), the
    saving is not separable: the pair costs are compared instead, and the note says so.
    """
    chosen = usage.chosen.copy()
    chosen[n] = current
    undone = evaluate(p, chosen)
    assert result.objective is not None
    if undone.feasible:
        return undone.objective - result.objective, ""
    direct = float(p.pair_cost_x[current] - p.pair_cost_x[usage.chosen[n]])
    return direct, ("the move frees room used by another change, so its saving is the"
                    " difference of the two providers' weekly costs")


# ------------------------------------------------------------------------------- the run


def run_nightly(engine: Engine, options: NightlyOptions | None = None, *,
                before_write: Callable[[], None] | None = None) -> NightlyOutcome:
    """Run the nightly allocation on the book at ``engine`` (see the module docstring).

    Parameters
    ----------
    engine
        The book's database.
    options
        Solver, time limit, gap, --max-moves.
    before_write
        Called between the solve and the write (tests use it to kill or fail the run there).

    Raises
    ------
    allocator.store.lock.LockHeld
        Another nightly run holds the lock.
    NightlyFailed, BookChanged
        Nothing was written.
    allocator.store.health.StoreError
        The book is damaged (SQLite integrity check): nothing is written into it.
    """
    options = options or NightlyOptions()
    require_current(engine)
    check_integrity(engine)  # never write into a damaged book (StoreError)
    with exclusive(engine, "nightly") as holder:
        messages = [holder.took_over] if holder.took_over else []
        started = m.utcnow()
        t0 = time.perf_counter()
        with transaction(engine) as session:
            version = book.book_version(session)
            instance = book.export_instance(session)
            pins = book.pins(session)
            rejected = book.rejected_pairs(session)
        fp, instance_hash = fingerprint(instance, pins, rejected, options)
        with transaction(engine) as session:
            existing = session.execute(select(m.Run).where(m.Run.fingerprint == fp)
                                       ).scalar_one_or_none()
            if existing is not None:
                return _outcome(existing, reused=True, messages=messages,
                                in_care=_unmet_in_care(session, existing.id))
        planned = plan(instance, pins, rejected, options)
        if before_write is not None:
            before_write()
        runtime = time.perf_counter() - t0
        with transaction(engine) as session:
            if book.book_version(session, for_update=True) != version:
                raise BookChanged("the book changed while the run was solving (referrals"
                                  " added or decisions taken): nothing was written; run again")
            run = _record(session, planned, fp, instance_hash, version, started, runtime,
                          options)
            in_care = _unmet_in_care(session, run.id)
        # The solver's own status words ("Optimal", "Interrupted by user" when the portfolio
        # stops a helper) say nothing the summary line does not; they stay in the run's record
        # and are shown only when the run found no solution, or when a search process failed
        # (the suggestions stand, checked, but may be poorer than the market allows).
        note = planned.message if planned.message and (
            not planned.result.status.has_solution
            or planned.result.extra.get("search_error")) else None
        return _outcome(run, reused=False, messages=messages + ([note] if note else []),
                        in_care=in_care)


def _record(session, planned: Plan, fp: str, instance_hash: str, version: int, started,
            runtime: float, options: NightlyOptions) -> m.Run:
    res = planned.result
    sugg = planned.suggestions
    n_moves = sum(1 for s in sugg if s.action == "move")
    run = m.Run(
        fingerprint=fp, instance_hash=instance_hash, book_version=version, started_at=started,
        finished_at=m.utcnow(), solver=planned.solver, status=res.status.value,
        objective=res.objective, bound=res.bound, gap=res.gap, runtime_s=runtime,
        time_limit=options.time_limit, max_moves=options.max_moves,
        baseline_objective=planned.baseline_objective, terms=dict(res.terms),
        params=options.model_dump(mode="json"), usage=_jsonable(planned.usage),
        n_needs=planned.n_needs, n_new=planned.n_new,
        n_suggested=sum(1 for s in sugg if s.action == "assign"),
        n_unmet=sum(1 for s in sugg if s.action == "unmet"), n_moves=n_moves,
        message=planned.message,
    )
    session.add(run)
    session.flush()
    if sugg:
        session.execute(insert(m.Suggestion), [
            {"run_id": run.id, "need_id": s.need_id, "seq": s.seq, "action": s.action,
             "provider_id": s.provider_id, "offer_id": s.offer_id,
             "from_provider_id": s.from_provider_id, "from_offer_id": s.from_offer_id,
             "quantity": s.quantity, "block_quantity": s.block_quantity, "cost": s.cost,
             "saving": s.saving, "reason": s.reason, "explanation": _jsonable(s.explanation)}
            for s in sugg])
    return run


def _jsonable(value: Any) -> Any:
    """Plain JSON types (numpy scalars out), identical on every backend."""
    return json.loads(json.dumps(value, default=float))


def _unmet_in_care(session, run_id: int) -> int:
    """People in care a run left unmet (displaced from a provider that cannot serve them)."""
    return unmet_in_care(session, [run_id])[run_id]


def _outcome(run: m.Run, *, reused: bool, messages: list[str],
             in_care: int = 0) -> NightlyOutcome:
    return NightlyOutcome(
        run_id=run.id, reused=reused, fingerprint=run.fingerprint, status=run.status,
        objective=run.objective, bound=run.bound, runtime_s=run.runtime_s, n_new=run.n_new,
        n_suggested=run.n_suggested, n_unmet=run.n_unmet, n_moves=run.n_moves,
        messages=[msg for msg in messages if msg], n_unmet_in_care=in_care)

