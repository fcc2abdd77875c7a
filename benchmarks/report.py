"""Turn benchmark rows into the CSV, the Markdown tables and the gap-over-time plot.

Gaps (all relative, as in DESIGN.md section 6: difference / max(1, |objective|)):

* ``gap``: the solver's own, to the bound it proved (None without one);
* ``gap_ref``: to the reference. For a published instance the reference is its published
  optimum (or, where the instance is open, its best known dual bound) and the gap is measured
  in the problem's own sense and units (``benchmark_objective``), so a maximisation problem's
  gap is (optimum - value) / max(1, |value|). For a generated instance the reference is the
  best bound any solver (or the LP relaxation) proved for it in this run.
* ``gap_lp``: generated instances only, to the LP relaxation bound (issue 4's M target).
* ``gap_best``: generated instances only, to the best bound known: the best of
  ``benchmarks/best_known.json`` (any earlier run, any solver, HiGHS's root bound with cuts)
  and the bounds of this run (issue 15 item 4).

``t_1pct`` / ``t_01pct``: seconds from the start of the solve (build included) until the
incumbent first came within 1% / 0.1% of the reference, read from the progress record; when
a solver records no progress, the wall time if its final answer is within, else empty.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .registry import MAX_SIZE, Spec, get

CSV_COLUMNS = (
    "instance", "family", "size", "solver", "time_limit", "status", "objective", "bound",
    "gap", "reference", "reference_kind", "gap_ref", "gap_lp", "best_bound", "gap_best",
    "benchmark_objective",
    "t_1pct", "t_01pct", "wall_s", "build_s", "solve_s", "peak_mb", "peak_mb_sampled", "check_ok",
    "violations", "n_needs", "n_pairs", "message",
)


def _rel(value: float, ref: float, sense: str) -> float:
    diff = value - ref if sense == "min" else ref - value
    return max(0.0, diff / max(1.0, abs(value)))


def _original(row: dict[str, Any], value: float | None) -> float | None:
    if value is None or row.get("bench_scale") is None:
        return value
    return row["bench_offset"] + row["bench_scale"] * value


def references(rows: list[dict[str, Any]]) -> dict[str, tuple[float | None, str, str]]:
    """instance -> (reference value, what it is, sense)."""
    out: dict[str, tuple[float | None, str, str]] = {}
    by_instance: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_instance[r["instance"]].append(r)
    for name, rs in by_instance.items():
        try:
            spec: Spec | None = get(name)
        except KeyError:
            spec = None
        if spec is not None and spec.known is not None:
            k = spec.known
            kind = "published optimum" if k.optimal else "published bound"
            out[name] = (k.dual_bound, kind, k.sense)
            continue
        bounds = [r["bound"] for r in rs if r.get("bound") is not None
                  and r["status"] not in ("error", "not_run")]
        out[name] = (max(bounds) if bounds else None, "best bound in run", "min")
    return out


def time_to(progress: Iterable[Any], row: dict[str, Any], ref: float | None, sense: str,
            target: float) -> float | None:
    """First time the incumbent is within ``target`` (relative) of ``ref``."""
    if ref is None:
        return None
    for t, obj, _ in progress:
        if obj is None:
            continue
        if _rel(_original(row, obj), ref, sense) <= target + 1e-12:
            return float(t)
    return None


def enrich(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add reference, gap_ref, gap_lp, benchmark_objective, t_1pct, t_01pct to solver rows."""
    from . import best_known

    refs = references(rows)
    lp = {r["instance"]: r["bound"] for r in rows if r["solver"] == "lp"}
    known = best_known.load()
    out = []
    for r in rows:
        if r["solver"] == "lp":
            continue
        r = dict(r)
        ref, kind, sense = refs.get(r["instance"], (None, "", "min"))
        r["reference"], r["reference_kind"] = ref, kind
        obj = r.get("objective")
        # an imported benchmark's answer that leaves need unmet is no solution in the
        # benchmark's own sense (its penalty exceeds any complete assignment's cost)
        incomplete = r.get("bench_scale") is not None and (r.get("unmet") or 0.0) > 1e-9
        if incomplete:
            r["benchmark_status"] = ("infeasible" if r["status"] == "optimal"
                                     else "no_complete_solution_found")
        r["benchmark_objective"] = (_original(r, obj) if r.get("bench_scale") is not None
                                    and not incomplete else None)
        r["gap_ref"] = r["gap_lp"] = r["t_1pct"] = r["t_01pct"] = None
        r["best_bound"] = r["gap_best"] = None
        if r.get("bench_scale") is None:  # generated: best bound known, or of this run
            found = [b for b in (best_known.best_bound(r["instance"], known),
                                 ref if kind == "best bound in run" else None) if b is not None]
            r["best_bound"] = max(found) if found else None
        if obj is not None and r["status"] in ("optimal", "feasible"):
            if ref is not None:
                r["gap_ref"] = _rel(_original(r, obj), ref, sense)
            if lp.get(r["instance"]) is not None:
                r["gap_lp"] = _rel(obj, lp[r["instance"]], "min")
            if r["best_bound"] is not None:
                r["gap_best"] = _rel(obj, r["best_bound"], "min")
            progress = r.get("progress") or []
            for key, target in (("t_1pct", 0.01), ("t_01pct", 0.001)):
                t = time_to(progress, r, ref, sense, target)
                if t is None and not progress and r["gap_ref"] is not None \
                        and r["gap_ref"] <= target + 1e-12:
                    t = r.get("wall_s")
                r[key] = t
        out.append(r)
    return out


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: _csv_value(r.get(k)) for k in CSV_COLUMNS})


def _csv_value(v: Any) -> Any:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.10g}"
    return "" if v is None else v


# ------------------------------------------------------------------------------ markdown

def _pct(v: float | None, digits: int = 3) -> str:
    return "" if v is None else f"{100 * v:.{digits}f}%"


def _s(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}"


def _money(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:,.2f}" if abs(v) < 1e7 else f"{v:,.0f}"


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return lines


def _results_table(rows: list[dict[str, Any]], lp: bool = False) -> list[str]:
    header = ["instance", "solver", "status", "objective", "bound", "gap (own)",
              "gap to ref."] + (["gap to LP", "gap to best bound known"] if lp else []) + [
              "t 1%", "t 0.1%", "wall s", "peak MB", "check"]
    body = []
    for r in rows:
        value = r["benchmark_objective"] if r.get("benchmark_objective") is not None \
            else r.get("objective")
        bound = _original(r, r.get("bound"))
        body.append([
            r["instance"], r["solver"], r["status"], _money(value), _money(bound),
            _pct(r.get("gap")), _pct(r.get("gap_ref")),
            *([_pct(r.get("gap_lp")), _pct(r.get("gap_best"))] if lp else []),
            _s(r.get("t_1pct")),
            _s(r.get("t_01pct")), _s(r.get("wall_s")),
            "" if r.get("peak_mb") is None else f"{r['peak_mb']:.0f}",
            {True: "ok", False: "FAIL", None: ""}[r.get("check_ok")],
        ])
    return _table(header, body)


def _by(rows: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def _ran(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rs if r["status"] != "not_run"]


def targets(rows: list[dict[str, Any]], solvers: list[str]) -> list[str]:
    """Issue 4's targets table, one column per solver, from the rows of one run."""

    def cell(rs: list[dict[str, Any]], ok, describe) -> str:
        if not rs:
            return "not in run"
        ran = _ran(rs)
        if not ran:
            return f"not run (capped at {MAX_SIZE.get(rs[0]['solver'], 'XL')})"
        met = sum(1 for r in ran if ok(r))
        return f"{met}/{len(ran)} met; {describe(ran)}"

    def worst(key: str):
        def f(rs):
            vals = [r.get(key) for r in rs]
            if any(v is None for v in vals):
                return f"worst {key.replace('_', ' ')} n/a ({sum(v is None for v in vals)} "\
                       "without)"
            return f"worst {_pct(max(vals))}"
        return f

    def within(r, key, target, limit):
        v = r.get(key)
        return (r["status"] in ("optimal", "feasible") and v is not None and v <= target + 1e-12
                and r.get("check_ok") is True and (r.get("wall_s") or 0) <= limit * 1.05 + 1)

    def mem(rs):
        return "peak " + ", ".join(f"{(r.get('peak_mb') or 0) / 1024:.1f} GB" for r in rs)

    def exact(r):
        return (r.get("gap_ref") is not None and r["gap_ref"] <= 1e-9 and r.get("check_ok") is True)

    lines = ["| instance | target | " + " | ".join(solvers) + " |",
             "|---|---|" + "|".join("---" for _ in solvers) + "|"]

    def add(label: str, target: str, pick, ok, describe) -> None:
        cells = [cell([r for r in pick(s)], ok, describe) for s in solvers]
        if all(c == "not in run" for c in cells):
            return  # a target none of this run's instances is for
        lines.append(f"| {label} | {target} | " + " | ".join(cells) + " |")

    gen = lambda size: lambda s: [r for r in rows if r["size"] == size and r["solver"] == s  # noqa: E731
                                  and r["family"] == "generated"
                                  and not r["instance"].startswith("zoo-")]
    add("S, seeds 1-3", "gap <= 0.1% to the best bound within 10 s", gen("S"),
        lambda r: within(r, "gap_ref", 0.001, 10), worst("gap_ref"))
    add("M, seeds 1-3", "gap <= 0.5% to the LP bound within 60 s, build included", gen("M"),
        lambda r: within(r, "gap_lp", 0.005, 60), worst("gap_lp"))
    add("L", "gap <= 1% within 5 min, peak memory <= 6 GB", gen("L"),
        lambda r: within(r, "gap_ref", 0.01, 300) and (r.get("peak_mb") or 0) <= 6 * 1024,
        lambda rs: worst("gap_ref")(rs) + "; " + mem(rs))
    add("XL", "gap <= 2% within 30 min, peak memory <= 16 GB", gen("XL"),
        lambda r: within(r, "gap_ref", 0.02, 1800) and (r.get("peak_mb") or 0) <= 16 * 1024,
        lambda rs: worst("gap_ref")(rs) + "; " + mem(rs))
    gap112 = lambda s: [r for r in rows if r["family"] == "gap" and r["solver"] == s  # noqa: E731
                        and not r["instance"].endswith("-min")]
    add("OR-Library gap1-gap12", "published optimum (exact path)", gap112, exact,
        lambda rs: f"{sum(1 for r in rs if exact(r))} optima reached")
    add("OR-Library gap1-gap12", "within 0.5% (heuristic alone, 5 s each)", gap112,
        lambda r: within(r, "gap_ref", 0.005, 5), worst("gap_ref"))
    abcd = lambda s: [r for r in rows if r["family"] == "gapabcd" and r["solver"] == s]  # noqa: E731
    add("OR-Library gapa-gapd", "within 1% of the published optimum in 30 s each", abcd,
        lambda r: within(r, "gap_ref", 0.01, 30), worst("gap_ref"))
    zoo = lambda size: lambda s: [r for r in rows if r["size"] == size and r["solver"] == s  # noqa: E731
                                  and r["instance"].startswith("zoo-")]
    for size, target, limit, gb in (("S", 0.0005, 10, None), ("M", 0.003, 60, None),
                                    ("L", 0.005, 300, 6), ("XL", 0.01, 1800, 16)):
        if not any(zoo(size)(s) for s in solvers):
            continue
        add(f"zoo, {size} (issue 15)",
            f"own gap <= {100 * target:g}% in {limit} s" + (f", <= {gb} GB" if gb else ""),
            zoo(size),
            lambda r, t=target, lim=limit, g=gb: within(r, "gap", t, lim) and (
                g is None or (r.get("peak_mb") or 0) <= g * 1024),
            lambda rs: worst("gap")(rs) + "; to best bound known: " + worst("gap_best")(rs))
    return lines


def markdown(rows: list[dict[str, Any]], suite: str, command: str, solvers: list[str],
             notes: list[str] | None = None) -> str:
    out = [f"# Benchmark suite `{suite}`", "", f"Command: `{command}`", ""]
    out += notes or []
    out += ["## Targets (issues 4 and 15)", "",
            "Each cell: how many instances met the target, and the worst value. "
            "`not run` cells are solvers capped by size (see benchmarks/README.md).", ""]
    out += targets(rows, solvers)
    families: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        families[r["family"]].append(r)
    titles = {"generated": "Generated instances (DESIGN.md section 7, blocks in force)",
              "gap": "OR-Library GAP gap1-gap12 (objective in the problem's own sense)",
              "gapabcd": "OR-Library GAP types A-D (minimisation)",
              "yagiura": "Yagiura GAP (minimisation)", "cflp": "Capacitated facility location"}
    for fam, rs in families.items():
        out += ["", f"## {titles.get(fam, fam)}", ""]
        out += _results_table([r for r in rs if r["status"] != "not_run"],
                              lp=fam == "generated")
        skipped = sorted({(r["solver"]) for r in rs if r["status"] == "not_run"})
        if skipped:
            out += ["", "Not run here (size cap): " + ", ".join(skipped) + "."]
    out += ["", "Columns: objective and bound in the problem's own sense (OR-Library) or in "
            "pounds per week (generated); `gap (own)` to the solver's own bound; `gap to ref.` "
            "to the published optimum or, for generated instances, the best bound proved in "
            "the run (LP relaxation included); `gap to best bound known` (generated "
            "instances) to the best of `benchmarks/best_known.json` and this run's bounds; "
            "`t 1%`/`t 0.1%` seconds until the incumbent was "
            "within 1% / 0.1% of that reference; wall time of the solve call (build included); "
            "peak memory: the solving process's tree, every 0.2 s the sum of each living "
            "process's own peak since the sample before (`VmHWM`, reset at each sample), "
            "the largest such sum (rows measured before 2026-12-06 used `ru_maxrss`, which "
            "counts a process's parent again after exec); `check`: the "
            "independent checker on the returned solution.", ""]
    return "\n".join(out)


# ------------------------------------------------------------------------------ plot

def plot(rows: list[dict[str, Any]], path: Path, max_panels: int = 12) -> bool:
    """Gap to the reference over time, one panel per instance, one line per solver.

    Panels: the generated instances first, then the hardest published ones (type D).

    Returns False when there is nothing to draw.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    refs = references(rows)
    ran = [r for r in rows if r.get("progress") and r["solver"] != "lp"]
    names = []
    for r in ran:  # generated instances first, then a few published ones
        if r["instance"] not in names:
            names.append(r["instance"])
    order = {"generated": 0, "gapabcd": 1}
    names.sort(key=lambda n: (order.get(get(n).family, 2), not n.startswith("gapd")))
    names = names[:max_panels]
    if not names:
        return False
    cols = min(4, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 3.2 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        ref, _, sense = refs.get(name, (None, "", "min"))
        drawn = 0
        for r in ran:
            if r["instance"] != name or ref is None:
                continue
            pts = [(t, max(_rel(_original(r, o), ref, sense), 1e-6)) for t, o, _ in r["progress"]
                   if o is not None]
            if not pts:
                continue
            ts, gs = zip(*pts, strict=True)
            ax.step(ts, gs, where="post", label=r["solver"])
            drawn += 1
        ax.set_title(name, fontsize=9)
        if not drawn:
            ax.text(0.5, 0.5, "no progress recorded", ha="center", va="center",
                    transform=ax.transAxes, fontsize=8)
            continue
        ax.set_yscale("log")
        ax.set_xlabel("seconds")
        ax.set_ylabel("gap to reference")
        ax.axhline(0.01, color="grey", lw=0.5, ls=":")
        ax.axhline(0.001, color="grey", lw=0.5, ls=":")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_all(rows: list[dict[str, Any]], out_dir: Path, suite: str, command: str,
              solvers: list[str], notes: list[str] | None = None) -> list[Path]:
    """Write ``<suite>.csv``, ``<suite>.md`` and ``<suite>-gap.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    enriched = enrich(rows)
    paths = [out_dir / f"{suite}.csv", out_dir / f"{suite}.md"]
    write_csv(enriched, paths[0])
    paths[1].write_text(markdown(enriched, suite, command, solvers, notes))
    png = out_dir / f"{suite}-gap.png"
    if plot(rows, png):
        paths.append(png)
    return paths
