"""Play a student exported by ``rldistill export`` with the torch-free runtime.

    python benchmarks/runtime/play.py student.onnx [--episodes 100] [--seed 1000000]

Blocks torch before anything is imported (``import torch`` fails in this process), loads the
file with ``rldistill.deploy.runtime.Policy``, plays greedy episodes on seeds ``seed + e`` (the seeds
``rldistill evaluate`` uses) and prints one JSON line: the mean return and whether torch was
imported. Compare with ``rldistill evaluate --student DIR --episodes N --json``.
"""

from __future__ import annotations

import sys

sys.modules["torch"] = None  # type: ignore[assignment]  # any import of torch now fails

import argparse  # noqa: E402
import json  # noqa: E402

from rldistill.deploy.runtime import Policy  # noqa: E402


def play(path: str, episodes: int, seed: int) -> list[float]:
    policy = Policy(path)
    env = policy.make_env()
    returns = []
    for e in range(episodes):
        obs, _ = env.reset(seed=seed + e)
        total, done = 0.0, False
        while not done:
            obs, r, term, trunc, _ = env.step(policy.act(obs))
            total, done = total + float(r), term or trunc
        returns.append(total)
    return returns


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("onnx")
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1_000_000)
    a = ap.parse_args()
    returns = play(a.onnx, a.episodes, a.seed)
    print(json.dumps({"return_mean": round(sum(returns) / len(returns), 3),
                      "episodes": len(returns),
                      "torch_imported": sys.modules["torch"] is not None}))


if __name__ == "__main__":
    main()
