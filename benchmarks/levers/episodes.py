"""Per-episode returns of a saved run's student and of its teacher, on the same evaluation
seeds (the final evaluation's), sorted: where a mean hides rare failures (a cheetah that flips).

    .venv/bin/python benchmarks/levers/episodes.py RUN_DIR [--episodes 30]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from rldistill.evaluation import seeds
from rldistill.evaluation.rollouts import evaluate_policy
from rldistill.students.saved import SavedRun


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--episodes", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(1)
    run = SavedRun(a.run)
    env_id = run.meta["env"]
    teacher = run.load_teacher(run.teacher_specs(0, None), env_id, False, given=False)
    seed = seeds.final(int(run.config.get("seed", 0)))
    for name, policy in (("student", run.student.for_task(0)), ("teacher", teacher)):
        returns = evaluate_policy(policy, env_id, a.episodes, seed).returns
        print(name, np.round(sorted(returns)).astype(int).tolist())


if __name__ == "__main__":
    main()
