"""A study's files: result.json, one CSV per table, one workbook, an HTML report with charts.

The folder is written to a temporary folder beside it and moved into place file by file, so an
interrupted run never leaves a half-written file. Charts are matplotlib PNGs embedded as data
URIs (the report opens offline), drawn like :mod:`allocator.report.html`'s: unmet hours over
the year per policy (mean over replications, with the 95% band), the distribution of days
waited, the weekly cost by term, and unmet hours by zone.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from allocator.report.html import CSS, _figure, _img, _png, _table
from allocator.report.writers import write_csv, write_workbook
from allocator.simulate.metrics import METRICS, MONEY_TERMS, PENALTY_TERMS
from allocator.simulate.run import SimulationResult

FORMATS = ("json", "csv", "xlsx", "html")
RESULT_JSON = "result.json"
WORKBOOK = "simulation.xlsx"
HTML_REPORT = "report.html"
COLOURS = ("#e8590c", "#1c7ed6", "#2f9e44", "#9c36b5", "#f08c00", "#495057")


def write_outputs(result: SimulationResult, out_dir: str | os.PathLike[str],
                  formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Write the study's files into ``out_dir`` (created if needed); returns their paths.

    Raises
    ------
    ValueError
        An unknown format.
    """
    formats = tuple(formats)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        names: list[str] = []
        tables = result.tables()
        if "csv" in formats:
            for name, df in tables.items():
                write_csv(tmp / f"{name}.csv", df)  # formula-safe, numbers rounded
                names.append(f"{name}.csv")
        if "xlsx" in formats:
            write_workbook(tmp / WORKBOOK, tables)
            names.append(WORKBOOK)
        if "html" in formats:
            (tmp / HTML_REPORT).write_text(render(result), encoding="utf-8")
            names.append(HTML_REPORT)
        if "json" in formats:
            with open(tmp / RESULT_JSON, "w", encoding="utf-8") as fh:
                json.dump(result.document(), fh, indent=1, allow_nan=False)
            names.append(RESULT_JSON)
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {name: out / name for name in names}


# ---------------------------------------------------------------------- HTML


def render(result: SimulationResult) -> str:
    """The HTML report as one string."""
    cfg = result.config
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(result.instance)}: a year of brokerage replayed</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(result.instance)}: {cfg.weeks} weeks of brokerage replayed</h1>",
        f"<p>{cfg.replications} replication(s), seed {cfg.seed}; policies "
        f"{_e(', '.join(result.policies))}; every policy sees the same referrals, durations "
        "and capacity changes (common random numbers). Means over weeks and replications, "
        "with 95% intervals over replications.</p>",
    ]
    for note in result.notes:
        parts.append(f'<p class="note">{_e(note)}</p>')
    parts.append("<h2>Policies</h2>")
    parts.append(_table(headline(result)))
    parts.append("<h2>Differences (paired by replication)</h2>")
    diff = result.differences
    if len(diff):
        shown = diff[diff["metric"].isin(["unmet_hours", "waiting_people", "days_waited",
                                          "days_waited_p90", "weekly_cost", "objective",
                                          "moves"])]
        parts.append(_table(shown.assign(
            interval=[_interval(r.ci95_low, r.ci95_high) for r in shown.itertuples()])[
            ["policy", "baseline", "metric", "difference", "interval", "baseline_mean",
             "significant"]]))
    parts.append('<div class="charts">')
    parts.append(_img(unmet_over_year(result), f"unmet hours over {_span(result.unmet_band())}"))
    parts.append(_img(wait_chart(result), "days waited"))
    parts.append(_img(cost_chart(result), "weekly cost by term"))
    parts.append(_img(zone_chart(result), "unmet hours by zone"))
    parts.append("</div>")
    parts.append("<h2>Unmet need by zone (as seed 001 reports it)</h2>")
    zones = result.zone_summary.copy()
    parts.append(_table(zones[["policy", "zone", "unmet_hours", "waiting_people", "unmet_beds",
                               "utilisation"]].rename(columns={
                                   "unmet_hours": "Number of hours",
                                   "waiting_people": "Number of people"})))
    pivot = provider_pivot(result)
    if len(pivot):
        parts.append("<h2>Provider utilisation over the replay</h2>")
        parts.append(_table(pivot))
    parts.append("<h2>Days waited by the referrals placed</h2>")
    parts.append(_table(result.waits.pivot(index="days_waited", columns="policy",
                                           values="share").reindex(
        result.waits["days_waited"].unique()).reset_index()))
    parts.append("<h2>Runs</h2>")
    runs = result.runs.groupby("policy", sort=False).agg(
        replications=("replication", "count"), runtime_s=("runtime_s", "mean"),
        solves=("solves", "mean"), solve_s=("solve_s", "mean"),
        time_limited=("time_limited", "sum"), failures=("failures", "sum")).reset_index()
    parts.append(_table(runs))
    parts.append(f'<p class="note">Total {result.runtime_s:,.0f} s on {result.workers} '
                 f"worker(s) ({_e(result.where)}). All quantities per week; money in the "
                 "instance's currency. Full tables: the CSV files and the workbook beside this "
                 "report.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def provider_pivot(result: SimulationResult) -> pd.DataFrame:
    """One row per provider: its hours (and beds) open a week, then its utilisation (and bed
    occupancy) under each policy, means over the replay and the replications."""
    pr = result.providers
    if pr is None or pr.empty:
        return pd.DataFrame()
    first = pr[pr["policy"] == result.policies[0]].set_index("provider")
    out = pd.DataFrame({"provider": first.index,
                        "hours open a week": first["hours_capacity"].round(1).to_numpy()})
    beds = bool((pr["beds_capacity"] > 0).any())
    if beds:
        out["beds open"] = first["beds_capacity"].round(1).to_numpy()
    for name in result.policies:
        g = pr[pr["policy"] == name].set_index("provider").reindex(first.index)
        out[f"utilisation: {name}"] = [_pct(v) for v in g["utilisation"]]
        if beds:
            out[f"bed occupancy: {name}"] = [_pct(v) for v in g["bed_occupancy"]]
    return out


def _pct(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.1f}%"


def headline(result: SimulationResult) -> pd.DataFrame:
    """Per policy, the headline metrics as 'mean [low, high]' text."""
    rows = []
    for name, s in result.policies_summary.items():
        row: dict[str, Any] = {"policy": name}
        for m in ("unmet_hours", "unmet_beds", "waiting_people", "days_waited",
                  "days_waited_p90", "weekly_cost", "objective", "moves", "utilisation"):
            key = m if m == "days_waited_p90" else f"{m}_mean"
            v, ci = s.get(key), s.get(f"{key}_ci95")
            digits = 3 if m == "utilisation" else (0 if "cost" in m or m == "objective" else 1)
            row[METRICS[m]] = "-" if v is None else (
                f"{v:,.{digits}f}" + (f" [{ci[0]:,.{digits}f}, {ci[1]:,.{digits}f}]"
                                      if ci else ""))
        rows.append(row)
    return pd.DataFrame(rows)


def _interval(lo: Any, hi: Any) -> str:
    if lo is None or hi is None or (isinstance(lo, float) and np.isnan(lo)):
        return "-"
    return f"[{lo:,.2f}, {hi:,.2f}]"


def _span(band: Any) -> str:
    """The replay's length in words, from the weeks of a weekly table: "the year" for 52
    weeks (a replay of 13 weeks is not a year)."""
    weeks = int(band["week"].nunique()) if len(band) else 0
    return "the year" if weeks == 52 else "1 week" if weeks == 1 else f"{weeks} weeks"


def unmet_over_year(result: SimulationResult) -> bytes:
    """Unmet hours a week over the weeks, per policy: mean over replications and 95% band."""
    fig, ax = _figure(7.5, 3.2)
    band = result.unmet_band()
    for i, name in enumerate(result.policies):
        b = band[band["policy"] == name].sort_values("week")
        ax.plot(b["week"], b["unmet_hours"], color=COLOURS[i % len(COLOURS)], label=name)
        if len(b) and b["ci95_low"].notna().all() and b["ci95_high"].notna().all():
            ax.fill_between(b["week"], b["ci95_low"], b["ci95_high"],
                            color=COLOURS[i % len(COLOURS)], alpha=0.15, linewidth=0)
    ax.set_xlabel("week")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("unmet hours a week")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Unmet hours over {_span(band)} (mean over replications, 95% band)")
    ax.legend(fontsize=8)
    return _png(fig)


def wait_chart(result: SimulationResult) -> bytes:
    """Share of placements by days waited, grouped bars per policy."""
    fig, ax = _figure(7.5, 3.2)
    labels = list(result.waits["days_waited"].unique())
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(result.policies))
    for i, name in enumerate(result.policies):
        w = result.waits[result.waits["policy"] == name].set_index("days_waited")
        ax.bar(x + i * width, 100 * w.loc[labels, "share"].to_numpy(), width,
               color=COLOURS[i % len(COLOURS)], label=name)
    ax.set_xticks(x + width * (len(result.policies) - 1) / 2, labels, fontsize=8)
    ax.set_xlabel("days waited")
    ax.set_ylabel("% of placements")
    ax.set_title("How long referrals waited before they were placed")
    ax.legend(fontsize=8)
    return _png(fig)


def cost_chart(result: SimulationResult) -> bytes:
    """Weekly cost by term per policy (stacked bars: money, then penalties)."""
    fig, ax = _figure(7.5, 3.2)
    terms = MONEY_TERMS + PENALTY_TERMS
    names = list(result.policies)
    bottom = np.zeros(len(names))
    for i, term in enumerate(terms):
        vals = np.array([result.policies_summary[n][f"{term}_mean"] or 0.0 for n in names])
        ax.bar(names, vals, bottom=bottom, color=COLOURS[i % len(COLOURS)],
               label=term.removeprefix("cost_"))
        bottom += vals
    ax.set_ylabel("a week")
    ax.set_title("Weekly cost by term (block and framework are paid; the rest are penalties)")
    # beside the bars, not over them (inside, the legend hid the top of the stacks)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _png(fig)


def zone_chart(result: SimulationResult) -> bytes:
    """Unmet hours a week by zone, grouped bars per policy."""
    fig, ax = _figure(7.5, 3.2)
    z = result.zone_summary
    zones = list(result.zone_ids)
    x = np.arange(len(zones))
    width = 0.8 / max(1, len(result.policies))
    for i, name in enumerate(result.policies):
        g = z[z["policy"] == name].set_index("zone")
        ax.bar(x + i * width, g.loc[zones, "unmet_hours"].to_numpy(), width,
               color=COLOURS[i % len(COLOURS)], label=name)
    ax.set_xticks(x + width * (len(result.policies) - 1) / 2, zones, fontsize=8)
    ax.set_ylabel("unmet hours a week")
    ax.set_title("Unmet hours by zone")
    ax.legend(fontsize=8)
    return _png(fig)


def _e(text: Any) -> str:
    import html

    return html.escape(str(text), quote=True)


def sentences(result: SimulationResult) -> list[str]:
    """What each policy changes against the first one, in words: unmet hours, days waited and
    the weekly cost paid, each a paired difference with its 95% interval, and whether the
    replications show it (an interval that excludes 0) or not."""
    if len(result.policies) < 2 or result.differences.empty:
        return []
    base = result.policies[0]
    d = result.differences
    what = (("unmet_hours", "unmet hours a week", 1, "fewer", "more"),
            ("days_waited", "days waited by a referral placed", 1, "fewer", "more"),
            ("weekly_cost", "paid to providers a week", 0, "less", "more"),
            ("moves", "people in care moved a week", 1, "fewer", "more"))
    out = []
    for name in result.policies[1:]:
        shown, noise = [], []
        for metric, words, digits, down, up in what:
            row = d[(d["policy"] == name) & (d["baseline"] == base) & (d["metric"] == metric)]
            if row.empty or pd.isna(row["difference"].iloc[0]):
                continue
            r = row.iloc[0]
            diff = float(r["difference"])
            if not r["significant"]:
                if metric != "moves" or abs(diff) > 1e-9:
                    noise.append(words)
                continue
            text = f"{abs(diff):,.{digits}f} {down if diff < 0 else up} {words}"
            if pd.notna(r["ci95_low"]) and pd.notna(r["ci95_high"]):
                text += f" [{r['ci95_low']:,.{digits}f}, {r['ci95_high']:,.{digits}f}]"
            shown.append(text)
        text = f"{name} against {base}: " + ("; ".join(shown) if shown else
                                              "no difference the replications show")
        if noise:
            text += (f"; {', '.join(noise)}: " if shown else " in ") + (
                "no difference shown (the 95% interval holds 0)" if shown else
                ", ".join(noise) + " (each 95% interval holds 0)")
        out.append(text + ".")
    return out
