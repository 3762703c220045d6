"""What a MinAtar DQN teacher keeps of its return when a share EPS of its actions is replaced by
random ones (issue 27): the scale of what a student that agrees with it on 1 - EPS of its
states stands to lose, where its disagreements fall at random. 100 greedy episodes per EPS,
the evaluator every run uses (episode seeds from 1000); rows in ``results/eps_teacher.jsonl``.

    .venv/bin/python benchmarks/pixels/eps_teacher.py Breakout
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from rldistill.evaluation.rollouts import evaluate_policy
from rldistill.sources import load_teacher

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> None:
    game = sys.argv[1]
    torch.set_num_threads(1)
    teacher = load_teacher(str(ROOT / f"benchmarks/bank/teachers/MinAtar-{game}-v1-dqn-s1.zip"))
    gen = torch.Generator().manual_seed(0)

    class Noisy:
        """The teacher's greedy action, or w.p. eps a uniformly random one."""

        def __init__(self, eps: float) -> None:
            self.eps, self.head = eps, teacher.head

        def act(self, obs: torch.Tensor) -> torch.Tensor:
            a = teacher.act(obs)
            flip = torch.rand(len(a), generator=gen) < self.eps
            return torch.where(flip, torch.randint(0, self.head.n, (len(a),), generator=gen)
                               .to(a.dtype), a)

    for eps in (0.0, 0.02, 0.04, 0.08):
        r = evaluate_policy(Noisy(eps), f"MinAtar/{game}-v1", 100, seed=1000)
        row = {"game": game, "eps": eps, "return_mean": round(r.mean, 2),
               "return_sd": round(float(np.std(r.returns)), 2), "episodes": len(r.returns)}
        print(json.dumps(row), flush=True)
        with (HERE / "results/eps_teacher.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
