"""SB3 zips read without unpickling anything.

The readable fields of the zip's ``data`` JSON give the spaces and the activation, and
``policy.pth`` is loaded with ``torch.load(weights_only=True)``. The acting network is rebuilt
from the state-dict keys, for the built-in MLP policies of DQN, QR-DQN (Q-values) and PPO / A2C
(action logits). Only the acting path is kept: no value net, no target net, so ``params``
counts what the teacher uses to act. A custom policy needs ``trust=True`` (SB3's own loader,
which runs code from the file).
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rldistill.errors import UserError
from rldistill.heads import head_for
from rldistill.spaces import ActionSpec, SpaceSpec
from rldistill.teachers.base import NetTeacher

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "ReLU": nn.ReLU, "Tanh": nn.Tanh, "ELU": nn.ELU, "LeakyReLU": nn.LeakyReLU,
    "SiLU": nn.SiLU, "GELU": nn.GELU, "Sigmoid": nn.Sigmoid,
}
_KNOWN_KEYS = ("q_net.q_net.", "q_net_target.q_net.", "quantile_net.quantile_net.",
               "quantile_net_target.quantile_net.", "mlp_extractor.", "action_net.", "value_net.")


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
        net, kind = _load_trusted(path, spec)
    except Exception as e:  # noqa: BLE001 - torch raises many types for bad pickles
        if not trust:
            raise UserError(f"teacher {path}: policy.pth holds more than tensors "
                            f"({type(e).__name__}); loading it would run code from the file: "
                            "pass --trust-teacher if you trust its source") from None
        net, kind = _load_trusted(path, spec)
    return NetTeacher(name=name, kind=kind, spec=spec, net=net,
                      source={"file": str(path), "format": "sb3-zip"})


def _load_trusted(path: Path, spec: SpaceSpec) -> tuple[nn.Module, str]:
    """Full SB3 unpickling (runs code from the file): only with --trust-teacher."""
    from stable_baselines3.common.save_util import load_from_zip_file

    from rldistill.sb3.policy import acting_net

    data, params, _ = load_from_zip_file(path, device="cpu")
    assert data is not None
    policy = data["policy_class"](data["observation_space"], data["action_space"],
                                  lambda _: 0.0, **data.get("policy_kwargs", {}))
    policy.load_state_dict(params["policy"])
    return acting_net(policy, head_for(spec.action))


def _readable(item: object, key: str) -> str | None:
    if isinstance(item, dict) and key in item:
        return str(item[key])
    return None


def _spaces_from_data(data: dict[str, Any], path: Path) -> SpaceSpec:
    obs, act = data.get("observation_space", {}), data.get("action_space", {})
    act_type, obs_type = _readable(act, ":type:") or "", _readable(obs, ":type:") or ""
    if "Discrete" not in act_type or "MultiDiscrete" in act_type:
        kind = act_type.split("'")[1].rsplit(".", 1)[-1] if "'" in act_type else act_type
        raise UserError(f"teacher {path} has a {kind or 'unknown'} action space; rldistill "
                        "distils discrete-action teachers: pass a DQN, QR-DQN, PPO or A2C model "
                        "of an env with Discrete actions")
    if "Box" not in obs_type:
        raise UserError(f"teacher {path} has observation space {obs_type or 'unknown'}; only Box "
                        "observations are supported")
    shape = [int(x) for x in re.findall(r"\d+", _readable(obs, "_shape") or "")]
    dtype = _readable(obs, "dtype") or "float32"
    n = int(_readable(act, "n") or 0)
    return SpaceSpec(tuple(shape), ActionSpec("discrete", n),
                     "uint8" if "uint8" in dtype else "float32")


def _activation_from_data(data: dict[str, Any]) -> type[nn.Module] | None:
    text = _readable(data.get("policy_kwargs"), "activation_fn")
    if text is None:
        return None
    m = re.search(r"\.(\w+)'>", text)
    if not m or m.group(1) not in _ACTIVATIONS:
        raise UserError(f"teacher uses activation {text}, which rldistill cannot rebuild safely: "
                        "pass --trust-teacher to load it with SB3")
    return _ACTIVATIONS[m.group(1)]


def _mlp_from_state(state: dict[str, torch.Tensor], prefix: str, act: type[nn.Module],
                    final_activation: bool) -> nn.Sequential:
    """nn.Sequential of Linear(+activation) rebuilt from ``prefix{i}.weight`` keys, loaded."""
    idx = sorted({int(k[len(prefix):].split(".")[0]) for k in state if k.startswith(prefix)})
    layers: list[nn.Module] = []
    sd: dict[str, torch.Tensor] = {}
    for j, i in enumerate(idx):
        w, b = state[f"{prefix}{i}.weight"], state[f"{prefix}{i}.bias"]
        layers.append(nn.Linear(w.shape[1], w.shape[0]))
        sd[f"{len(layers) - 1}.weight"], sd[f"{len(layers) - 1}.bias"] = w, b
        if final_activation or j < len(idx) - 1:
            layers.append(act())
    net = nn.Sequential(*layers)
    net.load_state_dict(sd)
    return net


def _build_net(state: dict[str, torch.Tensor], spec: SpaceSpec,
               activation: type[nn.Module] | None, path: Path) -> tuple[nn.Module, str]:
    from rldistill.sb3.policy import QuantileMean

    keys = set(state)
    custom = sorted(k for k in keys if not k.startswith(_KNOWN_KEYS))
    if custom:
        raise UserError(f"teacher {path} has a custom policy (parameters such as {custom[0]}) "
                        "that rldistill cannot rebuild without running code from the file: pass "
                        "--trust-teacher if you trust its source")
    if any(k.startswith("q_net.q_net.") for k in keys):  # DQN
        return _mlp_from_state(state, "q_net.q_net.", activation or nn.ReLU, False), "q"
    if any(k.startswith("quantile_net.quantile_net.") for k in keys):  # QR-DQN
        body = _mlp_from_state(state, "quantile_net.quantile_net.", activation or nn.ReLU, False)
        return QuantileMean(body, spec.action.n), "q"
    if "action_net.weight" in keys:  # PPO / A2C actor-critic
        act = activation or nn.Tanh
        parts: list[nn.Module] = []
        for prefix in ("mlp_extractor.shared_net.", "mlp_extractor.policy_net."):
            if any(k.startswith(prefix) for k in keys):
                parts.extend(_mlp_from_state(state, prefix, act, True))
        head = nn.Linear(state["action_net.weight"].shape[1], state["action_net.weight"].shape[0])
        head.load_state_dict({"weight": state["action_net.weight"],
                              "bias": state["action_net.bias"]})
        return nn.Sequential(*parts, head), "logits"
    raise UserError(f"teacher {path} has a policy rldistill does not recognise (keys like "
                    f"{sorted(keys)[:2]}): use DQN, QR-DQN, PPO or A2C with an MLP policy")
