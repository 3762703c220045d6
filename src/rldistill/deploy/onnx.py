"""Export a saved student for deployment: ONNX, checked against onnxruntime, with its latency.

The student's weights already live in ``student.safetensors``; this adds the graph. The ONNX file
maps ``obs`` (batch, obs_dim) float32 (a CNN student: (batch, *frame shape); uint8 frames, as
Atari's, stay uint8, the division by 255 folded into the first convolution; a Dict space: one
input per key, as the env gives it, image keys uint8) to the action head's
output (``logits`` (batch, n_actions)
for discrete actions, whose argmax is the greedy action: the head's ``greedy_rule``). A
recurrent student's graph also takes its ``state`` (batch, state_size; zeros at an episode's
start) and returns the next one as ``state_out``. A student of an env that masks actions
(``action_masks()``) also takes ``mask`` (batch, n_actions) bool, True where valid: the logits of
the others come out at -1e8. Its metadata holds the env, the spaces and the teacher, as
``student.json`` does.

Nothing is written at ``OUT`` (or ``OUT.int8.onnx``) before the graphs have passed their checks:
they are built and run in memory, then each file is written whole.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rldistill.core.errors import UserError
from rldistill.core.spaces import ObsKey, key_arrays
from rldistill.evaluation.rollouts import best_us
from rldistill.core.files import atomic_write
from rldistill.deploy.runtime import session
from rldistill.deploy.states import check_states
from rldistill.sources.sb3_cnn import is_image
from rldistill.students.network import Student
from rldistill.students.saved import SavedRun

OPSET = 17


class _OneTask(nn.Module):
    """The student as a plain ``obs -> outputs`` module for one task (what an exporter traces).
    ``frames_u8``: it takes uint8 frames, its first convolution's weights divided by 255 (a
    copy of the student: one pass over the frames fewer than a division)."""

    def __init__(self, student: Student, task: int, masked: bool = False,
                 frames_u8: bool = False) -> None:
        super().__init__()
        self.student, self.task, self.masked = student, task, masked
        self.frames_u8 = frames_u8
        if frames_u8:
            self.student = copy.deepcopy(student)
            self.student.arch = dataclasses.replace(student.arch, image_scale=False)
            first = next(m for m in self.student.convs.modules() if isinstance(m, nn.Conv2d))
            with torch.no_grad():
                first.weight.div_(255.0)

    def forward(self, obs: torch.Tensor, *rest: torch.Tensor) -> Any:
        head = self.student.action_heads[self.task]
        if self.frames_u8:
            obs = obs.float()
        state = rest[0] if rest and not (self.masked and len(rest) == 1) else None
        if state is None:
            out = self.student(obs, self.task)
        else:
            out, state = self.student.step(obs, state, self.task)
        if self.masked:
            out = head.mask(out, rest[-1])
        return head.export(out) if state is None else (head.export(out), state)


class _FromKeys(nn.Module):
    """A Dict space's keys, one input each as the env gives them (image keys uint8), -> the
    flat float vector the student takes (:mod:`rldistill.envs.keys`)."""

    def __init__(self, inner: nn.Module, keys: tuple[ObsKey, ...]) -> None:
        super().__init__()
        self.inner, self.keys = inner, keys

    def forward(self, *args: torch.Tensor) -> Any:
        n = len(self.keys)
        flat = [(a.permute(0, 3, 1, 2) if k.channels_last else a).reshape(a.shape[0], -1)
                .float() for a, k in zip(args[:n], self.keys)]
        return self.inner(torch.cat(flat, 1), *args[n:])


class _Calibration:
    """onnxruntime's CalibrationDataReader over the check states, in batches of 256."""

    def __init__(self, x: np.ndarray, g: Any) -> None:
        self.batches = iter([_feed(x[i:i + 256], g) for i in range(0, len(x), 256)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


@dataclass(frozen=True)
class _Graph:
    """One task of a student as a float ONNX graph, in memory (``data``: the file's bytes),
    with the torch student it is checked against (``module``: for uint8 frames the graph is
    traced from a copy whose first convolution holds the division by 255)."""

    module: _OneTask
    data: bytes
    params: int
    in_shape: tuple[int, ...]  # per row: flat observations, or whole frames (CNN students)
    n_state: int  # a recurrent student's state size (0: none)
    obs_dim: int
    out_dim: int
    head: Any
    output: str
    masked: bool = False  # the env masks actions: a "mask" input
    keys: tuple[ObsKey, ...] = ()  # a Dict space: one input per key instead of "obs"
    frames_u8: bool = False  # "obs" is uint8 frames (Atari's), not float32

    @property
    def inputs(self) -> list[str]:
        return ([k.name for k in self.keys] or ["obs"]) + (["state"] if self.n_state else []) \
            + (["mask"] if self.masked else [])

    @property
    def outputs(self) -> list[str]:
        return [self.output, "state_out"] if self.n_state else [self.output]


def _build(run: SavedRun, task: int) -> _Graph:
    """Trace the student (task ``task``) to ONNX, check the graph, add the metadata."""
    import onnx

    student = run.student
    obs_dim = student.arch.tasks[task][0] if student.arch.tasks else student.arch.obs_dim
    if student.specs[task].keys:  # a Dict space: its keys' flat size, not the vector keys'
        obs_dim = int(student.specs[task].obs_shape[0])
    in_shape = tuple(student.specs[task].obs_shape) if student.arch.conv else (obs_dim,)
    view = student.for_task(task)
    head = view.head
    out_dim = int(head.export(torch.zeros(1, head.out_dim)).shape[-1])
    masked = _masks_actions(run, task)
    frames_u8 = frames_as_uint8(student, task)
    module = _OneTask(student, task, masked).eval()  # the student, what the graph is checked on
    traced = _OneTask(student, task, masked, frames_u8).eval() if frames_u8 else module
    n_state = int(student.initial_state(1).shape[1])
    keys = student.specs[task].keys
    g = _Graph(module, b"", 0, in_shape, n_state, obs_dim, out_dim, head, head.onnx_output,
               masked, keys, frames_u8)
    if {"state", "mask"} & {k.name for k in keys}:
        raise UserError("the env's Dict observation space has a key named state or mask, the "
                        "names of the graph's other inputs: rename the key in a wrapper")
    info = {"format": "rldistill-student-onnx/4", "task": task, "obs_dim": obs_dim,
            "obs_dtype": "uint8" if frames_u8 else "float32",
            "out_dim": out_dim, "output": g.output, "greedy_action": head.greedy_rule,
            "spaces": view.spec.to_json(), **_task_meta(run, task),
            **({"state_size": n_state} if n_state else {}),
            **({"action_masks": True} if masked else {})}
    obs_in = [torch.zeros(1, *k.env_shape, dtype=torch.uint8 if k.image else torch.float32)
              for k in keys] or [
        torch.zeros(1, *in_shape, dtype=torch.uint8 if frames_u8 else torch.float32)]
    args = (*obs_in, *([torch.zeros(1, n_state)] if n_state else []),
            *([torch.ones(1, out_dim, dtype=torch.bool)] if masked else []))
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter warns that it is not
        file = str(Path(tmp) / "student.onnx")  # the default; it needs no onnxscript
        torch.onnx.export(_FromKeys(traced, keys) if keys else traced, tuple(args), file,
                          dynamo=False, input_names=g.inputs,
                          output_names=g.outputs, opset_version=OPSET,
                          dynamic_axes={k: {0: "batch"} for k in g.inputs + g.outputs})
        model = onnx.load(file)
    onnx.checker.check_model(model)
    for k, v in info.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v if isinstance(v, str) else json.dumps(v)
    params = sum(int(np.prod(init.dims)) for init in model.graph.initializer)
    return dataclasses.replace(g, data=model.SerializeToString(), params=params)


def frames_as_uint8(student: Student, task: int) -> bool:
    """Whether the graph takes ``obs`` as uint8 frames: a CNN student of uint8 images (divided
    by 255 inside, as SB3 does; Atari's), not of a Dict space's keys."""
    a = student.arch
    return bool(a.conv and a.image_scale and not any(a.obs_norm) and not a.key_frames
                and is_image(student.specs[task]))


def _masks_actions(run: SavedRun, task: int) -> bool:
    """Whether the student's env masks actions (``action_masks()``), as its run recorded."""
    return bool(run.task(task).get("action_masks"))


def _feed(x: np.ndarray, g: _Graph | None = None, masked: bool = False) -> dict[str, np.ndarray]:
    """A graph's inputs for observations ``x``: every action valid where it takes a mask."""
    masked = masked or bool(g and g.masked)
    n = g.out_dim if g else 0
    obs = key_arrays(x, g.keys) if g and g.keys else {"obs": x}
    return {**obs, **({"mask": np.ones((len(x), n), bool)} if masked else {})}


def _task_meta(run: SavedRun, task: int) -> dict[str, Any]:
    """env (and its recipe) / teacher of ``task``, for the graph's metadata."""
    found = run.task(task)
    return {k: found[k] for k in ("env", "env_recipe", "teacher") if found.get(k) is not None}


def _check_states(run: SavedRun, g: _Graph, task: int, rows: int, seed: int
                  ) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The states the graphs are checked on (:func:`~rldistill.deploy.states.check_states`),
    as the graph takes them (uint8 frames or float32), a recurrent student's states for them,
    and where they came from."""
    states, source = check_states(run, task, rows, seed)
    x = states.reshape(-1, *g.in_shape)
    x = x.to(torch.uint8) if g.frames_u8 else x.float()
    # a recurrent student: each state in the state range (-1, 1) of a GRU's / LSTM's h
    s = torch.rand(len(x), g.n_state, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return x, s, source


def _check_float(g: _Graph, x: torch.Tensor, s: torch.Tensor
                 ) -> tuple[dict[str, Any], Any, np.ndarray]:
    """onnxruntime's outputs (and next states) against torch's on the check states, and both
    timed at batch 1; the report's part, the session and its outputs."""
    check = session(g.data)
    feed = {**_feed(x.numpy(), g), **({"state": s.numpy()} if g.n_state else {})}
    ones = (torch.ones(len(x), g.out_dim, dtype=torch.bool),) if g.masked else ()
    with torch.inference_mode():
        want_all: Any = g.module(x, s, *ones) if g.n_state else (g.module(x, *ones),)
    got_all = check.run(g.outputs, feed)
    want, got = want_all[0].numpy(), got_all[0]
    if g.n_state:  # the next states agree too
        got = np.concatenate([got, got_all[1]], 1)
        want = np.concatenate([want, want_all[1].numpy()], 1)
    x1 = (x[:1], *((s[:1],) if g.n_state else ()), *(o[:1] for o in ones))
    one = {k: v[:1] for k, v in feed.items()}
    n = g.out_dim
    return {"max_abs_diff": float(np.abs(got - want).max()),
            "action_agreement": _agreement(g.head, got[:, :n], want[:, :n]),
            "latency_us": {"torch": best_us(lambda: g.module(*x1)),
                           "onnxruntime": best_us(lambda: check.run(g.outputs, one))}
            }, check, got


def _int8(g: _Graph, float_graph: Any, x: np.ndarray, want: np.ndarray, mode: str, path: Path
          ) -> tuple[dict[str, Any], bytes]:
    """Quantize the float graph (in a temporary folder): ``dynamic`` (int8 weights,
    activations quantized per call) or ``static`` (int8 weights, uint8 activations with
    ranges calibrated on ``x``, the run's own states where it kept them); agreement and
    latency vs the float graph. The report's part (``path``: where it will be) and the file's
    bytes."""
    from onnxruntime.quantization import QuantType, quantize_dynamic, quantize_static

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(g.data)
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")  # it suggests a pre-processing step MLPs do not need
            if mode == "static":
                quantize_static(str(src), str(dst), _Calibration(x, g), weight_type=QuantType.QInt8,
                                activation_type=QuantType.QUInt8)
            else:
                quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
        data = dst.read_bytes()
    q = session(data)
    got = q.run([g.output], _feed(x, g))[0]
    one = _feed(x[:1], g)
    return {"onnx": str(path), "mode": mode, "bytes": len(data),
            "action_agreement_vs_float": _agreement(g.head, got, want),
            "max_abs_diff_vs_float": float(np.abs(got - want).max()),
            "latency_us": {"float": best_us(lambda: float_graph.run([g.output], one)),
                           "int8": best_us(lambda: q.run([g.output], one))}}, data


def _agreement(head: Any, got: np.ndarray, want: np.ndarray) -> float:
    """The share of rows whose actions (from the graphs' outputs) agree, as the head judges."""
    return float(head.exported_agreement(torch.from_numpy(got), torch.from_numpy(want)).mean())


def _write(files: dict[Path, bytes]) -> None:
    """Each file whole (temp file, rename), once every check has passed."""
    for path, data in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda tmp, data=data: tmp.write_bytes(data))  # type: ignore[misc]
        except OSError as e:
            raise UserError(f"cannot write {path}: {e.strerror or e}: pass another --out"
                            ) from None


def export_onnx(student_dir: str | Path | SavedRun, out: str | Path, task: int = 0,
                check_rows: int = 4096, seed: int = 0, int8: str | None = None
                ) -> dict[str, Any]:
    """Write the student (task ``task``) as ONNX to ``out``; check onnxruntime against torch on
    ``check_rows`` states (from the run's buffer where it kept one, else random ones:
    :mod:`rldistill.deploy.states`) and time
    both at batch 1. With ``int8`` (``dynamic`` or ``static``), also write ``OUT.int8.onnx``
    (onnxruntime's quantization, static calibrated on the same states) and check it against the
    float graph the same way. Nothing is written before the checks have run. Returns the
    report."""
    try:
        import onnx  # noqa: F401  (checked here: the graph is built in _build)
        import onnxruntime  # noqa: F401  (checked here: the session comes from rldistill.deploy.runtime)
    except ImportError:
        raise UserError("ONNX export needs onnx and onnxruntime: pip install 'rldistill[export]' "
                        "(scripts/setup.sh installs them)") from None
    run = student_dir if isinstance(student_dir, SavedRun) else SavedRun(student_dir)
    run.check_task(task)
    out = Path(out)
    if out.suffix != ".onnx":
        raise UserError(f"--out {out} should end in .onnx")
    if int8 and run.student.recurrent:
        raise UserError("--int8 is not built for recurrent students yet: export without it")
    if int8 not in (None, "dynamic", "static"):
        raise UserError(f"--int8 {int8}: choose dynamic or static")
    g = _build(run, task)
    x, s, source = _check_states(run, g, task, check_rows, seed)
    checked, check, got = _check_float(g, x, s)
    files, report = {out: g.data}, {}
    if int8:
        path = out.with_suffix(".int8.onnx")
        report["int8"], files[path] = _int8(g, check, x.numpy(), got, int8, path)
    _write(files)
    return {**report, "onnx": str(out), "bytes": len(g.data), "task": task,
            "obs_dim": g.obs_dim, "out_dim": g.out_dim, "output": g.output, "params": g.params,
            "opset": OPSET, "check_rows": len(x), "check_states": source, **checked,
            **({"state_size": g.n_state} if g.n_state else {})}
