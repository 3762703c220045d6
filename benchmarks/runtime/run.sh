#!/usr/bin/env bash
# The torch-free runtime against `rldistill evaluate`: a LunarLander student (10 %), exported,
# played for 100 episodes in a process that cannot import torch. Writes results/runtime.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=runs/runtime-ll
.venv/bin/rldistill distill --teacher zoo:LunarLander-v3-ppo --env LunarLander-v3 \
  --param-ratio 0.1 --out $D --overwrite --json > /dev/null
.venv/bin/rldistill export --student $D --out $D/student.onnx --json > /dev/null
mkdir -p benchmarks/runtime/results
{
  echo '{"runtime":'
  .venv/bin/python benchmarks/runtime/play.py $D/student.onnx --episodes 100
  echo ', "evaluate":'
  .venv/bin/rldistill evaluate --student $D --episodes 100 --json \
    | .venv/bin/python -c "import json,sys; r=json.loads(sys.stdin.read()); print(json.dumps({k: r[k] for k in ('student', 'teacher', 'normalized_score')}))"
  echo '}'
} > benchmarks/runtime/results/runtime.json
cat benchmarks/runtime/results/runtime.json
