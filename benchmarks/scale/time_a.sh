#!/usr/bin/env bash
# Issue 15 (a): the 12-trial sweep on a local Ray, then the same 12 configs alone one after
# another (fresh), back to back, with the load average before each (the machine is shared).
#   bash benchmarks/scale/time_a.sh OUTROOT
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$1; RES=benchmarks/scale/results
export OMP_NUM_THREADS=1
mkdir -p "$ROOT" "$RES/a_local"
rm -rf "$ROOT/alone12"
echo "load before the sweep: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$RES/a_local/load.txt"
.venv/bin/rldistill sweep benchmarks/scale/sweep12.yaml --out "$ROOT/a12" --overwrite \
    > "$RES/a_local/sweep_stdout.md" 2> "$ROOT/a12.err"
echo "load before the runs alone: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RES/a_local/load.txt"
.venv/bin/python benchmarks/scale/sweep_vs_alone.py "$ROOT/a12" "$ROOT/alone12" \
    "$RES/a_local_sweep.json"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RES/a_local/load.txt"
cp "$ROOT/a12/results.md" "$ROOT/a12/results.csv" "$ROOT/a12/results.png" "$RES/a_local/"
