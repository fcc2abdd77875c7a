"""Charts of the pages, drawn on the server (matplotlib, PNG): a job's progress, a design
comparison's charts from the tables kept with its job (the functions of
:mod:`allocator.design.report`, the same as in ``comparison.html``) and a mini-competition's
chart (:func:`allocator.design.minicomp_report.ranking_chart`, the same as in its
``report.html``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from allocator.report.html import _figure, _png  # one chart style for every report

COMPARISON_CHARTS = ("cost", "unmet", "awards", "concentration")


def progress_chart(points: list[dict[str, Any]], currency: str = "GBP") -> bytes:
    """Objective (best found) and bound over time, one dot per progress point."""
    fig, ax = _figure(7, 3.0)
    obj = [(p["t"], p["objective"]) for p in points if p.get("objective") is not None]
    bound = [(p["t"], p["bound"]) for p in points if p.get("bound") is not None]
    if obj:
        ax.step(*zip(*obj, strict=True), where="post", marker="o", color="#1c7ed6",
                label="best allocation found")
    if bound:
        ax.step(*zip(*bound, strict=True), where="post", marker=".", color="#2b8a3e",
                linestyle="--", label="bound (no allocation can cost less)")
    if not obj and not bound:
        ax.text(0.5, 0.5, "waiting for the solver's first figures", ha="center",
                va="center", transform=ax.transAxes, color="#868e96")
    ax.set_xlabel("seconds since the start")
    ax.set_ylabel(f"{currency} per week")
    if obj or bound:
        ax.legend(fontsize=8, loc="best", framealpha=0.9)
    return _png(fig)


def frame(table: dict[str, Any]) -> pd.DataFrame:
    """A table kept as JSON (columns and rows) back as a DataFrame."""
    return pd.DataFrame(table["rows"], columns=table["columns"])


def comparison_chart(name: str, tables: dict[str, Any], currency: str = "GBP") -> bytes:
    """One chart of a comparison: cost by part, unmet need distribution, awards (block volume
    used and void per provider) or market concentration (HHI per lot)."""
    from allocator.design import report

    if name == "cost":
        return report.cost_chart(frame(tables["summary"]), currency)
    if name == "unmet":
        return report.unmet_chart(frame(tables["scenarios"]))
    if name == "awards":
        providers = frame(tables["providers"])
        if providers.empty:
            return _empty("no block volume awarded in any design")
        return report.block_chart(providers)
    if name == "concentration":
        return report.concentration_chart(frame(tables["lots"]))
    raise KeyError(name)


def minicomp_chart(mc: Any) -> bytes:
    """Each bid's published score beside its whole-market cost (with the proven bound as a
    tick): the chart of the mini-competition's HTML report."""
    from allocator.design.minicomp_report import ranking_chart

    return ranking_chart(mc)


def _empty(text: str) -> bytes:
    fig, ax = _figure(7, 1.2)
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#868e96")
    return _png(fig)
