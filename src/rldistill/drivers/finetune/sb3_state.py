"""An SB3 model's state as tensors (safetensors, nothing pickled), for the checkpoints of
``rldistill finetune`` and ``rldistill teacher train``: the weights, the optimizer states and
torch variables SB3 itself saves (``_get_torch_save_params``), the anchor's weights (``--anchor
best`` moves it), an off-policy model's replay buffer, VecNormalize's running statistics and the
counters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.drivers.finetune.anchor import anchor_policy
from rldistill.engine.checkpoint import (CKPT_NAME, FORMAT, optimizer_tensors, restore_optimizer,
                                         save_tensors)

COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "_n_calls")


def torch_state(model: Any) -> dict[str, torch.Tensor]:
    """The SB3 model's weights, optimizer states and torch variables, flat (safetensors)."""
    from stable_baselines3.common.save_util import recursive_getattr

    names, variables = model._get_torch_save_params()
    out: dict[str, torch.Tensor] = {}
    for name in names:
        obj = recursive_getattr(model, name)
        if isinstance(obj, torch.optim.Optimizer):
            out |= {f"{name}/{k}": v for k, v in optimizer_tensors(obj).items()}
        else:  # copies: an actor-critic's shared features extractor is under three names
            out |= {f"{name}/{k}": v.clone() for k, v in obj.state_dict().items()}
    for name in variables:
        out[f"var/{name}"] = recursive_getattr(model, name).detach()
    anchor = anchor_policy(model)
    if anchor is not None:  # --anchor best moves it: its weights, as the policy's
        out |= {f"anchor/{k}": v.clone() for k, v in anchor.state_dict().items()}
    buf = getattr(model, "replay_buffer", None)
    if buf is not None:
        for key in ("observations", "next_observations", "actions", "rewards", "dones",
                    "timeouts"):
            arr = getattr(buf, key, None)
            if arr is not None:
                out[f"replay/{key}"] = torch.from_numpy(np.ascontiguousarray(arr))
    return out


def restore(model: Any, tensors: dict[str, torch.Tensor], counters: dict[str, Any]) -> None:
    from stable_baselines3.common.save_util import recursive_getattr

    names, variables = model._get_torch_save_params()
    for name in names:
        obj = recursive_getattr(model, name)
        part = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + "/")}
        if isinstance(obj, torch.optim.Optimizer):
            restore_optimizer(obj, part)
        else:
            obj.load_state_dict(part)
    with torch.no_grad():
        for name in variables:
            recursive_getattr(model, name).copy_(tensors[f"var/{name}"])
    anchor = anchor_policy(model)
    if anchor is not None and any(k.startswith("anchor/") for k in tensors):
        anchor.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("anchor/")})
    buf = getattr(model, "replay_buffer", None)
    if buf is not None:
        for k, v in tensors.items():
            if k.startswith("replay/"):
                getattr(buf, k[7:])[...] = v.numpy()
        buf.pos, buf.full = int(counters["buffer_pos"]), bool(counters["buffer_full"])
    for key in COUNTERS:
        if key in counters:
            setattr(model, key, counters[key])
    venv = model.get_env()
    for name in ("obs_rms", "ret_rms"):
        if f"{name}_count" in counters and hasattr(venv, name):
            rms = getattr(venv, name)
            rms.mean = tensors[f"vecnorm/{name}/mean"].numpy().copy()
            rms.var = tensors[f"vecnorm/{name}/var"].numpy().copy()
            rms.count = counters[f"{name}_count"]


def save_model_state(path: Path, model: Any, state: dict[str, Any]) -> None:
    """``model``'s state and its counters (and a VecNormalize env's running statistics) with
    ``state`` (JSON) in one safetensors file, atomically."""
    buf = getattr(model, "replay_buffer", None)
    counters = {k: int(getattr(model, k)) for k in COUNTERS if hasattr(model, k)}
    if buf is not None:
        counters |= {"buffer_pos": int(buf.pos), "buffer_full": bool(buf.full)}
    tensors = torch_state(model)
    venv = model.get_env()
    if hasattr(venv, "obs_rms"):  # VecNormalize: its running statistics go on learning
        for name in ("obs_rms", "ret_rms"):
            rms = getattr(venv, name)
            tensors |= {f"vecnorm/{name}/mean": torch.as_tensor(rms.mean),
                        f"vecnorm/{name}/var": torch.as_tensor(rms.var)}
            counters[f"{name}_count"] = float(rms.count)
    save_tensors(path, tensors, {"state": json.dumps({**state, "format": FORMAT,
                                                      "counters": counters})})


def save_checkpoint(out: Path, cfg: Any, model: Any, phase: str,
                    curve: list[dict[str, Any]], done: dict[str, Any]) -> None:
    save_model_state(out / CKPT_NAME, model, {"kind": "finetune", "config": cfg.to_dict(),
                                              "phase": phase, "curve": curve, "done": done})
