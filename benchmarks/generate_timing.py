"""Issue 3's figure: how long ``generate`` takes at scales S, M, L and XL, and its memory.

Each scale is generated in its own spawned child process (so the peak resident set size is
that generation's alone), with ``blocks=True`` as in the benchmark registry, and then written
as one JSON file to a temporary folder (the ``allocator generate --out FILE`` path), timed
separately. Writes ``benchmarks/results/generate.csv`` and ``generate.md``.

Run from the repository root::

    python -m benchmarks.generate_timing [--scales S,M,L,XL] [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .runner import run_child

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ("scale", "seed", "needs", "providers", "zones", "offers", "lots", "block_contracts",
           "generate_s", "peak_mb_generate", "write_s", "json_mb", "peak_mb")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_generate(scale: str, seed: int, write: bool = True) -> dict[str, Any]:
    """Generate one instance and write it as JSON, timing both (call in a fresh process)."""
    from allocator.generate import generate

    t = time.perf_counter()
    inst = generate(scale, seed=seed, blocks=True)
    row: dict[str, Any] = {
        "scale": scale, "seed": seed, "generate_s": time.perf_counter() - t,
        "peak_mb_generate": _peak_mb(), "needs": len(inst.needs),
        "providers": len(inst.providers), "zones": len(inst.zones), "offers": len(inst.offers),
        "lots": len(inst.lots), "block_contracts": len(inst.block_contracts),
    }
    if write:
        from allocator.instance.io import save_instance

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{scale}-{seed}.json"
            t = time.perf_counter()
            save_instance(inst, path)
            row["write_s"] = time.perf_counter() - t
            row["json_mb"] = path.stat().st_size / 2**20
    row["peak_mb"] = _peak_mb()
    return row


def _child(conn: Any, scale: str, seed: int, write: bool) -> None:
    try:
        out = time_generate(scale, seed, write)
    except Exception as exc:
        out = {"scale": scale, "seed": seed, "error": f"{type(exc).__name__}: {exc}"}
    conn.send(out)
    conn.close()


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    lines = ["# Instance generation time and memory (issue 3)", "",
             f"Command: `{command}` (one spawned process per scale; `blocks=True`).", "",
             "| scale | needs | providers | zones | offers | generate s | peak MB (generate) "
             "| write JSON s | JSON MB | peak MB (with write) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['scale']} | error: {r['error']} |||||||||")
            continue
        lines.append(
            f"| {r['scale']} | {r['needs']:,} | {r['providers']:,} | {r['zones']:,} | "
            f"{r['offers']:,} | {r['generate_s']:.2f} | {r['peak_mb_generate']:.0f} | "
            f"{r.get('write_s', float('nan')):.2f} | {r.get('json_mb', float('nan')):.1f} | "
            f"{r['peak_mb']:.0f} |")
    lines += ["", "Target (issue 3): XL (600,000 needs) in under a minute and a few GB.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate_timing")
    parser.add_argument("--scales", default="S,M,L,XL")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="time generate() only")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = []
    for scale in [s.strip() for s in args.scales.split(",") if s.strip()]:
        out = run_child(_child, (scale, args.seed, not args.no_write), 3600.0)
        rows.append(out)
        print(out, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "generate.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS + ("error",), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    command = "python -m benchmarks.generate_timing " + " ".join(
        argv if argv is not None else sys.argv[1:])
    (args.out / "generate.md").write_text(markdown(rows, command.strip()))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
