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
from collections.abc import Callable, Iterator
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
from rldistill.losses import Loss, default_temperature
from rldistill.schedules import parse_schedule
from rldistill.students import (Student, TaskView, arch_for_ratio, build_student, obs_dim,
                                parse_hidden, save_student)
from rldistill.teachers import EnsembleTeacher, Teacher, load_teachers

Progress = Callable[[int], None]


@dataclass
class Task:
    """One (teacher, env) pair of the run: its envs, its part of the buffer, its action log.

    A run has one task, or several for multi-task distillation (Rusu et al. 2015): the budget is
    split evenly between them, and each update takes one minibatch from every task.
    """

    env: str
    teacher: Teacher
    buf: Buffer
    venv: Any = None
    obs: np.ndarray | None = None
    labelled: int = 0
    actions: list[np.ndarray] = field(default_factory=list)  # replayed on resume
    losses: list[float] = field(default_factory=list)


@dataclass
class TrainOutcome:
    """What the loop produced, before evaluation."""

    student: Student
    tasks: list[Task]
    labelled_steps: int
    updates: int
    wall_s: float
    losses: list[float] = field(default_factory=list)

    @property
    def teacher(self) -> Teacher:
        return self.tasks[0].teacher


def make_student(cfg: DistillConfig, teachers: list[Teacher]) -> Student:
    """Sized from --param-ratio (against the teachers' summed params) or --student-hidden."""
    specs = [t.spec for t in teachers]
    if cfg.param_ratio is not None:
        arch = arch_for_ratio(specs, sum(t.params for t in teachers), cfg.param_ratio)
        return build_student(specs, arch.hidden)
    return build_student(specs, parse_hidden(cfg.student_hidden or "64,64"))


class Interrupted(Exception):
    """SIGINT arrived; a checkpoint was written at the step where the loop stopped."""


@dataclass
class _Loop:
    """Everything the loop mutates; exactly what a checkpoint holds."""

    student: Student
    opt: torch.optim.Optimizer
    tasks: list[Task]
    rng: np.random.Generator  # beta-mix draws
    gen: torch.Generator  # minibatch order
    round: int = 0
    phase: str = "collect"  # or "train": collection of ``round`` is done
    updates: int = 0
    wall_s: float = 0.0
    losses: list[float] = field(default_factory=list)

    @property
    def labelled(self) -> int:
        return sum(t.labelled for t in self.tasks)

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {**{f"student.{k}": v for k, v in self.student.state_dict().items()},
               **optimizer_tensors(self.opt), "rng.torch": self.gen.get_state()}
        for i, t in enumerate(self.tasks):
            acts = np.stack(t.actions) if t.actions else np.zeros((0, 0), np.int64)
            out |= {f"buffer.{i}.obs": t.buf.obs[: t.buf.size],
                    f"buffer.{i}.targets": t.buf.targets[: t.buf.size],
                    f"actions.{i}": torch.from_numpy(acts.astype(np.int64))}
        return out

    def state(self, cfg: DistillConfig) -> dict[str, Any]:
        return {"round": self.round, "phase": self.phase, "labelled": self.labelled,
                "updates": self.updates, "wall_s": self.wall_s, "losses": self.losses,
                "tasks": [{"labelled": t.labelled, "buffer_pos": t.buf.pos, "losses": t.losses}
                          for t in self.tasks],
                "rng_numpy": self.rng.bit_generator.state, "config": _resume_key(cfg, self.tasks)}


def _resume_key(cfg: DistillConfig, tasks: list[Task]) -> dict[str, Any]:
    """The options that must match for --resume (evaluation and output options may differ), with
    rounds and the update floor as the loop resolves them, so that a change of their defaults
    cannot slip past the check."""
    q = _has_q_teacher(tasks)
    d = cfg.to_dict() | {"rounds": cfg.n_rounds(q), "min_updates": cfg.updates_floor(q)}
    for k in ("out", "eval_episodes", "trust_teacher"):
        d.pop(k)
    return d


def make_optimizer(student: Student, lr: float) -> torch.optim.Optimizer:
    """Adam, fused where torch has it (about 20 % faster updates on CPU: benchmarks/README.md)."""
    try:
        return torch.optim.Adam(student.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(student.parameters(), lr=lr)


def load_task_teachers(cfg: DistillConfig) -> list[Teacher]:
    """One teacher per task (an ensemble where a task has several), checked against its env."""
    teachers = []
    for specs, env_id in cfg.tasks:
        teacher = load_teachers(specs, cfg.ensemble, trust=cfg.trust_teacher)
        check_match(teacher.spec, env_spec(env_id), teacher.name, env_id)
        teachers.append(teacher)
    return teachers


def new_loop(cfg: DistillConfig, teachers: list[Teacher]) -> _Loop:
    """A fresh loop: the student, its optimizer, and per task a buffer and reset envs."""
    torch.manual_seed(cfg.seed)
    student = make_student(cfg, teachers)
    variants = None
    if cfg.train_variant:
        name, values = parse_variants(cfg.train_variant)
        variants = [{name: v} for v in values]
    n = len(teachers)
    tasks = []
    for i, (t, (_, env_id)) in enumerate(zip(teachers, cfg.tasks)):
        size = cfg.budget * (i + 1) // n - cfg.budget * i // n
        task = Task(env_id, t, Buffer(size, obs_dim(t.spec), t.spec.n_actions),
                    make_vec_env(env_id, cfg.envs, cfg.seed + i, variants))
        task.obs = task.venv.reset(seed=cfg.seed + i)[0]
        tasks.append(task)
    return _Loop(student=student, opt=make_optimizer(student, cfg.lr), tasks=tasks,
                 rng=np.random.default_rng(cfg.seed), gen=torch.Generator().manual_seed(cfg.seed))


def train(cfg: DistillConfig, teacher: Teacher | None = None, progress: Progress | None = None,
          resume: bool = False) -> TrainOutcome:
    """Run the loop for ``cfg.budget`` labelled steps; returns the trained student.

    Checkpoints go to ``cfg.out/checkpoint.safetensors`` after every round and on SIGINT. With
    ``resume``, the loop continues from that checkpoint and ends with the same student as an
    uninterrupted run: the envs are restored by replaying the logged actions from the seed.
    """
    cfg.validate()
    loop = new_loop(cfg, [teacher] if teacher is not None else load_task_teachers(cfg))
    tasks = loop.tasks
    ckpt = Path(cfg.out) / CKPT_NAME
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    if resume:
        _restore(loop, cfg, ckpt)
        if progress:
            progress(loop.labelled)
    n_rounds = cfg.n_rounds(_has_q_teacher(tasks))
    interrupted: list[int] = []
    old_handler = _catch_sigint(interrupted)
    t0 = time.perf_counter() - loop.wall_s
    try:
        while loop.round < n_rounds:
            if loop.phase == "collect":
                # the student driver labels a round in one teacher call: a SIGINT lets the round
                # finish collecting (a fraction of a second), so that a resumed run labels the
                # same batches as an uninterrupted one (batch size can change float results)
                for i, task in enumerate(loop.tasks):
                    _collect(loop, cfg, task, i, n_rounds, progress,
                             stop=lambda: bool(interrupted) and cfg.driver != "student")
                if interrupted:
                    loop.wall_s = time.perf_counter() - t0
                    save_checkpoint(ckpt, loop.tensors(), loop.state(cfg))
                    raise Interrupted(f"interrupted at labelled step {loop.labelled}; "
                                      f"checkpoint written to {ckpt}: continue with --resume")
                loop.phase = "train"
            _update(loop, cfg, n_rounds)
            loop.round, loop.phase = loop.round + 1, "collect"
            loop.wall_s = time.perf_counter() - t0
            save_checkpoint(ckpt, loop.tensors(), loop.state(cfg))
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)
        for task in tasks:
            task.venv.close()
    return TrainOutcome(loop.student, tasks, loop.labelled, loop.updates, loop.wall_s,
                        loop.losses)


def _collect(loop: _Loop, cfg: DistillConfig, task: Task, i: int, n_rounds: int,
             progress: Progress | None, stop: Callable[[], bool]) -> None:
    """Collect this round's labelled steps of one task (or stop early when ``stop()``).

    Where the teacher acts (teacher and mix drivers) it labels every step as it goes; where only
    the student acts, the teacher labels the round's states in one batch at the end.
    """
    start = cfg.budget * loop.round // n_rounds
    target = task.buf.capacity * (loop.round + 1) // n_rounds
    beta = parse_schedule(cfg.beta)(start / cfg.budget, loop.round) if cfg.driver == "mix" else 0.0
    policy = loop.student.for_task(i)
    width = task.buf.obs.shape[1]
    deferred: list[torch.Tensor] = []
    while task.labelled < target and not stop():
        obs_np = task.obs
        obs = torch.from_numpy(obs_np[: target - task.labelled]).reshape(-1, width)
        if cfg.driver == "student":
            deferred.append(obs)
            t_out = None
        else:
            t_out = _label(task, obs, loop.labelled)
        actions = _actions(obs_np, obs, t_out, policy, cfg.driver, beta, loop.rng)
        task.actions.append(actions)
        task.obs = task.venv.step(actions)[0]  # a new array: ``obs`` above stays valid
        task.labelled += obs.shape[0]
        if progress:
            progress(obs.shape[0])
    if deferred:
        obs = torch.cat(deferred)
        _label(task, obs, loop.labelled - obs.shape[0])


def _label(task: Task, obs: torch.Tensor, first_step: int) -> torch.Tensor:
    """Teacher outputs for ``obs`` into the task's buffer; NaN/inf stops with the step number."""
    t_out = task.teacher.outputs(obs)
    bad = ~torch.isfinite(t_out).all(-1)
    if bad.any():
        step = first_step + int(bad.nonzero()[0, 0])
        raise UserError(f"teacher output holds NaN/inf at labelled step {step}: check the "
                        "teacher file; the last checkpoint is kept")
    task.buf.add(obs, t_out)
    return t_out


def _update(loop: _Loop, cfg: DistillConfig, n_rounds: int) -> None:
    """Train the student ``epochs`` passes over the (largest task's) buffer, at least
    min_updates / rounds; with several tasks, each update sums one minibatch loss per task.
    Each task's targets are prepared for the loss once per round, not once per minibatch."""
    loss_fns = [Loss(cfg.loss, cfg.temperature or default_temperature(t.teacher.kind),
                     t.teacher.kind, cfg.centred) for t in loop.tasks]
    largest = max(t.buf.size for t in loop.tasks)
    n_updates = max(math.ceil(cfg.updates_floor(_has_q_teacher(loop.tasks)) / n_rounds),
                    cfg.epochs_per_round * math.ceil(largest / cfg.batch))
    batches = [_endless_batches(t.buf, cfg.batch, loop.gen,
                                fn.prepare(t.buf.targets[: t.buf.size]))
               for t, fn in zip(loop.tasks, loss_fns)]
    loop.student.train()
    for _ in range(n_updates):
        task_losses = [loss_fns[i](loop.student(x, i), y)
                       for i, (x, y) in enumerate(next(b) for b in batches)]
        loss = sum(task_losses[1:], task_losses[0])
        loop.opt.zero_grad(set_to_none=True)
        loss.backward()
        loop.opt.step()
    loop.losses.append(float(loss.detach()))
    for task, task_loss in zip(loop.tasks, task_losses):
        task.losses.append(float(task_loss.detach()))
    loop.updates += n_updates
    loop.student.eval()


def _has_q_teacher(tasks: list[Task]) -> bool:
    """Whether any task's teacher (or ensemble member) outputs Q-values: such runs get more
    rounds and updates by default (config.py)."""
    return any(m.kind == "q" for t in tasks for m in getattr(t.teacher, "members", [t.teacher]))


def _endless_batches(buf: Buffer, batch_size: int, gen: torch.Generator, targets: torch.Tensor
                     ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled passes over ``buf`` with prepared ``targets``, one after another."""
    while True:
        yield from buf.epoch_batches(batch_size, gen, targets)


def _restore(loop: _Loop, cfg: DistillConfig, ckpt: Path) -> None:
    """Load the checkpoint into ``loop`` and bring the envs to where they were."""
    if not ckpt.exists():
        raise UserError(f"--resume: no checkpoint at {ckpt}: run without --resume to start")
    tensors, state = load_checkpoint(ckpt)
    key = _resume_key(cfg, loop.tasks)
    if state["config"] != key:
        diff = sorted(k for k, v in key.items() if state["config"].get(k) != v)
        raise UserError(f"--resume: the run in {cfg.out} used other options ({', '.join(diff)});"
                        " pass the same options, or --overwrite to start again")
    loop.student.load_state_dict({k[8:]: v for k, v in tensors.items()
                                  if k.startswith("student.")})
    restore_optimizer(loop.opt, tensors)
    loop.gen.set_state(tensors["rng.torch"])
    loop.rng.bit_generator.state = state["rng_numpy"]
    for k in ("round", "phase", "updates", "wall_s", "losses"):
        setattr(loop, k, state[k])
    for i, (task, ts) in enumerate(zip(loop.tasks, state["tasks"])):
        size = tensors[f"buffer.{i}.obs"].shape[0]
        task.buf.obs[:size] = tensors[f"buffer.{i}.obs"]
        task.buf.targets[:size] = tensors[f"buffer.{i}.targets"]
        task.buf.size, task.buf.pos = size, ts["buffer_pos"]
        task.labelled, task.losses = ts["labelled"], ts["losses"]
        for row in tensors[f"actions.{i}"].numpy():
            task.actions.append(row)
            task.obs = task.venv.step(row)[0]


def _catch_sigint(flag: list[int]) -> Any:
    """Make SIGINT append to ``flag`` instead of raising; returns the handler to put back."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, lambda *_: flag.append(1))


def _actions(obs_np: np.ndarray, obs: torch.Tensor, t_out: torch.Tensor | None, student: TaskView,
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


def _teacher_meta(t: Teacher) -> dict[str, Any]:
    return {"name": t.name, "kind": t.kind, "params": t.params}


def _spaces(t: Teacher) -> dict[str, Any]:
    return {"obs_shape": list(t.spec.obs_shape), "n_actions": t.spec.n_actions}


def student_meta(cfg: DistillConfig, tasks: list[Task]) -> dict[str, Any]:
    """What student.json holds besides the architecture: env(s), teacher(s), spaces, config."""
    if len(tasks) == 1:
        t = tasks[0].teacher
        return {"env": tasks[0].env, "teacher": _teacher_meta(t), "spaces": _spaces(t),
                "config": cfg.to_dict()}
    return {"env": [t.env for t in tasks],
            "tasks": [{"env": t.env, "teacher": _teacher_meta(t.teacher),
                       "spaces": _spaces(t.teacher)} for t in tasks],
            "config": cfg.to_dict()}


def save_outcome(cfg: DistillConfig, outcome: TrainOutcome) -> Path:
    out = Path(cfg.out)
    save_student(outcome.student, out, student_meta(cfg, outcome.tasks))
    return out


def score_tasks(student: Student, tasks: list[tuple[str, Teacher]], episodes: int, seed: int,
                cache: dict[tuple[Any, ...], Any] | None = None) -> list[dict[str, Any]]:
    """The score block of each task; an ensemble's also scores the student against each member."""
    from rldistill.evaluate import score_student

    blocks = []
    for i, (env_id, teacher) in enumerate(tasks):
        view = student.for_task(i)
        block = score_student(view, teacher, env_id, episodes, seed=seed, cache=cache)
        block["student"]["hidden"] = list(student.arch.hidden)
        if isinstance(teacher, EnsembleTeacher):
            block["ensemble"] = teacher.mode
            block["members"] = []
            for m in teacher.members:
                ms = score_student(view, m, env_id, episodes, seed=seed, cache=cache)
                block["members"].append({"name": m.name, "kind": m.kind, "params": m.params,
                                         **{k: ms["teacher"][k] for k in ("return_mean",
                                                                          "return_ci95")},
                                         "student_normalized_score": ms["normalized_score"],
                                         "agreement": ms["agreement"]})
        blocks.append(block)
    return blocks


def multitask_result(blocks: list[dict[str, Any]], tasks: list[tuple[str, Teacher]],
                     student: Student) -> dict[str, Any]:
    """The result of a multi-task run: per task, and the student against all teachers."""
    t_params = sum(t.params for _, t in tasks)
    scores = [b["normalized_score"] for b in blocks]
    return {"env": [e for e, _ in tasks],
            "tasks": [{"env": e, "teacher_params": t.params, **b}
                      for (e, t), b in zip(tasks, blocks)],
            "student": {"params": student.params, "hidden": list(student.arch.hidden)},
            "teacher": {"name": " | ".join(t.name for _, t in tasks), "params": t_params},
            "param_ratio": round(student.params / t_params, 4),
            "normalized_score": (None if None in scores else
                                 round(sum(scores) / len(scores), 4)),
            "normalized_score_min": None if None in scores else min(scores),
            "agreement": round(sum(b["agreement"] for b in blocks) / len(blocks), 4),
            "eval_s": round(sum(b["eval_s"] for b in blocks), 2)}


def run(cfg: DistillConfig, progress: Progress | None = None,
        cache: dict[tuple[Any, ...], Any] | None = None, resume: bool = False) -> dict[str, Any]:
    """Train, save the student to ``cfg.out``, evaluate; the result dict (also result.json)."""
    import json

    online: dict[str, Any] = {}
    if cfg.teacher_train:
        from rldistill.online import plot_curves, train_online

        if resume:
            raise UserError("--resume: online runs (--teacher-train) cannot resume yet, since "
                            "the SB3 teacher's state is not checkpointed: start again")
        outcome, curves, model = train_online(cfg, progress)
        model.save(Path(cfg.out) / "teacher_sb3.zip")
        png = plot_curves(curves, Path(cfg.out) / "curves.png",
                          f"online distillation on {cfg.env}")
        online = {"curves": curves, "curves_png": str(png) if png else None,
                  "teacher_zip": str(Path(cfg.out) / "teacher_sb3.zip")}
    else:
        outcome = train(cfg, progress=progress, resume=resume)
    out = save_outcome(cfg, outcome)
    tasks = [(t.env, t.teacher) for t in outcome.tasks]
    blocks = score_tasks(outcome.student, tasks, cfg.eval_episodes, cfg.seed + 1_000_000, cache)
    scores = ({"env": cfg.env, **blocks[0]} if len(tasks) == 1
              else multitask_result(blocks, tasks, outcome.student))
    if len(tasks) > 1:
        for block, task in zip(scores["tasks"], outcome.tasks):
            block["labelled_steps"] = task.labelled
            block["final_loss"] = round(task.losses[-1], 6) if task.losses else None
    result = {**scores, "labelled_steps": outcome.labelled_steps,
              "updates": outcome.updates, "wall_s": round(outcome.wall_s, 3),
              "final_loss": round(outcome.losses[-1], 6) if outcome.losses else None,
              "config": cfg.to_dict(), **online}
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    return result
