"""Run the engine's mini-competition (Python API) on instance files; one JSON line per file.

python eng.py LOT QP PP TIME_LIMIT FILE...  (python: the one with the allocator package)
"""

import json
import sys
import time

from allocator.design.minicompetition import MiniCompetitionError, mini_competition
from allocator.design.solve import DesignParams
from allocator.instance.errors import InstanceError
from allocator.instance.io import load_instance


def main():
    lot, qp, pp, tl = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    for f in sys.argv[5:]:
        t0 = time.time()
        try:
            inst = load_instance(f)
        except InstanceError as e:
            print(json.dumps({"file": f, "load_error": str(e)}), flush=True)
            continue
        try:
            mc = mini_competition(
                inst, lot, quality_points=qp, price_points=pp, params=DesignParams(time_limit=tl)
            )
            d = mc.to_dict()
        except MiniCompetitionError as e:
            d = {"mc_error": str(e)}
        except Exception as e:  # noqa
            import traceback

            d = {"crash": traceback.format_exc()}
        d["file"] = f
        d["wall"] = time.time() - t0
        print(json.dumps(d), flush=True)


if __name__ == "__main__":
    main()
