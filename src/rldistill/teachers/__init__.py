"""Teachers: the :class:`Teacher` protocol and where teachers come from.

``zoo:NAME`` (shipped with the package) and SB3 ``.zip`` files (:mod:`.sb3_zip`, read without
unpickling); several teachers of one task form an :class:`EnsembleTeacher`.
"""

from __future__ import annotations

from pathlib import Path

from rldistill.errors import UserError
from rldistill.normalize import ObsNorm, find_vecnormalize, load_vecnormalize
from rldistill.teachers.base import NetTeacher, OutputKind, Teacher, all_members, has_q_teacher
from rldistill.teachers.ensemble import EnsembleTeacher
from rldistill.teachers.sb3_zip import load_sb3_zip

__all__ = ["Teacher", "NetTeacher", "EnsembleTeacher", "OutputKind", "load_teacher",
           "load_teachers", "all_members", "has_q_teacher"]


def load_teachers(specs: tuple[str, ...], mode: str = "mean", trust: bool = False,
                  normalize: str | None = None) -> Teacher:
    """One teacher, or an :class:`EnsembleTeacher` of several teachers of one task."""
    if normalize not in (None, "none") and len(specs) > 1:
        raise UserError("--teacher-normalize FILE names one teacher's statistics: give it with "
                        "one --teacher (each teacher of an ensemble finds its own)")
    members: list[Teacher] = [load_teacher(s, trust=trust, normalize=normalize) for s in specs]
    return members[0] if len(members) == 1 else EnsembleTeacher(members, mode)


def load_teacher(spec: str, trust: bool = False, normalize: str | None = None) -> NetTeacher:
    """Load a teacher from ``zoo:NAME`` or an SB3 ``.zip`` (the suffix may be left out, as
    SB3's own ``load`` allows), with the ``vecnormalize.pkl`` found beside it
    (:func:`rldistill.normalize.find_vecnormalize`), or the file ``normalize`` names, or none
    with ``normalize="none"``."""
    path = zip_path(spec)
    teacher = load_sb3_zip(path, name=spec if spec.startswith("zoo:") else path.name,
                           trust=trust)
    if normalize == "none":
        return teacher
    pkl = Path(normalize) if normalize else find_vecnormalize(path)
    if pkl is None:
        return teacher
    if not pkl.is_file():
        raise UserError(f"--teacher-normalize {normalize} does not exist: pass the teacher's "
                        "vecnormalize.pkl, or none")
    stats = load_vecnormalize(pkl)
    if stats is not None:
        teacher.obs_norm = ObsNorm(teacher.spec.obs_shape, stats).eval()
        teacher.source["normalize"] = str(pkl)
    return teacher


def zip_path(spec: str) -> Path:
    if spec.startswith("zoo:"):
        from rldistill.zoo import zoo_path

        return zoo_path(spec[4:])
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
    return path
