#!/usr/bin/env bash
# Peak RSS of a 200k-step Atari distillation (4 x 84 x 84 stacks, each frame stored once), with
# the RL Zoo Breakout PPO folder of benchmarks/sources (train.sh makes it). --epochs 1 keeps the
# run short: epochs change the updates, not what is held in memory.
#   bash benchmarks/pixels/atari_memory.sh   -> a line in results/atari_memory.jsonl
set -euo pipefail
cd "$(dirname "$0")/../.."
TEACHER=${TEACHER:-benchmarks/sources/logs/ppo/BreakoutNoFrameskip-v4_1}
BUDGET=${BUDGET:-200000}
out=$(mktemp -d)
/usr/bin/time -v -o "$out/time.txt" .venv/bin/rldistill distill --teacher "$TEACHER" \
  --budget "$BUDGET" --epochs 1 --eval-episodes 10 --out "$out/run" --json > "$out/result.json"
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/time.txt")
.venv/bin/python - "$out" "$rss_kb" "$wall" "$BUDGET" <<'PY'
import json, sys
from pathlib import Path
out, rss_kb, wall, budget = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
r = json.loads((out / "result.json").read_text().strip().splitlines()[-1])
chunks = sum(p.stat().st_size for p in (out / "run" / "checkpoint-buffer").glob("*"))
row = {"budget": budget, "peak_rss_mib": round(rss_kb / 1024), "wall": wall,
       "checkpoint_buffer_mib": round(chunks / 2**20), "bytes_per_stacked_obs_uncompressed": 28224,
       "agreement": r.get("agreement"), "student_return": r["student"]["return_mean"],
       "teacher_return": r["teacher"]["return_mean"], "student_params": r["student"]["params"]}
print(json.dumps(row))
with open("benchmarks/pixels/results/atari_memory.jsonl", "a") as f:
    f.write(json.dumps(row) + "\n")
PY
