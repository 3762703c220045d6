"""What deployment cares about (``rldistill bench-latency DIR``): time per action of the
teacher (torch), the student (torch) and the student as ONNX, float and int8 (onnxruntime), at
batch 1 (one agent acting: framework overhead dominates) and at a large batch (a server acting
for many agents: the network's size shows), with the files each needs.

Every row runs on the same ``threads`` (torch and onnxruntime alike) and the same states: the
run's own buffer where it kept one, else random ones (:mod:`rldistill.deploy.states`). Each
figure is the best of nine timed blocks after a warm-up
(:func:`rldistill.evaluation.rollouts.best_us`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.core.errors import UserError
from rldistill.core.spaces import ObsKey, key_arrays
from rldistill.deploy.runtime import input_dtype
from rldistill.deploy.states import check_states
from rldistill.sources import Teacher
from rldistill.students.saved import SavedRun


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


def _feed(session: Any) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """What the ONNX graph takes: (batch, obs_dim) or (batch, *frame) float32 (uint8 frames
    where it takes them), and a mask with every action valid where the env masks actions."""
    inputs = session.get_inputs()
    dtype = input_dtype(inputs[0])
    shape = tuple(int(d) for d in inputs[0].shape[1:])
    mask = next((i for i in inputs if i.name == "mask"), None)
    n = int(session.get_outputs()[0].shape[1]) if mask is not None else 0

    spaces = json.loads(session.get_modelmeta().custom_metadata_map.get("spaces", "{}"))
    keys = tuple(ObsKey.from_json(k) for k in spaces.get("obs_keys", ()))  # a Dict space
    dtypes = {i.name: input_dtype(i) for i in inputs}  # its image keys: uint8 from format /4

    def feed(a: np.ndarray) -> dict[str, np.ndarray]:
        if keys:
            obs = {k: v.astype(dtypes[k], copy=False) for k, v in key_arrays(
                a.reshape(len(a), -1).astype(np.float32, copy=False), keys).items()}
        else:
            obs = {"obs": a.reshape(len(a), *shape).astype(dtype, copy=False)}
        return {**obs, **({"mask": np.ones((len(a), n), bool)} if mask is not None else {})}

    return feed


def _teacher_file(spec: str) -> Path | None:
    from rldistill.sources.resolve import resolve

    try:
        return resolve(spec).zip
    except UserError:
        return None


def bench_latency(run_dir: str | Path, teacher: str | None = None, task: int = 0,
                  batches: tuple[int, ...] = (1, 1024), threads: int = 1, seed: int = 0,
                  trust: bool = False) -> dict[str, Any]:
    """Time the run's teacher and student (torch, ONNX float, ONNX int8) at each batch size.
    The teacher is ``teacher``, else the run's (an ensemble's first member), loaded as the run
    loaded it."""
    if not batches or min(batches) < 1:
        raise UserError(f"--batch {','.join(map(str, batches))}: give batch sizes >= 1")
    run = SavedRun(run_dir)
    run.check_task(task)
    specs = run.teacher_specs(task, teacher)[:1]
    if not specs:
        raise UserError(f"{run.path} does not name its teacher: pass --teacher SPEC")
    t = run.load_teacher(specs, run.task(task).get("env"), trust, given=bool(teacher))
    states, source = check_states(run, task, max(batches), seed)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        table, int8 = _table(run, t, specs[0], task, states.numpy(), batches, threads)
    finally:
        torch.set_num_threads(previous)
    base = table[0]["batch"]
    for row in table:
        for b, fig in row["batch"].items():
            fig["speedup_vs_teacher"] = round(base[b]["us_per_call"] / fig["us_per_call"], 2)
    return {"run": str(run.path), "env": run.meta.get("env"), "teacher": specs[0],
            "threads": threads, "states": source,
            "int8_agreement_vs_float": int8["action_agreement_vs_float"], "rows": table}


def _table(run: SavedRun, t: Teacher, spec: str, task: int, x: np.ndarray,
           batches: tuple[int, ...], threads: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A row per runtime (teacher in torch; student in torch, ONNX float and ONNX int8) with
    its figures per batch size; and the int8 export's report."""
    from rldistill.deploy.onnx import export_onnx
    from rldistill.deploy.runtime import session

    from rldistill.students.convs import atari_sized

    student = run.student
    # static int8 where it is faster: Atari-sized convolutions (benchmarks/pixels/README.md);
    # not a multi-input student's (its calibration mixes pixels and vectors: 0.64 agreement)
    arch = student.arch
    mode = "static" if arch.conv and not arch.key_frames and atari_sized(arch.frame) \
        else "dynamic"
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        onnx = Path(tmp) / "student.onnx"
        report = export_onnx(run, onnx, task, int8=mode)
        float_s, int8_s = (session(p, threads) for p in (onnx, onnx.with_suffix(".int8.onnx")))
        feed_f, feed_q = _feed(float_s), _feed(int8_s)
        tfile = _teacher_file(spec)
        rows = [
            ("teacher", "torch", t.params, tfile.stat().st_size if tfile else None,
             lambda a: t.outputs(torch.from_numpy(a))),
            ("student", "torch", student.params,
             (run.dir / "student.safetensors").stat().st_size,
             lambda a: student(torch.from_numpy(a), task)),
            ("student", "onnx float", report["params"], report["bytes"],
             lambda a: float_s.run(None, feed_f(a))),
            ("student", "onnx int8", report["params"], report["int8"]["bytes"],
             lambda a: int8_s.run(None, feed_q(a))),
        ]
        return [{"who": who, "runtime": rt, "params": params, "bytes": size,
                 "batch": _timing(call, x, batches)}
                for who, rt, params, size, call in rows], report["int8"]
