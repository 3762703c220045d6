"""The heads of MultiDiscrete and MultiBinary action spaces (SB3's PPO and A2C support both):
several independent choices per step, whose outputs sit side by side in one vector.

- :class:`MultiCategoricalHead`: one categorical distribution per component of ``nvec``; the
  outputs are the components' logits, concatenated (SB3's MultiCategoricalDistribution). Each
  loss of :mod:`rldistill.heads.losses` applies to each component, and the components' losses
  add up (the KL between two products of independent distributions is the sum of theirs).
- :class:`MultiBinaryHead`: one Bernoulli distribution per bit; the outputs are its logits
  (SB3's BernoulliDistribution). KL / CE with temperature on the sigmoid, NLL of the teacher's
  greedy bits, MSE on the logits; summed over the bits.

An action agrees with the teacher's where every component does; ``distance`` is the share of
components that differ. The exported graph outputs the greedy action itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rldistill.core.errors import UserError
from rldistill.heads.categorical import CategoricalHead
from rldistill.heads.losses import LOSSES, Loss, _scale, default_temperature


class _Multi:
    """What both heads share: the kind-independent protocol around ``parts`` (B, k) actions."""

    losses: tuple[str, ...] = LOSSES
    default_loss = "kl"
    default_driver = "mix"  # as the categorical head (benchmarks/bank)
    default_beta = "exp:0.5"
    onnx_output = "action"
    greedy_rule = "the output is the greedy action (one integer per component)"
    ensemble_modes: tuple[str, ...] = ("mean",)
    derivatives_match = False
    out_dim: int
    # as the categorical head's: the same temperatures, update floor and hint
    default_temperature = CategoricalHead.default_temperature
    update_rows = CategoricalHead.update_rows
    weak_student_hint = CategoricalHead.weak_student_hint

    def target_shape(self) -> tuple[int, ...]:
        return (self.out_dim,)

    def teacher_act(self, t_out: torch.Tensor) -> torch.Tensor:
        return self.act(t_out)

    def agreement(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        return (self.act(s_out) == self.act(t_out)).all(-1).float()

    def distance(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        return (self.act(s_out) != self.act(t_out)).float().mean(-1)

    def export(self, out: torch.Tensor) -> torch.Tensor:
        return self.act(out).float()

    def exported_agreement(self, y: torch.Tensor, y_ref: torch.Tensor) -> torch.Tensor:
        return (y == y_ref).all(-1).float()

    def noisy(self, actions: torch.Tensor, sigma: float, gen: torch.Generator) -> torch.Tensor:
        """Each component replaced by a uniformly random value with probability ``sigma``."""
        swap = torch.rand(actions.shape, generator=gen) < sigma
        return torch.where(swap, self.random_actions(len(actions), gen), actions)

    def to_env(self, actions: torch.Tensor) -> np.ndarray:
        return actions.numpy()

    def act(self, out: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def random_actions(self, n: int, gen: torch.Generator) -> torch.Tensor:
        raise NotImplementedError


class MultiLoss:
    """A categorical loss per component (``splits``: the components' logit widths), summed;
    ``widths``: each component's width once prepared (fixed by its loss: KL's probabilities and
    entropy, NLL's action), so a loss reads targets prepared by another process or run."""

    def __init__(self, parts: list[Loss], splits: list[int]) -> None:
        self.parts, self.splits, self.name = parts, splits, parts[0].name
        self.widths = [p.prepare(torch.zeros(1, n)).shape[-1] for p, n in zip(parts, splits)]

    def fit(self, teacher: torch.Tensor) -> None:
        for p, t in zip(self.parts, teacher.split(self.splits, -1)):
            p.fit(t)

    @torch.no_grad()
    def prepare(self, teacher: torch.Tensor) -> torch.Tensor:
        return torch.cat([p.prepare(t) for p, t in zip(self.parts,
                                                        teacher.split(self.splits, -1))], -1)

    def __call__(self, student: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        parts = zip(self.parts, student.split(self.splits, -1), prepared.split(self.widths, -1))
        return torch.stack([p(s, t) for p, s, t in parts]).sum()

    def terms(self, student: torch.Tensor, prepared: torch.Tensor) -> dict[str, torch.Tensor]:
        return {f"loss_{self.name}": self(student, prepared)}


class MultiCategoricalHead(_Multi):
    """One categorical distribution per component of ``nvec`` (see the module's text): a
    :class:`~rldistill.heads.categorical.CategoricalHead` per component, on its slice."""

    kind = "multi_discrete"
    name = "multi_categorical"

    def __init__(self, nvec: Sequence[int]) -> None:
        self.nvec = [int(n) for n in nvec]
        self.parts = [CategoricalHead(n) for n in self.nvec]
        self.out_dim = sum(self.nvec)

    def _each(self, *outs: torch.Tensor) -> Any:
        """(component head, its slice of each of ``outs``) per component."""
        return zip(self.parts, *(o.split(self.nvec, -1) for o in outs))

    def loss(self, name: str, temperature: float | None, teacher_kind: str,
             centred: bool = False) -> MultiLoss:
        if name not in self.losses:
            raise UserError(f"--loss {name} does not apply to MultiDiscrete actions: choose one "
                            f"of {', '.join(self.losses)}")
        return MultiLoss([p.loss(name, temperature, teacher_kind, centred) for p in self.parts],
                         self.nvec)

    def act(self, out: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        return torch.stack([p.act(o, gen) for p, o in self._each(out)], -1)

    def divergence(self, t_out: torch.Tensor, s_out: torch.Tensor,
                   teacher_kind: str) -> torch.Tensor:
        return sum(p.divergence(t, s, teacher_kind) for p, t, s in self._each(t_out, s_out))

    def random_actions(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.stack([p.random_actions(n, gen) for p in self.parts], -1)

    def mix(self, outs: Sequence[torch.Tensor], kinds: Sequence[str], mode: str) -> torch.Tensor:
        """Per component, the members' averaged distribution (as log-probabilities)."""
        split = [o.split(self.nvec, -1) for o in outs]
        return torch.cat([p.mix([s[i] for s in split], kinds, "mean")
                          for i, p in enumerate(self.parts)], -1)

    def sb3_student_out(self, distribution: Any) -> torch.Tensor:
        return torch.cat([d.logits for d in distribution.distribution], -1)


class MultiBinaryHead(_Multi):
    """One Bernoulli distribution per bit, its logit the output (see the module's text)."""

    kind = "multi_binary"
    name = "multi_binary"

    def __init__(self, n: int) -> None:
        self.n = self.out_dim = int(n)

    def loss(self, name: str, temperature: float | None, teacher_kind: str,
             centred: bool = False) -> BernoulliLoss:
        if name not in self.losses:
            raise UserError(f"--loss {name} does not apply to MultiBinary actions: choose one "
                            f"of {', '.join(self.losses)}")
        return BernoulliLoss(name, temperature or default_temperature(teacher_kind),
                             teacher_kind)

    def act(self, out: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        if gen is None:
            return (out > 0).long()
        return torch.bernoulli(torch.sigmoid(out), generator=gen).long()

    def divergence(self, t_out: torch.Tensor, s_out: torch.Tensor,
                   teacher_kind: str) -> torch.Tensor:
        if teacher_kind == "q":
            target = (t_out > 0).float()
            return F.binary_cross_entropy_with_logits(s_out, target, reduction="none").sum(-1)
        p = torch.sigmoid(t_out)
        return (F.binary_cross_entropy_with_logits(s_out, p, reduction="none")
                - F.binary_cross_entropy_with_logits(t_out, p, reduction="none")).sum(-1)

    def random_actions(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.randint(2, (n, self.n), generator=gen)

    def mix(self, outs: Sequence[torch.Tensor], kinds: Sequence[str], mode: str) -> torch.Tensor:
        """The members' averaged bit probabilities, as logits."""
        p = torch.stack([torch.sigmoid(o / default_temperature(k)) for o, k in zip(outs, kinds)])
        return torch.logit(p.mean(0).clamp(1e-6, 1 - 1e-6))

    def sb3_student_out(self, distribution: Any) -> torch.Tensor:
        return distribution.distribution.logits


class BernoulliLoss:
    """kl / ce: the teacher's bit probabilities at T (sigmoid(t / T)) against the student's at T,
    binary cross-entropy (kl: minus the teacher's entropy), times T^2; nll: the teacher's
    greedy bits as labels; mse: the logits. Summed over the bits, mean over the batch."""

    def __init__(self, name: str, temperature: float, teacher_kind: str) -> None:
        if temperature <= 0:
            raise UserError(f"temperature must be > 0, got {temperature}")
        self.name, self.t, self.kind = name, temperature, teacher_kind

    def fit(self, teacher: torch.Tensor) -> None:
        """Nothing to fit: a Q teacher's bits keep the default temperature."""

    @torch.no_grad()
    def prepare(self, teacher: torch.Tensor) -> torch.Tensor:
        if self.name in ("kl", "ce"):
            p = torch.sigmoid(teacher / self.t)
            ent = F.binary_cross_entropy(p, p, reduction="none").sum(-1, keepdim=True)
            return torch.cat([p, ent], -1)
        if self.name == "nll":
            return (teacher > 0).float()
        return teacher

    def __call__(self, student: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        if self.name in ("kl", "ce"):
            s = student / self.t if self.kind != "q" and self.t != 1.0 else student
            bce = F.binary_cross_entropy_with_logits(s, prepared[:, :-1], reduction="none")
            loss = bce.sum(-1).mean()
            if self.name == "kl":
                loss = loss - prepared[:, -1].mean()
            return _scale(self.t, self.kind) * loss
        if self.name == "nll":
            return F.binary_cross_entropy_with_logits(student, prepared,
                                                      reduction="none").sum(-1).mean()
        return F.mse_loss(student, prepared)

    def terms(self, student: torch.Tensor, prepared: torch.Tensor) -> dict[str, torch.Tensor]:
        return {f"loss_{self.name}": self(student, prepared)}
