"""rldistill: knowledge distillation for reinforcement learning.

The library API is the same one loop the CLI runs::

    from rldistill import DistillConfig, run
    result = run(DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1",
                               param_ratio=0.25, out="runs/cp"))

``train`` runs the loop without evaluation; :class:`Loop` is the engine every method drives.
"""

from rldistill.api import evaluate_run, run, train
from rldistill.config import DistillConfig, KickstartConfig
from rldistill.engine.loop import Loop
from rldistill.engine.state import RoundMetrics
from rldistill.errors import Interrupted, UserError
from rldistill.students import load_student
from rldistill.teachers import load_teacher

__all__ = ["DistillConfig", "KickstartConfig", "Loop", "RoundMetrics", "run", "train",
           "evaluate_run", "load_student", "load_teacher", "Interrupted", "UserError"]
__version__ = "0.2.0"
