"""Offline stress of DESIGN.md 9.1-9.4 against brute force, on many more random markets than
the suite runs (not collected by pytest: the suite keeps its 17 / 60 seeds).

    python tests/design/stress_bruteforce.py targets 17 400    # design targets, award-only
                                                              # offers, per-lot quality
    python tests/design/stress_bruteforce.py minicomp 0 300    # mini-competition costs

``targets``: per seed, 0 and 1 scenarios, both objectives, the extensive form against the
brute-force reference (:mod:`reference`) and the checker, as
``test_targets.test_extensive_form_matches_bruteforce``; with 1 scenario and the weighted
objective, Benders too (bound <= optimum <= its objective, checker ok).
``minicomp``: every admissible bid's whole-market cost against the brute-force design optimum
with only that bid on the lot (section 9.4 written out by hand), as
``test_minicompetition.test_whole_market_cost_is_the_design_optimum_with_only_that_bid``
without its cap of 30 bids. Prints each disagreement and the count; exits 1 if any.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE.parent.parent)]

from additions import additions_case  # noqa: E402
from reference import brute_force  # noqa: E402
from test_bruteforce import disagreement  # noqa: E402

from allocator.core.check import check  # noqa: E402
from allocator.design.solve import DesignParams, solve_design  # noqa: E402


def targets(lo: int, hi: int) -> list[str]:
    bad: list[str] = []
    for seed in range(lo, hi):
        for n_scenarios in (0, 1):
            for lexicographic in (False, True):
                inst = additions_case(seed, n_scenarios, lexicographic)
                ref = brute_force(inst)
                label = f"seed {seed}, {n_scenarios} scenario(s), lexicographic {lexicographic}"
                res = solve_design(inst, DesignParams(solver="highs", time_limit=30, gap=0.0,
                                                      method="extensive"))
                found = disagreement(label + ", extensive", inst, ref, res)
                if found:
                    bad.append(found)
                if n_scenarios != 1 or lexicographic:
                    continue
                res = solve_design(inst, DesignParams(solver="highs", time_limit=30, gap=0.0,
                                                      method="benders"))
                if ref.objective is None:
                    if res.status.value != "infeasible":
                        bad.append(f"{label}, Benders: no design exists, got {res.summary()}")
                    continue
                tol = 1e-6 * max(1.0, abs(ref.objective))
                if res.objective is None or res.solution is None:
                    bad.append(f"{label}, Benders: no design, {res.summary()}")
                elif res.objective < ref.objective - tol or (
                        res.bound is not None and res.bound > ref.objective + tol):
                    bad.append(f"{label}, Benders: objective {res.objective}, bound "
                               f"{res.bound}, optimum {ref.objective}")
                elif not check(inst, res.solution, reported=res).ok:
                    bad.append(f"{label}, Benders: the checker disagrees")
        print(f"seed {seed}: {len(bad)} disagreement(s) so far", flush=True)
    return bad


def minicomp(lo: int, hi: int) -> list[str]:
    from design.test_minicompetition import (  # tests/ on the path: its relative imports
        _plain,
        _with_additions,
        whole_market_disagreements,
    )

    bad: list[str] = []
    checked = 0
    for seed in range(lo, hi):
        for make in (_plain, _with_additions):
            inst = make(seed)
            lots = sorted({b.lot for b in inst.block_bids})
            if not lots:
                continue
            found, n = whole_market_disagreements(inst, lots[seed % len(lots)],
                                                  f"seed {seed} ({make.__name__})")
            bad += found
            checked += n
        print(f"seed {seed}: {checked} bids checked, {len(bad)} disagreement(s)", flush=True)
    return bad


if __name__ == "__main__":
    what, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    found = {"targets": targets, "minicomp": minicomp}[what](lo, hi)
    for line in found:
        print("DISAGREES:", line)
    print(f"{len(found)} disagreement(s)")
    sys.exit(1 if found else 0)
