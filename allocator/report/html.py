"""A self-contained HTML report: inline CSS, charts as inline base64 PNGs, the main tables.

Charts (matplotlib, Agg, no pyplot state): the cost breakdown into the five objective terms,
unmet hours by zone, and provider utilisation. The file opens offline and can be mailed.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd

from allocator.core.problem import Problem
from allocator.core.reasons import money
from allocator.core.result import TERM_LABELS, TERMS, Result
from allocator.report.summary import (
    expected,
    has_hours,
    reason_rows,
    scenario_weights,
    zone_rows,
)
from allocator.report.writers import column_kind, header_words

# Shared by every HTML page we write (result, design comparison, morning report): fits a
# 1366x768 laptop (the page never scrolls sideways: a wide table scrolls inside its own box,
# long text wraps) and prints cleanly (no scroll boxes, no cut rows, header rows repeated).
BASE_CSS = """
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 1.5em auto;
       padding: 0 1.2em; max-width: 1200px; color: #222; line-height: 1.35; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.scroll { width: fit-content; max-width: 100%; overflow: auto; max-height: 75vh;
          margin: 0.5em 0; border: 1px solid #dee2e6; }
table { border-collapse: collapse; font-size: 0.85em; }
.scroll table { margin: 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; max-width: 28em; overflow-wrap: break-word; }
.scroll thead th { position: sticky; top: 0; z-index: 1; }
th { background: #f1f3f5; } td.num, th.num { text-align: right; white-space: nowrap; }
img { max-width: 100%; height: auto; }
.note { color: #666; font-size: 0.85em; }
.alert { border-left: 4px solid #d9480f; background: #fff4e6; padding: 0.5em 0.8em;
         max-width: 60em; }
@page { size: A4 landscape; margin: 1cm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  .scroll { width: auto; max-height: none; overflow: visible; border: none; }
  .scroll table { width: 100%; table-layout: fixed; }
  th, td { padding: 1px 3px; }
  .scroll thead th { position: static; }
  thead { display: table-header-group; }
  tr, img { page-break-inside: avoid; break-inside: avoid; }
  h2 { page-break-after: avoid; break-after: avoid; }
  table { font-size: 7pt; }
  th, td { max-width: none; white-space: normal; overflow-wrap: anywhere; }
  td.num, th.num { white-space: normal; }
  a { color: inherit; text-decoration: none; }
}
"""
CSS = BASE_CSS + """
.status { font-weight: bold; padding: 0.1em 0.5em; border-radius: 0.3em; color: white; }
.optimal { background: #2b8a3e; } .feasible { background: #e67700; }
.infeasible, .time_limit_no_solution, .error { background: #c92a2a; }
.charts img { border: 1px solid #eee; margin: 0.3em 0; }
@media print { .status { color: black; border: 1px solid black; } }
"""

MAX_ROWS = 500  # rows shown per table; the CSV files hold them all


def render_html(
    problem: Problem,
    result: Result,
    tables: Mapping[str, pd.DataFrame],
    fields: Mapping[str, Any],
) -> str:
    """The report as one HTML string (see the module docstring)."""
    inst = problem.instance
    cur = inst.currency
    status = result.status.value
    weights = scenario_weights(problem)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(inst.name)}: allocation result</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(inst.name)}</h1>",
        f'<p><span class="status {_e(status)}">{_e(status)}</span> '
        f"solver {_e(result.solver)}, {problem.n_needs:,} needs, {problem.n_providers:,} "
        f"providers, {len(problem.zone_ids):,} zones</p>",
    ]
    if result.extra.get("search_error"):
        # a search process failed: the answer stands (checked, with its bound) but may be
        # poorer than the market allows, which a grey note would not make plain
        parts.append(f'<p class="alert" role="alert"><strong>A search process failed.</strong> '
                     f"{_e(result.message)}. This answer is checked and its bound holds, but "
                     "it may be dearer than a full solve would find: solve again, and if it "
                     "happens again send result.json (its extra.search_error holds the "
                     "error in full) to whoever supports the engine.</p>")
    elif result.message:
        parts.append(f'<p class="note">{_e(result.message)}</p>')
    parts.append("<h2>Objective</h2>")
    parts.append(_kv_table(_headline(result, fields, cur)))
    for note in fields.get("notes", []):
        parts.append(f'<p class="note">{_e(note)}</p>')
    if result.objective is not None:
        parts.append('<div class="charts">')
        parts.append(_img(cost_chart(result, cur), "cost breakdown"))
        if "zones" in tables and len(tables["zones"]):
            chart = unmet_chart(expected(tables["zones"], "zone", ["unmet_hours", "unmet_beds"],
                                         weights))
            if chart is not None:
                parts.append(_img(chart, "unmet need by zone"))
        if "providers" in tables and len(tables["providers"]):
            chart = utilisation_chart(expected(
                tables["providers"], "provider",
                [c for c in ("utilisation", "beds", "beds_used") if c in tables["providers"]],
                weights))
            if chart is not None:
                parts.append(_img(chart, "provider utilisation"))
        parts.append("</div>")
    if "zones" in tables:
        parts.append("<h2>Unmet need by zone</h2>")
        zones = zone_rows(tables["zones"], weights)
        if not has_hours(zones):  # placements only: no hours to show
            zones = zones.drop(columns=["unmet_hours", "demand_hours"])
        zones = zones.rename(columns={
            "unmet_hours": "Number of hours", "unmet_people": "Number of people",
            "unmet_beds": "Beds", "demand_hours": "Demand (hours)", "people": "Demand (people)"})
        parts.append(_table(zones, cur))
    if "unmet" in tables and len(tables["unmet"]):
        unmet = tables["unmet"]
        parts.append("<h2>Why needs are unmet</h2>")
        parts.append(_table(reason_rows(unmet, weights), cur))
        cols = ["need", "zone", "service", "quantity", "unit", "priority", "reason", "detail"]
        cols += [c for c in ("change",) if c in unmet.columns]
        ordered = unmet.sort_values("penalty", ascending=False, kind="stable")
        parts.append(_table(ordered[cols], cur))
    if "alternatives" in tables and len(tables["alternatives"]):
        parts.append("<h2>Why these providers: the next alternatives</h2>")
        parts.append('<p class="note">Each served need against its next eligible offers, '
                     "cheapest first, and why each was not chosen (weekly costs).</p>")
        alts = tables["alternatives"]
        parts.append(_table(alts[[c for c in (
            "scenario", "need", "provider", "cost", "rank", "alternative_provider",
            "alternative_cost", "extra_cost", "why") if c in alts.columns]], cur))
    for name, title in (("awards", "Block awards"), ("lots", "Lots"), ("blocks", "Block pools"),
                        ("providers", "Providers"), ("assignments", "Assignments")):
        if name in tables and len(tables[name]):
            parts.append(f"<h2>{title}</h2>")
            parts.append(_table(tables[name], cur))
    parts.append('<p class="note">All quantities per week; money in '
                 f"{_e(cur)}. Full tables: the CSV files and result.xlsx beside this report.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _headline(result: Result, fields: Mapping[str, Any], cur: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if result.objective is not None:
        rows.append(("objective", money(result.objective, cur)))
        rows += [(f"{t}: {TERM_LABELS[t]}", money(result.terms.get(t, 0.0), cur)) for t in TERMS]
    rows.append(("bound", "-" if result.bound is None else money(result.bound, cur)))
    rows.append(("gap", "-" if result.gap is None else f"{100 * result.gap:.4f}%"))
    rows.append(("runtime", f"{result.runtime_s:.2f} s (build {result.build_s:.2f} s, "
                            f"solve {result.solve_s:.2f} s)"))
    if fields.get("benchmark_objective") is not None:
        rows.append(("benchmark objective", f"{fields['benchmark_objective']:,.6g}"))
    for key in ("unmet_people", "unmet_hours", "unmet_beds"):
        if key in fields:
            rows.append((key.replace("_", " "), f"{fields[key]:,.6g}"))
    return rows


# ---------------------------------------------------------------------- charts


def cost_chart(result: Result, currency: str) -> bytes:
    """Horizontal bars: the five objective terms."""
    values = [float(result.terms.get(t, 0.0)) for t in TERMS]
    fig, ax = _figure(7, 2.6)
    ax.barh(list(TERMS)[::-1], values[::-1], color="#4263eb")
    ax.set_title(f"Weekly cost by term ({currency})")
    for y, v in enumerate(values[::-1]):
        ax.annotate(f"{v:,.0f}", (v, y), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.margins(x=0.15)
    return _png(fig)


def unmet_chart(zones: pd.DataFrame, limit: int = 30) -> bytes | None:
    """Bars: unmet hours per zone, and unmet beds beside them when beds are unmet.

    The ``limit`` zones with most unmet need; None when nothing is unmet (no empty chart).
    """
    hours = zones["unmet_hours"] if "unmet_hours" in zones else pd.Series(0.0, zones.index)
    beds = zones["unmet_beds"] if "unmet_beds" in zones else pd.Series(0.0, zones.index)
    if float(hours.sum()) <= 0 and float(beds.sum()) <= 0:
        return None
    order = (hours.rank(ascending=False) + beds.rank(ascending=False)).sort_values(
        kind="stable").index
    top = zones.loc[order].head(limit)
    has_hours, has_beds = float(hours.sum()) > 0, float(beds.sum()) > 0
    fig, ax = _figure(7, 3)
    x = list(range(len(top)))
    if has_hours:
        ax.bar([i - 0.2 * has_beds for i in x], top["unmet_hours"], width=0.4 if has_beds
               else 0.8, color="#e8590c", label="hours")
        ax.set_ylabel("hours per week")
    if has_beds:
        target = ax.twinx() if has_hours else ax
        target.bar([i + 0.2 * has_hours for i in x], top["unmet_beds"],
                   width=0.4 if has_hours else 0.8, color="#7048e8", label="beds")
        target.set_ylabel("beds")
        target.yaxis.get_major_locator().set_params(integer=True)
        if has_hours:
            fig.legend(loc="upper right", fontsize=8)
    ax.set_xticks(x, top["zone"].astype(str))
    what = " and ".join(w for w, on in (("hours", has_hours), ("beds", has_beds)) if on)
    ax.set_title(f"Unmet {what} per week by zone" + (f" (top {limit})" if len(zones) > limit
                                                      else ""))
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    return _png(fig)


def provider_use(providers: pd.DataFrame) -> pd.Series:
    """Each provider's share of capacity used: hours where it has hours capacity, else beds.

    A supported-living provider has beds and no hours: its use is beds used / beds, so that
    it is not left out of the chart.
    """
    util = providers["utilisation"] if "utilisation" in providers else pd.Series(
        float("nan"), providers.index)
    if {"beds", "beds_used"} <= set(providers.columns):
        beds = pd.to_numeric(providers["beds"], errors="coerce")
        bed_use = pd.to_numeric(providers["beds_used"], errors="coerce") / beds.where(beds > 0)
        util = util.fillna(bed_use)
    return util


def utilisation_chart(providers: pd.DataFrame, limit: int = 40) -> bytes | None:
    """Provider utilisation (hours, or beds for bed-only providers): bars per provider, or a
    histogram when there are many; None when no provider has any capacity."""
    frame = providers.assign(use=provider_use(providers)).dropna(subset=["use"])
    if frame.empty:
        return None
    fig, ax = _figure(7, 3)
    if len(frame) > limit:
        ax.hist(100 * frame["use"].clip(upper=1.5), bins=20, color="#2f9e44")
        ax.set_xlabel("capacity used (%)")
        ax.set_ylabel("providers")
    else:
        beds_only = frame["utilisation"].isna() if "utilisation" in frame else False
        colours = ["#1c7ed6" if b else "#2f9e44" for b in
                   (beds_only if isinstance(beds_only, pd.Series) else [False] * len(frame))]
        ax.bar(frame["provider"].astype(str), 100 * frame["use"], color=colours)
        ax.set_ylabel("capacity used (%)")
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.set_title("Provider utilisation (hours used / capacity; blue: beds)")
    return _png(fig)


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # Figure needs no pyplot and no global backend

    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}"><br>'


# ---------------------------------------------------------------------- tables


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td class=\"num\">{_e(v)}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table>{body}</table></div>'


def _table(df: pd.DataFrame, currency: str = "GBP") -> str:
    return table_html(df, currency=currency)


def table_html(df: pd.DataFrame, *, currency: str = "GBP", max_rows: int = MAX_ROWS,
               kinds: Mapping[str, str] | None = None) -> str:
    """A table in its own scroll box: headers in words, numbers by kind (money, %, counts).

    The kinds are those of :func:`allocator.report.writers.column_kind` (the spreadsheets'
    formats): money as ``£1,234.50``, shares as ``69%``, counts without decimals.
    """
    shown = df.head(max_rows)
    names = [str(c) for c in shown.columns]
    col_kinds = [(kinds or {}).get(n) or column_kind(n, shown[c])
                 for n, c in zip(names, shown.columns, strict=True)]
    numeric = [k in ("money", "percent", "count", "number") for k in col_kinds]
    num_class = ' class="num"'
    head = "".join(f"<th{num_class if num else ''}>{_e(header_words(n))}</th>"
                   for n, num in zip(names, numeric, strict=True))
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for value, kind, num in zip(row, col_kinds, numeric, strict=True):
            if num:
                cells.append(f'<td class="num">{_e(format_value(value, kind, currency))}</td>')
            else:
                cells.append(f"<td>{_e(format_value(value, kind, currency))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="note">First {max_rows:,} of {len(df):,} rows.</p>'
            if len(df) > max_rows else "")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>{more}")


def format_value(value: Any, kind: str, currency: str = "GBP") -> str:
    """A cell as text for people, by its column's kind."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    if kind == "money":
        return money(float(value), currency)
    if kind == "percent":
        return f"{100 * value:.0f}%" if abs(100 * value - round(100 * value)) < 0.05 \
            else f"{100 * value:.1f}%"
    if kind == "count" or (isinstance(value, int)):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{value:,.2f}" if not float(value).is_integer() else f"{value:,.0f}"
