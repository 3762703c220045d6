"""A hand-written distillation loop, written the way a competent PyTorch user would.

SB3 teacher loaded with ``PPO.load``; it drives a synchronous gymnasium vector env; every visited
state is stored with the teacher's logits (``policy.get_distribution(obs).distribution.logits``);
then a [32] ReLU MLP student trains with KL(teacher || student), Adam, minibatches of 256.

The update count is the same rule as rldistill's teacher driver (20 epochs over the data, at
least 1000 updates) and lr 3e-3, so that the comparison isolates the implementation.

Runs in the main venv (SB3 2.9, gymnasium 1.x). ``train`` returns (student, labelled, wall_s);
the student is an ``rldistill.students.network.Student`` so the shared evaluator can score it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "src" / "rldistill" / "zoo"


def teacher_path(spec: str) -> Path:
    """``zoo:NAME`` -> the zip in the repo's zoo folder; anything else is a path."""
    return ZOO / f"{spec[4:]}.zip" if spec.startswith("zoo:") else Path(spec)


def train(teacher: str, env_id: str, budget: int, seed: int, hidden: int = 32, n_envs: int = 8,
          epochs: int = 20, min_updates: int = 1000, batch_size: int = 256, lr: float = 3e-3,
          ) -> tuple[nn.Module, int, float]:
    from stable_baselines3 import PPO

    torch.manual_seed(seed)
    t0 = time.perf_counter()
    model = PPO.load(teacher_path(teacher), device="cpu")
    policy = model.policy.eval()

    # --- collect: the teacher acts greedily, every visited state is labelled with its logits
    envs = gym.vector.SyncVectorEnv([lambda: gym.make(env_id) for _ in range(n_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=seed)
    xs, ys = [], []
    n = 0
    with torch.no_grad():
        while n < budget:
            o = torch.as_tensor(obs, dtype=torch.float32)
            logits = policy.get_distribution(o).distribution.logits
            take = min(n_envs, budget - n)
            xs.append(o[:take])
            ys.append(logits[:take])
            n += take
            obs, *_ = envs.step(logits.argmax(-1).numpy())
    envs.close()
    x, y = torch.cat(xs), torch.cat(ys)

    # --- train: KL(teacher || student) on minibatches
    n_actions = y.shape[1]
    student = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, n_actions))
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    target = F.log_softmax(y, -1)
    per_epoch = math.ceil(len(x) / batch_size)
    n_updates = max(min_updates, epochs * per_epoch)
    done = 0
    while done < n_updates:
        perm = torch.randperm(len(x))
        for idx in perm.split(batch_size):
            loss = F.kl_div(F.log_softmax(student(x[idx]), -1), target[idx], log_target=True,
                            reduction="batchmean")
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == n_updates:
                break
    wall = time.perf_counter() - t0
    return as_rldistill_student(student), n, wall


def as_rldistill_student(seq: nn.Sequential) -> nn.Module:
    """Copy a Linear-ReLU-Linear net into an ``rldistill.students.network.Student`` (act/outputs/params)."""
    from rldistill.core.spaces import SpaceSpec
    from rldistill.students.network import build_student

    w0, w1 = seq[0].weight, seq[2].weight
    s = build_student(SpaceSpec((w0.shape[1],), int(w1.shape[0])), (w0.shape[0],))
    s.net.load_state_dict(seq.state_dict())
    return s.eval().for_task(0)


if __name__ == "__main__":
    import argparse
    import json

    from rldistill.evaluation.rollouts import score_student
    from rldistill.sources import load_teacher

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default="zoo:LunarLander-v3-ppo")
    ap.add_argument("--env", default="LunarLander-v3")
    ap.add_argument("--budget", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--episodes", type=int, default=100)
    a = ap.parse_args()
    student, labelled, wall = train(a.teacher, a.env, a.budget, a.seed)
    res = score_student(student, load_teacher(a.teacher), a.env, a.episodes, seed=a.seed + 1_000_000)
    print(json.dumps({"labelled_steps": labelled, "wall_s": round(wall, 3), **res}))
