"""Checkpoints of the loop: one safetensors file (tensors) whose metadata holds the JSON state.

Written to a temp file and renamed, so a kill or a full disk leaves the previous checkpoint
valid. Nothing is pickled: student, optimizer moments, buffer, torch RNG state and the log of
env actions are tensors; counters and the numpy RNG state are JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from rldistill.errors import UserError

CKPT_NAME = "checkpoint.safetensors"


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """Atomically write ``tensors`` with ``state`` (JSON) as metadata to ``path``."""
    from safetensors.torch import save_file

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        save_file({k: v.detach().contiguous() for k, v in tensors.items()}, str(tmp),
                  metadata={"state": json.dumps(state)})
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UserError(f"could not write checkpoint {path} ({e.strerror}); the previous "
                        "checkpoint is kept: free disk space and resume with --resume") from None


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            state = json.loads(f.metadata()["state"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 - safetensors raises several types on bad files
        raise UserError(f"checkpoint {path} is unreadable ({type(e).__name__}): start again "
                        "with --overwrite") from None
    return tensors, state


def optimizer_tensors(opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for idx, st in opt.state_dict()["state"].items():
        for key, value in st.items():
            out[f"opt.{idx}.{key}"] = torch.as_tensor(value)
    return out


def restore_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    sd = opt.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith("opt."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    opt.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
