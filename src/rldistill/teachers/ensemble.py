"""Several teachers of one task as one teacher (their head mixes the members' outputs)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rldistill.errors import UserError
from rldistill.teachers.base import Teacher


class EnsembleTeacher:
    """The target is the members' averaged action distribution (``mode="mean"``) or, per state,
    the distribution of the most confident member (``mode="confident"``); the action head does
    the mixing (for Discrete: probabilities at each member's default temperature, so policy and
    Q-value teachers mix; the outputs are log-probabilities, which the losses treat as logits).
    """

    kind = "logits"

    def __init__(self, members: Sequence[Teacher], mode: str = "mean") -> None:
        for m in members[1:]:
            if m.spec != members[0].spec:
                first = members[0]
                raise UserError(f"ensemble teachers {first.name} ({first.spec.describe()}) and "
                                f"{m.name} ({m.spec.describe()}) act on different spaces: an "
                                "ensemble needs teachers of one env")
        self.members, self.mode = list(members), mode
        self.spec, self.head = members[0].spec, members[0].head
        self.name = "+".join(m.name for m in members)
        self.params = sum(m.params for m in members)

    @torch.inference_mode()
    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head.mix([m.outputs(obs) for m in self.members],
                             [m.kind for m in self.members], self.mode)

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head.teacher_act(self.outputs(obs))
