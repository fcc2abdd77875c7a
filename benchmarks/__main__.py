"""``python -m benchmarks``: run a suite, re-render its report, or list the registry."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from . import registry
from .report import write_all
from .runner import read_rows, run_suite

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(__file__).resolve().parent / "out" / "instances"


def _solvers(text: str | None, suite: str) -> list[str]:
    if text:
        return [s.strip() for s in text.split(",") if s.strip()]
    return list(registry.ALL_SOLVERS)


def _available(solvers: list[str]) -> tuple[list[str], list[str]]:
    """Solvers that can run here, and notes on the ones left out."""
    import importlib.util

    notes = []
    keep = []
    for s in solvers:
        portfolio = "allocator.heuristic.portfolio"
        if s in ("heuristic", "auto") and importlib.util.find_spec(portfolio) is None:
            notes.append(f"- `{s}` left out: {portfolio} is not in this checkout.")
            continue
        keep.append(s)
    return keep, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite and write its CSV, Markdown and plot")
    run.add_argument("--suite", default="quick", choices=sorted(registry.SUITES))
    run.add_argument("--solvers", help="comma-separated (default: " +
                     ",".join(registry.ALL_SOLVERS) + ")")
    run.add_argument("--instances", help="comma-separated instance names (default: the suite's)")
    run.add_argument("--time-limit", type=float, help="seconds per solve, overriding each "
                     "instance's target limit")
    run.add_argument("--threads", type=int)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", type=Path, default=RESULTS)
    run.add_argument("--name", help="file stem of the results (default: the suite's name)")
    run.add_argument("--resume", action="store_true", help="keep finished rows of the JSON-lines "
                     "file and run only the missing ones")
    run.add_argument("--cache", type=Path, default=CACHE,
                     help="folder of instance JSON files: written on first use, read after "
                          "(so later runs solve the same instances); 'none' to disable")
    run.add_argument("--no-lp-bound", action="store_true",
                     help="skip the LP relaxation bound of generated instances")
    run.add_argument("--beyond-caps", action="store_true",
                     help="run the solvers named even above their size cap (registry.MAX_SIZE)")
    rep = sub.add_parser("report", help="re-write the CSV, Markdown and plot from the rows file")
    rep.add_argument("--suite", default="quick")
    rep.add_argument("--out", type=Path, default=RESULTS)
    rep.add_argument("--solvers")
    rep.add_argument("--command", dest="made_by", default="",
                     help="the command(s) that made the rows, quoted at the top of the Markdown")
    rep.add_argument("--rows", help="comma-separated JSON-lines files in --out to merge "
                     "(default: <suite>.jsonl); later files win for the same (instance, solver)")
    rep.add_argument("--note", action="append", default=[],
                     help="a line of notes for the top of the Markdown (repeatable)")
    sub.add_parser("list", help="list the suites and the registered instances")
    best = sub.add_parser("best-known", help="merge finished runs into benchmarks/"
                          "best_known.json (best checked objective, best bound)")
    best.add_argument("--rows", required=True,
                      help="comma-separated JSON-lines files (paths, or names in --out)")
    best.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    if args.command == "best-known":
        from . import best_known

        table = best_known.load()
        for f in (f.strip() for f in args.rows.split(",") if f.strip()):
            path = Path(f) if Path(f).exists() else args.out / f
            if not path.exists():
                print(f"{f}: no such rows file (looked in . and {args.out})", file=sys.stderr)
                return 2
            for line in best_known.update(table, read_rows(path), path.name):
                print(line)
        best_known.save(table)
        print(best_known.PATH)
        return 0

    if args.command == "list":
        for name, members in registry.SUITES.items():
            print(f"{name}: {len(members)} instances")
        for spec in registry.specs().values():
            known = "" if spec.known is None else f" known {spec.known.best_known:g} " \
                f"({spec.known.sense}, {spec.known.status})"
            print(f"  {spec.name:<22} {spec.family:<9} {spec.size:<5} "
                  f"{spec.time_limit:>6.0f} s{known}")
        return 0

    if args.command == "report":
        name = args.suite
        files = args.rows.split(",") if args.rows else [f"{name}.jsonl"]
        merged: dict[tuple[str, str], dict] = {}
        for f in files:
            for r in read_rows(args.out / f.strip()):
                merged[(r["instance"], r["solver"])] = r
        rows = list(merged.values())
        solvers = _solvers(args.solvers, name)
        notes = [line for n in args.note for line in (n, "")]
        for p in write_all(rows, args.out, name, args.made_by or "(see README)", solvers,
                           notes):
            print(p)
        return 0

    specs = registry.suite(args.suite)
    if args.instances:
        specs = [registry.get(n.strip()) for n in args.instances.split(",") if n.strip()]
    solvers, notes = _available(_solvers(args.solvers, args.suite))
    name = args.name or args.suite
    command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in
                                                 (argv if argv is not None else sys.argv[1:]))
    rows = run_suite(specs, solvers, args.out / f"{name}.jsonl", time_limit=args.time_limit,
                     threads=args.threads, seed=args.seed, resume=args.resume,
                     lp_bounds=not args.no_lp_bound, beyond_caps=args.beyond_caps,
                     cache=None if str(args.cache) == "none" else args.cache.resolve())
    for p in write_all(rows, args.out, name, command, solvers, notes):
        print(p)
    failed = [r for r in rows if r.get("check_ok") is False or r["status"] == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
