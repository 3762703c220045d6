"""The library API: ``run(cfg)`` trains, saves and scores a student; ``train(cfg)`` only trains;
``evaluate_run(dir)`` scores a saved one.

They honour every option of :class:`DistillConfig` and refuse bad input with the same one-line
:class:`UserError` as the CLI (which only parses flags and prints): an output dir that holds
another run is refused unless ``overwrite`` or ``resume`` says what to do with it. The work is
the layers' (:mod:`rldistill.drivers.distill`, :mod:`rldistill.evaluation.scoring`).
"""

from __future__ import annotations

from rldistill.core.config import DistillConfig, KickstartConfig
from rldistill.drivers.distill import (Outcome, load_task_teachers, resume_config, run, train)
from rldistill.evaluation.scoring import evaluate_run

__all__ = ["DistillConfig", "KickstartConfig", "Outcome", "evaluate_run", "load_task_teachers",
           "resume_config", "run", "train"]
