"""Best-known references of the registered instances (issue 15 item 4).

``benchmarks/best_known.json`` holds, per registered instance, the best objective any solver
returned (checked by the independent checker) and the best proven lower bound any run gave
(a solver's own bound, the LP relaxation, or HiGHS's root node with its cuts), each with the
solver and the rows file it came from. Every benchmark row then reports its gap to its own
bound and to the best bound known (:func:`benchmarks.report.enrich`).

Update it from finished runs (never lowers a bound, never raises an objective)::

    python -m benchmarks best-known --rows results/zoo-m.jsonl,results/zoo-bounds.jsonl

Published instances (OR-Library) keep their published values (``known_values.csv``); this
file is for the generated ones, whose optimum nobody has published. All values are in the
problem's own units (pounds per week, minimised).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PATH = Path(__file__).resolve().parent / "best_known.json"
_OK = ("optimal", "feasible")


def load(path: Path = PATH) -> dict[str, dict[str, Any]]:
    """The table (empty when the file does not exist)."""
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def save(table: dict[str, dict[str, Any]], path: Path = PATH) -> None:
    path.write_text(json.dumps(dict(sorted(table.items())), indent=1, sort_keys=True) + "\n")


def update(table: dict[str, dict[str, Any]], rows: list[dict[str, Any]],
           source: str) -> list[str]:
    """Merge the rows of one run into ``table`` (in place); what changed, as lines.

    An objective counts only from a row whose answer the checker accepted; a bound from any
    row that reports one and did not fail (``lp`` rows and the root-bound rows of
    ``benchmarks.bounds`` included). A bound above the best objective would be a bug
    somewhere: it is refused, and reported.
    """
    changes: list[str] = []
    for r in rows:
        if r.get("bench_scale") is not None:  # published (OR-Library): known_values.csv
            continue
        name = r["instance"]
        entry = table.setdefault(name, {})
        obj = r.get("objective")
        if (obj is not None and r.get("status") in _OK and r.get("check_ok") is True
                and (entry.get("objective") is None or obj < entry["objective"] - 1e-9)):
            entry.update(objective=float(obj), objective_solver=r["solver"],
                         objective_source=source)
            changes.append(f"{name}: objective {obj:,.2f} ({r['solver']})")
        bound = r.get("bound")
        if bound is None or r.get("status") in ("error", "not_run", None):
            continue
        best_obj = entry.get("objective")
        if best_obj is not None and bound > best_obj + 1e-6 * max(1.0, abs(best_obj)):
            changes.append(f"{name}: REFUSED bound {bound:,.2f} ({r['solver']}) above the "
                           f"best objective {best_obj:,.2f}")
            continue
        if entry.get("bound") is None or bound > entry["bound"] + 1e-9:
            entry.update(bound=float(bound), bound_solver=r["solver"], bound_source=source)
            changes.append(f"{name}: bound {bound:,.2f} ({r['solver']})")
    return changes


def best_bound(name: str, table: dict[str, dict[str, Any]] | None = None) -> float | None:
    """The best bound known for ``name`` (None if none)."""
    entry = (load() if table is None else table).get(name, {})
    return entry.get("bound")
