"""The one training loop: collect (someone drives, the teacher labels) -> update -> checkpoint.

Every method is this loop with other settings (see DESIGN.md): ``driver=teacher`` with one round
and many epochs is offline (dataset) distillation, ``driver=student`` is student-driven
distillation (Czarnecki et al. 2019), ``driver=mix`` is DAgger (Ross et al. 2011) with beta on a
schedule. States are aggregated in one buffer; after each round the student trains ``epochs``
passes over it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.buffer import Buffer
from rldistill.config import DistillConfig
from rldistill.envs import check_match, env_spec, make_vec_env
from rldistill.errors import UserError
from rldistill.losses import default_temperature, get_loss
from rldistill.schedules import parse_schedule
from rldistill.students import Student, arch_for_ratio, build_student, parse_hidden, save_student
from rldistill.teachers import Teacher, load_teacher

Progress = Callable[[int], None]


@dataclass
class TrainOutcome:
    """What the loop produced, before evaluation."""

    student: Student
    teacher: Teacher
    labelled_steps: int
    updates: int
    wall_s: float
    losses: list[float] = field(default_factory=list)


def make_student(cfg: DistillConfig, teacher: Teacher) -> Student:
    if cfg.param_ratio is not None:
        arch = arch_for_ratio(teacher.spec, teacher.params, cfg.param_ratio)
        return build_student(teacher.spec, arch.hidden)
    return build_student(teacher.spec, parse_hidden(cfg.student_hidden or "64,64"))


def train(cfg: DistillConfig, teacher: Teacher | None = None,
          progress: Progress | None = None) -> TrainOutcome:
    """Run the loop for ``cfg.budget`` labelled steps; returns the trained student."""
    cfg.validate()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    teacher = teacher or load_teacher(cfg.teacher, trust=cfg.trust_teacher)
    check_match(teacher.spec, env_spec(cfg.env), teacher.name, cfg.env)
    student = make_student(cfg, teacher)
    loss_fn = get_loss(cfg.loss)
    tau = cfg.temperature or default_temperature(teacher.kind)
    loss_kwargs: dict[str, Any] = {"temperature": tau, "teacher_kind": teacher.kind}
    if cfg.loss == "mse":
        loss_kwargs["centred"] = cfg.centred
    beta = parse_schedule(cfg.beta)
    opt = torch.optim.Adam(student.parameters(), lr=cfg.lr)
    buf = Buffer(cfg.budget, student.arch.obs_dim, teacher.spec.n_actions)
    venv = make_vec_env(cfg.env, cfg.n_envs, cfg.seed)
    obs_np, _ = venv.reset(seed=cfg.seed)
    n_rounds = 1 if cfg.driver == "teacher" else min(cfg.rounds, cfg.budget)
    labelled, updates, losses = 0, 0, []
    t0 = time.perf_counter()
    for rnd in range(n_rounds):
        target = cfg.budget * (rnd + 1) // n_rounds
        b = beta(labelled / cfg.budget, rnd) if cfg.driver == "mix" else 0.0
        while labelled < target:
            obs = torch.from_numpy(obs_np[: target - labelled]).reshape(-1, student.arch.obs_dim)
            t_out = teacher.outputs(obs)
            if not torch.isfinite(t_out).all():
                raise UserError(f"teacher output holds NaN/inf at labelled step {labelled}: "
                                "check the teacher file; the last checkpoint is kept")
            buf.add(obs, t_out)
            obs_np = _step(venv, obs_np, obs, t_out, student, cfg.driver, b, rng)
            labelled += obs.shape[0]
            if progress:
                progress(obs.shape[0])
        student.train()
        n_updates = max(math.ceil(cfg.min_updates / n_rounds),
                        cfg.epochs_per_round * math.ceil(buf.size / cfg.batch_size))
        done = 0
        while done < n_updates:
            for x, y in buf.epoch_batches(cfg.batch_size, gen)[: n_updates - done]:
                loss, _ = loss_fn(student(x), y, **loss_kwargs)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                done += 1
            losses.append(float(loss.detach()))
        updates += done
        student.eval()
    venv.close()
    return TrainOutcome(student, teacher, labelled, updates, time.perf_counter() - t0, losses)


def _step(venv: Any, obs_np: np.ndarray, obs: torch.Tensor, t_out: torch.Tensor,
          student: Student, driver: str, beta: float, rng: np.random.Generator) -> np.ndarray:
    """Pick the actions (teacher's greedy, student's greedy, or a beta-mix) and step all envs."""
    n = obs_np.shape[0]
    if driver == "teacher" or (driver == "mix" and beta >= 1.0):
        actions = t_out.argmax(-1).numpy()
    else:
        actions = student.act(obs).numpy()
        if driver == "mix" and beta > 0.0:
            teacher_acts = rng.random(len(actions)) < beta
            actions = np.where(teacher_acts, t_out.argmax(-1).numpy(), actions)
    if actions.shape[0] < n:  # the last partial batch: the remaining envs act too, unlabelled
        actions = np.concatenate([actions, student.act(torch.from_numpy(obs_np[actions.shape[0]:])
                                                       .reshape(n - actions.shape[0], -1)).numpy()])
    obs_np, _, _, _, _ = venv.step(actions)
    return obs_np


def student_meta(cfg: DistillConfig, teacher: Teacher) -> dict[str, Any]:
    return {"env": cfg.env, "teacher": {"name": teacher.name, "kind": teacher.kind,
                                        "params": teacher.params},
            "spaces": {"obs_shape": list(teacher.spec.obs_shape),
                       "n_actions": teacher.spec.n_actions},
            "config": cfg.to_dict()}


def save_outcome(cfg: DistillConfig, outcome: TrainOutcome) -> Path:
    out = Path(cfg.out)
    save_student(outcome.student, out, student_meta(cfg, outcome.teacher))
    return out


def run(cfg: DistillConfig, progress: Progress | None = None,
        cache: dict[tuple[Any, ...], Any] | None = None) -> dict[str, Any]:
    """Train, save the student to ``cfg.out``, evaluate; the result dict (also result.json)."""
    import json

    from rldistill.evaluate import score_student

    outcome = train(cfg, progress=progress)
    out = save_outcome(cfg, outcome)
    scores = score_student(outcome.student, outcome.teacher, cfg.env, cfg.eval_episodes,
                           seed=cfg.seed + 1_000_000, cache=cache)
    scores["student"]["hidden"] = list(outcome.student.arch.hidden)
    result = {"env": cfg.env, **scores, "labelled_steps": outcome.labelled_steps,
              "updates": outcome.updates, "wall_s": round(outcome.wall_s, 3),
              "final_loss": round(outcome.losses[-1], 6) if outcome.losses else None,
              "config": cfg.to_dict()}
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    return result
