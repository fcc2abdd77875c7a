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
from allocator.report.summary import expected, reason_rows, scenario_weights, zone_rows

CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f1f3f5; } td.num { text-align: right; }
.status { font-weight: bold; padding: 0.1em 0.5em; border-radius: 0.3em; color: white; }
.optimal { background: #2b8a3e; } .feasible { background: #e67700; }
.infeasible, .time_limit_no_solution, .error { background: #c92a2a; }
.charts img { max-width: 100%; border: 1px solid #eee; margin: 0.3em 0; }
.note { color: #666; font-size: 0.85em; }
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
    if result.message:
        parts.append(f'<p class="note">{_e(result.message)}</p>')
    parts.append("<h2>Objective</h2>")
    parts.append(_kv_table(_headline(result, fields, cur)))
    for note in fields.get("notes", []):
        parts.append(f'<p class="note">{_e(note)}</p>')
    if result.objective is not None:
        parts.append('<div class="charts">')
        parts.append(_img(cost_chart(result, cur), "cost breakdown"))
        if "zones" in tables and len(tables["zones"]):
            parts.append(_img(unmet_chart(expected(tables["zones"], "zone", ["unmet_hours"],
                                                   weights)), "unmet hours by zone"))
        if "providers" in tables and len(tables["providers"]):
            parts.append(_img(utilisation_chart(expected(
                tables["providers"], "provider", ["utilisation"], weights)),
                "provider utilisation"))
        parts.append("</div>")
    if "zones" in tables:
        parts.append("<h2>Unmet need by zone</h2>")
        zones = zone_rows(tables["zones"], weights).rename(columns={
            "unmet_hours": "Number of hours", "unmet_people": "Number of people",
            "unmet_beds": "Beds", "demand_hours": "Demand (hours)", "people": "People"})
        parts.append(_table(zones))
    if "unmet" in tables and len(tables["unmet"]):
        unmet = tables["unmet"]
        parts.append("<h2>Why needs are unmet</h2>")
        parts.append(_table(reason_rows(unmet, weights)))
        cols = ["need", "zone", "service", "quantity", "unit", "priority", "reason", "detail"]
        cols += [c for c in ("change",) if c in unmet.columns]
        parts.append(_table(unmet.sort_values("penalty", ascending=False, kind="stable")[cols]))
    if "alternatives" in tables and len(tables["alternatives"]):
        parts.append("<h2>Why these providers: the next alternatives</h2>")
        parts.append('<p class="note">Each served need against its next eligible offers, '
                     "cheapest first, and why each was not chosen (weekly costs).</p>")
        alts = tables["alternatives"]
        parts.append(_table(alts[[c for c in (
            "scenario", "need", "provider", "cost", "rank", "alternative_provider",
            "alternative_cost", "extra_cost", "why") if c in alts.columns]]))
    for name, title in (("awards", "Block awards"), ("lots", "Lots"), ("blocks", "Block pools"),
                        ("providers", "Providers"), ("assignments", "Assignments")):
        if name in tables and len(tables[name]):
            parts.append(f"<h2>{title}</h2>")
            parts.append(_table(tables[name]))
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


def unmet_chart(zones: pd.DataFrame, limit: int = 30) -> bytes:
    """Bars: unmet hours per zone (the ``limit`` zones with most unmet hours)."""
    top = zones.sort_values("unmet_hours", ascending=False, kind="stable").head(limit)
    fig, ax = _figure(7, 3)
    ax.bar(top["zone"].astype(str), top["unmet_hours"], color="#e8590c")
    ax.set_title("Unmet hours per week by zone" + (f" (top {limit})" if len(zones) > limit
                                                    else ""))
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    return _png(fig)


def utilisation_chart(providers: pd.DataFrame, limit: int = 40) -> bytes:
    """Provider utilisation: bars per provider, or a histogram when there are many."""
    util = providers.dropna(subset=["utilisation"])
    fig, ax = _figure(7, 3)
    if len(util) > limit:
        ax.hist(100 * util["utilisation"].clip(upper=1.5), bins=20, color="#2f9e44")
        ax.set_xlabel("capacity used (%)")
        ax.set_ylabel("providers")
    else:
        ax.bar(util["provider"].astype(str), 100 * util["utilisation"], color="#2f9e44")
        ax.set_ylabel("capacity used (%)")
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.set_title("Provider utilisation (hours used / capacity)")
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
    return f"<table>{body}</table>"


def _table(df: pd.DataFrame) -> str:
    shown = df.head(MAX_ROWS)
    head = "".join(f"<th>{_e(c)}</th>" for c in shown.columns)
    numeric = [pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])
               for c in shown.columns]
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for value, num in zip(row, numeric, strict=True):
            if num:
                cells.append(f'<td class="num">{_fmt(value)}</td>')
            else:
                cells.append(f"<td>{_e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="note">First {MAX_ROWS:,} of {len(df):,} rows.</p>'
            if len(df) > MAX_ROWS else "")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{more}"


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return _e(value)
