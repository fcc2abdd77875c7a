"""Designs side by side: each design's awards chosen and evaluated on the same scenarios.

:func:`compare_designs` applies every design to the market, solves each design instance with
:func:`allocator.design.solve.solve_design` on one common set of scenarios (common random
numbers: the designs meet the same weeks), and turns the results into tables:

``summary`` (one row per design)
    expected weekly cost and its parts: ``block_cost`` (contracts, award costs and rate x
    volume), of which ``void_cost`` (volume paid for and not used, at its rate), plus
    ``void_units`` (hours or beds paid for nothing), ``framework_cost``, ``quality_zone_cost``,
    ``unmet_penalty``, ``transfer_cost``; unmet quantity per unit (mean and 90th percentile over
    the scenarios), the people left unmet, the share of served quantity funded from block
    volume, the providers awarded per lot, the largest provider share and the demand-weighted
    HHI over the lots, quality-weighted units, status, bound, gap and time.
``lots``
    per design and lot: expected demand, served quantity, block volume, providers awarded, the
    largest provider's share of the lot's served quantity and the lot's HHI
    (sum of squared shares x 10,000).
``providers``
    per design, provider and lot with block volume: volume, mean use, mean void, void cost.
``scenarios``
    per design and scenario: cost, its parts and the unmet quantity.
``awards``
    per design: the awarded bids (rate, award cost, volume).

Expectations are weighted by the scenarios' weights.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from allocator.core.result import Result
from allocator.design.designs import Design, apply_design
from allocator.design.recourse import Outcome
from allocator.design.scenarios import demands, with_scenarios
from allocator.design.solve import DesignParams, expected_lot_demand, solve_design
from allocator.design.sweep import Runner, SerialRunner
from allocator.instance.schema import Instance, Scenario

UNITS = ("hours", "beds")


@dataclass(frozen=True)
class DesignRun:
    """One design's instance and result."""

    name: str
    instance: Instance
    result: Result


VERDICT_COLUMNS = ["cheaper", "dearer", "difference", "proven_at_least", "decided", "verdict"]


@dataclass(frozen=True)
class Comparison:
    """The tables of a comparison (see the module docstring) and the runs behind them."""

    summary: pd.DataFrame
    lots: pd.DataFrame
    providers: pd.DataFrame
    scenarios: pd.DataFrame
    awards: pd.DataFrame
    runs: tuple[DesignRun, ...]
    runtime_s: float
    verdicts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=VERDICT_COLUMNS))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "verdicts": self.verdicts, "lots": self.lots,
                "providers": self.providers, "scenarios": self.scenarios,
                "awards": self.awards}


# with shared time, a design gets at least this share of the time limit even when the designs
# before it ran over theirs (a solve overruns its limit by a second or two at most)
MIN_SHARE = 0.5


def compare_designs(
    market: Instance,
    designs: Sequence[tuple[str, Design]],
    scenarios: Sequence[Scenario],
    params: DesignParams | None = None,
    runner: Runner | None = None,
    on_design: Callable[[int, DesignRun], None] | None = None,
    share_time: bool = True,
) -> Comparison:
    """Solve every design on the same scenarios and tabulate the results.

    Parameters
    ----------
    market
        The market (zones, providers, offers, needs, policy, contracts in force).
    designs
        (file or label, design) per design, in the order of the table.
    scenarios
        The demand scenarios every design is planned and judged on.
    params
        Design solve parameters (the time limit is per design).
    runner
        Where the independent solves run (:mod:`allocator.design.sweep`).
    on_design
        Called with (index in ``designs``, run) as each design is solved (a progress display).
    share_time
        The comparison has ``len(designs) x time_limit`` in all, and a design that ends early
        leaves its time to those after it: each is given the time left divided by the designs
        left (so at least ``time_limit``, unless an earlier one ran over). Designs with no bid
        to award (nothing is chosen once: each scenario is solved exactly, in seconds) go
        first; the tables keep the order of ``designs``. On the Staffordshire comparison the
        all-framework design takes 3 s of its 180 and all block 154: the time went unused.
        False: every design has ``time_limit`` (each solve's own limit; the numbers of one
        design then do not depend on the others).
    """
    t0 = time.perf_counter()
    runner = runner or SerialRunner()
    params = params or DesignParams()
    # every design applied first: one that does not fit the market stops the comparison
    # before any solve
    instances = [with_scenarios(apply_design(market, design, label), scenarios)
                 for label, design in designs]
    n = len(instances)
    order = sorted(range(n), key=lambda i: (bool(instances[i].block_bids), i))
    budget = float(params.time_limit) * n
    runs: list[DesignRun | None] = [None] * n
    for k, i in enumerate(order):
        limit = float(params.time_limit)
        if share_time:
            left = budget - (time.perf_counter() - t0)
            limit = max(MIN_SHARE * limit, left / (n - k))
        res = solve_design(instances[i], params.model_copy(update={"time_limit": limit}),
                           runner=runner)
        res = replace(res, extra={**res.extra, "time_given_s": round(limit, 3)})
        run = DesignRun(designs[i][1].name, instances[i], res)
        runs[i] = run
        if on_design is not None:
            on_design(i, run)
    return tabulate([r for r in runs if r is not None], time.perf_counter() - t0)


def tabulate(runs: Sequence[DesignRun], runtime_s: float = 0.0) -> Comparison:
    """The comparison tables of solved designs."""
    summary, lots, providers, scenarios, awards = [], [], [], [], []
    units = _units(runs)
    for run in runs:
        s, lot_rows, prov_rows, scen_rows, award_rows = _design_tables(run, units)
        summary.append(s)
        lots += lot_rows
        providers += prov_rows
        scenarios += scen_rows
        awards += award_rows
    # 6 decimals: sums of quarters of hours and pennies, without float dust in the files
    frame = pd.DataFrame(summary).round(6)
    return Comparison(
        summary=frame,
        verdicts=verdicts(frame),
        lots=pd.DataFrame(lots, columns=LOT_COLUMNS).round(6),
        providers=pd.DataFrame(providers, columns=PROVIDER_COLUMNS).round(6),
        scenarios=pd.DataFrame(scenarios).round(6),
        awards=pd.DataFrame(awards, columns=AWARD_COLUMNS).round(6),
        runs=tuple(runs),
        runtime_s=runtime_s,
    )


def verdicts(summary: pd.DataFrame, currency: str = "GBP") -> pd.DataFrame:
    """Every pair of designs, in words: is the cheaper one proven cheaper?

    Design A (cost c_A, proven bound lb_A) is proven cheaper than B when c_A < lb_B: no
    design of B can cost less than lb_B, and A's costs c_A. Otherwise the two are within each
    other's gaps: the difference between the designs found is not proven (B's optimum may lie
    anywhere in [lb_B, c_B]).
    """
    rows = []
    costs = list(zip(summary["design"], summary["expected_cost"], summary.get(
        "bound", pd.Series([None] * len(summary))), strict=True))
    for i in range(len(costs)):
        for j in range(i + 1, len(costs)):
            (a, ca, la), (b, cb, lb) = costs[i], costs[j]
            if ca is None or cb is None or pd.isna(ca) or pd.isna(cb):
                continue
            if cb < ca:
                (a, ca, la), (b, cb, lb) = (b, cb, lb), (a, ca, la)
            diff = cb - ca
            bound_b = None if lb is None or pd.isna(lb) else float(lb)
            proven = None if bound_b is None else bound_b - ca
            decided = proven is not None and proven > 0
            money = f"{currency} {{:,.0f}}".format
            if decided:
                text = (f"{a} is cheaper than {b}: {money(diff)} a week between the designs "
                        f"found, and at least {money(proven)} whatever the best design of "
                        f"{b} (its proven bound {money(bound_b)} is above the cost of {a}, "
                        f"{money(ca)}).")
            elif bound_b is None:
                text = (f"{a} costs {money(diff)} a week less than {b} as found, but {b} has "
                        "no proven bound: the difference is not proven.")
            else:
                below = ca - bound_b
                text = (f"{a} and {b} are within each other's gaps: {a}'s design costs "
                        f"{money(diff)} a week less as found, but {b}'s optimum may be as low "
                        f"as {money(bound_b)}, {money(below)} below {a}'s cost; the "
                        "difference is not proven (solve for longer to decide).")
            rows.append({"cheaper": a, "dearer": b, "difference": round(diff, 6),
                         "proven_at_least": None if proven is None else round(max(proven, 0.0),
                                                                              6),
                         "decided": decided, "verdict": text})
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


LOT_COLUMNS = ["design", "lot", "framework", "demand", "served", "block_volume",
               "providers_awarded", "largest_provider", "largest_share", "hhi"]
PROVIDER_COLUMNS = ["design", "provider", "lot", "volume", "used_mean", "void_mean",
                    "void_cost"]
AWARD_COLUMNS = ["design", "provider", "lot", "rate", "award_cost", "volume"]


def _units(runs: Sequence[DesignRun]) -> list[str]:
    kinds = {n.kind for run in runs for n in run.instance.needs}
    return [u for u, k in (("hours", "package"), ("beds", "placement")) if k in kinds]


def weighted_quantile(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray,
                      q: float) -> float:
    """The smallest value whose cumulative weight reaches ``q`` of the total."""
    v = np.asarray(values, dtype=float)
    if not len(v):
        return float("nan")
    w = np.asarray(weights, dtype=float)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    k = int(np.searchsorted(cum, q * cum[-1] - 1e-12, side="left"))
    return float(v[order][min(k, len(v) - 1)])


def _design_tables(run: DesignRun, units: list[str]):
    inst, res = run.instance, run.result
    name = run.name
    outcomes: list[Outcome] = list(res.extra.get("outcomes", [])) if res.extra else []
    row: dict = {"design": name, "status": res.status.value,
                 "expected_cost": res.objective, "bound": res.bound, "gap": res.gap}
    if res.solution is None or not outcomes:
        row["message"] = res.message
        return row, [], [], [], []
    weights = np.array([o.weight for o in outcomes])
    total_w = weights.sum()
    awards = dict(res.solution.awards)
    bids = {(b.provider, b.lot): b for b in inst.block_bids}
    pools: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])  # volume, cost
    for c in inst.block_contracts:
        pools[(c.provider, c.lot)][0] += c.volume
        pools[(c.provider, c.lot)][1] += c.rate * c.volume
    for key, v in awards.items():
        pools[key][0] += v
        pools[key][1] += bids[key].rate * v

    used = {k: np.array([o.block_used.get(k, 0.0) for o in outcomes]) for k in pools}
    void_units = {k: np.maximum(pools[k][0] - used[k], 0.0) for k in pools}
    rate = {k: (pools[k][1] / pools[k][0] if pools[k][0] > 0 else 0.0) for k in pools}
    void_cost = sum(float(weights @ void_units[k]) * rate[k] for k in pools) / total_w

    terms = res.terms
    row.update({
        "block_cost": terms.get("block", 0.0),
        "void_cost": void_cost,
        "void_units": sum(float(weights @ void_units[k]) for k in pools) / total_w,
        "framework_cost": terms.get("framework", 0.0),
        "quality_zone_cost": terms.get("quality_zone", 0.0),
        "unmet_penalty": terms.get("unmet", 0.0),
        "transfer_cost": terms.get("transfer", 0.0),
    })
    for unit in units:
        values = [o.unmet.get(unit, 0.0) for o in outcomes]
        row[f"unmet_{unit}_mean"] = float(weights @ values) / total_w
        row[f"unmet_{unit}_p90"] = weighted_quantile(values, weights, 0.9)
    row["unmet_people_mean"] = float(weights @ [o.unmet_needs for o in outcomes]) / total_w
    served_total = float(weights @ [sum(o.served_units.values()) for o in outcomes]) / total_w
    block_total = sum(float(weights @ used[k]) for k in pools) / total_w
    row["block_funded_share"] = block_total / served_total if served_total > 0 else 0.0
    row["quality_weighted_units"] = float(weights @ [o.quality_units for o in outcomes]) / total_w

    # lots: served by provider (expected), awards, concentration
    D = expected_lot_demand(inst, demands(inst))
    served: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for o, w in zip(outcomes, weights, strict=True):
        for (prov, lot_id), q in o.served.items():
            served[lot_id][prov] += w * q / total_w
    lot_rows, awarded_per_lot, hhis, largest = [], [], [], []
    for li, lot in enumerate(inst.lots):
        by_prov = served.get(lot.id, {})
        tot = sum(by_prov.values())
        shares = {p: q / tot for p, q in by_prov.items()} if tot > 0 else {}
        top = max(shares, key=lambda p: (shares[p], p)) if shares else ""
        hhi = 10_000 * sum(s * s for s in shares.values())
        n_awarded = sum(1 for (_, lid) in awards if lid == lot.id)
        lot_rows.append({
            "design": name, "lot": lot.id, "framework": lot.framework, "demand": float(D[li]),
            "served": tot,
            "block_volume": sum(v for (_, lid), v in awards.items() if lid == lot.id),
            "providers_awarded": n_awarded, "largest_provider": top,
            "largest_share": shares.get(top, 0.0), "hhi": hhi,
        })
        awarded_per_lot.append(f"{lot.id}: {n_awarded}")
        if tot > 0:
            hhis.append((tot, hhi))
            largest.append(shares[top])
    row["awards"] = len(awards)
    row["providers_awarded"] = len({p for p, _ in awards})
    row["awards_per_lot"] = "; ".join(awarded_per_lot)
    row["largest_share_max"] = max(largest) if largest else 0.0
    row["hhi_mean"] = (sum(t * h for t, h in hhis) / sum(t for t, _ in hhis)) if hhis else 0.0
    row["runtime_s"] = res.runtime_s
    row["time_given_s"] = res.extra.get("time_given_s")
    row["method"] = res.extra.get("method", "")

    prov_rows = []
    for key in sorted(pools):
        prov_rows.append({
            "design": name, "provider": key[0], "lot": key[1], "volume": pools[key][0],
            "used_mean": float(weights @ used[key]) / total_w,
            "void_mean": float(weights @ void_units[key]) / total_w,
            "void_cost": float(weights @ void_units[key]) / total_w * rate[key],
        })
    scen_rows = []
    block = terms.get("block", 0.0)
    for o in outcomes:
        r = {"design": name, "scenario": o.scenario, "weight": o.weight,
             "cost": block + (o.objective or 0.0), "block": block}
        r.update({t: o.terms.get(t, 0.0) for t in ("framework", "quality_zone", "unmet",
                                                   "transfer")})
        for unit in units:
            r[f"unmet_{unit}"] = o.unmet.get(unit, 0.0)
        r["unmet_people"] = o.unmet_needs
        r["status"] = o.status.value
        scen_rows.append(r)
    award_rows = [{"design": name, "provider": p, "lot": lot, "rate": bids[(p, lot)].rate,
                   "award_cost": bids[(p, lot)].award_cost, "volume": v}
                  for (p, lot), v in sorted(awards.items())]
    return row, lot_rows, prov_rows, scen_rows, award_rows
