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
- **rsl-rl** (``model_*.pt``, what legged-robot projects train): the actor MLP (ELU, rsl-rl's
  default activation), its state-independent std (``std`` / ``log_std``), and its empirical
  observation normaliser where it has one, ``(x - mean) / (std + 0.01)``, which the student
  copies as it does a VecNormalize teacher's. Both checkpoint layouts: rsl-rl 2-4's
  ``model_state_dict`` (``actor.*``; the normaliser as ``actor_obs_normalizer.*`` or in
  ``obs_norm_state_dict``) and rsl-rl 5's ``actor_state_dict`` (``mlp.*``,
  ``distribution.std_param`` / ``log_std_param``, ``obs_normalizer.*``).

None of these files names its env: ``--env`` gives it, and the network's input and output
widths are checked against the env's spaces. Convolutional agents (CleanRL's Atari ones) are not
read yet: a one-line error says so.
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
from rldistill.sources.base import NetTeacher
from rldistill.sources.normalize import NormStats, ObsNorm

RSL_EPS = 1e-2  # rsl-rl's EmpiricalNormalization: (x - mean) / (std + eps)
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}


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


def detect(state: dict[str, Any]) -> tuple[str, str, nn.Module, Any]:
    """(framework, kind, network, normaliser statistics or None) of a checkpoint's tensors."""
    if isinstance(state.get("actor_state_dict"), dict):  # rsl-rl 5
        actor = state["actor_state_dict"]
        pairs = linears(actor, "mlp")
        std = _rsl_std(actor, "distribution.std_param", "distribution.log_std_param")
        norm = _rsl_norm(actor, "obs_normalizer")
        return "rsl-rl", "gaussian", GaussianNet(mlp(pairs, "elu"), std), norm
    model = state.get("model_state_dict")
    if isinstance(model, dict) and linears(model, "actor"):  # rsl-rl 2-4
        std = _rsl_std(model, "std", "log_std")
        norm = _rsl_norm(model, "actor_obs_normalizer") or _rsl_norm(
            state.get("obs_norm_state_dict") or {}, "")
        return "rsl-rl", "gaussian", GaussianNet(mlp(linears(model, "actor"), "elu"), std), norm
    if any(isinstance(v, torch.Tensor) and v.dim() == 4 for v in state.values()):
        raise UserError("a convolutional agent's checkpoint (CleanRL's Atari agents) is not read "
                        "yet: export the agent to TorchScript and pass --teacher-kind and "
                        "--trust-teacher, or distil from an SB3 model")
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

    framework, kind, net, norm = detect(state)
    if not env_id:
        raise UserError(f"teacher {path} is a {framework} checkpoint, which names no env: pass "
                        "--env ID")
    spec = env_spec(env_id)
    if (kind in ("q", "logits")) != (spec.action.kind == "discrete"):
        raise UserError(f"teacher {path} is a {framework} agent with "
                        f"{'discrete' if kind in ('q', 'logits') else 'continuous'} actions; "
                        f"env {env_id} has {spec.action.describe()}: pass the env it was "
                        "trained on")
    width = head_for(spec.action, kind).target_shape()[0]
    n_in = int(np.prod(spec.obs_shape))
    try:
        with torch.inference_mode():
            out = net.eval()(torch.zeros(2, n_in))
    except RuntimeError:
        out = None
    if out is None or tuple(out.shape) != (2, width) or len(spec.obs_shape) != 1:
        raise UserError(f"teacher {path} ({framework}) does not fit env {env_id} (observations "
                        f"{spec.obs_shape}, {spec.action.describe()}): pass the env it was "
                        "trained on")
    teacher = NetTeacher(name=path.name, kind=kind, spec=spec, net=net,
                         source={"file": str(path), "format": framework})
    if norm is not None:
        teacher.obs_norm = ObsNorm(spec.obs_shape, norm).eval()
        teacher.source["normalize"] = norm.source
    return teacher
