"""The head of Discrete action spaces: students output logits; teachers logits or Q-values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from rldistill.core.config import FEW_ROWS, MANY_ROWS
from rldistill.core.errors import UserError
from rldistill.heads.losses import LOSSES, MASKED, Loss, default_temperature


class CategoricalHead:
    """A categorical distribution over ``n`` actions.

    Targets are the teacher's raw outputs; the losses of :mod:`rldistill.heads.losses` (KL / CE with
    temperature, NLL of the argmax, MSE) prepare them. A Q-value teacher's policy is its greedy
    one for agreement and divergence, and softmax(Q / 0.01) in ensembles (Rusu et al. 2015).
    """

    kind = "discrete"
    name = "categorical"
    losses: tuple[str, ...] = LOSSES
    default_loss = "kl"
    # measured on the teacher bank (benchmarks/bank): students of some Q-value and weak teachers
    # drift onto states where they fail when they drive alone; DAgger's mix holds them
    default_driver = "mix"
    default_beta = "exp:0.5"  # benchmarks/bank: the classic bank
    onnx_output = "logits"
    greedy_rule = "argmax(logits)"
    ensemble_modes: tuple[str, ...] = ("mean", "confident")
    derivatives_match = False

    def __init__(self, n: int) -> None:
        self.n = self.out_dim = int(n)

    def target_shape(self) -> tuple[int, ...]:
        return (self.n,)

    def default_temperature(self, teacher_kind: str) -> float:
        return default_temperature(teacher_kind)

    def update_rows(self, teacher_kind: str) -> int:
        """16x more for a Q-value teacher: its argmax is harder to fit (benchmarks/README.md)."""
        return MANY_ROWS if teacher_kind == "q" else FEW_ROWS

    def loss(self, name: str, temperature: float | None, teacher_kind: str,
             centred: bool = False) -> Loss:
        if name not in self.losses:
            raise UserError(f"--loss {name} does not apply to discrete actions: choose one of "
                            f"{', '.join(self.losses)}")
        return Loss(name, temperature, teacher_kind, centred)  # None: fitted (a Q teacher)

    def entropy_share(self, logits: torch.Tensor) -> torch.Tensor:
        """Per row, the entropy of softmax(logits) as a share of ln(n): 1 uniform, 0 one action."""
        logp = torch.log_softmax(logits.double(), -1)
        return -(logp.exp() * logp).sum(-1) / float(np.log(self.n))

    def floor_temperature(self, logits: torch.Tensor, share: float) -> float:
        """The one temperature T >= 1 at which softmax(logits / T) has a mean entropy over the
        rows of ``share`` x ln(n); 1 where it has that much already (a distilled policy that
        copied a near-deterministic teacher explores too little for RL to move it)."""
        def entropy(t: float) -> float:
            return float(self.entropy_share(logits.double() / t).mean())

        lo = hi = 1.0
        while entropy(hi) < share and hi < 1e6:
            lo, hi = hi, hi * 2
        if hi == 1.0:
            return 1.0
        for _ in range(40):  # bisection: the entropy rises with T
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if entropy(mid) < share else (lo, mid)
        return hi

    def mask(self, out: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``out`` with the actions ``mask`` (rows of bools: valid) rules out at MASKED (as
        MaskablePPO's distribution does): no greedy or sampled action, no probability."""
        return out.masked_fill(~mask.bool(), MASKED)

    def act(self, out: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        if gen is None:
            return out.argmax(-1)
        return torch.multinomial(torch.softmax(out, -1), 1, generator=gen).squeeze(-1)

    def teacher_act(self, t_out: torch.Tensor) -> torch.Tensor:
        return t_out.argmax(-1)

    def agreement(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        return (s_out.argmax(-1) == t_out.argmax(-1)).float()

    def distance(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        return 1.0 - self.agreement(s_out, t_out)

    def weak_student_hint(self, driver: str | None, min_updates: int | None) -> str | None:
        """The mix driver (benchmarks/bank: the student driver's two runs under 0.9)."""
        return None if driver == "mix" else "--driver mix"

    def export(self, out: torch.Tensor) -> torch.Tensor:
        return out

    def exported_agreement(self, y: torch.Tensor, y_ref: torch.Tensor) -> torch.Tensor:
        return self.agreement(y, y_ref)

    def divergence(self, t_out: torch.Tensor, s_out: torch.Tensor,
                   teacher_kind: str) -> torch.Tensor:
        logq = torch.log_softmax(s_out, -1)
        if teacher_kind == "q":  # a Q-teacher's policy is its greedy one
            return -logq.gather(-1, t_out.argmax(-1, keepdim=True)).squeeze(-1)
        logp = torch.log_softmax(t_out, -1)
        return (logp.exp() * (logp - logq)).sum(-1)

    def random_actions(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.randint(self.n, (n,), generator=gen)

    def noisy(self, actions: torch.Tensor, sigma: float, gen: torch.Generator) -> torch.Tensor:
        """Each action replaced by a uniformly random one with probability ``sigma``."""
        swap = torch.rand(actions.shape, generator=gen) < sigma
        return torch.where(swap, self.random_actions(len(actions), gen), actions)

    def to_env(self, actions: torch.Tensor) -> np.ndarray:
        return actions.numpy()

    def mix(self, outs: Sequence[torch.Tensor], kinds: Sequence[str], mode: str) -> torch.Tensor:
        """``mean``: the averaged action distribution; ``confident``: per state, the member with
        the highest top-action probability. Each member becomes probabilities at its default
        temperature; the result is log-probabilities (which the losses treat as logits)."""
        probs = torch.stack([torch.softmax(o / default_temperature(k), -1)
                             for o, k in zip(outs, kinds)])  # (members, B, A)
        if mode == "mean":
            p = probs.mean(0)
        else:
            best = probs.amax(-1).argmax(0)  # (B,) the most confident member per state
            p = probs[best, torch.arange(probs.shape[1])]
        return torch.log(p.clamp_min(1e-12))

    def sb3_student_out(self, distribution: Any) -> torch.Tensor:
        return distribution.distribution.logits
