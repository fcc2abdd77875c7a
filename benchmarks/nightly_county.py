"""The nightly run on a county book, end to end, on SQLite and PostgreSQL.

What it does (one command: ``python -m benchmarks.nightly_county``):

1. generate the county instance (``generate("M", seed=1, blocks=True)``, 6,400 needs) and hold
   out 100 needs that have no current provider: they are tonight's new referrals;
2. build the book from the other needs: solve them once (HiGHS) and keep everyone served as a
   person in care with that provider and offer (the needs left unmet by that solve are dropped:
   the book is a market where everyone in it is in care);
3. for each backend - an SQLite file, and PostgreSQL at ``--pg URL`` or
   ``$ALLOCATOR_TEST_PG_URL`` (``.ci/postgres.sh`` starts one) - ``db init``, ``db import``,
   ``referrals add`` (the 100 referrals plus 3 bad rows), ``nightly``, the same ``nightly``
   again (it must return the recorded run), and a nightly killed between its solve and its
   write (nothing may change);
4. check that both backends give the same suggestions, and write the figures to
   ``benchmarks/results/nightly_county.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from sqlalchemy import func, select

from allocator.core.problem import Problem
from allocator.generate import generate
from allocator.instance.schema import Instance
from allocator.solvers import SolveParams, solve

RESULTS = Path(__file__).resolve().parent / "results"
N_REFERRALS = 100
BAD_ROWS = [
    ["bad1", "package", "nowhere", "personal_care", "less_complex", "OP", "5", "standard"],
    ["bad2", "package", "", "personal_care", "less_complex", "OP", "-2", "standard"],
    ["bad3", "package", "", "personal_care", "less_complex", "OP", "4", "vip"],
]


def county_book(seed: int, time_limit: float) -> tuple[Instance, dict[str, str], list, dict]:
    """(book instance, current offer per active need, referral rows, figures)."""
    inst = generate("M", seed=seed, blocks=True)
    free = [n for n in inst.needs if n.current_provider is None]
    held = {n.id for n in free[-N_REFERRALS:]}
    base = inst.model_copy(update={"needs": [n for n in inst.needs if n.id not in held]})
    t0 = time.perf_counter()
    res = solve(Problem.from_instance(base), SolveParams(time_limit=time_limit, gap=1e-4))
    solve_s = time.perf_counter() - t0
    assert res.solution is not None, res.summary()
    offers = {o.key: o for o in base.offers}
    assignment = res.solution.assignment
    needs = [n.model_copy(update={"current_provider": offers[assignment[n.id]].provider})
             for n in base.needs if n.id in assignment]
    book = base.model_copy(update={"needs": needs})
    zone = inst.zones[0].id
    rows = [[f"ref-{n.id}", n.kind, n.zone, n.service, n.complexity, n.care_group,
             repr(n.quantity), n.priority, ";".join(n.acceptable_zones or [])]
            for n in inst.needs if n.id in held]
    rows += [[*r[:2], r[2] or zone, *r[3:], ""] for r in BAD_ROWS]
    figures = {"generated_needs": len(inst.needs), "book_needs_in_care": len(needs),
               "book_needs_dropped_unmet": len(base.needs) - len(needs),
               "book_solve": res.summary(), "book_solve_s": round(solve_s, 2)}
    return book, {n.id: assignment[n.id] for n in needs}, rows, figures


KILLED_CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from allocator.store.engine import make_engine
    from allocator.nightly.run import run_nightly, NightlyOptions
    url, marker, limit = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    def hook():
        marker.write_text("solved")
        time.sleep(600)
    run_nightly(make_engine(url), NightlyOptions(time_limit=limit, max_moves=5),
                before_write=hook)
""")


def snapshot(engine) -> dict:
    from allocator.store import book
    from allocator.store import models as m
    from allocator.store.engine import transaction

    with transaction(engine) as session:
        counts = {t.__tablename__: session.execute(select(func.count()).select_from(t))
                  .scalar_one() for t in (m.Run, m.Suggestion, m.Need, m.Assignment)}
        return {"counts": counts, "version": book.book_version(session)}


def on_backend(name: str, url: str, book: Instance, offers: dict[str, str], referrals: Path,
               time_limit: float, folder: Path) -> dict:
    from allocator.nightly.intake import add_referrals
    from allocator.nightly.morning import write_report
    from allocator.nightly.run import NightlyOptions, run_nightly
    from allocator.store import book as book_io
    from allocator.store import migrate
    from allocator.store import models as m
    from allocator.store.engine import make_engine, transaction

    out: dict = {"backend": name}
    engine = make_engine(url)
    migrate.upgrade(engine)
    t = time.perf_counter()
    with transaction(engine) as session:
        book_io.import_instance(session, book, offers=offers, replace=True)
    out["import_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    intake = add_referrals(engine, referrals, rejects_file=folder / f"rejects_{name}.csv")
    out["intake_s"] = round(time.perf_counter() - t, 2)
    out["intake"] = str(intake)
    options = NightlyOptions(time_limit=time_limit)
    t = time.perf_counter()
    first = run_nightly(engine, options)
    out["nightly_wall_s"] = round(time.perf_counter() - t, 2)
    out["nightly"] = first.summary()
    t = time.perf_counter()
    again = run_nightly(engine, options)
    out["rerun_wall_s"] = round(time.perf_counter() - t, 2)
    out["rerun_reused_run"] = again.reused and again.run_id == first.run_id
    xlsx, page = write_report(engine, first.run_id, folder / f"morning_{name}")
    out["report"] = [str(xlsx), str(page)]
    with transaction(engine) as session:
        rows = session.execute(select(m.Suggestion).where(m.Suggestion.run_id == first.run_id)
                               .order_by(m.Suggestion.seq)).scalars().all()
        out["suggestions"] = [[s.need_id, s.action, s.provider_id, s.offer_id,
                               round(s.cost, 6) if s.cost is not None else None] for s in rows]
        run = session.get(m.Run, first.run_id)
        out["objective"], out["bound"], out["status"] = run.objective, run.bound, run.status
        out["unmet_reasons"] = sorted({s.explanation.get("reason", "") for s in rows
                                       if s.action == "unmet"})
    # a run killed between its solve and its write changes nothing
    before = snapshot(engine)
    marker = folder / f"solved_{name}"
    marker.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, url, str(marker),
                             str(time_limit)])
    deadline = time.time() + 10 * time_limit + 120
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out["killed_run_changed_nothing"] = marker.exists() and snapshot(engine) == before
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--pg", default=os.environ.get("ALLOCATOR_TEST_PG_URL"),
                        help="PostgreSQL URL (default $ALLOCATOR_TEST_PG_URL); none: SQLite only")
    parser.add_argument("--out", type=Path, default=RESULTS / "nightly_county.json")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="nightly_county_"))
    book, offers, rows, figures = county_book(args.seed, args.time_limit)
    referrals = folder / "referrals.csv"
    with open(referrals, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "kind", "zone", "service", "complexity", "care_group",
                         "quantity", "priority", "acceptable_zones"])
        writer.writerows(rows)
    backends = [("sqlite", f"sqlite:///{folder / 'book.db'}")]
    if args.pg:
        backends.append(("postgresql", args.pg))
    else:
        print("no PostgreSQL URL (--pg or $ALLOCATOR_TEST_PG_URL): SQLite only",
              file=sys.stderr)
    runs = [on_backend(name, url, book, offers, referrals, args.time_limit, folder)
            for name, url in backends]
    report = {**figures, "referrals_file_rows": len(rows), "runs": runs}
    if len(runs) == 2:
        report["same_suggestions_on_both"] = runs[0]["suggestions"] == runs[1]["suggestions"]
    for r in runs:
        r["n_suggestions"] = len(r.pop("suggestions"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    ok = all(r["rerun_reused_run"] and r["killed_run_changed_nothing"] for r in runs)
    return 0 if ok and report.get("same_suggestions_on_both", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
