#!/usr/bin/env bash
# Issue 15 (c): rldistill compress on LunarLander-v3 with the zoo's PPO and DQN teachers (and
# Pendulum SAC, a continuous one), 3 seeds per size, on a local Ray over this machine's 2 cores.
#   bash benchmarks/scale/compress.sh OUTROOT [NAME...]     (NAME: ll-ppo ll-dqn pendulum-sac)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$1; shift
export OMP_NUM_THREADS=1
RES=benchmarks/scale/results
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(ll-ppo ll-dqn)
for name in "${names[@]}"; do
  case $name in
    ll-ppo) args=(--teacher zoo:LunarLander-v3-ppo --env LunarLander-v3 --budget 10000) ;;
    ll-dqn) args=(--teacher zoo:LunarLander-v3-dqn --env LunarLander-v3 --budget 10000) ;;
    pendulum-sac) args=(--teacher zoo:Pendulum-v1-sac --env Pendulum-v1 --budget 20000) ;;
    *) echo "unknown $name"; exit 2 ;;
  esac
  .venv/bin/rldistill compress "${args[@]}" --target 0.98 --seeds 3 --eval-episodes 50 \
      --out "$ROOT/$name" --overwrite --json 2> "$ROOT/$name.err" | tail -1 > "$RES/c_$name.json"
  cp "$ROOT/$name/frontier.png" "$RES/c_$name.png" || true
  .venv/bin/python benchmarks/scale/compress_summary.py "$RES/c_$name.json" | tee "$RES/c_$name.md"
done
