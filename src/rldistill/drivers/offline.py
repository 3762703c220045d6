"""Offline distillation: the loop's rounds one after another, a checkpoint after each round
and on SIGINT (which ends the run with :class:`Interrupted`; ``--resume`` continues it); with
``--budget auto``, :class:`AutoStop` ends it when the student has caught up."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from rldistill.core.config import DistillConfig
from rldistill.engine.loop import Callback, Loop, Progress
from rldistill.drivers.auto_budget import AutoStop
from rldistill.core.errors import Interrupted
from rldistill.sources.base import Teacher


def train_offline(cfg: DistillConfig, teachers: list[Teacher], progress: Progress | None = None,
                  resume: bool = False, callbacks: tuple[Callback, ...] = ()) -> Loop:
    """Run the loop for ``cfg.budget`` labelled steps, checkpointing to ``cfg.out``; with
    ``resume``, continue the checkpointed run (bit for bit the same student as uninterrupted)."""
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    loop = (Loop.resume(cfg, teachers, run_dir, callbacks) if resume
            else Loop(cfg, teachers, callbacks))
    if resume and progress:
        progress(loop.labelled)
    auto = AutoStop(loop) if cfg.auto_budget else None
    # the student driver labels a round in one teacher call: a SIGINT lets the round finish
    # collecting (a fraction of a second), so that a resumed run labels the same batches as an
    # uninterrupted one (batch size can change float results)
    stoppable = loop.driver != "student"
    try:
        with sigint_flag() as interrupted:
            while not loop.done:
                if loop.phase == "collect":
                    loop.collect_round(progress, stop=lambda: bool(interrupted) and stoppable)
                    if interrupted:
                        loop.save(run_dir)
                        raise Interrupted(f"interrupted at labelled step {loop.labelled}; "
                                          f"checkpoint written to {run_dir}: continue with "
                                          "--resume")
                metrics = loop.update_round()
                if auto:
                    auto.after_round(metrics)
                loop.save(run_dir)
    finally:
        loop.close()
    return loop


@contextlib.contextmanager
def sigint_flag() -> Iterator[list[int]]:
    """Inside: SIGINT appends to the yielded list instead of raising (main thread only)."""
    flag: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    old = signal.signal(signal.SIGINT, lambda *_: flag.append(1))
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def sigint_raises(message: str) -> Iterator[None]:
    """Inside: SIGINT raises :class:`Interrupted` with ``message`` at once, whatever handler was
    there before (even an inherited 'ignore'), e.g. during a final evaluation."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(*_: object) -> None:
        raise Interrupted(message)

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
