"""Export a saved student for deployment: ONNX, checked against onnxruntime, with its latency.

The student's weights already live in ``student.safetensors``; this adds the graph. The ONNX file
maps ``obs`` (batch, obs_dim) float32 (a CNN student: (batch, *frame shape)) to the action head's
output (``logits`` (batch, n_actions)
for discrete actions, whose argmax is the greedy action: the head's ``greedy_rule``). A
recurrent student's graph also takes its ``state`` (batch, state_size; zeros at an episode's
start) and returns the next one as ``state_out``. Its metadata holds the env, the spaces and the
teacher, as ``student.json`` does.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rldistill.engine.checkpoint import buffer_obs
from rldistill.core.errors import UserError
from rldistill.evaluation.rollouts import best_us
from rldistill.core.files import atomic_write
from rldistill.deploy.runtime import session
from rldistill.students.network import Student, check_task, load_student, task_meta

OPSET = 17


class _OneTask(nn.Module):
    """The student as a plain ``obs -> outputs`` module for one task (what an exporter traces)."""

    def __init__(self, student: Student, task: int) -> None:
        super().__init__()
        self.student, self.task = student, task

    def forward(self, obs: torch.Tensor, state: torch.Tensor | None = None) -> Any:
        head = self.student.action_heads[self.task]
        if state is None:
            return head.export(self.student(obs, self.task))
        out, state = self.student.step(obs, state, self.task)
        return head.export(out), state


class _Calibration:
    """onnxruntime's CalibrationDataReader over the check states, in batches of 256."""

    def __init__(self, x: np.ndarray) -> None:
        self.batches = iter([{"obs": x[i:i + 256]} for i in range(0, len(x), 256)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


def _int8(out: Path, float_graph: Any, x: np.ndarray, want: np.ndarray, head: Any,
          output: str, mode: str) -> dict[str, Any]:
    """Quantize ``out`` beside it: ``dynamic`` (int8 weights, activations quantized per call)
    or ``static`` (int8 weights, uint8 activations with ranges calibrated on ``x``, the run's
    own states where it kept them); agreement and latency vs the float graph."""
    from onnxruntime.quantization import QuantType, quantize_dynamic, quantize_static

    path = out.with_suffix(".int8.onnx")

    def write(tmp: Path) -> None:
        if mode == "static":
            quantize_static(str(out), str(tmp), _Calibration(x), weight_type=QuantType.QInt8,
                            activation_type=QuantType.QUInt8)
        else:
            quantize_dynamic(str(out), str(tmp), weight_type=QuantType.QInt8)

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")  # it suggests a pre-processing step MLPs do not need
        atomic_write(path, write)
    q = session(path)
    got = q.run([output], {"obs": x})[0]
    one = x[:1]
    return {"onnx": str(path), "mode": mode, "bytes": path.stat().st_size,
            "action_agreement_vs_float": _agreement(head, got, want),
            "max_abs_diff_vs_float": float(np.abs(got - want).max()),
            "latency_us": {"float": best_us(lambda: float_graph.run([output], {"obs": one})),
                           "int8": best_us(lambda: q.run([output], {"obs": one}))}}


def _agreement(head: Any, got: np.ndarray, want: np.ndarray) -> float:
    """The share of rows whose actions (from the graphs' outputs) agree, as the head judges."""
    return float(head.exported_agreement(torch.from_numpy(got), torch.from_numpy(want)).mean())


def _task_meta(meta: dict[str, Any], task: int) -> dict[str, Any]:
    """env (and its recipe) / teacher of ``task``, for the graph's metadata."""
    found = task_meta(meta, task)
    return {k: found[k] for k in ("env", "env_recipe", "teacher") if found.get(k) is not None}


def export_onnx(student_dir: str | Path, out: str | Path, task: int = 0, check_rows: int = 4096,
                seed: int = 0, int8: str | None = None) -> dict[str, Any]:
    """Write the student (task ``task``) as ONNX to ``out``; check onnxruntime against torch on
    ``check_rows`` states (from the run's buffer where it kept one, else random normal) and time
    both at batch 1. With ``int8`` (``dynamic`` or ``static``), also write ``OUT.int8.onnx``
    (onnxruntime's quantization, static calibrated on the same states) and check it against the
    float graph the same way. Returns the report."""
    try:
        import onnx
        import onnxruntime  # noqa: F401  (checked here: the session comes from rldistill.deploy.runtime)
    except ImportError:
        raise UserError("ONNX export needs onnx and onnxruntime: pip install 'rldistill[export]' "
                        "(scripts/setup.sh installs them)") from None
    student, meta = load_student(student_dir)
    check_task(student, task)
    obs_dim = student.arch.tasks[task][0] if student.arch.tasks else student.arch.obs_dim
    # the graph's input: flat observations, or whole frames for a CNN student
    in_shape = tuple(student.specs[task].obs_shape) if student.arch.conv else (obs_dim,)
    view = student.for_task(task)
    head, output = view.head, view.head.onnx_output
    out_dim = int(head.export(torch.zeros(1, head.out_dim)).shape[-1])
    out = Path(out)
    if out.suffix != ".onnx":
        raise UserError(f"--out {out} should end in .onnx")
    module = _OneTask(student, task).eval()
    n_state = student.initial_state(1).shape[1]
    if n_state and int8:
        raise UserError("--int8 is not built for recurrent students yet: export without it")
    names = (["obs", "state"], [output, "state_out"]) if n_state else (["obs"], [output])
    info = {"format": "rldistill-student-onnx/2", "task": task, "obs_dim": obs_dim,
            "out_dim": out_dim, "output": output, "greedy_action": head.greedy_rule,
            "spaces": view.spec.to_json(), **_task_meta(meta, task),
            **({"state_size": n_state} if n_state else {})}
    model: Any = None

    def write(tmp: Path) -> None:
        nonlocal model
        with warnings.catch_warnings():  # the TorchScript-based exporter warns that it is not
            warnings.simplefilter("ignore")  # the default; it needs no onnxscript, fits an MLP
            args = (torch.zeros(1, *in_shape), *([torch.zeros(1, n_state)] if n_state else []))
            torch.onnx.export(module, args, str(tmp), dynamo=False, input_names=names[0],
                              output_names=names[1], opset_version=OPSET,
                              dynamic_axes={k: {0: "batch"} for k in names[0] + names[1]})
        model = onnx.load(str(tmp))
        onnx.checker.check_model(model)
        for k, v in info.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = k, v if isinstance(v, str) else json.dumps(v)
        onnx.save(model, str(tmp))

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, write)
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror or e}: pass another --out") from None

    check = session(out)
    states = buffer_obs(Path(student_dir), task, check_rows, seed)
    x = states.float().reshape(-1, *in_shape) if states is not None else torch.randn(
        check_rows, *in_shape, generator=torch.Generator().manual_seed(seed))
    # a recurrent student: each state in the state range (-1, 1) of a GRU's / LSTM's h
    s = torch.rand(len(x), n_state, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    feed = {"obs": x.numpy(), **({"state": s.numpy()} if n_state else {})}
    with torch.inference_mode():
        want_all: Any = module(x, s) if n_state else (module(x),)
    got_all = check.run(names[1], feed)
    want, got = want_all[0].numpy(), got_all[0]
    if n_state:  # the next states agree too
        got = np.concatenate([got, got_all[1]], 1)
        want = np.concatenate([want, want_all[1].numpy()], 1)
    x1 = (x[:1], s[:1]) if n_state else (x[:1],)
    one = {k: v[:1] for k, v in feed.items()}
    params = sum(int(np.prod(init.dims)) for init in model.graph.initializer)
    if int8 not in (None, "dynamic", "static"):
        raise UserError(f"--int8 {int8}: choose dynamic or static")
    report: dict[str, Any] = {"int8": _int8(out, check, x.numpy(), got, head, output, int8)
                              } if int8 else {}
    return {**report, "onnx": str(out), "bytes": out.stat().st_size, "task": task,
            "obs_dim": obs_dim,
            "out_dim": out_dim, "output": output, "params": params, "opset": OPSET,
            "check_rows": len(x), "check_states": "random normal" if states is None else "buffer",
            "max_abs_diff": float(np.abs(got - want).max()),
            "action_agreement": _agreement(head, got[:, :out_dim], want[:, :out_dim]),
            "latency_us": {"torch": best_us(lambda: module(*x1)),
                           "onnxruntime": best_us(lambda: check.run(names[1], one))},
            **({"state_size": n_state} if n_state else {})}
