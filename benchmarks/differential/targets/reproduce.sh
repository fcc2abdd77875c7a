#!/usr/bin/env bash
# Design-model differential check (DESIGN.md 5, 9.1-9.3): the engine against mine.py.
#
# usage: bash benchmarks/differential/targets/reproduce.sh [OUTDIR] [N]
#   OUTDIR  where instances, engine answers and CLI outputs go (default: a new temp dir)
#   N       total number of random instances (default 750, the full run: inst 400, instB 150,
#           instC 200); a smaller N is split over the three sets in proportion
# The engine runs through its Python API (run_engine.py) and its CLI (cli_run.sh); mine.py
# solves with PuLP (HiGHS and CBC with preprocessing off; both must agree).
# Python: ${PYTHON:-python}. The full run takes about 15 minutes on 2 cores; N=5 about 3.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-python}"
export PYTHON="$PY"
OUT="${1:-$(mktemp -d -t targets.XXXXXX)}"
N="${2:-750}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
echo "output folder: $OUT"
read -r K1 K2 K3 <<< "$("$PY" - "$N" <<'PY'
import sys
n, sizes = int(sys.argv[1]), [400, 150, 200]
exact = [n * s / 750 for s in sizes]
k = [min(int(e), s) for e, s in zip(exact, sizes, strict=True)]
for i in sorted(range(3), key=lambda i: k[i] - exact[i])[: max(0, min(n, 750) - sum(k))]:
    k[i] += 1
print(*k)
PY
)"
S="$OUT/summary.txt"; : > "$S"
"$PY" "$HERE/gen.py" "$OUT/inst" 0 "$K1"
"$PY" "$HERE/gen.py" "$OUT/instB" 1000 $((1000 + K2))
"$PY" "$HERE/gen.py" "$OUT/instC" 2000 $((2000 + K3))
run() { # instdir engdir objective(-|weighted|lexicographic) [method]
  echo "== $1 -> $2 (objective ${3}, method ${4:-auto})" | tee -a "$S"
  "$PY" "$HERE/run_engine.py" "$OUT/$1" "$OUT/$2" "$3" "${4:-auto}" > "$OUT/$2.log"
  "$PY" "$HERE/compare.py" "$OUT/$1" "$OUT/$2" "$3" 2>&1 | grep -v "HiGHS\|Includes" | tee -a "$S"
}
run inst eng -
run inst eng_lex lexicographic
run inst eng_w weighted
run instB engB -
run instB engB_benders weighted benders
run instB engB_lex lexicographic
run instC engC -
run instC engC_lex lexicographic
echo "== coverage" | tee -a "$S"
"$PY" "$HERE/coverage.py" "$OUT/inst" "$OUT/eng" 2>&1 | grep -v "HiGHS\|Includes" | tee -a "$S"
"$PY" "$HERE/coverage.py" "$OUT/instC" "$OUT/engC" 2>&1 | grep -v "HiGHS\|Includes" | tee -a "$S"

echo "== CLI: allocator design + allocator check" | tee -a "$S"
bash "$HERE/cli_batch.sh" "$OUT/inst" "$OUT/cli_out" 8 | tee -a "$S"
bash "$HERE/cli_batch.sh" "$OUT/instB" "$OUT/cli_outB" 6 | tee -a "$S"
echo "== probes through the CLI" | tee -a "$S"
"$PY" "$HERE/probes.py" "$OUT/probes"
for f in "$OUT"/probes/*.json; do
  bash "$HERE/cli_run.sh" "$f" "$OUT/probe_out/$(basename "$f" .json)" > /dev/null 2>&1
done
"$PY" "$HERE/compare.py" --cli "$OUT/probes" "$OUT/probe_out" 2>&1 | grep -v "HiGHS\|Includes" | tee -a "$S"
echo "== tampered answers (allocator check and mine.py must refuse)" | tee -a "$S"
"$PY" "$HERE/tamper.py" "$OUT/probe_out" "$OUT/tamper" | tee -a "$S"
echo "== bad inputs (allocator validate)" | tee -a "$S"
"$PY" "$HERE/bad.py" "$OUT/bad" | tee -a "$S"
echo "summary: $S"
