"""Teachers: the :class:`Teacher` protocol and where teachers come from.

Where a teacher comes from is :mod:`.sources` (``zoo:NAME``, SB3 zips, RL Zoo folders, the
Hugging Face Hub); SB3 zips are read without unpickling (:mod:`.sb3_zip`); several teachers of
one task form an :class:`EnsembleTeacher`.
"""

from __future__ import annotations

from pathlib import Path

from rldistill.core.errors import UserError
from rldistill.sources.normalize import ObsNorm, load_vecnormalize
from rldistill.sources.base import NetTeacher, Teacher, all_members, has_q_teacher
from rldistill.sources.ensemble import EnsembleTeacher
from rldistill.sources.sb3_zip import load_sb3_zip
from rldistill.sources.resolve import resolve
from rldistill.sources.torch_file import SUFFIXES, load_torch_teacher

__all__ = ["Teacher", "NetTeacher", "EnsembleTeacher", "load_teacher",
           "load_teachers", "all_members", "has_q_teacher"]


def load_teachers(specs: tuple[str, ...], mode: str = "mean", trust: bool = False,
                  normalize: str | None = None, kind: str | None = None,
                  env: str | None = None) -> Teacher:
    """One teacher, or an :class:`EnsembleTeacher` of several teachers of one task (``kind``
    and ``env``: what a torch file's teacher outputs, and its env; ``normalize`` for one
    teacher: the config says so)."""
    members: list[Teacher] = [load_teacher(s, trust, normalize, kind, env) for s in specs]
    return members[0] if len(members) == 1 else EnsembleTeacher(members, mode)


def load_teacher(spec: str, trust: bool = False, normalize: str | None = None,
                 kind: str | None = None, env: str | None = None) -> NetTeacher:
    """Load a teacher from its SPEC (:func:`rldistill.sources.resolve.resolve`: ``zoo:NAME``,
    an SB3 ``.zip`` (the suffix may be left out, as SB3's own ``load`` allows), an RL Zoo
    experiment folder or ``hf:ORG/REPO``) with its VecNormalize statistics (found with it, or the
    file ``normalize`` names, or none with ``normalize="none"``) and the env recipe it names
    (``source["env_recipe"]``)."""
    if Path(spec).suffix in SUFFIXES:
        return load_torch_teacher(Path(spec), kind, env, trust)
    src = resolve(spec)
    teacher = load_sb3_zip(src.zip, name=src.name, trust=trust)
    teacher.source.update({"spec": spec, "origin": src.origin, "notes": src.notes})
    if src.env is not None:
        teacher.source["env_recipe"] = src.env
    if normalize == "none":
        return teacher
    pkl = Path(normalize) if normalize else src.vecnormalize
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
