"""Distilled students back into SB3: `rldistill export --format sb3`, then SB3's own ``load``
and ``learn`` for more steps, scored greedily before and after on the same 100 episode seeds.

    .venv/bin/python benchmarks/runtime/sb3_continue.py RUN_DIR [--steps 10000] [--algo ALGO]

Prints one JSON line: the export report, the returns before and after, the wall time of learn.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def score(model, env_id: str, episodes: int, seed: int, vecnorm: str | None) -> float:
    import gymnasium as gym

    norm = None
    if vecnorm:
        from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

        norm = VecNormalize.load(vecnorm, DummyVecEnv([lambda: gym.make(env_id)]))
    env, total = gym.make(env_id), []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        done, ret = False, 0.0
        while not done:
            x = norm.normalize_obs(obs) if norm is not None else obs
            action, _ = model.predict(x, deterministic=True)
            obs, r, term, trunc, _ = env.step(action)
            ret += float(r)
            done = term or trunc
        total.append(ret)
    return float(np.mean(total))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--algo")
    ap.add_argument("--episodes", type=int, default=100)
    args = ap.parse_args()

    import torch
    from stable_baselines3.common.env_util import make_vec_env

    from rldistill.deploy.sb3 import export_sb3
    from rldistill.zoo.hyperparams import lookup
    from rldistill.zoo.sb3 import sb3_class

    torch.set_num_threads(1)
    out = Path(tempfile.mkdtemp()) / "student.zip"
    report = export_sb3(args.run_dir, out, algo=args.algo)
    env_id, algo = report["env"], report["algo"]
    cls = sb3_class(algo)
    n_envs = lookup(algo, env_id)[0]
    venv = make_vec_env(env_id, n_envs=n_envs, seed=0)
    if report.get("vecnormalize"):
        from stable_baselines3.common.vec_env import VecNormalize

        venv = VecNormalize.load(report["vecnormalize"], venv)
        venv.training = True
    model = cls.load(str(out), env=venv, device="cpu")
    seed = 1_100_000  # fixed episode seeds, the same before and after
    before = score(model, env_id, args.episodes, seed, report.get("vecnormalize"))
    t0 = time.perf_counter()
    model.learn(args.steps, reset_num_timesteps=False)
    wall = time.perf_counter() - t0
    after_path = out.with_name("after.zip")
    model.save(after_path)
    if report.get("vecnormalize"):
        venv.save(str(out.with_name("after.vecnormalize.pkl")))
    after = score(cls.load(str(after_path), device="cpu"), env_id, args.episodes, seed,
                  str(out.with_name("after.vecnormalize.pkl")) if report.get("vecnormalize")
                  else None)
    print(json.dumps({"run": args.run_dir, "export": report, "steps": args.steps,
                      "num_timesteps": int(model.num_timesteps), "learn_wall_s": round(wall, 1),
                      "return_before": round(before, 2), "return_after": round(after, 2)}))


if __name__ == "__main__":
    main()
