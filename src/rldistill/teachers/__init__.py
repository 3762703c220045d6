"""Teachers: the :class:`Teacher` protocol and where teachers come from.

``zoo:NAME`` (shipped with the package) and SB3 ``.zip`` files (:mod:`.sb3_zip`, read without
unpickling); several teachers of one task form an :class:`EnsembleTeacher`.
"""

from __future__ import annotations

from pathlib import Path

from rldistill.errors import UserError
from rldistill.teachers.base import NetTeacher, OutputKind, Teacher, all_members, has_q_teacher
from rldistill.teachers.ensemble import EnsembleTeacher
from rldistill.teachers.sb3_zip import load_sb3_zip

__all__ = ["Teacher", "NetTeacher", "EnsembleTeacher", "OutputKind", "load_teacher",
           "load_teachers", "all_members", "has_q_teacher"]


def load_teachers(specs: tuple[str, ...], mode: str = "mean", trust: bool = False) -> Teacher:
    """One teacher, or an :class:`EnsembleTeacher` of several teachers of one task."""
    members = [load_teacher(s, trust=trust) for s in specs]
    return members[0] if len(members) == 1 else EnsembleTeacher(members, mode)


def load_teacher(spec: str, trust: bool = False) -> NetTeacher:
    """Load a teacher from ``zoo:NAME`` or an SB3 ``.zip`` (the suffix may be left out, as
    SB3's own ``load`` allows)."""
    if spec.startswith("zoo:"):
        from rldistill.zoo import zoo_path

        return load_sb3_zip(zoo_path(spec[4:]), name=spec, trust=trust)
    path = Path(spec)
    if not path.exists() and path.suffix != ".zip" and path.with_name(path.name + ".zip").exists():
        path = path.with_name(path.name + ".zip")
    if not path.exists():
        raise UserError(f"teacher file {spec} does not exist: pass an SB3 .zip or zoo:NAME "
                        "(see `rldistill zoo list`)")
    if path.is_dir():
        raise UserError(f"teacher {spec} is a directory: pass the SB3 .zip inside it")
    if path.suffix in (".pt", ".ts", ".pth"):
        raise UserError(f"teacher {spec}: plain torch and TorchScript teachers are not supported "
                        "yet: save the policy as an SB3 zip (model.save)")
    return load_sb3_zip(path, name=path.name, trust=trust)
