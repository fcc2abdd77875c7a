"""Best-known references (issue 15 item 4): merging runs, and the gap every row reports."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import best_known  # noqa: E402
from benchmarks.report import enrich  # noqa: E402


def _row(solver: str, objective: float | None, bound: float | None, *, ok: bool | None = True,
         status: str = "feasible", instance: str = "zoo-base-S") -> dict:
    return {"instance": instance, "family": "generated", "size": "S", "solver": solver,
            "status": status, "objective": objective, "bound": bound, "check_ok": ok,
            "bench_scale": None, "progress": []}


def test_update_keeps_the_best_checked_objective_and_the_best_bound(tmp_path) -> None:
    table: dict = {}
    changes = best_known.update(table, [
        _row("heuristic", 105.0, 99.0),
        _row("highs", 104.0, 98.0, ok=False),  # rejected by the checker: no objective
        _row("lp", None, 99.5, ok=None, status="optimal"),
        _row("cpsat", None, 1e9, ok=None, status="error"),  # failed: no bound
    ], "run-a.jsonl")
    entry = table["zoo-base-S"]
    assert entry["objective"] == 105.0 and entry["objective_solver"] == "heuristic"
    assert entry["bound"] == 99.5 and entry["bound_source"] == "run-a.jsonl"
    assert len(changes) == 3
    # a later run: a better objective; a lower bound does not replace the higher one
    best_known.update(table, [_row("auto", 104.5, 99.2)], "run-b.jsonl")
    assert table["zoo-base-S"]["objective"] == 104.5 and table["zoo-base-S"]["bound"] == 99.5
    # a bound above the best objective is a bug somewhere: refused, and said
    out = best_known.update(table, [_row("highs-root", None, 200.0, ok=None, status="root")],
                            "run-c.jsonl")
    assert table["zoo-base-S"]["bound"] == 99.5 and "REFUSED" in out[0]
    path = tmp_path / "best.json"
    best_known.save(table, path)
    assert best_known.load(path) == table


def test_rows_report_the_gap_to_the_best_bound_known(monkeypatch) -> None:
    monkeypatch.setattr(best_known, "load", lambda path=None: {"zoo-base-S": {"bound": 99.0}})
    rows = [_row("heuristic", 100.0, 98.0), _row("lp", None, 98.5, ok=None, status="optimal")]
    out = {r["solver"]: r for r in enrich(rows)}
    r = out["heuristic"]
    assert r["best_bound"] == 99.0
    assert abs(r["gap_best"] - 0.01) < 1e-12
    assert abs(r["gap_lp"] - 0.015) < 1e-12
