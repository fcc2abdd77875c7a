"""The head of a result: its summary fields and the printed summary.

:func:`summary_fields` is what ``result.json`` starts with and what ``allocator solve --json``
prints; :func:`print_summary` shows the same with rich, plus unmet hours and people by zone in
the shape of the Devon table of seed 001 (zone, number of hours, number of people) and the most
common reasons.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from allocator.core.problem import Problem
from allocator.core.reasons import money, quantity, units
from allocator.core.result import TERMS, Result, Solution

SHORT_LABELS = {
    "block": "block contracts",
    "framework": "framework / spot purchases",
    "quality_zone": "quality and out-of-zone",
    "unmet": "unmet-need penalty",
    "transfer": "people moved or left unmet",
}
STATUS_STYLE = {
    "optimal": "bold green",
    "feasible": "bold yellow",
    "infeasible": "bold red",
    "time_limit_no_solution": "bold red",
    "error": "bold red",
}


def objective_kind(problem: Problem, result: Result) -> str:
    """The objective a solve used (``extra["objective_kind"]``, set by the solver registry)."""
    kind = result.extra.get("objective_kind") if result.extra else None
    if kind in ("weighted", "lexicographic"):
        return str(kind)
    phases = result.extra.get("phases", []) if result.extra else []
    if any(ph.get("phase") == "unmet" for ph in phases if isinstance(ph, dict)):
        return "lexicographic"
    return problem.objective_kind if not phases else "weighted"


def summary_fields(
    problem: Problem, result: Result, tables: dict[str, pd.DataFrame] | None = None
) -> dict[str, Any]:
    """The summary of a result as plain JSON values (no tables, no solution)."""
    inst = problem.instance
    fields: dict[str, Any] = {
        "instance": inst.name,
        "status": result.status.value,
        "solver": result.solver,
        "objective": _num(result.objective),
        "bound": _num(result.bound),
        "gap": _num(result.gap),
        "runtime_s": _num(result.runtime_s),
        "build_s": _num(result.build_s),
        "solve_s": _num(result.solve_s),
        "objective_kind": objective_kind(problem, result),
        "terms": {t: _num(result.terms[t]) if t in result.terms else None for t in TERMS},
    }
    if inst.benchmark is not None:
        b = inst.benchmark
        fields["benchmark"] = {"problem": b.problem, "source": b.source, "index": b.index,
                               "sense": b.sense, "variant": b.variant}
        # An imported benchmark's unmet penalty exceeds what any complete assignment costs
        # (allocator.generate.orlib): an answer that leaves need unmet has no objective in the
        # benchmark's own sense, and a proven optimum that does proves the benchmark infeasible.
        unmet = result.terms.get("unmet", 0.0) if result.terms else 0.0
        incomplete = result.objective is not None and unmet > 1e-9
        fields["benchmark_status"] = (
            ("infeasible" if result.status.value == "optimal" else "no_complete_solution_found")
            if incomplete else result.status.value)
        fields["benchmark_objective"] = (
            None if result.objective is None or incomplete
            else _num(b.original_objective(result.objective))
        )
        fields["benchmark_bound"] = (
            None if result.bound is None else _num(b.original_objective(result.bound))
        )
    fields["message"] = result.message
    fields["phases"] = _jsonable(list(result.extra.get("phases", []))) if result.extra else []
    other = {k: v for k, v in (result.extra or {}).items() if k != "phases"}
    if other:
        fields["extra"] = _jsonable(other)
    fields["needs"] = problem.n_needs
    if tables is not None and "zones" in tables:
        # with scenarios: expectations over them (people then need not be whole)
        weights = scenario_weights(problem)
        count = float if "scenario" in tables["zones"] else int
        total = zone_rows(tables["zones"], weights).iloc[-1]
        fields["served"] = count(total["people"] - total["unmet_people"])
        fields["unmet_people"] = count(total["unmet_people"])
        fields["unmet_hours"] = float(total["unmet_hours"])
        fields["unmet_beds"] = float(total["unmet_beds"])
        reasons = reason_rows(tables["unmet"], weights)
        fields["unmet_by_reason"] = {str(r): count(n) for r, n in
                                     zip(reasons["reason"], reasons["people"], strict=True)}
    return fields


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _jsonable(obj: Any) -> Any:
    """Plain JSON values for a result's ``extra``.

    numpy scalars become Python numbers, small arrays lists, non-finite floats None, tuple
    keys ``"a/b"``, dataclasses dicts; solutions inside them are left out (the result's own
    solution is written once, in full).
    """
    if isinstance(obj, Solution):
        return None
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not isinstance(getattr(obj, f.name), Solution)}
    if isinstance(obj, Mapping):
        return {"/".join(map(str, k)) if isinstance(k, tuple) else str(k): _jsonable(v)
                for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist() if obj.size <= 1000 else f"<array of {obj.size}>"
    if hasattr(obj, "item") and callable(obj.item):
        obj = obj.item()
    if isinstance(obj, float):
        return _num(obj)
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    return str(obj)


def scenario_weights(problem: Problem) -> dict[str, float]:
    """Scenario id -> weight (empty without scenarios)."""
    return {sc.id: sc.weight for sc in problem.instance.scenarios}


def expected(
    df: pd.DataFrame, by: str, columns: list[str], weights: Mapping[str, float] | None
) -> pd.DataFrame:
    """Per-scenario rows folded into their expectation (weights by scenario) per ``by``.

    A table without a ``scenario`` column is returned as it is.
    """
    if "scenario" not in df:
        return df
    w = df["scenario"].map(dict(weights or {})).fillna(0.0).astype(float)
    weighted = df[columns].mul(w, axis=0)
    weighted.insert(0, by, df[by])
    return weighted.groupby(by, sort=False, as_index=False)[columns].sum()


def zone_rows(zones: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Unmet hours and people per zone plus a total row (seed 001's table).

    With scenarios, each figure is its expectation over the scenarios.
    """
    cols = ["unmet_hours", "unmet_people", "unmet_beds", "demand_hours", "people"]
    out = expected(zones, "zone", cols, weights)[["zone", *cols]].copy()
    total = {"zone": "Total", **{c: out[c].sum() for c in cols}}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def has_hours(zones: pd.DataFrame) -> bool:
    """True when a zone table (of :func:`zone_rows`) has any hours, demanded or unmet: the
    hours columns are left out of a market of placements only."""
    return bool(zones["demand_hours"].sum() > 0 or zones["unmet_hours"].sum() > 0)


def reason_rows(unmet: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Unmet needs per reason: people, hours, beds and weekly penalty, largest penalty first.

    With scenarios, each figure is its expectation over the scenarios.
    """
    hours = unmet["quantity"].where(unmet["unit"] == "hours", 0.0)
    beds = unmet["quantity"].where(unmet["unit"] == "beds", 0.0)
    rows = unmet.assign(people=1.0, hours=hours, beds=beds)
    cols = ["people", "hours", "beds", "penalty"]
    if "scenario" in rows:
        grouped = expected(rows, "reason", cols, weights)
    else:
        grouped = rows.groupby("reason", as_index=False)[cols].sum()
    return grouped.sort_values("penalty", ascending=False, kind="stable", ignore_index=True)


def print_summary(
    problem: Problem,
    result: Result,
    tables: dict[str, pd.DataFrame] | None,
    *,
    console: Any = None,
    top: int = 5,
) -> None:
    """Print status, objective and terms, bound, gap, times, unmet by zone and top reasons."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    currency = problem.instance.currency
    status = result.status.value
    console.print(
        f"[bold]{problem.instance.name}[/]: [{STATUS_STYLE.get(status, 'bold')}]{status}[/] "
        f"({result.solver}, {problem.n_needs:,} needs, {problem.n_pairs:,} eligible pairs)"
    )
    if result.message and not result.status.has_solution:
        console.print(f"  {result.message}")
    elif "time_limit_overrun_s" in result.extra:
        console.print(f"  [yellow]{result.message}[/]")
    head = Table(show_header=False, box=None, pad_edge=False)
    head.add_column(style="bold")
    head.add_column(justify="right")
    head.add_column(style="dim")
    if result.objective is not None:
        head.add_row("objective", money(result.objective, currency), "")
        for t in TERMS:
            head.add_row(f"  {t}", money(result.terms.get(t, 0.0), currency), SHORT_LABELS[t])
    head.add_row("bound", "-" if result.bound is None else money(result.bound, currency), "")
    head.add_row("gap", "-" if result.gap is None else f"{100 * result.gap:.4f}%",
                 "(objective - bound) / max(1, |objective|)")
    head.add_row("runtime", f"{result.runtime_s:.2f} s",
                 f"build {result.build_s:.2f} s, solve {result.solve_s:.2f} s")
    b = problem.instance.benchmark
    if b is not None and result.objective is not None:
        if result.terms and result.terms.get("unmet", 0.0) > 1e-9:
            head.add_row("benchmark objective", "-",
                         f"{b.problem}: need left unmet, no complete assignment found"
                         + (" (proven infeasible)" if result.status.value == "optimal" else ""))
        else:
            head.add_row("benchmark objective",
                         f"{b.original_objective(result.objective):,.6g}",
                         f"{b.problem} ({b.sense})")
    console.print(head)
    if not tables or "zones" not in tables:
        return
    weights = scenario_weights(problem)
    scen = "scenario" in tables["zones"]
    fmt = "{:,.1f}" if scen else "{:,.0f}"
    suffix = f" (expected over {len(weights)} scenarios)" if scen else ""
    zones = zone_rows(tables["zones"], weights)
    beds = zones["unmet_beds"].sum() > 0
    # a market of placements only (supported living) has no hours: its columns would be 0
    hours = has_hours(zones)
    zt = Table(title="Unmet need by zone" + suffix, title_justify="left")
    zt.add_column("Zone")
    if hours:
        zt.add_column("Number of hours", justify="right")
    zt.add_column("Number of people", justify="right")
    if beds:
        zt.add_column("Beds", justify="right")
    zt.add_column("Demand (hours)" if hours else "Demand (people)", justify="right",
                  style="dim")
    for i, row in zones.iterrows():
        cells = [str(row["zone"])]
        if hours:
            cells.append(f"{row['unmet_hours']:,.0f}")
        cells.append(fmt.format(row["unmet_people"]))
        if beds:
            cells.append(fmt.format(row["unmet_beds"]))
        cells.append(f"{row['demand_hours']:,.0f}" if hours else fmt.format(row["people"]))
        zt.add_row(*cells, style="bold" if i == len(zones) - 1 else None,
                   end_section=i == len(zones) - 2)
    console.print(zt)
    unmet = tables["unmet"]
    if len(unmet) == 0:
        console.print("Every need is met.")
        return
    rt = Table(title="Why needs are unmet" + suffix, title_justify="left")
    rt.add_column("Reason")
    for name in ("People", "Hours", "Beds", "Weekly penalty"):
        rt.add_column(name, justify="right")
    for _, row in reason_rows(unmet, weights).iterrows():
        rt.add_row(str(row["reason"]), fmt.format(row["people"]), f"{row['hours']:,.1f}",
                   fmt.format(row["beds"]), money(float(row["penalty"]), currency))
    console.print(rt)
    worst = unmet.sort_values("penalty", ascending=False, kind="stable").head(top)
    console.print(f"[bold]Top {len(worst)} unmet needs by penalty[/]")
    for _, row in worst.iterrows():
        amount = units(quantity(float(row["quantity"])), str(row["unit"]))
        console.print(f"  {row['need']} ({row['zone']}, {amount}, {row['priority']}): "
                      f"[bold]{row['reason']}[/] - {row['detail']}", highlight=False)
