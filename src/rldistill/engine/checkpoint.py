"""Checkpoints of the loop, written atomically and incrementally.

``checkpoint.safetensors`` holds the student, the optimizer moments and the RNG states as
tensors and the counters (JSON) as metadata; ``checkpoint-buffer/`` holds the buffer in chunks,
one file per collection since the previous checkpoint (its rows, and the env actions taken,
which restore the envs on resume). Each file is written to a temp file, fsynced and renamed, and
the main file, written last, lists the chunks it relies on: a kill or a full disk leaves the
previous checkpoint valid, and the cost of a checkpoint does not grow with the run. Nothing is
pickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from rldistill.core.errors import UserError
from rldistill.core.files import atomic_write

CKPT_NAME = "checkpoint.safetensors"
CHUNK_DIR = "checkpoint-buffer"
FORMAT = "rldistill-checkpoint/2"  # 1: one file with the whole buffer (before the engine)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor],
                 metadata: dict[str, str] | None = None) -> None:
    """A safetensors file, atomically; a full disk is a one-line error naming the file."""
    from safetensors.torch import save_file

    try:
        atomic_write(path, lambda tmp: save_file(
            {k: v.detach().contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata))
    except OSError as e:
        raise UserError(f"could not write checkpoint {path} ({e.strerror}); the previous "
                        "checkpoint is kept: free disk space and resume with --resume") from None


def read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except Exception as e:  # noqa: BLE001 - safetensors raises several types on bad files
        raise UserError(f"checkpoint {path} is unreadable ({type(e).__name__}): start again "
                        "with --overwrite") from None


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The main file's tensors and its JSON state."""
    tensors, meta = read_tensors(path)
    state = json.loads(meta.get("state", "{}"))
    if state.get("format") != FORMAT:
        raise UserError(f"checkpoint {path} was written by another version of rldistill (format "
                        f"{state.get('format', 1)}, this one reads {FORMAT}): start again with "
                        "--overwrite")
    return tensors, state


def write_chunk(run_dir: Path, task: int, start: int, tensors: dict[str, torch.Tensor]) -> str:
    """One chunk of task ``task``'s buffer, starting at row ``start``; returns its name."""
    d = run_dir / CHUNK_DIR
    d.mkdir(exist_ok=True)
    name = f"task{task}-{start:012d}.safetensors"
    save_tensors(d / name, tensors)
    return name


def read_chunk(run_dir: Path, name: str) -> dict[str, torch.Tensor]:
    path = run_dir / CHUNK_DIR / name
    if not path.exists():
        raise UserError(f"checkpoint chunk {path} is missing: start again with --overwrite")
    return read_tensors(path)[0]


def remove_checkpoint(run_dir: Path) -> None:
    """Delete a run's checkpoint (main file and chunks), e.g. for --overwrite."""
    (run_dir / CKPT_NAME).unlink(missing_ok=True)
    d = run_dir / CHUNK_DIR
    if d.is_dir():
        for f in d.iterdir():
            f.unlink()
        d.rmdir()


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


def buffer_obs(run_dir: Path, task: int, n: int, seed: int = 0) -> torch.Tensor | None:
    """Up to ``n`` observations of ``task`` drawn evenly (fixed ``seed``) from the run's
    checkpointed buffer: the states its student met, for calibration and checks; None when the
    run kept no checkpoint."""
    d = Path(run_dir) / CHUNK_DIR
    names = sorted(d.glob(f"task{task}-*.safetensors")) if d.is_dir() else []
    if not names:
        return None
    from rldistill.engine.buffer import stored_obs
    obs = stored_obs([read_tensors(p)[0] for p in names])
    pick = torch.randperm(len(obs), generator=torch.Generator().manual_seed(seed))[:n]
    return obs[pick.sort().values]
