"""SB3 zips read without unpickling anything.

The readable fields of the zip's ``data`` JSON give the spaces, the activation and the policy
options (gSDE, clip_mean, squash_output), and ``policy.pth`` is loaded with
``torch.load(weights_only=True)``. The acting network is rebuilt from the state-dict keys, for
the built-in MLP policies of DQN, QR-DQN (Q-values), PPO / A2C (action logits, or a Gaussian
with or without gSDE), SAC / TQC (a tanh-squashed Gaussian) and TD3 / DDPG (deterministic).
Only the acting path is kept: no value net, no critic, no target net, so ``params`` counts what
the teacher uses to act. A custom policy needs ``trust=True`` (SB3's own loader, which runs
code from the file).
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rldistill.core.errors import UserError
from rldistill.core.spaces import ActionSpec, ObsKey, SpaceSpec, dict_spec
from rldistill.sources.base import NetTeacher
from rldistill.sources.sb3_cnn import features

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "ReLU": nn.ReLU, "Tanh": nn.Tanh, "ELU": nn.ELU, "LeakyReLU": nn.LeakyReLU,
    "SiLU": nn.SiLU, "GELU": nn.GELU, "Sigmoid": nn.Sigmoid,
}
_KNOWN_KEYS = ("lstm_actor.", "lstm_critic.", "q_net.q_net.", "q_net_target.q_net.",
               "quantile_net.quantile_net.", "quantile_net_target.quantile_net.",
               "mlp_extractor.", "action_net.", "value_net.",
               "log_std", "actor.latent_pi.", "actor.mu.", "actor.log_std", "actor_target.",
               "critic.", "critic_target.", "features_extractor.", "pi_features_extractor.",
               "vf_features_extractor.", "q_net.features_extractor.",
               "q_net_target.features_extractor.", "quantile_net.features_extractor.",
               "quantile_net_target.features_extractor.", "actor.features_extractor.")


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
    try:
        spec: SpaceSpec | None = _spaces_from_data(data, path)
    except UserError:
        if not trust:
            raise
        spec = None  # SB3's own loader reads the spaces (below)
    algo = algorithm(data)
    module = _readable(data.get("policy_class"), "__module__") or ""
    trusted = False
    try:
        if spec is None:
            raise UserError(f"teacher {path}: its spaces cannot be read from the zip's data")
        if module and not module.startswith(("stable_baselines3.", "sb3_contrib.")):
            # its keys may look like SB3's, its forward pass need not be
            raise UserError(f"teacher {path} has a custom policy class ({module}."
                            f"{_policy_name(data)}) that rldistill cannot rebuild without "
                            "running code from the file: pass --trust-teacher if you trust its "
                            "source (its module must be importable)")
        with warnings.catch_warnings():  # a foreign pickle warns before it is refused
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        options = _readable_dict(data.get("policy_kwargs"))
        net, kind = _build_net(state, spec, _activation_from_data(data), options, path)
        extractor = features(state, spec, str(options.get("normalize_images", True)) != "False",
                             path)
        net = nn.Sequential(extractor, net)
    except UserError:
        if not trust:
            raise
        net, kind, spec = _load_trusted(path, spec)
        trusted = True
    except Exception as e:  # noqa: BLE001 - torch raises many types for bad pickles
        if not trust:
            raise UserError(f"teacher {path}: policy.pth holds more than tensors "
                            f"({type(e).__name__}); loading it would run code from the file: "
                            "pass --trust-teacher if you trust its source") from None
        net, kind, spec = _load_trusted(path, spec)
        trusted = True
    assert spec is not None
    return NetTeacher(name=name, kind=kind, spec=spec, net=net,
                      source={"file": str(path), "format": "sb3-zip", "algorithm": algo,
                              "policy": _policy_name(data),
                              **({"trusted": True} if trusted else {})})


def _policy_name(data: dict[str, Any]) -> str:
    """The policy class's name, from the readable text of its methods."""
    item = data.get("policy_class")
    for text in (item.values() if isinstance(item, dict) else ()):  # its methods' reprs
        m = re.match(r"<function ([\w.<>]+)\.\w+ at ", str(text))
        if m:
            return m.group(1).split(".")[-1]
    return "?"


def algorithm(data: dict[str, Any]) -> str:
    """The SB3 / sb3-contrib algorithm that saved ``data``: from its policy's module, and for
    the actor-critics that share SB3's policy (PPO, A2C, TRPO) from their own fields."""
    parts = (_readable(data.get("policy_class"), "__module__") or "").split(".")
    if "maskable" in parts or "recurrent" in parts:
        return "maskableppo" if "maskable" in parts else "recurrentppo"
    if len(parts) > 1 and parts[1] in ("dqn", "qrdqn", "sac", "tqc", "td3", "ars", "crossq"):
        return "ddpg" if parts[1] == "td3" and data.get("policy_delay") == 1 else parts[1]
    if "cg_max_steps" in data:
        return "trpo"
    return "ppo" if "clip_range" in data else "a2c" if "policies" in parts else "?"


def _load_trusted(path: Path, spec: SpaceSpec | None) -> tuple[nn.Module, str, SpaceSpec]:
    """Full SB3 unpickling (runs code from the file): only with --trust-teacher. The spaces
    come from SB3's where the zip's readable data did not give them; a Dict space's policy
    gets its keys back from the flat vector (:class:`KeysToDict`)."""
    from stable_baselines3.common.save_util import load_from_zip_file

    from rldistill.sources.sb3_policy import KeysToDict, acting_net

    try:
        with warnings.catch_warnings():  # SB3 warns where it cannot unpickle an entry
            warnings.simplefilter("ignore")
            data, params, _ = load_from_zip_file(path, device="cpu")
        assert data is not None
        policy = data["policy_class"](data["observation_space"], data["action_space"],
                                      lambda _: 0.0, **data.get("policy_kwargs", {}))
        policy.load_state_dict(params["policy"])
    except Exception as e:  # noqa: BLE001 - the user's classes raise what they raise
        raise UserError(f"teacher {path}: SB3 could not load it ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''}): make the module that "
                        "defines its policy importable (PYTHONPATH), with the package versions "
                        "it was saved with") from None
    if spec is None:
        from rldistill.envs.make import spec_of

        spec = spec_of(data["observation_space"], data["action_space"], f"teacher {path}")
    net, kind = acting_net(policy, spec.action)
    return (KeysToDict(net, spec) if spec.keys else net), kind, spec


def _readable(item: object, key: str) -> str | None:
    if isinstance(item, dict) and key in item:
        return str(item[key])
    return None


def _readable_dict(item: object) -> dict[str, Any]:
    """The plainly readable entries of a JSON-serialised dict (SB3 also pickles some)."""
    return {k: v for k, v in item.items() if not k.startswith(":")} \
        if isinstance(item, dict) else {}


def _shape(item: object) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", _readable(item, "_shape") or ""))


def _bounds(item: object, key: str, n: int, path: Path) -> tuple[float, ...]:
    """A Box's low / high from its readable text ('[-2. -1.]', 'inf' allowed), as float32."""
    text = _readable(item, key) or ""
    values = re.findall(r"[-+]?(?:inf|nan|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)",
                        text)
    if len(values) == 1 and n > 1:
        values *= n
    if len(values) != n:
        raise UserError(f"teacher {path}: its action space's {key} bounds cannot be read from "
                        "the zip's data: pass --trust-teacher to load it with SB3")
    return tuple(float(np.float32(v)) for v in values)


def _spaces_from_data(data: dict[str, Any], path: Path) -> SpaceSpec:
    obs, act = data.get("observation_space", {}), data.get("action_space", {})
    act_type, obs_type = _readable(act, ":type:") or "", _readable(obs, ":type:") or ""
    if "Discrete" in act_type and "MultiDiscrete" not in act_type:
        action = ActionSpec("discrete", int(_readable(act, "n") or 0))
    elif "MultiDiscrete" in act_type:
        nvec = _ints(_readable(act, "nvec"))
        if not nvec or any(_ints(_readable(act, "start") or "[0]")):
            raise UserError(f"teacher {path}: its MultiDiscrete action space cannot be read "
                            "from the zip (a 1-d nvec, starting at 0)")
        action = ActionSpec("multi_discrete", nvec=tuple(nvec))
    elif "MultiBinary" in act_type:
        shape = _shape(act)
        if len(shape) != 1:
            raise UserError(f"teacher {path}: MultiBinary actions of shape {shape}: rldistill "
                            "distils 1-d MultiBinary action spaces")
        action = ActionSpec("multi_binary", int(shape[0]))
    elif "Box" in act_type:
        shape = _shape(act)
        n = int(np.prod(shape))
        action = ActionSpec("box", shape=shape, low=_bounds(act, "low", n, path),
                            high=_bounds(act, "high", n, path))
    else:
        kind = act_type.split("'")[1].rsplit(".", 1)[-1] if "'" in act_type else act_type
        raise UserError(f"teacher {path} has a {kind or 'unknown'} action space; rldistill "
                        "distils Discrete, Box, MultiDiscrete and MultiBinary action spaces: pass "
                        "a model of an env with one of those")
    if "spaces.dict.Dict" in obs_type:
        return dict_spec(_dict_keys(_readable(obs, "spaces") or "", path), action)
    if "Box" not in obs_type:
        raise UserError(f"teacher {path} has observation space {obs_type or 'unknown'}; "
                        "rldistill reads Box and Dict (of Box keys) observations")
    dtype = _readable(obs, "dtype") or "float32"
    return SpaceSpec(_shape(obs), action, "uint8" if "uint8" in dtype else "float32")


def _dict_keys(text: str, path: Path) -> tuple[ObsKey, ...]:
    """The keys of a Dict space from its readable text ("{'goal': Box(-inf, inf, (2,),
    float32), ...}"), in order; a one-line error for keys that are not Boxes."""
    # {'goal': Box(..), ...}, or OrderedDict([('goal', Box(..)), ...]) (gym 0.21's Dict)
    found = [(a or b, kind, inner) for a, b, kind, inner in re.findall(
        r"(?:'([^']*)': |\('([^']*)', )(\w+)\(((?:[^()]|\([^()]*\))*)\)", text)]
    if not found or any(kind != "Box" for _, kind, _ in found):
        bad = next((f"{n!r} is a {kind}" for n, kind, _ in found if kind != "Box"), "none read")
        raise UserError(f"teacher {path} has a Dict observation space whose keys rldistill "
                        f"cannot read ({bad}): it reads Dict spaces of Box keys")
    keys = []
    for name, _, inner in found:
        shape = re.findall(r"\(([\d, ]*)\)", inner)
        dtype = inner.rsplit(",", 1)[-1].strip()
        image = dtype == "uint8" and re.match(r"\s*0,\s*255,", inner)  # SB3's image bounds
        keys.append(ObsKey(name, tuple(_ints(shape[-1] if shape else "")),
                           "uint8" if image else "float32"))
    return tuple(keys)


def _ints(text: str | None) -> list[int]:
    """The integers of a readable numpy array ('[3 3 2]'); [] where there are none."""
    return [int(x) for x in re.findall(r"-?\d+", text or "")]


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
        w, b = state[f"{prefix}{i}.weight"], state.get(f"{prefix}{i}.bias")
        layers.append(nn.Linear(w.shape[1], w.shape[0], bias=b is not None))
        sd[f"{len(layers) - 1}.weight"] = w
        if b is not None:
            sd[f"{len(layers) - 1}.bias"] = b
        if final_activation or j < len(idx) - 1:
            layers.append(act())
    net = nn.Sequential(*layers)
    net.load_state_dict(sd)
    return net


def _build_net(state: dict[str, torch.Tensor], spec: SpaceSpec,
               activation: type[nn.Module] | None, options: dict[str, Any],
               path: Path) -> tuple[nn.Module, str]:
    from rldistill.sources.sb3_policy import QuantileMean

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
    if any(k.startswith("action_net.0.") for k in keys):  # ARS: action_net is the policy
        return _ars(state, spec, activation, options)
    if any(k.startswith("lstm_actor.") for k in keys):  # RecurrentPPO
        from rldistill.sources.sb3_recurrent import lstm_policy

        body, head = _actor_critic(state, activation)
        if spec.action.kind == "box" and "log_std" in keys:  # a Gaussian after the LSTM
            from rldistill.sources.sb3_nets import GaussianActor

            actor = GaussianActor(body, head, state["log_std"], **_sde(options))
            kind = "squashed" if options.get("squash_output") else "gaussian"
            return lstm_policy(state, nn.Identity(), actor, path), kind
        if spec.action.kind != "discrete":
            raise UserError(f"teacher {path} is a RecurrentPPO with {spec.action.describe()}: "
                            "rldistill reads RecurrentPPO teachers of Discrete and Box actions")
        return lstm_policy(state, body, head, path), "logits"
    if spec.action.kind == "box":
        return _build_continuous(state, activation, options, path)
    if "action_net.weight" in keys:  # PPO / A2C actor-critic
        body, head = _actor_critic(state, activation)
        return nn.Sequential(*body, head), "logits"
    raise UserError(f"teacher {path} has a policy rldistill does not recognise (keys like "
                    f"{sorted(keys)[:2]}): use DQN, QR-DQN, PPO or A2C with an MLP policy")


def _ars(state: dict[str, torch.Tensor], spec: SpaceSpec, activation: type[nn.Module] | None,
         options: dict[str, Any]) -> tuple[nn.Module, str]:
    """ARS (sb3-contrib): ``action_net`` maps observations to scores (Discrete: the argmax
    acts, a greedy teacher as a Q-value one is) or to the action (Box: through tanh for the
    MLP policy, clipped to the bounds for the linear one)."""
    from rldistill.sources.sb3_nets import ClippedToUnit

    net = _mlp_from_state(state, "action_net.", activation or nn.ReLU, False)
    if spec.action.kind == "discrete":
        return net, "q"
    linear = len([m for m in net if isinstance(m, nn.Linear)]) == 1 and not options.get(
        "squash_output", False) and "action_net.0.bias" not in state
    tail = ClippedToUnit(spec.action.low, spec.action.high) if linear else nn.Tanh()
    return nn.Sequential(*net, tail), "deterministic"


def _linear(state: dict[str, torch.Tensor], prefix: str) -> nn.Linear:
    w = state[f"{prefix}weight"]
    layer = nn.Linear(w.shape[1], w.shape[0])
    layer.load_state_dict({"weight": w, "bias": state[f"{prefix}bias"]})
    return layer


def _actor_critic(state: dict[str, torch.Tensor], activation: type[nn.Module] | None
                  ) -> tuple[nn.Sequential, nn.Linear]:
    """The policy path of an SB3 actor-critic: shared + policy layers, and its action_net."""
    parts: list[nn.Module] = []
    for prefix in ("mlp_extractor.shared_net.", "mlp_extractor.policy_net."):
        if any(k.startswith(prefix) for k in state):
            parts.extend(_mlp_from_state(state, prefix, activation or nn.Tanh, True))
    return nn.Sequential(*parts), _linear(state, "action_net.")


def _sde(options: dict[str, Any]) -> dict[str, bool]:
    """gSDE's options (where the policy uses it)."""
    return dict(full_std=bool(options.get("full_std", True)),
                use_expln=bool(options.get("use_expln", False)))


def _build_continuous(state: dict[str, torch.Tensor], activation: type[nn.Module] | None,
                      options: dict[str, Any], path: Path) -> tuple[nn.Module, str]:
    """Box actions: SAC / TQC / CrossQ (squashed), TD3 / DDPG (deterministic), PPO / A2C
    (Gaussian)."""
    from rldistill.sources.sb3_nets import GaussianActor, SquashedActor

    keys = set(state)
    sde = _sde(options)
    if "actor.latent_pi.0.ra_mean" in keys:  # CrossQ: BatchRenorm layers in the actor
        from rldistill.sources.sb3_nets import sequential_with_renorm

        latent = sequential_with_renorm(state, "actor.latent_pi.", activation or nn.ReLU,
                                        float(options.get("batch_norm_eps", 0.001)))
        return SquashedActor(latent, _linear(state, "actor.mu."),
                             _linear(state, "actor.log_std.")), "squashed"
    if "actor.latent_pi.0.weight" in keys:
        latent = _mlp_from_state(state, "actor.latent_pi.", activation or nn.ReLU, True)
        if "actor.log_std" in keys:  # gSDE: the std is a (latent, action) matrix
            mu = _linear(state, "actor.mu.0.")
            clip_mean = float(options.get("clip_mean", 2.0))
            return SquashedActor(latent, mu, state["actor.log_std"], clip_mean, **sde), "squashed"
        return SquashedActor(latent, _linear(state, "actor.mu."),
                             _linear(state, "actor.log_std.")), "squashed"
    if "actor.mu.0.weight" in keys:
        layers = _mlp_from_state(state, "actor.mu.", activation or nn.ReLU, False)
        return nn.Sequential(*layers, nn.Tanh()), "deterministic"
    if "action_net.weight" in keys and "log_std" in keys:
        body, head = _actor_critic(state, activation)
        kind = "squashed" if options.get("squash_output") else "gaussian"
        return GaussianActor(body, head, state["log_std"], **sde), kind
    raise UserError(f"teacher {path} has a continuous-action policy rldistill does not recognise "
                    f"(keys like {sorted(keys)[:2]}): use SAC, TQC, TD3, DDPG, PPO or A2C with "
                    "an MLP policy")
