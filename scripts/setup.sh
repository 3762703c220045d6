#!/usr/bin/env bash
# Set up rldistill in ./.venv on a fresh machine: torch==2.13.0 (CPU build) first, then the package
# with the extras the tests use. Any failed install stops the set-up (non-zero exit, pip's own
# message), and the last step imports every extra it installed. Idempotent: a second run installs
# nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# pip's own errors reach the terminal and fail the set-up (pipefail); only the notes about this
# machine's extra package locations ("... is ignored") are dropped
pip_install() {
  .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt "$@" 2>&1 \
    | sed '/is ignored: it is neither a file nor a directory/d'
}
pip_install --upgrade pip
# torch before anything that depends on it, or pip pulls a multi-GB CUDA build
pip_install torch==2.13.0
pip_install -e ".[dev,export,hub,pixels,stats,ray,frameworks,docs]"
.venv/bin/python - <<'PY'
import importlib
import torch
assert torch.__version__.startswith("2.13.0"), f"torch {torch.__version__}, expected 2.13.0"
# every extra installed above: dev, export, hub, pixels, stats, ray, frameworks, docs
for name in ("rldistill", "pytest", "xdist", "sklearn", "hypothesis", "onnx", "onnxruntime",
             "huggingface_hub", "minatar", "ale_py", "cv2", "rliable", "ray", "ray.tune",
             "rsl_rl", "mkdocs", "material", "mkdocstrings"):
    importlib.import_module(name)
PY
