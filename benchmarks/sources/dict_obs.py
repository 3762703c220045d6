"""Dict-observation teachers trained outside rldistill (issue 29), with SB3's defaults
(``MultiInputPolicy``), saved as SB3 saves, then distilled with no flag but ``--env``, 3 seeds:

- ``pointmaze``: SAC on Gymnasium-Robotics' ``PointMaze_UMazeDense-v3`` (goal-conditioned:
  ``observation``, ``achieved_goal``, ``desired_goal``; needs ``pip install gymnasium-robotics``);
- ``lunarkeys``: PPO on ``LunarLanderKeys-v0`` (:mod:`dict_envs`: LunarLander's numbers as
  named keys).

    .venv/bin/python benchmarks/sources/dict_obs.py --case pointmaze [--steps 100000]

Also measured: the agreement of the teacher as rldistill reads it (without unpickling) with
SB3's own ``predict(deterministic=True)`` on 2 000 states the teacher visits. Rows in
results/dict_obs.jsonl (the zips in teachers/, git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CASES = {"pointmaze": ("sac", "gymnasium_robotics:PointMaze_UMazeDense-v3", 100_000),
         "lunarkeys": ("ppo", "dict_envs:LunarLanderKeys-v0", 500_000)}


def _env_id(spec: str) -> str:
    module, _, env_id = spec.partition(":")
    import importlib

    import gymnasium as gym

    mod = importlib.import_module(module)
    if hasattr(gym, "register_envs"):
        gym.register_envs(mod)
    return env_id


def _predict_agreement(path: Path, algo: str, spec: str, n: int = 2000) -> float:
    """rldistill's teacher (read without unpickling) against SB3's predict, on states the SB3
    model visits acting deterministically."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO, SAC

    from rldistill.envs.keys import flatten_keys
    from rldistill.envs.make import env_spec
    from rldistill.sources import load_teacher

    env_id = _env_id(spec)
    model = {"sac": SAC, "ppo": PPO}[algo].load(path, device="cpu")
    teacher, keys = load_teacher(str(path)), env_spec(spec).keys
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    states = []
    while len(states) < n:
        states.append(obs)
        obs, _, term, trunc, _ = env.step(model.predict(obs, deterministic=True)[0])
        if term or trunc:
            obs, _ = env.reset()
    batch = {k: np.stack([s[k] for s in states]) for k in states[0]}
    want, _ = model.predict(batch, deterministic=True)
    flat = torch.from_numpy(np.stack([flatten_keys(s, keys) for s in states]))
    got = teacher.head.to_env(teacher.head.act(teacher.outputs(flat)))
    same = np.isclose(np.asarray(got, np.float64).reshape(n, -1),
                      np.asarray(want, np.float64).reshape(n, -1), rtol=0, atol=1e-4).all(-1)
    return float(same.mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=sorted(CASES), required=True)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    algo, spec, default_steps = CASES[a.case]
    steps = a.steps or default_steps
    sys.path.insert(0, str(HERE))  # dict_envs
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}
    path = HERE / "teachers" / f"{a.case}-{algo}-{steps}.zip"
    wall = None
    if not path.exists():
        from stable_baselines3 import PPO, SAC

        t0 = time.perf_counter()
        model = {"sac": SAC, "ppo": PPO}[algo]("MultiInputPolicy", _env_id(spec), seed=0,
                                               device="cpu")
        model.learn(steps).save(path)
        wall = round(time.perf_counter() - t0, 1)
    agreement = _predict_agreement(path, algo, spec)
    print(json.dumps({"teacher": path.name, "agreement_with_sb3_predict": agreement}),
          flush=True)
    for seed in range(a.seeds):
        cmd = [str(ROOT / ".venv/bin/rldistill"), "distill", "--teacher", str(path), "--env",
               spec, "--seed", str(seed), "--out", str(ROOT / f"runs/dict-{a.case}-{seed}"),
               "--overwrite", "--json"]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        r = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else {}
        row = {"case": a.case, "teacher": path.name, "teacher_train_s": wall, "seed": seed,
               "teacher_vs_sb3_predict": agreement, "command": " ".join(cmd[1:]),
               "error": p.stderr.strip()[-300:] if p.returncode else None,
               **{k: r.get(k) for k in ("normalized_score", "agreement", "env_steps",
                                        "wall_s")},
               **({"teacher_return": r["teacher"]["return_mean"],
                   "student_return": r["student"]["return_mean"],
                   "random_return": r.get("random", {}).get("return_mean"),
                   "params": f"{r['student']['params']}/{r['teacher']['params']}"} if r else {})}
        print(json.dumps(row), flush=True)
        with (HERE / "results" / "dict_obs.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
