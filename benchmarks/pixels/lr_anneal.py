"""An experiment, not an option: does annealing the learning rate lift a MinAtar student of a
DQN teacher past the ~90 % it keeps with the constant --lr? (issue 27, 2026-12-06)

The engine's Adam step is patched per update (no option in src/): ``last`` decays the rate
linearly to 0 over the final round's updates; ``cosine`` follows a cosine from --lr to 1 % of
it over every planned update of the run; ``constant`` is the defaults. 25 % students of the
shipped ``-dqn-s1`` teachers, --budget as given, one row per run in
``results/lr_anneal.jsonl``.

    .venv/bin/python benchmarks/pixels/lr_anneal.py last Breakout 0 200000
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch

import rldistill.engine.loop as L
from rldistill import DistillConfig, run

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def patch(mode: str) -> None:
    update_round = L.Loop.update_round

    def patched(self: L.Loop) -> object:
        plan = [max(self.floor_per_round, self.epochs * math.ceil(end / self.batch))
                for end in self.tasks[0].ends]  # each round's updates, as update_round counts
        r, before, total = self.round, sum(plan[: self.round]), sum(plan)
        step, count = self.opt.step, [0]

        def annealed(*a: object, **k: object) -> object:
            i, base = count[0], self.cfg.lr
            if mode == "cosine":
                lr = base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * (before + i) / total)))
            elif mode == "last" and r == len(plan) - 1:
                lr = base * (1 - i / plan[r])
            else:
                lr = base
            for g in self.opt.param_groups:
                g["lr"] = lr
            count[0] += 1
            return step(*a, **k)

        self.opt.step = annealed  # type: ignore[method-assign]
        try:
            return update_round(self)
        finally:
            self.opt.step = step  # type: ignore[method-assign]

    L.Loop.update_round = patched  # type: ignore[method-assign]


def main() -> None:
    mode, game, seed, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ratio = float(sys.argv[5]) if len(sys.argv) > 5 else 0.25
    torch.set_num_threads(1)  # as the CLI
    patch(mode)
    r = run(DistillConfig(
        teacher=str(ROOT / f"benchmarks/bank/teachers/MinAtar-{game}-v1-dqn-s1.zip"),
        env=f"MinAtar/{game}-v1", param_ratio=ratio, budget=budget, seed=seed,
        out=str(ROOT / f"runs/lranneal-{game}-{mode}-{seed}-{budget}")), overwrite=True)
    row = {"game": game, "mode": mode, "seed": seed, "budget": budget, "ratio": ratio,
           "pct": round(100 * r["student"]["return_mean"] / r["teacher"]["return_mean"], 1),
           "agreement": r["agreement"], "norm": r["normalized_score"], "wall_s": r["wall_s"],
           "updates": r["updates"]}
    print(json.dumps(row), flush=True)
    with (HERE / "results/lr_anneal.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
