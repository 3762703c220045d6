"""What deployment cares about (``rldistill bench-latency DIR``): time per action of the
teacher (torch), the student (torch) and the student as ONNX, float and int8 (onnxruntime), at
batch 1 (one agent acting: framework overhead dominates) and at a large batch (a server acting
for many agents: the network's size shows), with the files each needs.

Every row runs on the same ``threads`` (torch and onnxruntime alike) and the same states: the
run's own buffer where it kept one, else random normal ones. Each figure is the best of nine
timed blocks after a warm-up (:func:`rldistill.evaluation.rollouts.best_us`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.core.errors import UserError


def _timing(call: Callable[[np.ndarray], Any], x: np.ndarray, batches: tuple[int, ...]
            ) -> dict[str, dict[str, float]]:
    from rldistill.evaluation.rollouts import best_us

    out = {}
    for b in batches:
        xb = x[np.arange(b) % len(x)]
        us = best_us(lambda: call(xb), calls=max(5, 300 // b), blocks=9)
        out[str(b)] = {"us_per_call": us, "us_per_action": round(us / b, 3),
                       "actions_per_s": round(b * 1e6 / us)}
    return out


def _feed(session: Any) -> Callable[[np.ndarray], np.ndarray]:
    """What the ONNX graph takes: (batch, obs_dim) or (batch, *frame) float32."""
    shape = tuple(int(d) for d in session.get_inputs()[0].shape[1:])
    return lambda a: a.reshape(len(a), *shape).astype(np.float32, copy=False)


def _teacher_file(spec: str) -> Path | None:
    from rldistill.sources.resolve import resolve

    try:
        return resolve(spec).zip
    except UserError:
        return None


def bench_latency(run_dir: str | Path, teacher: str | None = None, task: int = 0,
                  batches: tuple[int, ...] = (1, 1024), threads: int = 1, seed: int = 0,
                  trust: bool = False) -> dict[str, Any]:
    """Time the run's teacher and student (torch, ONNX float, ONNX int8) at each batch size."""
    from rldistill.engine.checkpoint import buffer_obs
    from rldistill.deploy.onnx import export_onnx
    from rldistill.deploy.runtime import session
    from rldistill.students.network import load_student
    from rldistill.sources import load_teachers

    if not batches or min(batches) < 1:
        raise UserError(f"--batch {','.join(map(str, batches))}: give batch sizes >= 1")
    run_dir = Path(run_dir)
    student, meta = load_student(run_dir)
    config = meta.get("config", {})
    spec = teacher or config.get("teacher")
    if isinstance(spec, list):
        spec = spec[task] if student.arch.tasks else spec[0]
    if not spec and (run_dir / "teacher_sb3.zip").exists():  # an online run's trained teacher
        spec = str(run_dir / "teacher_sb3.zip")
    if not spec:
        raise UserError(f"{run_dir} does not name its teacher: pass --teacher SPEC")
    t = load_teachers((spec,), trust=trust,
                      normalize=None if teacher else config.get("teacher_normalize"))
    view = student.for_task(task)
    states = buffer_obs(run_dir, task, max(batches), seed)
    source = "random normal" if states is None else "buffer"
    if states is None:
        states = torch.randn(max(batches), *view.spec.obs_shape,
                             generator=torch.Generator().manual_seed(seed))
    x = states.numpy()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
            onnx = Path(tmp) / "student.onnx"
            report = export_onnx(run_dir, onnx, task, int8="dynamic")
            float_s, int8_s = (session(p, threads) for p in (onnx, onnx.with_suffix(".int8.onnx")))
            feed_f, feed_q = _feed(float_s), _feed(int8_s)
            tfile = _teacher_file(spec)
            rows = [
                ("teacher", "torch", t.params, tfile.stat().st_size if tfile else None,
                 lambda a: t.outputs(torch.from_numpy(a))),
                ("student", "torch", student.params,
                 (run_dir / "student.safetensors").stat().st_size,
                 lambda a: student(torch.from_numpy(a), task)),
                ("student", "onnx float", report["params"], report["bytes"],
                 lambda a: float_s.run(None, {"obs": feed_f(a)})),
                ("student", "onnx int8", report["params"], report["int8"]["bytes"],
                 lambda a: int8_s.run(None, {"obs": feed_q(a)})),
            ]
            table = [{"who": who, "runtime": rt, "params": params, "bytes": size,
                      "batch": _timing(call, x, batches)}
                     for who, rt, params, size, call in rows]
    finally:
        torch.set_num_threads(previous)
    base = table[0]["batch"]
    for row in table:
        for b, fig in row["batch"].items():
            fig["speedup_vs_teacher"] = round(base[b]["us_per_call"] / fig["us_per_call"], 2)
    return {"run": str(run_dir), "env": meta.get("env"), "teacher": spec, "threads": threads,
            "states": source, "int8_agreement_vs_float":
            report["int8"]["action_agreement_vs_float"], "rows": table}
