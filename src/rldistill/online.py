"""Online distillation (Rusu et al. 2015): the teacher learns from scratch with SB3 while the
student distils from the teacher's *current* outputs.

The teacher is an ordinary SB3 model (zoo hyperparameters) trained by ``model.learn``; a callback
runs one round of the distill loop every ``teacher_steps / rounds`` teacher env steps: the whole
buffer is relabelled by the current teacher, new states are collected (by the ``driver``) and
labelled, and the student trains on the lot. Each round records the teacher's and the student's
return, so the two learning curves can be compared (``curves`` in the result, ``curves.png``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rldistill.config import DEFAULT_ROUNDS, DistillConfig
from rldistill.distill import Progress, TrainOutcome, _collect, _update, new_loop
from rldistill.envs import SpaceSpec, env_spec, spec_of
from rldistill.evaluate import evaluate_policy
from rldistill.teachers import OutputKind, PolicyLogits


@dataclass
class LiveTeacher:
    """An SB3 model as a teacher that always answers with its current (still learning) weights.

    ``params`` counts its acting path only (no value net, no target net).
    """

    name: str
    kind: OutputKind
    spec: SpaceSpec
    net: nn.Module
    params: int

    @torch.inference_mode()
    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return self.outputs(obs).argmax(dim=-1)


def live_teacher(model: Any, name: str) -> LiveTeacher:
    policy = model.policy
    spec = spec_of(model.observation_space, model.action_space, f"teacher {name}")
    if hasattr(policy, "q_net"):
        return LiveTeacher(name, "q", spec, policy.q_net,
                           sum(p.numel() for p in policy.q_net.parameters()))
    ext = policy.mlp_extractor
    actor = [ext.policy_net, policy.action_net, getattr(ext, "shared_net", None)]
    return LiveTeacher(name, "logits", spec, PolicyLogits(policy),
                       sum(p.numel() for m in actor if m is not None for p in m.parameters()))


def train_online(cfg: DistillConfig, progress: Progress | None = None,
                 eval_episodes: int = 10) -> tuple[TrainOutcome, list[dict[str, Any]], Any]:
    """Train the teacher (``cfg.teacher_train``) for ``cfg.teacher_steps`` env steps and distil
    it into the student in ``cfg.rounds`` rounds along the way; returns the outcome, the
    learning curves and the SB3 model."""
    from stable_baselines3.common.callbacks import BaseCallback

    from rldistill.zoo.train import make_model

    cfg.validate()
    env_id = cfg.tasks[0][1]
    env_spec(env_id)  # unknown ids and non-discrete envs: one-line errors before SB3 asserts
    model, _ = make_model(cfg.teacher_train, env_id, cfg.seed)
    teacher = live_teacher(model, f"{cfg.teacher_train} (trained online)")
    loop = new_loop(cfg, [teacher])
    task = loop.tasks[0]
    n_rounds = cfg.rounds or DEFAULT_ROUNDS
    every = max(1, cfg.teacher_steps // n_rounds)
    curves: list[dict[str, Any]] = []
    clock = {"distill_s": 0.0}

    def distil_round(teacher_steps: int) -> None:
        t0 = time.perf_counter()
        if task.buf.size:  # the teacher has moved on: relabel what the student has seen so far
            task.buf.targets[: task.buf.size] = teacher.outputs(task.buf.obs[: task.buf.size])
        _collect(loop, cfg, task, 0, n_rounds, progress, stop=lambda: False)
        _update(loop, cfg, n_rounds)
        loop.round += 1
        clock["distill_s"] += time.perf_counter() - t0
        seed = cfg.seed + 2_000_000
        t_ev = evaluate_policy(teacher, env_id, eval_episodes, seed)
        s_ev = evaluate_policy(loop.student, env_id, eval_episodes, seed, reference=teacher)
        curves.append({"teacher_steps": teacher_steps, "labelled_steps": loop.labelled,
                       "teacher_return": round(t_ev.mean, 2),
                       "student_return": round(s_ev.mean, 2),
                       "agreement": round(float(s_ev.agreement or 0.0), 4),
                       "distill_s": round(clock["distill_s"], 3)})

    class _Distil(BaseCallback):  # type: ignore[misc]
        def _on_step(self) -> bool:
            while loop.round < n_rounds and self.num_timesteps >= (loop.round + 1) * every:
                model.policy.set_training_mode(False)
                distil_round(self.num_timesteps)
            return True

    t_start = time.perf_counter()
    model.learn(total_timesteps=cfg.teacher_steps, callback=_Distil())
    model.policy.set_training_mode(False)
    while loop.round < n_rounds:  # rounding left some: finish them on the final teacher
        distil_round(model.num_timesteps)
    for t in loop.tasks:
        t.venv.close()
    loop.wall_s = time.perf_counter() - t_start
    outcome = TrainOutcome(loop.student, loop.tasks, loop.labelled, loop.updates, loop.wall_s,
                           loop.losses)
    return outcome, curves, model


def plot_curves(curves: list[dict[str, Any]], path: Path, title: str) -> Path | None:
    """Teacher and student return against the teacher's env steps (matplotlib, Agg)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    x = [c["teacher_steps"] for c in curves]
    ax.plot(x, [c["teacher_return"] for c in curves], "o-", label="teacher (learning)")
    ax.plot(x, [c["student_return"] for c in curves], "s-", label="student (distilled)")
    ax.set_xlabel("teacher env steps")
    ax.set_ylabel("mean return")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
