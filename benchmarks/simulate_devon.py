"""A year of brokerage replayed on a Devon-like county (issue 12, DESIGN.md section 9.5).

One command: ``python -m benchmarks.simulate_devon`` (options: ``--weeks``, ``--replications``,
``--workers``, ``--seed``). It

1. generates the county: ``allocator generate --scale M --seed 1 --blocks`` (6,400 needs,
   ~40,000 hours a week of packages in the 8 zones of seed 001 with its zone shares, 400
   supported-living placements, 200 providers, block contracts in force). The shipped
   ``instances/devon_personal_care.json`` is a 152-need sample of such a county (955 hours):
   too small for the question, which is about a county's whole book;
2. replays ``--weeks`` weeks under ``first_come``, ``nightly`` and ``nightly_moves:5`` with
   ``--replications`` replications (common random numbers), on ``--workers`` local processes;
3. writes the study's files to ``benchmarks/results/simulate_devon/`` (result.json, CSV,
   workbook, report.html) and the figures quoted in the README to
   ``benchmarks/results/simulate_devon.json`` and ``.md``: per policy the means with 95%
   intervals, the paired differences, unmet hours and people by zone beside seed 001's
   October 2019 snapshot, and the time it took.

Timings are wall-clock on a shared machine (other work runs beside it): read them as upper
bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from allocator.generate import generate
from allocator.simulate import SimulationConfig, simulate
from allocator.simulate.report import write_outputs

RESULTS = Path(__file__).resolve().parent / "results"
POLICIES = ("first_come", "nightly", "nightly_moves:5")
# seed 001: unmet need per zone, mid-October 2019 (hours a week, people)
SEED_001_HOURS = (86, 139, 228, 361, 426, 558, 142, 60)
SEED_001_PEOPLE = (12, 14, 21, 43, 34, 63, 10, 8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--market-seed", type=int, default=1)
    ap.add_argument("--name", default="simulate_devon")
    args = ap.parse_args()

    t0 = time.perf_counter()
    inst = generate("M", seed=args.market_seed, blocks=True)
    config = SimulationConfig(weeks=args.weeks, replications=args.replications, seed=args.seed)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())

    def progress(done: int, total: int) -> None:
        print(f"[{time.perf_counter() - t0:7.0f} s] replications {done}/{total}", flush=True)

    def save(result) -> None:
        write_outputs(result, RESULTS / args.name)
        doc = figures(result, inst, time.perf_counter() - t0, args, started)
        (RESULTS / f"{args.name}.json").write_text(json.dumps(doc, indent=1, allow_nan=False))
        (RESULTS / f"{args.name}.md").write_text(markdown(doc))

    # the files are rewritten after every batch of replications: a run stopped early still
    # leaves the replications it finished (the files say how many)
    result = simulate(inst, POLICIES, config, workers=args.workers, progress=progress,
                      partial=save)
    save(result)
    print(result.summary())
    print(f"wrote {RESULTS / args.name}.json, .md and {RESULTS / args.name}/")


def figures(result, inst, wall: float, args, started: str) -> dict:
    """The benchmark's figures (JSON-ready)."""
    package_hours = sum(n.quantity for n in inst.needs if n.kind == "package")
    weekly = result.weekly
    zones = result.zone_summary
    runs = result.runs
    per_policy = runs.groupby("policy", sort=False).agg(
        runtime_s=("runtime_s", "mean"), solves=("solves", "mean"), solve_s=("solve_s", "mean"),
        time_limited=("time_limited", "sum"), failures=("failures", "sum")).reset_index()
    return {
        "command": (f"python -m benchmarks.simulate_devon --weeks {args.weeks} --replications "
                    f"{args.replications} --workers {args.workers} --seed {args.seed}"),
        "cli_equivalent": (f"allocator generate --scale M --seed {args.market_seed} --blocks "
                           f"--out devon.json && allocator simulate devon.json --weeks "
                           f"{args.weeks} --policies {','.join(POLICIES)} --replications "
                           f"{args.replications} --seed {args.seed} --workers {args.workers} "
                           "--out DIR"),
        "started": started,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "note": "2 cores shared with other engineers' work: timings are upper "
                            "bounds"},
        "market": {"instance": inst.name, "needs": len(inst.needs),
                   "providers": len(inst.providers), "offers": len(inst.offers),
                   "package_hours": package_hours,
                   "placements": sum(1 for n in inst.needs if n.kind == "placement"),
                   "block_contracts": len(inst.block_contracts)},
        "config": result.config.model_dump(mode="json"),
        "replications_done": int(result.values["replication"].nunique()),
        "wall_s": wall,
        "simulate_s": result.runtime_s,
        "workers": result.workers,
        "per_replication_s": {r.policy: r.runtime_s for r in per_policy.itertuples()},
        "solves_per_replication": {r.policy: r.solves for r in per_policy.itertuples()},
        "solve_s_per_replication": {r.policy: r.solve_s for r in per_policy.itertuples()},
        "time_limited_solves": {r.policy: int(r.time_limited) for r in per_policy.itertuples()},
        "failed_solves": {r.policy: int(r.failures) for r in per_policy.itertuples()},
        "book": {
            "active_hours_mean": float(weekly["active_hours"].mean()),
            "active_hours_week1": float(weekly.loc[weekly["week"] == 1, "active_hours"].mean()),
            "active_hours_last_week": float(
                weekly.loc[weekly["week"] == weekly["week"].max(), "active_hours"].mean()),
            "arrivals_per_replication": float(runs.groupby("replication")["arrivals"].first()
                                              .mean()),
            "provider_exits_per_replication": float(
                runs.groupby("replication")["provider_exits"].first().mean()),
            "scheme_openings_per_replication": float(
                runs.groupby("replication")["scheme_openings"].first().mean()),
        },
        "policies": result.policies_summary,
        "differences": json.loads(result.differences.to_json(orient="records")),
        "zones": json.loads(zones.to_json(orient="records")),
        "seed_001": {"unmet_hours": SEED_001_HOURS, "unmet_people": SEED_001_PEOPLE},
        "notes": list(result.notes),
    }


def _ci(s: dict, key: str, digits: int = 1) -> str:
    v, ci = s.get(key), s.get(f"{key}_ci95")
    if v is None:
        return "-"
    return f"{v:,.{digits}f}" + (f" [{ci[0]:,.{digits}f}, {ci[1]:,.{digits}f}]" if ci else "")


def markdown(doc: dict) -> str:
    """The figures as the Markdown quoted in the README."""
    cfg = doc["config"]
    lines = [
        "# A year of brokerage replayed: Devon-like county (scale M)",
        "",
        f"Command: `{doc['command']}` (the same as `{doc['cli_equivalent']}`).",
        f"Started {doc['started']}; {cfg['weeks']} weeks x {doc['replications_done']} of "
        f"{cfg['replications']} replications,"
        f" seed {cfg['seed']}, {doc['workers']} worker processes; **{doc['wall_s'] / 60:,.1f} "
        "minutes** wall-clock on a 2-core machine shared with other work (an upper bound).",
        "",
        f"Market: `{doc['market']['instance']}`, {doc['market']['needs']:,} needs "
        f"({doc['market']['package_hours']:,.0f} package hours a week, "
        f"{doc['market']['placements']} placements), {doc['market']['providers']} providers, "
        f"{doc['market']['block_contracts']} block contracts. The book stays near its size: "
        f"{doc['book']['active_hours_week1']:,.0f} hours in week 1, "
        f"{doc['book']['active_hours_last_week']:,.0f} in the last week "
        f"(mean {doc['book']['active_hours_mean']:,.0f}); "
        f"{doc['book']['arrivals_per_replication']:,.0f} referrals, "
        f"{doc['book']['provider_exits_per_replication']:.1f} provider exits and "
        f"{doc['book']['scheme_openings_per_replication']:.1f} scheme openings per replication.",
        "",
        "## Per policy (means over weeks and replications, 95% intervals over replications)",
        "",
        "| policy | unmet hours/week | unmet beds | people waiting | days waited (mean) | "
        "days waited (p90) | weekly cost paid | objective/week | moves/week | utilisation |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in doc["policies"].items():
        lines.append(
            f"| {name} | {_ci(s, 'unmet_hours_mean')} | {_ci(s, 'unmet_beds_mean', 2)} | "
            f"{_ci(s, 'waiting_people_mean')} | {_ci(s, 'days_waited_mean', 2)} | "
            f"{_ci(s, 'days_waited_p90', 1)} | {_ci(s, 'weekly_cost_mean', 0)} | "
            f"{_ci(s, 'objective_mean', 0)} | {_ci(s, 'moves_mean', 2)} | "
            f"{_ci(s, 'utilisation_mean', 4)} |")
    lines += ["", "Weekly cost paid = block contracts + framework purchases; the objective adds "
              "the penalties of DESIGN.md section 4 (quality/zone, unmet, transfer).", "",
              "## Differences (paired by replication; common random numbers)", "",
              "| policy | minus | metric | difference | 95% interval |", "|---|---|---|---|---|"]
    for d in doc["differences"]:
        if d["metric"] not in ("unmet_hours", "unmet_beds", "waiting_people", "days_waited",
                               "days_waited_p90", "weekly_cost", "objective", "moves"):
            continue
        ci = ("-" if d["ci95_low"] is None else
              f"[{d['ci95_low']:,.2f}, {d['ci95_high']:,.2f}]")
        lines.append(f"| {d['policy']} | {d['baseline']} | {d['metric']} | "
                     f"{d['difference']:,.2f} | {ci} |")
    lines += ["", "## Unmet need by zone (as seed 001 reports it)", "",
              "Mean over the year; seed 001's snapshot of mid-October 2019 beside it.", "",
              "| zone | seed 001 hours | seed 001 people | "
              + " | ".join(f"{p} hours | {p} people" for p in doc["policies"]) + " |",
              "|---|---|---|" + "---|---|" * len(doc["policies"])]
    zones = doc["zones"]
    zone_ids = list(dict.fromkeys(z["zone"] for z in zones))
    for i, zid in enumerate(zone_ids):
        cells = []
        for p in doc["policies"]:
            z = next(z for z in zones if z["zone"] == zid and z["policy"] == p)
            cells.append(f"{z['unmet_hours']:,.0f} | {z['waiting_people']:,.1f}")
        seed = (f"{doc['seed_001']['unmet_hours'][i]} | {doc['seed_001']['unmet_people'][i]}"
                if i < len(doc["seed_001"]["unmet_hours"]) else "- | -")
        lines.append(f"| {zid} | {seed} | " + " | ".join(cells) + " |")
    lines += ["", "## Time", "",
              "| policy | seconds per replication | solves per replication | "
              "of which solving (s) | solves at the time limit | failed |",
              "|---|---|---|---|---|---|"]
    for p in doc["policies"]:
        lines.append(f"| {p} | {doc['per_replication_s'][p]:,.1f} | "
                     f"{doc['solves_per_replication'][p]:,.0f} | "
                     f"{doc['solve_s_per_replication'][p]:,.1f} | "
                     f"{doc['time_limited_solves'][p]} | {doc['failed_solves'][p]} |")
    lines += ["", "The study's files are in `simulate_devon/` (report.html with the charts, "
              "result.json, the summary, differences, zone, wait and run tables); the weekly "
              "tables (`weekly.csv`, `weekly_zones.csv`) and `simulation.xlsx` (4 MB together) "
              "are written by the command but not kept in the repository."]
    if doc["notes"]:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in doc["notes"]]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
