"""Collection throughput with a CNN teacher: rldistill's labelled steps/s against the floor.

The floor is what collection cannot avoid: stepping the envs (8, one process, as the loop does)
and one batched teacher forward per step (plus the student's, for the default mix driver). The
loop's figure is the time of its collect_round calls per labelled step (updates excluded).

    .venv/bin/python benchmarks/pixels/throughput.py TEACHER ENV [--steps 20000] [--device cuda]

With ``--device cuda`` the floor's and the loop's networks run on the GPU (the envs on the CPU);
``update_s`` and ``with_updates_labelled_steps_per_s`` add the student's updates (what a run
takes end to end, evaluation aside). Prints one JSON line; results/throughput.jsonl (or
``--rows``) collects them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("teacher")
    ap.add_argument("env")
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--param-ratio", type=float, default=0.25)
    ap.add_argument("--label", default="", help="what code was measured (kept in the row)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch's CPU threads")
    ap.add_argument("--rows", default=str(Path(__file__).resolve().parent / "results"
                                          / "throughput.jsonl"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from rldistill.api import load_task_teachers
    from rldistill.core.config import DistillConfig
    from rldistill.engine.loop import Loop
    from rldistill.envs.make import make_vec_env

    cfg = DistillConfig(teacher=a.teacher, env=a.env, param_ratio=a.param_ratio,
                        budget=a.steps, n_envs=8, out="/tmp/throughput-run", device=a.device)
    cfg, teachers, _ = load_task_teachers(cfg)
    loop = Loop(cfg, teachers)
    task = loop.tasks[0]
    # the floor: 8 envs stepped with random actions, one teacher and one student forward per step
    venv = make_vec_env(task.env, 8, 0)
    obs, _ = venv.reset(seed=0)
    rng = np.random.default_rng(0)
    n = task.head.out_dim
    t0 = time.perf_counter()
    for _ in range(a.steps // 8):
        x = torch.from_numpy(obs)
        task.teacher.outputs(x)
        loop.student.outputs(x)
        obs, *_ = venv.step(rng.integers(0, n, 8))
    floor = a.steps / (time.perf_counter() - t0)
    env_only = time.perf_counter()
    for _ in range(a.steps // 8):
        obs, *_ = venv.step(rng.integers(0, n, 8))
    env_rate = a.steps / (time.perf_counter() - env_only)
    collect = update = 0.0
    while loop.round < loop.n_rounds:
        t0 = time.perf_counter()
        loop.collect_round()
        t1 = time.perf_counter()
        loop.update_round()
        if loop.device.type == "cuda":
            torch.cuda.synchronize()
        collect, update = collect + t1 - t0, update + time.perf_counter() - t1
    row = {"teacher": a.teacher, "env": a.env, "driver": loop.driver.name, "steps": loop.labelled,
           "env_steps_per_s": round(env_rate), "floor_steps_per_s": round(floor),
           "rldistill_labelled_steps_per_s": round(loop.labelled / collect),
           "ratio_to_floor": round(loop.labelled / collect / floor, 3),
           "bytes_per_transition": round(task.buf.bytes_per_row()),
           "frames_stored_once": task.buf.frames is not None,
           "device": a.device, "threads": a.threads, "updates": loop.updates,
           "update_s": round(update, 1),
           "with_updates_labelled_steps_per_s": round(loop.labelled / (collect + update)),
           **({"label": a.label} if a.label else {})}
    print(json.dumps(row))
    Path(a.rows).parent.mkdir(parents=True, exist_ok=True)
    with Path(a.rows).open("a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
