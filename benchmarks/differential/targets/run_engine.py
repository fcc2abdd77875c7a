"""Run the engine (Python API) on instances; write eng/<name>.json with status, objective,
bound, awards, worlds, dropped bids, check report.

python run_engine.py INSTDIR OUTDIR [objective|-] [method]   (python: with the allocator package)
"""

import json
import sys
import time
from pathlib import Path

from allocator.core.check import check
from allocator.design.solve import DesignParams, solve_design
from allocator.instance.io import load_instance


def run(path, out, objective=None, method="auto", time_limit=120):
    inst = load_instance(path)
    t = time.time()
    res = solve_design(
        inst, DesignParams(time_limit=time_limit, gap=0.0, objective=objective, method=method)
    )
    rec = {
        "status": res.status.value,
        "objective": res.objective,
        "bound": res.bound,
        "message": res.message,
        "seconds": time.time() - t,
        "method": (res.extra or {}).get("method"),
        "dropped": (res.extra or {}).get("dropped_bids"),
    }
    sol = res.solution
    if sol is not None:
        rec["awards"] = {f"{p}|{lt}": v for (p, lt), v in sol.awards.items()}
        if sol.scenarios:
            rec["worlds"] = {
                s: {"assignment": dict(w.assignment), "block": dict(w.block)}
                for s, w in sol.scenarios.items()
            }
        else:
            rec["worlds"] = {"base": {"assignment": dict(sol.assignment), "block": dict(sol.block)}}
        try:
            rep = check(inst, sol, reported=res)
            rec["check_ok"] = rep.ok
            rec["check"] = rep.summary()
        except Exception as e:  # noqa
            rec["check_ok"] = None
            rec["check"] = f"check raised {e!r}"
    Path(out).write_text(json.dumps(rec, indent=1, default=str))
    return rec


if __name__ == "__main__":
    outdir = Path(sys.argv[2])
    outdir.mkdir(parents=True, exist_ok=True)
    objective = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    method = sys.argv[4] if len(sys.argv) > 4 else "auto"
    for p in sorted(Path(sys.argv[1]).glob("*.json")):
        o = outdir / p.name
        if o.exists():
            continue
        try:
            r = run(p, o, objective, method)
            print(p.name, r["status"], r["objective"], r["bound"], r.get("check_ok"), flush=True)
        except Exception as e:  # noqa
            o.write_text(json.dumps({"status": "exception", "error": repr(e)}))
            print(p.name, "EXC", repr(e)[:300], flush=True)
