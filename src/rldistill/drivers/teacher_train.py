"""Train a teacher with Stable-Baselines3 and RL-Zoo-style hyperparameters
(``rldistill teacher train``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rldistill.core.errors import UserError
from rldistill.envs.recipe import EnvRecipe, atari_recipe, is_atari
from rldistill.zoo.hyperparams import lookup
from rldistill.zoo.sb3 import sb3_class


def make_model(algo: str, env_id: str, seed: int,
               device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """A fresh SB3 model of ``algo`` on ``env_id`` (an id, or an
    :class:`~rldistill.envs.recipe.EnvRecipe` whose wrappers and frame stack its envs get) with
    the zoo's hyperparameters (and those), learning on ``device``; ``normalize`` wraps the env
    in VecNormalize, ``noise_std`` adds Gaussian action noise."""
    import numpy as np

    from rldistill.envs.make import check_env_id, sb3_vec_env

    check_env_id(env_id)
    cls = sb3_class(algo)
    n_envs, kwargs = lookup(algo, str(env_id))
    policy = "CnnPolicy" if is_atari(env_id) else "MlpPolicy"
    args = dict(kwargs)
    venv = sb3_vec_env(env_id, n_envs, seed)
    if args.pop("normalize", False):
        from stable_baselines3.common.vec_env import VecNormalize

        venv = VecNormalize(venv, gamma=args.get("gamma", 0.99))
    if "noise_std" in args:
        from stable_baselines3.common.noise import NormalActionNoise

        dim = int(np.prod(venv.action_space.shape or (1,)))
        std = args.pop("noise_std")
        args["action_noise"] = NormalActionNoise(np.zeros(dim), std * np.ones(dim))
    return cls(policy, venv, seed=seed, verbose=0, device=device, **args), kwargs


def training_env(env_id: str) -> str:
    """The env a teacher trains on: RL Zoo's Atari frames (84 x 84 grey, 4 stacked) for an
    Atari id that names no wrappers, the id itself otherwise."""
    plain = not isinstance(env_id, EnvRecipe) or not env_id.wrappers
    return atari_recipe(env_id) if is_atari(env_id) and plain else env_id


def train_teacher(algo: str, env_id: str, steps: int, seed: int, out: Path,
                  device: str = "cpu", seconds: float | None = None) -> dict[str, Any]:
    """Train ``algo`` on ``env_id`` for ``steps`` env steps (or until ``seconds`` of wall time
    have passed, where given), on ``device``; save an SB3 zip at ``out``.

    Returns a record (algo, env, steps trained, seed, hyperparameters, wall time) for the zoo
    index."""
    import json

    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    from rldistill.core.device import resolve_device

    if steps <= 0:
        raise UserError(f"--steps must be positive, got {steps}")
    if seconds is not None and seconds <= 0:
        raise UserError(f"--max-seconds must be positive, got {seconds}")
    dev = str(resolve_device(device))
    torch.set_num_threads(1)
    model, kwargs = make_model(algo, env_id, seed, dev)
    venv = model.get_env()
    t0 = time.perf_counter()
    end = t0 + seconds if seconds else float("inf")

    class Deadline(BaseCallback):
        def _on_step(self) -> bool:
            return time.perf_counter() < end

    model.learn(total_timesteps=steps, callback=Deadline())
    wall = time.perf_counter() - t0
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    if hasattr(venv, "obs_rms"):  # VecNormalize: its statistics in RL Zoo's layout
        (out.parent / out.stem).mkdir(exist_ok=True)
        venv.save(str(out.parent / out.stem / "vecnormalize.pkl"))
    venv.close()
    # as JSON: classes by name (SB3 adds its optimizer class to policy_kwargs), schedules by kind
    shown = json.loads(json.dumps(kwargs, default=lambda o: o.__name__ if isinstance(o, type)
                                  else "linear schedule"))
    record = {"algo": algo, "env": env_id, "steps": int(model.num_timesteps), "seed": seed,
              "n_envs": venv.num_envs, "hyperparams": shown, "train_wall_s": round(wall, 1),
              "file": str(out)}
    if model.num_timesteps < steps:  # stopped by --max-seconds
        record["steps_asked"] = steps
    if dev != "cpu":
        record["device"] = dev
    return record


def train_and_record(algo: str, env_id: str, steps: int, seed: int, out: Path,
                     eval_episodes: int, command: str, device: str = "cpu",
                     seconds: float | None = None) -> dict[str, Any]:
    """Train a teacher, evaluate it with rldistill's safe loader, and write ``out`` with its
    record (``out.json``: the command, hyperparameters, return with 95 % CI, acting params)."""
    import json

    from rldistill.evaluation.rollouts import evaluate_policy
    from rldistill.core.files import write_text
    from rldistill.sources import load_teacher

    env_id = training_env(env_id)
    record = train_teacher(algo, env_id, steps, seed, out, device, seconds)
    record["command"] = command
    record["file"] = out.name
    teacher = load_teacher(str(out))
    if isinstance(env_id, EnvRecipe) and env_id.frame_stack:  # SB3's policy: channels first
        env_id = env_id.evolve(transpose=True)
    ev = evaluate_policy(teacher, env_id, episodes=eval_episodes, seed=10_000)
    record["return_mean"] = round(ev.mean, 2)
    record["return_ci95"] = [round(ev.ci95[0], 2), round(ev.ci95[1], 2)]
    record["eval_episodes"] = eval_episodes
    record["acting_params"] = teacher.params
    write_text(out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    return record
