"""Student networks: MLPs built from hidden sizes or sized from a parameter budget; save/load."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rldistill.envs import SpaceSpec
from rldistill.errors import UserError


@dataclass(frozen=True)
class StudentArch:
    """An MLP: obs_dim -> hidden... -> n_actions, ReLU between layers; outputs action logits.

    Multi-task (``tasks`` = ((obs_dim, n_actions), ...) per task, Rusu et al. 2015): the first
    hidden layer is a per-task input adapter (observation sizes may differ), the other hidden
    layers are shared, and each task has its own head; ``obs_dim``/``n_actions`` are unused.
    """

    obs_dim: int
    hidden: tuple[int, ...]
    n_actions: int
    tasks: tuple[tuple[int, int], ...] = ()

    @property
    def params(self) -> int:
        if not self.tasks:
            return _mlp_params([self.obs_dim, *self.hidden, self.n_actions])
        h = self.hidden
        return (sum(_mlp_params([o, h[0]]) + _mlp_params([h[-1], a]) for o, a in self.tasks)
                + _mlp_params(list(h)))


def _mlp_params(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _mlp(sizes: list[int], final_relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if final_relu or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Student(nn.Module):
    """An MLP student; ``outputs`` gives logits (or Q-value estimates under an MSE loss)."""

    def __init__(self, arch: StudentArch) -> None:
        super().__init__()
        self.arch = arch
        if not arch.tasks:
            self.net = _mlp([arch.obs_dim, *arch.hidden, arch.n_actions], final_relu=False)
            return
        if not arch.hidden:
            raise UserError("a multi-task student needs at least one hidden layer: pass "
                            "--student-hidden, e.g. 64,64")
        h = arch.hidden
        self.adapters = nn.ModuleList(_mlp([o, h[0]], final_relu=True) for o, _ in arch.tasks)
        self.trunk = _mlp(list(h), final_relu=True)
        self.heads = nn.ModuleList(nn.Linear(h[-1], a) for _, a in arch.tasks)

    def forward(self, obs: torch.Tensor, task: int = 0) -> torch.Tensor:
        if not self.arch.tasks:
            return self.net(obs)
        return self.heads[task](self.trunk(self.adapters[task](obs)))

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @torch.inference_mode()
    def outputs(self, obs: torch.Tensor, task: int = 0) -> torch.Tensor:
        return self(obs, task)

    def act(self, obs: torch.Tensor, task: int = 0) -> torch.Tensor:
        return self.outputs(obs, task).argmax(-1)

    def for_task(self, task: int) -> TaskView:
        return TaskView(self, task)


@dataclass
class TaskView:
    """The student as a single-task policy for ``task`` (what evaluation needs)."""

    student: Student
    task: int

    @property
    def params(self) -> int:
        return self.student.params

    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        return self.student.outputs(obs, self.task)

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return self.student.act(obs, self.task)


def parse_hidden(text: str | list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """'32,32' -> (32, 32); '' or 'none' -> () (a linear student)."""
    if isinstance(text, (list, tuple)):
        sizes = tuple(int(x) for x in text)
    else:
        parts = [p for p in str(text).replace(" ", "").split(",") if p and p.lower() != "none"]
        try:
            sizes = tuple(int(p) for p in parts)
        except ValueError:
            raise UserError(f"--student-hidden {text!r} is not a comma-separated list of layer "
                            "widths: write e.g. 32,32") from None
    if any(s <= 0 for s in sizes):
        raise UserError(f"--student-hidden {text!r} has a width <= 0: widths must be positive")
    return sizes


def arch_for_ratio(spec: SpaceSpec | list[SpaceSpec], teacher_params: int, ratio: float,
                   depth: int = 2) -> StudentArch:
    """The largest ``depth``-layer MLP of equal widths with params <= ratio x teacher_params
    (a list of specs: the largest multi-task student, against the teachers' summed params)."""
    if not 0.0 < ratio <= 1.0:
        raise UserError(f"--param-ratio {ratio} is outside (0, 1]: give the student's size as a "
                        "fraction of the teacher's, e.g. 0.1")
    budget = ratio * teacher_params
    best: StudentArch | None = None
    width = 1
    while True:
        arch = student_arch(spec, (width,) * depth)
        if arch.params > budget:
            break
        best, width = arch, width + 1
    if best is None:
        raise UserError(f"--param-ratio {ratio} allows {budget:.0f} parameters, fewer than the "
                        f"smallest {depth}-layer student ({student_arch(spec, (1,) * depth).params}"
                        "): raise the ratio")
    return best


def student_arch(spec: SpaceSpec | list[SpaceSpec], hidden: tuple[int, ...]) -> StudentArch:
    """One spec: a plain MLP; a list of several: the multi-task layout (one task per spec)."""
    specs = spec if isinstance(spec, list) else [spec]
    if len(specs) == 1:
        return StudentArch(obs_dim(specs[0]), hidden, specs[0].n_actions)
    return StudentArch(0, hidden, 0, tuple((obs_dim(s), s.n_actions) for s in specs))


def obs_dim(spec: SpaceSpec) -> int:
    """The flat observation size of ``spec``."""
    n = 1
    for d in spec.obs_shape:
        n *= d
    return n


def build_student(spec: SpaceSpec | list[SpaceSpec], hidden: tuple[int, ...]) -> Student:
    return Student(student_arch(spec, hidden))


def save_student(student: Student, out_dir: Path, meta: dict[str, Any], stem: str = "student"
                 ) -> None:
    """``stem.safetensors`` (weights) + ``stem.json`` (architecture, spaces, config), atomically."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{stem}.safetensors.tmp"
    save_file({k: v.detach().contiguous() for k, v in student.state_dict().items()}, str(tmp))
    tmp.replace(out_dir / f"{stem}.safetensors")
    doc = {"format": "rldistill-student/1", "arch": asdict(student.arch), **meta}
    tmpj = out_dir / f".{stem}.json.tmp"
    tmpj.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    tmpj.replace(out_dir / f"{stem}.json")


def load_student(path: str | Path) -> tuple[Student, dict[str, Any]]:
    """Load a student from its directory (or its .safetensors / .json file)."""
    from safetensors.torch import load_file

    p = Path(path)
    if p.is_dir():
        p = p / "student.json"
    p = p.with_suffix(".json")
    weights = p.with_suffix(".safetensors")
    if not p.exists() or not weights.exists():
        raise UserError(f"no student at {path} ({p.name} + {weights.name} expected): pass the "
                        "--out directory of a distill run")
    meta = json.loads(p.read_text())
    a = meta["arch"]
    student = Student(StudentArch(int(a["obs_dim"]), tuple(a["hidden"]), int(a["n_actions"]),
                                  tuple(tuple(t) for t in a.get("tasks", ()))))
    student.load_state_dict(load_file(str(weights)))
    student.eval()
    return student, meta
