"""Writing a design comparison: printed (rich), CSV, one XLSX workbook, a self-contained HTML.

The HTML report holds its CSS and its charts (matplotlib, Agg, inline base64 PNGs: no pyplot
state, no files beside it): the expected cost broken down per design, the distribution of unmet
need over the scenarios per design, and block volume used vs void per provider.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.design.compare import Comparison
from allocator.instance.atomic import write_text
from allocator.report.html import (  # one HTML and chart style for both
    BASE_CSS,
    _e,
    _figure,
    _img,
    _png,
    table_html,
)
from allocator.report.writers import Sheet, write_csv, write_workbook

FORMATS = ("csv", "xlsx", "html")
COST_PARTS = (
    ("block_cost", "void_cost", "block (used)", "#4c6ef5"),
    ("void_cost", None, "block void (paid, not used)", "#bac8ff"),
    ("framework_cost", None, "framework / spot", "#40c057"),
    ("quality_zone_cost", None, "quality and out-of-zone", "#fab005"),
    ("unmet_penalty", None, "unmet-need penalty", "#fa5252"),
    ("transfer_cost", None, "transfers", "#868e96"),
)
CSS = BASE_CSS + """
td.num { text-align: right; }
"""


def write_comparison(comparison: Comparison, out_dir: str | Path,
                     formats: tuple[str, ...] = FORMATS, *, title: str = "Lot designs compared",
                     note: str = "", currency: str = "GBP") -> dict[str, Path]:
    """Write ``comparison.csv`` (the summary) and the other tables as CSV, ``comparison.xlsx``
    and ``comparison.html`` into ``out_dir``; returns the paths by name."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    tables = comparison.tables()
    if "csv" in formats:
        for name, df in tables.items():
            path = out / ("comparison.csv" if name == "summary" else f"comparison_{name}.csv")
            write_csv(path, df)
            paths[path.name] = path
    if "xlsx" in formats:
        path = out / "comparison.xlsx"
        write_workbook(path, [Sheet(name, df) for name, df in tables.items()], currency=currency)
        paths[path.name] = path
    if "html" in formats:
        path = out / "comparison.html"
        write_text(path, render_html(comparison, title=title, note=note, currency=currency))
        paths[path.name] = path
    return paths


def print_comparison(comparison: Comparison, console: Any = None, currency: str = "GBP") -> None:
    """The summary as a rich table: one column per design."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    s = comparison.summary
    table = Table(title="Lot designs compared (expected per week)", title_justify="left")
    table.add_column("")
    for name in s["design"]:
        table.add_column(str(name), justify="right")
    for label, key, fmt in SUMMARY_ROWS:
        if key not in s:
            continue
        table.add_row(label, *[_cell(v, fmt, currency) for v in s[key]])
    console.print(table)
    for text in comparison.verdicts["verdict"]:
        console.print(f"- {text}")
    console.print(f"{len(s)} design(s) in {comparison.runtime_s:.1f} s", style="dim")


SUMMARY_ROWS = (
    ("status", "status", "text"),
    ("expected weekly cost", "expected_cost", "money"),
    ("  block (incl. award costs)", "block_cost", "money"),
    ("    of which void", "void_cost", "money"),
    ("  framework / spot", "framework_cost", "money"),
    ("  quality and out-of-zone", "quality_zone_cost", "money"),
    ("  unmet-need penalty", "unmet_penalty", "money"),
    ("  transfers", "transfer_cost", "money"),
    ("bound", "bound", "money"),
    ("gap", "gap", "pct"),
    ("void units (paid, not used)", "void_units", "num"),
    ("unmet hours, mean", "unmet_hours_mean", "num"),
    ("unmet hours, 90th percentile", "unmet_hours_p90", "num"),
    ("unmet beds, mean", "unmet_beds_mean", "num"),
    ("unmet beds, 90th percentile", "unmet_beds_p90", "num"),
    ("people unmet, mean", "unmet_people_mean", "num"),
    ("share funded from block", "block_funded_share", "pct"),
    ("block awards", "awards", "int"),
    ("providers awarded", "providers_awarded", "int"),
    ("largest provider share (max over lots)", "largest_share_max", "pct"),
    ("HHI (demand-weighted mean over lots)", "hhi_mean", "int"),
    ("quality-weighted units", "quality_weighted_units", "num"),
    ("time given", "time_given_s", "secs"),
    ("solve time", "runtime_s", "secs"),
)


def _cell(value: Any, fmt: str, currency: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if fmt == "money":
        return f"{currency} {value:,.0f}"
    if fmt == "pct":
        return f"{100 * value:.2f}%"
    if fmt == "num":
        return f"{value:,.1f}"
    if fmt == "int":
        return f"{value:,.0f}"
    if fmt == "secs":
        return f"{value:.1f} s"
    return str(value)


# ---------------------------------------------------------------------- HTML


def render_html(comparison: Comparison, *, title: str = "Lot designs compared",
                note: str = "", currency: str = "GBP") -> str:
    """The comparison as one self-contained HTML page."""
    s = comparison.summary
    rows = []
    for label, key, fmt in SUMMARY_ROWS:
        if key in s:
            cells = "".join(f'<td class="num">{_e(_cell(v, fmt, currency))}</td>' for v in s[key])
            rows.append(f"<tr><th>{_e(label)}</th>{cells}</tr>")
    head = "".join(f"<th>{_e(n)}</th>" for n in s["design"])
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    if note:
        parts.append(f'<p class="note">{_e(note)}</p>')
    parts += [
        f"<div class=\"scroll\"><table><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>",
        "<h2>Which differences are proven</h2>",
        "<ul>" + "".join(f"<li>{_e(t)}</li>" for t in comparison.verdicts["verdict"]) + "</ul>",
        "<h2>Expected weekly cost by part</h2>", _img(cost_chart(s, currency), "cost breakdown"),
        "<h2>Unmet need over the scenarios</h2>", _img(unmet_chart(comparison.scenarios),
                                                       "unmet need distribution"),
    ]
    if len(comparison.providers):
        parts += ["<h2>Block volume used and void, per provider</h2>",
                  _img(block_chart(comparison.providers), "block use vs void")]
    parts += ["<h2>Lots</h2>", _table(comparison.lots, currency=currency),
              "<h2>Awards</h2>", _table(comparison.awards, currency=currency),
              f'<p class="note">Computed in {comparison.runtime_s:.1f} s. Expectations are '
              "weighted by scenario; HHI is the sum of squared provider shares of a lot's "
              "served quantity x 10,000.</p>",
              "</body></html>"]
    return "\n".join(parts)


def cost_chart(summary: pd.DataFrame, currency: str = "GBP") -> bytes:
    """Stacked bars: each design's expected weekly cost by part."""
    fig, ax = _figure(8, 4.2)
    names = [textwrap.fill(str(n), 18) for n in summary["design"]]
    bottom = np.zeros(len(names))
    for key, minus, label, colour in COST_PARTS:
        if key not in summary:
            continue
        values = summary[key].fillna(0.0).to_numpy(dtype=float)
        if minus is not None and minus in summary:
            values = values - summary[minus].fillna(0.0).to_numpy(dtype=float)
        ax.bar(names, values, bottom=bottom, label=label, color=colour)
        bottom += values
    ax.set_ylabel(f"{currency} per week (expected)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Expected weekly cost")
    return _png(fig)


def unmet_chart(scenarios: pd.DataFrame) -> bytes:
    """Box plots: unmet quantity per scenario, one box per design (and unit)."""
    fig, ax = _figure(8, 3.8)
    cols = [c for c in ("unmet_beds", "unmet_hours") if c in scenarios]
    data, labels = [], []
    for design, group in scenarios.groupby("design", sort=False):
        for c in cols:
            if group[c].abs().sum() > 0 or len(cols) == 1:
                data.append(group[c].to_numpy(dtype=float))
                labels.append(f"{design}\n({c.split('_')[1]})")
    if data:
        ax.boxplot(data, showmeans=True)
        ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=8)
    ax.set_ylabel("unmet per scenario")
    ax.set_title("Unmet need over the scenarios (box: quartiles; triangle: mean)")
    return _png(fig)


def block_chart(providers: pd.DataFrame, limit: int = 40) -> bytes:
    """Horizontal stacked bars: mean block use and void per provider (summed over lots)."""
    g = (providers.groupby(["design", "provider"], sort=False)[["used_mean", "void_mean"]]
         .sum().reset_index())
    g = g.sort_values(["design", "used_mean"], ascending=[True, False]).head(limit)
    fig, ax = _figure(8, max(2.5, 0.22 * len(g) + 1))
    labels = [f"{d}: {p}" for d, p in zip(g["design"], g["provider"], strict=True)]
    y = np.arange(len(g))
    ax.barh(y, g["used_mean"], color="#4c6ef5", label="used (mean)")
    ax.barh(y, g["void_mean"], left=g["used_mean"], color="#bac8ff", label="void (mean)")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("block volume (units per week)")
    ax.legend(fontsize=8)
    ax.set_title("Block volume: used vs void, per provider")
    return _png(fig)


def concentration_chart(lots: pd.DataFrame) -> bytes:
    """Grouped bars: each lot's HHI (market concentration of its served quantity), per design.

    An HHI above 2,500 is read as highly concentrated (the competition authorities' usual
    threshold), drawn as a dashed line.
    """
    fig, ax = _figure(8, 3.8)
    designs = list(dict.fromkeys(lots["design"]))
    lot_ids = list(dict.fromkeys(lots["lot"]))
    width = 0.8 / max(1, len(designs))
    x = np.arange(len(lot_ids))
    for i, design in enumerate(designs):
        hhi = lots[lots["design"] == design].set_index("lot")["hhi"]
        ax.bar(x + i * width - 0.4 + width / 2, [float(hhi.get(lot, 0.0)) for lot in lot_ids],
               width, label=str(design))
    ax.axhline(2500, color="#868e96", linestyle="--", linewidth=1)
    ax.set_xticks(x, [textwrap.fill(str(lot), 12) for lot in lot_ids], fontsize=8)
    ax.set_ylim(0, 10_500)
    ax.set_ylabel("HHI (0-10,000)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Market concentration per lot (dashed: 2,500, highly concentrated)")
    return _png(fig)


def summary_cells(summary: pd.DataFrame, currency: str = "GBP") -> list[tuple[str, list[str]]]:
    """The summary as (label, one formatted cell per design) rows, as the reports show it."""
    return [(label, [_cell(v, fmt, currency) for v in summary[key]])
            for label, key, fmt in SUMMARY_ROWS if key in summary]


def _table(df: pd.DataFrame, limit: int = 500, currency: str = "GBP") -> str:
    return table_html(df, currency=currency, max_rows=limit)
