"""Compare engine (eng.py output) with the reference (ref.py output), JSONL files.

python compare.py ENG.jsonl REF.jsonl
"""

import json
import sys

TOL = 1e-6


def close(a, b, tol=TOL):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def compare(e, r):
    issues = []
    if "error" in r or "mc_error" in e or "load_error" in e or "crash" in e:
        issues.append(
            f"errors: ref={r.get('error')} "
            f"eng={e.get('mc_error') or e.get('load_error') or e.get('crash')}"
        )
        return issues
    erows = {x["provider"]: x for x in e["ranking"]}
    rrows = {x["provider"]: x for x in r["rows"]}
    if set(erows) != set(rrows):
        issues.append(f"bid sets differ {sorted(erows)} vs {sorted(rrows)}")
        return issues
    for p, rr in rrows.items():
        er = erows[p]
        if er["admissible"] != rr["admissible"]:
            issues.append(f"{p}: admissible eng={er['admissible']} ref={rr['admissible']}")
            continue
        if not rr["admissible"]:
            # the reason must name the first threshold the provider's quality fails
            if "quality" not in er["reason"] or rr["threshold"] not in er["reason"]:
                issues.append(
                    f"{p}: inadmissible reason does not name {rr['threshold']!r}: {er['reason']!r}"
                )
            if er["score"] is not None or er["whole_market_cost"] is not None:
                issues.append(f"{p}: inadmissible bid has score/cost")
            continue
        if not close(er["score"], rr["score"]):
            issues.append(f"{p}: score eng={er['score']} ref={rr['score']}")
        if er["abnormally_low"] != rr["abnormally_low"]:
            issues.append(
                f"{p}: abnormally_low eng={er['abnormally_low']} ref={rr['abnormally_low']}"
            )
        if rr["abnormally_low"] and "abnormally low" not in er["reason"]:
            issues.append(f"{p}: flag without reason text")
        if not close(er["whole_market_cost"], rr["whole_market_cost"]):
            issues.append(
                f"{p}: whole_market_cost eng={er['whole_market_cost']} ({er['status']}) "
                f"ref={rr['whole_market_cost']} ({rr['status']})"
            )
        if er["whole_market_cost"] is not None:
            if (
                not er.get("proven")
                or er["whole_market_bound"] is None
                or not close(er["whole_market_bound"], er["whole_market_cost"], 1e-5)
            ):
                issues.append(
                    f"{p}: not proven: bound {er['whole_market_bound']} "
                    f"cost {er['whole_market_cost']}"
                )
            elif er["whole_market_bound"] > er["whole_market_cost"] + 1e-6 * max(
                1, abs(er["whole_market_cost"])
            ):
                issues.append(f"{p}: bound above cost")
            if rr["whole_market_cost"] is not None and er["whole_market_bound"] > rr[
                "whole_market_cost"
            ] + 1e-6 * max(1, abs(rr["whole_market_cost"])):
                issues.append(
                    f"{p}: engine bound {er['whole_market_bound']} above reference optimum "
                    f"{rr['whole_market_cost']}"
                )
    if r.get("median_rate") is not None and not close(e["median_rate"], r["median_rate"]):
        issues.append(f"median eng={e['median_rate']} ref={r['median_rate']}")
    # winners
    sw = e.get("score_winner")
    if r.get("score_winners"):
        if sw not in r["score_winners"]:
            issues.append(f"score winner eng={sw} ref={r['score_winners']}")
    elif sw is not None:
        issues.append(f"score winner eng={sw} ref none")
    ww = e.get("whole_market_winner")
    lex = e.get("objective") == "lexicographic"
    if lex and r.get("wm_winners"):
        # engine (documented) ranks by unmet first, then cost; check that reading
        pr = [x for x in r["rows"] if x["whole_market_cost"] is not None]
        ub = min(x["detail"]["unmet"] for x in pr)
        tied = [x for x in pr if x["detail"]["unmet"] <= ub + 1e-6 * max(1, ub)]
        cb = min(x["whole_market_cost"] for x in tied)
        r["wm_winners_literal"] = r["wm_winners"]
        r["wm_winners"] = sorted(
            x["provider"] for x in tied if x["whole_market_cost"] <= cb + 1e-6 * max(1, cb)
        )
        if ww not in r["wm_winners_literal"]:
            issues.append(
                f"NOTE lexicographic: engine winner {ww} (least unmet) is not the cheapest "
                f"{r['wm_winners_literal']}"
            )
    if r.get("wm_winners"):
        if ww not in r["wm_winners"]:
            issues.append(f"wm winner eng={ww} ref={r['wm_winners']}")
        elif len(r["wm_winners"]) > 1:
            # tie: expect the best score among the tied (engine's documented tie-break)
            best = max(rrows[p]["score"] for p in r["wm_winners"])
            if rrows[ww]["score"] < best - 1e-9:
                issues.append(f"wm tie {r['wm_winners']} broken to {ww}, not the better score")
    elif ww is not None:
        issues.append(f"wm winner eng={ww} ref none")
    # difference
    if sw is not None and ww is not None and sw in rrows:
        cs = rrows[sw]["whole_market_cost"]
        cw = rrows[ww]["whole_market_cost"] if ww in rrows else None
        if cs is not None and cw is not None:
            d = cs - cw
            if not close(e["difference_week"], d, 1e-6):
                issues.append(f"difference_week eng={e['difference_week']} ref={d}")
            if e["difference_year"] is None or not close(e["difference_year"], 52 * d, 1e-6):
                issues.append(f"difference_year eng={e['difference_year']} ref 52*{d}")
        elif e["difference_week"] is not None:
            issues.append(f"difference given where a winner has no cost: {e['difference_week']}")
    # ranking orders
    ranked = [x for x in e["ranking"]]
    costs = [rrows[x["provider"]]["whole_market_cost"] for x in ranked]
    if lex:
        costs = [
            None if c is None else (round(rrows[x["provider"]]["detail"]["unmet"], 4), c)
            for c, x in zip(costs, ranked, strict=False)
        ]
    priced = [c for c in costs if c is not None]
    # priced first, in non-decreasing reference cost
    first_none = next((i for i, c in enumerate(costs) if c is None), len(costs))
    if any(c is not None for c in costs[first_none:]):
        issues.append("ranking: a priced bid after an unpriced one")
    for a, b in zip(priced, priced[1:], strict=False):
        if lex and a[0] != b[0]:
            if a[0] > b[0]:
                issues.append(f"lexicographic ranking not by unmet: {costs}")
                break
            continue
        if lex:
            a, b = a[1], b[1]
        if a > b + 1e-6 * max(1, abs(b)):
            issues.append(f"ranking not by cost: {[x['provider'] for x in ranked]} costs {costs}")
            break
    cr = sorted(
        [x for x in e["ranking"] if x.get("cost_rank") is not None], key=lambda x: x["cost_rank"]
    )
    if [x["provider"] for x in cr] != [
        x["provider"] for x in ranked if rrows[x["provider"]]["whole_market_cost"] is not None
    ]:
        issues.append("cost_rank disagrees with ranking order / priced set")
    sr = sorted(
        [x for x in e["ranking"] if x.get("score_rank") is not None], key=lambda x: x["score_rank"]
    )
    sc = [rrows[x["provider"]]["score"] for x in sr]
    if len(sr) != len([x for x in rrows.values() if x["score"] is not None]):
        issues.append("score_rank missing on some admissible bid")
    for a, b in zip(sc, sc[1:], strict=False):
        if a < b - 1e-9:
            issues.append(f"score_rank not by score: {[x['provider'] for x in sr]} {sc}")
            break
    if sr and sr[0]["provider"] != sw:
        issues.append(f"score_rank 1 {sr[0]['provider']} is not score_winner {sw}")
    return issues


if __name__ == "__main__":
    eng = {}
    for line in open(sys.argv[1]):
        d = json.loads(line)
        eng[d["file"]] = d
    n = bad = noted = 0
    for line in open(sys.argv[2]):
        r = json.loads(line)
        e = eng.get(r["file"])
        if e is None:
            continue
        n += 1
        iss = compare(e, r)
        # NOTE lines record the engine's documented reading where DESIGN.md is silent (the
        # lexicographic winner); they are printed but not counted as disagreements
        real = [i for i in iss if not i.startswith("NOTE")]
        bad += bool(real)
        noted += len(real) < len(iss)
        if iss:
            print(r["file"])
            for i in iss:
                print("   ", i)
    print(f"compared {n}, with issues {bad}, with notes {noted}")
