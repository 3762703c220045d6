#!/usr/bin/env bash
# Issue 2's Q-value figure: zoo:LunarLander-v3-dqn, --loss kl --param-ratio 0.1 --driver student
# --budget 10000, 100 eval episodes, seeds 0..N-1 (two at a time), then a table (table.md).
# Usage: N=20 bash benchmarks/measured/q_teacher/run.sh   (about 2 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=benchmarks/measured/q_teacher
out=${OUT:-/tmp/rldistill-q-teacher}
n=${N:-20}
run() {
  for s in "$@"; do
    .venv/bin/rldistill distill --teacher zoo:LunarLander-v3-dqn --env LunarLander-v3 --loss kl \
      --param-ratio 0.1 --driver student --budget 10000 --eval-episodes 100 --seed "$s" \
      --out "$out/seed$s" --overwrite --json | tail -1 > "$here/seed$s.json"
  done
}
run $(seq 0 2 $((n - 1))) & run $(seq 1 2 $((n - 1))) & wait
.venv/bin/python - "$here" "$n" <<'PY'
import json, pathlib, statistics, sys
here = pathlib.Path(sys.argv[1])
rows = [json.loads((here / f"seed{s}.json").read_text()) for s in range(int(sys.argv[2]))]
lines = ["| seed | student return [95 % CI] | teacher | random | normalized | agreement | params | updates | wall s |",
         "|---|---|---|---|---|---|---|---|---|"]
for s, r in enumerate(rows):
    lo, hi = r["student"]["return_ci95"]
    lines.append(f"| {s} | {r['student']['return_mean']:.1f} [{lo:.1f}, {hi:.1f}] | "
                 f"{r['teacher']['return_mean']:.1f} | {r['random']['return_mean']:.1f} | "
                 f"{r['normalized_score']:.3f} | {r['agreement']:.3f} | {r['student']['params']} | "
                 f"{r['updates']} | {r['wall_s']:.1f} |")
ns = [r["normalized_score"] for r in rows]
lines.append(f"\nmean {statistics.mean(ns):.4f}, median {statistics.median(ns):.4f}, min {min(ns):.3f}, "
             f"max {max(ns):.3f}, seeds >= 0.98: {sum(x >= 0.98 for x in ns)}/{len(ns)}")
(here / "table.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
