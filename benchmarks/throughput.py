"""Throughput of rldistill's loop against bare floors that do the same work (LunarLander-v3).

    .venv/bin/python benchmarks/throughput.py [--steps 20000] [--repeats 3]

1. env floor: a synchronous vector env of 8 LunarLander-v3 (rldistill's ``make_vec_env``),
   random actions: env steps per second.
2. collection: rldistill's ``distill.train`` with the student driver, one round, one epoch,
   min_updates 1 (so it is collection + a handful of updates + one checkpoint) against a bare
   loop of the same math: vector-env step + teacher forward + student forward (greedy action) +
   storing (obs, teacher logits). Also the ratio of each to the env floor.
3. updates: student updates per second inside ``distill.train`` (teacher driver, budget 10k;
   the difference between min_updates 5000 and 1000, so collection cancels out) against a bare
   torch loop: batch 256 from a 10k buffer, [32] ReLU MLP, KL(teacher || student), Adam 3e-3.

Each figure is the best of ``--repeats`` (least disturbed by other load); ``uptime`` is recorded.
Writes ``benchmarks/results/throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
ENV, TEACHER, N_ENVS = "LunarLander-v3", "zoo:LunarLander-v3-ppo", 8


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def env_floor(steps: int) -> None:
    from rldistill.envs.make import make_vec_env

    venv = make_vec_env(ENV, N_ENVS, 0)
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(steps // N_ENVS):
        venv.step(rng.integers(0, 4, N_ENVS))
    venv.close()


def gym_sync_floor(steps: int) -> None:
    """The same stepping through gymnasium's SyncVectorEnv (what rldistill used before BatchEnv)."""
    import gymnasium as gym

    venv = gym.vector.SyncVectorEnv([lambda: gym.make(ENV) for _ in range(N_ENVS)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(steps // N_ENVS):
        venv.step(rng.integers(0, 4, N_ENVS))
    venv.close()


def bare_collect(steps: int, teacher) -> None:
    from rldistill.envs.make import make_vec_env

    venv = make_vec_env(ENV, N_ENVS, 0)
    obs_np, _ = venv.reset(seed=0)
    student = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    xs, ys = [], []
    with torch.inference_mode():
        for _ in range(steps // N_ENVS):
            obs = torch.from_numpy(obs_np)
            xs.append(obs)
            ys.append(teacher.net(obs))
            obs_np = venv.step(student(obs).argmax(-1).numpy())[0]
    torch.cat(xs), torch.cat(ys)
    venv.close()


def rld_train(**kw) -> float:
    from rldistill.core.config import DistillConfig
    from rldistill.api import train

    with tempfile.TemporaryDirectory() as d:
        cfg = DistillConfig(teacher=TEACHER, env=ENV, student_hidden="32", seed=0, out=d, **kw)
        t0 = time.perf_counter()
        train(cfg)
        return time.perf_counter() - t0


def bare_updates(n: int) -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(10_000, 8, generator=g), torch.randn(10_000, 4, generator=g)
    target = F.log_softmax(y, -1)
    net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    done = 0
    while done < n:
        for idx in torch.randperm(10_000, generator=g).split(256):
            loss = F.kl_div(F.log_softmax(net(x[idx]), -1), target[idx], log_target=True,
                            reduction="batchmean")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            if done == n:
                break


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results" / "throughput.json"))
    a = ap.parse_args()
    from rldistill.sources import load_teacher

    teacher = load_teacher(TEACHER)
    load0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    n, r = a.steps, a.repeats

    t_env = best(lambda: env_floor(n), r)
    t_bare_col = best(lambda: bare_collect(n, teacher), r)
    t_rld_col = min(rld_train(driver="student", budget=n, rounds=1, epochs=1, min_updates=1)
                    for _ in range(r))
    lo, hi = 1000, 5000
    t_lo = min(rld_train(driver="teacher", budget=10_000, min_updates=lo, batch_size=256)
               for _ in range(r))
    t_hi = min(rld_train(driver="teacher", budget=10_000, min_updates=hi, batch_size=256)
               for _ in range(r))
    t_gym = best(lambda: gym_sync_floor(n), r)
    t_bare_upd = best(lambda: bare_updates(hi - lo), r)
    rld_ups = (hi - lo) / max(t_hi - t_lo, 1e-9)
    bare_ups = (hi - lo) / t_bare_upd
    load1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    res = {
        "env": ENV, "n_envs": N_ENVS, "steps": n, "repeats": r, "load_before": load0,
        "load_after": load1,
        "env_floor_steps_per_s": n / t_env,
        "gym_sync_vector_env_steps_per_s": n / t_gym,
        "bare_collect_steps_per_s": n / t_bare_col,
        "rldistill_collect_steps_per_s": n / t_rld_col,
        "bare_collect_vs_env_floor": t_bare_col / t_env,
        "rldistill_collect_vs_env_floor": t_rld_col / t_env,
        "rldistill_collect_vs_bare_collect": t_rld_col / t_bare_col,
        "bare_updates_per_s": bare_ups, "rldistill_updates_per_s": rld_ups,
        "rldistill_updates_vs_bare": bare_ups / rld_ups,
        "note": "ratios are time ratios (>1 = slower than the floor); rldistill collection is "
                "train() with 1 round, 1 epoch, min_updates 1, so it includes loading the "
                "teacher, making the envs, ~N/256 updates and one checkpoint",
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    for k, v in res.items():
        print(f"{k:36s} {v:.3f}" if isinstance(v, float) else f"{k:36s} {v}")


if __name__ == "__main__":
    main()
