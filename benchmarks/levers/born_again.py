"""Progressive shrinking (issue 27's "larger students trained, then distilled again"; Mirzadeh
et al. 2020's teacher assistant): a 25 % student distilled from the teacher with half the env
steps, exported as an SB3 zip, then a 10 % student (the width the 10 % run picks) distilled from
it with the other half. Scored against the original teacher (its return and random's from the
first stage's evaluation, the same episodes' seeds), beside the one-stage 10 % rows. `run.py`'s
config ``shrink25`` runs it (its runner, rows and table):

    .venv/bin/python benchmarks/levers/run.py run --tasks llc-a2c,llc-sac --configs shrink25 \
        --seeds 5 --episodes 100 --rows benchmarks/levers/results/rows_100ep.jsonl
"""

from __future__ import annotations

import tempfile
import time


def run_shrunk(task: str, task_options: dict, seed: int, episodes: int, ratio: float = 0.25
               ) -> dict:
    """One (task, seed): the ``ratio`` student, then the 10 % one from it; the row."""
    import rldistill
    from rldistill.api import load_task_teachers
    from rldistill.deploy.sb3 import export_sb3
    from rldistill.students.build import make_student

    opts = dict(task_options)
    budget = int(opts.pop("budget"))  # type: ignore[call-overload]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        # the one-stage 10 % student's width, from a config that builds it (no training)
        small = rldistill.DistillConfig(**opts, param_ratio=0.1, budget=budget,  # type: ignore
                                        out=f"{tmp}/probe")
        cfg, teachers, _ = load_task_teachers(small)
        hidden = ",".join(map(str, make_student(cfg, teachers).arch.hidden))
        big = rldistill.run(rldistill.DistillConfig(
            **opts, param_ratio=ratio, budget=budget // 2, seed=seed,  # type: ignore[arg-type]
            eval_episodes=episodes, out=f"{tmp}/big"))
        export_sb3(f"{tmp}/big", f"{tmp}/big.zip")
        env = opts["env"]
        r = rldistill.run(rldistill.DistillConfig(
            teacher=f"{tmp}/big.zip", env=env, student_hidden=hidden,  # type: ignore[arg-type]
            budget=budget - budget // 2, seed=seed, eval_episodes=episodes, out=f"{tmp}/small"))
        total = time.perf_counter() - t0
    t, rnd = big["teacher"]["return_mean"], big["random"]["return_mean"]
    return {"task": task, "config": "shrink25", "seed": seed,
            "options": {**opts, "stages": [f"param_ratio {ratio}, half the budget",
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

