"""Issue 13 item 4's figure: what the explanations cost on a county (scale M).

Generates the scale's market (seed 1, with block contracts, as the benchmark registry does),
finds an allocation with the heuristic (any allocation will do: the explanations' cost depends
on the needs and pairs, not on how good it is), then times, best of three:

* :func:`allocator.core.explain.explain` alone (alternatives and cheapest changes);
* :func:`allocator.report.tables.build_tables` (every result table, explanations included);
* the same tables without the explanations, for the difference.

Writes ``benchmarks/results/explain.csv`` and ``explain.md``. Run from the repository root::

    python -m benchmarks.explain_timing [--scale M] [--seed 1] [--time-limit 20]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def measure(scale: str, seed: int, time_limit: float) -> dict[str, Any]:
    """Generate, solve and time the explanations (see the module docstring)."""
    from unittest import mock

    from allocator.core.explain import explain
    from allocator.core.problem import Problem
    from allocator.core.usage import Usage
    from allocator.generate import generate
    from allocator.report import tables as tables_module
    from allocator.solvers import SolveParams, solve

    inst = generate(scale, seed=seed, blocks=True)
    p = Problem.from_instance(inst)
    res = solve(p, SolveParams(solver="heuristic", time_limit=time_limit))
    assert res.solution is not None, res.summary()
    u = Usage.of(p, res.solution)
    ex = explain(p, res.solution, usage=u)
    explain_s = _best_of(lambda: explain(p, res.solution, usage=u))
    tables_s = _best_of(lambda: tables_module.build_tables(p, res.solution))

    empty = ex.__class__(assigned=ex.assigned.head(0).reindex(range(len(ex.assigned))),
                         alternatives=ex.alternatives.head(0),
                         changes=ex.changes.head(0).reindex(range(len(ex.changes))))
    with mock.patch.object(tables_module, "explain", lambda *a, **k: empty):
        bare_s = _best_of(lambda: tables_module.build_tables(p, res.solution))
    return {"scale": scale, "seed": seed, "needs": p.n_needs, "pairs": p.n_pairs,
            "served": len(ex.assigned), "unmet": len(ex.changes),
            "alternative_rows": len(ex.alternatives), "explain_s": round(explain_s, 3),
            "tables_s": round(tables_s, 3), "tables_without_explain_s": round(bare_s, 3),
            "solver": res.solver, "status": res.status.value}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="M")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=20.0)
    args = ap.parse_args()
    row = measure(args.scale, args.seed, args.time_limit)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "explain.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        w.writeheader()
        w.writerow(row)
    lines = ["| " + " | ".join(row) + " |", "|" + "---|" * len(row),
             "| " + " | ".join(str(v) for v in row.values()) + " |"]
    (RESULTS / "explain.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
