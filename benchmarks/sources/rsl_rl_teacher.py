"""An rsl-rl teacher trained on a real task outside rldistill (issue 29: "any policy a user has").

rsl-rl-lib's own PPO and ``OnPolicyRunner`` train on a Gymnasium env wrapped as an rsl-rl
``VecEnv`` (what legged-robot projects hand the runner: observations as a TensorDict with a
``"policy"`` group, rewards, dones, ``extras["time_outs"]``; actions clipped to the Box bounds
inside the env, as legged_gym / Isaac Lab clip them). The runner saves ``model_<iter>.pt`` as it
always does, into ``teachers/rsl-rl-<ENV>/`` (git-ignored). Then:

1. the last checkpoint as rldistill reads it (``load_teacher(path, env=ENV)``: tensors only,
   no ``--trust-teacher``) against rsl-rl's own inference policy (a fresh runner that
   ``load``s the same file, ``get_inference_policy()``: the Gaussian mean, clipped as the env
   clips it) on the states that policy visits;
2. ``rldistill distill --teacher model_N.pt --env ENV`` (no other flag) for three seeds.

    OMP_NUM_THREADS=1 PYTHONPATH=/work/bench/src:benchmarks/sources \\
        .venv/bin/python benchmarks/sources/rsl_rl_teacher.py --iterations 2000

Appends one row per seed to ``results/rsl_rl.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from tensordict import TensorDict

from rsl_rl.env import VecEnv
from rsl_rl.runners import OnPolicyRunner

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BENCH_SRC = "/work/bench/src"  # a frozen snapshot of the project's code (src/ may change)
PYTHONPATH = f"{BENCH_SRC}:{HERE}"


class GymVecEnv(VecEnv):
    """N copies of a Gymnasium env as an rsl-rl ``VecEnv`` (on the CPU).

    Autoreset in the same step (as Isaac Lab / legged_gym reset): the observation returned
    with ``done`` is the next episode's first. ``time_outs``: truncated and not terminated,
    which PPO bootstraps from the value. Actions are clipped to the Box bounds here."""

    def __init__(self, env_id: str, num_envs: int, seed: int) -> None:
        self.env_id = env_id
        self.envs = gym.vector.SyncVectorEnv(
            [lambda: gym.make(env_id) for _ in range(num_envs)],
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
        space = self.envs.single_action_space
        assert isinstance(space, gym.spaces.Box), "continuous actions only"
        self.low = torch.as_tensor(space.low, dtype=torch.float32)
        self.high = torch.as_tensor(space.high, dtype=torch.float32)
        self.num_envs = num_envs
        self.num_actions = int(np.prod(space.shape))
        self.max_episode_length = int(self.envs.envs[0].spec.max_episode_steps)
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.device = "cpu"
        self.cfg = {"env_id": env_id, "num_envs": num_envs, "seed": seed}
        obs, _ = self.envs.reset(seed=seed)
        self._obs = self._td(obs)

    def _td(self, obs: np.ndarray) -> TensorDict:
        x = torch.as_tensor(np.asarray(obs), dtype=torch.float32).reshape(self.num_envs, -1)
        return TensorDict({"policy": x}, batch_size=[self.num_envs])

    def get_observations(self) -> TensorDict:
        return self._obs

    def clip(self, actions: torch.Tensor) -> torch.Tensor:
        return torch.max(torch.min(actions, self.high), self.low)

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        a = self.clip(actions.detach().cpu().float()).numpy()
        obs, rew, term, trunc, _ = self.envs.step(a)
        term, trunc = torch.as_tensor(term), torch.as_tensor(trunc)
        dones = term | trunc
        self.episode_length_buf += 1
        self.episode_length_buf[dones] = 0
        self._obs = self._td(obs)
        extras = {"time_outs": (trunc & ~term).float()}
        return self._obs, torch.as_tensor(rew, dtype=torch.float32), dones.long(), extras


def train_cfg(save_interval: int) -> dict:
    """rsl-rl-lib 5's configuration with the values it documents and ships.

    - runner: ``num_steps_per_env: 24`` (config/example_config.yaml and the minimal example of
      docs/guide/configuration.rst, rsl_rl 5.x); ``obs_groups`` with the actor and the critic
      on the ``policy`` group (this env has no privileged observations).
    - algorithm: every PPO value at its documented default (docs/guide/configuration.rst, the
      defaults of ``rsl_rl.algorithms.PPO.__init__``; also example_config.yaml's values):
      lr 1e-3 (adaptive schedule, desired KL 0.01), 5 epochs x 4 mini-batches, clip 0.2,
      clipped value loss with coefficient 1.0, entropy 0.01, gamma 0.99, lambda 0.95, max grad
      norm 1.0.
    - actor and critic: ``MLPModel`` with its defaults (hidden dims [256, 256, 256], ELU), the
      actor's output a ``GaussianDistribution`` with its defaults (init std 1.0, std type
      "scalar", learnt), and ``obs_normalization: true`` (the empirical normaliser, as Isaac Lab's
      rsl-rl configs enable with ``actor_obs_normalization`` / ``critic_obs_normalization``).
    """
    mlp = {"class_name": "MLPModel", "hidden_dims": [256, 256, 256], "activation": "elu",
           "obs_normalization": True}
    return {
        "num_steps_per_env": 24,
        "save_interval": save_interval,
        "obs_groups": {"actor": ["policy"], "critic": ["policy"]},
        "logger": "tensorboard",
        "algorithm": {
            "class_name": "PPO", "optimizer": "adam", "learning_rate": 1e-3,
            "num_learning_epochs": 5, "num_mini_batches": 4, "schedule": "adaptive",
            "value_loss_coef": 1.0, "clip_param": 0.2, "use_clipped_value_loss": True,
            "desired_kl": 0.01, "entropy_coef": 0.01, "gamma": 0.99, "lam": 0.95,
            "max_grad_norm": 1.0, "normalize_advantage_per_mini_batch": False,
        },
        "actor": mlp | {"distribution_cfg": {"class_name": "GaussianDistribution",
                                            "init_std": 1.0, "std_type": "scalar"}},
        "critic": dict(mlp),
    }


def rsl_rl_version() -> str:
    from importlib.metadata import version
    return version("rsl-rl-lib")


def train(env_id: str, num_envs: int, iterations: int, seed: int, out: Path) -> dict:
    torch.manual_seed(seed)
    np.random.seed(seed)
    env = GymVecEnv(env_id, num_envs, seed)
    cfg = train_cfg(save_interval=max(1, iterations // 4))
    runner = OnPolicyRunner(env, cfg, log_dir=str(out), device="cpu")
    t0 = time.perf_counter()
    runner.learn(num_learning_iterations=iterations)
    wall = time.perf_counter() - t0
    ckpt = out / f"model_{runner.current_learning_iteration}.pt"
    info = {"env": env_id, "num_envs": num_envs, "iterations": iterations, "seed": seed,
            "env_steps": iterations * num_envs * cfg["num_steps_per_env"],
            "train_wall_s": round(wall, 1), "checkpoint": str(ckpt),
            "last_training_returns_mean": (round(float(np.mean(runner.logger.rewbuffer)), 1)
                                           if runner.logger.rewbuffer else None),
            "config": train_cfg(cfg["save_interval"])}
    (out / "train_info.json").write_text(json.dumps(info, indent=1))
    return info


@torch.no_grad()
def compare(env_id: str, ckpt: Path, n_envs: int = 10, seed: int = 12345) -> dict:
    """rsl-rl's own inference policy (a fresh runner that loads ``ckpt``) drives ``n_envs``
    envs for one episode each; on every state, its action (clipped) against rldistill's."""
    from rldistill.sources import load_teacher

    env = GymVecEnv(env_id, n_envs, seed)
    runner = OnPolicyRunner(env, train_cfg(1), log_dir=None, device="cpu")
    runner.load(str(ckpt))
    policy = runner.get_inference_policy(device="cpu")
    teacher = load_teacher(str(ckpt), env=env_id)
    obs = env.get_observations()
    states, theirs, ours = [], [], []
    ret, returns = torch.zeros(n_envs), []
    for _ in range(env.max_episode_length):
        a = env.clip(policy(obs))
        x = obs["policy"].clone()
        mine = torch.as_tensor(teacher.head.to_env(teacher.head.act(teacher.outputs(x))))
        states.append(x)
        theirs.append(a)
        ours.append(mine.reshape(a.shape))
        obs, r, d, _ = env.step(a)
        ret += r
        for i in torch.nonzero(d).flatten().tolist():
            returns.append(float(ret[i]))
            ret[i] = 0.0
    theirs_t, ours_t = torch.cat(theirs), torch.cat(ours)
    diff = (theirs_t - ours_t).abs().amax(-1)
    return {"states": len(diff), "agree_1e-4": float((diff <= 1e-4).float().mean()),
            "max_abs_diff": float(diff.max()), "rsl_rl_episodes": len(returns),
            "rsl_rl_return_mean": round(float(np.mean(returns)), 1) if returns else None,
            "teacher_source": {k: str(v) for k, v in teacher.source.items()},
            "teacher_params": int(teacher.params)}


def distill(env_id: str, ckpt: Path, seed: int) -> tuple[dict, str]:
    out = ROOT / "runs" / f"rslrl-{seed}"
    cmd = [str(ROOT / ".venv/bin/rldistill"), "distill", "--teacher", str(ckpt), "--env", env_id,
           "--seed", str(seed), "--out", str(out), "--overwrite", "--json"]
    env = dict(os.environ, PYTHONPATH=PYTHONPATH, OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"rldistill distill failed (rc {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1]), "PYTHONPATH=" + PYTHONPATH + " " + \
        shlex.join(cmd)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", default="Pendulum-v1")
    ap.add_argument("--num-envs", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--train-seed", type=int, default=1)  # example_config.yaml's seed
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--checkpoint", help="skip training: measure this model_N.pt")
    ap.add_argument("--no-distill", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    folder = HERE / "teachers" / f"rsl-rl-{a.env}"
    if a.checkpoint:
        ckpt = Path(a.checkpoint).resolve()
        info_file = ckpt.parent / "train_info.json"
        info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    else:
        folder.mkdir(parents=True, exist_ok=True)
        info = train(a.env, a.num_envs, a.iterations, a.train_seed, folder)
        ckpt = Path(info["checkpoint"])
    print(json.dumps({k: v for k, v in info.items() if k != "config"}), flush=True)
    cmp = compare(a.env, ckpt)
    print(json.dumps(cmp), flush=True)
    if a.no_distill:
        return
    results = HERE / "results" / "rsl_rl.jsonl"
    for seed in a.seeds:
        r, cmd = distill(a.env, ckpt, seed)
        row = {"env": a.env, "teacher_checkpoint": str(ckpt.relative_to(ROOT)),
               "rsl_rl_version": rsl_rl_version(), "train_wall_s": info.get("train_wall_s"),
               "train_iterations": info.get("iterations"), "train_env_steps": info.get("env_steps"),
               "teacher_return": r["teacher"]["return_mean"],
               "rsl_rl_policy_return": cmp["rsl_rl_return_mean"],
               "agreement_with_rsl_rl_policy": cmp["agree_1e-4"],
               "agreement_states": cmp["states"], "max_abs_action_diff": cmp["max_abs_diff"],
               "seed": seed, "normalized_score": r["normalized_score"],
               "agreement": r["agreement"], "env_steps": r["env_steps"],
               "student_return": r["student"]["return_mean"],
               "random_return": (r.get("random") or {}).get("return_mean"),
               "student_params": r["student"].get("params"),
               "teacher_params": r["teacher"].get("params"), "command": cmd}
        print(json.dumps(row), flush=True)
        with results.open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
