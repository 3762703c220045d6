#!/usr/bin/env bash
# What int8 costs: three 10 % students (policy-logit, Q-value and squashed-Gaussian teachers),
# exported float and int8 (`rldistill export --int8`), each played for 100 episodes by the
# torch-free runtime on the seeds `rldistill evaluate` uses. Writes results/int8.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p benchmarks/runtime/results
: > benchmarks/runtime/results/int8.jsonl
for pair in zoo:LunarLander-v3-ppo,LunarLander-v3 zoo:LunarLander-v3-dqn,LunarLander-v3 \
            zoo:Pendulum-v1-sac,Pendulum-v1; do
  T=${pair%,*}; E=${pair#*,}; D=runs/int8-${T#zoo:}
  .venv/bin/rldistill distill --teacher $T --env $E --param-ratio 0.1 --out $D --overwrite \
    --json > /dev/null
  X=$(.venv/bin/rldistill export --student $D --out $D/student.onnx --int8 --json)
  F=$(.venv/bin/python benchmarks/runtime/play.py $D/student.onnx --episodes 100)
  Q=$(.venv/bin/python benchmarks/runtime/play.py $D/student.int8.onnx --episodes 100)
  echo "{\"teacher\": \"$T\", \"export\": $X, \"float\": $F, \"int8\": $Q}" \
    >> benchmarks/runtime/results/int8.jsonl
done
.venv/bin/python - <<'PY'
import json
for line in open("benchmarks/runtime/results/int8.jsonl"):
    r = json.loads(line)
    q = r["export"]["int8"]
    print(r["teacher"], "float", r["float"]["return_mean"], "int8", r["int8"]["return_mean"],
          "agreement", q["action_agreement_vs_float"], "bytes", r["export"]["bytes"], q["bytes"],
          "us", q["latency_us"])
PY
