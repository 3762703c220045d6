"""Distillation losses: pure functions ``(student_out, teacher_out, ...) -> (loss, metrics)``.

All take a batch of student outputs (logits) and teacher outputs (logits, or Q-values for a
Q-value teacher) of shape (batch, n_actions) and return the batch-mean loss.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from rldistill.errors import UserError

Metrics = dict[str, float]
LossFn = Callable[..., tuple[torch.Tensor, Metrics]]

LOSSES = ("kl", "ce", "nll", "mse")


def default_temperature(teacher_kind: str) -> float:
    """Rusu et al. 2015 sharpen a Q-teacher with tau = 0.01; policy logits are used at T = 1."""
    return 0.01 if teacher_kind == "q" else 1.0


def _targets_and_logq(student: torch.Tensor, teacher: torch.Tensor, temperature: float,
                      teacher_kind: str) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Teacher probabilities, student log-probabilities and the gradient scale.

    Policy teacher (Hinton et al. 2015): both softened at T, loss scaled by T^2 so gradients keep
    their size across temperatures. Q teacher (Rusu et al. 2015): softmax(Q / tau) against the
    student's own softmax at temperature 1, no rescaling.
    """
    if temperature <= 0:
        raise UserError(f"temperature must be > 0, got {temperature}")
    p = torch.softmax(teacher / temperature, dim=-1)
    if teacher_kind == "q":
        return p, torch.log_softmax(student, dim=-1), 1.0
    return p, torch.log_softmax(student / temperature, dim=-1), temperature**2


def kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
       teacher_kind: str = "logits") -> tuple[torch.Tensor, Metrics]:
    """KL(teacher_T || student_T), batch mean (times T^2 for policy teachers)."""
    p, logq, scale = _targets_and_logq(student, teacher, temperature, teacher_kind)
    logp = torch.log(p.clamp_min(1e-30))
    loss = scale * (p * (logp - logq)).sum(-1).mean()
    return loss, {"kl": float(loss.detach()) / scale}


def ce(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
       teacher_kind: str = "logits") -> tuple[torch.Tensor, Metrics]:
    """Soft-target cross-entropy -sum p_T log q_S (= KL + teacher entropy), batch mean."""
    p, logq, scale = _targets_and_logq(student, teacher, temperature, teacher_kind)
    loss = scale * -(p * logq).sum(-1).mean()
    return loss, {"ce": float(loss.detach()) / scale}


def nll(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
        teacher_kind: str = "logits") -> tuple[torch.Tensor, Metrics]:
    """Negative log-likelihood of the teacher's greedy action (a hard label)."""
    loss = F.cross_entropy(student, teacher.argmax(-1))
    return loss, {"nll": float(loss.detach())}


def mse(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
        teacher_kind: str = "logits", centred: bool = False) -> tuple[torch.Tensor, Metrics]:
    """Mean squared error on the raw outputs (Q-values or logits), mean over batch and actions.

    ``centred`` subtracts each row's mean from both sides first: raw-Q MSE fails when Q ~ 100
    while the gaps between actions are < 1, since the state-value offset dominates the loss.
    """
    if centred:
        student = student - student.mean(-1, keepdim=True)
        teacher = teacher - teacher.mean(-1, keepdim=True)
    loss = F.mse_loss(student, teacher)
    return loss, {"mse": float(loss.detach())}


def get_loss(name: str) -> LossFn:
    table: dict[str, LossFn] = {"kl": kl, "ce": ce, "nll": nll, "mse": mse}
    if name not in table:
        raise UserError(f"unknown loss {name!r}: choose one of {', '.join(LOSSES)}")
    return table[name]
