#!/usr/bin/env bash
# Create benchmarks/.venv-imitation (imitation 1.0.1 + its pins) if it is missing. Idempotent.
# torch==2.13.0 goes in first (a CPU build on local disk); without it pip pulls a CUDA build.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
V="$HERE/.venv-imitation"
if [ -x "$V/bin/python" ] && "$V/bin/python" -c "import imitation.algorithms.dagger, torch, Box2D" 2>/dev/null; then
  exit 0
fi
PY=${PYTHON:-python3}
[ -x "$V/bin/python" ] || "$PY" -m venv "$V"
"$V/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
"$V/bin/python" -m pip install -q -c "$ROOT/constraints.txt" torch==2.13.0 2>&1 | grep -v "is ignored" || true
# imitation 1.0.1 pins gymnasium~=0.29 and stable-baselines3~=2.2.1 and needs numpy<2.
# Box2D 2.3.10 (a wheel) provides the `Box2D` module LunarLander-v2 needs (gymnasium 0.29's
# [box2d] extra wants box2d-py, which has to be compiled with swig). pyarrow>=20 and datasets>=4
# (pulled by imitation's serialize module) need numpy 2, which imitation's pins exclude.
"$V/bin/python" -m pip install -q -c "$ROOT/constraints.txt" "imitation==1.0.1" "numpy<2" \
  "Box2D==2.3.10" "pyarrow<20" "datasets<4" 2>&1 | grep -v "is ignored" || true
"$V/bin/python" -c "import torch, imitation, gymnasium, stable_baselines3, Box2D; \
assert torch.__version__.startswith('2.13.0'), torch.__version__; \
print('imitation venv:', imitation.__version__, 'gymnasium', gymnasium.__version__, \
'sb3', stable_baselines3.__version__, 'torch', torch.__version__)"
