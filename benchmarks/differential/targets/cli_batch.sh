#!/usr/bin/env bash
# usage: cli_batch.sh INSTDIR CLIDIR [K]
# `allocator design` + `allocator check` through the CLI (cli_run.sh) on every 5th instance of
# INSTDIR (at most K, default 8), then compare.py --cli against mine.py.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-python}"
idir=$1; cdir=$2; k=${3:-8}
mkdir -p "$cdir"
sel="$cdir/instances"
rm -rf "$sel"; mkdir -p "$sel"
for f in $(ls "$idir"/*.json | awk 'NR % 5 == 1' | head -n "$k"); do
  cp "$f" "$sel/"
  bash "$HERE/cli_run.sh" "$f" "$cdir/$(basename "$f" .json)" > /dev/null 2>&1
done
"$PY" "$HERE/compare.py" --cli "$sel" "$cdir" 2>&1 | grep -v "HiGHS\|Includes"
