#!/usr/bin/env bash
# Set up rldistill in ./.venv on a fresh machine: torch==2.13.0 (CPU build) first, then the package.
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
# torch before anything that depends on it, or pip pulls a multi-GB CUDA build
.venv/bin/python -m pip install -q -c constraints.txt torch==2.13.0 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev,export,hub,pixels,stats,ray]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -c "import torch, rldistill; assert torch.__version__.startswith('2.13.0'), torch.__version__"
