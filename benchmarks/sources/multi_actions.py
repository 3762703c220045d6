"""MultiDiscrete and MultiBinary teachers trained outside rldistill (issue 29): SB3 PPO with its
default hyperparameters on the envs of multi_envs.py, saved as SB3 saves, then distilled with
no flag but ``--env`` (5 seeds, 100 evaluation episodes each).

    .venv/bin/python benchmarks/sources/multi_actions.py [--steps 500000] [--seeds 5]
        [--param-ratio R]

Teachers in teachers/ (git-ignored zips), rows in results/multi_actions.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ENVS = {"LunarLanderMD-v0": "MultiDiscrete([3, 3])", "LunarLanderMB-v0": "MultiBinary(3)"}


def train(env_id: str, steps: int, path: Path) -> float:
    sys.path.insert(0, str(HERE))
    import multi_envs  # noqa: F401  (registers the ids)
    from stable_baselines3 import PPO

    t0 = time.perf_counter()
    model = PPO("MlpPolicy", env_id, seed=0, device="cpu")  # SB3's defaults
    model.learn(steps)
    model.save(path)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500_000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--param-ratio", type=float, help="a smaller student than the default")
    a = ap.parse_args()
    extra = ["--param-ratio", str(a.param_ratio)] if a.param_ratio else []
    (HERE / "teachers").mkdir(exist_ok=True)
    out = HERE / "results" / "multi_actions.jsonl"
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}

    def teacher(env_id: str) -> tuple[str, Path, float | None]:
        path = HERE / "teachers" / f"{env_id}-ppo-{a.steps}.zip"
        wall = None if path.exists() else train(env_id, a.steps, path)
        return env_id, path, wall

    with ThreadPoolExecutor(a.jobs) as pool:
        teachers = list(pool.map(teacher, ENVS))

    def distill(job: tuple[str, Path, float | None, int]) -> dict:
        env_id, path, wall, seed = job
        cmd = [str(ROOT / ".venv/bin/rldistill"), "distill", "--teacher", str(path), "--env",
               f"multi_envs:{env_id}", "--seed", str(seed), "--out",
               str(ROOT / f"runs/multi-{env_id}-{seed}"), "--overwrite", "--json", *extra]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode:
            return {"env": env_id, "seed": seed, "error": p.stderr.strip()[-300:]}
        r = json.loads(p.stdout.strip().splitlines()[-1])
        return {"env": env_id, "actions": ENVS[env_id], "teacher": path.name,
                "teacher_train_s": wall, "seed": seed, "command": " ".join(cmd[1:]),
                "normalized_score": r["normalized_score"], "agreement": r["agreement"],
                "teacher_return": r["teacher"]["return_mean"],
                "student_return": r["student"]["return_mean"],
                "random_return": r["random"]["return_mean"],
                "params": f"{r['student']['params']}/{r['teacher']['params']}",
                "env_steps": r["env_steps"], "wall_s": r["wall_s"]}

    jobs = [(e, p, w, s) for e, p, w in teachers for s in range(a.seeds)]
    with ThreadPoolExecutor(a.jobs) as pool:
        for row in pool.map(distill, jobs):
            print(json.dumps(row), flush=True)
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
