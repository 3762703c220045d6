"""--collectors N against one process, where stepping the envs dominates collection (Atari):
labelled steps per second of the loop's collect_round calls (updates excluded), the same
student bit for bit whatever N (checked), 8 envs, mix driver.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale/collectors.py [TEACHER ENV]
        [--steps 8000] [--collectors 0,1,2]

Default teacher: the RL Zoo Breakout PPO folder of benchmarks/sources (train.sh makes it).
Prints one JSON line per N; results/collectors.jsonl collects them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("teacher", nargs="?", default="benchmarks/sources/logs/ppo/"
                                                   "BreakoutNoFrameskip-v4_1")
    ap.add_argument("env", nargs="?", default="BreakoutNoFrameskip-v4")
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--collectors", default="0,1,2")
    a = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    for n in (int(x) for x in a.collectors.split(",")):
        row = measure(a.teacher, a.env, n, a.steps, param_ratio=0.25, rounds=4, min_updates=40)
        print(json.dumps(row), flush=True)
        with (out / "collectors.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")


def measure(teacher: str, env: str, n: int, steps: int, **options: object) -> dict:
    """One run of ``steps`` labelled steps with ``n`` collectors: labelled steps per second of
    its collect_round calls (updates excluded) and the student's sha256."""
    from rldistill.api import load_task_teachers
    from rldistill.core.config import DistillConfig
    from rldistill.engine.loop import Loop

    cfg = DistillConfig(teacher=teacher, env=env, budget=steps, n_envs=8, collectors=n,
                        out=f"/tmp/collectors-{n}", **options)
    cfg, teachers, _ = load_task_teachers(cfg)
    t0 = time.perf_counter()
    loop = Loop(cfg, teachers)
    start_s = time.perf_counter() - t0
    collect = 0.0
    while not loop.done:
        t0 = time.perf_counter()
        loop.collect_round()
        collect += time.perf_counter() - t0
        loop.update_round()
    loop.close()
    weights = b"".join(v.numpy().tobytes() for v in loop.student.state_dict().values())
    return {"teacher": teacher, "env": env, "collectors": n, "steps": loop.labelled,
            "labelled_steps_per_s": round(loop.labelled / collect, 1),
            "start_s": round(start_s, 2), "collect_s": round(collect, 2),
            "student_sha256": hashlib.sha256(weights).hexdigest()[:16]}

if __name__ == "__main__":
    main()
