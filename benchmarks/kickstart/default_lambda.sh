#!/usr/bin/env bash
# Kick-starting's default lambda (issue 28): `rldistill kickstart` with no --lambda (return-ratio)
# on a discrete (CartPole PPO) and a continuous (Pendulum PPO) teacher, 3 seeds each, the same
# steps and evaluation as run.sh cartpole and ../continuous/kickstart.sh (whose linear schedules
# collapsed on Pendulum once lambda reached 0: final 0.49 / 0.32 / 0.94). Writes
# results/default_lambda.jsonl: per run the final score (30 episodes), the curve's lowest point
# after it first reached 0.9, and steps_to_90.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=benchmarks/kickstart/runs
KS=".venv/bin/rldistill kickstart"
# LAMBDA=SCHEDULE TAG=NAME: another schedule than the default, in runs/TAG-*
LAM=${LAMBDA:+--lambda $LAMBDA}
TAG=${TAG:-default}
for seed in 0 1 2; do
  $KS --teacher zoo:CartPole-v1-ppo --env CartPole-v1 --algo ppo --student-hidden 32,32 \
    --steps 50000 --seed $seed $LAM --eval-every 2048 --eval-episodes 10 --final-episodes 30 \
    --out $OUT/$TAG-cartpole-s$seed --overwrite --json > /dev/null
  $KS --teacher zoo:Pendulum-v1-ppo --env Pendulum-v1 --algo ppo \
    --steps 60000 --seed $seed $LAM --eval-every 4096 --eval-episodes 10 --final-episodes 30 \
    --out $OUT/$TAG-pendulum-s$seed --overwrite --json > /dev/null
done
TAG=$TAG .venv/bin/python - <<'PY'
import json, os
from pathlib import Path
out = Path("benchmarks/kickstart/results")
out.mkdir(exist_ok=True)
tag = os.environ["TAG"]
with (out / f"{tag}_lambda.jsonl").open("w") as fh:
    for d in sorted(Path("benchmarks/kickstart/runs").glob(f"{tag}-*")):
        r = json.loads((d / "result.json").read_text())
        s = r["student"]
        curve = [p["normalized"] for p in s["curve"]]
        first = next((i for i, v in enumerate(curve) if v >= 0.9), None)
        row = {"run": d.name, "lambda": r["lambda"], "final": s["normalized_score"],
               "steps_to_90": s["steps_to_90"],
               "lowest_after_90": min(curve[first:]) if first is not None else None,
               "curve": curve}
        fh.write(json.dumps(row) + "\n")
        print(row["run"], row["final"], row["lowest_after_90"], row["steps_to_90"])
PY
