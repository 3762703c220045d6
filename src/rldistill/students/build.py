"""Which student a run gets from its config and teachers: an MLP (``--student-hidden`` or
``--param-ratio``), a CNN of a CNN teacher's layout scaled to ``--param-ratio``
(:mod:`rldistill.students.convs`), a ``--student-arch`` CNN, or a recurrent student (``gru:H``,
:mod:`rldistill.students.memory`); on the teacher's observations or the student's view of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rldistill.core.config import DistillConfig
from rldistill.students.convs import (Conv, conv_out, frame_of, parse_student_arch, scaled,
                             teacher_layout)
from rldistill.core.errors import UserError
from rldistill.heads import head_for
from rldistill.students.memory import parse_cell
from rldistill.core.spaces import SpaceSpec, flat_dim
from rldistill.students.network import (Student, StudentArch, arch_for_ratio, build_student,
                                parse_hidden)
from rldistill.sources.sb3_cnn import is_image


def cnn_arch(spec: SpaceSpec, head: str | None, convs: tuple[Conv, ...],
             hidden: tuple[int, ...], channels_last: bool) -> StudentArch:
    frame = frame_of(spec, channels_last)
    return StudentArch(conv_out(frame, convs), hidden, head_for(spec.action, name=head).out_dim,
                       conv=convs, frame=frame, channels_last=channels_last,
                       image_scale=is_image(spec))


def cnn_for_ratio(spec: SpaceSpec, head: str | None, layout: tuple[tuple[Conv, ...], int, bool],
                  teacher_params: int, ratio: float) -> StudentArch:
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


CNN_DEFAULT_RATIO = 0.25  # a CNN teacher's student without a size given: Rusu et al.'s 25 %


def make_student(cfg: DistillConfig, teachers: Sequence[Any],
                 views: Sequence[SpaceSpec | None] = ()) -> Student:
    """Sized from --param-ratio (against the teachers' summed params), --student-hidden or
    --student-arch; each task takes its teacher's action head and observation normalisation. A
    CNN teacher's student is a CNN of its layout, scaled (:mod:`~rldistill.students.convs`; 25 %
    of its parameters unless a size is given). ``views``: per task, the student's own
    observation space where it sees a view of the teacher's (:mod:`rldistill.envs.views`; no
    normalisation copied)."""
    views = list(views) or [None] * len(teachers)
    specs = [v or t.spec for t, v in zip(teachers, views)]
    heads = [t.head.name for t in teachers]
    norm = tuple(t.obs_norm is not None and v is None for t, v in zip(teachers, views))
    layout = teacher_layout(teachers[0]) if len(teachers) == 1 and not any(views) else None
    cell = parse_cell(cfg.student_arch)
    if cell:
        hidden = parse_hidden(cfg.student_hidden or "")
        arch = StudentArch(flat_dim(specs[0].obs_shape), hidden, head_for(
            specs[0].action, name=heads[0]).out_dim, obs_norm=norm if any(norm) else (),
            image_scale=is_image(specs[0]), cell=cell[0], cell_size=cell[1])
        student = Student(arch, specs, heads)
        if any(norm):
            student.copy_obs_norm(0, teachers[0].obs_norm)
        return student
    if layout and cfg.student_hidden is None and cfg.param_ratio is None and not cfg.student_arch:
        cfg = cfg.replace(param_ratio=CNN_DEFAULT_RATIO)
    if cfg.student_arch or (layout and cfg.param_ratio is not None):
        if len(teachers) > 1:
            raise UserError("CNN students learn one task: drop --student-arch for multi-task")
        if cfg.student_arch:
            channels_last = layout[2] if layout else specs[0].obs_shape[-1] < specs[0].obs_shape[0]
            convs, hidden = parse_student_arch(cfg.student_arch,
                                               frame_of(specs[0], channels_last))
            arch = cnn_arch(specs[0], heads[0], convs, hidden, channels_last)
        else:
            assert layout is not None and cfg.param_ratio is not None
            arch = cnn_for_ratio(specs[0], heads[0], layout, teachers[0].params, cfg.param_ratio)
        return Student(arch, specs, heads)
    hidden = (arch_for_ratio(specs, sum(t.params for t in teachers), cfg.param_ratio,
                             heads=heads).hidden if cfg.param_ratio is not None
              else parse_hidden(cfg.student_hidden or "64,64"))
    student = build_student(specs, hidden, heads, norm)
    for i, t in enumerate(teachers):
        if norm[i]:
            student.copy_obs_norm(i, t.obs_norm)
    return student
