"""Matching the teacher around the visited states, not only at them: relabelled state
perturbations (``--perturb SIGMA``) and Sobolev training (``--sobolev WEIGHT``).

Relabelled state perturbations: env steps are what a user pays for, the
teacher can be asked as often as one likes. At every update the teacher labels a noisy copy of
each state of the minibatch, ``x + SIGMA * spread * N(0, 1)`` (``spread``: each observation
dimension's standard deviation, the teacher's VecNormalize statistics where it has them, else
the buffer's), and the student fits those labels beside the visited ones: a fresh neighbourhood
of every visited state at each update, so many labels per env step. It matches the teacher
around the states, not only at them, as Sobolev training matches its derivatives (Czarnecki et
al. 2017), with teacher queries instead of Jacobians.

Sobolev training (Czarnecki et al. 2017) with a random projection: at every update the
student's directional derivative along a random direction ``v`` (Gaussian, scaled by each
observation dimension's spread, as the perturbations), by forward-mode AD (``torch.func.jvp``),
is matched to the teacher's, by central differences (any teacher is a black box that labels
states; two more queries per row): WEIGHT x the mean squared difference of ``J_S v`` and
``J_T v`` over the outputs (mean and log std, or the action). Box action heads only (a discrete
head's outputs are logits or Q-values on another scale than the student's).

Both are for students that see what the teacher sees, as flat float vectors: not with a student
view (``--student-obs``), image frames, or recurrent students (their sequences).
"""

from __future__ import annotations

from typing import Any

import torch

from rldistill.core.errors import UserError
from rldistill.heads import TrainLoss


FD_STEP = 1e-2  # --sobolev: the teacher's derivative from outputs at x +- FD_STEP x v


class Neighbourhood:
    """A term of one task's loss around each minibatch state, at the scale of each observation
    dimension's spread; its generator is the loop's (checkpointed)."""

    def __init__(self, scale: float, teacher: Any, loss: TrainLoss, gen: torch.Generator
                 ) -> None:
        self.scale, self.teacher, self.loss, self.gen = scale, teacher, loss, gen
        self.spread = torch.ones(1)

    def set_spread(self, obs: torch.Tensor) -> None:
        """Each dimension's spread for this round: the teacher's normalisation statistics where
        it has them, else the stored states' own standard deviation (a dimension that never
        moved gets none)."""
        std = getattr(getattr(self.teacher, "obs_norm", None), "std", None)
        spread = std if isinstance(std, torch.Tensor) else obs.float().std(0)
        self.spread = torch.nan_to_num(spread.reshape(obs.shape[1:]).float())

    queries = 0  # teacher queries per minibatch row

    def terms(self, student: Any, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class Perturbation(Neighbourhood):
    """``--perturb SIGMA`` (``scale``)."""

    queries = 1  # teacher queries per minibatch row

    def terms(self, student: Any, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``loss_perturbed``: the student (``student(x)``: its outputs) against the teacher on
        noisy copies of the minibatch ``x``."""
        noise = torch.randn(x.shape, generator=self.gen).to(x.device)  # drawn on the CPU
        noisy = x + self.scale * self.spread.to(x.device) * noise
        with torch.no_grad():
            target = self.loss.prepare(self.teacher.outputs(noisy).clone())
        return {"loss_perturbed": self.loss(student(noisy), target)}


class Sobolev(Neighbourhood):
    """``--sobolev WEIGHT`` (``scale``)."""

    queries = 2

    def terms(self, student: Any, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``loss_sobolev``: WEIGHT x mean (J_S v - J_T v)^2 along a random direction ``v``."""
        v = (self.spread * torch.randn(x.shape, generator=self.gen)).to(x.device)
        s_dir = torch.func.jvp(student, (x,), (v,))[1]
        with torch.no_grad():  # any teacher is a black box: central differences
            h = FD_STEP
            t_dir = (self.teacher.outputs(x + h * v) - self.teacher.outputs(x - h * v)) / (2 * h)
        return {"loss_sobolev": self.scale * ((s_dir - t_dir) ** 2).mean()}


def neighbourhoods(cfg: Any, teacher: Any, loss: TrainLoss, gen: torch.Generator
                   ) -> list[Neighbourhood]:
    """One task's terms around its states, as --perturb and --sobolev ask."""
    return ([Perturbation(cfg.perturb, teacher, loss, gen)] if cfg.perturb else []) + \
        ([Sobolev(cfg.sobolev, teacher, loss, gen)] if cfg.sobolev else [])


def check_neighbourhoods(cfg: Any, student: Any, views: bool, heads: list[Any]) -> None:
    """One line where ``--perturb`` or ``--sobolev`` cannot apply, naming why."""
    spec = student.specs[0]
    why = ("the student sees a view of the teacher's observations (--student-obs)" if views
           else "recurrent students learn from sequences" if student.recurrent
           else "image frames are not perturbed with Gaussian noise"
           if spec.obs_dtype == "uint8" or student.arch.conv else None)
    for name, value in (("--perturb", cfg.perturb), ("--sobolev", cfg.sobolev)):
        if value and why:
            raise UserError(f"{name} {value}: {why}: drop {name}")
    if cfg.sobolev and not all(h.derivatives_match for h in heads):
        raise UserError(f"--sobolev {cfg.sobolev} matches derivatives of continuous actions; "
                        "this teacher's are discrete: drop --sobolev (or use --perturb)")
