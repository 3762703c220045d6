"""Side by side on MinAtar: rldistill against a CNN distillation loop written by hand, the way
a competent PyTorch user would (SB3's ``PPO.load``, a synchronous gymnasium vector env of 8,
the teacher acting and labelling each step with its logits, then a CNN student of the same
layout as rldistill's trained with KL(teacher || student) at T = 1, Adam lr 3e-3, minibatches of
256, 20 epochs with at least 1000 updates: the update rule of benchmarks/handwritten.py).

    .venv/bin/python benchmarks/pixels/handwritten.py [--game Breakout] [--budget 20000]
        [--seeds 3]

Both sides get the same teacher, labelled steps, student layout (``--param-ratio 0.25``) and
rldistill's evaluator (100 episodes, the same seeds); rldistill runs with ``--driver teacher``
(the hand-written loop's driver) and with its default. Writes results/handwritten.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import gymnasium as gym
import torch

HERE = Path(__file__).resolve().parent


def handwritten(zip_path: str, env_id: str, budget: int, seed: int, arch: object) -> tuple:
    from stable_baselines3 import PPO

    from rldistill.envs.recipe import register_namespace
    from rldistill.students.network import Student

    torch.manual_seed(seed)
    t0 = time.perf_counter()
    register_namespace(env_id)
    model = PPO.load(zip_path, device="cpu")
    envs = gym.vector.SyncVectorEnv([lambda: gym.make(env_id) for _ in range(8)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=seed)
    xs, ys, n = [], [], 0
    while n < budget:
        x = torch.as_tensor(obs, dtype=torch.float32)
        with torch.no_grad():
            logits = model.policy.get_distribution(x).distribution.logits
        take = min(8, budget - n)
        xs.append(x[:take])
        ys.append(logits[:take])
        n += take
        obs, *_ = envs.step(logits.argmax(-1).numpy())
    envs.close()
    x, y = torch.cat(xs), torch.cat(ys)
    from rldistill.core.spaces import SpaceSpec

    student = Student(arch, [SpaceSpec(tuple(x.shape[1:]), int(y.shape[1]))])
    opt = torch.optim.Adam(student.parameters(), lr=3e-3)
    n_updates, done = max(1000, 20 * math.ceil(len(x) / 256)), 0
    while done < n_updates:
        for idx in torch.randperm(len(x)).split(256):
            p = torch.softmax(y[idx], -1)
            loss = (p * (torch.log_softmax(y[idx], -1)
                         - torch.log_softmax(student(x[idx]), -1))).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == n_updates:
                break
    return student.eval(), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--game", default="Breakout")
    ap.add_argument("--budget", type=int, default=20_000)
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    from rldistill import DistillConfig, run
    from rldistill.evaluation.rollouts import score_student
    from rldistill.students.network import load_student
    from rldistill.sources import load_teacher
    from rldistill.zoo import zoo_path

    spec = f"zoo:MinAtar-{a.game}-v1-ppo"
    env_id = f"MinAtar/{a.game}-v1"
    teacher = load_teacher(spec)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    for seed in range(a.seeds):
        row = {"game": a.game, "budget": a.budget, "seed": seed}
        for driver in ("teacher", None):
            r = run(DistillConfig(teacher=spec, env=env_id, param_ratio=0.25, budget=a.budget,
                                  driver=driver, seed=seed, out=f"/tmp/hw-run-{driver}",
                                  eval_episodes=100), overwrite=True)
            row[f"rldistill_{driver or 'default'}"] = {
                "wall_s": r["wall_s"], "normalized": r["normalized_score"],
                "return": r["student"]["return_mean"], "driver": r["driver"]}
        arch = load_student("/tmp/hw-run-teacher")[0].arch
        student, wall = handwritten(str(zoo_path(spec[4:])), env_id, a.budget, seed, arch)
        s = score_student(student.for_task(0), teacher, env_id, 100, seed + 1_000_000)
        row["handwritten"] = {"wall_s": round(wall, 3), "normalized": s["normalized_score"],
                              "return": s["student"]["return_mean"]}
        row["wall_ratio_teacher_driver"] = round(
            row["rldistill_teacher"]["wall_s"] / wall, 3)
        print(json.dumps(row), flush=True)
        with (out / "handwritten.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
