#!/usr/bin/env bash
# The zoo's continuous teachers, made by rldistill's own command (RL Zoo hyperparameters,
# zoo/hyperparams.py); each writes NAME.zip + NAME.json (command, return over 100 episodes)
# and, for VecNormalize teachers, NAME/vecnormalize.pkl. Run from the repo root.
set -euo pipefail
Z=src/rldistill/zoo
T=".venv/bin/rldistill teacher train"
$T --algo sac --env Pendulum-v1 --steps 20000 --seed 0 --out $Z/Pendulum-v1-sac.zip
$T --algo ppo --env HalfCheetah-v5 --steps ${HC_STEPS:-400000} --seed 0 --out $Z/HalfCheetah-v5-ppo.zip
$T --algo ppo --env LunarLanderContinuous-v3 --steps ${LLC_STEPS:-300000} --seed 0 \
  --out $Z/LunarLanderContinuous-v3-ppo.zip
