"""Teachers: the :class:`Teacher` protocol and its loaders (SB3 zip, TorchScript, zoo names).

SB3 zips are read without unpickling anything: the readable fields of the ``data`` JSON give the
spaces and the activation, and ``policy.pth`` is loaded with ``torch.load(weights_only=True)``.
The acting network is rebuilt from the state-dict keys, for the built-in MLP policies of DQN,
QR-DQN (Q-values) and PPO / A2C (action logits). Only the acting path is kept: no value net,
no target net, so :attr:`Teacher.params` counts what the teacher uses to act.
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import torch
from torch import nn

from rldistill.envs import SpaceSpec
from rldistill.errors import UserError

OutputKind = Literal["logits", "q"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "ReLU": nn.ReLU, "Tanh": nn.Tanh, "ELU": nn.ELU, "LeakyReLU": nn.LeakyReLU,
    "SiLU": nn.SiLU, "GELU": nn.GELU, "Sigmoid": nn.Sigmoid,
}


class Teacher(Protocol):
    """What the loop needs of a teacher."""

    name: str
    kind: OutputKind  # "logits" (policy teachers) or "q" (Q-value teachers)
    spec: SpaceSpec
    params: int  # parameters on the acting path

    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        """Logits or Q-values, shape (batch, n_actions), for a float32 batch of observations."""
        ...

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        """Greedy actions, shape (batch,)."""
        ...


@dataclass
class NetTeacher:
    """A teacher that is a torch module mapping observations to logits or Q-values."""

    name: str
    kind: OutputKind
    spec: SpaceSpec
    net: nn.Module

    def __post_init__(self) -> None:
        self.net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.params = sum(p.numel() for p in self.net.parameters())

    @torch.inference_mode()
    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return self.outputs(obs).argmax(dim=-1)


class EnsembleTeacher:
    """Several teachers of one task as one: the target is their averaged action distribution
    (``mode="mean"``) or, per state, the distribution of the most confident member
    (``mode="confident"``: highest top-action probability).

    Each member's outputs become probabilities at its default temperature (softmax of logits;
    softmax(Q / 0.01) for Q-value teachers), so policy and Q-value teachers mix; :meth:`outputs`
    returns log-probabilities, which the losses treat as logits.
    """

    kind: OutputKind = "logits"

    def __init__(self, members: list[Teacher], mode: str = "mean") -> None:
        from rldistill.losses import default_temperature

        for m in members[1:]:
            if m.spec != members[0].spec:
                raise UserError(f"ensemble teachers {members[0].name} ({members[0].spec.describe()})"
                                f" and {m.name} ({m.spec.describe()}) act on different spaces: "
                                "an ensemble needs teachers of one env")
        self.members, self.mode = members, mode
        self.spec = members[0].spec
        self.name = "+".join(m.name for m in members)
        self.params = sum(m.params for m in members)
        self._temps = [default_temperature(m.kind) for m in members]

    @torch.inference_mode()
    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([torch.softmax(m.outputs(obs) / t, -1)
                             for m, t in zip(self.members, self._temps)])  # (members, B, A)
        if self.mode == "mean":
            p = probs.mean(0)
        else:
            best = probs.amax(-1).argmax(0)  # (B,) the most confident member per state
            p = probs[best, torch.arange(obs.shape[0])]
        return torch.log(p.clamp_min(1e-12))

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return self.outputs(obs).argmax(dim=-1)


class _QuantileMean(nn.Module):
    """QR-DQN head: (batch, n_quantiles * n_actions) -> mean over quantiles = Q-values."""

    def __init__(self, body: nn.Module, n_actions: int) -> None:
        super().__init__()
        self.body = body
        self.n_actions = n_actions

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.body(obs)
        return out.view(out.shape[0], -1, self.n_actions).mean(dim=1)


def load_teachers(specs: tuple[str, ...], mode: str = "mean", trust: bool = False) -> Teacher:
    """One teacher, or an :class:`EnsembleTeacher` of several teachers of one task."""
    members = [load_teacher(s, trust=trust) for s in specs]
    return members[0] if len(members) == 1 else EnsembleTeacher(members, mode)


def load_teacher(spec: str, trust: bool = False) -> NetTeacher:
    """Load a teacher from ``zoo:NAME``, an SB3 ``.zip``, or a TorchScript ``.pt`` file."""
    if spec.startswith("zoo:"):
        from rldistill.zoo import zoo_path

        return load_sb3_zip(zoo_path(spec[4:]), name=spec, trust=trust)
    path = Path(spec)
    if not path.exists():
        raise UserError(f"teacher file {spec} does not exist: pass an SB3 .zip, a TorchScript .pt "
                        "or zoo:NAME (see `rldistill zoo list`)")
    if path.suffix in (".pt", ".ts"):
        raise UserError(f"teacher {spec}: TorchScript teachers need --teacher-kind and an env; "
                        "not supported yet, export the policy as an SB3 zip")
    return load_sb3_zip(path, name=path.name, trust=trust)


def load_sb3_zip(path: Path, name: str, trust: bool = False) -> NetTeacher:
    """Rebuild the acting network of an SB3 zip without unpickling (see module docstring)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "data" not in names or "policy.pth" not in names:
                raise UserError(f"teacher {path} is a zip but not a Stable-Baselines3 model (no "
                                "'data'/'policy.pth' inside): pass a file saved by model.save()")
            data = json.loads(zf.read("data"))
            raw = zf.read("policy.pth")
    except zipfile.BadZipFile as e:
        raise UserError(f"teacher {path} is not a valid zip file ({e}; truncated or not a zip): "
                        "pass an SB3 model .zip saved by model.save(), copied whole") from None
    except (OSError, ValueError, EOFError) as e:
        raise UserError(f"teacher {path} could not be read ({e}): the file may be truncated; "
                        "copy it again") from None
    spec = _spaces_from_data(data, path)
    try:
        with warnings.catch_warnings():  # a foreign pickle warns before it is refused
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        net, kind = _build_net(state, spec, _activation_from_data(data), path)
    except UserError:
        if not trust:
            raise
        net, kind = _load_trusted(path)
    except Exception as e:  # noqa: BLE001 - torch raises many types for bad pickles
        if not trust:
            raise UserError(f"teacher {path}: policy.pth holds more than tensors "
                            f"({type(e).__name__}); loading it would run code from the file: "
                            "pass --trust-teacher if you trust its source") from None
        net, kind = _load_trusted(path)
    return NetTeacher(name=name, kind=kind, spec=spec, net=net)


class PolicyLogits(nn.Module):
    """The actor path of an SB3 PPO/A2C policy object: observation -> action logits."""

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.policy.get_distribution(obs).distribution.logits  # type: ignore[operator]


def _load_trusted(path: Path) -> tuple[nn.Module, OutputKind]:
    """Full SB3 unpickling (runs code from the file): only with --trust-teacher."""
    from stable_baselines3.common.save_util import load_from_zip_file

    data, params, _ = load_from_zip_file(path, device="cpu")
    policy = data["policy_class"](data["observation_space"], data["action_space"],
                                  lambda _: 0.0, **data.get("policy_kwargs", {}))
    policy.load_state_dict(params["policy"])
    if hasattr(policy, "q_net"):
        return policy.q_net, "q"
    if hasattr(policy, "quantile_net"):
        return _QuantileMean(policy.quantile_net, int(data["action_space"].n)), "q"
    return PolicyLogits(policy), "logits"


def _readable(item: object, key: str) -> str | None:
    if isinstance(item, dict) and key in item:
        return str(item[key])
    return None


def _spaces_from_data(data: dict, path: Path) -> SpaceSpec:
    obs, act = data.get("observation_space", {}), data.get("action_space", {})
    act_type, obs_type = _readable(act, ":type:") or "", _readable(obs, ":type:") or ""
    if "Discrete" not in act_type:
        kind = act_type.split("'")[1].rsplit(".", 1)[-1] if "'" in act_type else act_type
        raise UserError(f"teacher {path} has a {kind or 'unknown'} action space; rldistill "
                        "distils discrete-action teachers: pass a DQN, QR-DQN, PPO or A2C model "
                        "of an env with Discrete actions")
    if "Box" not in obs_type:
        raise UserError(f"teacher {path} has observation space {obs_type or 'unknown'}; only Box "
                        "observations are supported")
    shape = [int(x) for x in re.findall(r"\d+", _readable(obs, "_shape") or "")]
    n = int(_readable(act, "n") or 0)
    return SpaceSpec(tuple(shape), n)


def _activation_from_data(data: dict) -> type[nn.Module] | None:
    text = _readable(data.get("policy_kwargs"), "activation_fn")
    if text is None:
        return None
    m = re.search(r"\.(\w+)'>", text)
    if not m or m.group(1) not in _ACTIVATIONS:
        raise UserError(f"teacher uses activation {text}, which rldistill cannot rebuild safely: "
                        "pass --trust-teacher to load it with SB3")
    return _ACTIVATIONS[m.group(1)]


def _mlp_from_state(state: dict[str, torch.Tensor], prefix: str, act: type[nn.Module],
                    final_activation: bool) -> tuple[nn.Sequential, dict[str, torch.Tensor]]:
    """nn.Sequential of Linear(+activation) rebuilt from ``prefix{i}.weight`` keys."""
    idx = sorted({int(k[len(prefix):].split(".")[0]) for k in state if k.startswith(prefix)})
    layers: list[nn.Module] = []
    sd: dict[str, torch.Tensor] = {}
    for j, i in enumerate(idx):
        w, b = state[f"{prefix}{i}.weight"], state[f"{prefix}{i}.bias"]
        layers.append(nn.Linear(w.shape[1], w.shape[0]))
        sd[f"{len(layers) - 1}.weight"], sd[f"{len(layers) - 1}.bias"] = w, b
        if final_activation or j < len(idx) - 1:
            layers.append(act())
    return nn.Sequential(*layers), sd


def _build_net(state: dict[str, torch.Tensor], spec: SpaceSpec,
               activation: type[nn.Module] | None, path: Path) -> tuple[nn.Module, OutputKind]:
    keys = set(state)
    known = ("q_net.q_net.", "q_net_target.q_net.", "quantile_net.quantile_net.",
             "quantile_net_target.quantile_net.", "mlp_extractor.", "action_net.", "value_net.")
    custom = sorted(k for k in keys if not k.startswith(known))
    if custom:
        raise UserError(f"teacher {path} has a custom policy (parameters such as {custom[0]}) "
                        "that rldistill cannot rebuild without running code from the file: pass "
                        "--trust-teacher if you trust its source")
    if any(k.startswith("q_net.q_net.") for k in keys):  # DQN
        net, sd = _mlp_from_state(state, "q_net.q_net.", activation or nn.ReLU, False)
        net.load_state_dict(sd)
        return net, "q"
    if any(k.startswith("quantile_net.quantile_net.") for k in keys):  # QR-DQN
        body, sd = _mlp_from_state(state, "quantile_net.quantile_net.", activation or nn.ReLU,
                                   False)
        body.load_state_dict(sd)
        return _QuantileMean(body, spec.n_actions), "q"
    if "action_net.weight" in keys:  # PPO / A2C actor-critic
        act = activation or nn.Tanh
        parts: list[nn.Module] = []
        for prefix in ("mlp_extractor.shared_net.", "mlp_extractor.policy_net."):
            if any(k.startswith(prefix) for k in keys):
                mlp, sd = _mlp_from_state(state, prefix, act, True)
                mlp.load_state_dict(sd)
                parts.extend(mlp)
        head = nn.Linear(state["action_net.weight"].shape[1], state["action_net.weight"].shape[0])
        head.load_state_dict({"weight": state["action_net.weight"],
                              "bias": state["action_net.bias"]})
        return nn.Sequential(*parts, head), "logits"
    raise UserError(f"teacher {path} has a policy rldistill does not recognise (keys like "
                    f"{sorted(keys)[:2]}): use DQN, QR-DQN, PPO or A2C with an MLP policy")
