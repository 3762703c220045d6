#!/usr/bin/env bash
# What int8 costs: three 10 % students (policy-logit, Q-value and squashed-Gaussian teachers),
# exported float and int8 (`rldistill export --int8 dynamic|static`, static calibrated on the
# run's own states), each played for 100 episodes by the torch-free runtime on the seeds
# `rldistill evaluate` uses. Agreement: on 4 096 of the run's own states, as the action head
# judges it (discrete: the same argmax; continuous: within 5 % of the range).
# Writes results/int8.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p benchmarks/runtime/results
: > benchmarks/runtime/results/int8.jsonl
for pair in zoo:LunarLander-v3-ppo,LunarLander-v3 zoo:LunarLander-v3-dqn,LunarLander-v3 \
            zoo:Pendulum-v1-sac,Pendulum-v1; do
  T=${pair%,*}; E=${pair#*,}; D=runs/int8-${T#zoo:}
  [ -f $D/student.json ] || .venv/bin/rldistill distill --teacher $T --env $E --param-ratio 0.1 \
    --out $D --overwrite --json > /dev/null
  for mode in dynamic static; do
    X=$(.venv/bin/rldistill export --student $D --out $D/student.onnx --int8 $mode --json)
    F=$(.venv/bin/python benchmarks/runtime/play.py $D/student.onnx --episodes 100)
    Q=$(.venv/bin/python benchmarks/runtime/play.py $D/student.int8.onnx --episodes 100)
    echo "{\"teacher\": \"$T\", \"mode\": \"$mode\", \"export\": $X, \"float\": $F, \"int8\": $Q}" \
      >> benchmarks/runtime/results/int8.jsonl
  done
done
.venv/bin/python - <<'PY'
import json
for line in open("benchmarks/runtime/results/int8.jsonl"):
    r = json.loads(line)
    q = r["export"]["int8"]
    print(r["teacher"], r["mode"], "float", r["float"]["return_mean"], "int8",
          r["int8"]["return_mean"], "agreement", round(q["action_agreement_vs_float"], 4),
          "bytes", r["export"]["bytes"], q["bytes"])
PY
