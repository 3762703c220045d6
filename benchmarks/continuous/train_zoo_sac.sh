#!/usr/bin/env bash
# The zoo's Pendulum SAC with the [64, 64] network of zoo/hyperparams.py (a small zip).
set -euo pipefail
.venv/bin/rldistill teacher train --algo sac --env Pendulum-v1 --steps 20000 --seed 0 \
  --out src/rldistill/zoo/Pendulum-v1-sac.zip
# a Gaussian (gSDE) PPO teacher for Pendulum: RL Zoo's own Pendulum hyperparameters use gSDE
.venv/bin/rldistill teacher train --algo ppo --env Pendulum-v1 --steps 100000 --seed 0 \
  --out src/rldistill/zoo/Pendulum-v1-ppo.zip
