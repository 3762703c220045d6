"""Which student a run gets from its config and teachers, decided in one step
(:func:`plan_student`) and built by one builder per kind: a recurrent student (``gru:H``,
:mod:`rldistill.students.memory`), a CNN of a CNN teacher's layout scaled to ``--param-ratio``
(:mod:`rldistill.students.convs`), a ``--student-arch`` CNN, or an MLP (``--student-hidden`` or
``--param-ratio``); on the teacher's observations or the student's view of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rldistill.core.config import DistillConfig
from rldistill.core.errors import UserError
from rldistill.core.options import ArchSpec, parse_arch, parse_hidden
from rldistill.core.spaces import SpaceSpec
from rldistill.heads import head_for
from rldistill.sources.base import all_members
from rldistill.sources.sb3_cnn import is_image
from rldistill.students.convs import (Conv, Layout, conv_out, convs_for, frame_of, scaled,
                                      teacher_layout)
from rldistill.students.layers import hidden_activation
from rldistill.students.network import (Student, StudentArch, arch_for_ratio,
                                        student_arch)

CNN_DEFAULT_RATIO = 0.25  # a CNN teacher's student without a size given: Rusu et al.'s 25 %


def cnn_arch(spec: SpaceSpec, head: str | None, convs: tuple[Conv, ...],
             hidden: tuple[int, ...], channels_last: bool) -> StudentArch:
    if spec.keys:  # a multi-input student: a CNN per image key, the vector keys beside
        frames = tuple((k.shape[0], k.shape[1], k.shape[2]) for k in spec.keys if k.image)
        arch = StudentArch(sum(k.size for k in spec.keys if not k.image), hidden,
                           head_for(spec.action, name=head).out_dim, conv=convs,
                           frame=frame_of(spec, False), image_scale=True, key_frames=frames)
        arch.features  # noqa: B018 - convolutions that do not fit a frame: a one-line error
        return arch
    frame = frame_of(spec, channels_last)
    return StudentArch(conv_out(frame, convs), hidden, head_for(spec.action, name=head).out_dim,
                       conv=convs, frame=frame, channels_last=channels_last,
                       image_scale=is_image(spec))


def cnn_for_ratio(spec: SpaceSpec, head: str | None, layout: Layout, teacher_params: int,
                  ratio: float) -> StudentArch:
    """The CNN teacher's layout with channels and dense width scaled by one factor, the largest
    whose student has <= ratio x the teacher's parameters."""
    convs, dense, channels_last = layout
    for f in [x / 1000 for x in range(1000, 0, -1)]:
        c, d = scaled(convs, dense, f)
        arch = cnn_arch(spec, head, c, (d,), channels_last)
        if arch.params <= ratio * teacher_params:
            return arch
    raise UserError(f"--param-ratio {ratio} is below the smallest CNN student of this layout: "
                    "raise the ratio")


@dataclass(frozen=True)
class Plan:
    """Which student and its size. ``recurrent``: ``arch`` (the cell and its units), ``hidden``
    (an MLP before the cell); ``layout``: a CNN teacher's layout scaled to ``ratio`` of its
    parameters; ``cnn``: ``arch`` (--student-arch cnn:...); ``mlp``: the largest 2-layer MLP of
    ``ratio`` of the teachers' summed parameters, or (no ratio) widths ``hidden``."""

    kind: str
    arch: ArchSpec | None = None
    ratio: float | None = None
    hidden: tuple[int, ...] = ()


def plan_student(cfg: DistillConfig, layout: Layout | None) -> Plan:
    """The one decision, on a validated config (one size option at most): --student-arch names
    a recurrent or a CNN student; a CNN teacher's student (its ``layout``) is a CNN of that
    layout at --param-ratio (25 % by default) unless --student-hidden asks for an MLP; else an
    MLP of --param-ratio or --student-hidden (64,64 by default)."""
    if cfg.student_arch:
        arch = parse_arch(cfg.student_arch)
        if arch.recurrent:
            return Plan("recurrent", arch, hidden=parse_hidden(cfg.student_hidden or ""))
        return Plan("cnn", arch)
    if layout is not None and cfg.student_hidden is None:
        ratio = CNN_DEFAULT_RATIO if cfg.param_ratio is None else cfg.param_ratio
        return Plan("layout", ratio=ratio)
    if cfg.param_ratio is not None:
        return Plan("mlp", ratio=cfg.param_ratio)
    return Plan("mlp", hidden=parse_hidden(cfg.student_hidden or "64,64"))


@dataclass(frozen=True)
class Tasks:
    """What the builders read off the tasks: teachers, the student's spaces and action heads,
    which tasks take their teacher's observation normalisation, a lone CNN teacher's layout."""

    teachers: Sequence[Any]
    specs: list[SpaceSpec]
    heads: list[str]
    norm: tuple[bool, ...]
    layout: Layout | None


def _recurrent(plan: Plan, t: Tasks) -> StudentArch:
    assert plan.arch is not None
    return dataclasses.replace(student_arch(t.specs, plan.hidden, t.heads, t.norm),
                               cell=plan.arch.kind, cell_size=plan.arch.units)


def _layout_cnn(plan: Plan, t: Tasks) -> StudentArch:
    """The teacher's layout scaled to the ratio (its kernels and strides kept: a first kernel cut
    to its stride buys speed with fidelity, as a smaller student does; benchmarks/pixels)."""
    assert t.layout is not None and plan.ratio is not None
    return cnn_for_ratio(t.specs[0], t.heads[0], t.layout, t.teachers[0].params, plan.ratio)


def _arch_cnn(plan: Plan, t: Tasks) -> StudentArch:
    assert plan.arch is not None
    spec = t.specs[0]
    channels_last = t.layout[2] if t.layout else spec.obs_shape[-1] < spec.obs_shape[0]
    convs = convs_for(plan.arch.channels, frame_of(spec, channels_last), plan.arch.kernels)
    return cnn_arch(spec, t.heads[0], convs, plan.arch.dense, channels_last)


def _mlp(plan: Plan, t: Tasks) -> StudentArch:
    hidden = plan.hidden if plan.ratio is None else arch_for_ratio(
        t.specs, sum(x.params for x in t.teachers), plan.ratio, heads=t.heads).hidden
    return student_arch(t.specs, hidden, t.heads, t.norm)


BUILDERS: dict[str, Callable[[Plan, Tasks], StudentArch]] = {
    "recurrent": _recurrent, "layout": _layout_cnn, "cnn": _arch_cnn, "mlp": _mlp}


def make_student(cfg: DistillConfig, teachers: Sequence[Any],
                 views: Sequence[SpaceSpec | None] = ()) -> Student:
    """The student :func:`plan_student` chooses, built for the tasks; each task takes its
    teacher's action head, and (MLP and recurrent students) its observation normalisation.
    ``views``: per task, the student's own observation space where it sees a view of the
    teacher's (:mod:`rldistill.envs.views`; no normalisation copied)."""
    views = list(views) or [None] * len(teachers)
    tasks = Tasks(teachers, [v or t.spec for t, v in zip(teachers, views)],
                  [t.head.name for t in teachers],
                  tuple(t.obs_norm is not None and v is None for t, v in zip(teachers, views)),
                  teacher_layout(teachers[0]) if len(teachers) == 1 and not any(views) else None)
    plan = plan_student(cfg, tasks.layout)
    arch = dataclasses.replace(BUILDERS[plan.kind](plan, tasks),
                               activation=activation(cfg, plan, teachers))
    student = Student(arch, tasks.specs, tasks.heads)
    for i, on in enumerate(arch.obs_norm):
        if on:
            student.copy_obs_norm(i, teachers[i].obs_norm)
    return student


def activation(cfg: DistillConfig, plan: Plan, teachers: Sequence[Any]) -> str:
    """--student-activation, where "teacher" is the teachers' own (one that every teacher
    shares) for a plain MLP student and ReLU otherwise: a tanh student of a tanh teacher copies
    it far more closely at 10 % of its size (LunarLanderContinuous A2C: agreement 0.95 -> 0.99,
    benchmarks/levers/README.md); recurrent and CNN students were measured with ReLU."""
    if cfg.student_activation != "teacher":
        if plan.kind in ("layout", "cnn") and cfg.student_activation != "relu":
            raise UserError("--student-activation applies to MLP and recurrent students (a CNN "
                            "student's layers are relu): drop it")
        return cfg.student_activation
    found = {hidden_activation(m.net) for t in teachers for m in all_members(t)
             if isinstance(getattr(m, "net", None), torch.nn.Module)}
    return found.pop() if plan.kind == "mlp" and len(found) == 1 and None not in found \
        else "relu"


def make_optimizer(student: Student, lr: float) -> torch.optim.Optimizer:
    """Adam, fused where torch has it (about 20 % faster updates on CPU: benchmarks/README.md)."""
    try:
        return torch.optim.Adam(student.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(student.parameters(), lr=lr)
