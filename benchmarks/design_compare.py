"""The seed's own question: Staffordshire lot designs compared on 50 demand scenarios.

Seed 003 (Staffordshire, supported living) proposes 15% of placements on block from 1-3
providers, 70% on block from 8-12 providers in lots of geography x complexity, 15% on a flexible
framework. This benchmark compares it, in the old per-lot reading and as the paper's own targets
across lots (with and without the new highly complex schemes a block brings), with today's
all-framework arrangement (the DPS) and with all block, on the market and designs of
``instances/staffordshire/`` (made by ``instances/staffordshire/make_staffordshire.py``), and
times it.

Run from the repository root::

    python -m benchmarks.design_compare              # 50 scenarios, 2 local workers
    python -m benchmarks.design_compare --dask tcp://HOST:8786

Writes ``benchmarks/results/design_compare.csv`` (one row per design) and ``.md`` (the table,
the command, the time), and the full comparison (CSV tables, XLSX, HTML with charts) in
``benchmarks/results/design_compare/``. The same command is ``allocator compare
instances/staffordshire/market.json instances/staffordshire/design_*.json --scenarios 50``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
STAFFORDSHIRE = ROOT / "instances" / "staffordshire"
DESIGNS = ("design_all_framework.json", "design_15_70_15.json", "design_paper_targets.json",
           "design_paper_targets_new_beds.json", "design_all_block.json")
COLUMNS = ("design", "status", "expected_cost", "bound", "gap", "block_cost", "void_cost",
           "void_units", "framework_cost", "quality_zone_cost", "unmet_penalty",
           "unmet_beds_mean", "unmet_beds_p90", "unmet_people_mean", "block_funded_share",
           "awards", "providers_awarded", "largest_share_max", "hhi_mean",
           "quality_weighted_units", "time_given_s", "runtime_s", "method")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dask", default=None, help="dask scheduler address")
    parser.add_argument("--time-limit", type=float, default=110.0, help="seconds per design")
    parser.add_argument("--max-iterations", type=int, default=200,
                        help="Benders iterations at most (a speed-independent stop)")
    parser.add_argument("--wait-and-see-mip-share", type=float, default=0.0,
                        help="share of the time limit for each scenario's own design MIP in "
                             "the wait-and-see bound (0: its LP only)")
    parser.add_argument("--no-share-time", action="store_true",
                        help="each design its own --time-limit (default: the time a design "
                             "leaves goes to the designs after it)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from allocator.design.compare import compare_designs
    from allocator.design.designs import load_design
    from allocator.design.report import print_comparison, write_comparison
    from allocator.design.scenarios import generate_scenarios
    from allocator.design.solve import DesignParams
    from allocator.design.sweep import make_runner
    from allocator.instance.io import load_instance

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t0 = time.perf_counter()
    market = load_instance(STAFFORDSHIRE / "market.json")
    designs = [(str(STAFFORDSHIRE / f), load_design(STAFFORDSHIRE / f)) for f in DESIGNS]
    scenarios = generate_scenarios(market, args.scenarios, args.seed)
    params = DesignParams(time_limit=args.time_limit, max_iterations=args.max_iterations,
                          wait_and_see_mip_share=args.wait_and_see_mip_share)
    with make_runner(args.workers, args.dask) as runner:
        comparison = compare_designs(market, designs, scenarios, params, runner,
                                     share_time=not args.no_share_time)
    total = time.perf_counter() - t0

    command = ("python -m benchmarks.design_compare " + " ".join(argv or sys.argv[1:])).strip()
    note = (f"{market.name}: {len(market.needs)} placements, {len(market.offers)} schemes; "
            f"{args.scenarios} scenarios (seed {args.seed}); {args.time_limit:g} s per design"
            + ("" if args.no_share_time else
               f", shared ({len(designs) * args.time_limit:g} s in all; a design that ends "
               "early leaves its time to those after it)") + "; "
            f"{total:.0f} s in all on {os.cpu_count()} core(s) (load average {load:.1f} "
            "at the start" + (": other jobs shared them)." if load > 1.5 else ")."))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_comparison(comparison, out / "design_compare", note=note,
                     title=f"Staffordshire supported living: {len(designs)} lot designs "
                           "(seed 003)")
    summary = comparison.summary[[c for c in COLUMNS if c in comparison.summary]]
    summary.to_csv(out / "design_compare.csv", index=False)
    (out / "design_compare.md").write_text(_markdown(summary, comparison, command, note, total),
                                           encoding="utf-8")
    print_comparison(comparison)
    print(f"{total:.1f} s in all; written to {out}/design_compare.csv, .md and design_compare/")
    return 0 if all(r.result.status.has_solution for r in comparison.runs) else 1


def _markdown(summary, comparison, command: str, note: str, total: float) -> str:
    from allocator.design.report import SUMMARY_ROWS, _cell

    names = [str(n) for n in comparison.summary["design"]]
    lines = [
        "# Staffordshire lot designs compared (seed 003)",
        "",
        f"Command: `{command}` (from the repository root).",
        "",
        note,
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} core(s); wall time {total:.1f} s.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    s = comparison.summary
    for label, key, fmt in SUMMARY_ROWS:
        if key in s:
            lines.append(f"| {label.strip()} | "
                         + " | ".join(_cell(v, fmt, "GBP") for v in s[key]) + " |")
    lines += ["", "Which differences are proven (a design is proven cheaper when its cost is below "
              "the other's proven bound):", ""]
    lines += [f"- {text}" for text in comparison.verdicts["verdict"]]
    lines += [
        "",
        "Expected values per week over the scenarios. `bound` is a proven lower bound on the "
        "design's optimum (all framework: exact, nothing is chosen once; the others: the "
        "largest of the Benders master bound, the relaxed master's bound and, when computed, "
        "the wait-and-see LP bound, see `models/lot_design.md`); `gap` is "
        "(cost - bound) / cost.",
        "",
        "Per lot (providers awarded, largest provider share, HHI), per provider (block used vs "
        "void) and per scenario: `design_compare/comparison_*.csv`, `comparison.xlsx`, and "
        "`comparison.html` (charts).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
