"""Teachers of the policy kinds of issue 29 trained outside rldistill with their framework's
defaults, saved as it saves, then distilled with no flag but ``--env`` (and ``--trust-teacher``
where the user's code must run), 3 seeds:

- ``pointmaze``: SB3 SAC ``MultiInputPolicy`` on Gymnasium-Robotics' ``PointMaze_UMazeDense-v3``
  (a goal-conditioned Dict: ``observation``, ``achieved_goal``, ``desired_goal``; needs
  ``pip install gymnasium-robotics``);
- ``lunarkeys``: SB3 PPO ``MultiInputPolicy`` on ``kind_envs:LunarLanderKeys-v0`` (a Dict of
  named vector keys);
- ``masked``: sb3-contrib MaskablePPO on ``kind_envs:LunarLanderCooldown-v0`` (action masks);
- ``custom``: SB3 PPO with a features extractor of the user's own
  (``kind_envs.LayerNormExtractor``) on CartPole-v1: ``--trust-teacher``.

    .venv/bin/python benchmarks/sources/kinds.py --case pointmaze [--steps N] [--seeds 3]

Also measured: the agreement of the teacher as rldistill reads it with the framework's own
``predict(deterministic=True)`` on 2 000 states the teacher visits (with the env's masks where
it masks). Rows in results/kinds.jsonl (the zips in teachers/, git-ignored).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# algo, env, steps, policy, extra distill flags
CASES: dict[str, tuple[str, str, int, str, list[str]]] = {
    "pointmaze": ("sac", "gymnasium_robotics:PointMaze_UMazeDense-v3", 100_000,
                  "MultiInputPolicy", []),
    "lunarkeys": ("ppo", "kind_envs:LunarLanderKeys-v0", 500_000, "MultiInputPolicy", []),
    "masked": ("maskableppo", "kind_envs:LunarLanderCooldown-v0", 500_000, "MlpPolicy", []),
    "custom": ("ppo", "CartPole-v1", 100_000, "MlpPolicy", ["--trust-teacher"]),
}


def _cls(algo: str) -> Any:
    if algo == "maskableppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    from stable_baselines3 import PPO, SAC

    return {"sac": SAC, "ppo": PPO}[algo]


def _env_id(spec: str) -> str:
    import gymnasium as gym

    module, _, env_id = spec.rpartition(":")
    if module:
        mod = importlib.import_module(module)
        gym.register_envs(mod)
    return env_id


def _predict_agreement(path: Path, case: str, n: int = 2000) -> float:
    """rldistill's teacher (read without unpickling, or with --trust-teacher where the user's
    code must run) against the framework's predict, on states the model visits acting
    deterministically (within the env's masks)."""
    import gymnasium as gym
    import torch

    from rldistill.envs.keys import flatten_keys
    from rldistill.envs.make import env_spec, has_masks, action_masks
    from rldistill.sources import load_teacher

    algo, spec, _, _, flags = CASES[case]
    model = _cls(algo).load(path, device="cpu")
    teacher = load_teacher(str(path), trust="--trust-teacher" in flags)
    keys = env_spec(spec).keys
    env = gym.make(_env_id(spec))
    masked = has_masks(env)
    obs, _ = env.reset(seed=0)
    states, masks = [], []
    while len(states) < n:
        m = action_masks(env) if masked else None
        states.append(obs)
        masks.append(m)
        a = model.predict(obs, deterministic=True, **({"action_masks": m} if masked else {}))[0]
        obs, _, term, trunc, _ = env.step(a)
        if term or trunc:
            obs, _ = env.reset()
    if keys:
        batch: Any = {k: np.stack([s[k] for s in states]) for k in states[0]}
        flat = np.stack([flatten_keys(s, keys) for s in states])
    else:
        batch = flat = np.stack(states).astype(np.float32)
    extra = {"action_masks": np.stack(masks)} if masked else {}
    want, _ = model.predict(batch, deterministic=True, **extra)
    out = teacher.outputs(torch.from_numpy(flat))
    if masked:
        out = teacher.head.mask(out, torch.from_numpy(np.stack(masks)))
    got = teacher.head.to_env(teacher.head.act(out))
    same = np.isclose(np.asarray(got, np.float64).reshape(n, -1),
                      np.asarray(want, np.float64).reshape(n, -1), rtol=0, atol=1e-4).all(-1)
    return float(same.mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=sorted(CASES), required=True)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    algo, spec, default_steps, policy, flags = CASES[a.case]
    steps = a.steps or default_steps
    sys.path.insert(0, str(HERE))  # kind_envs
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}
    path = HERE / "teachers" / f"{a.case}-{algo}-{steps}.zip"
    wall = None
    if not path.exists():
        kwargs: dict[str, Any] = {}
        if a.case == "custom":
            from kind_envs import LayerNormExtractor

            kwargs["policy_kwargs"] = {"features_extractor_class": LayerNormExtractor}
        t0 = time.perf_counter()
        model = _cls(algo)(policy, _env_id(spec), seed=0, device="cpu", **kwargs)
        model.learn(steps).save(path)
        wall = round(time.perf_counter() - t0, 1)
    agreement = _predict_agreement(path, a.case)
    print(json.dumps({"teacher": path.name, "agreement_with_predict": agreement}), flush=True)
    for seed in range(a.seeds):
        cmd = [str(ROOT / ".venv/bin/rldistill"), "distill", "--teacher", str(path), "--env",
               spec, *flags, "--seed", str(seed), "--out",
               str(ROOT / f"runs/kinds-{a.case}-{seed}"), "--overwrite", "--json"]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        r = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else {}
        row = {"case": a.case, "teacher": path.name, "teacher_train_s": wall, "seed": seed,
               "teacher_vs_predict": agreement, "command": " ".join(cmd[1:]),
               "error": p.stderr.strip()[-300:] if p.returncode else None,
               **{k: r.get(k) for k in ("normalized_score", "agreement", "env_steps",
                                        "wall_s")},
               **({"teacher_return": r["teacher"]["return_mean"],
                   "student_return": r["student"]["return_mean"],
                   "random_return": (r.get("random") or {}).get("return_mean"),
                   "params": f"{r['student']['params']}/{r['teacher']['params']}"} if r else {})}
        print(json.dumps(row), flush=True)
        with (HERE / "results" / "kinds.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
