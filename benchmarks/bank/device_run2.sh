#!/usr/bin/env bash
# Second, shorter lease: the teachers the first one did not finish (pygame was missing for
# LunarLander; the DQNs on Acrobot ran out of time at 100k steps), then their distill runs.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
ONLY=Acrobot-v1-dqn-s0,LunarLander-v3-dqn-s1,LunarLander-v3-a2c-s0
python3 benchmarks/bank/bank.py train --out /tmp/t --jobs 3 --only $ONLY --deadline 165 \
  > "$OUT/train.log" 2>&1
tar czf "$OUT/teachers.tgz" -C /tmp t
python3 benchmarks/bank/bank.py distill --teachers /tmp/t --out "$OUT/rows.jsonl" --jobs 16 \
  --configs student,auto-student,mix --only $ONLY --deadline 95 > "$OUT/distill.log" 2>&1
tail -3 "$OUT/train.log" | cut -c1-300; wc -l "$OUT/rows.jsonl"
