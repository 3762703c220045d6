#!/usr/bin/env bash
# The hard bank's missing MuJoCo teachers (issue 27) on a lent GPU machine: SB3's SAC and TD3
# learn on CUDA, four at a time, each stopped after MAX seconds (default 460; the record gives
# the steps trained). Expects in .whl/ the wheels of gymnasium, SB3, sb3-contrib, mujoco
# (mujoco-core, -studio, glfw, pyopengl, ...) and Farama-Notifications (the machine's python
# has torch with CUDA); OUT: a folder for the teachers and their records.
set -u
MAX=${MAX:-460}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl 2>&1 | grep -v numpy | tail -3
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
nproc; nvidia-smi -L
python3 -c "import torch, gymnasium, mujoco, stable_baselines3, rldistill.cli; gymnasium.make('Ant-v5'); print(torch.__version__, torch.cuda.is_available(), mujoco.__version__)" || exit 1
python3 benchmarks/bank/bank.py train --bank hard --out "$OUT/teachers" --jobs 4 --device cuda \
  --max-seconds "$MAX" --only HalfCheetah-v5-sac-s0,HalfCheetah-v5-td3-s0,Ant-v5-sac-s0,Ant-v5-td3-s0
ls -la "$OUT/teachers"
python3 -c "
import glob, json
for f in sorted(glob.glob('$OUT/teachers/*.json')):
    r = json.load(open(f)); print(r['file'], r['steps'], r['train_wall_s'], r['return_mean'], r['return_ci95'])"
