"""``simulate(instance, policies, config) -> SimulationResult``: the whole study.

Replications are independent tasks (each replays every policy on its own stream), mapped by a
runner of :mod:`allocator.design.sweep`: in this process, on local processes
(``workers=N``) or on a ``dask.distributed`` cluster (``dask=ADDRESS``). A task's numbers
depend only on the instance, the config and its replication number, so they are the same
wherever it runs. The day-0 book (:func:`allocator.simulate.engine.initial_book`) is computed
once, here, and sent to every task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from allocator.core.params import SolveParams
from allocator.design.sweep import Runner, SerialRunner, make_runner
from allocator.instance.schema import Instance
from allocator.simulate import metrics
from allocator.simulate.config import SimulationConfig
from allocator.simulate.engine import ReplicationRun, initial_book, run_replication
from allocator.simulate.policies import Policy, parse_policy


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """What a study returns (nothing is stored on the instance or the policies).

    Attributes
    ----------
    weekly
        One row per policy, replication and week (:func:`allocator.simulate.metrics.weekly`).
    zones_weekly
        The same by zone.
    values
        One row per policy and replication: the replication's value of each metric.
    policies_summary
        result.json's ``policies``: per policy, ``<metric>_mean`` with ``<metric>_mean_ci95``.
    differences
        Paired differences between policies, per metric, with 95% intervals.
    zone_summary
        Per policy and zone: unmet hours, people waiting, beds, utilisation, with intervals.
    waits
        Distribution of days waited by the referrals placed, per policy.
    runs
        Per replication and policy: arrivals, events, wall time and solver calls.
    providers
        Per policy and provider: hours and beds used and open a week, utilisation and bed
        occupancy over the replay with 95% intervals
        (:func:`allocator.simulate.metrics.provider_summary`).
    band
        Unmet hours a week per policy and week, the mean over replications with its 95%
        interval (:func:`allocator.simulate.metrics.weekly_band`); computed from ``weekly``
        when not given. A result rebuilt from what a web job keeps has weekly means only, and
        its band (:func:`allocator.web.jobs.simulation_of`).
    """

    instance: str
    config: SimulationConfig
    policies: tuple[str, ...]
    zone_ids: tuple[str, ...]
    weekly: pd.DataFrame
    zones_weekly: pd.DataFrame
    values: pd.DataFrame
    policies_summary: dict[str, dict[str, Any]]
    differences: pd.DataFrame
    zone_summary: pd.DataFrame
    waits: pd.DataFrame
    runs: pd.DataFrame
    runtime_s: float
    workers: int
    where: str
    notes: tuple[str, ...] = field(default=())
    band: pd.DataFrame | None = None
    providers: pd.DataFrame = field(default_factory=pd.DataFrame)

    def unmet_band(self) -> pd.DataFrame:
        """Unmet hours a week per policy and week: mean and 95% interval over replications."""
        if self.band is not None:
            return self.band
        return metrics.weekly_band(self.weekly, self.policies, "unmet_hours")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table, by the name of its CSV file and XLSX sheet."""
        summary = pd.DataFrame([{"policy": name, **{k: v for k, v in s.items()
                                                     if not k.endswith("_ci95")},
                                 **{f"{k}_low": (v[0] if v else None)
                                    for k, v in s.items() if k.endswith("_ci95")},
                                 **{f"{k}_high": (v[1] if v else None)
                                    for k, v in s.items() if k.endswith("_ci95")}}
                                for name, s in self.policies_summary.items()])
        tables = {"summary": summary, "differences": self.differences,
                  "zones": self.zone_summary, "providers": self.providers,
                  "weekly": self.weekly,
                  "weekly_zones": self.zones_weekly, "replications": self.values,
                  "waits": self.waits, "runs": self.runs}
        if "replication" not in self.weekly.columns:  # rebuilt: weekly means, no zones by week
            tables = {("weekly_mean" if k == "weekly" else k): v for k, v in tables.items()
                      if k != "weekly_zones"}
        return tables

    def document(self) -> dict[str, Any]:
        """The result.json document (DESIGN.md 9.5): ``policies`` beside the weekly tables."""
        weekly_mean = (self.weekly.groupby(["policy", "week"], sort=False)
                       .mean(numeric_only=True).drop(columns="replication").reset_index())
        return {
            "kind": "simulation",
            "instance": self.instance,
            "config": self.config.model_dump(mode="json"),
            "policies": self.policies_summary,
            "differences": _records(self.differences),
            "zones": _records(self.zone_summary),
            "providers": _records(self.providers),
            "weekly": _records(weekly_mean),
            "unmet_band": _records(self.unmet_band()),
            "replications": _records(self.values),
            "waits": _records(self.waits),
            "runs": _records(self.runs),
            "runtime_s": self.runtime_s,
            "workers": self.workers,
            "where": self.where,
            "notes": list(self.notes),
            "metrics": metrics.METRICS,
        }

    def summary(self) -> str:
        """A few lines per policy: the headline metrics with their 95% intervals."""
        lines = [f"{self.instance}: {self.config.weeks} weeks x {self.config.replications} "
                 f"replication(s), seed {self.config.seed}, {self.runtime_s:.0f} s "
                 f"({self.where}, {self.workers} worker(s))"]
        for name, s in self.policies_summary.items():
            lines.append(
                f"  {name}: unmet {_ci(s, 'unmet_hours_mean')} h/week, "
                f"waiting {_ci(s, 'waiting_people_mean')} people, "
                f"days waited {_ci(s, 'days_waited_mean')} (p90 {_ci(s, 'days_waited_p90')}), "
                f"cost {_ci(s, 'weekly_cost_mean', 0)} /week, moves {_ci(s, 'moves_mean')} /week")
        return "\n".join(lines)


def _ci(s: dict[str, Any], key: str, digits: int = 1) -> str:
    v, ci = s.get(key), s.get(f"{key}_ci95")
    if v is None:
        return "-"
    text = f"{v:,.{digits}f}"
    if ci:
        text += f" [{ci[0]:,.{digits}f}, {ci[1]:,.{digits}f}]"
    return text


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    import json

    return json.loads(df.to_json(orient="records", double_precision=15))


def _replicate(instance: Instance, config: SimulationConfig, policies: Sequence[Policy],
               replication: int, initial: dict[str, str]) -> ReplicationRun:
    """One task: every policy on replication ``replication`` (module-level: it is pickled)."""
    return run_replication(instance, config, policies, replication, initial)


def make_policies(specs: Sequence[str | Policy], config: SimulationConfig) -> list[Policy]:
    """Policies from names (``first_come``, ``nightly``, ``nightly_moves:K``) or objects.

    Raises
    ------
    ValueError
        An unknown name, an object that is not a policy, or two policies with one name.
    """
    params = SolveParams(solver=config.solver, time_limit=config.time_limit, gap=config.gap,
                         threads=config.threads)
    out: list[Policy] = []
    for spec in specs:
        if isinstance(spec, str):
            out.append(parse_policy(spec, params=params, quality_points=config.quality_points,
                                    price_points=config.price_points,
                                    max_candidates=config.max_candidates))
        elif isinstance(spec, Policy):
            out.append(spec)
        else:
            raise ValueError(f"{spec!r} is not a policy: it needs a name and decide(night)")
    names = [p.name for p in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"policy name(s) given twice: {', '.join(dupes)}")
    if not out:
        raise ValueError("give at least one policy")
    return out


def simulate(
    instance: Instance,
    policies: Sequence[str | Policy] = ("first_come", "nightly", "nightly_moves:5"),
    config: SimulationConfig | None = None,
    *,
    workers: int | None = 1,
    dask: str | None = None,
    runner: Runner | None = None,
    progress: Callable[[int, int], None] | None = None,
    partial: Callable[[SimulationResult], None] | None = None,
) -> SimulationResult:
    """Replay ``config.weeks`` weeks of ``instance``'s market under each policy.

    Parameters
    ----------
    instance
        A validated instance: its needs are the book on day 0 (those with a current provider
        in care with it), its offers the market.
    policies
        Policy names or objects (:class:`allocator.simulate.policies.Policy`).
    config
        What to simulate (defaults: 52 weeks, 20 replications, seed 0).
    workers, dask, runner
        Where replications run: ``runner`` if given; else a dask scheduler at ``dask``; else
        ``workers`` local processes (1: this process; None: one per core).
    progress
        Called with (replications done, replications) as they finish.
    partial
        Called with the result over the replications done so far, as they finish (a long
        study can be read, or saved, before its end).
    """
    config = config or SimulationConfig()
    t0 = time.perf_counter()
    pols = make_policies(policies, config)
    notes = _notes(instance, config)
    initial = initial_book(instance, config, notes)
    own = runner is None
    run = runner if runner is not None else make_runner(workers, dask)
    where = ("serial" if isinstance(run, SerialRunner) else
             "dask" if type(run).__name__ == "DaskRunner" else "local")
    reps: list[ReplicationRun] = []
    try:
        n = config.replications
        size = max(1, run.workers)
        if progress:
            progress(0, n)
        for lo in range(0, n, size):
            tasks = [(instance, config, pols, r, initial) for r in range(lo, min(n, lo + size))]
            reps += run.map(_replicate, tasks)
            if progress:
                progress(len(reps), n)
            if partial and len(reps) < n:
                partial(_result(instance, config, pols, reps, list(notes),
                                time.perf_counter() - t0, run.workers, where))
        workers_used = run.workers
    finally:
        if own:
            run.close()
    return _result(instance, config, pols, reps, notes, time.perf_counter() - t0,
                   workers_used, where)


def _notes(instance: Instance, config: SimulationConfig) -> list[str]:
    notes = []
    if instance.policy.max_provider_share is not None:
        notes.append("policy.max_provider_share is not applied: a night's model holds only "
                     "the referrals, not the lots' whole demand the cap divides")
    priorities = {n.priority for n in instance.needs}
    if not priorities & set(config.first_priorities):
        notes.append(f"no need has a first priority ({', '.join(config.first_priorities)}): "
                     "referrals are offered in arrival order only")
    return notes


def _result(instance: Instance, config: SimulationConfig, pols: Sequence[Policy],
            reps: Sequence[ReplicationRun], notes: list[str], runtime: float, workers: int,
            where: str) -> SimulationResult:
    names = tuple(p.name for p in pols)
    zone_ids = tuple(z.id for z in instance.zones)
    weekly, zones, values = metrics.collect(reps, zone_ids)
    runs = pd.DataFrame([{
        "replication": rep.replication, "policy": r.policy, "arrivals": rep.n_arrivals,
        "provider_exits": rep.n_exits, "scheme_openings": rep.n_openings,
        "runtime_s": r.runtime_s, "solves": r.solves, "solve_s": r.solve_s,
        "failures": r.failures, "time_limited": r.time_limited,
    } for rep in reps for r in rep.runs])
    limited = int(runs["time_limited"].sum()) if len(runs) else 0
    failed = int(runs["failures"].sum()) if len(runs) else 0
    if limited:
        notes.append(f"{limited} nightly solve(s) stopped at the time limit ({config.time_limit:g}"
                     " s) with an answer not proven within the gap: those nights depend on the "
                     "machine's speed")
    if failed:
        notes.append(f"{failed} nightly solve(s) found no answer: their referrals waited")
    return SimulationResult(
        instance=instance.name, config=config, policies=names, zone_ids=zone_ids,
        weekly=weekly, zones_weekly=zones, values=values,
        policies_summary=metrics.summarise(values, names),
        differences=metrics.differences(values, names),
        zone_summary=metrics.zone_summary(zones, names),
        waits=metrics.wait_distribution(((r.policy, r.waits) for rep in reps for r in rep.runs),
                                        names),
        runs=runs, runtime_s=runtime, workers=workers, where=where, notes=tuple(notes),
        providers=metrics.provider_summary(reps, [pr.id for pr in instance.providers], names))


def replication_arrays(result: ReplicationRun) -> dict[str, np.ndarray]:
    """Every daily series of a replication, keyed ``policy/series`` (for tests and debugging)."""
    return {f"{r.policy}/{k}": v for r in result.runs for k, v in r.daily.items()}
