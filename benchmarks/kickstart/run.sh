#!/usr/bin/env bash
# Kick-started vs from-scratch students (rldistill kickstart --compare-scratch), niced.
# Usage: bash benchmarks/kickstart/run.sh [cartpole|cartpole-fine|lunar|lunar-rr SEED|all]   (from the repo root)
# `python -m rldistill.cli kickstart ARGS` is the same as `rldistill kickstart ARGS`.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=benchmarks/kickstart/runs
KS="nice -n 5 .venv/bin/python -m rldistill.cli kickstart"
what=${1:-all}
if [[ $what == cartpole || $what == all ]]; then
  for seed in 0 1 2; do
    $KS --teacher zoo:CartPole-v1-ppo --env CartPole-v1 --algo ppo --student-hidden 32,32 \
      --steps 50000 --lambda linear:1:30000 --compare-scratch --seed $seed \
      --eval-every 2048 --eval-episodes 10 --final-episodes 30 \
      --out $OUT/cartpole-s$seed --overwrite --json | tail -1 > /dev/null
  done
fi
if [[ $what == lunar || $what == all ]]; then
  for seed in 0 1 2; do
    $KS --teacher zoo:LunarLander-v3-ppo --env LunarLander-v3 --algo ppo --student-hidden 64,64 \
      --steps 300000 --lambda linear:1:200000 --compare-scratch --seed $seed \
      --eval-every 16384 --eval-episodes 10 --final-episodes 30 \
      --out $OUT/lunar-s$seed --overwrite --json | tail -1 > /dev/null
  done
fi
if [[ $what == lunar-pretrain ]]; then  # QDagger's offline phase first (RESULTS.md)
  for seed in 0 1 2; do
    $KS --teacher zoo:LunarLander-v3-ppo --env LunarLander-v3 --algo ppo --student-hidden 64,64 \
      --steps 300000 --pretrain 10000 --lambda linear:1:200000 --seed $seed \
      --eval-every 16384 --eval-episodes 10 --final-episodes 30 \
      --out $OUT/lunar-pretrain-s$seed --overwrite --json | tail -1 > /dev/null
  done
fi
if [[ $what == lunar-rr ]]; then  # QDagger's return-ratio schedule, kick-started run only
  seed=${2:-0}
  $KS --teacher zoo:LunarLander-v3-ppo --env LunarLander-v3 --algo ppo --student-hidden 64,64 \
    --steps 300000 --lambda return-ratio --seed $seed \
    --eval-every 16384 --eval-episodes 10 --final-episodes 30 \
    --out $OUT/lunar-rr-s$seed --overwrite --json | tail -1 > /dev/null
fi
if [[ $what == cartpole-fine ]]; then  # finer eval resolution (2 PPO rollouts = 512 env steps)
  for seed in 0 1 2; do
    $KS --teacher zoo:CartPole-v1-ppo --env CartPole-v1 --algo ppo --student-hidden 32,32 \
      --steps 30000 --lambda linear:1:20000 --compare-scratch --seed $seed \
      --eval-every 512 --eval-episodes 10 --final-episodes 30 \
      --out $OUT/cartpole-fine-s$seed --overwrite --json | tail -1 > /dev/null
  done
fi
