"""The :class:`Teacher` protocol and the teacher that is a torch network."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from rldistill.heads import ActionHead, head_for
from rldistill.core.spaces import SpaceSpec

class Teacher(Protocol):
    """What the loop needs of a teacher."""

    name: str
    kind: str  # logits | q (Discrete); gaussian | squashed | deterministic (Box)
    spec: SpaceSpec
    head: ActionHead
    params: int  # parameters on the acting path
    obs_norm: nn.Module | None  # VecNormalize statistics it acts through (the student copies)

    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        """The head's teacher outputs (logits or Q-values for Discrete) for a batch of obs."""
        ...

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        """Greedy actions."""
        ...

    def to_device(self, device: torch.device) -> None:
        """Compute on ``device`` from now on (outputs still come back on the inputs' device:
        :mod:`rldistill.core.device`)."""
        ...


@dataclass
class NetTeacher:
    """A teacher that is a torch module mapping observations to its outputs.

    ``frozen`` (loaded teachers): eval mode, no gradients. A live teacher (online distillation:
    an SB3 model still learning) is not frozen; ``params`` then comes from its acting path.
    ``obs_norm`` (a VecNormalize teacher's statistics) is applied before ``net``.
    """

    name: str
    kind: str
    spec: SpaceSpec
    net: nn.Module
    params: int = -1
    frozen: bool = True
    source: dict[str, Any] = field(default_factory=dict)  # where it came from (teacher info)
    obs_norm: nn.Module | None = None

    def __post_init__(self) -> None:
        self.head = head_for(self.spec.action, self.kind)
        if self.frozen:
            self.net.eval()
            for p in self.net.parameters():
                p.requires_grad_(False)
        if self.params < 0:
            self.params = sum(p.numel() for p in self.net.parameters())

    device: torch.device = torch.device("cpu")  # where it computes (--device)

    def to_device(self, device: torch.device) -> None:
        self.net.to(device)
        if self.obs_norm is not None:
            self.obs_norm.to(device)
        self.device = device

    @torch.inference_mode()
    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.to(self.device)
        return self.net(x if self.obs_norm is None else self.obs_norm(x)).to(obs.device)

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head.teacher_act(self.outputs(obs))

    @property
    def recurrent(self) -> bool:
        """A teacher with a state (RecurrentPPO's LSTM: ``net`` is features, then a module
        with ``step``); its outputs depend on the episode so far."""
        return isinstance(self.net, nn.Sequential) and hasattr(self.net[-1], "state_size")

    def initial_state(self, n: int) -> torch.Tensor:
        return torch.zeros(n, self.net[-1].state_size)  # type: ignore[index]

    @torch.inference_mode()
    def step(self, obs: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A recurrent teacher's outputs and next state (rows zeroed where episodes start)."""
        x = obs.to(self.device)
        x = self.net[0](x if self.obs_norm is None else self.obs_norm(x))  # type: ignore[index]
        out, state = self.net[-1].step(x, state.to(self.device))  # type: ignore[index,operator]
        return out.to(obs.device), state.to(obs.device)


def all_members(teacher: Any) -> list[Any]:
    """The teacher itself, or an ensemble's members."""
    return list(getattr(teacher, "members", [teacher]))


def has_q_teacher(teachers: list[Any]) -> bool:
    """Whether any teacher (or ensemble member) outputs Q-values: such runs get more rounds and
    updates by default (config.py)."""
    return any(m.kind == "q" for t in teachers for m in all_members(t))
