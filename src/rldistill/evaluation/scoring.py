"""Scores of a student against its teacher(s) and the random policy: per task, for multi-task
students, and for a saved run (``rldistill evaluate``: on the env as trained, or on physical
variants of it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rldistill.core.errors import UserError
from rldistill.envs.make import check_match, env_spec, teacher_env
from rldistill.sources import EnsembleTeacher, Teacher, load_teachers
from rldistill.students.network import Student, saved_env

def score_tasks(student: Student, tasks: list[tuple[str, Teacher]], episodes: int, seed: int,
                cache: dict[tuple[Any, ...], Any] | None = None) -> list[dict[str, Any]]:
    """The score block of each task; an ensemble's also scores the student against each member."""
    from rldistill.evaluation.rollouts import score_student

    blocks = []
    for i, (env_id, teacher) in enumerate(tasks):
        view = student.for_task(i)
        block = score_student(view, teacher, env_id, episodes, seed=seed, cache=cache)
        block["student"]["hidden"] = list(student.arch.hidden)
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
              "student": {"params": student.params, "hidden": list(student.arch.hidden)},
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
                 episodes: int = 100, seed: int = 1_000_000, variants: tuple[str, ...] = (),
                 trust: bool = False, video: int = 0) -> dict[str, Any]:
    """Score a saved student (``rldistill evaluate``): against its teacher (the one it was
    distilled from, an online run's trained teacher, or ``teacher``) and the random policy;
    with ``variants`` (NAME=V1,V2), on each physical variant of the env; ``video`` episodes of
    both side by side as GIFs in ``DIR/videos/``."""
    from rldistill.evaluation.rollouts import RandomActor, evaluate_policy, score_student, summary
    from rldistill.students.network import load_student

    student, meta = load_student(student_dir)
    if video and (variants or (student.arch.tasks and not env)):
        raise UserError("--video records teacher and student on one env as it is: drop --variant "
                        "(and pass --env TASK for a multi-task student)")
    config = meta.get("config", {})
    if student.arch.tasks and not env:
        if variants or teacher:
            raise UserError("a multi-task student: pass --env to pick one task for --variant or "
                            "--teacher")
        tasks = [(saved_env(meta, i), load_teachers(
                      (spec,), trust=trust, normalize=config.get("teacher_normalize"),
                      kind=config.get("teacher_kind"), env=t["env"]))
                 for i, (t, spec) in enumerate(zip(meta["tasks"], config["teacher"]))]
        return multitask_result(score_tasks(student, tasks, episodes, seed), tasks, student)
    env_id = env or meta["env"]
    if isinstance(env_id, list):
        raise UserError(f"--env {env_id}: evaluate one env at a time, or drop --env")
    task = 0
    spec: str | list[str] | None = teacher or config.get("teacher")
    if student.arch.tasks:
        envs = list(meta["env"])
        if env_id not in envs:
            raise UserError(f"the student was trained on {', '.join(envs)}, not {env_id}: "
                            "pass one of those")
        task = envs.index(env_id)
        spec = teacher or config["teacher"][task]
    if str(env_id) == str(saved_env(meta, task)):  # with the wrappers it was trained with
        env_id = saved_env(meta, task)
    run_dir = Path(student_dir) if Path(student_dir).is_dir() else Path(student_dir).parent
    if not spec and (run_dir / "teacher_sb3.zip").exists():  # an online run's trained teacher
        spec = str(run_dir / "teacher_sb3.zip")
    view = student.for_task(task)
    if not spec:
        if variants:
            raise UserError("--variant compares student and teacher: pass --teacher SPEC")
        s = evaluate_policy(view, env_id, episodes, seed)
        r = evaluate_policy(RandomActor(view.head, seed), env_id, episodes, seed)
        return {"env": env_id, "student": {**summary(s), "params": student.params},
                "random": summary(r)}
    t = load_teachers(tuple(spec) if isinstance(spec, list) else (spec,),
                      config.get("ensemble", "mean"), trust=trust,
                      normalize=None if teacher else config.get("teacher_normalize"),
                      kind=config.get("teacher_kind"), env=env_id)
    check_match(t.spec, env_spec(teacher_env(env_id)), t.name, env_id)
    if not variants:
        result = {"env": env_id, **score_student(view, t, env_id, episodes, seed)}
        if video:
            from rldistill.evaluation.video import record

            result["videos"] = record(view, t, env_id, video, seed, run_dir / "videos")
        return result
    return {"env": env_id, "variants": _robustness(view, t, env_id, episodes, seed, variants)}


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
