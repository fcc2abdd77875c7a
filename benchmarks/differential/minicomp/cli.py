"""Run `allocator mini-competition` (the CLI, in a child process) on instance files and print its
result.json as one JSON line per file, in the form eng.py prints (compare.py reads both).

python cli.py LOT QP PP OUTDIR FILE...   (each run writes OUTDIR/<file stem>/)
"""

import json
import subprocess
import sys
from pathlib import Path


def run_cli(path, lot, qp, pp, out, time_limit=60.0):
    """The CLI's exit code, its result.json (or None) and its stderr."""
    cmd = [
        sys.executable,
        "-m",
        "allocator",
        "mini-competition",
        str(path),
        "--lot",
        lot,
        "--quality-points",
        str(qp),
        "--price-points",
        str(pp),
        "--time-limit",
        str(time_limit),
        "--out",
        str(out),
        "-q",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    res = Path(out) / "result.json"
    data = json.loads(res.read_text()) if res.exists() else None
    return proc.returncode, data, proc.stderr + proc.stdout


def main():
    lot, qp, pp, outdir = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
    for f in sys.argv[5:]:
        code, data, err = run_cli(f, lot, qp, pp, outdir / Path(f).stem)
        d = data if data is not None else {"mc_error": f"exit {code}: {err.strip()[:500]}"}
        d["file"] = f
        d["exit"] = code
        print(json.dumps(d), flush=True)


if __name__ == "__main__":
    main()
