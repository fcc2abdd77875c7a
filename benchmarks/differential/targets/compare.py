"""Compare engine results (eng dir) with my MIP on each instance; print disagreements.

usage: compare.py INSTDIR ENGDIR [lexicographic|weighted|-]
       compare.py --cli INSTDIR CLIDIR   (CLI runs of cli_run.sh: CLIDIR/<name>/eng.json)
"""

import json
import sys
from pathlib import Path

from mine import Model


def compare(ipath, epath, objective=None):
    doc = json.loads(Path(ipath).read_text())
    eng = json.loads(Path(epath).read_text())
    m = Model(doc)
    lex = None if objective is None else objective == "lexicographic"
    mine = m.solve(lexicographic=lex)
    issues = []
    est = eng["status"]
    if mine.get("solver_disagreement"):
        issues.append("MY SOLVERS DISAGREE: " + mine["solver_disagreement"])
    if eng.get("dropped") is not None:  # bids that cannot be awarded: same set, both sides
        edrop = sorted((d["provider"], d["lot"]) for d in eng["dropped"])
        if edrop != sorted(m.dropped):
            issues.append(f"dropped bids engine {edrop} mine {sorted(m.dropped)}")
    if mine["status"] == "Infeasible":
        if est != "infeasible":
            issues.append(f"mine infeasible, engine {est} {eng.get('objective')}")
        return mine, eng, issues
    if mine["status"] != "Optimal":
        issues.append(f"mine status {mine['status']}")
        return mine, eng, issues
    if est != "optimal":
        issues.append(
            f"engine {est} ({eng.get('message', '')[:200]}), mine {mine['objective']:.6f}"
        )
        return mine, eng, issues
    tol = 1e-6 * max(1, abs(mine["objective"]))
    if abs(eng["objective"] - mine["objective"]) > tol:
        issues.append(f"objective engine {eng['objective']:.6f} mine {mine['objective']:.6f}")
    if eng.get("bound") is None or eng["bound"] > mine["objective"] + tol:
        issues.append(f"bound {eng.get('bound')} vs mine {mine['objective']}")
    awards = {tuple(k.split("|")): v for k, v in eng.get("awards", {}).items()}
    worlds = {s: (w["assignment"], w["block"]) for s, w in eng.get("worlds", {}).items()}
    obj, unmet, probs = m.evaluate(awards, worlds)
    if probs:
        issues.append("my evaluation of engine answer: " + "; ".join(probs))
    if abs(obj - eng["objective"]) > tol:
        issues.append(f"engine objective {eng['objective']} but my evaluation of its answer {obj}")
    if eng.get("check_ok") is not True:
        issues.append(f"engine check: {eng.get('check')}")
    if lex is None and m.pol["objective"] == "lexicographic" or lex:
        if abs(unmet - mine["unmet"]) > 1e-6 * max(1, abs(mine["unmet"])):
            issues.append(f"lex: unmet engine {unmet} mine {mine['unmet']}")
    return mine, eng, issues


def main_cli(idir, cdir):
    """Runs of cli_run.sh: also require `allocator check` to pass on every optimal answer."""
    n = bad = 0
    for ip in sorted(idir.glob("*.json")):
        ep = cdir / ip.stem / "eng.json"
        if not ep.exists():
            continue
        mine, eng, issues = compare(ip, ep)
        n += 1
        check = "-"
        if eng["status"] == "optimal":
            check = "check ok" if eng.get("check_ok") else "check FAILED"
            if not eng.get("check_ok"):
                issues.append(f"allocator check: {eng.get('check')}")
        if issues:
            bad += 1
        print(
            ip.stem,
            eng["status"],
            eng.get("objective"),
            "mine",
            mine.get("objective"),
            check,
            issues or "",
            flush=True,
        )
    print(f"cli: compared {n}, disagreements {bad}")


if __name__ == "__main__" and sys.argv[1] == "--cli":
    main_cli(Path(sys.argv[2]), Path(sys.argv[3]))
elif __name__ == "__main__":
    idir, edir = Path(sys.argv[1]), Path(sys.argv[2])
    objective = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    n = bad = feas = 0
    for ep in sorted(edir.glob("*.json")):
        ip = idir / ep.name
        mine, eng, issues = compare(ip, ep, objective)
        n += 1
        feas += mine["status"] == "Optimal"
        if issues:
            bad += 1
            print(ep.name, "|", " || ".join(issues), flush=True)
    print(f"compared {n}, feasible {feas}, disagreements {bad}")
