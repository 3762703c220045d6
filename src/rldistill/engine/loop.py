"""The one distillation loop: collect a round (the driver acts, the teacher labels: engine/
acting.py, collect.py) -> update the student on the aggregated buffer -> checkpoint. Every
method is this loop with other settings or hooks (DESIGN.md): offline distillation runs its
rounds one after another (:meth:`Loop.run`), ``--budget auto`` adds a hook that stops it,
online distillation runs a round (:meth:`Loop.run_round`) whenever the learning teacher has
taken enough steps, with a hook that relabels the buffer first. Everything that depends on the
action space is asked of the task's action head."""

from __future__ import annotations

import contextlib
import functools
import math
import operator
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.core.config import MANY_ROWS, RESUMABLE, DistillConfig, changed_options
from rldistill.engine.acting import Driver
from rldistill.engine.buffer import Buffer, torch_dtype
from rldistill.engine.ahead import collect_ahead, plays_ahead
from rldistill.engine.collect import LABEL_CHUNK, Progress, collect
from rldistill.engine.perturb import check_neighbourhoods, neighbourhoods
from rldistill.engine.rundir import other_options, other_plan
from rldistill.engine.checkpoint import (CKPT_NAME, load_checkpoint, load_loop_state, loop_state,
                                         restore_loop, save_loop)
from rldistill.engine.state import Fresh, Hook, RoundMetrics, Task, grad_norms
from rldistill.envs.recipe import frame_layout
from rldistill.envs.make import (BatchEnv, make_vec_env, parse_variants, student_view,
                                 task_env)
from rldistill.core.device import resolve_device, to_device
from rldistill.core.errors import Interrupted, UserError
from rldistill.core.signals import sigint_flag
from rldistill.heads import TrainLoss
from rldistill.students.build import make_optimizer, make_student
from rldistill.students.convs import atari_sized
from rldistill.sources.base import Teacher, all_members, has_q_teacher

AUTO_PLAN = 10_000  # with --budget auto: rounds, envs, batch and update floor as for this budget
CNN_BATCH = 256  # a CNN student's minibatch at most, unless --batch-size says otherwise


Callback = Callable[["Loop", RoundMetrics], None]


class Loop:
    """The loop's state (student, optimizer, buffers, envs, RNGs, counters) and its steps.

    ``collect_round`` / ``update_round`` / ``relabel`` are the steps a driver calls;
    ``state_dict`` / ``load_state_dict`` and ``save`` / ``resume`` make it restartable, bit for
    bit (the envs are restored by replaying the logged actions from the seed). Values that
    defaults derive from the budget (envs, batch, rounds, update floor) are resolved once here,
    so that a resumed run whose budget grew keeps them."""

    def __init__(self, cfg: DistillConfig, teachers: list[Teacher],
                 callbacks: list[Callback] | tuple[Callback, ...] = (),
                 envs: Sequence[str] | None = None) -> None:
        cfg.validate()
        self.cfg, self.callbacks = cfg, list(callbacks)
        self.device = resolve_device(cfg.device)  # where the networks compute: core/device.py
        # --budget auto: planned as the default budget, then extended to the cap
        planned = cfg.replace(budget=min(cfg.budget, AUTO_PLAN)) if cfg.auto_budget else cfg
        # each task's env with the wrappers the teacher's source names (unless given)
        env_ids = list(envs) if envs else [task_env(env_id, t, cfg) for t, (_, env_id)
                                           in zip(teachers, cfg.tasks)]
        self.n_envs = planned.envs
        venvs = self._make_envs(env_ids)
        self.student = make_student(planned, teachers, [student_view(v, t.spec)
                                                        for v, t in zip(venvs, teachers)])
        self.student.reset_parameters(torch.Generator().manual_seed(cfg.seed))
        if self.device.type != "cpu":  # on the CPU nothing moves
            self.student.to(self.device)
            for teacher in teachers:
                teacher.to_device(self.device)
        self.plan = self._plan(planned, has_q_teacher(teachers), teachers)
        self.budget = self.base_budget = planned.budget  # base: what the plan comes from
        self.tasks = [self._task(i, t, venv, env_id)
                      for i, (t, venv, env_id) in enumerate(zip(teachers, venvs, env_ids))]
        self.driver = Driver.make(self.plan["driver"], self.plan["beta"], cfg.dart)
        self.loss_fns: list[TrainLoss] = [
            t.head.loss(cfg.loss or t.head.default_loss,
                        cfg.loss_temperature(t.head.default_temperature(t.teacher.kind)),
                        t.teacher.kind, cfg.centred) for t in self.tasks]
        check_neighbourhoods(cfg, self.student, any(v.teacher_obs is not None for v in venvs),
                             [t.head for t in self.tasks])
        self.noise_gen = torch.Generator().manual_seed(cfg.seed + 2)  # --perturb, --sobolev, --dart
        self.around = [neighbourhoods(cfg, t.teacher, fn, self.noise_gen)
                       for t, fn in zip(self.tasks, self.loss_fns)]
        self.opt = make_optimizer(self.student, cfg.lr)
        self.rng = np.random.default_rng(cfg.seed)  # beta-mix draws
        self.gen, self.act_gen = (torch.Generator().manual_seed(cfg.seed),  # minibatch order,
                                  torch.Generator().manual_seed(cfg.seed + 1))  # --explore
        self.round, self.phase, self.updates, self.teacher_queries = 0, "collect", 0, 0
        self.losses: list[float] = []
        self.notes: dict[str, Any] = {}  # a driver's own state, checkpointed with the loop
        self.interrupted: list[int] = []  # SIGINT seen during run()
        self._clock, self._stopped = time.perf_counter(), 0.0  # see wall_s
        self.extend(cfg.budget)

    def _make_envs(self, env_ids: list[str]) -> list[BatchEnv]:
        """Each task's ``n_envs`` training envs (local, or stepped by --collectors actors),
        env ``j`` of task ``i`` reset with seed ``seed + i + j``, on --train-variant's values."""
        cfg, variants = self.cfg, None
        if cfg.train_variant:
            name, values = parse_variants(cfg.train_variant)
            variants = [{name: v} for v in values]
        if cfg.collectors:
            from rldistill.envs.remote import remote_vec_env
            cpus = cfg.collectors * len(env_ids) + 1  # a local Ray: every task's actors
            return [remote_vec_env(env_id, self.n_envs, cfg.seed + i, variants, cfg.collectors,
                                   cfg.ray_address, cpus) for i, env_id in enumerate(env_ids)]
        return [make_vec_env(env_id, self.n_envs, cfg.seed + i, variants)
                for i, env_id in enumerate(env_ids)]

    def _plan(self, cfg: DistillConfig, q_teacher: bool, teachers: list[Teacher]
              ) -> dict[str, Any]:
        """What the defaults resolve to for this run (rounds, epochs, batch, the per-round
        update floor, the driver), once: a resumed run must resolve them alike."""
        self.n_rounds, self.epochs = cfg.n_rounds(q_teacher), cfg.epochs_per_round
        # CNN students learn better from more, smaller steps (benchmarks/pixels/README.md)
        self.batch = cfg.batch_size or (min(cfg.batch, CNN_BATCH) if self.student.arch.conv
                                        else cfg.batch)
        rows = max(t.head.update_rows(m.kind) for t in teachers for m in all_members(t))
        # recurrent students and CNNs on small frames underfit at an MLP's rows: as many as for
        # Q-value teachers (benchmarks/views/, pixels/; not on Atari frames: 16k updates ~ 1 h)
        arch = self.student.arch
        if self.student.recurrent or (arch.conv and not atari_sized(arch.frame)):
            rows = max(rows, MANY_ROWS)
        self.floor_per_round = math.ceil(cfg.replace(batch_size=self.batch).updates_floor(rows)
                                         / self.n_rounds)
        # --driver, or the heads' default (mix where any task's head prefers it)
        defaults = {t.head.default_driver for t in teachers}
        driver = cfg.driver or ("mix" if "mix" in defaults else defaults.pop())
        betas = {t.head.default_beta for t in teachers}
        return {"rounds": self.n_rounds, "n_envs": self.n_envs, "epochs": self.epochs,
                "batch": self.batch, "updates_per_round": self.floor_per_round,
                "driver": driver, "beta": cfg.beta or (betas.pop() if len(betas) == 1
                                                      else "exp:0.5")}

    def _task(self, i: int, teacher: Teacher, venv: BatchEnv, env_id: str) -> Task:
        """Task ``i``: its share of the budget, buffer (both views where the student sees a
        view), envs reset, round plan and (recurrent students) acting state."""
        n, budget = len(self.cfg.tasks), self.budget
        size = budget * (i + 1) // n - budget * i // n
        spec = self.student.specs[i]
        views = venv.teacher_obs is not None
        buf = Buffer(size, spec.obs_shape, torch_dtype(spec.obs_dtype),
                     teacher.head.target_shape(), frame_layout(venv.envs[0]),
                     sequences=self.student.recurrent, keys=spec.keys,
                     teacher_obs=(teacher.spec.obs_shape, torch_dtype(teacher.spec.obs_dtype))
                     if views else None)
        task = Task(env_id, teacher, teacher.head, buf, venv,
                    venv.reset(seed=self.cfg.seed + i)[0], np.ones(self.n_envs, bool),
                    [size * (r + 1) // self.n_rounds for r in range(self.n_rounds)],
                    tobs=None if venv.teacher_obs is None else venv.teacher_obs.copy())
        if self.student.recurrent:
            task.memory = self.student.initial_state(self.n_envs)
            task.gap = np.zeros(self.n_envs, bool)
        return task

    @property
    def wall_s(self) -> float:
        """Seconds the loop has run: from the end of its construction (or of its restore, plus
        the time before the checkpoint) to now, or to :meth:`close` (checkpoints included)."""
        return (self._stopped or time.perf_counter()) - self._clock

    @property
    def labelled(self) -> int:
        return sum(t.labelled for t in self.tasks)

    @property
    def env_steps(self) -> int:
        """Env steps of the collection: what a user pays for (quick and final evaluations
        aside); several labelled steps per env step where the envs run in parallel."""
        return sum(t.env_steps for t in self.tasks)

    @property
    def done(self) -> bool:
        return self.round >= self.n_rounds

    def collect_round(self, progress: Progress | None = None,
                      stop: Callable[[], bool] = lambda: False) -> bool:
        """Collect this round's labelled steps of every task (or stop early when ``stop()``);
        True when the round's collection is complete."""
        for i, task in enumerate(self.tasks):
            (collect_ahead if plays_ahead(task) else collect)(self, i, task, progress, stop)
        if complete := all(t.labelled >= t.ends[self.round] for t in self.tasks):
            self.phase = "train"
        return complete

    def update_round(self) -> RoundMetrics:
        """Train the student ``epochs`` passes over the (largest task's) buffer, at least the
        update floor's share of this round; with several tasks, each update sums one minibatch
        loss per task. Targets are prepared for the loss once per round, not per minibatch."""
        largest = max(t.buf.size for t in self.tasks)
        n_updates = max(self.floor_per_round, self.epochs * math.ceil(largest / self.batch))
        batches = [self._batches(t, fn.prepare(t.buf.targets[: t.buf.size]))
                   for t, fn in zip(self.tasks, self.fitted_losses())]
        for around, t in zip(self.around, self.tasks):
            for term in around:
                term.set_spread(t.buf.observations(slice(0, t.buf.size)))
        self.student.train()
        clip, norms = self.cfg.grad_clip, []
        for _ in range(n_updates):
            terms = [self._terms(i, x, y) for i, (x, y) in enumerate(next(b) for b in batches)]
            task_losses = [functools.reduce(operator.add, t.values()) for t in terms]
            loss = functools.reduce(operator.add, task_losses)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip:  # a few extreme targets cannot undo the student in a round
                norms.append(torch.nn.utils.clip_grad_norm_(self.student.parameters(), clip))
            self.opt.step()
        self.student.eval()
        last = float(loss.detach())
        if not math.isfinite(last):  # before the checkpoint: the last one stays
            raise UserError(f"the student's loss became {last} in round "
                            f"{self.round + 1}: training diverged; the last checkpoint is kept: "
                            "run again with a smaller --lr (or --loss mse)")
        self.losses.append(last)
        fresh = [m for m in (t.fresh.means() for t in self.tasks) if m is not None]
        for task, task_loss in zip(self.tasks, task_losses):
            task.losses.append(float(task_loss.detach()))
            task.fresh = Fresh()
        self.updates += n_updates
        self.round, self.phase = self.round + 1, "collect"
        metrics = RoundMetrics(self.round, self.labelled, self.updates, self.losses[-1],
                               [t.losses[-1] for t in self.tasks], self.wall_s,
                               min((a for a, _ in fresh), default=math.nan),
                               max((kl for _, kl in fresh), default=math.nan),
                               {(f"task{i}/" if len(terms) > 1 else "") + k: float(v.detach())
                                for i, t in enumerate(terms) for k, v in t.items()},
                               self.env_steps, self.teacher_queries, *grad_norms(norms, clip))
        for cb in self.callbacks:
            cb(self, metrics)
        return metrics

    def run(self, run_dir: Path, hooks: Sequence[Hook] = (),
            progress: Progress | None = None) -> None:
        """The rounds (:meth:`run_round`) until the budget is spent or a hook ends the run
        (:meth:`finish`); SIGINT checkpoints and raises :class:`Interrupted` (``--resume``
        continues); the envs are closed at the end."""
        with self.interruptible():
            while not self.done:
                self.run_round(run_dir, hooks, progress)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Inside: SIGINT sets ``interrupted`` (checked between steps); the envs are closed
        after. A driver whose rounds come at other times than one after another (online: at
        the learning teacher's steps) calls :meth:`run_round` inside it."""
        try:
            with sigint_flag() as self.interrupted:
                yield
        finally:
            self.close()

    def run_round(self, run_dir: Path, hooks: Sequence[Hook] = (),
                  progress: Progress | None = None) -> RoundMetrics:
        """One round: the hooks' ``before_round``, :meth:`collect_round`, :meth:`update_round`,
        the hooks' ``after_round``, a checkpoint to ``run_dir``."""
        if self.phase == "collect":
            for hook in hooks:
                hook.before_round(self)
            if not self.interrupted:
                self.collect_round(progress, stop=lambda: bool(self.interrupted)
                                   and self.driver.stoppable)
            self.stop_if_interrupted(run_dir, hooks)
        metrics = self.update_round()
        for hook in hooks:
            hook.after_round(self, metrics)
        self.checkpoint(run_dir, hooks)
        return metrics

    def stop_if_interrupted(self, run_dir: Path, hooks: Sequence[Hook] = ()) -> None:
        """After a SIGINT: a checkpoint, then :class:`Interrupted`."""
        if self.interrupted:
            self.checkpoint(run_dir, hooks)
            raise Interrupted(f"interrupted at labelled step {self.labelled}; checkpoint "
                              f"written to {run_dir}: continue with --resume")

    def checkpoint(self, run_dir: Path, hooks: Sequence[Hook] = ()) -> None:
        """:meth:`save`, with what the hooks keep beside the loop."""
        extra: dict[str, Any] = {}
        for hook in hooks:
            extra |= hook.checkpoint(self, run_dir)
        self.save(run_dir, extra)

    def _batches(self, task: Task, targets: torch.Tensor) -> Any:
        """Minibatches of (inputs, prepared targets): rows, or sequences for a recurrent
        student (``bptt`` steps after a ``burn_in``, as many rows as a minibatch)."""
        if not self.student.recurrent:
            return (to_device(b, self.device)
                    for b in task.buf.endless_batches(self.batch, self.gen, targets))
        n_seq = max(1, self.batch // self.cfg.bptt)
        return (to_device(((x, r), y), self.device) for x, r, y in task.buf.sequence_batches(
            n_seq, self.cfg.bptt, self.cfg.burn_in, self.gen, targets))

    def _terms(self, i: int, x: Any, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Task ``i``'s named loss terms on a minibatch (with --perturb, on noisy copies of
        it too, labelled by the teacher; with --sobolev, its derivatives)."""
        terms = self.loss_fns[i].terms(self._forward(x, i), y)
        for term in self.around[i]:
            terms |= term.terms(lambda obs: self.student(obs, i), x)
            self.teacher_queries += term.queries * len(x)
        return terms

    def _forward(self, x: Any, task: int) -> torch.Tensor:
        return self.student.unroll(*x, self.cfg.burn_in) if self.student.recurrent \
            else self.student(x, task)

    def relabel(self) -> None:
        """Every stored target relabelled by its teacher now (online: the teacher moved on)."""
        for task in self.tasks:
            buf = task.buf
            for i in range(0, buf.size, LABEL_CHUNK):
                part = slice(i, min(i + LABEL_CHUNK, buf.size))
                buf.targets[part] = task.teacher.outputs(buf.teacher_observations(part))
                self.teacher_queries += part.stop - part.start

    def fitted_losses(self) -> list[TrainLoss]:
        """Each task's loss, fitted to its whole buffer (a Q teacher's temperature)."""
        for t, fn in zip(self.tasks, self.loss_fns):
            fn.fit(t.buf.targets[: t.buf.size])
        return self.loss_fns

    def extend(self, budget: int) -> None:
        """Grow the run to ``budget`` labelled steps: more rounds of the same size, the same
        resolved envs, batch and per-round update floor."""
        if budget <= self.budget:
            return
        n = len(self.tasks)
        extra = math.ceil(self.n_rounds * budget / self.budget) - self.n_rounds
        for i, task in enumerate(self.tasks):
            old, new = task.ends[-1], budget * (i + 1) // n - budget * i // n
            task.ends += [old + (new - old) * (r + 1) // extra for r in range(extra)]
            task.buf.grow(new)
        self.n_rounds += extra
        self.budget = budget

    def finish(self) -> None:
        """End the run after the rounds done so far (a driver that knows it has enough)."""
        self.n_rounds, self.budget = self.round, self.labelled
        self.notes["finished"] = True
        for task in self.tasks:
            task.ends = task.ends[: self.round]

    def close(self) -> None:
        """Close the envs, stop the clock, bring the student to the CPU (for saving, export)."""
        self._stopped = self._stopped or time.perf_counter()
        self.student.cpu()
        for task in self.tasks:
            task.venv.close()

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Tensors and JSON state (:func:`~rldistill.engine.checkpoint.loop_state`)."""
        return loop_state(self)

    def load_state_dict(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        load_loop_state(self, tensors, state)

    def save(self, run_dir: Path, extra: dict[str, Any] | None = None) -> None:
        """Checkpoint to ``run_dir`` (:func:`~rldistill.engine.checkpoint.save_loop`)."""
        save_loop(self, run_dir, extra)

    def restore(self, run_dir: Path) -> dict[str, Any]:
        """Load the checkpoint in ``run_dir`` into this (fresh) loop and bring the envs to where
        they were; returns the checkpoint's state."""
        state = restore_loop(self, run_dir)
        self._clock = time.perf_counter() - state["wall_s"]
        return state

    @classmethod
    def resume(cls, cfg: DistillConfig, teachers: list[Teacher], run_dir: Path,
               callbacks: list[Callback] | tuple[Callback, ...] = (),
               envs: Sequence[str] | None = None) -> Loop:
        """The loop of the run checkpointed in ``run_dir``, continued under ``cfg``: the same
        options (:func:`~rldistill.core.config.changed_options`), a budget that may be larger
        (the run is extended), and the same plan (the defaults resolved alike)."""
        if not (run_dir / CKPT_NAME).exists():
            raise UserError(f"--resume: no checkpoint in {run_dir}: run without --resume to "
                            "start")
        _, state = load_checkpoint(run_dir / CKPT_NAME)
        if cfg.budget < state["budget"]:
            raise UserError(f"--budget {cfg.budget} is below the {state['budget']} labelled steps "
                            f"of the run in {run_dir}: pass --budget {state['budget']} or more")
        other_options(run_dir, changed_options(state["config"], cfg, RESUMABLE),
                      state["config"], cfg)
        loop = cls(cfg.replace(budget=state["base_budget"]), teachers, callbacks, envs)
        other_plan(run_dir, state.get("plan", loop.plan), loop.plan)
        loop.restore(run_dir)
        if not loop.notes.get("finished"):  # a run that stopped itself stays stopped
            loop.extend(cfg.budget)
        loop.cfg = cfg
        return loop

