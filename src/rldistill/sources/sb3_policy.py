"""One adapter from a live SB3 policy object to rldistill: its acting path as a network, its
acting parameters, and its layers as an rldistill student's.

Used by the trusted teacher loader, online distillation (the teacher still learning) and
kick-starting (the student is an SB3 model). The acting path is what the policy uses to act:
DQN's ``q_net``, QR-DQN's ``quantile_net``, an actor-critic's shared and policy layers, its
``action_net`` and ``log_std``, SAC / TQC / TD3 / DDPG's ``actor``; never a value net, a critic
or a target net.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rldistill.core.spaces import split_keys


class PolicyOutputs(nn.Module):
    """An actor-critic SB3 policy as ``obs -> student-style outputs`` (logits for Discrete,
    [mean, log_std] for Gaussian)."""

    def __init__(self, policy: nn.Module, head: Any) -> None:
        super().__init__()
        self.policy, self.head = policy, head

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head.sb3_student_out(self.policy.get_distribution(obs))  # type: ignore[operator]


class KeysToDict(nn.Module):
    """A live SB3 policy of a Dict space fed the flat vector (:mod:`rldistill.envs.keys`):
    the keys split back (images channels first, as SB3 saw them)."""

    def __init__(self, net: nn.Module, spec: Any) -> None:
        super().__init__()
        self.net, self.keys = net, spec.keys

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net({k.name: x for k, x in zip(self.keys, split_keys(obs, self.keys))})


class ActorOutputs(nn.Module):
    """SAC / TQC's actor as ``obs -> [mean, log_std]`` (pre-squash, gSDE included)."""

    def __init__(self, actor: Any) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        mean, log_std, kwargs = self.actor.get_action_dist_params(obs)
        dist = self.actor.action_dist.proba_distribution(mean, log_std, **kwargs)
        return torch.cat([dist.distribution.mean, torch.log(dist.distribution.stddev)], -1)


class QuantileMean(nn.Module):
    """QR-DQN head: quantiles (batch, n_quantiles * n_actions or n_quantiles, n_actions) ->
    their mean over quantiles = Q-values."""

    def __init__(self, body: nn.Module, n_actions: int) -> None:
        super().__init__()
        self.body, self.n_actions = body, n_actions

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.body(obs)
        return out.view(out.shape[0], -1, self.n_actions).mean(dim=1)


def acting_modules(policy: Any) -> list[nn.Module]:
    """The modules on the policy's acting path."""
    for name in ("q_net", "quantile_net", "actor"):
        if hasattr(policy, name):
            return [getattr(policy, name)]
    ext = policy.mlp_extractor
    return [m for m in (getattr(ext, "shared_net", None), ext.policy_net, policy.action_net)
            if m is not None]


def acting_params(policy: Any) -> int:
    n = sum(p.numel() for m in acting_modules(policy) for p in m.parameters())
    log_std = getattr(policy, "log_std", None)  # an actor-critic's Gaussian std
    return n + (log_std.numel() if isinstance(log_std, torch.Tensor) else 0)


def policy_kind(policy: Any) -> str:
    """What the policy outputs: q (DQN, QR-DQN), logits (Discrete actor-critic), gaussian
    (Box actor-critic), squashed (SAC, TQC; an actor-critic with squash_output), deterministic
    (TD3, DDPG)."""
    if hasattr(policy, "q_net") or hasattr(policy, "quantile_net"):
        return "q"
    if hasattr(policy, "actor"):
        return "squashed" if hasattr(policy.actor, "action_dist") else "deterministic"
    from gymnasium import spaces

    if isinstance(policy.action_space, spaces.Box):
        return "squashed" if getattr(policy, "squash_output", False) else "gaussian"
    return "logits"


def acting_net(policy: Any, action: Any) -> tuple[nn.Module, str]:
    """(network obs -> outputs, output kind) of a live SB3 policy on ``action`` (ActionSpec):
    Q-values for DQN / QR-DQN, the actor for SAC / TQC / TD3 / DDPG (TD3's already ends in
    tanh), else the head's student-style outputs of the policy's action distribution."""
    from rldistill.heads import head_for

    kind = policy_kind(policy)
    head = head_for(action, kind)
    if hasattr(policy, "q_net"):
        return policy.q_net, kind
    if hasattr(policy, "quantile_net"):
        return QuantileMean(policy.quantile_net, head.out_dim), kind
    if kind == "deterministic":
        return policy.actor, kind
    if hasattr(policy, "actor"):
        return ActorOutputs(policy.actor), kind
    return PolicyOutputs(policy, head), kind


def acting_linears(policy: Any) -> list[nn.Linear]:
    """The Linear layers of an MLP policy's acting path, input to output; the other modules
    must be one activation an rldistill student can have (ReLU, Tanh, ELU), else a one-line
    error."""
    from rldistill.core.errors import UserError
    from rldistill.core.activations import ACTIVATIONS

    seq: list[nn.Module] = []
    for m in acting_modules(policy):
        inner = getattr(m, "q_net", getattr(m, "mu", m))  # DQN's QNetwork, TD3's Actor
        seq.extend(inner if isinstance(inner, nn.Sequential) else [inner])
    if seq and isinstance(seq[-1], nn.Tanh) and policy_kind(policy) == "deterministic":
        seq.pop()  # TD3 / DDPG's actor ends in tanh, which the deterministic head applies
    acts = {type(m) for m in seq if not isinstance(m, nn.Linear)}
    if len(acts) > 1 or not acts <= set(ACTIVATIONS.values()):
        bad = sorted(c.__name__ for c in acts)
        raise UserError(f"the SB3 student's acting path has {', '.join(bad)} layers, so it does "
                        "not map onto an rldistill student: build it with one activation_fn "
                        "of torch.nn.ReLU, Tanh or ELU")
    return [m for m in seq if isinstance(m, nn.Linear)]


def student_layers(policy: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The acting path's (weight, bias) per Linear, as an rldistill student's: a Gaussian
    actor-critic's last layer gets its state-independent log std as extra rows (weights 0), so
    the student outputs [mean, log_std] as its head reads them."""
    from rldistill.core.errors import UserError

    actor = getattr(policy, "actor", None)
    if actor is not None and hasattr(actor, "latent_pi"):  # SAC: mean and log std layers
        if not isinstance(actor.log_std, nn.Linear):
            raise UserError("a gSDE SAC actor does not map onto an rldistill student: build the "
                            "SB3 student with use_sde=False")
        mu, ls = actor.mu, actor.log_std
        return [(m.weight.detach(), m.bias.detach()) for m in actor.latent_pi
                if isinstance(m, nn.Linear)] + [(torch.cat([mu.weight, ls.weight]).detach(),
                                                 torch.cat([mu.bias, ls.bias]).detach())]
    pairs = [(m.weight.detach(), m.bias.detach()) for m in acting_linears(policy)]
    log_std = getattr(policy, "log_std", None)
    if isinstance(log_std, torch.Tensor):
        if log_std.dim() != 1:
            raise UserError("a gSDE policy's state-dependent std does not map onto an "
                            "rldistill student: build the SB3 student with use_sde=False")
        w, b = pairs[-1]
        pairs[-1] = (torch.cat([w, torch.zeros_like(w)]), torch.cat([b, log_std.detach()]))
    return pairs


def features_extractor(policy: Any) -> nn.Module:
    """The features extractor on the policy's acting path: DQN's q_net's, an actor's, an
    actor-critic's policy side (its shared one, by default)."""
    for name in ("q_net", "quantile_net", "actor"):
        if hasattr(policy, name):
            return getattr(policy, name).features_extractor
    return policy.pi_features_extractor


def _copy(layer: Any, w: torch.Tensor, b: torch.Tensor, rows: int | None = None) -> None:
    """``layer``'s weight and bias from the first ``rows`` rows (all) of ``w`` and ``b``; a
    one-line ValueError naming both shapes where they differ."""
    n = layer.weight.shape[0] if rows is None else rows
    if w.shape[0] < n or w.shape[1:] != layer.weight.shape[1:]:
        raise ValueError(f"the student's layer {tuple(w.shape)} does not fit the SB3 policy's "
                         f"{type(layer).__name__} {tuple(layer.weight.shape)}")
    layer.weight.copy_(w[:n])
    layer.bias.copy_(b[:n])


@torch.no_grad()
def set_student_layers(policy: Any, pairs: list[tuple[torch.Tensor, torch.Tensor]],
                       convs: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> None:
    """The inverse of :func:`student_layers` (a Gaussian's log std: the extra rows' bias); a
    DQN's and TD3's target nets get the same weights.

    ``convs``: a CNN student's convolutions (weight, bias), for a policy whose acting path
    starts with SB3's ``NatureCNN`` (a ``CnnPolicy``): they and the first pair (the student's
    first dense layer, NatureCNN's ``linear``) go into its features extractor, the other pairs
    into the layers after it."""
    if convs:
        ext = features_extractor(policy)
        cnn: Any = ext.cnn
        layers = [m for m in cnn if isinstance(m, nn.Conv2d)]
        if len(layers) != len(convs):
            raise ValueError(f"the student has {len(convs)} convolutions, the SB3 policy's "
                             f"features extractor {len(layers)}")
        for conv, (w, b) in zip(layers, convs):
            _copy(conv, w, b)
        dense: Any = ext.linear
        _copy(dense[0], *pairs[0])
        pairs = pairs[1:]
    actor = getattr(policy, "actor", None)
    if actor is not None and hasattr(actor, "latent_pi"):
        *body, (w, b) = pairs
        n = actor.mu.out_features
        linears = [m for m in actor.latent_pi if isinstance(m, nn.Linear)]
        if len(linears) != len(body):
            raise ValueError(f"the student has {len(body)} hidden layers after its features, "
                             f"the SB3 actor {len(linears)}")
        for layer, (wi, bi) in zip(linears, body):
            _copy(layer, wi, bi)
        _copy(actor.mu, w, b, n)
        _copy(actor.log_std, w[n:], b[n:], n)
    else:
        linears = acting_linears(policy)
        if len(linears) != len(pairs):
            raise ValueError(f"the student has {len(pairs)} dense layers after its features, "
                             f"the SB3 policy's acting path {len(linears)}")
        log_std: Any = getattr(policy, "log_std", None)
        for layer, (w, b) in zip(linears, pairs):
            n = layer.out_features
            _copy(layer, w, b, n)
            if layer is linears[-1] and isinstance(log_std, torch.Tensor) and w.shape[0] > n:
                log_std.copy_(b[n:])
    for net, target in (("q_net", "q_net_target"), ("actor", "actor_target")):
        if hasattr(policy, target):
            getattr(policy, target).load_state_dict(getattr(policy, net).state_dict())
