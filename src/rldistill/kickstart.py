"""Kick-starting: the student learns by RL on its own rollouts plus an annealed distillation term.

``rldistill kickstart`` trains a student with Stable-Baselines3's own PPO or DQN, whose loss gets
one extra term, ``lambda_t * distillation``, computed on the observations of each minibatch:

- PPO (Schmitt et al. 2018, "Kickstarting deep RL"): ``lambda_t * KL(teacher || student)`` between
  the teacher's action distribution (softmax of its logits, or softmax(Q / tau), tau = 0.01, for a
  Q-value teacher, as in :mod:`rldistill.losses`) and the student's action distribution, added to
  the clipped-surrogate + value + entropy loss before the gradient clipping.
- DQN (QDagger, Agarwal et al. 2022): ``lambda_t * KL(softmax(Q_T / tau) || softmax(Q_S / tau))``
  added to the Huber TD loss on each replay batch (for a logits teacher, softmax(logits) against
  softmax(Q_S)). QDagger's offline pre-training phase on the teacher's replay data is not done.

``lambda_t`` follows a schedule (:func:`parse_lambda`). The subclasses only override ``train()``
(a copy of SB3 2.9's, with the added term) and exclude the teacher and schedule from what
``save()`` pickles, so ``student_sb3.zip`` is a plain SB3 zip: ``PPO.load`` / ``DQN.load`` open
it and can keep training. The student's acting net is also written in the rldistill student
format (``student.safetensors`` + ``student.json``): the SB3 student is built with ReLU and
``net_arch=dict(pi=H, vf=H)`` so that its actor maps exactly onto ``Student(obs_dim, H, n)``.

``--compare-scratch`` trains the same algorithm with the same hyperparameters and seed at
lambda = 0 and reports, for both, the env steps until the normalized score reaches 0.9
(evaluated every ``--eval-every`` env steps) and the final normalized score.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rldistill.errors import UserError

if TYPE_CHECKING:
    import torch

ALGOS = ("ppo", "dqn")
TARGET = 0.9  # steps_to_90: first evaluation with normalized score >= TARGET


# ---------------------------------------------------------------------------------- schedules


@dataclass(frozen=True)
class LambdaSchedule:
    """lambda as a function of env steps (and, for ``return-ratio``, of the recent returns).

    - ``constant:L``            L throughout
    - ``linear:L0:STEPS``       L0 at step 0, falling linearly to 0 at STEPS env steps, then 0
    - ``exp:L0:HALF_LIFE``      L0 * 0.5 ** (step / HALF_LIFE)
    - ``return-ratio[:CUTOFF]`` QDagger: max(1 - G_student / G_teacher, 0), capped at 1, with the
      returns measured from the random policy's (so that negative returns work: on LunarLander
      random ~ -180); G_student is the mean of the last 20 training episodes; 1 before the first
      episode ends; 0 from CUTOFF env steps on (no cutoff when omitted).
    """

    kind: str
    a: float = 0.0
    b: float = 0.0  # linear: steps; exp: half-life; return-ratio: cutoff (inf for none)

    def __call__(self, step: int, g_student: float | None = None, g_teacher: float | None = None,
                 g_random: float = 0.0) -> float:
        if self.kind == "constant":
            return self.a
        if self.kind == "linear":
            return self.a * max(0.0, 1.0 - step / self.b)
        if self.kind == "exp":
            return self.a * 0.5 ** (step / self.b)
        # return-ratio
        if step >= self.b:
            return 0.0
        if g_student is None or g_teacher is None:
            return 1.0
        gap = g_teacher - g_random
        if gap <= 0:
            return 0.0
        return float(min(max(1.0 - (g_student - g_random) / gap, 0.0), 1.0))


def parse_lambda(text: str) -> LambdaSchedule:
    """Parse a ``--lambda`` schedule (see :class:`LambdaSchedule`); a bare number is constant."""
    s = str(text).strip()
    parts = s.split(":")
    try:
        if len(parts) == 1 and parts[0] != "return-ratio":
            sched = LambdaSchedule("constant", float(parts[0]))
        elif parts[0] == "constant" and len(parts) == 2:
            sched = LambdaSchedule("constant", float(parts[1]))
        elif parts[0] in ("linear", "exp") and len(parts) == 3:
            sched = LambdaSchedule(parts[0], float(parts[1]), float(parts[2]))
            if not sched.b > 0 or not math.isfinite(sched.b):
                raise UserError(f"--lambda {s!r}: the step count / half-life must be a positive "
                                "number of env steps, e.g. linear:1:100000")
        elif parts[0] == "return-ratio" and len(parts) in (1, 2):
            cutoff = float(parts[1]) if len(parts) == 2 else math.inf
            if not cutoff > 0:
                raise UserError(f"--lambda {s!r}: the cutoff must be a positive number of env "
                                "steps, e.g. return-ratio:200000")
            sched = LambdaSchedule("return-ratio", 1.0, cutoff)
        else:
            raise ValueError
    except ValueError:
        raise UserError(f"--lambda {s!r} is not a schedule: write constant:L, linear:L0:STEPS, "
                        "exp:L0:HALF_LIFE or return-ratio[:CUTOFF_STEPS]") from None
    if not (math.isfinite(sched.a) and sched.a >= 0):
        raise UserError(f"--lambda {s!r} has a weight that is negative or not finite: lambda "
                        "must be >= 0")
    return sched


# ----------------------------------------------------------------------- SB3 algorithm subclasses


class _DistillMixin:
    """Teacher, schedule and their bookkeeping; none of it is pickled by ``save()``."""

    _KS_ATTRS = ["ks_teacher", "ks_lambda", "ks_temperature", "ks_returns", "ks_last"]

    def __init__(self, *args: Any, teacher: Any = None, lam: LambdaSchedule | None = None,
                 temperature: float | None = None, returns: tuple[float, float] | None = None,
                 **kwargs: Any) -> None:
        self._ks_setup(teacher, lam, temperature, returns)
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]

    def _ks_setup(self, teacher: Any | None, lam: LambdaSchedule | None,
                  temperature: float | None, returns: tuple[float, float] | None) -> None:
        from rldistill.losses import default_temperature

        self.ks_teacher = teacher
        self.ks_lambda = lam or LambdaSchedule("constant", 0.0)
        self.ks_temperature = temperature or (default_temperature(teacher.kind) if teacher
                                              else 1.0)
        self.ks_returns = returns  # (teacher, random) returns for return-ratio
        self.ks_last: dict[str, float] = {}

    def _ks_log(self, lam: float, distill_losses: list[float]) -> None:
        """Record this update's lambda and mean distillation KL (``ks_last`` and the logger)."""
        import numpy as np

        self.ks_last = {"lambda": lam}
        if distill_losses:
            self.ks_last["distill_kl"] = float(np.mean(distill_losses))
        for k, v in self.ks_last.items():
            self.logger.record(f"kickstart/{k}", v)  # type: ignore[attr-defined]

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), *self._KS_ATTRS]  # type: ignore[misc]

    def current_lambda(self) -> float:
        g_s = None
        buf = getattr(self, "ep_info_buffer", None)
        if buf:
            g_s = float(np.mean([e["r"] for e in list(buf)[-20:]]))
        g_t, g_r = self.ks_returns or (None, 0.0)
        return float(self.ks_lambda(self.num_timesteps, g_s, g_t, g_r))  # type: ignore[attr-defined]

    def _distill_term(self, student_logits: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """KL(teacher || student) on ``obs``, batch mean (losses.kl: T^2-scaled for logits)."""
        from rldistill.losses import kl

        target = self.ks_teacher.outputs(obs.float()).clone()
        loss, _ = kl(student_logits, target, self.ks_temperature, self.ks_teacher.kind)
        return loss


def _kickstart_ppo_class() -> type:
    import torch
    import torch.nn.functional as F
    from gymnasium import spaces
    from stable_baselines3 import PPO
    from stable_baselines3.common.utils import explained_variance

    class KickstartPPO(_DistillMixin, PPO):
        """SB3 PPO whose loss is PPO's + lambda_t * KL(teacher || student) on each minibatch."""

        def train(self) -> None:  # SB3 2.9.2 PPO.train + the distillation term (marked ##)
            th = torch
            self.policy.set_training_mode(True)
            self._update_learning_rate(self.policy.optimizer)
            clip_range = self.clip_range(self._current_progress_remaining)
            if self.clip_range_vf is not None:
                clip_range_vf = self.clip_range_vf(self._current_progress_remaining)
            lam = self.current_lambda()  ##
            entropy_losses, pg_losses, value_losses, clip_fractions = [], [], [], []
            distill_losses: list[float] = []  ##
            continue_training = True
            for epoch in range(self.n_epochs):
                approx_kl_divs = []
                for rollout_data in self.rollout_buffer.get(self.batch_size):
                    actions = rollout_data.actions
                    if isinstance(self.action_space, spaces.Discrete):
                        actions = rollout_data.actions.long().flatten()
                    values, log_prob, entropy = self.policy.evaluate_actions(
                        rollout_data.observations, actions)
                    values = values.flatten()
                    advantages = rollout_data.advantages
                    if self.normalize_advantage and len(advantages) > 1:
                        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                    ratio = th.exp(log_prob - rollout_data.old_log_prob)
                    policy_loss_1 = advantages * ratio
                    policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                    policy_loss = -th.min(policy_loss_1, policy_loss_2).mean()
                    pg_losses.append(policy_loss.item())
                    clip_fraction = th.mean((th.abs(ratio - 1) > clip_range).float()).item()
                    clip_fractions.append(clip_fraction)
                    if self.clip_range_vf is None:
                        values_pred = values
                    else:
                        values_pred = rollout_data.old_values + th.clamp(
                            values - rollout_data.old_values, -clip_range_vf, clip_range_vf)
                    value_loss = F.mse_loss(rollout_data.returns, values_pred)
                    value_losses.append(value_loss.item())
                    if entropy is None:
                        entropy_loss = -th.mean(-log_prob)
                    else:
                        entropy_loss = -th.mean(entropy)
                    entropy_losses.append(entropy_loss.item())
                    loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                    if self.ks_teacher is not None:  ##
                        obs = rollout_data.observations
                        logits = self.policy.get_distribution(obs).distribution.logits
                        distill = self._distill_term(logits, obs)
                        distill_losses.append(distill.item())
                        loss = loss + lam * distill
                    with th.no_grad():
                        log_ratio = log_prob - rollout_data.old_log_prob
                        approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                        approx_kl_divs.append(approx_kl_div)
                    if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                        continue_training = False
                        break
                    self.policy.optimizer.zero_grad()
                    loss.backward()
                    th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                    self.policy.optimizer.step()
                self._n_updates += 1
                if not continue_training:
                    break
            explained_var = explained_variance(self.rollout_buffer.values.flatten(),
                                               self.rollout_buffer.returns.flatten())
            self.logger.record("train/entropy_loss", np.mean(entropy_losses))
            self.logger.record("train/policy_gradient_loss", np.mean(pg_losses))
            self.logger.record("train/value_loss", np.mean(value_losses))
            self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
            self.logger.record("train/clip_fraction", np.mean(clip_fractions))
            self.logger.record("train/loss", loss.item())
            self.logger.record("train/explained_variance", explained_var)
            self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
            self.logger.record("train/clip_range", clip_range)
            if self.clip_range_vf is not None:
                self.logger.record("train/clip_range_vf", clip_range_vf)
            self._ks_log(lam, distill_losses)  ##

    return KickstartPPO


def _kickstart_dqn_class() -> type:
    import torch
    import torch.nn.functional as F
    from stable_baselines3 import DQN

    class KickstartDQN(_DistillMixin, DQN):
        """SB3 DQN whose loss is the Huber TD loss + lambda_t * distillation (QDagger)."""

        def train(self, gradient_steps: int, batch_size: int = 100) -> None:  # SB3 2.9.2 + ##
            th = torch
            self.policy.set_training_mode(True)
            self._update_learning_rate(self.policy.optimizer)
            lam = self.current_lambda()  ##
            losses, distill_losses = [], []
            for _ in range(gradient_steps):
                replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
                discounts = (replay_data.discounts if replay_data.discounts is not None
                             else self.gamma)
                with th.no_grad():
                    next_q_values = self.q_net_target(replay_data.next_observations)
                    next_q_values, _ = next_q_values.max(dim=1)
                    next_q_values = next_q_values.reshape(-1, 1)
                    target_q_values = (replay_data.rewards
                                       + (1 - replay_data.dones) * discounts * next_q_values)
                all_q_values = self.q_net(replay_data.observations)
                current_q_values = th.gather(all_q_values, dim=1,
                                             index=replay_data.actions.long())
                loss = F.smooth_l1_loss(current_q_values, target_q_values)
                losses.append(loss.item())
                if self.ks_teacher is not None:  ##
                    # the student's policy is softmax(Q_S / tau), the same tau as the teacher's
                    student_logits = (all_q_values / self.ks_temperature
                                      if self.ks_teacher.kind == "q" else all_q_values)
                    distill = self._distill_term(student_logits, replay_data.observations)
                    distill_losses.append(distill.item())
                    loss = loss + lam * distill
                self.policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()
            self._n_updates += gradient_steps
            self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
            self.logger.record("train/loss", np.mean(losses))
            self._ks_log(lam, distill_losses)  ##

    return KickstartDQN


def algo_class(algo: str) -> type:
    """The SB3 subclass with the distillation term for ``algo`` ("ppo" or "dqn")."""
    if algo == "ppo":
        return _kickstart_ppo_class()
    if algo == "dqn":
        return _kickstart_dqn_class()
    raise UserError(f"unknown --algo {algo!r} for kickstart: choose ppo or dqn")


def sb3_kwargs(algo: str, env_id: str, hidden: tuple[int, ...]) -> tuple[int, dict[str, Any]]:
    """RL-Zoo hyperparameters (``zoo.hyperparams.lookup``) with the student's net and ReLU.

    Linear schedules become SB3's own ``LinearSchedule`` so that the saved zip pickles only SB3
    classes (the zoo's lambdas would pickle code from rldistill).
    """
    from stable_baselines3.common.utils import LinearSchedule
    from torch import nn

    from rldistill.zoo.hyperparams import HYPERPARAMS, lookup

    n_envs, kwargs = lookup(algo, env_id)
    raw = HYPERPARAMS[algo].get(env_id, (n_envs, {}))[1]
    for k, v in raw.items():
        if isinstance(v, tuple) and len(v) == 2 and v[0] == "lin":
            kwargs[k] = LinearSchedule(float(v[1]), 0.0, 1.0)
    pk = dict(kwargs.pop("policy_kwargs", {}) or {})
    pk["activation_fn"] = nn.ReLU
    pk["net_arch"] = dict(pi=list(hidden), vf=list(hidden)) if algo == "ppo" else list(hidden)
    kwargs["policy_kwargs"] = pk
    return n_envs, kwargs


# ---------------------------------------------------------------------- SB3 <-> rldistill student


def to_student(model: Any) -> Any:
    """The SB3 model's acting net as an rldistill :class:`Student` (same outputs, same actions).

    PPO: mlp_extractor.policy_net + action_net (logits); DQN: q_net (Q-values). The hidden
    activations must be ReLU, as the Student's are.
    """
    import torch
    from torch import nn

    from rldistill.students import Student, StudentArch

    policy = model.policy
    if hasattr(policy, "q_net"):
        seq = list(policy.q_net.q_net)
    else:
        seq = [*policy.mlp_extractor.policy_net, policy.action_net]
    linears = [m for m in seq if isinstance(m, nn.Linear)]
    acts = [m for m in seq if not isinstance(m, nn.Linear)]
    if any(not isinstance(a, nn.ReLU) for a in acts):
        raise UserError("the SB3 student does not use ReLU activations, so it does not map onto "
                        "an rldistill Student: build it with activation_fn=torch.nn.ReLU")
    arch = StudentArch(linears[0].in_features, tuple(m.out_features for m in linears[:-1]),
                       linears[-1].out_features)
    student = Student(arch)
    dst = [m for m in student.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for d, s in zip(dst, linears):
            d.weight.copy_(s.weight)
            d.bias.copy_(s.bias)
    student.eval()
    return student


def load_into(model: Any, student: Any) -> None:
    """Copy an rldistill :class:`Student`'s layers into the SB3 model's acting net (the inverse
    of :func:`to_student`; DQN's target net gets the same weights)."""
    import torch
    from torch import nn

    policy = model.policy
    if hasattr(policy, "q_net"):
        dst = [m for m in policy.q_net.q_net if isinstance(m, nn.Linear)]
    else:
        dst = [m for m in [*policy.mlp_extractor.policy_net, policy.action_net]
               if isinstance(m, nn.Linear)]
    src = [m for m in student.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for d, s_ in zip(dst, src, strict=True):
            d.weight.copy_(s_.weight)
            d.bias.copy_(s_.bias)
    if hasattr(policy, "q_net_target"):
        policy.q_net_target.load_state_dict(policy.q_net.state_dict())


def teacher_hidden(teacher: Any) -> tuple[int, ...]:
    """Hidden widths of the teacher's acting net (every Linear's output but the last)."""
    from torch import nn

    linears = [m for m in teacher.net.modules() if isinstance(m, nn.Linear)]
    return tuple(m.out_features for m in linears[:-1])


# ---------------------------------------------------------------------------------- training


def _eval_callback(env_id: str, every: int, episodes: int, seed: int, t_ret: float,
                   r_ret: float, offset: int = 0) -> Any:
    """Evaluates the greedy student on fixed seeds at step 0, then at the first rollout start
    (after the update on the data so far) at least ``every`` env steps after the last eval, and
    at the end. For PPO the resolution is one rollout (n_steps x n_envs env steps)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class EvalEvery(BaseCallback):
        def __init__(self, env_id: str, every: int, episodes: int, seed: int,
                     t_ret: float, r_ret: float) -> None:
            super().__init__()
            self.env_id, self.every, self.episodes, self.seed = env_id, every, episodes, seed
            self.t_ret, self.r_ret = t_ret, r_ret
            self.curve: list[dict[str, float]] = []
            self.next_eval = 0

        def evaluate(self) -> None:
            from rldistill.evaluate import evaluate_policy, normalized_score

            res = evaluate_policy(to_student(self.model), self.env_id, self.episodes,
                                  self.seed)
            norm = normalized_score(res.mean, self.t_ret, self.r_ret)
            point = {"step": offset + int(self.model.num_timesteps),
                     "return": round(res.mean, 2),
                     "normalized": None if norm is None else round(norm, 4)}
            point.update({k: round(v, 5) for k, v in self.model.ks_last.items()})
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
                    self.next_eval += self.every

        def _on_step(self) -> bool:
            return True

        def _on_training_end(self) -> None:
            if not self.curve or self.curve[-1]["step"] != offset + self.model.num_timesteps:
                self.evaluate()

    return EvalEvery(env_id, every, episodes, seed, t_ret, r_ret)


def steps_to(curve: list[dict[str, Any]], target: float = TARGET) -> int | None:
    """Env steps at the first evaluation whose normalized score is >= ``target``."""
    for p in curve:
        if p["normalized"] is not None and p["normalized"] >= target:
            return int(p["step"])
    return None


def train_one(algo: str, env_id: str, teacher: Any, hidden: tuple[int, ...], steps: int,
              lam: LambdaSchedule, seed: int, returns: tuple[float, float], eval_every: int,
              eval_episodes: int, eval_seed: int, temperature: float | None = None,
              tb_dir: str | None = None, tb_name: str = "run", pretrain: int = 0
              ) -> tuple[Any, list[dict]]:
    """Train one student (lambda schedule ``lam``; constant 0 = from scratch); model + curve.

    ``pretrain`` > 0 (QDagger's offline phase, Agarwal et al. 2022): first distil the teacher
    into the student's acting net with rldistill's own loop for that many labelled env steps
    (student-driven), then run RL for ``steps - pretrain`` steps; the curve counts both.
    """
    from stable_baselines3.common.env_util import make_vec_env

    n_envs, kwargs = sb3_kwargs(algo, env_id, hidden)
    venv = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    model = algo_class(algo)("MlpPolicy", venv, seed=seed, verbose=0, teacher=teacher, lam=lam,
                             temperature=temperature, returns=returns, tensorboard_log=tb_dir,
                             device="cpu", **kwargs)
    if pretrain:
        import tempfile

        from rldistill.config import DistillConfig
        from rldistill.distill import train

        with tempfile.TemporaryDirectory() as tmp:
            cfg = DistillConfig(teacher=teacher.name, env=env_id, budget=pretrain, seed=seed,
                                student_hidden=",".join(map(str, hidden)), out=tmp,
                                temperature=temperature)
            load_into(model, train(cfg, teacher=teacher).student)
    cb = _eval_callback(env_id, eval_every, eval_episodes, eval_seed, *returns, offset=pretrain)
    model.learn(total_timesteps=steps - pretrain, callback=cb, tb_log_name=tb_name)
    venv.close()
    return model, cb.curve


def run(teacher_spec: str, env_id: str, algo: str, steps: int, lam_text: str,
        hidden: str | None = None, compare_scratch: bool = False, seed: int = 0,
        out: str | Path = "runs/kickstart", eval_every: int = 10_000, eval_episodes: int = 10,
        final_episodes: int = 30, temperature: float | None = None, trust: bool = False,
        overwrite: bool = False, plot: bool = True, pretrain: int = 0) -> dict[str, Any]:
    """Kick-start a student (and optionally the same run from scratch); write DIR; the result."""
    import torch

    from rldistill.envs import check_match, env_spec
    from rldistill.evaluate import RandomActor, evaluate_policy, score_student
    from rldistill.students import parse_hidden, save_student
    from rldistill.teachers import load_teacher

    if algo not in ALGOS:
        raise UserError(f"unknown --algo {algo!r} for kickstart: choose ppo or dqn")
    if steps <= 0:
        raise UserError(f"--steps must be positive, got {steps}")
    if not 0 <= pretrain < steps:
        raise UserError(f"--pretrain {pretrain} must be >= 0 and below --steps {steps}")
    if eval_every <= 0 or eval_episodes <= 0 or final_episodes <= 0:
        raise UserError("--eval-every, --eval-episodes and --final-episodes must be positive")
    if temperature is not None and temperature <= 0:
        raise UserError(f"--temperature must be > 0, got {temperature}")
    lam = parse_lambda(lam_text)
    teacher = load_teacher(teacher_spec, trust=trust)
    check_match(teacher.spec, env_spec(env_id), teacher.name, env_id)
    if len(teacher.spec.obs_shape) != 1:
        raise UserError(f"env {env_id} has observations of shape {teacher.spec.obs_shape}; "
                        "kickstart needs flat (1-D) observations")
    h = parse_hidden(hidden) if hidden is not None else teacher_hidden(teacher)
    out = Path(out)
    if (out / "student_sb3.zip").exists() and not overwrite:
        raise UserError(f"output dir {out} already holds a kickstart run: pass --overwrite to "
                        "replace it or --out to choose another dir")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"output dir {out} is not writable ({e.strerror}): pass --out with a "
                        "writable dir") from None
    torch.set_num_threads(1)

    eval_seed = 1_000_000
    t_ev = evaluate_policy(teacher, env_id, eval_episodes, eval_seed)
    r_ev = evaluate_policy(RandomActor(teacher.spec.n_actions, eval_seed), env_id,
                           eval_episodes, eval_seed)
    returns = (t_ev.mean, r_ev.mean)
    import importlib.util

    tb_dir = str(out / "tb") if importlib.util.find_spec("tensorboard") else None

    runs = [("student", lam)] + ([("scratch", LambdaSchedule("constant", 0.0))]
                                 if compare_scratch else [])
    result: dict[str, Any] = {
        "env": env_id, "algo": algo, "lambda": lam_text, "steps": steps, "seed": seed,
        "pretrain": pretrain,
        "eval_every": eval_every, "eval_episodes": eval_episodes,
        "teacher": {"name": teacher.name, "kind": teacher.kind, "params": teacher.params,
                    "hidden": list(teacher_hidden(teacher)),
                    "eval_return_mean": round(t_ev.mean, 3)},
        "random": {"eval_return_mean": round(r_ev.mean, 3)},
    }
    cache: dict = {}
    for name, sched in runs:
        t0 = time.perf_counter()
        model, curve = train_one(algo, env_id, teacher, h, steps, sched, seed, returns,
                                 eval_every, eval_episodes, eval_seed, temperature, tb_dir,
                                 name, pretrain=pretrain if name == "student" else 0)
        wall = time.perf_counter() - t0
        stem = "student" if name == "student" else "scratch"
        model.save(out / f"{stem}_sb3.zip")
        student = to_student(model)
        score = score_student(student, teacher, env_id, final_episodes, eval_seed + 100_000,
                              cache=cache)
        save_student(student, out, {"env": env_id, "source": "kickstart", "algo": algo,
                                    "config": {"teacher": teacher_spec, "lambda": lam_text
                                               if name == "student" else "constant:0",
                                               "steps": steps, "seed": seed}}, stem=stem)
        result[name] = {
            "hidden": list(h), "params": student.params,
            "steps_to_90": steps_to(curve),
            "normalized_score": score["normalized_score"],
            "final_return_mean": score["student"]["return_mean"],
            "final_return_ci95": score["student"]["return_ci95"],
            "agreement": score["agreement"], "final_episodes": final_episodes,
            "last_eval_normalized": curve[-1]["normalized"] if curve else None,
            "train_wall_s": round(wall, 1), "curve": curve,
        }
        result["teacher"]["final_return_mean"] = score["teacher"]["return_mean"]
        result["random"]["final_return_mean"] = score["random"]["return_mean"]
    if compare_scratch:
        a, b = result["student"]["steps_to_90"], result["scratch"]["steps_to_90"]
        result["speedup"] = round(b / a, 3) if a and b else None
        # scratch never got there: the speedup is at least steps / student's steps
        result["speedup_lower_bound"] = (round(steps / a, 3) if a and b is None else None)
        # the scratch run's final level (last eval): when did each run first reach it?
        level = result["scratch"]["last_eval_normalized"]
        if level is not None:
            sa = steps_to(result["student"]["curve"], level)
            sb = steps_to(result["scratch"]["curve"], level)
            result["match_scratch_final"] = {
                "level": level, "student_steps": sa, "scratch_steps": sb,
                "speedup": round(sb / sa, 3) if sa and sb else None}
    if plot:
        result["plot"] = _plot(result, out / "curves.png")
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def _plot(result: dict[str, Any], path: Path) -> str | None:
    """Normalized score vs env steps (matplotlib, Agg); None if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in ("student", "scratch"):
        if name in result:
            c = result[name]["curve"]
            ax.plot([p["step"] for p in c], [p["normalized"] for p in c], marker=".",
                    label="kick-started" if name == "student" else "from scratch")
    ax.axhline(TARGET, ls="--", c="grey", lw=0.8)
    ax.axhline(1.0, ls=":", c="grey", lw=0.8)
    ax.set_xlabel("env steps")
    ax.set_ylabel("normalized score")
    ax.set_title(f"{result['env']} {result['algo']}: lambda {result['lambda']}, "
                 f"seed {result['seed']}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


# ------------------------------------------------------------------------------------- CLI


def _cmd(args: argparse.Namespace) -> int:
    result = run(args.teacher, args.env, args.algo, args.steps, args.lam, args.student_hidden,
                 args.compare_scratch, args.seed, args.out, args.eval_every, args.eval_episodes,
                 args.final_episodes, args.temperature, args.trust_teacher, args.overwrite,
                 pretrain=args.pretrain)
    result["command"] = "rldistill kickstart " + shlex.join(sys.argv[2:] if len(sys.argv) > 1
                                                            and sys.argv[1] == "kickstart"
                                                            else sys.argv[1:])
    (Path(args.out) / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    if args.json:
        print(json.dumps(result))
        return 0
    for name in ("student", "scratch"):
        if name in result:
            r = result[name]
            print(f"{name:8s} steps_to_90={r['steps_to_90']} normalized={r['normalized_score']} "
                  f"return={r['final_return_mean']} (teacher "
                  f"{result['teacher']['final_return_mean']}) wall={r['train_wall_s']} s")
    if "speedup" in result:
        print(f"speedup {result['speedup']} (lower bound {result['speedup_lower_bound']})")
    print(f"wrote {args.out}/student_sb3.zip, student.safetensors, result.json")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``rldistill kickstart`` on the CLI's subparsers."""
    k = subparsers.add_parser(
        "kickstart", help="train a student by RL (SB3 PPO/DQN) + annealed distillation",
        description="Kick-starting: SB3 PPO (or DQN, QDagger-style) on the student's own "
                    "rollouts, plus lambda x KL(teacher || student) on each minibatch.")
    k.add_argument("--teacher", required=True, help="zoo:NAME or an SB3 .zip")
    k.add_argument("--env", required=True, help="Gymnasium env id")
    k.add_argument("--algo", required=True, choices=ALGOS)
    k.add_argument("--student-hidden", default=None,
                   help="student widths, e.g. 64,64 (default: the teacher's)")
    k.add_argument("--steps", type=int, required=True, help="env steps of RL training")
    k.add_argument("--lambda", dest="lam", required=True, metavar="SCHEDULE",
                   help="constant:L, linear:L0:STEPS, exp:L0:HALF_LIFE, "
                        "return-ratio[:CUTOFF_STEPS]")
    k.add_argument("--compare-scratch", action="store_true",
                   help="also train from scratch (lambda = 0, same seed and hyperparameters)")
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--out", default="runs/kickstart")
    k.add_argument("--json", action="store_true", help="print the result as one JSON line")
    k.add_argument("--eval-every", type=int, default=10_000, help="env steps between evals")
    k.add_argument("--eval-episodes", type=int, default=10, help="episodes per eval")
    k.add_argument("--final-episodes", type=int, default=30,
                   help="episodes of the final score (student, teacher, random)")
    k.add_argument("--pretrain", type=int, default=0, metavar="N",
                   help="first distil the teacher for N labelled env steps with rldistill's loop "
                        "(QDagger's offline phase); they count towards --steps")
    k.add_argument("--temperature", type=float, default=None,
                   help="teacher temperature (default 0.01 for Q teachers, 1 for logits)")
    k.add_argument("--trust-teacher", action="store_true")
    k.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    k.set_defaults(func=_cmd)
    return k


def main(argv: list[str] | None = None) -> int:
    """``python -m rldistill.kickstart ARGS`` = ``rldistill kickstart ARGS``."""
    p = argparse.ArgumentParser(prog="rldistill")
    add_parser(p.add_subparsers(dest="cmd", required=True))
    args = p.parse_args(["kickstart", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args))
    except UserError as e:
        print(f"rldistill: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
