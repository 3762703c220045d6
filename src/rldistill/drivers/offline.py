"""Offline distillation: the loop's rounds one after another (:meth:`Loop.run`: a checkpoint
after each round and on SIGINT, which ends the run with :class:`Interrupted`; ``--resume``
continues it); with ``--budget auto``, the :class:`~rldistill.drivers.auto_budget.AutoStop`
hook ends it when the student has caught up."""

from __future__ import annotations

from pathlib import Path

from rldistill.core.config import DistillConfig
from rldistill.drivers.auto_budget import AutoStop
from rldistill.engine.loop import Callback, Loop, Progress
from rldistill.sources.base import Teacher


def train_offline(cfg: DistillConfig, teachers: list[Teacher], progress: Progress | None = None,
                  resume: bool = False, callbacks: tuple[Callback, ...] = (),
                  envs: list[str] | None = None) -> Loop:
    """Run the loop for ``cfg.budget`` labelled steps, checkpointing to ``cfg.out``; with
    ``resume``, continue the checkpointed run (bit for bit the same student as uninterrupted).
    ``envs``: the tasks' envs where the caller made them."""
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    loop = (Loop.resume(cfg, teachers, run_dir, callbacks, envs) if resume
            else Loop(cfg, teachers, callbacks, envs))
    if resume and progress:
        progress(loop.labelled)
    loop.run(run_dir, [AutoStop(loop)] if cfg.auto_budget else [], progress)
    return loop
