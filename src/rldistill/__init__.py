"""rldistill: knowledge distillation for reinforcement learning.

The library API is the same one loop the CLI runs::

    from rldistill import DistillConfig, run
    result = run(DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", param_ratio=0.25))
"""

from rldistill.config import DistillConfig
from rldistill.distill import run, train
from rldistill.students import load_student
from rldistill.teachers import load_teacher

__all__ = ["DistillConfig", "run", "train", "load_student", "load_teacher"]
__version__ = "0.1.0"
