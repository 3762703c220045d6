"""Teachers from other frameworks' checkpoints, read as tensors (``torch.load(weights_only=True)``:
nothing in the file runs, so no ``--trust-teacher``), the framework detected from the keys:

- **CleanRL** (``.cleanrl_model``, or any ``.pt`` holding the agent's ``state_dict()``):
  ``dqn.py``'s QNetwork (``network.*``, ReLU; Q-values), ``c51.py``'s (``network.*`` and
  ``atoms``: Q = sum over atoms of softmax(logits) x atoms), ``ppo.py``'s Agent (``actor.*``,
  Tanh; logits) and ``ppo_continuous_action.py``'s (``actor_mean.*``, Tanh, and
  ``actor_logstd``; a Gaussian in the env's units). CleanRL's continuous PPO trains behind
  gymnasium's ``NormalizeObservation``, whose statistics the file does not hold: such a teacher
  acts on raw observations (distil it on an env that normalises as it was trained, or retrain
  without the wrapper).
- **rsl-rl** (``model_*.pt``, what legged-robot projects train): the actor MLP (its
  activation, which the file does not hold, from the run's ``params/agent.yaml`` beside it as
  Isaac Lab writes it, else rsl-rl's default ELU: :func:`rsl_activation`), its
  state-independent std (``std`` / ``log_std``), and its empirical observation normaliser where
  it has one, ``(x - mean) / (std + 0.01)``, which the student copies as it does a VecNormalize
  teacher's. Both checkpoint layouts: rsl-rl 2-4's
  ``model_state_dict`` (``actor.*``; the normaliser as ``actor_obs_normalizer.*`` or in
  ``obs_norm_state_dict``) and rsl-rl 5's ``actor_state_dict`` (``mlp.*``,
  ``distribution.std_param`` / ``log_std_param``, ``obs_normalizer.*``).

- **CleanRL's Atari agents** (``dqn_atari.py``, ``c51_atari.py``, ``ppo_atari.py``): NatureCNN
  under ``network.*`` (convolutions 0, 2, 4, their strides from their kernels as in
  :mod:`rldistill.sources.sb3_cnn`; the dense layer 7), on ``x / 255`` of 4 stacked 84 x 84
  frames, then the Q-values (``network.9``; C51: its atoms) or the policy's logits (``actor``).
  CleanRL's Atari wrappers are SB3's AtariWrapper's, so the env gets AtariWrapper and a 4-frame
  stack, as for an SB3 Atari teacher.

None of these files names its env: ``--env`` gives it, and the network's input and output
widths are checked against the env's spaces.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rldistill.core.errors import UserError
from rldistill.core.spaces import SpaceSpec
from rldistill.sources.base import NetTeacher
from rldistill.sources.normalize import NormStats, ObsNorm
from rldistill.sources.plain_yaml import read_zoo_yaml  # plain data: nothing in it runs

RSL_EPS = 1e-2  # rsl-rl's EmpiricalNormalization: (x - mean) / (std + eps)
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU,  # rsl-rl's names for the rest:
               "selu": nn.SELU, "crelu": nn.CELU, "lrelu": nn.LeakyReLU, "sigmoid": nn.Sigmoid,
               "softplus": nn.Softplus, "gelu": nn.GELU, "swish": nn.SiLU, "mish": nn.Mish,
               "identity": nn.Identity}
RSL_DEFAULT = "rsl-rl's default (no params/agent.yaml beside the checkpoint names one)"


def read_state(path: Path) -> dict[str, Any] | None:
    """The file's dict of tensors (and nested dicts), or None where it is not one (a pickled
    module or TorchScript: :mod:`rldistill.sources.torch_file` reads those, if trusted)."""
    try:
        with warnings.catch_warnings():  # torch's notes on foreign pickle protocols
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - not a plain-tensor file: the caller decides
        return None
    return obj if isinstance(obj, dict) else None


def linears(state: dict[str, Any], prefix: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of the Linear layers ``PREFIX.<i>.weight`` in index order."""
    found = {}
    for key, value in state.items():
        m = re.fullmatch(re.escape(prefix) + r"\.(\d+)\.weight", key)
        if m and isinstance(value, torch.Tensor) and value.dim() == 2:
            found[int(m.group(1))] = (value.float(), state[key[:-6] + "bias"].float())
    return [found[i] for i in sorted(found)]


def mlp(pairs: list[tuple[torch.Tensor, torch.Tensor]], activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (w, b) in enumerate(pairs):
        layer = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            layer.weight.copy_(w)
            layer.bias.copy_(b)
        layers.append(layer)
        if i < len(pairs) - 1:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class GaussianNet(nn.Module):
    """[mean, log std] per row: an MLP's mean and a state-independent log std."""

    def __init__(self, body: nn.Module, log_std: torch.Tensor) -> None:
        super().__init__()
        self.body = body
        self.register_buffer("log_std", log_std.float().reshape(-1))

    log_std: torch.Tensor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        mean = self.body(obs)
        return torch.cat([mean, self.log_std.expand_as(mean)], -1)


class C51Net(nn.Module):
    """C51's Q-values: sum over atoms of softmax(logits per action) x atoms."""

    def __init__(self, body: nn.Module, atoms: torch.Tensor) -> None:
        super().__init__()
        self.body = body
        self.register_buffer("atoms", atoms.float())

    atoms: torch.Tensor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        logits = self.body(obs).view(len(obs), -1, len(self.atoms))
        return (torch.softmax(logits, -1) * self.atoms).sum(-1)


def rsl_activation(path: Path) -> tuple[str, str]:
    """An rsl-rl actor's activation, which its checkpoint does not hold, and where it was read:
    the run's config beside the file (Isaac Lab's ``params/agent.yaml``, or ``agent.yaml``:
    ``actor.activation`` in rsl-rl 5, ``policy.activation`` before), else rsl-rl's ELU."""
    for cfg_path in (path.parent / "params" / "agent.yaml", path.parent / "agent.yaml"):
        if not cfg_path.is_file():
            continue
        cfg = read_zoo_yaml(cfg_path)
        for section in ("actor", "policy"):
            name = cfg.get(section, {}).get("activation") if isinstance(
                cfg.get(section), dict) else None
            if name is None:
                continue
            if str(name).lower() not in ACTIVATIONS:
                raise UserError(f"{cfg_path} names the activation {name!r}, which rsl-rl does "
                                f"not define: fix the file (one of {', '.join(ACTIVATIONS)})")
            return str(name).lower(), str(cfg_path)
    return "elu", RSL_DEFAULT


def detect(state: dict[str, Any], activation: str = "elu") -> tuple[str, str, nn.Module, Any]:
    """(framework, kind, network, normaliser statistics or None) of a checkpoint's tensors
    (``activation``: an rsl-rl actor's, which the tensors do not say)."""
    if isinstance(state.get("actor_state_dict"), dict):  # rsl-rl 5
        actor = state["actor_state_dict"]
        pairs = linears(actor, "mlp")
        std = _rsl_std(actor, "distribution.std_param", "distribution.log_std_param")
        norm = _rsl_norm(actor, "obs_normalizer")
        return "rsl-rl", "gaussian", GaussianNet(mlp(pairs, activation), std), norm
    model = state.get("model_state_dict")
    if isinstance(model, dict) and linears(model, "actor"):  # rsl-rl 2-4
        std = _rsl_std(model, "std", "log_std")
        norm = _rsl_norm(model, "actor_obs_normalizer") or _rsl_norm(
            state.get("obs_norm_state_dict") or {}, "")
        net = GaussianNet(mlp(linears(model, "actor"), activation), std)
        return "rsl-rl", "gaussian", net, norm
    if any(isinstance(v, torch.Tensor) and v.dim() == 4 for v in state.values()):
        return _cleanrl_atari(state)
    if linears(state, "actor_mean") and "actor_logstd" in state:  # CleanRL continuous PPO
        net = GaussianNet(mlp(linears(state, "actor_mean"), "tanh"), state["actor_logstd"])
        return "cleanrl-ppo", "gaussian", net, None
    if linears(state, "actor"):  # CleanRL PPO (discrete)
        return "cleanrl-ppo", "logits", mlp(linears(state, "actor"), "tanh"), None
    if linears(state, "network") and "atoms" in state:  # CleanRL C51
        return "cleanrl-c51", "q", C51Net(mlp(linears(state, "network"), "relu"),
                                          state["atoms"]), None
    if linears(state, "network"):  # CleanRL DQN
        return "cleanrl-dqn", "q", mlp(linears(state, "network"), "relu"), None
    raise UserError("a checkpoint of tensors, but not one rldistill reads (CleanRL's DQN / C51 "
                    "/ PPO agents, rsl-rl's PPO): pass an SB3 zip, or a TorchScript file with "
                    "--teacher-kind and --trust-teacher")


def _cleanrl_atari(state: dict[str, Any]) -> tuple[str, str, nn.Module, Any]:
    """CleanRL's Atari DQN / C51 / PPO agents (the module's text)."""
    from rldistill.sources.sb3_cnn import STRIDES, Features

    convs = sorted(int(m[1]) for k, v in state.items()
                   if (m := re.fullmatch(r"network\.(\d+)\.weight", k)) and v.dim() == 4)
    dense = linears(state, "network")
    layers: list[nn.Module] = []
    for i in convs:
        w = state[f"network.{i}.weight"]
        if int(w.shape[-1]) not in STRIDES or not dense:
            raise UserError("a convolutional checkpoint, but not CleanRL's NatureCNN (8x8, 4x4, "
                            "3x3 convolutions, then dense layers): export the agent to "
                            "TorchScript and pass --teacher-kind and --trust-teacher")
        conv = nn.Conv2d(int(w.shape[1]), int(w.shape[0]), int(w.shape[-1]),
                         STRIDES[int(w.shape[-1])])
        conv.load_state_dict({"weight": w.float(), "bias": state[f"network.{i}.bias"].float()})
        layers += [conv, nn.ReLU()]
    feats = Features(nn.Sequential(*layers), nn.Sequential(mlp(dense[:1], "relu"), nn.ReLU()),
                     True, False)
    if isinstance(state.get("actor.weight"), torch.Tensor):  # ppo_atari.py
        head = mlp([(state["actor.weight"].float(), state["actor.bias"].float())], "relu")
        return "cleanrl-ppo", "logits", nn.Sequential(feats, head), None
    if len(dense) < 2:
        raise UserError("a CleanRL Atari checkpoint without its output layer (network.9 or "
                        "actor): pass the agent's whole state_dict()")
    head = mlp(dense[1:], "relu")
    if "atoms" in state:  # c51_atari.py
        return "cleanrl-c51", "q", C51Net(nn.Sequential(feats, head), state["atoms"]), None
    return "cleanrl-dqn", "q", nn.Sequential(feats, head), None


def _rsl_std(state: dict[str, Any], std_key: str, log_key: str) -> torch.Tensor:
    if log_key in state:
        return state[log_key].float()
    if std_key in state:
        return torch.log(state[std_key].float().clamp_min(1e-6))
    raise UserError("an rsl-rl actor without a state-independent std (a state-dependent "
                    "Gaussian?) is not read yet: distil from a checkpoint with std_type "
                    "scalar or log")


def _rsl_norm(state: dict[str, Any], prefix: str) -> NormStats | None:
    dot = f"{prefix}." if prefix else ""
    mean, std = state.get(f"{dot}_mean"), state.get(f"{dot}_std")
    if not isinstance(mean, torch.Tensor) or not isinstance(std, torch.Tensor):
        return None
    eff = std.float().reshape(-1) + RSL_EPS  # ObsNorm divides by sqrt(var + 0): std + eps
    return NormStats(mean.float().reshape(-1).numpy(), (eff ** 2).numpy().astype(np.float32),
                     1e9, 0.0, "rsl-rl's empirical normaliser")


def load_state_teacher(path: Path, state: dict[str, Any], env_id: str | None) -> NetTeacher:
    """The teacher of a framework checkpoint's tensors (:func:`detect`), checked against the
    env's spaces."""
    from rldistill.envs.make import env_spec
    from rldistill.heads import head_for

    activation, activation_from = rsl_activation(path)
    framework, kind, net, norm = detect(state, activation)
    if not env_id:
        raise UserError(f"teacher {path} is a {framework} checkpoint, which names no env: pass "
                        "--env ID")
    spec = env_spec(env_id)
    from rldistill.sources.sb3_cnn import Features

    feats = next((m for m in net.modules() if isinstance(m, Features)), None)
    if feats is not None:  # CleanRL's Atari agents: 84 x 84 frames, stacked as many as it takes
        c_in = int(next(m for m in net.modules() if isinstance(m, nn.Conv2d)).in_channels)
        spec = SpaceSpec((c_in, 84, 84), spec.action, "uint8")
    if (kind in ("q", "logits")) != (spec.action.kind == "discrete"):
        raise UserError(f"teacher {path} is a {framework} agent with "
                        f"{'discrete' if kind in ('q', 'logits') else 'continuous'} actions; "
                        f"env {env_id} has {spec.action.describe()}: pass the env it was "
                        "trained on")
    width = head_for(spec.action, kind).target_shape()[0]
    shape = spec.obs_shape if feats is not None else (int(np.prod(spec.obs_shape)),)
    try:
        with torch.inference_mode():
            out = net.eval()(torch.zeros(2, *shape))
    except RuntimeError:
        out = None
    if out is None or tuple(out.shape) != (2, width) or (len(spec.obs_shape) != 1
                                                          and feats is None):
        raise UserError(f"teacher {path} ({framework}) does not fit env {env_id} (observations "
                        f"{spec.obs_shape}, {spec.action.describe()}): pass the env it was "
                        "trained on")
    teacher = NetTeacher(name=path.name, kind=kind, spec=spec, net=net,
                         source={"file": str(path), "format": framework})
    if framework == "rsl-rl":  # shown by `teacher info`: the one thing the file does not say
        teacher.source |= {"activation": activation, "activation_from": activation_from}
    if norm is not None:
        teacher.obs_norm = ObsNorm(spec.obs_shape, norm).eval()
        teacher.source["normalize"] = norm.source
    return teacher
