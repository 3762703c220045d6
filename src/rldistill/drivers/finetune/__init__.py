"""Distil, then fine-tune: RL (SB3's PPO, SAC or DQN) on a distilled student, without forgetting
what it was taught.

``rldistill finetune --student DIR --steps N`` turns the student into an SB3 model as ``export
--format sb3`` does (its acting net; RL Zoo's hyperparameters for the rest, whose value function
or critics start fresh), then trains it with the kick-starting subclasses of
:mod:`rldistill.drivers.kickstart.algos`, with three guards (the legged-robot "distill, then
fine-tune" recipe; DQfD for Q-values):

- **critic warm-up**: for the first ``--warmup-steps`` the actor stays as distilled and only the
  value function (PPO) or the critics (SAC) learn, so that a fresh critic cannot steer it away;
- **an anchor**: ``lambda_t * KL(anchor || policy)`` on each batch (the anchor: the start
  student, moved to the policy of each evaluation that beats every earlier one; or the start
  throughout, or the run's teacher), lambda on a decaying schedule; for DQN the large-margin loss
  on the anchor's greedy action (:class:`~rldistill.heads.losses.LargeMargin`);
- **DQN explores at its final epsilon** from the start (a distilled student is not a random one).

Discrete students are fine-tuned by PPO by default, a Q-value teacher's too: DQN loses them
(their Q-values have the teacher's gaps but not its state values; ``benchmarks/finetune``). A
Gaussian student explores with its teacher's std (distillation's temperature halved it).

The policy is evaluated greedily every ``--eval-every`` env steps on fixed episode seeds and
checkpointed then and on SIGINT (``checkpoint.safetensors``, tensors only, nothing pickled: the
SB3 model's weights and optimizer states, the replay buffer, the counters and the curve);
``--resume`` continues from it. The envs start new episodes there, so a resumed run is not the
uninterrupted one bit for bit. ``--compare-scratch`` trains the same algorithm from scratch (same
network sizes, hyperparameters and seed) after it. Writes ``result.json``, ``student_sb3.zip``
(a plain SB3 zip), the fine-tuned student in rldistill's format (``student.json`` /
``.safetensors``: ``evaluate`` and ``export`` read it) and ``curves.png``.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from rldistill.core.config import FinetuneConfig
from rldistill.core.rl_config import FINETUNE_ALGOS
from rldistill.core.errors import Interrupted, UserError, notice
from rldistill.core.files import atomic_write, write_text
from rldistill.core.machine import machine
from rldistill.core.schedules import parse_lambda
from rldistill.drivers.finetune.anchor import Anchor, anchor_loss, move_anchor
from rldistill.drivers.finetune.explore import advice, start_entropy
from rldistill.drivers.finetune.sb3_state import restore, save_checkpoint
from rldistill.engine.checkpoint import CKPT_NAME, load_checkpoint
from rldistill.evaluation import seeds
from rldistill.students.saved import SavedRun

RUN_FILES = ("result.json", "curves.png", "tb", "student_sb3.zip", "student.json",
             "student.safetensors", "scratch_sb3.zip")


def reference_returns(start: SavedRun) -> tuple[float, float]:
    """(teacher, random) returns the distill run measured: what normalized scores are of."""
    r = start.result() or {}
    block = (r.get("tasks") or [r])[0]
    try:
        return float(block["teacher"]["return_mean"]), float(block["random"]["return_mean"])
    except (KeyError, TypeError):
        raise UserError(f"{start.given} has no result.json with its teacher's and the random "
                        "policy's returns: pass the --out dir of a finished distill run") from None


def normalized(ret: float, returns: tuple[float, float]) -> float:
    teacher, rand = returns
    return round((ret - rand) / (teacher - rand), 4) if teacher != rand else float("nan")


def _vecnormalize(venv: Any, norm: Any) -> Any:
    """SB3's VecNormalize with the student's (frozen) observation statistics."""
    from stable_baselines3.common.vec_env import VecNormalize

    eps = 1e-8
    vn = VecNormalize(venv, training=False, norm_obs=True, norm_reward=False,
                      clip_obs=float(norm.clip), epsilon=eps)
    rms: Any = vn.obs_rms
    rms.mean = norm.mean.double().numpy()
    rms.var = (norm.std.double() ** 2 - eps).clamp_min(0).numpy()
    return vn


class Setup:
    """The start: the student, its env recipe, its SB3 export and what wraps the envs."""

    def __init__(self, cfg: FinetuneConfig, tmp: Path) -> None:
        from rldistill.deploy.sb3 import ALGOS_FOR_HEAD, export_sb3

        self.start = SavedRun(cfg.student)
        if self.start.multitask:
            raise UserError(f"{cfg.student} is a multi-task student: finetune takes a one-task "
                            "student (distil one per env)")
        self.student = self.start.student
        self.head = self.student.action_heads[0]
        tmeta = self.start.task(0)
        self.env_id: str = tmeta.get("env") or ""
        self.teacher_kind = tmeta.get("teacher", {}).get("kind")
        self.recipe = self.start.env(0)
        fits = [a for a in ALGOS_FOR_HEAD[self.head.name] if a in FINETUNE_ALGOS]
        if not fits:
            raise UserError(f"finetune does not train {self.head.name} students yet (SB3's "
                            f"{' / '.join(ALGOS_FOR_HEAD[self.head.name]).upper()}): export it "
                            "with --format sb3 and train it with SB3 directly")
        # ppo before dqn, even for a Q-value teacher's student (benchmarks/finetune: DQN lost
        # the distilled policy, PPO kept it)
        self.algo = cfg.algo or fits[0]
        if self.algo not in fits:
            raise UserError(f"--algo {self.algo} cannot fine-tune a {self.head.name} student: "
                            f"choose {' or '.join(fits)}")
        conf = self.start.config
        if self.algo == "dqn" and not (self.teacher_kind == "q" and conf.get("loss") == "mse"
                                       and not conf.get("centred")):
            notice("--algo dqn on a student that did not learn its teacher's Q-values themselves "
                   "(a Q-value teacher's, distilled with --loss mse, not --centred): DQN lost "
                   "such students, and even a DQN teacher's own policy (benchmarks/finetune); "
                   "--algo ppo keeps them")
        if self.student.arch.cell:
            raise UserError("finetune cannot train a recurrent student: SB3's PPO, SAC and DQN "
                            "keep no state between steps")
        if self.student.arch.key_frames:
            raise UserError("finetune cannot train a student of a Dict observation space with "
                            "image keys yet: SB3 has no policy that holds its CNN per image key")
        self.returns = reference_returns(self.start)
        self.zip = tmp / "start.zip"
        with warnings.catch_warnings():  # SB3 on the export's one env: PPO's batch warning
            warnings.filterwarnings("ignore", message="You have specified a mini-batch size")
            self.export = export_sb3(cfg.student, self.zip, algo=self.algo,
                                     own_critic_cnn=True, flat=True)
        arch = self.student.arch
        self.norm = self.student.obs_norms[0] if arch.obs_norm and arch.obs_norm[0] else None
        # PPO / A2C on heads that have a floor (categorical ones); DQN explores by epsilon
        soften = hasattr(self.head, "floor_temperature") and self.algo != "dqn"
        self.floor_t, self.entropy_share = start_entropy(
            self.head, self.student, self.start.dir, cfg.entropy_floor) if soften else (1.0, None)

    def venv(self, n_envs: int, seed: int) -> Any:
        from rldistill.envs.make import sb3_vec_env

        venv = sb3_vec_env(self.recipe, n_envs, seed)
        return _vecnormalize(venv, self.norm) if self.norm is not None else venv

    def model(self, cfg: FinetuneConfig, phase: str, tb: str | None) -> Any:
        """The SB3 model of ``phase``: ``student``, the student's export with the fine-tuning
        overrides; ``plain``, the same as SB3's own ``load`` + ``learn`` would continue it (the
        benchmark's baseline); ``scratch``, the same model freshly initialised."""
        from rldistill.drivers.kickstart.algos import ALGOS
        from rldistill.zoo.hyperparams import lookup

        n_envs = lookup(self.algo, self.env_id)[0]
        venv = self.venv(n_envs, cfg.seed)
        over: dict[str, Any] = {"tensorboard_log": tb, "seed": cfg.seed}
        cls: Any = ALGOS[self.algo]
        model = cls.load(str(self.zip), env=venv, device="cpu", **over)
        model.set_random_seed(cfg.seed)
        if phase == "scratch":
            model._setup_model()  # fresh weights, the same hyperparameters
        if phase == "student" and self.head.name == "gaussian":
            # explore with the teacher's std: distillation halved it (the head's temperature
            # sharpens the targets for the mean), which starved PPO of exploration
            temp = self.start.config.get("temperature") or \
                self.head.default_temperature(self.teacher_kind)
            with torch.no_grad():
                model.policy.log_std -= math.log(temp)
        if phase == "student" and self.floor_t != 1.0:
            with torch.no_grad():  # explore: the entropy floor (benchmarks/finetune/README.md)
                model.policy.action_net.weight.div_(self.floor_t)
                model.policy.action_net.bias.div_(self.floor_t)
        if phase == "student" and self.algo == "dqn":  # explore at the final epsilon from the start
            from stable_baselines3.common.utils import LinearSchedule

            eps = model.exploration_final_eps
            model.exploration_initial_eps = eps
            model.exploration_schedule = LinearSchedule(eps, eps, 1.0)
        return model


def _evaluate(model: Any, setup: Setup, episodes: int, seed: int) -> float:
    """The mean greedy return of the model's acting net, as an rldistill student, through the
    package's evaluation (its episode seeds and parallel envs, as every run's)."""
    from rldistill.evaluation.rollouts import evaluate_policy

    return evaluate_policy(as_student(model, setup).for_task(0), setup.recipe, episodes,
                           seed).mean


def _callback(cfg: FinetuneConfig, setup: Setup, out: Path, phase: str,
              curve: list[dict[str, Any]], done: dict[str, Any], flag: list[int]) -> Any:
    """Evaluates (and checkpoints) at step 0, then at the first rollout start at least
    ``eval_every`` env steps after the last evaluation, and at the end; stops on SIGINT."""
    from stable_baselines3.common.callbacks import BaseCallback

    class EvalEvery(BaseCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.next_eval = curve[-1]["env_steps"] + cfg.eval_every if curve else 0

        def evaluate(self) -> None:
            ret = _evaluate(self.model, setup, cfg.eval_episodes, seeds.KICKSTART_CURVE)
            point = {"env_steps": int(self.model.num_timesteps), "return": round(ret, 2),
                     "normalized_score": normalized(ret, setup.returns)}
            point.update({k: round(v, 5) for k, v in getattr(self.model, "ks_last", {}).items()})
            curve.append(point)
            if len(curve) == 1 and phase == "student":  # --anchor-lambda return-ratio's G_ref
                setattr(self.model, "ks_returns", (ret, setup.returns[1]))  # noqa: B010
            if phase == "student" and cfg.anchor == "best" and move_anchor(self.model, curve):
                point["anchor_moved"] = True
            self.logger.record("eval/mean_return", ret)
            self.logger.record("eval/normalized_score", point["normalized_score"])
            save_checkpoint(out, cfg, self.model, phase, curve, done)

        def _on_rollout_start(self) -> None:
            if self.num_timesteps >= self.next_eval:
                self.evaluate()
                while self.next_eval <= self.num_timesteps:
                    self.next_eval += cfg.eval_every

        def _on_step(self) -> bool:
            return not flag

        def _on_training_end(self) -> None:
            if flag:
                save_checkpoint(out, cfg, self.model, phase, curve, done)
            elif curve[-1]["env_steps"] != self.model.num_timesteps:
                self.evaluate()

    return EvalEvery()


def as_student(model: Any, setup: Setup) -> Any:
    """The SB3 model's acting net back in rldistill's format: the start student's architecture
    and normaliser (it takes raw observations), DQN's Q scale undone."""
    from rldistill.sources.sb3_policy import features_extractor, student_layers

    student = copy.deepcopy(setup.student)
    pairs = student_layers(model.policy)
    if student.arch.conv:
        ext: Any = features_extractor(model.policy)
        convs = [m for m in ext.cnn if isinstance(m, torch.nn.Conv2d)]
        ours = [m for m in student.convs if isinstance(m, torch.nn.Conv2d)]
        dense = ext.linear[0]
        pairs = [(dense.weight.detach(), dense.bias.detach()), *pairs]
        with torch.no_grad():
            for mine, theirs in zip(ours, convs, strict=True):
                mine.weight.copy_(theirs.weight)
                mine.bias.copy_(theirs.bias)  # type: ignore[union-attr,arg-type]
    scale: float = setup.export.get("q_scale", 1.0)
    with torch.no_grad():
        layers = student.linears(0)
        for i, (layer, (w, b)) in enumerate(zip(layers, pairs, strict=True)):
            last = i == len(layers) - 1
            layer.weight.copy_(w / scale if last else w)
            layer.bias.copy_(b / scale if last else b)
    return student.eval()


def _write_student(model: Any, setup: Setup, out: Path, cfg: FinetuneConfig) -> None:
    """The fine-tuned student (:func:`as_student`) with the start's run config, so that
    ``evaluate`` and ``export`` read it."""
    from rldistill.students.network import save_student

    meta = {k: v for k, v in setup.start.meta.items()
            if k not in ("format", "arch", "spaces", "heads")}
    save_student(as_student(model, setup), out,
                 {**meta, "source": "finetune", "finetune": cfg.to_dict()})


def _train(cfg: FinetuneConfig, setup: Setup, out: Path, phase: str, ckpt: Any,
           done: dict[str, Any], tb: str | None) -> dict[str, Any]:
    """One phase (``student``: fine-tuning; ``scratch``: its twin) from its start or from the
    checkpoint ``ckpt`` (tensors, state); its figures."""
    from rldistill.core.signals import sigint_flag

    model = setup.model(cfg, phase, tb)
    fresh = ckpt is None or ckpt[1]["phase"] != phase
    warm = cfg.warmup
    if warm and setup.algo in ("ppo", "a2c"):  # whole rollouts: the first ceil(W / rollout) updates
        rollout = model.n_steps * model.n_envs
        warm = -(-warm // rollout) * rollout + 1
    if phase == "student" and cfg.anchor != "none":
        teacher = None
        if cfg.anchor == "teacher":
            specs = setup.start.teacher_specs(0)
            if not specs:
                raise UserError(f"{cfg.student} names no teacher: pass --anchor student or none")
            teacher = setup.start.load_teacher(specs, setup.env_id, trust=cfg.trust_teacher)
            if getattr(teacher, "recurrent", False):
                raise UserError("the run's teacher is a RecurrentPPO, which cannot anchor SB3's "
                                "batches out of their episodes: pass --anchor student")
        policy = None if teacher is not None else copy.deepcopy(model.policy).eval()
        anchor = Anchor(setup.algo, setup.head, policy, teacher,
                        model.get_vec_normalize_env() if teacher is not None else None)
        model.set_anchor(anchor, parse_lambda(cfg.anchor_schedule, "--anchor-lambda"),
                         anchor_loss(cfg, setup.algo, setup.head, teacher), warm)
    elif phase == "student":
        model.ks_frozen_until = warm
    curve: list[dict[str, Any]] = []
    if ckpt is not None and ckpt[1]["phase"] == phase:
        restore(model, ckpt[0], ckpt[1]["counters"])  # --anchor best's anchor included
        curve = list(ckpt[1]["curve"])
        if phase == "student":
            model.ks_returns = (curve[0]["return"], setup.returns[1])
    t0 = time.perf_counter()
    with sigint_flag() as flag:
        cb = _callback(cfg, setup, out, phase, curve, done, flag)
        model.learn(total_timesteps=cfg.steps - model.num_timesteps, callback=cb,
                    tb_log_name=phase, reset_num_timesteps=fresh)
        if flag:
            raise Interrupted(f"interrupted at {model.num_timesteps} env steps; the run is "
                              f"checkpointed in {out}: continue it with --resume")
    wall = time.perf_counter() - t0
    model.get_env().close()
    atomic_write(out / f"{phase}_sb3.zip", lambda tmp: model.save(tmp))
    if phase == "student":
        _write_student(model, setup, out, cfg)
    final = _evaluate(model, setup, cfg.final_episodes, seeds.KICKSTART_FINAL)
    scores = [p["normalized_score"] for p in curve]
    return {"normalized_score": normalized(final, setup.returns),
            "final_return_mean": round(final, 2), "final_episodes": cfg.final_episodes,
            "start_normalized_score": scores[0], "lowest_normalized_score": min(scores),
            "lowest_over_start": round(min(scores) / scores[0], 4) if scores[0] > 0 else None,
            "train_wall_s": round(wall, 1), "curve": curve}


def steps_to(curve: list[dict[str, Any]], level: float) -> int | None:
    """Env steps at the first evaluation whose normalized score is >= ``level``."""
    return next((int(p["env_steps"]) for p in curve if p["normalized_score"] >= level), None)


def run(cfg: FinetuneConfig, resume: bool = False, overwrite: bool = False,
        plot: bool = True) -> dict[str, Any]:
    """Fine-tune ``cfg.student`` (and its scratch twin); write ``cfg.out``; the result."""
    from rldistill.drivers.kickstart.algos import check_sb3_version
    from rldistill.engine.rundir import open_run_dir

    cfg.validate()
    check_sb3_version()
    parse_lambda(cfg.anchor_schedule, "--anchor-lambda")
    out = Path(cfg.out)
    opened = open_run_dir(out, cfg, resume, overwrite, RUN_FILES)
    if opened.finished is not None:
        return opened.finished
    ckpt = load_checkpoint(out / CKPT_NAME) if opened.resume else None
    torch.set_num_threads(1)
    tb = str(out / "tb") if importlib.util.find_spec("tensorboard") else None
    with tempfile.TemporaryDirectory() as tmp:
        setup = Setup(cfg, Path(tmp))
        done: dict[str, Any] = dict(ckpt[1]["done"]) if ckpt is not None else {}
        for phase in ("student", "scratch") if cfg.compare_scratch else ("student",):
            if phase not in done:
                done[phase] = _train(cfg, setup, out, phase, ckpt, done, tb)
    result: dict[str, Any] = {
        "env": setup.env_id, "algo": setup.algo, "steps": cfg.steps, "seed": cfg.seed,
        "warmup_steps": cfg.warmup, "anchor": cfg.anchor, "anchor_lambda": cfg.anchor_schedule,
        "teacher": {"return_mean": setup.returns[0]}, "random": {"return_mean": setup.returns[1]},
        "export": {k: v for k, v in setup.export.items() if k != "sb3"},
        "entropy_temperature": round(setup.floor_t, 4), "start_entropy_share": setup.entropy_share,
        **done["student"], "config": cfg.to_dict(), "machine": machine()}
    result["warnings"] = advice(result, cfg.entropy_floor)
    if "scratch" in done:
        s = done["scratch"]
        level = result["normalized_score"]
        result["scratch"] = s
        result["steps_to_final"] = {"level": level, "student": steps_to(result["curve"], level),
                                    "scratch": steps_to(s["curve"], level)}
    if plot:
        result["plot"] = _plot(result, out / "curves.png")
    write_text(out / "result.json", json.dumps(result, indent=1) + "\n")
    (out / CKPT_NAME).unlink(missing_ok=True)
    return result


def _plot(result: dict[str, Any], path: Path) -> str | None:
    from rldistill.core.plots import line_plot

    series = {name: ([p["env_steps"] for p in c], [p["normalized_score"] for p in c])
              for name, c in (("fine-tuned", result["curve"]),
                              ("from scratch", result.get("scratch", {}).get("curve")))
              if c}
    png = line_plot(series, path, "env steps", "normalized score",
                    f"{result['env']} {result['algo']}: fine-tuning, seed {result['seed']}",
                    hlines=(result["start_normalized_score"], 1.0))
    return str(png) if png else None
