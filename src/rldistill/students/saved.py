"""A saved run, opened: what ``rldistill evaluate``, ``export``, ``bench-latency`` and ``report``
read from a distill ``--out`` directory, in one place.

A run directory holds the student (``student.json``: architecture, spaces, env recipe and
teacher per task, the run's config; ``student.safetensors``: the weights), the run's result
(``result.json``), an online run's trained teacher (``teacher_sb3.zip``) and the videos of
``evaluate --video`` (``videos/``). Its teachers load as the run loaded them: with its own
``--teacher-normalize``, ``--teacher-kind`` and ``--ensemble``.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

from rldistill.core.errors import UserError
from rldistill.sources import Teacher, load_teachers
from rldistill.students.network import Student, check_task, load_student, saved_env, task_meta

ONLINE_TEACHER = "teacher_sb3.zip"  # an online run's trained teacher


class SavedRun:
    """The run in ``path`` (a run directory, or a student's ``.json`` / ``.safetensors`` file
    in one). The student loads when first asked for (a one-line error where there is none),
    so that a run without one (a ``--seeds`` parent) still shows its result."""

    def __init__(self, path: str | Path) -> None:
        self.given = path  # as the user wrote it, for messages
        self.path = Path(path)
        # the directory itself, or the one holding the student file it names
        student_file = not self.path.is_dir() and self.path.with_suffix(".json").is_file()
        self.dir = self.path.parent if student_file else self.path
        self.videos = self.dir / "videos"

    @cached_property
    def _loaded(self) -> tuple[Student, dict[str, Any]]:
        return load_student(self.given)

    @property
    def student(self) -> Student:
        return self._loaded[0]

    @property
    def meta(self) -> dict[str, Any]:
        """student.json as written."""
        return self._loaded[1]

    @property
    def config(self) -> dict[str, Any]:
        """The options the run was made with (none for a student saved without them)."""
        return self.meta.get("config", {})

    @property
    def multitask(self) -> bool:
        return bool(self.student.arch.tasks)

    def check_task(self, task: int) -> None:
        """``--task`` names one of the student's tasks, else a one-line error."""
        check_task(self.student, task)

    def task(self, task: int = 0) -> dict[str, Any]:
        """student.json's block of ``task``: its env (and recipe) and teacher."""
        return task_meta(self.meta, task)

    def env(self, task: int = 0) -> str:
        """The env of ``task`` as the student was trained on it (with its recipe)."""
        return saved_env(self.meta, task)

    def task_of(self, env_id: str) -> int:
        """Which task of a multi-task student plays ``env_id`` (0 for a one-task student)."""
        if not self.multitask:
            return 0
        envs = list(self.meta["env"])
        if env_id not in envs:
            raise UserError(f"the student was trained on {', '.join(envs)}, not {env_id}: "
                            "pass one of those")
        return envs.index(env_id)

    def teacher_specs(self, task: int = 0, given: str | None = None) -> tuple[str, ...]:
        """The SPEC(s) of the teacher of ``task``: ``given``, else the one(s) the run was
        distilled from, else an online run's trained teacher; () where the run names none."""
        spec: str | list[str] | None = given or (
            self.config["teacher"][task] if self.multitask else self.config.get("teacher"))
        if not spec and (self.dir / ONLINE_TEACHER).exists():
            spec = str(self.dir / ONLINE_TEACHER)
        if not spec:
            return ()
        return tuple(spec) if isinstance(spec, list) else (spec,)

    def load_teacher(self, specs: tuple[str, ...], env: str | None, trust: bool = False,
                     given: bool = False) -> Teacher:
        """The teacher of ``specs`` (several: the run's ensemble) as the run loaded it: its
        ``--teacher-kind``, ``--ensemble`` and, for the run's own teacher (not a ``given``
        one), its ``--teacher-normalize``."""
        return load_teachers(specs, self.config.get("ensemble", "mean"), trust=trust,
                             normalize=None if given else self.config.get("teacher_normalize"),
                             kind=self.config.get("teacher_kind"), env=env)

    def result(self) -> dict[str, Any] | None:
        """``result.json``, or None where the run wrote none (yet)."""
        path = self.dir / "result.json"
        return json.loads(path.read_text()) if path.exists() else None
