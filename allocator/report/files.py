"""Result files: ``result.json``, one CSV per table, one XLSX workbook, the HTML report.

``result.json`` holds the summary fields (:func:`allocator.report.summary.summary_fields`), the
tables as lists of records and the solution itself, so that ``allocator check INSTANCE
result.json`` can re-check it (:func:`solution_from_result`). A whole output folder is written
to a temporary folder beside it first and then moved into place file by file, so an
interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.core.explain import ALTERNATIVE_COLUMNS, CHANGE_COLUMNS
from allocator.core.problem import Problem
from allocator.core.reasons import COLUMNS
from allocator.core.result import Result, Solution
from allocator.instance.atomic import staging_folder, sweep, write_text
from allocator.instance.cells import restore
from allocator.report.summary import SHORT_LABELS, objective_kind, summary_fields
from allocator.report.tables import TABLE_NAMES, TEXT_COLUMNS, build_tables
from allocator.report.writers import (
    Kind,
    Sheet,
    header_words,
    key_value_sheet,
    write_csv,
    write_workbook,
)

FORMATS = ("json", "csv", "xlsx", "html")
RESULT_JSON = "result.json"
WORKBOOK = "result.xlsx"
HTML_REPORT = "report.html"
EXCEL_MAX_ROWS = 1_048_575  # one row is the header


# ---------------------------------------------------------------------- solution <-> JSON


def solution_to_dict(solution: Solution) -> dict[str, Any]:
    """A solution as JSON values (awards as a list: their keys are pairs)."""
    out: dict[str, Any] = {
        "assignment": dict(solution.assignment),
        "block": {k: float(v) for k, v in solution.block.items()},
        "awards": [{"provider": p, "lot": lot, "volume": float(v)}
                   for (p, lot), v in solution.awards.items()],
    }
    if solution.scenarios:
        out["scenarios"] = {sid: solution_to_dict(s) for sid, s in solution.scenarios.items()}
    return out


def solution_from_dict(data: Mapping[str, Any]) -> Solution:
    """Inverse of :func:`solution_to_dict`.

    Raises
    ------
    ValueError
        When the mapping does not have the shape of a written solution.
    """
    try:
        assignment = {str(k): str(v) for k, v in dict(data.get("assignment") or {}).items()}
        block = {str(k): float(v) for k, v in dict(data.get("block") or {}).items()}
        awards = {(str(a["provider"]), str(a["lot"])): float(a["volume"])
                  for a in data.get("awards") or []}
        scenarios = {str(k): solution_from_dict(v)
                     for k, v in dict(data.get("scenarios") or {}).items()}
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise ValueError(f"not a solution: {exc}") from exc
    return Solution(assignment=assignment, block=block, awards=awards, scenarios=scenarios)


def read_result(path_or_dict: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """The ``result.json`` document (a path to it, to its folder, or the dict itself).

    Raises
    ------
    ValueError
        When the file is not a JSON object.
    FileNotFoundError
        When there is no such file.
    """
    if isinstance(path_or_dict, Mapping):
        return dict(path_or_dict)
    path = Path(path_or_dict)
    if path.is_dir():
        path = path / RESULT_JSON
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return doc


def solution_from_result(path_or_dict: str | os.PathLike[str] | Mapping[str, Any]) -> Solution:
    """The solution stored in a ``result.json`` (path, its folder, or the loaded dict).

    Raises
    ------
    ValueError
        When the document holds no solution (e.g. the solve found none).
    """
    doc = read_result(path_or_dict)
    if not isinstance(doc.get("solution"), Mapping):
        raise ValueError(f"the result holds no solution (status {doc.get('status', '?')})")
    return solution_from_dict(doc["solution"])


# ---------------------------------------------------------------------- documents


def result_document(
    problem: Problem,
    result: Result,
    tables: dict[str, pd.DataFrame] | None = None,
    *,
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole ``result.json``: summary fields, tables as records, the solution."""
    doc = dict(fields) if fields is not None else summary_fields(problem, result, tables)
    doc.setdefault("mode", problem.mode)  # allocation (section 4) or design (section 5)
    doc["tables"] = {name: _records(df) for name, df in (tables or {}).items()}
    doc["solution"] = None if result.solution is None else solution_to_dict(result.solution)
    return doc


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    # to_json is vectorised and turns NaN into null; 15 digits keeps floats exact enough
    return json.loads(df.to_json(orient="records", double_precision=15))


def summary_sheet(fields: Mapping[str, Any], currency: str = "GBP") -> Sheet:
    """The summary fields as a readable label/value sheet (no JSON): money, %, counts."""
    rows: list[tuple[str, Any, Kind | None]] = []
    money_fields = {"objective", "bound", "benchmark_objective", "benchmark_bound"}
    for key, value in fields.items():
        if key == "terms" and isinstance(value, Mapping):
            rows += [(f"Cost: {SHORT_LABELS.get(str(t), str(t))}", v, "money")
                     for t, v in value.items() if v is not None]
        elif key == "unmet_by_reason" and isinstance(value, Mapping):
            rows += [(f"People unmet: {r}", n, "count") for r, n in value.items()]
        elif key == "phases" and isinstance(value, list):
            for i, phase in enumerate(value, start=1):
                text = (", ".join(f"{k} {_plain(v)}" for k, v in phase.items())
                        if isinstance(phase, Mapping) else _plain(phase))
                rows.append((f"Phase {i}", text, "text"))
        elif key == "notes" and isinstance(value, list):
            rows += [("Note", str(n), "text") for n in value]
        elif isinstance(value, Mapping):
            rows += [(f"{header_words(key)}: {k}", _plain(v), None) for k, v in value.items()]
        elif value is None and key not in ("objective", "bound", "gap"):
            continue  # an empty message or benchmark field says nothing
        else:
            kind: Kind | None = ("money" if key in money_fields else "percent" if key == "gap"
                                 else None)
            label = SUMMARY_WORDS.get(key) or header_words(key)
            if key in money_fields:
                label += f" ({currency} a week)"
            rows.append((label, "none" if value is None else _plain(value), kind))
    return key_value_sheet("Summary", rows)


SUMMARY_WORDS = {
    "objective_kind": "Objective used", "needs": "Needs in the model", "served": "People served",
    "unmet_people": "People unmet", "unmet_hours": "Hours unmet", "unmet_beds": "Beds unmet",
    "message": "Solver message", "runtime_s": "Run time (s)", "build_s": "Model build (s)",
    "solve_s": "Solve (s)",
}


def _plain(value: Any) -> Any:
    """A summary value as one cell: numbers and text as they are, anything else as words."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(str(_plain(v)) for v in value)
    return str(value)


# ---------------------------------------------------------------------- writers


def write_results(
    out_dir: str | os.PathLike[str],
    problem: Problem,
    result: Result,
    *,
    tables: dict[str, pd.DataFrame] | None = None,
    formats: Iterable[str] = FORMATS,
) -> dict[str, Path]:
    """Write the result files into ``out_dir`` (created if needed) and return their paths.

    Parameters
    ----------
    out_dir
        Output folder. Result files of an earlier run that this run does not write (e.g. an
        ``awards.csv``) are removed, so the folder never mixes two runs.
    problem, result
        What was solved and what came back.
    tables
        The tables, if already built (:func:`allocator.report.tables.build_tables`).
    formats
        Any of ``json``, ``csv``, ``xlsx``, ``html``. The workbook is skipped (and the
        summary says so) when a table has more rows than a sheet can hold.
    """
    formats = tuple(formats)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    if tables is None:
        tables = (build_tables(problem, result.solution, objective=objective_kind(problem, result))
                  if result.solution is not None else {})
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with staging_folder(out) as tmp:
        names = _write_all(tmp, problem, result, tables, formats)
        out.mkdir(parents=True, exist_ok=True)
        ours = {RESULT_JSON, WORKBOOK, HTML_REPORT} | {f"{t}.csv" for t in TABLE_NAMES}
        for stale in ours - set(names):
            (out / stale).unlink(missing_ok=True)
        for name in names:
            sweep(out / name)
            os.replace(tmp / name, out / name)
    return {name: out / name for name in names}


def _write_all(
    folder: Path, problem: Problem, result: Result, tables: dict[str, pd.DataFrame],
    formats: tuple[str, ...],
) -> list[str]:
    names: list[str] = []
    fields = summary_fields(problem, result, tables)
    too_big = [n for n, df in tables.items() if len(df) > EXCEL_MAX_ROWS]
    if "xlsx" in formats and too_big:
        fields["notes"] = [f"no XLSX workbook: table(s) {', '.join(too_big)} exceed a sheet"]
    if "csv" in formats:
        for name, df in tables.items():
            write_csv(folder / f"{name}.csv", df)
            names.append(f"{name}.csv")
    if "xlsx" in formats and not too_big:
        currency = problem.instance.currency
        write_workbook(folder / WORKBOOK, [summary_sheet(fields, currency),
                                           *(Sheet(n, df) for n, df in tables.items())],
                       currency=currency)
        names.append(WORKBOOK)
    if "html" in formats:
        from allocator.report.html import render_html

        write_text(folder / HTML_REPORT, render_html(problem, result, tables, fields))
        names.append(HTML_REPORT)
    if "json" in formats:
        doc = result_document(problem, result, tables, fields=fields)
        write_text(folder / RESULT_JSON, json.dumps(doc, indent=1, allow_nan=False))
        names.append(RESULT_JSON)
    return names


# ---------------------------------------------------------------------- readers


def read_tables(path: str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """Read the tables back from an output folder (its CSV files), a workbook or result.json.

    Text columns (:data:`allocator.report.tables.TEXT_COLUMNS`) come back as strings, with
    ``""`` where they were empty.
    """
    path = Path(path)
    if path.is_dir() and not any((path / f"{n}.csv").exists() for n in TABLE_NAMES):
        path = path / RESULT_JSON
    text = dict.fromkeys(TEXT_COLUMNS, str)
    if path.suffix.lower() == ".xlsx":
        sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl", dtype=text)
        tables = {n: df for n, df in sheets.items() if n in TABLE_NAMES}
        for df in tables.values():  # the workbook's headers are in words
            words = {header_words(c): c for c in _all_columns()}
            df.columns = [words.get(str(c), str(c)) for c in df.columns]
    elif path.suffix.lower() == ".json":
        doc = read_result(path)
        tables = {n: pd.DataFrame.from_records(rows) for n, rows in doc.get("tables", {}).items()}
    else:
        tables = {n: pd.read_csv(path / f"{n}.csv", dtype=text) for n in TABLE_NAMES
                  if (path / f"{n}.csv").exists()}
        for df in tables.values():  # text cells were neutralised when written
            for col in df.columns:
                if col in text:
                    df[col] = df[col].map(lambda v: restore(v) if isinstance(v, str) else v)
    for df in tables.values():
        for col in df.columns:
            if col in text:
                df[col] = df[col].fillna("").astype(str)
    return tables


def _all_columns() -> list[str]:
    """Every column name of the result tables (to map the workbook's words back)."""
    known = set(TEXT_COLUMNS) | set(COLUMNS) | set(ALTERNATIVE_COLUMNS) | set(CHANGE_COLUMNS)
    known |= {"quantity", "block_quantity", "framework_quantity", "framework_cost",
              "quality_zone_cost", "moved", "quality", "capacity", "offer_capacity", "used",
              "served_hours", "utilisation", "beds", "beds_used", "needs_served",
              "block_volume", "block_used", "void", "contract_volume", "awarded_volume",
              "volume", "contract_rate", "void_cost", "framework", "demand", "served",
              "unmet", "block_share", "providers", "largest_share", "demand_hours",
              "unmet_hours", "demand_beds", "served_beds", "unmet_beds", "people",
              "unmet_people", "rate", "award_cost", "cost", "penalty"}
    return sorted(known)
