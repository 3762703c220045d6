#!/usr/bin/env bash
# Kick-started PPO on Pendulum-v1 (continuous actions: the Gaussian KL) against PPO from
# scratch, 3 seeds; teacher zoo:Pendulum-v1-ppo (gSDE, RL Zoo hyperparameters, -157.2); the
# student uses the same hyperparameters without gSDE (so that it maps onto an rldistill student).
# Also measured, seeds 0-2 without --compare-scratch: --lambda return-ratio (lambda follows
# 1 - G_student / G_teacher), in results/kickstart/pendulum-return-ratio-s*.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=benchmarks/continuous/results/kickstart
for seed in 0 1 2; do
  .venv/bin/rldistill kickstart --teacher zoo:Pendulum-v1-ppo --env Pendulum-v1 --algo ppo \
    --steps 60000 --lambda linear:1:30000 --compare-scratch --seed $seed \
    --eval-every 4096 --eval-episodes 10 --final-episodes 30 \
    --out $OUT/pendulum-s$seed --overwrite --json | tail -1 > /dev/null
done
.venv/bin/python - <<'PY'
import json
from pathlib import Path
rows = []
for d in sorted(Path("benchmarks/continuous/results/kickstart").glob("pendulum-s*")):
    r = json.loads((d / "result.json").read_text())
    rows.append((d.name, r["student"]["steps_to_90"], r["scratch"]["steps_to_90"],
                 r["speedup"], r["speedup_lower_bound"], r["student"]["normalized_score"],
                 r["scratch"]["normalized_score"]))
print("| run | steps to 90 % kick-started | from scratch | speed-up | lower bound | final "
      "normalized kick-started | scratch |")
print("|---|---|---|---|---|---|---|")
for row in rows:
    print("| " + " | ".join(str(x) for x in row) + " |")
PY
