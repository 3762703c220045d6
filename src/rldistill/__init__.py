"""rldistill: knowledge distillation for reinforcement learning.

The library API is the same one loop the CLI runs::

    from rldistill import DistillConfig, run
    result = run(DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1",
                               param_ratio=0.25, out="runs/cp"))

``train`` runs the loop without evaluation; :class:`Loop` is the engine every method drives.
The names below are imported on first use, so that ``rldistill.deploy.runtime`` (numpy and
onnxruntime only) works where torch is not installed.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"evaluate_run": "api", "run": "api", "train": "api", "DistillConfig": "core.config",
          "KickstartConfig": "core.config", "Loop": "engine.loop",
          "RoundMetrics": "engine.state", "Interrupted": "core.errors",
          "UserError": "core.errors", "load_student": "students.network",
          "load_teacher": "sources"}

__all__ = ["DistillConfig", "KickstartConfig", "Loop", "RoundMetrics", "run", "train",
           "evaluate_run", "load_student", "load_teacher", "Interrupted", "UserError"]
__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rldistill' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rldistill.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
