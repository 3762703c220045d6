#!/usr/bin/env bash
# --device cuda on a lent GPU machine (issue 27), in one go: the CUDA tests, then labelled
# steps/s on MinAtar and Atari with the networks on the CPU and on the GPU (throughput.py), then
# a default distill run on the GPU beside the CPU's figure (results/rusu.md). Expects the wheels
# of gymnasium, SB3, sb3-contrib, ale-py, MinAtar and Farama-Notifications in .whl/ (the
# machine's python has torch with CUDA); OUT: a folder for the rows and logs.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
nproc; nvidia-smi -L
python3 -c "import torch, gymnasium, stable_baselines3, ale_py, minatar, rldistill.cli; print(torch.__version__, torch.cuda.is_available())" || exit 1
python3 -m pytest -p no:warnings -q tests/test_device.py 2>&1 | tee "$OUT/tests.log" | tail -3
ROWS="$OUT/throughput.jsonl"
TP="python3 benchmarks/pixels/throughput.py"
ATARI=$(python3 -c "import sys; sys.path.insert(0, 'benchmarks/pixels'); import cnn_latency; print(cnn_latency.atari_teacher())")
T=$(nproc)  # the CPU runs use all its cores
for dev in cuda cpu; do
  timeout 150 $TP zoo:MinAtar-Breakout-v1-ppo MinAtar/Breakout-v1 --steps 20000 --device $dev --threads $T \
    --rows "$ROWS" --label "lent H200 machine, $dev" 2>&1 | tail -1
  timeout 150 $TP "$ATARI" BreakoutNoFrameskip-v4 --steps 8000 --device $dev --threads $T --rows "$ROWS" \
    --label "lent H200 machine, $dev; an untrained NatureCNN PPO teacher" 2>&1 | tail -1
done
# the Rusu table's default 25 % SpaceInvaders run (CPU here: 41 s, results/rusu.md), on the GPU
t0=$(date +%s)
python3 -m rldistill.cli distill --teacher zoo:MinAtar-SpaceInvaders-v1-ppo --param-ratio 0.25 \
  --budget 50000 --device cuda --eval-episodes 30 --out /tmp/si --json > "$OUT/si_cuda.json" \
  2> "$OUT/si_cuda.err"; echo "distill wall $(( $(date +%s) - t0 )) s"; tail -2 "$OUT/si_cuda.err"
python3 -c "import json; r = json.load(open('$OUT/si_cuda.json')); print(sorted(r)); print({k: r.get(k) for k in ('normalized_score', 'agreement', 'labelled_steps', 'wall_s', 'train_s')})"
