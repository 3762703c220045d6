"""The library API: ``run(cfg)`` trains, saves and scores a student; ``train(cfg)`` only trains.

Both honour every option of :class:`DistillConfig` and refuse bad input with the same one-line
:class:`UserError` as the CLI (which only parses flags and prints): an output dir that holds
another run is refused unless ``overwrite`` or ``resume`` says what to do with it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rldistill.config import DistillConfig, KickstartConfig
from rldistill.engine.rundir import open_run_dir, saved_config
from rldistill.engine.loop import Callback, Loop, Progress
from rldistill.engine.state import Task
from rldistill.envs import (EnvRecipe, check_masks, check_match, env_spec, import_env_module,
                            map_env_id, task_env, teacher_env)
from rldistill.errors import UserError
from rldistill.files import write_text
from rldistill.runlog import ROUNDS, TB_DIR, RoundLog
from rldistill.students import Student, save_student, saved_env
from rldistill.teachers import EnsembleTeacher, Teacher, load_teachers

# files and dirs a run writes in its --out dir (all replaced by --overwrite)
RUN_FILES = ("student.json", "student.safetensors", "result.json", "curves.png",
             "teacher_sb3.zip", "teacher_sb3", "checkpoint-teacher.zip", "checkpoint-replay.npz",
             "checkpoint-vecnormalize.pkl", ROUNDS, TB_DIR, "baseline")


@dataclass
class Outcome:
    """What training produced, before evaluation (with the config as resolved: the env the
    teacher's source names); online runs add the teacher they trained."""

    cfg: DistillConfig
    loop: Loop
    curves: list[dict[str, Any]] = field(default_factory=list)
    teacher_model: Any = None

    @property
    def student(self) -> Student:
        return self.loop.student

    @property
    def tasks(self) -> list[Task]:
        return self.loop.tasks


def load_task_teachers(cfg: DistillConfig) -> tuple[DistillConfig, list[Teacher]]:
    """One teacher per task (an ensemble where a task has several), checked against its env;
    the config with the env(s) the teachers' sources name where --env was not given, and
    renamed env ids mapped (:func:`rldistill.envs.map_env_id`)."""
    cfg = with_source_envs(cfg)
    for module in cfg.env_modules:
        import_env_module(module)
    teachers, envs = [], []
    for specs, env_id in cfg.tasks:
        teacher = load_teachers(specs, cfg.ensemble, trust=cfg.trust_teacher,
                                normalize=cfg.teacher_normalize, kind=cfg.teacher_kind,
                                env=env_id)
        env_id = map_env_id(env_id, teacher.spec)
        env = task_env(env_id, teacher, cfg)
        check_match(teacher.spec, env_spec(teacher_env(env)), teacher.name, env_id)
        check_masks(teacher, env)
        teachers.append(teacher)
        envs.append(env_id)
    if tuple(envs) != tuple(e for _, e in cfg.tasks):
        cfg = cfg.replace(env=envs[0] if len(envs) == 1 else tuple(envs))
    return cfg, teachers


def with_source_envs(cfg: DistillConfig) -> DistillConfig:
    """``cfg`` with ``env`` from the teachers' sources (RL Zoo folders, Hub repos) where it is
    empty: one env for one source or several of one env (an ensemble), else one per teacher."""
    if cfg.env or cfg.teacher_train:
        return cfg
    from rldistill.teachers.sources import resolve
    from rldistill.teachers.torch_file import SUFFIXES

    specs = cfg.tasks[0][0]
    envs = []
    for spec in specs:
        recipe = None if spec.endswith(SUFFIXES) else resolve(spec).env
        if recipe is None:
            raise UserError(f"no env given, and teacher {spec} does not name one: pass --env ID")
        envs.append(str(recipe))
    return cfg.replace(env=envs[0] if len(set(envs)) == 1 else tuple(envs)).validate()


def train(cfg: DistillConfig, teachers: list[Teacher] | None = None,
          progress: Progress | None = None, resume: bool = False,
          callbacks: tuple[Callback, ...] = ()) -> Outcome:
    """Run the loop for ``cfg.budget`` labelled steps (offline, or online when
    ``cfg.teacher_train`` is set), checkpointing to ``cfg.out``; returns the outcome."""
    from rldistill.drivers.offline import train_offline

    cfg.validate()
    if cfg.teacher_train:
        from rldistill.drivers.online import train_online

        if teachers is not None:
            raise UserError("--teacher-train trains its own teacher: pass no teachers")
        loop, curves, model = train_online(cfg, progress, resume, callbacks)
        return Outcome(cfg, loop, curves, model)
    if teachers is None:
        cfg, teachers = load_task_teachers(cfg)
    return Outcome(cfg, train_offline(cfg, teachers, progress, resume, callbacks))


def run(cfg: DistillConfig, progress: Progress | None = None,
        cache: dict[tuple[Any, ...], Any] | None = None, resume: bool = False,
        overwrite: bool = False, callbacks: tuple[Callback, ...] = ()) -> dict[str, Any]:
    """Train, save the student to ``cfg.out``, evaluate; the result dict (also result.json).

    ``resume`` continues the run checkpointed in ``cfg.out`` (a larger budget extends it);
    ``overwrite`` replaces a run there. ``cache`` keeps teacher and random-policy evaluations
    between calls (the demo scores several students against one teacher).
    """
    from rldistill.drivers.offline import sigint_raises

    cfg.validate()
    teachers = None
    if not cfg.teacher_train:
        cfg, teachers = load_task_teachers(cfg)
    out = Path(cfg.out)
    opened = open_run_dir(out, cfg, resume, overwrite, RUN_FILES)
    if opened.finished is not None:
        return opened.finished
    resume = opened.resume
    log = RoundLog(out)  # rounds.jsonl and TensorBoard
    try:
        outcome = train(cfg, teachers, progress=progress, resume=resume,
                        callbacks=(*callbacks, log))
    finally:
        log.close()
    save_student(outcome.student, out, student_meta(cfg, outcome.tasks))
    online = _save_online(cfg, outcome) if cfg.teacher_train else {}
    tasks = [(t.env, t.teacher) for t in outcome.tasks]
    with sigint_raises(f"interrupted during the final evaluation; the student is saved in "
                       f"{out}: score it with `rldistill evaluate --student {out}`"):
        blocks = score_tasks(outcome.student, tasks, cfg.eval_episodes, cfg.seed + 1_000_000,
                             cache)
    loop = outcome.loop
    scores = ({"env": cfg.env, **blocks[0]} if len(tasks) == 1
              else multitask_result(blocks, tasks, outcome.student))
    if len(tasks) > 1:
        for block, task in zip(scores["tasks"], outcome.tasks):
            block["labelled_steps"] = task.labelled
            block["final_loss"] = round(task.losses[-1], 6) if task.losses else None
    result = {**scores, "driver": loop.driver, "labelled_steps": loop.labelled,
              "updates": loop.updates,
              "wall_s": round(loop.wall_s, 3),
              "final_loss": round(loop.losses[-1], 6) if loop.losses else None,
              "config": cfg.to_dict(), **online}
    if "auto" in loop.notes:
        result["auto_budget"] = {"labelled_steps": loop.labelled, **loop.notes["auto"]}
    from rldistill.drivers import baseline
    if baseline.wanted(cfg, outcome.student):
        result["baseline_mlp"] = baseline.mlp_baseline(cfg, outcome.student, run)
    result["warnings"] = advice(result, cfg, [t.head for t in outcome.tasks])
    write_text(out / "result.json", json.dumps(result, indent=1) + "\n")
    return result


WARN_BELOW = 0.9  # normalized score under which a run warns


def advice(result: dict[str, Any], cfg: DistillConfig, heads: list[Any]) -> list[str]:
    """What a user should hear about a weak student, with what measurably helps: a larger
    budget (benchmarks/bank) and what its action head says (``ActionHead.weak_student_hint``)."""
    out = []
    for b, head in zip(result.get("tasks") or [result], heads):
        score = b.get("normalized_score")
        if score is None or score >= WARN_BELOW:
            continue
        fixes = ([] if cfg.auto_budget else ["a larger --budget"] if cfg.teacher_train
                 else ["--budget auto (or a larger --budget)"])
        hint = head.weak_student_hint(result.get("driver"), cfg.min_updates)
        fixes += ([hint] if hint else []) + ["a larger student (--param-ratio)"]
        if cfg.student_obs and not cfg.recurrent:
            fixes.append("a recurrent student (--student-arch gru:64): the view hides state")
        out.append(f"{b.get('env', cfg.env)}: the student reaches {score:.2f} of the teacher's "
                   f"score (agreement {b['agreement']:.2f} on its own states); what helps: "
                   + ", ".join(fixes))
    auto = result.get("auto_budget")
    if auto and not str(auto.get("stopped", "")).startswith("target"):
        out.append(f"--budget auto stopped without reaching --target {cfg.target}: "
                   f"{auto.get('stopped')}")
    return out


def resume_config(out: str | Path, changes: dict[str, Any],
                  cls: type[DistillConfig] | type[KickstartConfig] = DistillConfig
                  ) -> DistillConfig | KickstartConfig:
    """The config of the run in ``out`` (its checkpoint's, else its result.json's) with
    ``changes`` (options given again: e.g. a larger budget); what ``--out DIR --resume`` runs.
    With nothing in ``out``, the options given."""
    saved = saved_config(Path(out)) or {}
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{**{k: v for k, v in saved.items() if k in names}, **changes,
                  "out": str(out)}).validate()


def student_meta(cfg: DistillConfig, tasks: list[Task]) -> dict[str, Any]:
    """What student.json holds besides the architecture and spaces: env(s), teacher(s), config."""
    if len(tasks) == 1:
        return {"env": tasks[0].env, **_recipe_meta(tasks[0].env),
                "teacher": _teacher_meta(tasks[0].teacher), "config": cfg.to_dict()}
    return {"env": [t.env for t in tasks],
            "tasks": [{"env": t.env, **_recipe_meta(t.env), "teacher": _teacher_meta(t.teacher)}
                      for t in tasks],
            "config": cfg.to_dict()}


def _recipe_meta(env: str) -> dict[str, Any]:
    """``env_recipe`` for student.json where the env is more than ``gym.make(id)``."""
    return {"env_recipe": env.to_json()} if isinstance(env, EnvRecipe) else {}


def _teacher_meta(t: Teacher) -> dict[str, Any]:
    meta = {"name": t.name, "kind": t.kind, "params": t.params}
    normalize = getattr(t, "source", {}).get("normalize")
    return meta | ({"normalize": normalize} if normalize else {})


def _save_online(cfg: DistillConfig, outcome: Outcome) -> dict[str, Any]:
    """The trained teacher (``teacher_sb3.zip``) and the learning curves (``curves.png``)."""
    from rldistill.files import atomic_write
    from rldistill.plots import line_plot

    out = Path(cfg.out)
    model = outcome.teacher_model
    atomic_write(out / "teacher_sb3.zip", lambda tmp: model.save(tmp))
    venv = model.get_env()
    if hasattr(venv, "obs_rms"):  # VecNormalize: beside the zip in RL Zoo's layout
        (out / "teacher_sb3").mkdir(exist_ok=True)
        atomic_write(out / "teacher_sb3" / "vecnormalize.pkl", lambda tmp: venv.save(str(tmp)))
    c = outcome.curves
    x = [p["teacher_steps"] for p in c]
    png = line_plot({"teacher (learning)": (x, [p["teacher_return"] for p in c]),
                     "student (distilled)": (x, [p["student_return"] for p in c])},
                    out / "curves.png", "teacher env steps", "mean return",
                    f"online distillation on {cfg.env}")
    return {"curves": c, "curves_png": str(png) if png else None,
            "teacher_zip": str(out / "teacher_sb3.zip")}


def score_tasks(student: Student, tasks: list[tuple[str, Teacher]], episodes: int, seed: int,
                cache: dict[tuple[Any, ...], Any] | None = None) -> list[dict[str, Any]]:
    """The score block of each task; an ensemble's also scores the student against each member."""
    from rldistill.evaluate import score_student

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
    from rldistill.evaluate import RandomActor, evaluate_policy, score_student, summary
    from rldistill.students import load_student

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
            from rldistill.video import record

            result["videos"] = record(view, t, env_id, video, seed, run_dir / "videos")
        return result
    return {"env": env_id, "variants": _robustness(view, t, env_id, episodes, seed, variants)}


def _robustness(student: Any, teacher: Teacher, env_id: str, episodes: int, seed: int,
                variants: tuple[str, ...]) -> list[dict[str, Any]]:
    """Teacher and student on the default env and on each physical variant."""
    from rldistill.envs import parse_variants
    from rldistill.evaluate import score_student

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
