"""What each bound adds on the market zoo (issue 15 item 2).

For each instance: the LP relaxation of the search rows as they were (``lp-plain``), the same
after the tightening of :func:`allocator.heuristic.data.from_problem` (``lp-tight``: pairs no
feasible answer can use left out, capacities rounded down to their lattice), and HiGHS's root
node with its cuts on the plain model (``highs-root``: ``mip_max_nodes = 1``, one thread,
within ``--root-limit`` seconds; its bound counts only when the root finished), and with
``--covers K`` the tightened LP after K rounds of extended knapsack cover cuts on the capacity
rows (``lp-covers``; an experiment, not used by the search), and with ``--blocks T`` HiGHS's
branch and bound on the exact model's independent blocks one by one for T seconds
(``highs-blocks``: :func:`allocator.heuristic.mip.solve_blocks`, one thread; its bound is the
sum of the blocks' and counts whenever every block has one). Rows go to
``results/<name>.jsonl`` (they can feed ``python -m benchmarks best-known``) and a table to
``results/<name>.md``::

    python -m benchmarks.bounds --suite zoo-s --root-limit 60 --name zoo-s-bounds

Only highspy runs here (no OR-Tools), in this process.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import registry

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(__file__).resolve().parent / "out" / "instances"


def _row(spec: registry.Spec, solver: str, **kw: Any) -> dict[str, Any]:
    return {"instance": spec.name, "family": spec.family, "size": spec.size, "solver": solver,
            "time_limit": None, "objective": None, "check_ok": None, "progress": [], **kw}


def root_bound(data: Any, time_limit: float) -> tuple[float | None, float | None, str, float]:
    """HiGHS's root node (with cuts) on the search rows' MIP: (bound, incumbent, status, s)."""
    import highspy

    from allocator.exact.highs import highs_lp
    from allocator.heuristic.lp import lp_model

    m, _, _ = lp_model(data, integer=True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_max_nodes", 1)
    h.passModel(highs_lp(highspy, cost=m.c, A=m.A, col_lo=np.zeros(m.n_cols), col_hi=m.col_hi,
                         row_lo=np.full(m.n_rows, -np.inf), row_hi=m.row_hi, offset=m.offset,
                         integer=m.integer))
    t = time.perf_counter()
    h.run()
    wall = time.perf_counter() - t
    status = h.getModelStatus()
    info = h.getInfo()
    finished = status != highspy.HighsModelStatus.kTimeLimit
    bound = info.mip_dual_bound + data.constant if finished else None
    inc = info.objective_function_value + data.constant \
        if info.primal_solution_status == 2 else None
    return bound, inc, str(status).rsplit(".", 1)[-1], wall


def cover_bound(data: Any, rounds: int) -> tuple[float, int]:
    """The tightened LP after ``rounds`` rounds of extended cover cuts: (value, cuts added).

    On every capacity row made of pair columns only (a holder row that block funding may use
    in part is skipped: its ``b`` columns are continuous), the greedy cover of the LP answer:
    pairs by ``1 - x*`` (heaviest first on ties) until their weights exceed the capacity. When
    ``sum_C x* > |C| - 1`` the extended cover ``sum_{E(C)} x <= |C| - 1`` is added, ``E(C)``
    being ``C`` and every pair of the row at least as heavy as ``C``'s heaviest: valid for any
    0-1 answer, since no ``|C|`` of those fit together. The LP is solved again after each
    round (HiGHS, one thread), whole, not by component.
    """
    import highspy
    import scipy.sparse as sp

    from allocator.exact.highs import highs_lp
    from allocator.heuristic.lp import lp_model

    m, pairs, used = lp_model(data)
    nn, nx = data.n_needs, len(pairs)
    A, row_hi = m.A.tocsr(), m.row_hi.copy()
    caps = A[nn:nn + len(used)]

    def solve() -> tuple[float, np.ndarray]:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.passModel(highs_lp(highspy, cost=m.c, A=A, col_lo=np.zeros(m.n_cols), col_hi=m.col_hi,
                             row_lo=np.full(A.shape[0], -np.inf), row_hi=row_hi,
                             offset=m.offset))
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kModelEmpty:  # no pair left: all unmet
            return m.offset + data.constant, np.zeros(m.n_cols)
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"cover LP not solved: {status}")
        return (h.getInfo().objective_function_value + data.constant,
                np.array(h.getSolution().col_value))

    value, x = solve()
    added = 0
    for _ in range(rounds):
        cuts: list[tuple[np.ndarray, int]] = []
        for i in range(caps.shape[0]):
            cols = caps.indices[caps.indptr[i]:caps.indptr[i + 1]]
            a = caps.data[caps.indptr[i]:caps.indptr[i + 1]]
            if len(cols) < 2 or (cols >= nx).any():
                continue
            xs = x[cols]
            order = np.lexsort((-a, 1.0 - xs))
            k = int(np.searchsorted(np.cumsum(a[order]), row_hi[nn + i] * (1 + 1e-9) + 1e-9,
                                    side="right"))
            if k >= len(order):
                continue  # the whole row fits: no cover
            cover = order[:k + 1]
            if xs[cover].sum() <= len(cover) - 1 + 1e-6:
                continue
            extended = np.union1d(cover, np.nonzero(a >= a[cover].max())[0])
            cuts.append((cols[extended], len(cover) - 1))
        if not cuts:
            break
        r = np.concatenate([np.full(len(c), j) for j, (c, _) in enumerate(cuts)])
        c = np.concatenate([c for c, _ in cuts])
        A = sp.vstack([A, sp.csr_matrix((np.ones(len(c)), (r, c)),
                                        shape=(len(cuts), A.shape[1]))]).tocsr()
        row_hi = np.r_[row_hi, [rhs for _, rhs in cuts]]
        added += len(cuts)
        value, x = solve()
    return value, added


def blocks_bound(problem: Any, time_limit: float) -> dict[str, Any]:
    """HiGHS on the exact model's blocks (:func:`allocator.heuristic.mip.solve_blocks`)."""
    from allocator.exact.model import build
    from allocator.heuristic.mip import solve_blocks

    model = build([(problem, 1.0)])
    t = time.perf_counter()
    ans = solve_blocks(model, start=None, deadline=time.monotonic() + time_limit,
                       incoming=lambda: None, threads=1)
    return {"status": ans.status.value, "bound": ans.bound, "incumbent": ans.objective,
            "blocks": ans.blocks, "wall_s": time.perf_counter() - t, "time_limit": time_limit}


def measure(spec: registry.Spec, root_limit: float, cache: Path | None,
            covers: int = 0, blocks: float = 0.0) -> list[dict[str, Any]]:
    """The rows of one instance (see the module docstring)."""
    from allocator.core.problem import Problem
    from allocator.heuristic.data import components, from_problem
    from allocator.heuristic.lp import lp_bound

    problem = Problem.from_instance(spec.load(cache))
    rows = []
    for tighten, solver in ((False, "lp-plain"), (True, "lp-tight")):
        data = from_problem(problem, tighten=tighten)
        n, labels = components(data)
        t = time.perf_counter()
        lp = lp_bound(data, labels, n, time_limit=600.0)
        exact = lp.exact_components == lp.components
        rows.append(_row(spec, solver, status="optimal" if exact else "partial",
                         bound=lp.bound, wall_s=time.perf_counter() - t, n_pairs=data.n_pairs,
                         n_rows=data.n_rows))
    if covers > 0:
        data = from_problem(problem)
        t = time.perf_counter()
        value, added = cover_bound(data, covers)
        rows.append(_row(spec, "lp-covers", status="optimal", bound=value, cuts=added,
                         wall_s=time.perf_counter() - t))
    if root_limit > 0:
        data = from_problem(problem, tighten=False)
        bound, inc, status, wall = root_bound(data, root_limit)
        rows.append(_row(spec, "highs-root", status="root" if bound is not None else status,
                         bound=bound, wall_s=wall, incumbent=inc, time_limit=root_limit))
    if blocks > 0:
        rows.append(_row(spec, "highs-blocks", **blocks_bound(problem, blocks)))
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    by: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["instance"], {})[r["solver"]] = r
    out = ["| instance | pairs plain / tight | LP plain | LP tight | LP tight + covers (cuts) | "
           "HiGHS root (s) | root - LP plain | root - LP tight | root - covers | "
           "HiGHS by blocks (blocks, s) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for name, rs in by.items():
        plain, tight, root = rs.get("lp-plain"), rs.get("lp-tight"), rs.get("highs-root")
        cover, blk = rs.get("lp-covers"), rs.get("highs-blocks")
        if plain is None or tight is None:
            continue

        def pct(a: float | None, b: float | None, ref: float | None) -> str:
            if a is None or b is None or ref is None:
                return ""
            return f"{100 * (a - b) / max(1.0, abs(ref)):.3f}%"

        rb = root.get("bound") if root else None
        rcell = "" if root is None else (
            f"{rb:,.1f} ({root['wall_s']:.0f})" if rb is not None
            else f"not finished ({root['wall_s']:.0f})")
        out.append(
            f"| {name} | {plain['n_pairs']:,} / {tight['n_pairs']:,} | {plain['bound']:,.1f} | "
            f"{tight['bound']:,.1f} | "
            + ("" if cover is None else f"{cover['bound']:,.1f} ({cover['cuts']})")
            + f" | {rcell} | {pct(rb, plain['bound'], rb)} | {pct(rb, tight['bound'], rb)} | "
            + ("" if cover is None else pct(rb, cover["bound"], rb)) + " | "
            + ("" if blk is None else
               f"{blk['bound']:,.1f} ({blk['blocks']}, {blk['wall_s']:.0f})"
               if blk.get("bound") is not None else
               f"no bound ({blk['blocks']}, {blk['wall_s']:.0f})") + " |")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bounds", description=__doc__)
    ap.add_argument("--suite", default="zoo-s")
    ap.add_argument("--instances", help="comma-separated names instead of the suite's")
    ap.add_argument("--root-limit", type=float, default=60.0,
                    help="seconds for HiGHS's root node (0: skip)")
    ap.add_argument("--covers", type=int, default=0,
                    help="rounds of extended cover cuts on the tightened LP (0: none)")
    ap.add_argument("--blocks", type=float, default=0.0,
                    help="seconds for HiGHS on the exact model's blocks one by one (0: skip)")
    ap.add_argument("--name", help="file stem (default: <suite>-bounds)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args(argv)
    specs = registry.suite(args.suite) if not args.instances else [
        registry.get(n.strip()) for n in args.instances.split(",") if n.strip()]
    name = args.name or f"{args.suite}-bounds"
    jsonl = args.out / f"{name}.jsonl"
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    jsonl.write_text("")
    rows: list[dict[str, Any]] = []
    for spec in specs:
        got = measure(spec, args.root_limit, args.cache, args.covers, args.blocks)
        rows += got
        with jsonl.open("a") as fh:
            for r in got:
                fh.write(json.dumps(r, default=float) + "\n")
        print("\n".join(table(got)[2:]), flush=True)
    cmd = "python -m benchmarks.bounds " + " ".join(argv if argv is not None else [])
    (args.out / f"{name}.md").write_text(
        f"# Bounds on `{args.suite}` (issue 15 item 2)\n\nCommand: `{cmd}`\n\n"
        + "\n".join(table(rows)) + "\n\nGaps relative to the root bound. `LP plain`: the LP "
        "relaxation of the search rows before tightening; `LP tight`: after (pairs no feasible "
        "answer can use left out, capacities rounded down to their lattice); `HiGHS root`: "
        "the MIP's dual bound after HiGHS's root node with its cuts, one thread; `covers`: the "
        "tightened LP after rounds of extended knapsack cover cuts (`--covers`); `HiGHS by "
        "blocks`: HiGHS's branch and bound on the exact model's independent blocks one by one "
        "(`--blocks`, one thread), the sum of the blocks' bounds.\n")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
