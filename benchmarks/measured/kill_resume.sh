#!/usr/bin/env bash
# Resume-after-SIGKILL check for `rldistill distill` (LunarLander-v3, PPO zoo teacher).
#
# 1. reference run into $BASE/ref (uninterrupted), timed;
# 2. the same options into $BASE/killed: launch in the background, SIGKILL it after a random
#    delay in [0.5, N] s (N = reference wall time minus $MARGIN), relaunch -- with --resume once
#    $BASE/killed/checkpoint.safetensors exists, without it before -- until $KILLS kill attempts
#    were made (a run that finishes before its kill is noted, not counted as a kill);
# 3. a last --resume run that is let finish;
# 4. sha256 of ref/student.safetensors vs killed/student.safetensors.
#
# RLDISTILL is the command prefix; default: this checkout's .venv. Against an installed
# package: RLDISTILL=rldistill ./kill_resume.sh
# It must exec the Python process itself (env / the entry point do), so $! is what gets killed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RLDISTILL=${RLDISTILL:-"$ROOT/.venv/bin/python -m rldistill.cli"}
PY=${PY:-$ROOT/.venv/bin/python}      # only used to read checkpoint metadata (no torch)
BASE=${BASE:-/tmp/meas}
KILLS=${KILLS:-10}
MARGIN=${MARGIN:-0.3}
RSEED=${RSEED:-$(date +%s)}
LOG=${LOG:-$BASE/kill_resume.log}
OPTS="distill --teacher zoo:LunarLander-v3-ppo --env LunarLander-v3 --param-ratio 0.1 --driver student --budget 200000 --rounds 40 --eval-episodes 5 --seed 3 --json"

cd /tmp || exit 1
mkdir -p "$BASE"
rm -rf "$BASE/ref" "$BASE/killed"
: > "$LOG"
say() { echo "$*" | tee -a "$LOG"; }
now() { date +%s.%N; }
ckpt_state() {  # labelled steps / round in the checkpoint, read from the safetensors header
  local f="$BASE/killed/checkpoint.safetensors"
  [ -f "$f" ] || { echo "no-checkpoint"; return; }
  "$PY" - "$f" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as fh:
    n = struct.unpack("<Q", fh.read(8))[0]
    st = json.loads(json.loads(fh.read(n))["__metadata__"]["state"])
print(f"round={st['round']} labelled={st['labelled']} updates={st['updates']}")
EOF
}

say "cmd: rldistill $OPTS --out $BASE/ref"
t0=$(now)
$RLDISTILL $OPTS --out "$BASE/ref" > "$BASE/ref.out" 2> "$BASE/ref.err"
rc=$?
t1=$(now)
REF_T=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
say "reference: rc=$rc wall=${REF_T}s"
# A resumed run has less left to do than the reference, so delays over the whole reference time
# mostly land after training has ended. With LO/HI set, each launch is killed LO..HI s after it
# starts (start-up ~2.5 s, then a few rounds of training): most kills land mid-training.
if [ -n "${LO:-}" ] && [ -n "${HI:-}" ]; then A=$LO; N=$HI; else
A=0.5; N=$(awk -v t="$REF_T" -v m="$MARGIN" 'BEGIN{n=t-m; if (n<0.6) n=0.6; printf "%.2f", n}'); fi
say "kill delays drawn uniformly from [$A, $N] s (seed $RSEED)"
DELAYS=$("$PY" -c 'import random,sys; r=random.Random(int(sys.argv[3])); a, n = float(sys.argv[4]), float(sys.argv[1]); print(" ".join(f"{r.uniform(a, n):.2f}" for _ in range(int(sys.argv[2]))))' "$N" "$KILLS" "$RSEED" "$A")
say "delays: $DELAYS"

delivered=0; finished_early=0; i=0
for d in $DELAYS; do
  i=$((i+1))
  flag=""; [ -f "$BASE/killed/checkpoint.safetensors" ] && flag="--resume"
  before=$(ckpt_state)
  $RLDISTILL $OPTS --out "$BASE/killed" $flag > "$BASE/killed_run$i.out" 2> "$BASE/killed_run$i.err" &
  pid=$!
  sleep "$d"
  if kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null; rc=$?
    delivered=$((delivered+1))
    say "attempt $i: ${flag:-(no --resume)} SIGKILL after ${d}s, rc=$rc; before: $before; after: $(ckpt_state)"
  else
    wait "$pid"; rc=$?
    finished_early=$((finished_early+1))
    say "attempt $i: ${flag:-(no --resume)} finished before the kill at ${d}s, rc=$rc; before: $before; after: $(ckpt_state); stderr: $(tail -1 "$BASE/killed_run$i.err")"
  fi
done
say "kills delivered: $delivered of $KILLS attempts ($finished_early finished before their kill)"

flag=""; [ -f "$BASE/killed/checkpoint.safetensors" ] && flag="--resume"
t0=$(now)
$RLDISTILL $OPTS --out "$BASE/killed" $flag > "$BASE/killed_final.out" 2> "$BASE/killed_final.err"
rc=$?
t1=$(now)
say "final run ${flag:-(no --resume)}: rc=$rc wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')s; stderr tail: $(tail -1 "$BASE/killed_final.err")"

h_ref=$(sha256sum "$BASE/ref/student.safetensors" | cut -d' ' -f1)
h_kil=$(sha256sum "$BASE/killed/student.safetensors" | cut -d' ' -f1)
say "sha256 ref/student.safetensors    $h_ref"
say "sha256 killed/student.safetensors $h_kil"
if [ "$h_ref" = "$h_kil" ]; then say "MATCH"; else say "MISMATCH"; fi
for f in ref.out killed_final.out; do
  "$PY" -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(sys.argv[1], "student", j["student"]["return_mean"], "norm", j["normalized_score"], "agreement", j["agreement"], "labelled", j["labelled_steps"], "updates", j["updates"], "final_loss", j["final_loss"])' "$BASE/$f" | tee -a "$LOG"
done
[ "$h_ref" = "$h_kil" ]
