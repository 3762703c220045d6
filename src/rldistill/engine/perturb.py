"""Relabelled state perturbations (``--perturb SIGMA``): env steps are what a user pays for, the
teacher can be asked as often as one likes. At every update the teacher labels a noisy copy of
each state of the minibatch, ``x + SIGMA * spread * N(0, 1)`` (``spread``: each observation
dimension's standard deviation, the teacher's VecNormalize statistics where it has them, else
the buffer's), and the student fits those labels beside the visited ones: a fresh neighbourhood
of every visited state at each update, so many labels per env step. It matches the teacher
around the states, not only at them, as Sobolev training matches its derivatives (Czarnecki et
al. 2017), with teacher queries instead of Jacobians.

For students that see what the teacher sees, as flat float vectors: not with a student view
(``--student-obs``), image frames, or recurrent students (their sequences).
"""

from __future__ import annotations

from typing import Any

import torch

from rldistill.core.errors import UserError
from rldistill.heads import TrainLoss


class Perturbation:
    """The perturbed term of one task's loss; its generator is the loop's (checkpointed)."""

    def __init__(self, sigma: float, teacher: Any, loss: TrainLoss, gen: torch.Generator
                 ) -> None:
        self.sigma, self.teacher, self.loss, self.gen = sigma, teacher, loss, gen
        self.spread = torch.ones(1)

    def set_spread(self, obs: torch.Tensor) -> None:
        """Each dimension's spread for this round: the teacher's normalisation statistics where
        it has them, else the stored states' own standard deviation (a dimension that never
        moved gets none)."""
        std = getattr(getattr(self.teacher, "obs_norm", None), "std", None)
        spread = std if isinstance(std, torch.Tensor) else obs.float().std(0)
        self.spread = torch.nan_to_num(spread.reshape(obs.shape[1:]).float())

    def terms(self, student: Any, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``loss_perturbed``: the student (``student(x)``: its outputs) against the teacher on
        noisy copies of the minibatch ``x``."""
        noisy = x + self.sigma * self.spread * torch.randn(x.shape, generator=self.gen)
        with torch.no_grad():
            target = self.loss.prepare(self.teacher.outputs(noisy).clone())
        return {"loss_perturbed": self.loss(student(noisy), target)}


def check_perturbable(sigma: float, student: Any, views: bool) -> None:
    """One line where ``--perturb`` cannot apply, naming why."""
    spec = student.specs[0]
    why = ("the student sees a view of the teacher's observations (--student-obs)" if views
           else "recurrent students learn from sequences" if student.recurrent
           else "image frames are not perturbed with Gaussian noise"
           if spec.obs_dtype == "uint8" or student.arch.conv else None)
    if sigma and why:
        raise UserError(f"--perturb {sigma}: {why}: drop --perturb")
