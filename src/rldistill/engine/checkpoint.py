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
            out[f"opt.{idx}.{key}"] = torch.as_tensor(value).cpu()  # --device cuda
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


# ------------------------------------------------------------------------- the loop's state

def loop_state(loop: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A :class:`~rldistill.engine.loop.Loop`'s student, optimizer, RNGs (and recurrent acting
    states) as tensors; its counters, plan and config as JSON. The buffers' rows are not in it:
    :func:`save_loop` writes them as chunks."""
    tensors = {**{f"student.{k}": v.cpu() for k, v in loop.student.state_dict().items()},
               **optimizer_tensors(loop.opt), "rng.torch": loop.gen.get_state(),
               "rng.act": loop.act_gen.get_state(), "rng.noise": loop.noise_gen.get_state(),
               **{f"memory.{i}": t.memory for i, t in enumerate(loop.tasks)
                  if t.memory is not None},
               **{f"teacher_memory.{i}": t.t_memory for i, t in enumerate(loop.tasks)
                  if t.t_memory is not None}}
    state = {"format": FORMAT, "round": loop.round, "phase": loop.phase,
             "labelled": loop.labelled, "updates": loop.updates, "wall_s": loop.wall_s,
             "teacher_queries": loop.teacher_queries,
             "losses": loop.losses, "n_rounds": loop.n_rounds, "budget": loop.budget,
             "base_budget": loop.base_budget,
             "tasks": [{"labelled": t.labelled, "losses": t.losses, "ends": t.ends,
                        "chunks": t.chunks, "saved_rows": t.saved_rows, "env_steps": t.env_steps,
                        "fresh": t.fresh.to_list(),
                        **({"gap": t.gap.tolist()} if t.gap is not None else {})}
                       for t in loop.tasks],
             "rng_numpy": loop.rng.bit_generator.state, "notes": loop.notes,
             "config": loop.cfg.replace(budget=loop.budget).to_dict(), "plan": loop.plan}
    return tensors, state


def load_loop_state(loop: Any, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """The inverse of :func:`loop_state`."""
    import numpy as np

    from rldistill.engine.state import Fresh

    loop.student.load_state_dict({k[8:]: v for k, v in tensors.items()
                                  if k.startswith("student.")})
    restore_optimizer(loop.opt, tensors)
    loop.gen.set_state(tensors["rng.torch"])
    loop.act_gen.set_state(tensors["rng.act"])
    if "rng.noise" in tensors:  # checkpoints from before --perturb
        loop.noise_gen.set_state(tensors["rng.noise"])
    loop.rng.bit_generator.state = state["rng_numpy"]
    for k in ("round", "phase", "updates", "losses", "n_rounds", "budget"):
        setattr(loop, k, state[k])
    loop.notes = state.get("notes", {})
    loop.teacher_queries = state.get("teacher_queries", 0)
    for i, (task, ts) in enumerate(zip(loop.tasks, state["tasks"])):
        for k in ("labelled", "losses", "ends", "chunks", "saved_rows", "env_steps"):
            if k in ts:
                setattr(task, k, ts[k])
        task.fresh = Fresh(*ts.get("fresh", (0.0, 0.0, 0.0)))
        if task.memory is not None:
            task.memory, task.gap = tensors[f"memory.{i}"].clone(), np.array(ts["gap"])
        if task.t_memory is not None:  # a recurrent teacher's state where the envs are
            task.t_memory = tensors[f"teacher_memory.{i}"].clone()


def save_loop(loop: Any, run_dir: Path, extra: dict[str, Any] | None = None) -> None:
    """Checkpoint the loop to ``run_dir``: one chunk per task with the rows and env actions
    since the last checkpoint, then the main file (written last, it lists the chunks it
    needs)."""
    import numpy as np

    pending = []
    for i, task in enumerate(loop.tasks):
        rows = task.buf.rows_since(task.saved_rows)
        if rows["targets"].shape[0] or task.actions:
            acts = np.stack(task.actions) if task.actions else np.zeros((0, loop.n_envs))
            rows["actions"] = torch.from_numpy(acts)
            pending.append((task, write_chunk(run_dir, i, task.saved_rows, rows)))
    for task, name in pending:  # counted once the chunk is on disk
        if name not in task.chunks:
            task.chunks.append(name)
    tensors, state = loop_state(loop)
    for t, ts in zip(loop.tasks, state["tasks"]):
        ts["saved_rows"] = t.buf.total
    save_tensors(run_dir / CKPT_NAME, tensors, {"state": json.dumps(state | (extra or {}))})
    for task in loop.tasks:
        task.saved_rows, task.actions = task.buf.total, []


def restore_loop(loop: Any, run_dir: Path) -> dict[str, Any]:
    """Load the checkpoint in ``run_dir`` into a fresh loop of the same run, its buffers from
    the chunks, its envs brought to where they were by replaying the logged actions; returns
    the checkpoint's state."""
    tensors, state = load_checkpoint(run_dir / CKPT_NAME)
    load_loop_state(loop, tensors, state)
    for task in loop.tasks:
        task.buf.grow(task.ends[-1])  # a run extended before: its buffer grew too
        for name in task.chunks:
            chunk = read_chunk(run_dir, name)
            task.buf.load_rows(chunk)
            for row in chunk["actions"].numpy():
                task.step(row)
    return state
