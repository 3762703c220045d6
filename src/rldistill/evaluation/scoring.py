"""Scores of a student against its teacher(s) and the random policy: per task, for multi-task
students, and for a saved run (``rldistill evaluate``: on the env as trained, or on physical
variants of it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rldistill.core.errors import UserError
from rldistill.envs.make import check_match, env_spec, teacher_env
from rldistill.evaluation import seeds
from rldistill.sources import EnsembleTeacher, Teacher
from rldistill.students.network import Student
from rldistill.students.saved import SavedRun


def score_tasks(student: Student, tasks: list[tuple[str, Teacher]], episodes: int, seed: int,
                cache: dict[tuple[Any, ...], Any] | None = None) -> list[dict[str, Any]]:
    """The score block of each task; an ensemble's also scores the student against each member."""
    from rldistill.evaluation.rollouts import score_student

    blocks = []
    for i, (env_id, teacher) in enumerate(tasks):
        view = student.for_task(i)
        block = score_student(view, teacher, env_id, episodes, seed=seed, cache=cache)
        block["student"] |= {"hidden": list(student.arch.hidden),
                             "activation": student.arch.activation}
        if isinstance(teacher, EnsembleTeacher):
            block["ensemble"] = teacher.mode
            block["members"] = []
            for m in teacher.members:
                ms = score_student(view, m, env_id, episodes, seed=seed, cache=cache)
                block["members"].append({"name": m.name, "kind": m.kind, "params": m.params,
                                         **{k: ms["teacher"][k] for k in ("return_mean",
                                                                          "return_ci95")},
                                         "student_normalized_score": ms["normalized_score"],
                                         "agreement": ms["agreement"]})
        blocks.append(block)
    return blocks


def multitask_result(blocks: list[dict[str, Any]], tasks: list[tuple[str, Teacher]],
                     student: Student) -> dict[str, Any]:
    """The result of a multi-task run: per task, and the student against all teachers."""
    t_params = sum(t.params for _, t in tasks)
    scores = [b["normalized_score"] for b in blocks]
    result = {"env": [e for e, _ in tasks],
              "tasks": [{"env": e, "teacher_params": t.params, **b}
                        for (e, t), b in zip(tasks, blocks)],
              "student": {"params": student.params, "hidden": list(student.arch.hidden),
                          "activation": student.arch.activation},
              "teacher": {"name": " | ".join(t.name for _, t in tasks), "params": t_params},
              "param_ratio": round(student.params / t_params, 4),
              "normalized_score": (None if None in scores else
                                   round(sum(scores) / len(scores), 4)),
              "normalized_score_min": None if None in scores else min(scores),
              "agreement": round(sum(b["agreement"] for b in blocks) / len(blocks), 4),
              "eval_s": round(sum(b["eval_s"] for b in blocks), 2)}
    if None in scores:
        undefined = [e for (e, _), s in zip(tasks, scores) if s is None]
        result["normalized_score_note"] = (f"undefined: on {', '.join(undefined)} the teacher is "
                                           "no better than the random policy")
    return result


def evaluate_run(student_dir: str | Path, env: str | None = None, teacher: str | None = None,
                 episodes: int = 100, seed: int = seeds.FINAL, variants: tuple[str, ...] = (),
                 trust: bool = False, video: int = 0) -> dict[str, Any]:
    """Score a saved student (``rldistill evaluate``): against its teacher (the one it was
    distilled from, an online run's trained teacher, or ``teacher``) and the random policy;
    with ``variants`` (NAME=V1,V2), on each physical variant of the env; ``video`` episodes of
    both side by side as GIFs in ``DIR/videos/``. A multi-task student without ``env``: each
    task against its own teacher; a run that names no teacher: the student and the random
    policy."""
    from rldistill.evaluation.rollouts import score_student

    run = SavedRun(student_dir)
    student = run.student  # first: where there is none, that is the one-line error
    if video and (variants or (run.multitask and not env)):
        raise UserError("--video records teacher and student on one env as it is: drop --variant "
                        "(and pass --env TASK for a multi-task student)")
    if run.multitask and not env:
        return _all_tasks(run, episodes, seed, variants, teacher, trust)
    env_id, task = _one_env(run, env)
    view = student.for_task(task)
    specs = run.teacher_specs(task, teacher)
    if not specs:
        return _without_teacher(run, view, env_id, episodes, seed, variants)
    t = run.load_teacher(specs, env_id, trust, given=bool(teacher))
    check_match(t.spec, env_spec(teacher_env(env_id)), t.name, env_id)
    if variants:
        return {"env": env_id, "variants": _robustness(view, t, env_id, episodes, seed, variants)}
    result = {"env": env_id, **score_student(view, t, env_id, episodes, seed)}
    if video:
        from rldistill.evaluation.video import record

        result["videos"] = record(view, t, env_id, video, seed, run.videos)
    return result


def _all_tasks(run: SavedRun, episodes: int, seed: int, variants: tuple[str, ...],
               teacher: str | None, trust: bool) -> dict[str, Any]:
    """A multi-task student on each of its tasks, against each task's own teacher."""
    if variants or teacher:
        raise UserError("a multi-task student: pass --env to pick one task for --variant or "
                        "--teacher")
    tasks = [(run.env(i), run.load_teacher(run.teacher_specs(i), run.task(i)["env"], trust))
             for i in range(len(run.student.arch.tasks))]
    return multitask_result(score_tasks(run.student, tasks, episodes, seed), tasks, run.student)


def _one_env(run: SavedRun, env: str | None) -> tuple[str, int]:
    """The env to evaluate on (``env``, else the student's) and the task that plays it; the env
    with the wrappers the student was trained with where it is the student's."""
    env_id = env or run.meta["env"]
    if isinstance(env_id, list):
        raise UserError(f"--env {env_id}: evaluate one env at a time, or drop --env")
    task = run.task_of(env_id)
    saved = run.env(task)
    return (saved if str(env_id) == str(saved) else env_id), task


def _without_teacher(run: SavedRun, view: Any, env_id: str, episodes: int, seed: int,
                     variants: tuple[str, ...]) -> dict[str, Any]:
    """The student and the random policy, for a run that names no teacher."""
    from rldistill.evaluation.rollouts import RandomActor, evaluate_policy, summary

    if variants:
        raise UserError("--variant compares student and teacher: pass --teacher SPEC")
    s = evaluate_policy(view, env_id, episodes, seed)
    r = evaluate_policy(RandomActor(view.head, seed), env_id, episodes, seed)
    return {"env": env_id, "student": {**summary(s), "params": run.student.params},
            "random": summary(r)}


def _robustness(student: Any, teacher: Teacher, env_id: str, episodes: int, seed: int,
                variants: tuple[str, ...]) -> list[dict[str, Any]]:
    """Teacher and student on the default env and on each physical variant."""
    from rldistill.envs.make import parse_variants
    from rldistill.evaluation.rollouts import score_student

    rows: list[tuple[str, float | None, dict[str, float]]] = [("default", None, {})]
    for text in variants:
        name, values = parse_variants(text)
        rows += [(name, v, {name: v}) for v in values]
    out = []
    for name, value, variant in rows:
        r = score_student(student, teacher, env_id, episodes, seed, variant=variant)
        out.append({"param": name, "value": value, "teacher": r["teacher"]["return_mean"],
                    "student": r["student"]["return_mean"], "random": r["random"]["return_mean"],
                    "student_ci95": r["student"]["return_ci95"],
                    "teacher_ci95": r["teacher"]["return_ci95"],
                    "normalized_score": r["normalized_score"], "agreement": r["agreement"]})
    return out
