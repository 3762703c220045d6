"""How well can a student score at all? Copies of a teacher whose weights differ from its own by
a little noise (each tensor + N(0, (SCALE x its std)^2)), scored as a run scores its student: the
copy's greedy return on a run's final-evaluation episodes against the teacher's on the same ones
(HalfCheetah: issue 27's stumbles, benchmarks/levers/README.md). Prints one line per copy and
the mean; no row files.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/levers/copies.py [--teacher zoo:HalfCheetah-v5-ppo]
        [--env HalfCheetah-v5] [--scales 0.003,0.01] [--copies 10] [--episodes 30]
"""

from __future__ import annotations

import argparse
import copy
import statistics

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default="zoo:HalfCheetah-v5-ppo")
    ap.add_argument("--env", default="HalfCheetah-v5")
    ap.add_argument("--scales", default="0.003,0.01")
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--episodes", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(1)
    from rldistill.evaluation import seeds
    from rldistill.evaluation.rollouts import RandomActor, evaluate_policy
    from rldistill.sources import load_teacher

    teacher = load_teacher(a.teacher, a.env)
    for scale in map(float, a.scales.split(",")):
        scores = []
        for k in range(a.copies):
            seed = seeds.FINAL + k
            t = evaluate_policy(teacher, a.env, a.episodes, seed).mean
            r = evaluate_policy(RandomActor(teacher.head, seed), a.env, a.episodes, seed).mean
            twin = copy.deepcopy(teacher)
            gen = torch.Generator().manual_seed(k)
            with torch.no_grad():
                for p in twin.net.parameters():
                    p += scale * float(p.std()) * torch.randn(p.shape, generator=gen)
            c = evaluate_policy(twin, a.env, a.episodes, seed).mean
            scores.append((c - r) / (t - r))
            print(f"scale {scale} copy {k}: teacher {t:.1f} copy {c:.1f} random {r:.1f} "
                  f"normalized {scores[-1]:.4f}", flush=True)
        print(f"scale {scale}: mean {statistics.mean(scores):.4f} min {min(scores):.4f} "
              f"max {max(scores):.4f} ({a.copies} copies)", flush=True)


if __name__ == "__main__":
    main()
