"""The market zoo's structure statistics: what each family actually varies.

``python -m benchmarks.zoo [--scales S,M] [--seed 1]`` prints, per family and scale, the
figures issue 15 names (eligible pairs per need, acceptable-zone rates, placements and scheme
sizes, provider caps against their offers, people in care and those who cannot continue,
binding share caps, block-only lots) and writes them to ``results/zoo-structure.md``. The tests
(`tests/test_zoo.py`) check the same figures family by family.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from allocator.core.problem import Problem
from allocator.generate import generate
from allocator.generate.families import FAMILIES
from allocator.instance.schema import Instance

RESULTS = Path(__file__).resolve().parent / "results"


def structure(instance: Instance) -> dict[str, Any]:
    """Structure statistics of one instance (see the module docstring)."""
    prob = Problem.from_instance(instance)
    needs = instance.needs
    n = len(needs)
    package = np.array([nd.kind == "package" for nd in needs])
    n_alt = np.array([0 if nd.acceptable_zones is None else len(nd.acceptable_zones) - 1
                      for nd in needs])
    in_care = prob.need_current >= 0
    # in care but no eligible pair with the current provider: the transfer penalty is due
    current_ok = np.zeros(n, dtype=bool)
    current_ok[prob.pair_need[prob.pair_is_current]] = True
    beds = [o for o in instance.offers if o.unit == "beds"]
    offered = np.zeros(len(instance.providers))
    pix = {p.id: i for i, p in enumerate(instance.providers)}
    for o in instance.offers:
        if o.unit == "hours":
            offered[pix[o.provider]] += o.capacity
    cap = np.array([np.nan if p.capacity is None else p.capacity for p in instance.providers])
    has = (offered > 0) & np.isfinite(cap)
    ratio = cap[has] / offered[has]
    lots = instance.lots
    cells = {(o.zone, o.service) for o in instance.offers if o.unit == "hours"}
    hourly_offers = sum(o.unit == "hours" for o in instance.offers)
    return {
        "needs": n,
        "pairs_per_need": prob.n_pairs / max(1, n),
        "offers_per_cell": hourly_offers / max(1, len(cells)),
        "alt_package": float((n_alt[package] > 0).mean()) if package.any() else 0.0,
        "alt_placement": float((n_alt[~package] > 0).mean()) if (~package).any() else 0.0,
        "two_alt_share": float((n_alt >= 2).sum() / max(1, (n_alt > 0).sum())),
        "placement_share": float((~package).mean()),
        "beds_per_scheme": float(np.mean([o.capacity for o in beds])) if beds else 0.0,
        "cap_over_offers": float(np.median(ratio)) if len(ratio) else float("nan"),
        "cap_over_offers_min": float(ratio.min()) if len(ratio) else float("nan"),
        "in_care": float(in_care.mean()),
        "cannot_continue": float((in_care & ~current_ok).sum() / max(1, in_care.sum())),
        "max_provider_share": instance.policy.max_provider_share,
        "block_only_lots": sum(not lot.framework for lot in lots),
        "objective": instance.policy.objective,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.zoo", description=__doc__)
    ap.add_argument("--scales", default="S,M")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS / "zoo-structure.md")
    args = ap.parse_args(argv)
    cols = ["pairs_per_need", "offers_per_cell", "alt_package", "alt_placement",
            "two_alt_share", "placement_share", "beds_per_scheme", "cap_over_offers",
            "in_care", "cannot_continue", "max_provider_share", "block_only_lots", "objective"]
    lines = ["| family | scale | " + " | ".join(cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for name in FAMILIES:
        for scale in args.scales.split(","):
            st = structure(generate(scale, seed=args.seed, blocks=True, family=name))
            cells = [f"{st[c]:.3g}" if isinstance(st[c], float) else str(st[c]) for c in cols]
            lines.append(f"| {name} | {scale} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        f"# The market zoo's structure (seed {args.seed}, `python -m benchmarks.zoo "
        f"--scales {args.scales} --seed {args.seed}`)\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
