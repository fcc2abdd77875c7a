"""Jobs outside the request: nightly runs, design comparisons, mini-competitions and
simulations (a year of brokerage replayed) on worker threads.

A route creates the job's row (queued) and hands its id to the :class:`JobRunner`; a worker
thread runs it and keeps its state and progress in the book (:mod:`allocator.store.jobs`), so
that the page polling it, a reload or another user see the same thing. The work itself is the
library's: :func:`allocator.nightly.run.run_nightly`,
:func:`allocator.design.compare.compare_designs`,
:func:`allocator.design.minicompetition.mini_competition` and
:func:`allocator.simulate.simulate`, exactly as the CLI calls them.

The worker threads are daemons: a server that stops abandons its running job, whose row stays
``running`` until the next server start marks it failed (the nightly run writes its run in one
transaction at the end and a comparison its result with ``done``, so nothing half-made is
ever recorded).
"""

from __future__ import annotations

import logging
import math
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from allocator.core import progress
from allocator.core.result import gap
from allocator.store import audit
from allocator.store import jobs as store
from allocator.store.engine import transaction

log = logging.getLogger(__name__)

JobFn = Callable[[Engine, int, dict[str, Any]], tuple[dict[str, Any], str]]


class JobRunner:
    """Runs jobs one at a time on a daemon thread (in the order they were started).

    One at a time: a night and a comparison both take the machine's cores, and the live
    progress of :mod:`allocator.core.progress` is reported process-wide.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.server = uuid.uuid4().hex
        self._queue: queue.Queue[tuple[int, JobFn] | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._work, name="allocator-jobs",
                                          daemon=True)]
        self._started = False

    def start(self) -> None:
        """Mark what a dead server left running as failed, then start the workers."""
        orphans = store.fail_orphans(self.engine)
        if orphans:
            log.warning("%d job(s) left running by a stopped server marked failed", orphans)
        for thread in self._threads:
            thread.start()
        self._started = True

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)

    def submit(self, job_id: int, fn: JobFn) -> None:
        self._queue.put((job_id, fn))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job_id, fn = item
            self.run(job_id, fn)

    def run(self, job_id: int, fn: JobFn) -> None:
        """Run one job now, in this thread, recording its outcome."""
        with transaction(self.engine) as session:
            job = store.get(session, job_id)
            if job is None or job.status != "queued":
                return
            params = dict(job.params)
        store.start(self.engine, job_id)
        try:
            result, message = fn(self.engine, job_id, params)
        except Exception as error:  # any failure is the job's, never the server's
            known = getattr(error, "job_message", None) or _known(error)
            if known is None:
                log.exception("job %d failed", job_id)
                known = f"internal error ({type(error).__name__}: {error})"
            store.fail(self.engine, job_id, known)
            _audit(self.engine, job_id, "job failed", known)
            return
        store.finish(self.engine, job_id, result, message)
        _audit(self.engine, job_id, "job done", message)


def _known(error: Exception) -> str | None:
    """The message of a failure the library explains itself (no traceback needed)."""
    from allocator.design.minicompetition import MiniCompetitionError
    from allocator.instance.errors import InstanceError
    from allocator.nightly.run import BookChanged, NightlyFailed
    from allocator.store.lock import LockHeld

    if isinstance(error, LockHeld | NightlyFailed | BookChanged | MiniCompetitionError):
        return str(error)
    if isinstance(error, InstanceError):
        return "; ".join(str(p) for p in error.problems[:20])
    return None


def _audit(engine: Engine, job_id: int, action: str, detail: str) -> None:
    with transaction(engine) as session:
        job = store.get(session, job_id)
        audit.record(session, action, user_id=job.user_id if job else None,
                     target=f"job {job_id} ({job.kind if job else '?'})", detail=detail)


class Reporter:
    """Progress points of a job: (seconds, objective, bound, gap), at most one per second."""

    def __init__(self, engine: Engine, job_id: int, every_s: float = 1.0) -> None:
        self.engine = engine
        self.job_id = job_id
        self.every_s = every_s
        self.t0 = time.monotonic()
        self._last = -math.inf

    def point(self, objective: float | None = None, bound: float | None = None,
              note: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.every_s:
            return
        self._last = now
        store.add_progress(self.engine, self.job_id, self.make(objective, bound, note))

    def make(self, objective: float | None, bound: float | None, note: str = ""
             ) -> dict[str, Any]:
        return {"t": round(time.monotonic() - self.t0, 2), "objective": objective,
                "bound": bound, "gap": gap(objective, bound), "note": note}


# ----------------------------------------------------------------------------- nightly


def nightly_job(engine: Engine, job_id: int, params: dict[str, Any]
                ) -> tuple[dict[str, Any], str]:
    """``allocator nightly`` as a job: the same :func:`run_nightly`, with live progress."""
    from allocator.nightly.run import NightlyOptions, run_nightly

    options = NightlyOptions(**params)
    report = Reporter(engine, job_id)
    report.point(note="reading the book", force=True)
    # The solvers report to allocator.core.progress (HiGHS's MIP callbacks, the portfolio);
    # its listeners are the process's: the runner runs one job at a time, so the figures are
    # this job's alone.
    with progress.listening(lambda event: report.point(event.objective, event.bound)):
        outcome = run_nightly(engine, options)
    result = {"run_id": outcome.run_id, "reused": outcome.reused, "status": outcome.status,
              "objective": outcome.objective, "bound": outcome.bound,
              "summary": outcome.summary(), "messages": outcome.messages}
    store.add_progress(engine, job_id, report.make(outcome.objective, outcome.bound,
                                                   f"run {outcome.run_id} recorded"))
    return result, outcome.summary()


# ----------------------------------------------------------------------------- compare


def compare_job(engine: Engine, job_id: int, params: dict[str, Any]
                ) -> tuple[dict[str, Any], str]:
    """``allocator compare`` as a job: the same :func:`compare_designs` on uploaded files.

    ``params``: ``market`` (a file path, or None for the book's market), ``designs`` (file
    paths), ``scenarios``, ``seed``, ``time_limit`` (per design). The result holds the
    comparison's tables as records (the pages and downloads read them from the book).
    """
    from allocator.design.compare import compare_designs
    from allocator.design.designs import load_design
    from allocator.design.scenarios import generate_scenarios
    from allocator.design.solve import DesignParams

    report = Reporter(engine, job_id)
    uploads = [Path(f) for f in [params.get("market"), *params["designs"]] if f]
    try:  # the uploaded files are read once, then deleted (a market names people)
        market = _market(engine, params.get("market"))
        designs = [(path, load_design(Path(path))) for path in params["designs"]]
    finally:
        for upload in uploads:
            shutil.rmtree(upload.parent, ignore_errors=True)
    scenarios = generate_scenarios(market, int(params["scenarios"]), int(params["seed"]))
    report.point(note=f"{len(designs)} design(s) on {len(scenarios)} scenarios", force=True)

    solved: list[int] = []

    def done(i: int, run: Any) -> None:
        # designs with no bid to award are solved first (shared time): count the designs
        # done, and name the file's place in the list, rather than "design 3 of 3" first
        solved.append(i)
        res = run.result
        given = res.extra.get("time_given_s")
        report.point(res.objective, res.bound, force=True,
                     note=f"{len(solved)} of {len(designs)} designs solved: {run.name} (file "
                          f"{i + 1}), {res.status.value}"
                          + (f", given {given:.0f} s" if given is not None else ""))

    # one progress point per design solved (its expected cost and bound): the designs'
    # solver-level figures are of different models and would not make one curve
    comparison = compare_designs(market, designs, scenarios,
                                 DesignParams(time_limit=float(params["time_limit"])),
                                 on_design=done)
    tables = {name: _records(df) for name, df in comparison.tables().items()}
    ok = sum(1 for r in comparison.runs if r.result.status.has_solution)
    message = (f"{len(comparison.runs)} design(s) compared on {len(scenarios)} scenarios in"
               f" {comparison.runtime_s:.1f} s; {ok} with a solution")
    return {"tables": tables, "currency": market.currency, "market": market.name,
            "runtime_s": comparison.runtime_s}, message


def _market_once(engine: Engine, upload: str | None) -> Any:
    """The job's market, an uploaded file read once and then deleted (a market names people),
    or the book's (None)."""
    try:
        return _market(engine, upload)
    finally:
        if upload:
            shutil.rmtree(Path(upload).parent, ignore_errors=True)


def _market(engine: Engine, path: str | None) -> Any:
    """The market of a job: the uploaded file at ``path``, or the book's market (None)."""
    from allocator.instance.io import load_instance
    from allocator.store.book import export_instance

    if path:
        return load_instance(Path(path))
    with transaction(engine) as session:
        return export_instance(session)


# ----------------------------------------------------------------------------- mini-competition


def minicomp_job(engine: Engine, job_id: int, params: dict[str, Any]
                 ) -> tuple[dict[str, Any], str]:
    """``allocator mini-competition`` as a job: the same :func:`mini_competition`.

    ``params``: ``market`` (a file path, or None for the book's market), ``lot``,
    ``quality_points``, ``price_points``, ``time_limit`` (per bid's whole-market solve). The
    result holds :meth:`MiniCompetition.to_dict` (``minicomp``), from which the pages, the chart
    and the downloads rebuild the outcome (:func:`mini_competition_of`).
    """
    from allocator.design.minicomp_report import sentence
    from allocator.design.minicompetition import lot_bids, mini_competition
    from allocator.design.solve import DesignParams

    report = Reporter(engine, job_id)
    market = _market_once(engine, params.get("market"))
    lot, limit = str(params["lot"]), float(params["time_limit"])
    bids = lot_bids(market, lot)
    report.point(note=f"{len(bids)} bid(s) on lot {lot}: each admissible one priced on the"
                      f" whole market (up to {limit:g} s each)", force=True)
    # Live figures are those of the whole-market solve running (each bid's solve starts its
    # own curve; the runner runs one job at a time, so they are this job's alone), and one
    # point per bid once it is priced.

    def bid_done(done: int, total: int, bid: Any) -> None:
        what = (f"{bid.provider}: whole-market cost {bid.whole_market_cost:,.2f}"
                if bid.whole_market_cost is not None else f"{bid.provider}: {bid.status}")
        report.point(bid.whole_market_cost, bid.whole_market_bound,
                     note=f"bid {done} of {total} done ({what})", force=True)

    with progress.listening(lambda event: report.point(event.objective, event.bound,
                                                       note="a bid's whole-market solve")):
        mc = mini_competition(market, lot, quality_points=float(params["quality_points"]),
                              price_points=float(params["price_points"]),
                              params=DesignParams(time_limit=limit), on_bid=bid_done)
    winner = next((b for b in mc.bids if b.provider == mc.whole_market_winner), None)
    store.add_progress(engine, job_id, report.make(
        winner.whole_market_cost if winner else None,
        winner.whole_market_bound if winner else None,
        f"{len(mc.bids)} bid(s) scored and priced in {mc.runtime_s:.1f} s"))
    return {"minicomp": mc.to_dict(), "market": market.name}, sentence(mc)


def mini_competition_of(result: dict[str, Any]) -> Any:
    """The :class:`~allocator.design.minicompetition.MiniCompetition` of a done job, rebuilt
    from its ``to_dict()`` document (bids in ranking order: every view sorts them anyway)."""
    from allocator.design.minicompetition import BidOutcome, MiniCompetition

    doc = result["minicomp"]
    low, high = doc.get("difference_week_proven_range") or (None, None)
    return MiniCompetition(
        instance=doc["instance"], lot=doc["lot"], currency=doc["currency"],
        quality_points=doc["quality_points"], price_points=doc["price_points"],
        bids=tuple(BidOutcome(**row) for row in doc["ranking"]),
        median_rate=doc["median_rate"], score_winner=doc["score_winner"],
        whole_market_winner=doc["whole_market_winner"],
        difference_week=doc["difference_week"], difference_week_low=low,
        difference_week_high=high, winner_proven=doc["winner_proven"],
        notes=tuple(doc.get("notes") or ()), runtime_s=doc.get("runtime_s", 0.0),
        lexicographic=doc.get("objective") == "lexicographic")


def _records(df: Any) -> dict[str, Any]:
    """A DataFrame as JSON: columns and rows (NaN and infinities as null)."""
    rows = []
    for row in df.itertuples(index=False):
        rows.append([_plain(v) for v in row])
    return {"columns": [str(c) for c in df.columns], "rows": rows}


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# ----------------------------------------------------------------------------- simulation


def simulate_job(engine: Engine, job_id: int, params: dict[str, Any]
                 ) -> tuple[dict[str, Any], str]:
    """``allocator simulate`` as a job: the same :func:`allocator.simulate.simulate`.

    ``params``: ``market`` (a file path, or None for the book's market), ``policies`` (their
    names), ``config`` (:class:`~allocator.simulate.config.SimulationConfig`'s fields),
    ``workers``. The result keeps what the pages, charts and downloads need
    (:func:`simulation_record`); the weekly tables per replication and by zone are the CLI's.
    """
    from allocator.simulate import SimulationConfig, simulate
    from allocator.simulate.report import sentences

    report = Reporter(engine, job_id)
    market = _market_once(engine, params.get("market"))
    config = SimulationConfig(**params["config"])
    specs = list(params["policies"])
    report.point(note=f"{len(specs)} policies, {config.weeks} weeks, {config.replications} "
                      "replication(s): started", force=True)

    def done(k: int, total: int) -> None:  # called once with 0 at the start, then per one done
        if k:  # the count rides on the point: thinned points cannot be counted
            store.add_progress(engine, job_id, {
                **report.make(None, None, f"replication {k} of {total} done"),
                "replications_done": k})

    result = simulate(market, specs, config, workers=params.get("workers"), progress=done)
    lines = sentences(result)
    message = (f"{len(specs)} policies over {config.weeks} weeks x {config.replications} "
               f"replication(s) in {result.runtime_s:.1f} s" + (f". {lines[0]}" if lines else ""))
    return {"simulation": simulation_record(result), "market": market.name,
            "currency": market.currency}, message


def simulation_record(result: Any) -> dict[str, Any]:
    """What a simulation job keeps: the summary, the small tables (columns and rows, so their
    order survives any database) and the unmet band; not the weekly tables per replication."""
    return {
        "instance": result.instance, "config": result.config.model_dump(mode="json"),
        "policies": list(result.policies), "zone_ids": list(result.zone_ids),
        "summary": [{"policy": name, **result.policies_summary[name]}
                    for name in result.policies],
        "tables": {"weekly_mean": _records(result.weekly.groupby(["policy", "week"], sort=False)
                                           .mean(numeric_only=True)
                                           .drop(columns="replication").reset_index()),
                   "values": _records(result.values),
                   "differences": _records(result.differences),
                   "zones": _records(result.zone_summary),
                   "providers": _records(result.providers),
                   "waits": _records(result.waits),
                   "runs": _records(result.runs),
                   "band": _records(result.unmet_band())},
        "runtime_s": result.runtime_s, "workers": result.workers, "where": result.where,
        "notes": list(result.notes),
    }


def simulation_of(result: dict[str, Any]) -> Any:
    """The :class:`~allocator.simulate.run.SimulationResult` of a done job, rebuilt from
    :func:`simulation_record` (weekly means rather than weekly rows per replication)."""
    import pandas as pd

    from allocator.simulate.config import SimulationConfig
    from allocator.simulate.run import SimulationResult

    doc = result["simulation"]
    t = doc["tables"]

    def df(name: str) -> pd.DataFrame:
        return pd.DataFrame(t[name]["rows"], columns=t[name]["columns"])

    summary = {row["policy"]: {k: v for k, v in row.items() if k != "policy"}
               for row in doc["summary"]}
    return SimulationResult(
        instance=doc["instance"], config=SimulationConfig(**doc["config"]),
        policies=tuple(doc["policies"]), zone_ids=tuple(doc["zone_ids"]),
        weekly=df("weekly_mean"), zones_weekly=pd.DataFrame(), values=df("values"),
        policies_summary={name: summary[name] for name in doc["policies"]},
        differences=df("differences"), zone_summary=df("zones"), waits=df("waits"),
        runs=df("runs"), runtime_s=float(doc["runtime_s"]), workers=int(doc["workers"]),
        where=str(doc["where"]), notes=tuple(doc["notes"]), band=df("band"),
        providers=df("providers") if "providers" in t else pd.DataFrame())
