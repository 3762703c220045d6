"""Online distillation (Rusu et al. 2015): the teacher learns from scratch with SB3 while the
student distils from the teacher's *current* outputs.

The teacher is an ordinary SB3 model (zoo hyperparameters) trained by one ``model.learn``
(its schedules run over all of ``--teacher-steps``); an SB3 callback runs a round of the one
loop (:meth:`~rldistill.engine.loop.Loop.run_round`) every ``teacher_steps / rounds`` teacher
env steps, with :class:`LearningTeacher` as its hook: the buffer is relabelled by the current
teacher, new states are collected (by the ``driver``) and labelled, and the student trains on
the lot. Each round records the teacher's and the student's return (``curves`` in the result,
``curves.png``).

Each checkpoint holds the teacher beside the loop: its weights and optimizer
(``checkpoint-teacher.zip``, SB3's own format, read back with ``set_parameters``, which unpickles
nothing), its counters and, for DQN, its replay buffer (``checkpoint-replay.npz``, plain arrays).
A resumed run is not bit-exact: SB3 cannot save its envs' states, so the teacher's envs restart
from a reset (benchmarks/measured/engine/ measures the effect)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rldistill.core.config import DistillConfig
from rldistill.engine.checkpoint import CKPT_NAME, load_checkpoint
from rldistill.engine.loop import Callback, Loop, Progress
from rldistill.engine.state import Hook
from rldistill.envs.make import check_masks, env_spec, spec_of, task_env
from rldistill.core.errors import UserError
from rldistill.evaluation import seeds
from rldistill.evaluation.rollouts import evaluate_policy
from rldistill.core.files import atomic_write
from rldistill.sources.base import NetTeacher

# episodes of teacher and student after each round (the curves), at most --eval-episodes
CURVE_EPISODES = 10
TEACHER_CKPT = "checkpoint-teacher.zip"
NORM_CKPT = "checkpoint-vecnormalize.pkl"
REPLAY_CKPT = "checkpoint-replay.npz"
_COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "_n_calls")
_REPLAY = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


class _LiveNorm(nn.Module):
    """The learning teacher's VecNormalize as it is now (its statistics keep moving)."""

    def __init__(self, venv: Any) -> None:
        super().__init__()
        self.venv = venv

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.venv.normalize_obs(obs.numpy()), dtype=torch.float32)


def live_teacher(model: Any, name: str) -> NetTeacher:
    """An SB3 model as a teacher that answers with its current (still learning) weights and,
    if it trains on VecNormalize, its current statistics (the student then learns from raw
    observations without a normalisation layer: the statistics move); ``params`` counts its
    acting path only (no value net, no target net)."""
    from rldistill.sources.sb3_policy import acting_net, acting_params

    spec = spec_of(model.observation_space, model.action_space, f"teacher {name}")
    net, kind = acting_net(model.policy, spec.action)
    venv = model.get_env()
    if hasattr(venv, "normalize_obs") and getattr(venv, "norm_obs", False):
        net = nn.Sequential(_LiveNorm(venv), net)
    return NetTeacher(name, kind, spec, net, params=acting_params(model.policy), frozen=False)


def train_online(cfg: DistillConfig, progress: Progress | None = None, resume: bool = False,
                 callbacks: tuple[Callback, ...] = ()) -> tuple[Loop, list[dict[str, Any]], Any]:
    """Train the teacher (``cfg.teacher_train``) for ``cfg.teacher_steps`` env steps and distil
    it into the student in ``rounds`` rounds along the way (:class:`LearningTeacher`, the hook
    of :meth:`Loop.run`); returns the loop, the learning curves and the SB3 model."""
    from rldistill.drivers.teacher_train import make_model
    from rldistill.zoo.hyperparams import ALGOS

    if cfg.teacher_train not in ALGOS:
        raise UserError(f"unknown --teacher-train {cfg.teacher_train!r}: choose one of "
                        f"{', '.join(ALGOS)}")
    env_id = cfg.tasks[0][1]
    env_spec(env_id)  # unknown ids and spaces without a head: one-line errors before SB3 asserts
    check_masks(cfg, None, env_id)  # the SB3 teacher would learn, and relabel, unmasked
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    # the teacher's envs as the loop's: --env-wrapper, --frame-stack and --env-module
    env_id = task_env(env_id, None, cfg)
    model, _ = make_model(str(cfg.teacher_train), env_id, cfg.seed)
    online: dict[str, Any] = _restore_teacher(model, run_dir) if resume else {
        "curves": [], "distill_s": 0.0}
    teacher = live_teacher(model, f"{cfg.teacher_train} (trained online)")
    loop = (Loop.resume(cfg, [teacher], run_dir, callbacks) if resume
            else Loop(cfg, [teacher], callbacks))
    hook = LearningTeacher(model, teacher, env_id, online)
    every = max(1, cfg.teacher_steps // loop.n_rounds)

    from stable_baselines3.common.callbacks import BaseCallback

    class Rounds(BaseCallback):  # type: ignore[misc]
        """A round of the loop whenever the teacher has taken its next ``every`` steps."""

        def _on_step(self) -> bool:
            while not loop.done and self.num_timesteps >= (loop.round + 1) * every:
                loop.run_round(run_dir, [hook], progress)
            return not loop.interrupted

    with loop.interruptible():
        left = cfg.teacher_steps - model.num_timesteps
        if left > 0:
            model.learn(total_timesteps=left, callback=Rounds(),
                        reset_num_timesteps=model.num_timesteps == 0)
        loop.stop_if_interrupted(run_dir, [hook])
        while not loop.done:  # rounding left some: the final teacher's
            loop.run_round(run_dir, [hook], progress)
    model.policy.set_training_mode(False)
    return loop, online["curves"], model


class LearningTeacher(Hook):
    """The hook of online distillation (SB3's ``learn`` calls the rounds as its teacher
    learns): before each round the buffer is relabelled by the current teacher; after it the
    curves get the teacher's and the student's return; every checkpoint saves the teacher
    (weights, optimizer, counters, replay buffer)."""

    def __init__(self, model: Any, teacher: NetTeacher, env_id: str,
                 online: dict[str, Any]) -> None:
        self.model, self.teacher, self.env_id, self.online = model, teacher, env_id, online
        self._t0 = 0.0

    def before_round(self, loop: Loop) -> None:
        self._t0 = time.perf_counter()
        self.model.policy.set_training_mode(False)
        loop.relabel()

    def after_round(self, loop: Loop, metrics: Any) -> None:
        self.online["distill_s"] += time.perf_counter() - self._t0
        seed = seeds.per_round(loop.cfg.seed)
        episodes = min(CURVE_EPISODES, loop.cfg.eval_episodes)
        t_ev = evaluate_policy(self.teacher, self.env_id, episodes, seed)
        s_ev = evaluate_policy(loop.student.for_task(0), self.env_id, episodes, seed,
                               reference=self.teacher)
        self.online["curves"].append({
            "teacher_steps": self.model.num_timesteps, "labelled_steps": loop.labelled,
            "teacher_return": round(t_ev.mean, 2), "student_return": round(s_ev.mean, 2),
            "agreement": round(float(s_ev.agreement or 0.0), 4),
            "distill_s": round(self.online["distill_s"], 3)})

    def checkpoint(self, loop: Loop, run_dir: Path) -> dict[str, Any]:
        _save_teacher(self.model, run_dir)
        return {"online": {**self.online, "counters": _counters(self.model)}}


def _counters(model: Any) -> dict[str, int]:
    return {k: int(getattr(model, k)) for k in _COUNTERS if hasattr(model, k)}


def _save_teacher(model: Any, run_dir: Path) -> None:
    atomic_write(run_dir / TEACHER_CKPT, lambda tmp: model.save(tmp))
    venv = model.get_env()
    if hasattr(venv, "obs_rms"):  # VecNormalize: its statistics, read back without unpickling
        atomic_write(run_dir / NORM_CKPT, lambda tmp: venv.save(str(tmp)))
    buf = getattr(model, "replay_buffer", None)
    if buf is not None:
        arrays = {k: getattr(buf, k) for k in _REPLAY if getattr(buf, k, None) is not None}
        arrays["pos_full"] = np.array([buf.pos, int(buf.full)])

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        atomic_write(run_dir / REPLAY_CKPT, write)


def _restore_teacher(model: Any, run_dir: Path) -> dict[str, Any]:
    """Weights, optimizer, counters and replay buffer of the checkpointed teacher; returns the
    checkpoint's online state (curves, distillation time)."""
    _, state = load_checkpoint(run_dir / CKPT_NAME)
    if "online" not in state or not (run_dir / TEACHER_CKPT).exists():
        raise UserError(f"--resume: the checkpoint in {run_dir} is not an online run's (or its "
                        f"{TEACHER_CKPT} is missing): start again with --overwrite")
    model.set_parameters(str(run_dir / TEACHER_CKPT), exact_match=True, device="cpu")
    venv = model.get_env()
    if hasattr(venv, "obs_rms") and (run_dir / NORM_CKPT).exists():
        from rldistill.sources.normalize import load_vecnormalize

        stats = load_vecnormalize(run_dir / NORM_CKPT)
        if stats is not None:
            venv.obs_rms.mean, venv.obs_rms.var = stats.mean.astype(np.float64), \
                stats.var.astype(np.float64)
            venv.obs_rms.count = stats.count
    for k, v in state["online"].pop("counters").items():
        setattr(model, k, v)
    buf = getattr(model, "replay_buffer", None)
    if buf is not None and (run_dir / REPLAY_CKPT).exists():
        with np.load(run_dir / REPLAY_CKPT, allow_pickle=False) as z:
            for k in _REPLAY:
                if k in z.files:
                    getattr(buf, k)[...] = z[k]
            buf.pos, buf.full = int(z["pos_full"][0]), bool(z["pos_full"][1])
    return dict(state["online"])
