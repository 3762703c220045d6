"""Distillation losses: pure functions ``(student_out, teacher_out, ...) -> (loss, metrics)``.

All take a batch of student outputs (logits) and teacher outputs (logits, or Q-values for a
Q-value teacher) of shape (batch, n_actions) and return the batch-mean loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rldistill.core.errors import UserError

Metrics = dict[str, float]

LOSSES = ("kl", "ce", "nll", "mse")
MASKED = -1e8  # the logit of an invalid action (sb3-contrib's MaskableCategorical uses -1e8)


def default_temperature(teacher_kind: str) -> float:
    """Rusu et al. 2015 sharpen a Q-teacher with tau = 0.01; policy logits are used at T = 1.
    (A distillation run fits a Q-teacher's tau to its action gaps: :func:`gap_temperature`;
    ensembles and kick-starting use this one.)"""
    return 0.01 if teacher_kind == "q" else 1.0


GAP_FLOOR = 1e-3  # the lowest fitted tau: a teacher whose Q-values tie on most states


def gap_temperature(q: torch.Tensor) -> float:
    """The median over rows of the gap between the best and the second-best Q-value (valid
    actions only), at least GAP_FLOOR; Rusu's 0.01 where no row has two valid actions.

    softmax(Q / tau) then gives the teacher's best action odds of e : 1 or less against its
    runner-up on half of its states: targets as soft as the teacher's own preferences, on its
    own scale. A fixed tau is sharp for one teacher and soft for another: the median gaps of the
    bank's DQN teachers run from 0.03 (CartPole, MinAtar Freeway) to 0.4 (Acrobot)
    (benchmarks/bank/README.md, "The temperature of Q-value teachers")."""
    if q.shape[-1] < 2:
        return default_temperature("q")
    top = q.topk(2, -1).values
    gaps = (top[:, 0] - top[:, 1])[top[:, 1] > MASKED / 2]
    if not len(gaps):
        return default_temperature("q")
    return max(float(gaps.double().median()), GAP_FLOOR)


def _scale(temperature: float, teacher_kind: str) -> float:
    """T^2 keeps a policy teacher's gradients the same size across temperatures."""
    return 1.0 if teacher_kind == "q" else temperature**2


class Loss:
    """A loss split in two: ``prepare`` turns teacher outputs into per-row targets (done once per
    round over the whole buffer), ``__call__`` scores student outputs against prepared rows (done
    every minibatch). ``kl``/``ce``/``nll``/``mse`` below are the same losses in one call.

    kl/ce with a policy teacher (Hinton et al. 2015): teacher and student both softened at T,
    times T^2. With a Q teacher (Rusu et al. 2015): softmax(Q / tau) against the student's own
    softmax at temperature 1, no rescaling.

    Targets masked at MASKED (an env with action masks: :mod:`rldistill.heads.categorical`) mask
    the student too: kl / ce / nll compare the two distributions over the valid actions, as both
    act. The mask is not in the observation, so fitting the student's unmasked distribution to
    a masked target would push an action down in every state that looks like one where it was
    invalid. Prepared rows then carry the valid actions as n more columns.

    ``temperature=None`` with a Q teacher: tau is fitted to the teacher's action gaps
    (:func:`gap_temperature`) by :meth:`fit`, which the loop calls on the whole buffer each
    round (so a resumed run fits it alike); until then ``prepare`` fits it on its own rows.
    """

    def __init__(self, name: str, temperature: float | None = 1.0,
                 teacher_kind: str = "logits", centred: bool = False) -> None:
        if name not in LOSSES:
            raise UserError(f"unknown loss {name!r}: choose one of {', '.join(LOSSES)}")
        if temperature is None and teacher_kind != "q":
            temperature = default_temperature(teacher_kind)
        if temperature is not None and temperature <= 0:
            raise UserError(f"temperature must be > 0, got {temperature}")
        self.name, self.t, self.kind, self.centred = name, temperature, teacher_kind, centred
        self.fitted = temperature is None and name in ("kl", "ce")  # tau: the action gaps

    def fit(self, teacher: torch.Tensor) -> None:
        """Fit tau to the action gaps of ``teacher`` (all rows of the buffer), where it is
        fitted (a Q teacher without --temperature); nothing otherwise."""
        if self.fitted and len(teacher):
            self.t = gap_temperature(teacher)

    @torch.no_grad()
    def prepare(self, teacher: torch.Tensor) -> torch.Tensor:
        if self.name == "mse":
            return teacher - teacher.mean(-1, keepdim=True) if self.centred else teacher
        if self.name in ("kl", "ce"):
            t = self.t if self.t is not None else gap_temperature(teacher)
            p = torch.softmax(teacher / t, dim=-1)
            neg_entropy = (p * torch.log(p.clamp_min(1e-30))).sum(-1, keepdim=True)
            out = torch.cat([p, neg_entropy], -1)  # (rows, n_actions + 1)
        else:
            out = teacher.argmax(-1, keepdim=True).float()
        valid = teacher > MASKED / 2
        return out if bool(valid.all()) else torch.cat([out, valid.float()], -1)

    def _base_width(self, n: int) -> int:
        return n + 1 if self.name in ("kl", "ce") else 1 if self.name == "nll" else n

    def __call__(self, student: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        n = student.shape[-1]
        if prepared.shape[-1] == self._base_width(n) + n:  # masked targets: the valid actions
            student = student.masked_fill(prepared[:, -n:] == 0, MASKED)
            prepared = prepared[:, :-n]
        if self.name in ("kl", "ce"):  # few autograd nodes: this runs every minibatch
            if self.kind != "q" and self.t != 1.0:
                student = student / self.t
            loss = F.cross_entropy(student, prepared[:, :-1])  # -sum p log q, batch mean
            if self.name == "kl":  # KL = cross-entropy - teacher entropy (a constant)
                loss = loss + prepared[:, -1].mean()
            scale = _scale(self.t, self.kind)
            return loss if scale == 1.0 else scale * loss
        if self.name == "nll":
            return F.cross_entropy(student, prepared[:, 0].long())
        if self.centred:
            student = student - student.mean(-1, keepdim=True)
        return F.mse_loss(student, prepared)

    def terms(self, student: torch.Tensor, prepared: torch.Tensor) -> dict[str, torch.Tensor]:
        return {f"loss_{self.name}": self(student, prepared)}


class LargeMargin:
    """DQfD's large-margin loss (Hester et al. 2018) on Q-values:
    ``max_a [Q(s, a) + margin * (a != a_E)] - Q(s, a_E)``, batch mean, where ``a_E`` is the
    reference's greedy action; 0 where the student prefers ``a_E`` by at least the margin. It
    keeps the greedy actions while TD learning moves the values (``rldistill finetune``)."""

    name = "margin"

    def __init__(self, margin: float = 0.8) -> None:
        self.margin = margin

    @torch.no_grad()
    def prepare(self, reference: torch.Tensor) -> torch.Tensor:
        return reference.argmax(-1, keepdim=True).float()

    def __call__(self, student: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        a = prepared.long()
        bonus = torch.full_like(student, self.margin).scatter(1, a, 0.0)
        return ((student + bonus).amax(-1) - student.gather(1, a).squeeze(1)).mean()


class ActionMSE:
    """The squared distance of two deterministic actions already in the unit box (an SB3 TD3
    actor's outputs), mean over the batch and the action dims: TD3 fine-tuning's anchor."""

    name = "mse"

    @torch.no_grad()
    def prepare(self, reference: torch.Tensor) -> torch.Tensor:
        return reference.clamp(-1.0, 1.0)

    def __call__(self, student: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        return ((student - prepared) ** 2).mean()


def _one_call(name: str, student: torch.Tensor, teacher: torch.Tensor, temperature: float,
              teacher_kind: str, centred: bool = False) -> tuple[torch.Tensor, Metrics]:
    loss_fn = Loss(name, temperature, teacher_kind, centred)
    loss = loss_fn(student, loss_fn.prepare(teacher))
    scale = _scale(temperature, teacher_kind) if name in ("kl", "ce") else 1.0
    return loss, {name: float(loss.detach()) / scale}


def kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
       teacher_kind: str = "logits") -> tuple[torch.Tensor, Metrics]:
    """KL(teacher_T || student_T), batch mean (times T^2 for policy teachers)."""
    return _one_call("kl", student, teacher, temperature, teacher_kind)


def ce(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
       teacher_kind: str = "logits") -> tuple[torch.Tensor, Metrics]:
    """Soft-target cross-entropy -sum p_T log q_S (= KL + teacher entropy), batch mean."""
    return _one_call("ce", student, teacher, temperature, teacher_kind)


def nll(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
        teacher_kind: str = "logits") -> tuple[torch.Tensor, Metrics]:
    """Negative log-likelihood of the teacher's greedy action (a hard label)."""
    return _one_call("nll", student, teacher, temperature, teacher_kind)


def mse(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
        teacher_kind: str = "logits", centred: bool = False) -> tuple[torch.Tensor, Metrics]:
    """Mean squared error on the raw outputs (Q-values or logits), mean over batch and actions.

    ``centred`` subtracts each row's mean from both sides first: raw-Q MSE fails when Q ~ 100
    while the gaps between actions are < 1, since the state-value offset dominates the loss.
    """
    return _one_call("mse", student, teacher, temperature, teacher_kind, centred)
