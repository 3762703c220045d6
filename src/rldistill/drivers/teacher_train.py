"""Train a teacher with Stable-Baselines3 and RL-Zoo-style hyperparameters
(``rldistill teacher train``).

Long trainings are checkpointed (``OUT`` + ``.checkpoint.safetensors``, tensors only, nothing
pickled: the model, its optimizers, an off-policy replay buffer, VecNormalize's statistics and
SB3's counters) every ``CKPT_EVERY_S`` seconds of wall time (or ten times what a save took,
whichever is longer), on SIGINT and where ``--max-seconds`` stops the run; ``--resume`` goes on
from there to ``--steps``. What the checkpoint does not hold: the envs' episodes in progress
(they start again) and the random generators, so a resumed run is not the uninterrupted run to
the bit. The checkpoint is removed once the teacher has all its steps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rldistill.core.errors import Interrupted, UserError, notice
from rldistill.core.machine import machine
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


CKPT_EVERY_S = 300.0


def checkpoint_path(out: Path) -> Path:
    """Where ``teacher train --out OUT`` keeps what ``--resume`` goes on from."""
    return out.with_name(out.stem + ".checkpoint.safetensors")


def _resume(model: Any, ckpt: Path, resume: bool, who: dict[str, Any]) -> float:
    """Restore ``model`` from ``ckpt`` where ``resume`` asks (and the checkpoint is of the same
    run: ``who``, its algorithm, env, seed and hyperparameters); returns the wall time the run
    had taken before."""
    from rldistill.drivers.finetune.sb3_state import restore
    from rldistill.engine.checkpoint import load_checkpoint

    if not ckpt.exists():
        if resume:
            notice(f"--resume: no checkpoint at {ckpt}; training from step 0")
        return 0.0
    if not resume:
        raise UserError(f"{ckpt} holds a stopped training of this teacher: add --resume to go "
                        "on from it, or delete it to start again")
    try:
        tensors, state = load_checkpoint(ckpt)
    except UserError:
        raise UserError(f"{ckpt} cannot be resumed (unreadable, or written by another version "
                        "of rldistill): delete it to start again") from None
    if state.get("kind") != "teacher" or state.get("run") != who:
        run = state.get("run") or {}
        raise UserError(f"{ckpt} is the checkpoint of another training (--algo {run.get('algo')}"
                        f" --env {run.get('env')} --seed {run.get('seed')}, or other "
                        "hyperparameters): give its options, or delete it to start again")
    restore(model, tensors, state["counters"])
    return float(state["wall_s"])


def train_teacher(algo: str, env_id: str, steps: int, seed: int, out: Path,
                  device: str = "cpu", seconds: float | None = None,
                  resume: bool = False) -> dict[str, Any]:
    """Train ``algo`` on ``env_id`` for ``steps`` env steps (or until ``seconds`` of wall time
    have passed, where given), on ``device``; save an SB3 zip at ``out``. ``resume``: go on
    from the checkpoint a stopped training left (module docstring).

    Returns a record (algo, env, steps trained, seed, hyperparameters, wall time) for the zoo
    index."""
    import json

    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    from rldistill.core.device import resolve_device
    from rldistill.core.signals import sigint_flag
    from rldistill.drivers.finetune.sb3_state import save_model_state

    if steps <= 0:
        raise UserError(f"--steps must be positive, got {steps}")
    if seconds is not None and seconds <= 0:
        raise UserError(f"--max-seconds must be positive, got {seconds}")
    dev = str(resolve_device(device))
    torch.set_num_threads(1)
    model, kwargs = make_model(algo, env_id, seed, dev)
    venv = model.get_env()
    # as JSON: classes by name (SB3 adds its optimizer class to policy_kwargs), schedules by kind
    shown = json.loads(json.dumps(kwargs, default=lambda o: o.__name__ if isinstance(o, type)
                                  else "linear schedule"))
    ckpt = checkpoint_path(out)
    who = {"algo": algo, "env": str(env_id), "seed": seed, "hyperparams": shown}
    before = _resume(model, ckpt, resume, who)
    start = model.num_timesteps
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    end = t0 + seconds if seconds else float("inf")

    def save() -> None:
        save_model_state(ckpt, model, {"kind": "teacher", "run": who, "steps": steps,
                                       "wall_s": before + time.perf_counter() - t0})

    class Deadline(BaseCallback):
        """Stops at --max-seconds or SIGINT; checkpoints on the way."""

        next_save = t0 + CKPT_EVERY_S

        def _on_step(self) -> bool:
            now = time.perf_counter()
            if flag or now >= end:
                return False
            if now >= self.next_save:
                save()
                self.next_save = now + max(CKPT_EVERY_S, 10 * (time.perf_counter() - now))
            return True

    with sigint_flag() as flag:
        if start < steps:
            model.learn(total_timesteps=steps - start, callback=Deadline(),
                        reset_num_timesteps=start == 0)
        if model.num_timesteps < steps:  # stopped: --max-seconds or SIGINT
            save()
        if flag:
            raise Interrupted(f"interrupted at {model.num_timesteps} env steps; checkpointed in "
                              f"{ckpt}: continue with --resume")
    wall = before + time.perf_counter() - t0
    model.save(out)
    if hasattr(venv, "obs_rms"):  # VecNormalize: its statistics in RL Zoo's layout
        (out.parent / out.stem).mkdir(exist_ok=True)
        venv.save(str(out.parent / out.stem / "vecnormalize.pkl"))
    venv.close()
    record = {"algo": algo, "env": env_id, "steps": int(model.num_timesteps), "seed": seed,
              "n_envs": venv.num_envs, "hyperparams": shown, "train_wall_s": round(wall, 1),
              "file": str(out)}
    if model.num_timesteps < steps:  # stopped by --max-seconds: --resume goes on
        record["steps_asked"] = steps
    else:
        ckpt.unlink(missing_ok=True)
    if start:
        record["resumed_from"] = start
    if dev != "cpu":
        record["device"] = dev
    record["machine"] = machine()
    return record


def train_and_record(algo: str, env_id: str, steps: int, seed: int, out: Path,
                     eval_episodes: int, command: str, device: str = "cpu",
                     seconds: float | None = None, resume: bool = False) -> dict[str, Any]:
    """Train a teacher, evaluate it with rldistill's safe loader, and write ``out`` with its
    record (``out.json``: the command, hyperparameters, return with 95 % CI, acting params)."""
    import json

    from rldistill.evaluation.rollouts import evaluate_policy
    from rldistill.core.files import write_text
    from rldistill.sources import load_teacher

    env_id = training_env(env_id)
    record = train_teacher(algo, env_id, steps, seed, out, device, seconds, resume)
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
