"""The one training loop: collect (someone drives, the teacher labels) -> update -> checkpoint.

Every method is this loop with other settings (see DESIGN.md): ``driver=teacher`` with one round
and many epochs is offline (dataset) distillation, ``driver=student`` is student-driven
distillation (Czarnecki et al. 2019), ``driver=mix`` is DAgger (Ross et al. 2011) with beta on a
schedule. States are aggregated in one buffer; after each round the student trains ``epochs``
passes over it.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.buffer import Buffer
from rldistill.checkpoint import (CKPT_NAME, load_checkpoint, optimizer_tensors,
                                  restore_optimizer, save_checkpoint)
from rldistill.config import DistillConfig
from rldistill.envs import check_match, env_spec, make_vec_env, parse_variants
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


class Interrupted(Exception):
    """SIGINT arrived; a checkpoint was written at the step where the loop stopped."""


@dataclass
class _Loop:
    """Everything the loop mutates; exactly what a checkpoint holds."""

    student: Student
    opt: torch.optim.Optimizer
    buf: Buffer
    rng: np.random.Generator  # beta-mix draws
    gen: torch.Generator  # minibatch order
    actions: list[np.ndarray]  # every env action so far: replayed to restore the envs on resume
    round: int = 0
    phase: str = "collect"  # or "train": collection of ``round`` is done
    labelled: int = 0
    updates: int = 0
    wall_s: float = 0.0
    losses: list[float] = field(default_factory=list)

    def tensors(self) -> dict[str, torch.Tensor]:
        n_envs = self.actions[0].shape[0] if self.actions else 0
        acts = np.stack(self.actions) if self.actions else np.zeros((0, n_envs), np.int64)
        return {**{f"student.{k}": v for k, v in self.student.state_dict().items()},
                **optimizer_tensors(self.opt),
                "buffer.obs": self.buf.obs[: self.buf.size], "rng.torch": self.gen.get_state(),
                "buffer.targets": self.buf.targets[: self.buf.size],
                "actions": torch.from_numpy(acts.astype(np.int64))}

    def state(self, cfg: DistillConfig) -> dict[str, Any]:
        return {"round": self.round, "phase": self.phase, "labelled": self.labelled,
                "updates": self.updates, "wall_s": self.wall_s, "losses": self.losses,
                "buffer_pos": self.buf.pos, "rng_numpy": self.rng.bit_generator.state,
                "config": _resume_key(cfg)}


def _resume_key(cfg: DistillConfig) -> dict[str, Any]:
    """The options that must match for --resume (evaluation and output options may differ)."""
    d = cfg.to_dict()
    for k in ("out", "eval_episodes", "trust_teacher"):
        d.pop(k)
    return d


def train(cfg: DistillConfig, teacher: Teacher | None = None, progress: Progress | None = None,
          resume: bool = False) -> TrainOutcome:
    """Run the loop for ``cfg.budget`` labelled steps; returns the trained student.

    Checkpoints go to ``cfg.out/checkpoint.safetensors`` after every round and on SIGINT. With
    ``resume``, the loop continues from that checkpoint and ends with the same student as an
    uninterrupted run: the envs are restored by replaying the logged actions from the seed.
    """
    cfg.validate()
    torch.manual_seed(cfg.seed)
    teacher = teacher or load_teacher(cfg.teacher, trust=cfg.trust_teacher)
    check_match(teacher.spec, env_spec(cfg.env), teacher.name, cfg.env)
    student = make_student(cfg, teacher)
    loop = _Loop(student=student, opt=torch.optim.Adam(student.parameters(), lr=cfg.lr),
                 buf=Buffer(cfg.budget, student.arch.obs_dim, teacher.spec.n_actions),
                 rng=np.random.default_rng(cfg.seed),
                 gen=torch.Generator().manual_seed(cfg.seed), actions=[])
    ckpt = Path(cfg.out) / CKPT_NAME
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    variants = None
    if cfg.train_variant:
        name, values = parse_variants(cfg.train_variant)
        variants = [{name: v} for v in values]
    venv = make_vec_env(cfg.env, cfg.n_envs, cfg.seed, variants)
    obs_np, _ = venv.reset(seed=cfg.seed)
    if resume:
        obs_np = _restore(loop, cfg, ckpt, venv, obs_np)
        if progress:
            progress(loop.labelled)
    n_rounds = 1 if cfg.driver == "teacher" else min(cfg.rounds, cfg.budget)
    interrupted: list[int] = []
    old_handler = _catch_sigint(interrupted)
    t0 = time.perf_counter() - loop.wall_s
    try:
        while loop.round < n_rounds:
            if loop.phase == "collect":
                obs_np = _collect(loop, cfg, teacher, venv, obs_np, n_rounds, progress,
                                  stop=lambda: bool(interrupted))
                if interrupted:
                    loop.wall_s = time.perf_counter() - t0
                    save_checkpoint(ckpt, loop.tensors(), loop.state(cfg))
                    raise Interrupted(f"interrupted at labelled step {loop.labelled}; "
                                      f"checkpoint written to {ckpt}: continue with --resume")
                loop.phase = "train"
            _update(loop, cfg, teacher, n_rounds)
            loop.round, loop.phase = loop.round + 1, "collect"
            loop.wall_s = time.perf_counter() - t0
            save_checkpoint(ckpt, loop.tensors(), loop.state(cfg))
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)
        venv.close()
    return TrainOutcome(student, teacher, loop.labelled, loop.updates, loop.wall_s, loop.losses)


def _collect(loop: _Loop, cfg: DistillConfig, teacher: Teacher, venv: Any, obs_np: np.ndarray,
             n_rounds: int, progress: Progress | None, stop: Callable[[], bool]) -> np.ndarray:
    """Collect this round's labelled steps (or stop early when ``stop()`` turns true)."""
    start = cfg.budget * loop.round // n_rounds
    target = cfg.budget * (loop.round + 1) // n_rounds
    beta = parse_schedule(cfg.beta)(start / cfg.budget, loop.round) if cfg.driver == "mix" else 0.0
    obs_dim = loop.student.arch.obs_dim
    while loop.labelled < target and not stop():
        obs = torch.from_numpy(obs_np[: target - loop.labelled]).reshape(-1, obs_dim)
        t_out = teacher.outputs(obs)
        if not torch.isfinite(t_out).all():
            raise UserError(f"teacher output holds NaN/inf at labelled step {loop.labelled}: "
                            "check the teacher file; the last checkpoint is kept")
        loop.buf.add(obs, t_out)
        actions = _actions(obs_np, obs, t_out, loop.student, cfg.driver, beta, loop.rng)
        loop.actions.append(actions)
        obs_np = venv.step(actions)[0]
        loop.labelled += obs.shape[0]
        if progress:
            progress(obs.shape[0])
    return obs_np


def _update(loop: _Loop, cfg: DistillConfig, teacher: Teacher, n_rounds: int) -> None:
    """Train the student ``epochs`` passes over the buffer (at least min_updates / rounds)."""
    loss_fn = get_loss(cfg.loss)
    kwargs: dict[str, Any] = {"temperature": cfg.temperature or default_temperature(teacher.kind),
                              "teacher_kind": teacher.kind}
    if cfg.loss == "mse":
        kwargs["centred"] = cfg.centred
    n_updates = max(math.ceil(cfg.min_updates / n_rounds),
                    cfg.epochs_per_round * math.ceil(loop.buf.size / cfg.batch_size))
    loop.student.train()
    done = 0
    while done < n_updates:
        for x, y in loop.buf.epoch_batches(cfg.batch_size, loop.gen)[: n_updates - done]:
            loss, _ = loss_fn(loop.student(x), y, **kwargs)
            loop.opt.zero_grad(set_to_none=True)
            loss.backward()
            loop.opt.step()
            done += 1
        loop.losses.append(float(loss.detach()))
    loop.updates += done
    loop.student.eval()


def _restore(loop: _Loop, cfg: DistillConfig, ckpt: Path, venv: Any, obs_np: np.ndarray
             ) -> np.ndarray:
    """Load the checkpoint into ``loop`` and bring the envs to where they were."""
    if not ckpt.exists():
        raise UserError(f"--resume: no checkpoint at {ckpt}: run without --resume to start")
    tensors, state = load_checkpoint(ckpt)
    if state["config"] != _resume_key(cfg):
        diff = sorted(k for k, v in _resume_key(cfg).items() if state["config"].get(k) != v)
        raise UserError(f"--resume: the run in {cfg.out} used other options ({', '.join(diff)});"
                        " pass the same options, or --overwrite to start again")
    loop.student.load_state_dict({k[8:]: v for k, v in tensors.items()
                                  if k.startswith("student.")})
    restore_optimizer(loop.opt, tensors)
    size = tensors["buffer.obs"].shape[0]
    loop.buf.obs[:size], loop.buf.targets[:size] = tensors["buffer.obs"], tensors["buffer.targets"]
    loop.buf.size, loop.buf.pos = size, state["buffer_pos"]
    loop.gen.set_state(tensors["rng.torch"])
    loop.rng.bit_generator.state = state["rng_numpy"]
    for k in ("round", "phase", "labelled", "updates", "wall_s", "losses"):
        setattr(loop, k, state[k])
    for row in tensors["actions"].numpy():
        loop.actions.append(row)
        obs_np = venv.step(row)[0]
    return obs_np


def _catch_sigint(flag: list[int]) -> Any:
    """Make SIGINT append to ``flag`` instead of raising; returns the handler to put back."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, lambda *_: flag.append(1))


def _actions(obs_np: np.ndarray, obs: torch.Tensor, t_out: torch.Tensor, student: Student,
             driver: str, beta: float, rng: np.random.Generator) -> np.ndarray:
    """Actions for all envs: the teacher's greedy, the student's greedy, or a beta-mix."""
    n = obs_np.shape[0]
    if driver == "teacher" or (driver == "mix" and beta >= 1.0):
        actions = t_out.argmax(-1).numpy()
    else:
        actions = student.act(obs).numpy()
        if driver == "mix" and beta > 0.0:
            teacher_acts = rng.random(len(actions)) < beta
            actions = np.where(teacher_acts, t_out.argmax(-1).numpy(), actions)
    if actions.shape[0] < n:  # the last partial batch: the remaining envs act too, unlabelled
        rest = torch.from_numpy(obs_np[actions.shape[0]:]).reshape(n - actions.shape[0], -1)
        actions = np.concatenate([actions, student.act(rest).numpy()])
    return actions


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
        cache: dict[tuple[Any, ...], Any] | None = None, resume: bool = False) -> dict[str, Any]:
    """Train, save the student to ``cfg.out``, evaluate; the result dict (also result.json)."""
    import json

    from rldistill.evaluate import score_student

    outcome = train(cfg, progress=progress, resume=resume)
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
