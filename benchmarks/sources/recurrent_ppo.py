"""A RecurrentPPO teacher trained outside rldistill (issue 29): sb3-contrib's ``RecurrentPPO``
with its default hyperparameters (``MlpLstmPolicy``) on CartPole-v1, saved as SB3 saves, then
distilled with no flag but ``--env`` (its LSTM state carried per env), 3 seeds.

    .venv/bin/python benchmarks/sources/recurrent_ppo.py [--steps 50000] [--seeds 3]

Rows in results/recurrent_ppo.jsonl (the zip in teachers/, git-ignored where large).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    path = HERE / "teachers" / f"CartPole-v1-recurrentppo-{a.steps}.zip"
    wall = None
    if not path.exists():
        from sb3_contrib import RecurrentPPO

        t0 = time.perf_counter()
        RecurrentPPO("MlpLstmPolicy", "CartPole-v1", seed=0, device="cpu").learn(a.steps).save(
            path)
        wall = round(time.perf_counter() - t0, 1)
    for seed in range(a.seeds):
        cmd = [str(ROOT / ".venv/bin/rldistill"), "distill", "--teacher", str(path), "--env",
               "CartPole-v1", "--seed", str(seed), "--out", str(ROOT / f"runs/rppo-{seed}"),
               "--overwrite", "--json"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        r = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else {}
        row = {"teacher": path.name, "teacher_train_s": wall, "seed": seed,
               "command": " ".join(cmd[1:]), "error": p.stderr.strip()[-300:] if p.returncode
               else None, **{k: r.get(k) for k in ("normalized_score", "agreement", "env_steps",
                                                   "wall_s")},
               **({"teacher_return": r["teacher"]["return_mean"],
                   "student_return": r["student"]["return_mean"],
                   "params": f"{r['student']['params']}/{r['teacher']['params']}"} if r else {})}
        print(json.dumps(row), flush=True)
        with (HERE / "results" / "recurrent_ppo.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
