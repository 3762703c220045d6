#!/usr/bin/env bash
# One command for the whole benchmark: set-up, side-by-side comparison, throughput.
#   bash benchmarks/run.sh            # full (5 seeds, 100 eval episodes): ~25 min on 2 cores
#   bash benchmarks/run.sh --quick    # smoke run (1 seed, 10 episodes, 2 budgets): ~1 min
# Extra arguments go to compare.py. Profile separately: benchmarks/profile_loop.py (README).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
bash benchmarks/setup_imitation.sh
.venv/bin/python benchmarks/compare.py "$@"
if [[ " $* " == *" --quick "* ]]; then
  .venv/bin/python benchmarks/throughput.py --steps 4000 --repeats 1 \
    --out benchmarks/results/quick/throughput.json
else
  .venv/bin/python benchmarks/throughput.py
fi
