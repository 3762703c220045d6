#!/usr/bin/env bash
# Issue 15 (b): a loopback Ray cluster (`ray start --head`), the 12-trial sweep sent to it with
# --address, one trial's worker SIGKILLed half way; then every trial against the same config run
# alone (ALONE: the runs alone of sweep_vs_alone.py, reused if there).
#   bash benchmarks/scale/cluster_kill.sh OUT ALONE RESULT.json
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$1; ALONE=$2; RESULT=$3; PORT=${PORT:-6391}
export OMP_NUM_THREADS=1
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0  # keep every Ray process on 127.0.0.1 (Ray swaps loopback for the machine address otherwise)
.venv/bin/ray start --head --node-ip-address=127.0.0.1 --port="$PORT" --num-cpus=2 \
    --include-dashboard=false --disable-usage-stats > "$OUT.ray.log" 2>&1
trap '.venv/bin/ray stop >> "$OUT.ray.log" 2>&1' EXIT
.venv/bin/rldistill sweep benchmarks/scale/sweep12.yaml --address "127.0.0.1:$PORT" \
    --out "$OUT" --overwrite > "$OUT.table.md" 2> "$OUT.err" &
SWEEP=$!
.venv/bin/python benchmarks/scale/kill_one.py "$OUT" 4 > "$OUT.killed.json"
cat "$OUT.killed.json"
wait "$SWEEP"
cat "$OUT.table.md"
.venv/bin/python benchmarks/scale/sweep_vs_alone.py "$OUT" "$ALONE" "$RESULT"
