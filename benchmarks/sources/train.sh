#!/usr/bin/env bash
# Teachers trained OUTSIDE rldistill, by RL Zoo's own `train` command (its hyperparameters,
# its experiment folders), for issue 14: PPO Acrobot-v1 (normalize: true), SAC Pendulum-v1, and
# one model per sb3-contrib algorithm. Writes benchmarks/sources/logs/ (git-ignored; ~25 min on
# 2 cores). Each folder is skipped when it exists.
set -euo pipefail
cd "$(dirname "$0")"
PY=../../.venv/bin/python
zoo() {  # ALGO ENV [extra args]
  local algo=$1 env=$2; shift 2
  [ -d "logs/$algo/${env}_1" ] && return 0
  $PY -m rl_zoo3.train --algo "$algo" --env "$env" -f logs --seed 0 --num-threads 1 \
    --eval-freq -1 "$@" > "logs-$algo-$env.txt" 2>&1
}
mkdir -p logs
zoo ppo Acrobot-v1 -n 150000
zoo sac Pendulum-v1
zoo trpo CartPole-v1 -n 50000
zoo ars CartPole-v1 -n 50000
zoo qrdqn CartPole-v1 -n 50000
zoo tqc Pendulum-v1 -n 10000
zoo crossq Pendulum-v1 -n 10000
zoo ppo BreakoutNoFrameskip-v4 -n 100000  # weak: RL Zoo's Atari PPO, 100k steps
# MaskablePPO and RecurrentPPO have no RL Zoo entry for CartPole: sb3-contrib's own scripts
# (MaskablePPO trains through ActionMasker with every action allowed; it is distilled on the
# plain env, which has no masks)
for algo in MaskablePPO RecurrentPPO; do
  f=logs/$(echo $algo | tr A-Z a-z)-CartPole-v1.zip
  [ -f "$f" ] || $PY -c "
import gymnasium as gym, numpy as np, sb3_contrib
from sb3_contrib.common.wrappers import ActionMasker
env = gym.make('CartPole-v1')
if '$algo' == 'MaskablePPO':
    env = ActionMasker(env, lambda e: np.ones(2, bool))
policy = 'MlpLstmPolicy' if '$algo' == 'RecurrentPPO' else 'MlpPolicy'
m = getattr(sb3_contrib, '$algo')(policy, env, seed=0)
m.learn(30_000 if '$algo' == 'MaskablePPO' else 0)  # RecurrentPPO is refused either way
m.save('$f')"
done
