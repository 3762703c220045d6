#!/usr/bin/env bash
# `rldistill bench-latency` on the 10 % students of int8.sh (LunarLander PPO and DQN teachers,
# Pendulum SAC) and a HalfCheetah student (zoo PPO teacher, VecNormalize): teacher (torch),
# student (torch, ONNX float, ONNX int8) at batch 1 and 1024, one thread. Each run three times
# (this VM's timings move by +-30 % between runs): the summary gives the median of the three.
# Run it on an idle machine. Writes results/latency.jsonl and prints the summary.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d runs/latency-HalfCheetah-v5 ]; then
  .venv/bin/rldistill distill --teacher zoo:HalfCheetah-v5-ppo --env HalfCheetah-v5 \
    --param-ratio 0.1 --budget 20000 --out runs/latency-HalfCheetah-v5 --json > /dev/null
fi
: > benchmarks/runtime/results/latency.jsonl
for r in runs/int8-LunarLander-v3-ppo runs/int8-LunarLander-v3-dqn runs/int8-Pendulum-v1-sac \
         runs/latency-HalfCheetah-v5; do
  for rep in 1 2 3; do
    .venv/bin/rldistill bench-latency $r --json >> benchmarks/runtime/results/latency.jsonl
  done
done
.venv/bin/python - <<'PY'
import json
import statistics
from collections import defaultdict

runs = defaultdict(list)
for line in open("benchmarks/runtime/results/latency.jsonl"):
    r = json.loads(line)
    runs[r["run"]].append(r)
for name, reps in runs.items():
    print(f"{name} (median of {len(reps)})")
    for i, row in enumerate(reps[0]["rows"]):
        med = {b: {k: statistics.median(rep["rows"][i]["batch"][b][k] for rep in reps)
                   for k in ("us_per_action", "speedup_vs_teacher")} for b in ("1", "1024")}
        print(f"  {row['who']:8s} {row['runtime']:11s} {row['params']:>7} {row['bytes']:>8} B"
              f"  b1 {med['1']['us_per_action']:8.2f} us ({med['1']['speedup_vs_teacher']:5.2f}x)"
              f"  b1024 {med['1024']['us_per_action']:7.3f} us/action"
              f" ({med['1024']['speedup_vs_teacher']:6.2f}x)")
PY
