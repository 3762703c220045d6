"""Student networks: MLPs built from hidden sizes or sized from a parameter budget; save/load.

A student maps observations (any shape and dtype: they are flattened and cast to float here)
to its action head's outputs (logits for Discrete actions); acting, agreement and the rest are
the head's (:mod:`rldistill.heads`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rldistill.core.files import atomic_write
from rldistill.students.convs import (build_convs, conv_out, conv_params)
from rldistill.core.errors import UserError
from rldistill.heads import ActionHead, head_for
from rldistill.students.layers import mlp, mlp_params, saved_activation
from rldistill.students.memory import Cell, cell_params, unroll
from rldistill.sources.normalize import ObsNorm
from rldistill.core.spaces import ActionSpec, SpaceSpec, flat_dim, split_keys
from rldistill.sources.sb3_cnn import is_image

FORMAT = "rldistill-student/2"


@dataclass(frozen=True)
class StudentArch:
    """An MLP: obs_dim -> hidden... -> out_dim, ``activation`` between layers (relu | tanh | elu:
    a plain MLP student takes its teacher's, ``rldistill.students.build``).

    Multi-task (``tasks`` = ((obs_dim, out_dim), ...) per task, Rusu et al. 2015): the first
    hidden layer is a per-task input adapter (observation sizes may differ), the other hidden
    layers are shared, and each task has its own head; ``obs_dim``/``out_dim`` are unused.
    """

    obs_dim: int
    hidden: tuple[int, ...]
    out_dim: int
    tasks: tuple[tuple[int, int], ...] = ()
    obs_norm: tuple[bool, ...] = ()  # per task: inputs normalised as the teacher's (buffers)
    # a CNN student (one task, rldistill.students.convs): its convolutions over (C, H, W) frames
    conv: tuple[tuple[int, int, int], ...] = ()
    frame: tuple[int, ...] = ()
    channels_last: bool = False  # frames come (H, W, C) (MinAtar)
    image_scale: bool = False  # uint8 images, divided by 255 (as SB3 does)
    # a recurrent student (one task, rldistill.students.memory): obs -> hidden MLP -> cell -> out
    cell: str = ""  # gru | lstm
    cell_size: int = 0
    # a multi-input student (a Dict space, rldistill.envs.keys): each image key's (C, H, W)
    # through its own CNN of layout ``conv``, the other keys (obs_dim in all) as they are
    key_frames: tuple[tuple[int, int, int], ...] = ()
    activation: str = "relu"  # between the MLP layers (a CNN's convolutions: ReLU)

    @property
    def params(self) -> int:
        if self.key_frames:
            return sum(conv_params(f, self.conv) for f in self.key_frames) + mlp_params(
                [self.features, *self.hidden, self.out_dim])
        if self.cell:
            inputs = self.hidden[-1] if self.hidden else self.obs_dim
            return (mlp_params([self.obs_dim, *self.hidden]) + mlp_params(
                [self.cell_size, self.out_dim]) + cell_params(self.cell, inputs, self.cell_size))
        if self.conv:
            frame = (self.frame[0], self.frame[1], self.frame[2])
            return conv_params(frame, self.conv) + mlp_params(
                [conv_out(frame, self.conv), *self.hidden, self.out_dim])
        if not self.tasks:
            return mlp_params([self.obs_dim, *self.hidden, self.out_dim])
        h = self.hidden
        return (sum(mlp_params([o, h[0]]) + mlp_params([h[-1], a]) for o, a in self.tasks)
                + mlp_params(list(h)))

    @property
    def features(self) -> int:
        """A multi-input student's features: the vector keys and each image key's CNN out."""
        return self.obs_dim + sum(conv_out(f, self.conv) for f in self.key_frames)


class Student(nn.Module):
    """An MLP student for the tasks of ``specs`` (one spec and one action head per task).

    ``arch.obs_norm``: the tasks whose inputs go through an
    :class:`~rldistill.sources.normalize.ObsNorm` first (a VecNormalize teacher's statistics,
    copied by :meth:`copy_obs_norm`).
    """

    def __init__(self, arch: StudentArch, specs: list[SpaceSpec],
                 heads: Sequence[str | None] | None = None) -> None:
        super().__init__()
        self._device = torch.device("cpu")  # kept by _apply: outputs() asks it at every step
        self.arch, self.specs = arch, list(specs)
        act = arch.activation
        self.action_heads: list[ActionHead] = [
            head_for(s.action, name=h) for s, h in zip(self.specs, heads or [None] * len(specs))]
        if any(arch.obs_norm):
            self.obs_norms = nn.ModuleList(ObsNorm(s.obs_shape) if on else nn.Identity()
                                           for s, on in zip(self.specs, arch.obs_norm))
        if arch.key_frames:
            self.key_convs = nn.ModuleList(build_convs(f, arch.conv) for f in arch.key_frames)
            self.net = mlp([arch.features, *arch.hidden, arch.out_dim], False, act)
            return
        if arch.conv:
            frame = (arch.frame[0], arch.frame[1], arch.frame[2])
            self.convs = build_convs(frame, arch.conv)
            self.net = mlp([conv_out(frame, arch.conv), *arch.hidden, arch.out_dim], False, act)
            return
        if arch.cell:
            self.encoder = mlp([arch.obs_dim, *arch.hidden], True, act)
            self.cell = Cell(arch.cell, arch.hidden[-1] if arch.hidden else arch.obs_dim,
                             arch.cell_size)
            self.net = mlp([arch.cell_size, arch.out_dim], False, act)
            return
        if not arch.tasks:
            self.net = mlp([arch.obs_dim, *arch.hidden, arch.out_dim], False, act)
            return
        if not arch.hidden:
            raise UserError("a multi-task student needs at least one hidden layer: pass "
                            "--student-hidden, e.g. 64,64")
        h = arch.hidden
        self.adapters = nn.ModuleList(mlp([o, h[0]], True, act) for o, _ in arch.tasks)
        self.trunk = mlp(list(h), True, act)
        self.heads = nn.ModuleList(nn.Linear(h[-1], a) for _, a in arch.tasks)

    def forward(self, obs: torch.Tensor, task: int = 0) -> torch.Tensor:
        """The outputs for ``obs``; a recurrent student's first step (from a zero state)."""
        if self.arch.cell:
            return self.step(obs, self.initial_state(obs.shape[0]), task)[0]
        obs = self._features(obs, task)
        if not self.arch.tasks:
            return self.net(obs)
        return self.heads[task](self.trunk(self.adapters[task](obs)))

    def initial_state(self, n: int) -> torch.Tensor:
        """A recurrent student's state for ``n`` envs at their episodes' start."""
        return torch.zeros(n, self.cell.state_size if self.arch.cell else 0)

    def step(self, obs: torch.Tensor, state: torch.Tensor, task: int = 0
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """A recurrent student's outputs and next state for ``obs`` (on its device)."""
        x, state = obs.to(self.device), state.to(self.device)
        h, state = self.cell(self.encoder(self._features(x, task)), state)
        return self.net(h).to(obs.device), state.to(obs.device)

    def unroll(self, obs: torch.Tensor, resets: torch.Tensor, burn_in: int) -> torch.Tensor:
        """Outputs over sequences ``obs`` (T, N, ...) after ``burn_in`` steps (see
        :func:`rldistill.students.memory.unroll`), flattened to ((T - burn_in) * N, out)."""
        t, n = obs.shape[:2]
        x = self.encoder(self._features(obs.flatten(0, 1), 0)).view(t, n, -1)
        return self.net(unroll(self.cell, x, resets, burn_in).flatten(0, 1))

    def _features(self, obs: torch.Tensor, task: int) -> torch.Tensor:
        if any(self.arch.obs_norm):
            obs = self.obs_norms[task](obs)
        if not obs.is_floating_point():
            obs = obs.float()
        if self.arch.key_frames:
            return self._key_features(obs, task)
        if self.arch.image_scale:
            obs = obs / 255.0
        if self.arch.conv:
            obs = self.convs(obs.permute(0, 3, 1, 2) if self.arch.channels_last else obs)
        return obs.flatten(1) if obs.dim() > 2 else obs

    def _key_features(self, obs: torch.Tensor, task: int) -> torch.Tensor:
        """A Dict space's flat vector split into its keys: images (/255) through their CNNs,
        the rest as they are, concatenated in the keys' order (as SB3's CombinedExtractor)."""
        convs = iter(self.key_convs)
        parts = [next(convs)(x / 255.0).flatten(1) if k.image else x.flatten(1)
                 for k, x in zip(self.specs[task].keys, split_keys(obs, self.specs[task].keys))]
        return torch.cat(parts, 1)

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @torch.no_grad()
    def reset_parameters(self, gen: torch.Generator) -> None:
        """Draw every weight as torch's default initialisation does, but from ``gen``: the
        student of a run depends on its seed alone, not on what other threads draw from torch's
        global RNG meanwhile (a run in a thread beside a teacher being loaded)."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)
                bound = 1 / math.sqrt(m.weight[0].numel())
                if m.bias is not None:
                    nn.init.uniform_(m.bias, -bound, bound, generator=gen)
            elif isinstance(m, nn.RNNCellBase):
                bound = 1 / math.sqrt(m.hidden_size)
                for w in m.parameters():
                    nn.init.uniform_(w, -bound, bound, generator=gen)

    @property
    def device(self) -> torch.device:  # where it computes: --device, rldistill.core.device
        return self._device

    def _apply(self, fn: Any, recurse: bool = True) -> Student:  # .to(), .cpu(), .cuda()
        super()._apply(fn, recurse)
        self._device = next(self.parameters()).device
        return self

    @torch.inference_mode()
    def outputs(self, obs: torch.Tensor, task: int = 0) -> torch.Tensor:
        """The outputs for ``obs``, on the device of ``obs``."""
        return self(obs.to(self.device), task).to(obs.device)

    def act(self, obs: torch.Tensor, task: int = 0,
            gen: torch.Generator | None = None) -> torch.Tensor:
        return self.action_heads[task].act(self.outputs(obs, task), gen)

    @property
    def recurrent(self) -> bool:
        return bool(self.arch.cell)

    def for_task(self, task: int) -> TaskView:
        return TaskView(self, task)

    def linears(self, task: int = 0) -> list[nn.Linear]:
        """The Linear layers ``task``'s outputs go through, input to output (``arch.activation``
        between them): the plain MLP the student is for that task."""
        parts = [self.net] if not self.arch.tasks else [
            self.adapters[task], self.trunk, self.heads[task]]
        return [m for part in parts for m in part.modules() if isinstance(m, nn.Linear)]

    def copy_obs_norm(self, task: int, norm: nn.Module) -> None:
        """Take a teacher's observation normalisation for ``task`` (arch.obs_norm says which)."""
        self.obs_norms[task].load_state_dict(norm.state_dict())


@dataclass
class TaskView:
    """The student as a single-task policy for ``task`` (what evaluation needs)."""

    student: Student
    task: int

    @property
    def params(self) -> int:
        return self.student.params

    @property
    def head(self) -> ActionHead:
        return self.student.action_heads[self.task]

    @property
    def spec(self) -> SpaceSpec:
        return self.student.specs[self.task]

    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        return self.student.outputs(obs, self.task)

    def act(self, obs: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        return self.student.act(obs, self.task, gen)

    @property
    def recurrent(self) -> bool:
        return self.student.recurrent

    def initial_state(self, n: int) -> torch.Tensor:
        return self.student.initial_state(n)

    @torch.inference_mode()
    def step(self, obs: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.student.step(obs, state, self.task)


def arch_for_ratio(spec: SpaceSpec | list[SpaceSpec], teacher_params: int, ratio: float,
                   depth: int = 2, heads: Sequence[str | None] | None = None) -> StudentArch:
    """The largest ``depth``-layer MLP of equal widths with params <= ratio x teacher_params
    (a list of specs: the largest multi-task student, against the teachers' summed params).
    ``--param-ratio``'s range is the config's to check (DistillConfig.validate); a ratio too
    small for any student is this one's (it needs the teacher)."""
    budget = ratio * teacher_params
    best: StudentArch | None = None
    width = 1
    while True:
        arch = student_arch(spec, (width,) * depth, heads)
        if not arch.params <= budget:  # not: a NaN ratio ends here too
            break
        best, width = arch, width + 1
    if best is None:
        raise UserError(f"--param-ratio {ratio} allows {budget:.0f} parameters, fewer than the "
                        f"smallest {depth}-layer student "
                        f"({student_arch(spec, (1,) * depth, heads).params}): raise the ratio")
    return best


def student_arch(spec: SpaceSpec | list[SpaceSpec], hidden: tuple[int, ...],
                 heads: Sequence[str | None] | None = None, obs_norm: tuple[bool, ...] = ()
                 ) -> StudentArch:
    """One spec: a plain MLP; a list of several: the multi-task layout (one task per spec)."""
    specs = spec if isinstance(spec, list) else [spec]
    names = heads or [None] * len(specs)
    dims = [(flat_dim(s.obs_shape), head_for(s.action, name=h).out_dim)
            for s, h in zip(specs, names)]
    norm = obs_norm if any(obs_norm) else ()
    if len(specs) == 1:
        return StudentArch(dims[0][0], hidden, dims[0][1], obs_norm=norm,
                           image_scale=is_image(specs[0]))
    return StudentArch(0, hidden, 0, tuple(dims), obs_norm=norm)


def build_student(spec: SpaceSpec | list[SpaceSpec], hidden: tuple[int, ...],
                  heads: Sequence[str | None] | None = None, obs_norm: tuple[bool, ...] = (),
                  activation: str = "relu") -> Student:
    specs = spec if isinstance(spec, list) else [spec]
    return Student(replace(student_arch(specs, hidden, heads, obs_norm), activation=activation),
                   specs, heads)


def save_student(student: Student, out_dir: Path, meta: dict[str, Any], stem: str = "student"
                 ) -> None:
    """``stem.safetensors`` (weights) + ``stem.json`` (architecture, spaces, ``meta``),
    atomically."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in student.state_dict().items()}
    atomic_write(out_dir / f"{stem}.safetensors", lambda tmp: save_file(weights, str(tmp)))
    doc = {"format": FORMAT, "arch": asdict(student.arch),
           "spaces": [s.to_json() for s in student.specs],
           "heads": [h.name for h in student.action_heads], **meta}
    text = json.dumps(doc, indent=1, default=str) + "\n"
    atomic_write(out_dir / f"{stem}.json", lambda tmp: tmp.write_text(text))


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
    arch = StudentArch(int(a["obs_dim"]), tuple(a["hidden"]),
                       int(a.get("out_dim", a.get("n_actions", 0))),
                       tuple(tuple(t) for t in a.get("tasks", ())),
                       tuple(bool(x) for x in a.get("obs_norm", ())),
                       tuple((int(c), int(k), int(s)) for c, k, s in a.get("conv", ())),
                       tuple(a.get("frame", ())), bool(a.get("channels_last", False)),
                       bool(a.get("image_scale", False)), str(a.get("cell", "")),
                       int(a.get("cell_size", 0)),
                       tuple((int(c), int(h), int(w)) for c, h, w in a.get("key_frames", ())),
                       saved_activation(a.get("activation", "relu")))  # before it: ReLU
    student = Student(arch, _specs(meta, arch), meta.get("heads"))
    student.load_state_dict(load_file(str(weights)))
    return student.eval(), meta


def task_meta(meta: dict[str, Any], task: int = 0) -> dict[str, Any]:
    """student.json's block of ``task``: its env (and recipe) and teacher."""
    return meta["tasks"][task] if "tasks" in meta else meta


def saved_env(meta: dict[str, Any], task: int = 0) -> str:
    """The env a saved student was trained on (task ``task``), with its recipe."""
    from rldistill.envs.recipe import EnvRecipe

    found = task_meta(meta, task)
    if "env_recipe" in found:
        return EnvRecipe.from_json(found["env_recipe"], "student.json")
    return str(found["env"])


def check_task(student: Student, task: int) -> None:
    """``--task`` names one of the student's tasks, else a one-line error."""
    n_tasks = len(student.arch.tasks) or 1
    if not 0 <= task < n_tasks:
        raise UserError(f"--task {task} is out of range: this student has {n_tasks} task(s), "
                        f"numbered 0..{n_tasks - 1}")


def _specs(meta: dict[str, Any], arch: StudentArch) -> list[SpaceSpec]:
    """The students' spaces, from this format or the first one (``spaces`` a dict, per-task
    ``tasks[i].spaces``, or none for kick-started students: Discrete from the arch)."""
    spaces = meta.get("spaces")
    if isinstance(spaces, list):
        return [SpaceSpec.from_json(s) for s in spaces]
    if isinstance(spaces, dict):
        return [SpaceSpec.from_json(spaces)]
    if "tasks" in meta:
        return [SpaceSpec.from_json(t["spaces"]) for t in meta["tasks"]]
    return [SpaceSpec((arch.obs_dim,), ActionSpec("discrete", arch.out_dim))]

