"""From days to weeks to a study: weekly tables, means with 95% intervals, differences.

Levels (people waiting, unmet hours, the weekly cost of the book, utilisation) are averaged
over the days of a week; flows (placements, moves, displacements, the transfer penalty) are
summed over it. A replication's value of a metric is its mean over the weeks (days waited: over
the replication's waits, pooled); the study's is the mean over replications with a Student-t
95% interval, the replications being independent. Differences between two policies are taken
replication by replication (common random numbers make them paired), so their intervals are
much tighter than the policies' own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from allocator.simulate.engine import PolicyRun, ReplicationRun

# The weekly cost to the council: what is paid to providers (block contracts and framework
# purchases). The objective of DESIGN.md section 4 adds the penalties (quality and zone, unmet,
# transfer), which are prices put on outcomes, not money spent.
MONEY_TERMS = ("cost_block", "cost_framework")
PENALTY_TERMS = ("cost_quality_zone", "cost_unmet", "cost_transfer")

# Metrics of the summary (result.json's ``policies``), in order, with what they mean.
METRICS: dict[str, str] = {
    "waiting_people": "people waiting (mean over days)",
    "unmet_hours": "unmet hours a week (packages waiting)",
    "unmet_beds": "unmet beds (placements waiting)",
    "days_waited": "days waited by a referral placed (mean)",
    "days_waited_p90": "days waited by a referral placed (90th percentile)",
    "weekly_cost": "weekly cost paid to providers (block + framework)",
    "cost_block": "block contracts a week",
    "cost_framework": "framework / spot purchases a week",
    "cost_quality_zone": "quality and out-of-zone penalty a week",
    "cost_unmet": "unmet-need penalty a week",
    "cost_transfer": "transfer penalty a week (moves)",
    "objective": "the five terms of DESIGN.md section 4 a week",
    "moves": "people in care moved a week",
    "placed": "referrals placed a week",
    "displaced": "people whose provider left, a week",
    "utilisation": "hours used / hours capacity",
    "bed_occupancy": "beds used / beds",
    "served_hours": "hours served a week",
    "active_hours": "hours in the book (served + waiting)",
}


def weekly(run: PolicyRun, replication: int) -> pd.DataFrame:
    """One row per week of one policy's replay."""
    d = run.daily
    days = len(d["waiting_people"])
    weeks = days // 7
    wk = np.arange(days) // 7

    def mean(x: np.ndarray) -> np.ndarray:
        return np.bincount(wk, weights=x, minlength=weeks)[:weeks] / 7.0

    def total(x: np.ndarray) -> np.ndarray:
        return np.bincount(wk, weights=x, minlength=weeks)[:weeks]

    util = np.divide(d["hours_used"], d["hours_capacity"], out=np.zeros(days),
                     where=d["hours_capacity"] > 0)
    occ = np.divide(d["beds_used"], d["beds_capacity"], out=np.zeros(days),
                    where=d["beds_capacity"] > 0)
    frame = pd.DataFrame({
        "policy": run.policy, "replication": replication, "week": np.arange(1, weeks + 1),
        "waiting_people": mean(d["waiting_people"]),
        "unmet_hours": mean(d["unmet_hours"]),
        "unmet_beds": mean(d["unmet_beds"]),
        "served_hours": mean(d["served_hours"]),
        "active_hours": mean(d["active_hours"]),
        "placed": total(d["placed"]),
        "moves": total(d["moves"]),
        "displaced": total(d["displaced"]),
        "ended_waiting": total(d["ended_waiting"]),
        "cost_block": mean(d["cost_block"]),
        "cost_framework": mean(d["cost_framework"]),
        "cost_quality_zone": mean(d["cost_quality_zone"]),
        "cost_unmet": mean(d["cost_unmet"]),
        "cost_transfer": total(d["cost_transfer"]),
        "utilisation": mean(util),
        "bed_occupancy": mean(occ),
    })
    frame["weekly_cost"] = frame[list(MONEY_TERMS)].sum(axis=1)
    frame["objective"] = frame[list(MONEY_TERMS + PENALTY_TERMS)].sum(axis=1)
    placed = run.waits[run.waits[:, 3] == 1] if len(run.waits) else run.waits
    wweek = (placed[:, 0] // 7).astype(np.int64) if len(placed) else np.zeros(0, dtype=np.int64)
    means, p90 = np.full(weeks, np.nan), np.full(weeks, np.nan)
    for w in np.unique(wweek):
        if w < weeks:
            vals = placed[wweek == w, 2]
            means[w], p90[w] = vals.mean(), np.percentile(vals, 90)
    frame["days_waited"] = means
    frame["days_waited_p90"] = p90
    return frame


def weekly_zones(run: PolicyRun, replication: int, zone_ids: Sequence[str]) -> pd.DataFrame:
    """One row per week and zone (as seed 001 reports unmet need: hours and people)."""
    z = run.zone_daily
    days, n_zones = z["waiting_people"].shape
    weeks = days // 7
    wk = np.arange(weeks * 7) // 7
    rows = {}
    for name in ("waiting_people", "unmet_hours", "unmet_beds", "hours_used", "hours_capacity"):
        a = z[name][:weeks * 7]
        rows[name] = np.stack([np.bincount(wk, weights=a[:, j], minlength=weeks) / 7.0
                               for j in range(n_zones)], axis=1)  # weeks x zones
    frame = pd.DataFrame({
        "policy": run.policy, "replication": replication,
        "week": np.repeat(np.arange(1, weeks + 1), n_zones),
        "zone": np.tile(np.asarray(zone_ids, dtype=object), weeks),
        "waiting_people": rows["waiting_people"].ravel(),
        "unmet_hours": rows["unmet_hours"].ravel(),
        "unmet_beds": rows["unmet_beds"].ravel(),
        "utilisation": np.divide(rows["hours_used"], rows["hours_capacity"],
                                 out=np.full_like(rows["hours_used"], np.nan),
                                 where=rows["hours_capacity"] > 0).ravel(),
    })
    return frame


def replication_values(run: PolicyRun, week_frame: pd.DataFrame) -> dict[str, float]:
    """A replication's value of each metric of :data:`METRICS`."""
    out = {m: float(week_frame[m].mean()) for m in METRICS if m not in
           ("days_waited", "days_waited_p90")}
    placed = run.waits[run.waits[:, 3] == 1, 2] if len(run.waits) else np.zeros(0)
    out["days_waited"] = float(placed.mean()) if len(placed) else float("nan")
    out["days_waited_p90"] = float(np.percentile(placed, 90)) if len(placed) else float("nan")
    return out


def interval(values: Iterable[float], within: tuple[float, float] | None = None
             ) -> tuple[float, float | None, float | None]:
    """Mean and Student-t 95% interval of independent values (no interval for one value).

    ``within``: the range the quantity can take (people, hours, days and pounds are never
    negative; utilisation is at most 1). The interval is cut to it: its part outside holds no
    possible value, so the cut interval covers the true mean whenever the whole one does, and
    a commissioner is not shown "-1.6 days waited" from two replications.
    """
    from scipy import stats

    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), None, None
    m = float(v.mean())
    if len(v) < 2:
        return m, None, None
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    lo, hi = m - half, m + half
    if within is not None:
        lo, hi = max(lo, within[0]), min(hi, within[1])
    return m, lo, hi


def range_of(metric: str) -> tuple[float, float]:
    """The values a metric of :data:`METRICS` (or of the zone table) can take."""
    return (0.0, 1.0) if metric in ("utilisation", "bed_occupancy") else (0.0, float("inf"))


def summarise(values: pd.DataFrame, policies: Sequence[str]) -> dict[str, dict[str, object]]:
    """result.json's ``policies``: per policy, ``<metric>_mean`` and ``<metric>_ci95``.

    ``values`` has one row per (policy, replication) and a column per metric.
    """
    out: dict[str, dict[str, object]] = {}
    for name in policies:
        rows = values[values["policy"] == name]
        entry: dict[str, object] = {"replications": int(len(rows))}
        for m in METRICS:
            key = "days_waited_p90" if m == "days_waited_p90" else f"{m}_mean"
            mean, lo, hi = interval(rows[m], range_of(m))
            entry[key] = _num(mean)
            entry[f"{key}_ci95"] = None if lo is None else [_num(lo), _num(hi)]
        out[name] = entry
    return out


def differences(values: pd.DataFrame, policies: Sequence[str]) -> pd.DataFrame:
    """Paired differences (later policy minus earlier one) per metric, with 95% intervals."""
    rows = []
    for i, a in enumerate(policies):
        for b in policies[i + 1:]:
            va = values[values["policy"] == a].set_index("replication")
            vb = values[values["policy"] == b].set_index("replication")
            common = va.index.intersection(vb.index)
            for m in METRICS:
                mean, lo, hi = interval((vb.loc[common, m] - va.loc[common, m]).to_numpy())
                rows.append({"policy": b, "baseline": a, "metric": m, "difference": mean,
                             "ci95_low": lo, "ci95_high": hi,
                             "baseline_mean": float(va.loc[common, m].mean()),
                             "significant": bool(lo is not None and hi is not None
                                                 and (lo > 0 or hi < 0))})
    return pd.DataFrame(rows, columns=["policy", "baseline", "metric", "difference", "ci95_low",
                                       "ci95_high", "baseline_mean", "significant"])


def weekly_band(weekly: pd.DataFrame, policies: Sequence[str], metric: str) -> pd.DataFrame:
    """Per policy and week: the mean of ``metric`` over replications and its 95% interval
    (cut to the metric's range, :func:`interval`; no interval from one replication)."""
    rows = []
    for name in policies:
        w = weekly[weekly["policy"] == name]
        for week, g in w.groupby("week", sort=True):
            mean, lo, hi = interval(g[metric], range_of(metric))
            rows.append({"policy": name, "week": int(week), metric: mean, "ci95_low": lo,
                         "ci95_high": hi})
    return pd.DataFrame(rows, columns=["policy", "week", metric, "ci95_low", "ci95_high"])


def zone_summary(zones: pd.DataFrame, policies: Sequence[str]) -> pd.DataFrame:
    """Per policy and zone: unmet hours, people waiting, beds and utilisation, with intervals."""
    per_rep = zones.groupby(["policy", "zone", "replication"], sort=False).mean(
        numeric_only=True).reset_index()
    rows = []
    for name in policies:
        for zone, g in per_rep[per_rep["policy"] == name].groupby("zone", sort=False):
            row: dict[str, object] = {"policy": name, "zone": zone}
            for m in ("unmet_hours", "waiting_people", "unmet_beds", "utilisation"):
                mean, lo, hi = interval(g[m], range_of(m))
                row[m] = mean
                row[f"{m}_ci95_low"], row[f"{m}_ci95_high"] = lo, hi
            rows.append(row)
    return pd.DataFrame(rows)


def provider_summary(reps: Sequence[ReplicationRun], provider_ids: Sequence[str],
                     policies: Sequence[str]) -> pd.DataFrame:
    """Per policy and provider (those with any capacity): hours used and allowed a week and
    beds used and open (means over the days), and utilisation and bed occupancy over the
    replay, each a mean over replications with its 95% interval (DESIGN 9.5's "provider
    utilisation"; the weekly tables have it overall and by zone)."""
    per: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in policies}
    days: dict[str, list[int]] = {name: [] for name in policies}
    for rep in reps:
        for run in rep.runs:
            if run.provider_totals and run.policy in per:
                per[run.policy].append(dict(run.provider_totals))
                days[run.policy].append(len(run.daily["waiting_people"]))
    rows = []
    ids = np.asarray(provider_ids, dtype=object)
    for name in policies:
        if not per[name]:
            continue
        tot = {k: np.stack([t[k] for t in per[name]]) for k in per[name][0]}  # reps x providers
        n_days = np.asarray(days[name], dtype=float)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            util = np.where(tot["hours_capacity"] > 0,
                            tot["hours_used"] / tot["hours_capacity"], np.nan)
            occ = np.where(tot["beds_capacity"] > 0,
                           tot["beds_used"] / tot["beds_capacity"], np.nan)
        has = (tot["hours_capacity"].sum(axis=0) > 0) | (tot["beds_capacity"].sum(axis=0) > 0)
        for j in np.nonzero(has)[0]:
            row: dict[str, object] = {"policy": name, "provider": ids[j]}
            for key in ("hours_used", "hours_capacity", "beds_used", "beds_capacity"):
                row[key] = float(np.mean(tot[key][:, j] / n_days[:, 0]))
            for key, values in (("utilisation", util[:, j]), ("bed_occupancy", occ[:, j])):
                values = values[np.isfinite(values)]
                mean, lo, hi = interval(values, range_of(key)) if len(values) else (
                    None, None, None)
                row[key], row[f"{key}_ci95_low"], row[f"{key}_ci95_high"] = mean, lo, hi
            rows.append(row)
    return pd.DataFrame(rows, columns=[
        "policy", "provider", "hours_used", "hours_capacity", "utilisation",
        "utilisation_ci95_low", "utilisation_ci95_high", "beds_used", "beds_capacity",
        "bed_occupancy", "bed_occupancy_ci95_low", "bed_occupancy_ci95_high"])


# waiting time bins (days) for the distribution table and chart
WAIT_BINS = (0, 1, 2, 3, 5, 8, 15, 29, 57, 92, 183, 10**9)


def wait_distribution(runs: Iterable[tuple[str, np.ndarray]], policies: Sequence[str]
                      ) -> pd.DataFrame:
    """Share of placed referrals by days waited, per policy (all replications pooled)."""
    pooled: dict[str, list[np.ndarray]] = {p: [] for p in policies}
    for name, waits in runs:
        if len(waits):
            pooled[name].append(waits[waits[:, 3] == 1, 2])
    labels = [f"{lo}" if hi - lo == 1 else (f"{lo}-{hi - 1}" if hi < 10**9 else f"{lo}+")
              for lo, hi in zip(WAIT_BINS[:-1], WAIT_BINS[1:], strict=True)]
    rows = []
    for name in policies:
        vals = np.concatenate(pooled[name]) if pooled[name] else np.zeros(0)
        counts = np.histogram(vals, bins=WAIT_BINS)[0]
        total = max(1, int(counts.sum()))
        for label, c in zip(labels, counts, strict=True):
            rows.append({"policy": name, "days_waited": label, "placements": int(c),
                         "share": c / total})
    return pd.DataFrame(rows)


def _num(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def collect(reps: Sequence[ReplicationRun], zone_ids: Sequence[str]
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(weekly, weekly by zone, per-replication values) of a study's replications."""
    weeks, zones, values = [], [], []
    for rep in reps:
        for run in rep.runs:
            w = weekly(run, rep.replication)
            weeks.append(w)
            zones.append(weekly_zones(run, rep.replication, zone_ids))
            values.append({"policy": run.policy, "replication": rep.replication,
                           **replication_values(run, w)})
    return (pd.concat(weeks, ignore_index=True), pd.concat(zones, ignore_index=True),
            pd.DataFrame(values))
