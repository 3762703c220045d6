#!/usr/bin/env bash
# Wall time of the engine against the loop it replaced (commit ad9c875, checked out in BASE),
# benchmarks/compare.py's LunarLander-v3 10k rows, seeds 0-4, 100 episodes; the two versions
# alternate (before, after, before, after) so that machine drift hits both.
#   BASE=/tmp/base AFTER=/tmp/after bash benchmarks/measured/engine/wall_ab.sh
# (AFTER: a checkout of the engine's commit, so that edits in this tree during the run do not
# count; by default this tree)
set -euo pipefail
cd "$(dirname "$0")/../../.."
BASE=${BASE:-/tmp/base}
AFTER=${AFTER:-.}
OUT=benchmarks/measured/engine/wall_ab
M=rldistill-teacher,rldistill-student,rldistill-mix
for i in 1 2; do
  PYTHONPATH=$BASE/src .venv/bin/python benchmarks/compare.py --envs LunarLander-v3 \
    --budgets 10000 --methods $M --out $OUT/before_$i > $OUT.before_$i.log
  PYTHONPATH=$AFTER/src .venv/bin/python benchmarks/compare.py --envs LunarLander-v3 \
    --budgets 10000 --methods $M,handwritten --out $OUT/after_$i > $OUT.after_$i.log
done
.venv/bin/python - <<'PY'
import json, statistics
rows = {}
for who in ("before", "after"):
    for i in (1, 2):
        for r in json.load(open(f"benchmarks/measured/engine/wall_ab/{who}_{i}/runs.json"))["runs"]:
            rows.setdefault((who, r["method"]), []).append(r)
print("| method | before: wall median (min-max) | after | before/after score median |")
print("|---|---|---|---|")
for m in ("rldistill-teacher", "rldistill-student", "rldistill-mix", "handwritten"):
    cells = []
    for who in ("before", "after"):
        rs = rows.get((who, m), [])
        w = [r["wall_s"] for r in rs]
        cells.append(f"{statistics.median(w):.2f} s ({min(w):.2f}-{max(w):.2f}), {len(w)} runs"
                     if w else "-")
    sc = [statistics.median([r["normalized_score"] for r in rows[(who, m)]])
          if (who, m) in rows else None for who in ("before", "after")]
    print(f"| {m} | {cells[0]} | {cells[1]} | {sc[0]} / {sc[1]} |")
PY
