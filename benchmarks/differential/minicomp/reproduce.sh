#!/usr/bin/env bash
# Mini-competition differential check (DESIGN.md 9.4): the engine against ref.py.
#
# usage: bash benchmarks/differential/minicomp/reproduce.sh [OUTDIR] [N]
#   OUTDIR  where instances, engine and reference outputs go (default: a new temp dir)
#   N       total number of random instances (default 1000, the full run: 6 batches of
#           400/100/100/100/150/150 instances); a smaller N is split over the batches in proportion
# Python: ${PYTHON:-python}, with the allocator package and PuLP importable.
# The full run takes about 20 minutes on 2 shared cores; N=5 about 2 minutes.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-python}"
OUT="${1:-$(mktemp -d -t minicomp.XXXXXX)}"
N="${2:-1000}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
echo "output folder: $OUT"

# batch name, points for quality and price, first seed, full size
BATCHES=("a 60 40 0 400" "b1 100 0 400 100" "b2 0 100 500 100" "b3 35.5 64.5 600 100"
         "c 60 40 1000 150" "d 50 50 1150 150")
# instances per batch: N split in proportion to the full sizes (largest remainders)
read -r -a COUNTS <<< "$("$PY" - "$N" <<'PY'
import sys
n, sizes = int(sys.argv[1]), [400, 100, 100, 100, 150, 150]
exact = [n * s / 1000 for s in sizes]
k = [min(int(e), s) for e, s in zip(exact, sizes, strict=True)]
for i in sorted(range(6), key=lambda i: k[i] - exact[i])[: max(0, min(n, 1000) - sum(k))]:
    k[i] += 1
print(*k)
PY
)"

"$PY" "$HERE/probes.py" "$OUT/probes"
: > "$OUT/summary.txt"
compare() { # name
  "$PY" "$HERE/compare.py" "$OUT/eng_$1.jsonl" "$OUT/ref_$1.jsonl" | tail -12 | tee -a "$OUT/summary.txt"
}
run() { # name qp pp files...
  local n=$1 qp=$2 pp=$3; shift 3
  echo "== batch $n: $# instances, quality points $qp, price points $pp" | tee -a "$OUT/summary.txt"
  "$PY" "$HERE/eng.py" L "$qp" "$pp" 60 "$@" > "$OUT/eng_$n.jsonl"
  "$PY" "$HERE/ref.py" L "$qp" "$pp" "$@" 2>/dev/null | grep '^{' > "$OUT/ref_$n.jsonl"
  compare "$n"
}
for i in "${!BATCHES[@]}"; do
  read -r name qp pp first _ <<< "${BATCHES[$i]}"
  k=${COUNTS[$i]}
  [ "$k" -gt 0 ] || continue
  "$PY" "$HERE/gen.py" "$first" $((first + k)) "$OUT/inst"
  run "$name" "$qp" "$pp" $(for s in $(seq "$first" $((first + k - 1))); do echo "$OUT/inst/inst_$s.json"; done)
done
run probes 60 40 "$OUT"/probes/*.json

# the CLI (allocator mini-competition) on the first instance of each batch, against the reference
CLI_FILES=()
for i in "${!BATCHES[@]}"; do
  read -r name qp pp first _ <<< "${BATCHES[$i]}"
  [ "${COUNTS[$i]}" -gt 0 ] && [ "$qp" = 60 ] && CLI_FILES+=("$OUT/inst/inst_$first.json")
done
CLI_FILES+=("$OUT"/probes/*.json)
echo "== CLI: ${#CLI_FILES[@]} instances" | tee -a "$OUT/summary.txt"
"$PY" "$HERE/cli.py" L 60 40 "$OUT/cli_out" "${CLI_FILES[@]}" > "$OUT/eng_cli.jsonl"
cat "$OUT"/ref_a.jsonl "$OUT"/ref_c.jsonl "$OUT"/ref_probes.jsonl 2>/dev/null > "$OUT/ref_cli.jsonl" || true
compare cli

echo "== bad inputs (CLI)" | tee -a "$OUT/summary.txt"
"$PY" "$HERE/bad.py" "$OUT/bad" | tee -a "$OUT/summary.txt"

echo "== coverage of the random instances" | tee -a "$OUT/summary.txt"
: > "$OUT/eng_all.jsonl"; : > "$OUT/ref_all.jsonl"
for b in a b1 b2 b3 c d; do
  [ -f "$OUT/eng_$b.jsonl" ] && cat "$OUT/eng_$b.jsonl" >> "$OUT/eng_all.jsonl"
  [ -f "$OUT/ref_$b.jsonl" ] && cat "$OUT/ref_$b.jsonl" >> "$OUT/ref_all.jsonl"
done
"$PY" "$HERE/stats.py" "$OUT/eng_all.jsonl" "$OUT/ref_all.jsonl" | tee -a "$OUT/summary.txt"
echo "summary: $OUT/summary.txt"
