"""The temperature of a Q-value teacher at a small budget (issue 27): RL Zoo's own DQN teachers
(shipped with the package as ``zoo:``), 10 % students, 2 000 labelled steps (where the
fidelity benchmark found Rusu's KL at tau = 0.01 short of the teacher), Rusu's tau against the
one fitted to the teacher's action gaps (the default since). Rows in
``results/rows_temperature_zoo.jsonl``; already-run rows are skipped.

    .venv/bin/python benchmarks/bank/temperature_zoo.py [--seeds 10] [--teachers LunarLander-v3-dqn]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results" / "rows_temperature_zoo.jsonl"
CONFIGS = {"t0.01": ["--temperature", "0.01"], "gap": []}
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--teachers", default="LunarLander-v3-dqn")
    ap.add_argument("--budget", type=int, default=2000)
    a = ap.parse_args()
    done = ({(r["teacher"], r["config"], r["seed"], r["budget"])
             for r in map(json.loads, OUT.open())} if OUT.exists() else set())
    for name in a.teachers.split(","):
        env = re.match(r".*-v\d+", name).group(0)  # LunarLander-v3-dqn-seed0: LunarLander-v3
        for seed in range(a.seeds):
            for config, flags in CONFIGS.items():
                if (name, config, seed, a.budget) in done:
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    p = subprocess.run(
                        [sys.executable, "-m", "rldistill.cli", "distill", "--teacher",
                         f"zoo:{name}", "--env", env, "--param-ratio", "0.1", "--budget",
                         str(a.budget), "--seed", str(seed), "--out", tmp, "--json", *flags],
                        capture_output=True, text=True, check=True, env=ENV)
                r = json.loads(p.stdout.strip().splitlines()[-1])
                row = {"teacher": name, "config": config, "seed": seed, "budget": a.budget,
                       "normalized_score": r["normalized_score"], "agreement": r["agreement"],
                       "student_return": r["student"]["return_mean"],
                       "teacher_return": r["teacher"]["return_mean"],
                       "temperature": r.get("temperature"), "wall_s": r["wall_s"]}
                with OUT.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
