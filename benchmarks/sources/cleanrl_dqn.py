"""A teacher trained outside the project: CleanRL's ``dqn.py`` (its QNetwork, its default
hyperparameters but ``--total-timesteps``), saved as CleanRL saves it (``torch.save(
q_network.state_dict(), ...cleanrl_model)``), then distilled by rldistill with no flags but
``--env`` (issue 29: other frameworks' checkpoints).

    .venv/bin/python benchmarks/sources/cleanrl_dqn.py --total-timesteps 100000

Writes ``results/cleanrl_dqn.json`` (the teacher's training, the distill run's scores).
The training loop follows cleanrl/dqn.py (CleanRL 1.x): epsilon-greedy with a linear schedule,
a replay buffer, Huber-free MSE TD loss on the target network's max, hard target updates.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class QNetwork(nn.Module):  # cleanrl/dqn.py
    def __init__(self, n_obs: int, n_actions: int) -> None:
        super().__init__()
        self.network = nn.Sequential(nn.Linear(n_obs, 120), nn.ReLU(), nn.Linear(120, 84),
                                     nn.ReLU(), nn.Linear(84, n_actions))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


def linear_schedule(start_e: float, end_e: float, duration: int, t: int) -> float:
    slope = (end_e - start_e) / duration
    return max(slope * t + start_e, end_e)


def train(env_id: str, total: int, seed: int, out: Path) -> dict:
    # cleanrl/dqn.py defaults
    lr, buffer_size, gamma, tau, target_freq = 2.5e-4, 10_000, 0.99, 1.0, 500
    batch, start_e, end_e, frac, learning_starts, train_freq = 128, 1.0, 0.05, 0.5, 10_000, 10
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    env = gym.make(env_id)
    n_obs, n_act = env.observation_space.shape[0], env.action_space.n
    q, target = QNetwork(n_obs, n_act), QNetwork(n_obs, n_act)
    target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=lr)
    obs_buf = np.zeros((buffer_size, n_obs), np.float32)
    next_buf = np.zeros_like(obs_buf)
    act_buf = np.zeros(buffer_size, np.int64)
    rew_buf = np.zeros(buffer_size, np.float32)
    done_buf = np.zeros(buffer_size, np.float32)
    obs, _ = env.reset(seed=seed)
    returns, ep_ret, t0 = [], 0.0, time.perf_counter()
    for step in range(total):
        eps = linear_schedule(start_e, end_e, int(frac * total), step)
        if random.random() < eps:
            action = env.action_space.sample()
        else:
            with torch.no_grad():
                action = int(q(torch.as_tensor(obs)[None]).argmax())
        nxt, r, term, trunc, _ = env.step(action)
        i = step % buffer_size
        obs_buf[i], next_buf[i], act_buf[i], rew_buf[i], done_buf[i] = obs, nxt, action, r, term
        ep_ret += float(r)
        obs = nxt
        if term or trunc:
            returns.append(ep_ret)
            ep_ret = 0.0
            obs, _ = env.reset()
        if step > learning_starts and step % train_freq == 0:
            idx = np.random.randint(0, min(step + 1, buffer_size), batch)
            with torch.no_grad():
                y = torch.as_tensor(rew_buf[idx]) + gamma * target(
                    torch.as_tensor(next_buf[idx])).max(1).values * (
                    1 - torch.as_tensor(done_buf[idx]))
            acts = torch.as_tensor(act_buf[idx])[:, None]
            pred = q(torch.as_tensor(obs_buf[idx])).gather(1, acts)
            loss = nn.functional.mse_loss(y, pred.squeeze(1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % target_freq == 0:
                for tp, qp in zip(target.parameters(), q.parameters()):
                    tp.data.copy_(tau * qp.data + (1.0 - tau) * tp.data)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(q.state_dict(), out)  # what CleanRL's --save-model writes
    return {"env": env_id, "total_timesteps": total, "seed": seed,
            "last_20_training_returns": round(float(np.mean(returns[-20:])), 1),
            "train_wall_s": round(time.perf_counter() - t0, 1), "file": str(out)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--total-timesteps", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)  # CleanRL's default seed
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = HERE / "teachers" / f"{a.env}-cleanrl-dqn-s{a.seed}.cleanrl_model"
    record = {"teacher": train(a.env, a.total_timesteps, a.seed, model)}
    run = HERE / "teachers" / f"{a.env}-cleanrl-dqn-s{a.seed}-student"
    done = subprocess.run([str(ROOT / ".venv/bin/rldistill"), "distill", "--teacher", str(model),
                           "--env", a.env, "--out", str(run), "--overwrite", "--json"],
                          capture_output=True, text=True, check=True)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    record["distill"] = {k: r.get(k) for k in ("normalized_score", "agreement", "env_steps")}
    record["distill"] |= {"teacher_return": r["teacher"]["return_mean"],
                          "student_return": r["student"]["return_mean"],
                          "command": f"rldistill distill --teacher {model.name} --env {a.env}"}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "cleanrl_dqn.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
