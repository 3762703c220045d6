"""The heads of Box action spaces: Gaussian (PPO, A2C, gSDE), tanh-squashed Gaussian (SAC, TQC)
and deterministic (TD3, DDPG) policies.

Teachers and students of the Gaussian heads output ``[mean, log_std]`` per action dimension, in
pre-squash space for the squashed head (the squash is part of the distribution); deterministic
ones output the action in [-1, 1] (teachers: after their tanh; students: before it, the head
applies the tanh). Greedy actions are what SB3's ``predict(deterministic=True)`` returns: the
mean clipped to the bounds (Gaussian), or the unit action rescaled to [low, high] (squashed,
deterministic).

Losses (pure functions below, prepared once per round like the discrete ones):

- ``kl``: closed-form KL(N(mu_T, (tau sigma_T)^2) || N(mu_S, sigma_S^2)) summed over action
  dimensions, with a temperature tau on the teacher's std (pre-squash space when squashed);
- ``mse``: mean squared error between the student's and the teacher's greedy actions in the
  unit box (the mean for Gaussian, tanh(mean) for squashed, the action for deterministic);
- ``nll``: -log N(mu_T; mu_S, sigma_S^2), the teacher's mean action under the student.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from rldistill.core.config import MANY_ROWS
from rldistill.core.errors import UserError
from rldistill.core.spaces import ActionSpec

AGREE_TOL = 0.05  # greedy actions agree when every dimension is within 5 % of its range
LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu_t: torch.Tensor, log_std_t: torch.Tensor, mu_s: torch.Tensor,
                log_std_s: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_t, e^{2 log_std_t}) || N(mu_s, e^{2 log_std_s})) per row, summed over dims."""
    var_t, var_s = torch.exp(2 * log_std_t), torch.exp(2 * log_std_s)
    return (log_std_s - log_std_t + (var_t + (mu_t - mu_s) ** 2) / (2 * var_s) - 0.5).sum(-1)


def kl_loss(mu_t: torch.Tensor, log_std_t: torch.Tensor, mu_s: torch.Tensor,
            log_std_s: torch.Tensor) -> torch.Tensor:
    """:func:`gaussian_kl` as a training loss: the same value, but the student's std gets no
    gradient from the mean error. Otherwise, where its mean is far off, the student lowers the
    KL by widening its std (sigma_S^2 -> sigma_T^2 + dmu^2), which shrinks the mean's gradient
    (dmu / sigma_S^2): measured on an A2C Pendulum teacher whose means reach +-9 beyond bounds of
    +-2, the plain KL's students scored -0.67 normalized (std up to e^3.7), this one see
    benchmarks/continuous/README.md."""
    var_t, var_s = torch.exp(2 * log_std_t), torch.exp(2 * log_std_s)
    return (log_std_s - log_std_t + var_t / (2 * var_s) - 0.5
            + (mu_t - mu_s) ** 2 / (2 * var_s.detach())).sum(-1)


def gaussian_nll(x: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """-log N(x; mu, e^{2 log_std}) per row, summed over dims."""
    return (log_std + 0.5 * LOG_2PI + 0.5 * ((x - mu) * torch.exp(-log_std)) ** 2).sum(-1)


class ContinuousLoss:
    """prepare: teacher rows -> the targets the loss needs; __call__: batch-mean loss."""

    def __init__(self, head: _BoxHead, name: str, temperature: float) -> None:
        self.head, self.name, self.log_t = head, name, math.log(temperature)

    def fit(self, teacher: torch.Tensor) -> None:
        """Nothing to fit: the temperature scales the teacher's std as given."""

    @torch.no_grad()
    def prepare(self, teacher: torch.Tensor) -> torch.Tensor:
        if self.name == "mse":
            return self.head.mse_action(teacher, teacher=True)
        mu, log_std = teacher.chunk(2, -1)
        return torch.cat([mu, log_std + self.log_t], -1)

    def __call__(self, student: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        if self.name == "mse":
            return ((self.head.mse_action(student) - prepared) ** 2).mean()
        mu_s, log_std_s = student.chunk(2, -1)
        mu_t, log_std_t = prepared.chunk(2, -1)
        if self.name == "kl":
            return kl_loss(mu_t, log_std_t, mu_s, log_std_s).mean()
        return gaussian_nll(mu_t, mu_s, log_std_s).mean()

    def terms(self, student: torch.Tensor, prepared: torch.Tensor) -> dict[str, torch.Tensor]:
        return {f"loss_{self.name}": self(student, prepared)}


class _BoxHead:
    """What the three Box heads share: bounds, unit scaling, agreement, random actions."""

    kind = "box"
    derivatives_match = True
    name = ""
    onnx_output = "action"
    greedy_rule = "action (already the greedy action, within the bounds)"
    ensemble_modes: tuple[str, ...] = ("mean", "confident")
    losses: tuple[str, ...] = ("kl", "mse", "nll")
    # chosen by measurement (benchmarks/continuous/README.md: the loss table): kl at
    # temperature 1 had the best worst seed over the SAC, PPO and A2C Pendulum teachers
    default_loss = "kl"
    # mix: the best worst case of the hard-task bank (benchmarks/levers, benchmarks/bank: 20k
    # env steps, 5-10 seeds): the student driver's HalfCheetah 0.950 / Hopper PPO 0.34 / Hopper
    # SAC 0.59 / Walker2d SAC 0.88 become 0.972 / 1.00 / 0.99 / 0.94 (students that fall early
    # see only falls), at a cost on two weak LunarLanderContinuous teachers (SAC 1.03 -> 0.96,
    # A2C 1.01 -> 0.91)
    default_driver = "mix"
    default_beta = "exp:0"  # the teacher drives round 0 only (benchmarks/bank: the hard bank)
    params_per_dim = 2  # mean and log std

    def __init__(self, action: ActionSpec) -> None:
        self.dim = int(np.prod(action.shape))
        self.low = torch.tensor(action.low, dtype=torch.float32)
        self.high = torch.tensor(action.high, dtype=torch.float32)
        self.out_dim = self.params_per_dim * self.dim
        self.bounded = bool(torch.isfinite(self.low).all() and torch.isfinite(self.high).all())

    def target_shape(self) -> tuple[int, ...]:
        return (self.out_dim,)

    def default_temperature(self, teacher_kind: str) -> float:
        return 1.0

    def update_rows(self, teacher_kind: str) -> int:
        """As many as for a Q-value teacher: measured on HalfCheetah at 20k env steps (IQM
        0.658 -> 0.957) and on weak LunarLanderContinuous teachers (benchmarks/levers)."""
        return MANY_ROWS

    def loss(self, name: str, temperature: float | None, teacher_kind: str,
             centred: bool = False) -> ContinuousLoss:
        if name not in self.losses:
            raise UserError(f"--loss {name} does not apply to a {self.name} policy: choose one "
                            f"of {', '.join(self.losses)}")
        return ContinuousLoss(self, name, temperature or self.default_temperature(teacher_kind))

    def unit_action(self, out: torch.Tensor, teacher: bool = False) -> torch.Tensor:
        """The greedy action in the unit box [-1, 1] (before rescaling to the bounds)."""
        raise NotImplementedError

    def mse_action(self, out: torch.Tensor, teacher: bool = False) -> torch.Tensor:
        """What ``--loss mse`` compares: the greedy action in the unit box."""
        return self.unit_action(out, teacher)

    def weak_student_hint(self, driver: str | None, min_updates: int | None) -> str | None:
        """The student driver where the teacher is weak and noisy (benchmarks/levers: the
        LunarLanderContinuous SAC / A2C teachers, 1.03 / 1.01 with it, 0.96 / 0.92 with mix);
        else relabelled perturbations (HalfCheetah 0.957 -> 0.970 at the default floor)."""
        if driver in (None, "mix"):
            return "--driver student (for a noisy teacher)"
        return None if min_updates else "more labels per env step (--perturb 0.1)"

    def scale(self, unit: torch.Tensor) -> torch.Tensor:
        """[-1, 1] -> [low, high], as SB3's ``unscale_action``."""
        return self.low + 0.5 * (unit + 1.0) * (self.high - self.low)

    def act(self, out: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """The greedy action, or with ``gen`` one sampled from the distribution."""
        if gen is not None and self.params_per_dim == 2:
            mu, log_std = out.chunk(2, -1)
            noise = torch.randn(mu.shape, generator=gen)
            out = torch.cat([mu + torch.exp(log_std) * noise, log_std], -1)
        return self.scale(self.unit_action(out))

    def teacher_act(self, t_out: torch.Tensor) -> torch.Tensor:
        return self.scale(self.unit_action(t_out, teacher=True))

    def agreement(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        return (self.distance_dims(s_out, t_out) <= AGREE_TOL).all(-1).float()

    def distance(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        """Per row, mean |a_S - a_T| over the action dims, each as a share of its range."""
        return self.distance_dims(s_out, t_out).mean(-1)

    def distance_dims(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        diff = self.unit_action(s_out) - self.unit_action(t_out, teacher=True)
        return diff.abs() / 2.0  # the unit box is 2 wide in every dimension

    def divergence(self, t_out: torch.Tensor, s_out: torch.Tensor,
                   teacher_kind: str) -> torch.Tensor:
        mu_t, log_std_t = t_out.chunk(2, -1)
        mu_s, log_std_s = s_out.chunk(2, -1)
        return gaussian_kl(mu_t, log_std_t, mu_s, log_std_s)

    def random_actions(self, n: int, gen: torch.Generator) -> torch.Tensor:
        if not self.bounded:
            raise UserError("the random baseline needs a bounded action space: this env's Box "
                            "has infinite bounds")
        return self.low + (self.high - self.low) * torch.rand(n, self.dim, generator=gen)

    def noisy(self, actions: torch.Tensor, sigma: float, gen: torch.Generator) -> torch.Tensor:
        """Gaussian noise of ``sigma`` x each dimension's half range (1 where unbounded),
        clipped to the bounds."""
        half = (self.high - self.low) / 2 if self.bounded else torch.ones_like(self.low)
        noisy = actions + sigma * half * torch.randn(actions.shape, generator=gen)
        return torch.clamp(noisy, self.low, self.high) if self.bounded else noisy

    def to_env(self, actions: torch.Tensor) -> np.ndarray:
        return actions.numpy().astype(np.float32, copy=False)

    def export(self, out: torch.Tensor) -> torch.Tensor:
        return self.act(out)

    def exported_agreement(self, y: torch.Tensor, y_ref: torch.Tensor) -> torch.Tensor:
        """Actions in env units: within AGREE_TOL of the range (of 2, unbounded) per dim."""
        width = (self.high - self.low) if self.bounded else torch.full_like(self.low, 2.0)
        return ((y - y_ref).abs() / width <= AGREE_TOL).all(-1).float()

    def mix(self, outs: Sequence[torch.Tensor], kinds: Sequence[str], mode: str) -> torch.Tensor:
        """``mean``: the moment-matched mixture of the members' Gaussians; ``confident``: per
        state, the member with the smallest summed log std."""
        mus, log_stds = zip(*(o.chunk(2, -1) for o in outs))
        mu, ls = torch.stack(mus), torch.stack(log_stds)  # (members, B, A)
        if mode == "confident":
            best = ls.sum(-1).argmin(0)  # (B,)
            rows = torch.arange(mu.shape[1])
            return torch.cat([mu[best, rows], ls[best, rows]], -1)
        mean = mu.mean(0)
        var = (torch.exp(2 * ls) + mu ** 2).mean(0) - mean ** 2
        return torch.cat([mean, 0.5 * torch.log(var.clamp_min(1e-12))], -1)

    def sb3_student_out(self, distribution: Any) -> torch.Tensor:
        normal = distribution.distribution
        return torch.cat([normal.mean, torch.log(normal.stddev)], -1)


class GaussianHead(_BoxHead):
    """A diagonal Gaussian policy acting with its mean clipped to the bounds (SB3 PPO / A2C).

    Default temperature 0.5 (the teacher's std halved in the KL), measured on three Pendulum
    teachers, 5 seeds: the worst seed 0.981 against 0.946 at temperature 1 on SB3-default PPO,
    both ~1.0 on RL Zoo's gSDE PPO (benchmarks/continuous/README.md).
    """

    name = "gaussian"

    def default_temperature(self, teacher_kind: str) -> float:
        return 0.5

    def unit_action(self, out: torch.Tensor, teacher: bool = False) -> torch.Tensor:
        return self.mse_action(out, teacher).clamp(-1.0, 1.0)

    def mse_action(self, out: torch.Tensor, teacher: bool = False) -> torch.Tensor:
        """The mean in unit-box coordinates, not clipped: beyond the bounds a clipped target
        gives no gradient (measured: MSE on the clipped action 0.981, unclipped better:
        benchmarks/continuous/README.md)."""
        mean = out[..., : self.dim]
        if not self.bounded:
            return mean
        return 2.0 * (mean - self.low) / (self.high - self.low) - 1.0

    def scale(self, unit: torch.Tensor) -> torch.Tensor:
        return unit if not self.bounded else super().scale(unit)


class SquashedGaussianHead(_BoxHead):
    """A Gaussian in pre-squash space whose sample goes through tanh (SB3 SAC / TQC)."""

    name = "squashed_gaussian"

    def unit_action(self, out: torch.Tensor, teacher: bool = False) -> torch.Tensor:
        return torch.tanh(out[..., : self.dim])


class DeterministicHead(_BoxHead):
    """One action per state (SB3 TD3 / DDPG): teachers give it in [-1, 1] (their actor ends in
    tanh); students give it before the tanh, which the head applies."""

    name = "deterministic"
    losses = ("mse",)
    default_loss = "mse"
    params_per_dim = 1
    # one action per state and no spread around it: no member is more confident than another
    ensemble_modes: tuple[str, ...] = ("mean",)

    def unit_action(self, out: torch.Tensor, teacher: bool = False) -> torch.Tensor:
        return out.clamp(-1.0, 1.0) if teacher else torch.tanh(out)

    def distance_dims(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        return (self.unit_action(s_out) - self.unit_action(t_out, teacher=True)).abs() / 2.0

    def divergence(self, t_out: torch.Tensor, s_out: torch.Tensor,
                   teacher_kind: str) -> torch.Tensor:
        """No distribution to compare: the squared distance of the unit actions."""
        return ((self.unit_action(s_out) - self.unit_action(t_out, teacher=True)) ** 2).sum(-1)

    def mix(self, outs: Sequence[torch.Tensor], kinds: Sequence[str], mode: str) -> torch.Tensor:
        return torch.stack(list(outs)).mean(0)

    def sb3_student_out(self, distribution: Any) -> torch.Tensor:
        raise UserError("a deterministic student has no action distribution to kick-start")
