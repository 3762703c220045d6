"""Several teachers of one task as one teacher (their head mixes the members' outputs)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rldistill.core.errors import UserError
from rldistill.sources.base import Teacher


class EnsembleTeacher:
    """The target is the members' averaged action distribution (``mode="mean"``) or, per state,
    the distribution of the most confident member (``mode="confident"``); the action head does
    the mixing (for Discrete: probabilities at each member's default temperature, so policy and
    Q-value teachers mix; the outputs are log-probabilities, which the losses treat as logits).
    """

    obs_norm: nn.Module | None = None  # members normalise their own observations


    def __init__(self, members: Sequence[Teacher], mode: str = "mean") -> None:
        for m in members[1:]:
            if m.spec != members[0].spec or m.head.name != members[0].head.name:
                first = members[0]
                raise UserError(f"ensemble teachers {first.name} ({first.spec.describe()}) and "
                                f"{m.name} ({m.spec.describe()}) act on different spaces or "
                                "policy kinds: an ensemble needs teachers of one env and kind")
        self.members, self.mode = list(members), mode
        self.spec, self.head = members[0].spec, members[0].head
        if mode not in self.head.ensemble_modes:
            raise UserError(f"--ensemble {mode} needs teachers with an action distribution, and "
                            f"{self.head.name} teachers ({members[0].name}: TD3, DDPG) give one "
                            "action per state, none surer than another: use --ensemble "
                            f"{' or '.join(self.head.ensemble_modes)}")
        self.kind = "logits" if self.head.name == "categorical" else members[0].kind
        self.name = "+".join(m.name for m in members)
        self.params = sum(m.params for m in members)

    def to_device(self, device: torch.device) -> None:
        for m in self.members:
            m.to_device(device)

    @torch.inference_mode()
    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head.mix([m.outputs(obs) for m in self.members],
                             [m.kind for m in self.members], self.mode)

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head.teacher_act(self.outputs(obs))
