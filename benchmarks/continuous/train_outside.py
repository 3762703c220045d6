"""Teachers trained outside rldistill: a plain SB3 script, SB3's default hyperparameters.

    .venv/bin/python benchmarks/continuous/train_outside.py [--only NAME,...] [--out DIR]

For each algorithm (SAC, TD3, DDPG, TQC, PPO, PPO with gSDE, A2C) on Pendulum-v1 and
LunarLanderContinuous-v3: ``ALGO("MlpPolicy", env, seed=0).learn(STEPS)``, saved as
``DIR/ENV-NAME.zip`` and scored with SB3's own ``evaluate_policy`` (20 episodes, deterministic),
written to ``DIR/teachers.json``. Nothing from rldistill is imported: these are the files a user
brings. The zips are not in git (1-3 MB each): this script remakes them (seeded).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

JOBS = {  # name: (class, kwargs, steps on Pendulum, steps on LunarLanderContinuous)
    "sac": ("SAC", {}, 20_000, 30_000),
    "td3": ("TD3", {}, 20_000, 30_000),
    "ddpg": ("DDPG", {}, 20_000, 30_000),
    "tqc": ("TQC", {}, 20_000, 20_000),
    "ppo": ("PPO", {}, 200_000, 100_000),
    "ppo-gsde": ("PPO", {"use_sde": True}, 200_000, 100_000),
    "a2c": ("A2C", {}, 200_000, 100_000),
}
# SB3's defaults do not learn Pendulum with gSDE (measured: -1508, below random); the gSDE
# teacher of the tables is the zoo's Pendulum PPO (RL Zoo's hyperparameters, train_zoo_sac.sh)
ZOO_PPO_PENDULUM = dict(n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0,
                        learning_rate=1e-3, clip_range=0.2, use_sde=True, sde_sample_freq=4)
EXTRA: dict = {}  # the zoo's Pendulum PPO (train_zoo_sac.sh) is that teacher: not repeated
ENVS = {"Pendulum-v1": 2, "LunarLanderContinuous-v3": 3}


def main() -> None:
    import sb3_contrib
    import stable_baselines3 as sb3
    from stable_baselines3.common.evaluation import evaluate_policy

    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated ENV-NAME to train")
    ap.add_argument("--out", default="benchmarks/continuous/teachers")
    a = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "teachers.json"
    done = json.loads(index.read_text()) if index.exists() else {}
    for env_id, col in ENVS.items():
        for name, (cls_name, kw, *steps) in JOBS.items():
            key = f"{env_id}-{name}"
            if (a.only and key not in a.only.split(",")) or (not a.only and key in done):
                continue
            cls = getattr(sb3, cls_name, None) or getattr(sb3_contrib, cls_name)
            model = cls("MlpPolicy", env_id, seed=0, verbose=0, device="cpu", **kw)
            t0 = time.perf_counter()
            model.learn(steps[col - 2])
            wall = time.perf_counter() - t0
            model.save(out / f"{key}.zip")
            mean, std = evaluate_policy(model, model.get_env(), n_eval_episodes=20,
                                        deterministic=True)
            done[key] = {"algo": cls_name, "kwargs": kw, "env": env_id,
                         "steps": steps[col - 2], "train_s": round(wall, 1),
                         "sb3_eval_mean": round(float(mean), 2),
                         "sb3_eval_std": round(float(std), 2)}
            index.write_text(json.dumps(done, indent=1) + "\n")
            print(key, done[key], flush=True)
    for key, (cls_name, kw, n_envs, steps) in EXTRA.items():
        if (a.only and key not in a.only.split(",")) or (not a.only and key in done):
            continue
        from stable_baselines3.common.env_util import make_vec_env

        env_id = key.split("-ppo")[0]
        model = getattr(sb3, cls_name)("MlpPolicy", make_vec_env(env_id, n_envs=n_envs, seed=0),
                                       seed=0, verbose=0, device="cpu", **kw)
        t0 = time.perf_counter()
        model.learn(steps)
        wall = time.perf_counter() - t0
        model.save(out / f"{key}.zip")
        mean, std = evaluate_policy(model, model.get_env(), n_eval_episodes=20,
                                    deterministic=True)
        done[key] = {"algo": cls_name, "kwargs": kw, "env": env_id, "steps": steps,
                     "n_envs": n_envs, "train_s": round(wall, 1),
                     "sb3_eval_mean": round(float(mean), 2), "sb3_eval_std": round(float(std), 2)}
        index.write_text(json.dumps(done, indent=1) + "\n")
        print(key, done[key], flush=True)


if __name__ == "__main__":
    main()
