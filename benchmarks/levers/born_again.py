"""Progressive shrinking (issue 27's "larger students trained, then distilled again"; Mirzadeh
et al. 2020's teacher assistant): a 25 % student distilled from the teacher with half the env
steps, exported as an SB3 zip, then a 10 % student (the width the 10 % run picks) distilled from
it with the other half. Scored against the original teacher (its return and random's from the
first stage's evaluation, the same episodes' seeds), beside `run.py`'s one-stage 10 % rows.

    .venv/bin/python benchmarks/levers/born_again.py --tasks llc-a2c,llc-sac --seeds 5 \
        [--episodes 100] [--rows benchmarks/levers/results/rows_100ep.jsonl]

Appends one row per (task, seed) with config ``shrink25`` to ``--rows``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from run import RESULTS, TASKS


def run_one(task: str, seed: int, episodes: int) -> dict:
    import torch

    import rldistill
    from rldistill.deploy.sb3 import export_sb3

    torch.set_num_threads(1)
    opts = dict(TASKS[task])
    budget = int(opts.pop("budget"))  # type: ignore[call-overload]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        # the one-stage 10 % student's width, from a config that builds it (no training)
        small = rldistill.DistillConfig(**opts, param_ratio=0.1, budget=budget,  # type: ignore
                                        out=f"{tmp}/probe")
        from rldistill.api import load_task_teachers
        from rldistill.students.build import make_student

        cfg, teachers, _ = load_task_teachers(small)
        hidden = ",".join(map(str, make_student(cfg, teachers).arch.hidden))
        big = rldistill.run(rldistill.DistillConfig(
            **opts, param_ratio=0.25, budget=budget // 2, seed=seed,  # type: ignore[arg-type]
            eval_episodes=episodes, out=f"{tmp}/big"))
        export_sb3(f"{tmp}/big", f"{tmp}/big.zip")
        env = opts["env"]
        r = rldistill.run(rldistill.DistillConfig(
            teacher=f"{tmp}/big.zip", env=env, student_hidden=hidden,  # type: ignore[arg-type]
            budget=budget - budget // 2, seed=seed, eval_episodes=episodes, out=f"{tmp}/small"))
        total = time.perf_counter() - t0
    t, rnd = big["teacher"]["return_mean"], big["random"]["return_mean"]
    return {"task": task, "config": "shrink25", "seed": seed,
            "options": {**opts, "stages": ["param_ratio 0.25, half the budget",
                                           f"student_hidden {hidden} from it, the other half"]},
            "normalized_score": round((r["student"]["return_mean"] - rnd) / (t - rnd), 4),
            "stage1_normalized_score": big["normalized_score"],
            "agreement_with_stage1": r["agreement"], "student_return": r["student"]["return_mean"],
            "teacher_return": t, "random_return": rnd, "student_params": r["student"]["params"],
            "teacher_params": big["teacher"]["params"],
            "env_steps": big["env_steps"] + r["env_steps"],
            "teacher_queries": big["teacher_queries"] + r["teacher_queries"],
            "updates": big["updates"] + r["updates"], "train_s": big["wall_s"] + r["wall_s"],
            "total_s": round(total, 1), "episodes": episodes}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default="llc-a2c,llc-sac")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rows", default=str(RESULTS / "rows_100ep.jsonl"))
    a = ap.parse_args()
    rows = Path(a.rows)
    done = {(r["task"], r["config"], r["seed"]) for r in map(json.loads, rows.open())
            } if rows.exists() else set()
    todo = [(t, s) for t in a.tasks.split(",") for s in range(a.seeds)
            if (t, "shrink25", s) not in done]
    with ProcessPoolExecutor(a.jobs, max_tasks_per_child=1) as pool:
        for f in [pool.submit(run_one, t, s, a.episodes) for t, s in todo]:
            row = f.result()
            with rows.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(f"{row['task']} shrink25 seed {row['seed']}: {row['normalized_score']} "
                  f"(stage 1: {row['stage1_normalized_score']}, {row['student_params']} params, "
                  f"{row['env_steps']} env steps)", flush=True)


if __name__ == "__main__":
    main()
