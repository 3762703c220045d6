"""One distill run (``rldistill distill``, :func:`rldistill.api.run`): the teachers loaded and
checked against their envs, the loop trained (offline, or online while a teacher learns), the
student saved and scored, ``result.json`` written. Every run kind that is a distill run goes
through here: the CLI, ``--seeds``, sweep and compress trials, the MLP baseline, kick-starting's
pretraining."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rldistill.core.config import DistillConfig
from rldistill.core.errors import UserError
from rldistill.core.files import write_text
from rldistill.core.machine import machine
from rldistill.engine.loop import Callback, Loop, Progress
from rldistill.engine.rundir import open_run_dir, saved_config
from rldistill.engine.state import Task
from rldistill.evaluation import seeds
from rldistill.envs.make import (EnvRecipe, check_masks, check_match, env_spec,
                                 import_env_module, map_env_id, task_env, teacher_env)
from rldistill.evaluation.scoring import multitask_result, score_tasks
from rldistill.report.runlog import ROUNDS, TB_DIR, RoundLog
from rldistill.sources import EnsembleTeacher, NetTeacher, Teacher, load_teacher
from rldistill.sources.torch_file import SUFFIXES
from rldistill.students.network import Student, save_student

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


def load_task_teachers(cfg: DistillConfig) -> tuple[DistillConfig, list[Teacher], list[str]]:
    """One teacher per task (an ensemble where a task has several), each source resolved and
    read once, checked against its env; returns the config with the env(s) the teachers'
    sources name where --env was not given (renamed env ids mapped:
    :func:`rldistill.envs.make.map_env_id`), the teachers, and each task's env as the loop
    makes it (:func:`~rldistill.envs.make.task_env`: the recipe with its wrappers)."""
    for module in cfg.env_modules:
        import_env_module(module)
    loaded: dict[tuple[str, str | None], NetTeacher] = {}

    def teacher(spec: str, env: str | None) -> NetTeacher:
        key = (spec, env if Path(spec).suffix in SUFFIXES else None)  # a torch file's env
        if key not in loaded:
            loaded[key] = load_teacher(spec, cfg.trust_teacher, cfg.teacher_normalize,
                                       cfg.teacher_kind, env)
        return loaded[key]

    if not cfg.env and not cfg.teacher_train:
        cfg = with_source_envs(cfg, lambda spec: teacher(spec, None))
    teachers: list[Teacher] = []
    env_ids, envs = [], []
    for specs, env_id in cfg.tasks:
        members = [teacher(s, env_id) for s in specs]
        t = members[0] if len(members) == 1 else EnsembleTeacher(members, cfg.ensemble)
        env_id = map_env_id(env_id, t.spec)
        env = task_env(env_id, t, cfg)
        found = env_spec(teacher_env(env))
        check_match(t.spec, found, t.name, env_id)
        if t.spec.keys:  # the env's image layout: a zip saves its images channels first
            t.spec = dataclasses.replace(t.spec, keys=found.keys)
        check_masks(cfg, t, env)
        _check_recurrent(cfg, members)
        teachers.append(t)
        env_ids.append(env_id)
        envs.append(env)
    if tuple(env_ids) != tuple(e for _, e in cfg.tasks):
        cfg = cfg.replace(env=env_ids[0] if len(env_ids) == 1 else tuple(env_ids))
    return cfg, teachers, envs


def with_source_envs(cfg: DistillConfig, teacher: Callable[[str], NetTeacher]) -> DistillConfig:
    """``cfg`` with ``env`` from the teachers' sources (RL Zoo folders, Hub repos, the zoo)
    where it is empty: one env for one source or several of one env (an ensemble), else one
    per teacher. ``teacher(spec)`` loads a teacher (once: its source names the env)."""
    envs = []
    for spec in cfg.tasks[0][0]:
        recipe = None if Path(spec).suffix in SUFFIXES else teacher(spec).source.get(
            "env_recipe")
        if recipe is None:
            raise UserError(f"no env given, and teacher {spec} does not name one: pass --env ID")
        envs.append(str(recipe))
    return cfg.replace(env=envs[0] if len(set(envs)) == 1 else tuple(envs)).validate()


def train(cfg: DistillConfig, teachers: list[Teacher] | None = None,
          progress: Progress | None = None, resume: bool = False,
          callbacks: tuple[Callback, ...] = (), envs: list[str] | None = None) -> Outcome:
    """Run the loop for ``cfg.budget`` labelled steps (offline, or online when
    ``cfg.teacher_train`` is set), checkpointing to ``cfg.out``; returns the outcome. The
    teachers are loaded here unless given (with ``envs``, their tasks' envs, where
    :func:`load_task_teachers` made them)."""
    from rldistill.drivers.offline import train_offline

    cfg.validate()
    if cfg.teacher_train:
        from rldistill.drivers.online import train_online

        if teachers is not None:
            raise UserError("--teacher-train trains its own teacher: pass no teachers")
        loop, curves, model = train_online(cfg, progress, resume, callbacks)
        return Outcome(cfg, loop, curves, model)
    if teachers is None:
        cfg, teachers, envs = load_task_teachers(cfg)
    return Outcome(cfg, train_offline(cfg, teachers, progress, resume, callbacks, envs))


def run(cfg: DistillConfig, progress: Progress | None = None,
        cache: dict[tuple[Any, ...], Any] | None = None, resume: bool = False,
        overwrite: bool = False, callbacks: tuple[Callback, ...] = ()) -> dict[str, Any]:
    """Train, save the student to ``cfg.out``, evaluate; the result dict (also result.json).

    ``resume`` continues the run checkpointed in ``cfg.out`` (a larger budget extends it);
    ``overwrite`` replaces a run there. ``cache`` keeps teacher and random-policy evaluations
    between calls (the demo scores several students against one teacher).
    """
    from rldistill.core.signals import sigint_raises

    cfg.validate()
    teachers, envs = None, None
    if not cfg.teacher_train:
        cfg, teachers, envs = load_task_teachers(cfg)
    out = Path(cfg.out)
    opened = open_run_dir(out, cfg, resume, overwrite, RUN_FILES)
    if opened.finished is not None:
        return opened.finished
    resume = opened.resume
    log = RoundLog(out)  # rounds.jsonl and TensorBoard
    try:
        outcome = train(cfg, teachers, progress=progress, resume=resume,
                        callbacks=(*callbacks, log), envs=envs)
    finally:
        log.close()
    taus = fitted_temperatures(outcome.loop)
    save_student(outcome.student, out, student_meta(cfg, outcome.tasks, taus))
    online = _save_online(cfg, outcome) if cfg.teacher_train else {}
    tasks = [(t.env, t.teacher) for t in outcome.tasks]
    with sigint_raises(f"interrupted during the final evaluation; the student is saved in "
                       f"{out}: score it with `rldistill evaluate --student {out}`"):
        blocks = score_tasks(outcome.student, tasks, cfg.eval_episodes, seeds.final(cfg.seed),
                             cache)
    loop = outcome.loop
    scores = ({"env": cfg.env, **blocks[0]} if len(tasks) == 1
              else multitask_result(blocks, tasks, outcome.student))
    if len(tasks) == 1 and taus[0] is not None:
        scores["temperature"] = taus[0]
    if len(tasks) > 1:
        for block, task, tau in zip(scores["tasks"], outcome.tasks, taus):
            block |= {"temperature": tau} if tau is not None else {}
            block["labelled_steps"] = task.labelled
            block["env_steps"] = task.env_steps
            block["final_loss"] = round(task.losses[-1], 6) if task.losses else None
    result = {**scores, "driver": loop.driver.name, "labelled_steps": loop.labelled,
              "env_steps": loop.env_steps, "teacher_queries": loop.teacher_queries,
              "updates": loop.updates,
              "wall_s": round(loop.wall_s, 3),
              "final_loss": round(loop.losses[-1], 6) if loop.losses else None,
              "config": cfg.to_dict(), "machine": machine(), **online}
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


def resume_config(out: str | Path, changes: dict[str, Any], cls: type = DistillConfig) -> Any:
    """The config of the run in ``out`` (its checkpoint's, else its result.json's) with
    ``changes`` (options given again: e.g. a larger budget); what ``--out DIR --resume`` runs.
    With nothing in ``out``, the options given."""
    saved = saved_config(Path(out)) or {}
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{**{k: v for k, v in saved.items() if k in names}, **changes,
                  "out": str(out)}).validate()


def _check_recurrent(cfg: DistillConfig, members: list[Teacher]) -> None:
    """A recurrent teacher (RecurrentPPO) labels as it steps through episodes; what queries it
    on states out of their episodes is refused in one line."""
    if not any(getattr(m, "recurrent", False) for m in members):
        return
    if len(members) > 1:
        raise UserError("a RecurrentPPO teacher in an ensemble: distil it alone")
    for flag, on in (("--perturb", cfg.perturb), ("--sobolev", cfg.sobolev)):
        if on:
            raise UserError(f"teacher {members[0].name} is a RecurrentPPO (its outputs depend "
                            f"on the episode so far) and {flag} queries it on states out of "
                            f"their episodes: drop {flag}")


def fitted_temperatures(loop: Loop) -> list[float | None]:
    """Each task's temperature fitted to its teacher's action gaps (a Q teacher without
    --temperature: :func:`~rldistill.heads.losses.gap_temperature`), else None."""
    return [round(fn.t, 6) if getattr(fn, "fitted", False) else None
            for fn in loop.fitted_losses()]


def student_meta(cfg: DistillConfig, tasks: list[Task], taus: list[float | None]
                 ) -> dict[str, Any]:
    """What student.json holds besides the architecture and spaces: env(s), teacher(s) (with
    a fitted temperature), config."""
    teachers = [_teacher_meta(t.teacher, tau) for t, tau in zip(tasks, taus)]
    if len(tasks) == 1:
        return {"env": tasks[0].env, **_recipe_meta(tasks[0]),
                "teacher": teachers[0], "config": cfg.to_dict()}
    return {"env": [t.env for t in tasks],
            "tasks": [{"env": t.env, **_recipe_meta(t), "teacher": m}
                      for t, m in zip(tasks, teachers)],
            "config": cfg.to_dict()}


def _recipe_meta(task: Task) -> dict[str, Any]:
    """``env_recipe`` for student.json where the env is more than ``gym.make(id)``, and
    ``action_masks`` where it masks actions (the exported graph then takes a mask)."""
    env = task.env
    return {**({"env_recipe": env.to_json()} if isinstance(env, EnvRecipe) else {}),
            **({"action_masks": True} if getattr(task.venv, "masks", None) is not None
               else {})}


def _teacher_meta(t: Teacher, tau: float | None) -> dict[str, Any]:
    meta = {"name": t.name, "kind": t.kind, "params": t.params}
    normalize = getattr(t, "source", {}).get("normalize")
    return meta | ({"normalize": normalize} if normalize else {}) | (
        {"temperature": tau} if tau is not None else {})


def _save_online(cfg: DistillConfig, outcome: Outcome) -> dict[str, Any]:
    """The trained teacher (``teacher_sb3.zip``) and the learning curves (``curves.png``)."""
    from rldistill.core.files import atomic_write
    from rldistill.core.plots import line_plot

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


