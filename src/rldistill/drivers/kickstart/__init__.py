"""Kick-starting: the student learns by RL on its own rollouts plus an annealed distillation term.

``rldistill kickstart`` trains a student with SB3's own PPO or DQN whose loss gets one extra term,
``lambda_t * KL(teacher || student)`` (:mod:`~rldistill.drivers.kickstart.algos`), with lambda on a
schedule (:class:`~rldistill.core.schedules.LambdaSchedule`). ``--pretrain N`` first distils the
teacher with rldistill's own loop (QDagger's offline phase). The student is saved as a plain SB3 zip
(``student_sb3.zip``: ``PPO.load`` opens it and keeps training) and in rldistill's format: it is
built with ReLU and ``net_arch=dict(pi=H, vf=H)`` so that its actor maps exactly onto a
:class:`~rldistill.students.network.Student`.

``--compare-scratch`` trains the same algorithm with the same hyperparameters and seed at
lambda = 0 and reports, for both, the env steps until the normalized score reaches 0.9
(evaluated every ``eval_every`` env steps) and the final normalized score.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rldistill.core.config import DistillConfig, KickstartConfig
from rldistill.core.errors import UserError
from rldistill.core.files import atomic_write, write_text
from rldistill.core.machine import machine
from rldistill.core.schedules import LambdaSchedule, parse_lambda
from rldistill.envs.recipe import EnvRecipe
from rldistill.evaluation import seeds
from rldistill.core.options import parse_hidden
from rldistill.students.network import Student, build_student, save_student
from rldistill.zoo.sb3 import sb3_kwargs

# files and dirs a kick-start run writes in its --out dir (all replaced by --overwrite)
RUN_FILES = ("result.json", "curves.png", "tb", *(f"{name}{suffix}" for name in ("student",
             "scratch") for suffix in ("_sb3.zip", ".json", ".safetensors")))
TARGET = 0.9  # steps_to_90: first evaluation with normalized score >= TARGET


def to_student(model: Any, teacher: Any) -> Student:
    """The SB3 model's acting net as an rldistill :class:`Student` of the teacher's spaces and
    head (same outputs, same actions)."""
    from rldistill.core.activations import activation_name
    from rldistill.sources.sb3_policy import student_layers

    pairs = student_layers(model.policy)  # one activation of ACTIVATIONS, else a one-line error
    act = activation_name(getattr(model.policy, "activation_fn", nn.ReLU)) or "relu"
    student = build_student(teacher.spec, tuple(w.shape[0] for w, _ in pairs[:-1]),
                            [teacher.head.name], activation=act)
    with torch.no_grad():
        for layer, (w, b) in zip(student.linears(), pairs, strict=True):
            layer.weight.copy_(w)
            layer.bias.copy_(b)
    student.eval()
    return student


def load_into(model: Any, student: Student) -> None:
    """Copy an rldistill student's layers into the SB3 model's acting net (the inverse of
    :func:`to_student`)."""
    from rldistill.sources.sb3_policy import set_student_layers

    set_student_layers(model.policy, [(m.weight, m.bias) for m in student.linears()])


def teacher_hidden(teacher: Any) -> tuple[int, ...]:
    """Hidden widths of the teacher's acting net (every Linear's output but the last)."""
    linears = [m for m in teacher.net.modules() if isinstance(m, nn.Linear)]
    return tuple(m.out_features for m in linears[:-1])


def _eval_callback(env_id: str, teacher: Any, every: int, episodes: int, seed: int,
                   returns: tuple[float, float], offset: int = 0) -> Any:
    """Evaluates the greedy student on fixed seeds at step 0, then at the first rollout start
    (after the update on the data so far) at least ``every`` env steps after the last eval, and
    at the end. For PPO the resolution is one rollout (n_steps x n_envs env steps)."""
    from stable_baselines3.common.callbacks import BaseCallback

    from rldistill.evaluation.rollouts import evaluate_policy, normalized_score

    class EvalEvery(BaseCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.curve: list[dict[str, Any]] = []
            self.next_eval = 0

        def evaluate(self) -> None:
            res = evaluate_policy(to_student(self.model, teacher).for_task(0), env_id,
                                  episodes, seed)
            norm = normalized_score(res.mean, *returns)
            point = {"step": offset + int(self.model.num_timesteps),
                     "return": round(res.mean, 2),
                     "normalized": None if norm is None else round(norm, 4)}
            point.update({k: round(v, 5) for k, v in getattr(self.model, "ks_last", {}).items()})
            self.curve.append(point)
            self.logger.record("eval/mean_return", res.mean)
            if norm is not None:
                self.logger.record("eval/normalized_score", norm)

        def _on_training_start(self) -> None:
            self.next_eval = 0

        def _on_rollout_start(self) -> None:
            # here the weights have been trained on all num_timesteps steps collected so far
            if self.num_timesteps >= self.next_eval:
                self.evaluate()
                while self.next_eval <= self.num_timesteps:
                    self.next_eval += every

        def _on_step(self) -> bool:
            return True

        def _on_training_end(self) -> None:
            if not self.curve or self.curve[-1]["step"] != offset + self.model.num_timesteps:
                self.evaluate()

    return EvalEvery()


def steps_to(curve: list[dict[str, Any]], target: float = TARGET) -> int | None:
    """Env steps at the first evaluation whose normalized score is >= ``target``."""
    for p in curve:
        if p["normalized"] is not None and p["normalized"] >= target:
            return int(p["step"])
    return None


def recipe_of(cfg: KickstartConfig, teacher: Any) -> str:
    """The env the student trains and is scored on: the recipe the teacher's source names for
    ``cfg.env`` (RL Zoo's wrappers, frame stack, env kwargs), as distill's; else the plain id."""
    from types import SimpleNamespace

    from rldistill.envs.make import task_env

    none = SimpleNamespace(env_wrapper=(), frame_stack=None, env_modules=())
    return task_env(cfg.env, teacher, none)


def train_one(cfg: KickstartConfig, teacher: Any, hidden: tuple[int, ...], lam: LambdaSchedule,
              returns: tuple[float, float], tb_dir: str | None, name: str, pretrain: int
              ) -> tuple[Any, list[dict[str, Any]]]:
    """Train one student (lambda schedule ``lam``; constant 0 = from scratch); model + curve.

    ``pretrain`` > 0 (QDagger's offline phase, Agarwal et al. 2022): first distil the teacher
    into the student's acting net with rldistill's own loop for that many labelled env steps
    (student-driven), then run RL for ``steps - pretrain`` steps; the curve counts both.
    """
    import tempfile

    from rldistill.drivers.distill import train
    from rldistill.drivers.kickstart.algos import ALGOS
    from rldistill.envs.make import sb3_vec_env

    env = recipe_of(cfg, teacher)
    n_envs, kwargs = sb3_kwargs(cfg.algo, cfg.env, hidden)
    venv = sb3_vec_env(env, n_envs, cfg.seed)
    model = ALGOS[cfg.algo]("MlpPolicy", venv, seed=cfg.seed, verbose=0, teacher=teacher,
                            lam=lam, temperature=cfg.temperature, returns=returns,
                            tensorboard_log=tb_dir, device="cpu", **kwargs)
    if pretrain:
        with tempfile.TemporaryDirectory() as tmp:
            dcfg = DistillConfig(teacher=teacher.name, env=cfg.env, budget=pretrain,
                                 seed=cfg.seed, student_hidden=",".join(map(str, hidden)),
                                 student_activation="relu",  # the SB3 model's (sb3_kwargs)
                                 out=tmp, temperature=cfg.temperature)
            load_into(model, train(dcfg, teachers=[teacher]).student)
    cb = _eval_callback(env, teacher, cfg.eval_every, cfg.eval_episodes, seeds.KICKSTART_CURVE,
                        returns, offset=pretrain)
    model.learn(total_timesteps=cfg.steps - pretrain, callback=cb, tb_log_name=name)
    venv.close()
    return model, cb.curve


def run(cfg: KickstartConfig, resume: bool = False, overwrite: bool = False,
        plot: bool = True) -> dict[str, Any]:
    """Kick-start a student (and optionally the same run from scratch); write ``cfg.out``;
    returns the result (also ``result.json``). ``resume`` reads a finished run of the same
    options back; an unfinished one starts again (kick-starting keeps no checkpoint)."""
    from rldistill.engine.rundir import open_run_dir
    from rldistill.envs.make import check_match, env_spec
    from rldistill.evaluation.rollouts import RandomActor, evaluate_policy, score_student
    from rldistill.drivers.kickstart.algos import check_sb3_version
    from rldistill.sources import load_teacher

    cfg.validate()
    check_sb3_version()
    lam = parse_lambda(cfg.lambda_schedule)
    teacher = load_teacher(cfg.teacher, trust=cfg.trust_teacher)
    if getattr(teacher, "recurrent", False):
        raise UserError(f"teacher {teacher.name} is a RecurrentPPO: kickstart queries it on SB3's "
                        "rollout batches, out of their episodes; distil it (rldistill distill) "
                        "and kick-start from an MLP teacher")
    env = recipe_of(cfg, teacher)
    check_match(teacher.spec, env_spec(env), teacher.name, cfg.env)
    if len(teacher.spec.obs_shape) != 1 or any(k.image for k in teacher.spec.keys):
        raise UserError(f"env {cfg.env} has observations {teacher.spec.describe()}; kickstart "
                        "needs flat (1-D) observations (a Dict space: vector keys only)")
    from rldistill.deploy.sb3 import ALGOS_FOR_HEAD  # the heads an SB3 model of algo holds

    wanted = [head for head, algos in ALGOS_FOR_HEAD.items() if cfg.algo in algos]
    if teacher.head.name not in wanted:
        raise UserError(f"kick-starting an SB3 {cfg.algo.upper()} student needs a teacher whose "
                        f"policy is {' or '.join(wanted)} like the student's; {teacher.name} is "
                        f"{teacher.head.name}: distil it with `rldistill distill` instead")
    h = parse_hidden(cfg.student_hidden) if cfg.student_hidden is not None else \
        teacher_hidden(teacher)
    out = Path(cfg.out)
    opened = open_run_dir(out, cfg, resume, overwrite, RUN_FILES)
    if opened.finished is not None:
        return opened.finished
    torch.set_num_threads(1)

    t_ev = evaluate_policy(teacher, env, cfg.eval_episodes, seeds.KICKSTART_CURVE)
    r_ev = evaluate_policy(RandomActor(teacher.head, seeds.KICKSTART_CURVE), env,
                           cfg.eval_episodes, seeds.KICKSTART_CURVE)
    returns = (t_ev.mean, r_ev.mean)
    tb_dir = str(out / "tb") if importlib.util.find_spec("tensorboard") else None
    runs = [("student", lam)] + ([("scratch", LambdaSchedule("constant", 0.0))]
                                 if cfg.compare_scratch else [])
    result: dict[str, Any] = {
        "env": cfg.env, "algo": cfg.algo, "lambda": cfg.lambda_schedule, "steps": cfg.steps,
        "seed": cfg.seed, "pretrain": cfg.pretrain, "eval_every": cfg.eval_every,
        "eval_episodes": cfg.eval_episodes,
        "teacher": {"name": teacher.name, "kind": teacher.kind, "params": teacher.params,
                    "hidden": list(teacher_hidden(teacher)),
                    "eval_return_mean": round(t_ev.mean, 3)},
        "random": {"eval_return_mean": round(r_ev.mean, 3)},
        "config": cfg.to_dict(),
    }
    cache: dict[tuple[Any, ...], Any] = {}
    for name, sched in runs:
        t0 = time.perf_counter()
        model, curve = train_one(cfg, teacher, h, sched, returns, tb_dir, name,
                                 pretrain=cfg.pretrain if name == "student" else 0)
        wall = time.perf_counter() - t0
        atomic_write(out / f"{name}_sb3.zip", lambda tmp: model.save(tmp))
        student = to_student(model, teacher)
        score = score_student(student.for_task(0), teacher, env, cfg.final_episodes,
                              seeds.KICKSTART_FINAL, cache=cache)
        recipe = {"env_recipe": env.to_json()} if isinstance(env, EnvRecipe) else {}
        save_student(student, out, {"env": cfg.env, **recipe, "source": "kickstart",
                                    "algo": cfg.algo,
                                    "config": {**cfg.to_dict(), "lambda_schedule":
                                               cfg.lambda_schedule if name == "student"
                                               else "constant:0"}}, stem=name)
        result[name] = {
            "hidden": list(h), "params": student.params, "steps_to_90": steps_to(curve),
            "normalized_score": score["normalized_score"],
            "final_return_mean": score["student"]["return_mean"],
            "final_return_ci95": score["student"]["return_ci95"],
            "agreement": score["agreement"], "final_episodes": cfg.final_episodes,
            "last_eval_normalized": curve[-1]["normalized"] if curve else None,
            "train_wall_s": round(wall, 1), "curve": curve,
        }
        result["teacher"]["final_return_mean"] = score["teacher"]["return_mean"]
        result["random"]["final_return_mean"] = score["random"]["return_mean"]
    if cfg.compare_scratch:
        result |= _speedup(result, cfg.steps)
    if plot:
        result["plot"] = _plot(result, out / "curves.png")
    result["machine"] = machine()
    write_text(out / "result.json", json.dumps(result, indent=1) + "\n")
    return result


def _speedup(result: dict[str, Any], steps: int) -> dict[str, Any]:
    """Steps to 90 % kick-started vs from scratch, and to the scratch run's final level."""
    a, b = result["student"]["steps_to_90"], result["scratch"]["steps_to_90"]
    out: dict[str, Any] = {
        "speedup": round(b / a, 3) if a and b else None,
        # scratch never got there: the speedup is at least steps / student's steps
        "speedup_lower_bound": round(steps / a, 3) if a and b is None else None}
    level = result["scratch"]["last_eval_normalized"]
    if level is not None:  # the scratch run's final level: when did each run first reach it?
        sa = steps_to(result["student"]["curve"], level)
        sb = steps_to(result["scratch"]["curve"], level)
        out["match_scratch_final"] = {"level": level, "student_steps": sa, "scratch_steps": sb,
                                      "speedup": round(sb / sa, 3) if sa and sb else None}
    return out


def _plot(result: dict[str, Any], path: Path) -> str | None:
    from rldistill.core.plots import line_plot

    series = {("kick-started" if name == "student" else "from scratch"):
              ([p["step"] for p in result[name]["curve"]],
               [p["normalized"] for p in result[name]["curve"]])
              for name in ("student", "scratch") if name in result}
    png = line_plot(series, path, "env steps", "normalized score",
                    f"{result['env']} {result['algo']}: lambda {result['lambda']}, seed "
                    f"{result['seed']}", hlines=(TARGET, 1.0))
    return str(png) if png else None
