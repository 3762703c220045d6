"""A hand-written continuous-action distillation loop, written the way a competent PyTorch user
would: the SB3 teacher (``SAC.load`` etc.) drives a synchronous gymnasium vector env with its
deterministic action; every visited state is stored with that action; a ReLU MLP student
regresses it (MSE on the action), Adam, minibatches of 256, 20 epochs and at least 1000 updates
(the update rule of benchmarks/handwritten.py).

``train`` returns (student, labelled steps, wall s); the student comes back as an rldistill
Student with a Gaussian head (its mean is the regressed action, clipped to the bounds when it
acts) so that the shared evaluator scores it like rldistill's own.
"""

from __future__ import annotations

import math
import time

import gymnasium as gym
import torch
from torch import nn


def load_sb3(path: str, algo: str) -> object:
    import sb3_contrib
    import stable_baselines3 as sb3

    cls = getattr(sb3, algo, None) or getattr(sb3_contrib, algo)
    return cls.load(path, device="cpu")


def train(teacher: str, algo: str, env_id: str, budget: int, seed: int, hidden: tuple[int, ...],
          n_envs: int = 8, epochs: int = 20, min_updates: int = 1000, batch_size: int = 256,
          lr: float = 3e-3) -> tuple[object, int, float]:
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    model = load_sb3(teacher, algo)
    envs = gym.vector.SyncVectorEnv([lambda: gym.make(env_id) for _ in range(n_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=seed)
    xs, ys = [], []
    n = 0
    while n < budget:
        action, _ = model.predict(obs, deterministic=True)
        take = min(n_envs, budget - n)
        xs.append(torch.as_tensor(obs[:take], dtype=torch.float32))
        ys.append(torch.as_tensor(action[:take], dtype=torch.float32))
        n += take
        obs, *_ = envs.step(action)
    envs.close()
    x, y = torch.cat(xs), torch.cat(ys)
    sizes = [x.shape[1], *hidden, y.shape[1]]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    student = nn.Sequential(*layers)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    n_updates = max(min_updates, epochs * math.ceil(len(x) / batch_size))
    done = 0
    while done < n_updates:
        for idx in torch.randperm(len(x)).split(batch_size):
            loss = ((student(x[idx]) - y[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == n_updates:
                break
    wall = time.perf_counter() - t0
    return as_rldistill_student(student, env_id, hidden), n, wall


def as_rldistill_student(seq: nn.Sequential, env_id: str, hidden: tuple[int, ...]) -> object:
    """The regression MLP as a Gaussian-head Student: mean = its output, log std = 0."""
    from rldistill.envs.make import env_spec
    from rldistill.students.network import build_student

    spec = env_spec(env_id)
    s = build_student(spec, hidden, ["gaussian"])
    src = [m for m in seq if isinstance(m, nn.Linear)]
    dst = [m for m in s.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for d, m in zip(dst, src):
            d.weight.zero_()
            d.bias.zero_()
            d.weight[: m.out_features] = m.weight
            d.bias[: m.out_features] = m.bias
    return s.eval().for_task(0)
