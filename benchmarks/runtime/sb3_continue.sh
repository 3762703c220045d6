#!/usr/bin/env bash
# Distilled students back into SB3 (`rldistill export --format sb3`), trained further with SB3's
# own learn() for 10k steps, scored greedily on 100 episodes before and after. Uses the three
# 10 % students of int8.sh and a --loss mse student of the DQN teacher (its outputs are Q-values).
# Writes results/sb3_continue.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/rldistill distill --teacher zoo:LunarLander-v3-dqn --env LunarLander-v3 \
  --param-ratio 0.1 --loss mse --out runs/sb3-ll-dqn-mse --overwrite --json > /dev/null
: > benchmarks/runtime/results/sb3_continue.jsonl
for r in runs/int8-LunarLander-v3-ppo runs/int8-LunarLander-v3-dqn runs/int8-Pendulum-v1-sac \
         runs/sb3-ll-dqn-mse; do
  .venv/bin/python benchmarks/runtime/sb3_continue.py $r >> benchmarks/runtime/results/sb3_continue.jsonl
done
