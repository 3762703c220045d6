#!/usr/bin/env bash
# The bank on a lent 16-core machine in one go (how results/ was made): train the teachers in
# parallel, then distil each with three configs, 5 seeds, 16 runs at a time (the configs were
# named default (then --driver student) and auto; renamed student and auto-student in rows.jsonl). Expects the
# wheels of gymnasium, SB3, sb3-contrib and Box2D in .whl/ and torch installed; OUT: a folder.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
nproc; python3 -c "import gymnasium, stable_baselines3, sb3_contrib, Box2D, rldistill.cli" || exit 1
python3 benchmarks/bank/bank.py train --out /tmp/t --jobs 12 --deadline "${TRAIN_S:-320}" \
  > "$OUT/train.log" 2>&1
tar czf "$OUT/teachers.tgz" -C /tmp t
python3 benchmarks/bank/bank.py distill --teachers /tmp/t --out "$OUT/rows.jsonl" --jobs 16 \
  --configs student,auto-student,mix --deadline "${DISTILL_S:-235}" > "$OUT/distill.log" 2>&1
python3 benchmarks/bank/bank.py table "$OUT/rows.jsonl" > "$OUT/table.md"
tail -5 "$OUT/train.log"; wc -l "$OUT/rows.jsonl"
