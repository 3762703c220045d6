"""The MLP baseline of a recurrent student on a student view (``--student-obs`` with
``--student-arch gru:H``): the same run (view, budget, seed, driver) with an MLP of about the
recurrent student's size in ``OUT/baseline/``, whose score beside the recurrent one shows what
memory buys where the view hides part of the state (e.g. velocities)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rldistill.core.config import DistillConfig
from rldistill.core.options import parse_hidden
from rldistill.students.network import Student, arch_for_ratio

KEYS = ("normalized_score", "agreement", "kl_to_teacher", "labelled_steps", "wall_s")


def wanted(cfg: DistillConfig, student: Student) -> bool:
    return bool(student.recurrent and cfg.student_obs and cfg.baseline != "none")


def mlp_baseline(cfg: DistillConfig, student: Student,
                 run_one: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Run (or read back, where it finished with the same options) the baseline and return its
    figures: the student's return and parameters, normalized score, agreement."""
    hidden = (parse_hidden(cfg.baseline) if cfg.baseline != "auto" else
              arch_for_ratio(student.specs[0], student.params, 1.0, heads=[
                  h.name for h in student.action_heads]).hidden)
    base = cfg.replace(student_arch=None, student_hidden=",".join(map(str, hidden)),
                       student_activation=student.arch.activation,
                       baseline="none", out=str(Path(cfg.out) / "baseline"))
    # its dir goes with the run's (cleared with it): whatever is there is this run's baseline,
    # read back where it finished, continued where it was checkpointed (the rule of rundir)
    result = run_one(base, resume=Path(base.out).exists())
    return {"student": result["student"], **{k: result.get(k) for k in KEYS},
            "dir": base.out}
