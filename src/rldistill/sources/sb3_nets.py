"""The acting paths of SB3's continuous-action policies, rebuilt as plain torch modules.

Each returns what its action head reads (:mod:`rldistill.heads.continuous`):

- :class:`GaussianActor` (PPO / A2C, also with gSDE): ``[mean, log_std]``, the std either
  state-independent (``log_std`` a vector) or generalized state-dependent (gSDE: ``log_std`` a
  (latent, action) matrix, std = sqrt(latent^2 @ exp(log_std)^2 + 1e-6), as SB3's
  ``StateDependentNoiseDistribution``);
- :class:`SquashedActor` (SAC / TQC): ``[mean, log_std]`` in pre-squash space, log_std from a
  linear layer clamped to [-20, 2] (SB3's LOG_STD_MIN / MAX), or gSDE with the mean clipped
  to +-clip_mean;
- TD3 / DDPG need no class: their ``mu`` ends in tanh (the action in [-1, 1]); ARS's linear
  policy outputs the action in the env's units, which :class:`ClippedToUnit` maps to [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn

SDE_EPS = 1e-6  # SB3 StateDependentNoiseDistribution.epsilon
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # SB3 sac.policies


def sde_log_std(latent: torch.Tensor, log_std: torch.Tensor, full_std: bool = True,
                use_expln: bool = False) -> torch.Tensor:
    """Per-state log std of gSDE: 0.5 * log(latent^2 @ std^2 + eps)."""
    if use_expln:  # SB3: exp below 0, log1p above, continuous at 0
        std = torch.exp(log_std) * (log_std <= 0) + (torch.log1p(
            log_std * (log_std > 0) + SDE_EPS) + 1.0) * (log_std > 0)
    else:
        std = torch.exp(log_std)
    if not full_std:
        std = torch.ones(latent.shape[-1], std.shape[-1]) * std
    variance = (latent ** 2) @ (std ** 2)
    return 0.5 * torch.log(variance + SDE_EPS)


class GaussianActor(nn.Module):
    def __init__(self, body: nn.Module, action_net: nn.Linear, log_std: torch.Tensor,
                 full_std: bool = True, use_expln: bool = False) -> None:
        super().__init__()
        self.body, self.action_net = body, action_net
        self.log_std = nn.Parameter(log_std.clone())
        self.full_std, self.use_expln = full_std, use_expln

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        latent = self.body(obs)
        mean = self.action_net(latent)
        if self.log_std.dim() == 1:
            log_std = self.log_std.expand_as(mean)
        else:
            log_std = sde_log_std(latent, self.log_std, self.full_std, self.use_expln)
        return torch.cat([mean, log_std], -1)


class SquashedActor(nn.Module):
    def __init__(self, latent_pi: nn.Module, mu: nn.Linear, log_std: nn.Module | torch.Tensor,
                 clip_mean: float = 2.0, full_std: bool = True, use_expln: bool = False) -> None:
        super().__init__()
        self.latent_pi, self.mu = latent_pi, mu
        self.sde = isinstance(log_std, torch.Tensor)
        if isinstance(log_std, torch.Tensor):
            self.log_std: nn.Module | nn.Parameter = nn.Parameter(log_std.clone())
        else:
            self.log_std = log_std
        self.clip_mean, self.full_std, self.use_expln = clip_mean, full_std, use_expln

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        latent = self.latent_pi(obs)
        mean = self.mu(latent)
        if self.sde:
            if self.clip_mean > 0:
                mean = mean.clamp(-self.clip_mean, self.clip_mean)
            assert isinstance(self.log_std, torch.Tensor)
            log_std = sde_log_std(latent, self.log_std, self.full_std, self.use_expln)
        else:
            assert isinstance(self.log_std, nn.Module)
            log_std = self.log_std(latent).clamp(LOG_STD_MIN, LOG_STD_MAX)
        return torch.cat([mean, log_std], -1)


class ClippedToUnit(nn.Module):
    """An action in the env's units, clipped to the bounds (as SB3 acts), scaled to [-1, 1]."""

    def __init__(self, low: tuple[float, ...], high: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("low", torch.tensor(low))
        self.register_buffer("high", torch.tensor(high))

    low: torch.Tensor
    high: torch.Tensor

    def forward(self, action: torch.Tensor) -> torch.Tensor:
        a = torch.maximum(torch.minimum(action, self.high), self.low)
        return 2.0 * (a - self.low) / (self.high - self.low) - 1.0


class RenormEval(nn.Module):
    """sb3-contrib's ``BatchRenorm`` in eval mode (how CrossQ's actor acts): the running
    statistics, then the affine transform."""

    def __init__(self, state: dict[str, torch.Tensor], prefix: str, eps: float) -> None:
        super().__init__()
        for name in ("ra_mean", "ra_var", "scale", "bias"):
            self.register_buffer(name, state[prefix + name].clone())
        self.eps = eps

    ra_mean: torch.Tensor
    ra_var: torch.Tensor
    scale: torch.Tensor
    bias: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.ra_mean) / torch.sqrt(self.ra_var + self.eps) * self.scale + self.bias


def sequential_with_renorm(state: dict[str, torch.Tensor], prefix: str, act: type[nn.Module],
                           eps: float) -> nn.Sequential:
    """An ``nn.Sequential`` of Linear, BatchRenorm and activation layers rebuilt index by index
    from ``prefix{i}.*`` keys: an index without parameters is the activation."""
    idx = {int(k[len(prefix):].split(".")[0]) for k in state if k.startswith(prefix)}
    layers: list[nn.Module] = []
    for i in range(max(idx) + 1):
        p = f"{prefix}{i}."
        if p + "ra_mean" in state:
            layers.append(RenormEval(state, p, eps))
        elif p + "weight" in state:
            w = state[p + "weight"]
            layer = nn.Linear(w.shape[1], w.shape[0])
            layer.load_state_dict({"weight": w, "bias": state[p + "bias"]})
            layers.append(layer)
        else:
            layers.append(act())
    return nn.Sequential(*layers)
