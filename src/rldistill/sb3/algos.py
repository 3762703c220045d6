"""SB3's PPO and DQN with one extra loss term, ``lambda_t * distillation`` (kick-starting).

- PPO (Schmitt et al. 2018, "Kickstarting deep RL"): ``lambda_t * KL(teacher || student)``
  between the teacher's action distribution and the student's, on each minibatch's
  observations, added to the clipped-surrogate + value + entropy loss before gradient clipping.
- SAC: ``lambda_t * KL(teacher || student)`` between tanh-squashed Gaussians in pre-squash
  space, added to the actor loss on each replay batch;
- DQN (QDagger, Agarwal et al. 2022): ``lambda_t * KL(softmax(Q_T / tau) || softmax(Q_S / tau))``
  added to the Huber TD loss on each replay batch (for a logits teacher: softmax(logits)
  against softmax(Q_S)).

SB3 has no loss hook, so ``train()`` is a copy of SB3's own, kept to its text: every line that
differs ends in ``##`` (tests/test_kickstart.py checks the copy against the installed SB3, whose
version must lie in :data:`CHECKED`, the range pinned in pyproject.toml). PPO's copy makes one
forward pass per minibatch for both terms. The teacher and schedule are excluded from what
``save()`` pickles, so a saved student is a plain SB3 zip (``PPO.load`` / ``DQN.load``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import stable_baselines3
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN, PPO, SAC
from stable_baselines3.common.utils import explained_variance, polyak_update
from torch.nn import functional as F

from rldistill.errors import UserError
from rldistill.schedules import LambdaSchedule

CHECKED = ((2, 7), (2, 9))  # SB3 minor versions whose train() this copy was checked against


def check_sb3_version(version: str = stable_baselines3.__version__) -> None:
    major_minor = tuple(int(x) for x in version.split(".")[:2])
    if not CHECKED[0] <= major_minor <= CHECKED[1]:
        raise UserError(f"kick-starting copies SB3's train(), checked for SB3 "
                        f"{CHECKED[0][0]}.{CHECKED[0][1]}-{CHECKED[1][0]}.{CHECKED[1][1]}; "
                        f"stable-baselines3 {version} is installed: install a version in that "
                        "range (pip install -c constraints.txt -e .)")


class DistillMixin:
    """Teacher, lambda schedule and their bookkeeping; none of it is pickled by ``save()``."""

    _KS_ATTRS = ["ks_teacher", "ks_lambda", "ks_loss", "ks_returns", "ks_last"]

    def __init__(self, *args: Any, teacher: Any = None, lam: LambdaSchedule | None = None,
                 temperature: float | None = None, returns: tuple[float, float] | None = None,
                 **kwargs: Any) -> None:
        check_sb3_version()
        self.ks_teacher = teacher
        self.ks_lambda = lam or LambdaSchedule("constant", 0.0)
        self.ks_temperature = temperature or (teacher.head.default_temperature(teacher.kind)
                                              if teacher is not None else 1.0)
        self.ks_loss = (teacher.head.loss("kl", self.ks_temperature, teacher.kind)
                        if teacher is not None else None)
        self.ks_returns = returns  # (teacher, random) returns for return-ratio
        self.ks_last: dict[str, float] = {}
        super().__init__(*args, **kwargs)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), *self._KS_ATTRS]  # type: ignore[misc]

    def current_lambda(self) -> float:
        g_s = None
        buf = getattr(self, "ep_info_buffer", None)
        if buf:
            g_s = float(np.mean([e["r"] for e in list(buf)[-20:]]))
        g_t, g_r = self.ks_returns or (None, 0.0)
        return float(self.ks_lambda(self.num_timesteps, g_s, g_t, g_r))  # type: ignore[attr-defined]

    def _distill_term(self, student_out: th.Tensor, obs: th.Tensor) -> th.Tensor:
        """KL(teacher || student) on ``obs``, batch mean (the teacher head's kl loss)."""
        assert self.ks_loss is not None
        target = self.ks_teacher.outputs(obs).clone()
        return self.ks_loss(student_out, self.ks_loss.prepare(target))

    def _ks_log(self, lam: float, distill_losses: list[float]) -> None:
        """Record this update's lambda and mean distillation KL (``ks_last`` and the logger)."""
        self.ks_last = {"lambda": lam}
        if distill_losses:
            self.ks_last["distill_kl"] = float(np.mean(distill_losses))
        for k, v in self.ks_last.items():
            self.logger.record(f"kickstart/{k}", v)  # type: ignore[attr-defined]


class KickstartPPO(DistillMixin, PPO):
    """SB3 PPO whose loss is PPO's + lambda_t * KL(teacher || student) on each minibatch."""

    def _evaluate_actions(self, obs: th.Tensor, actions: th.Tensor) -> tuple[Any, ...]:
        """SB3's ``ActorCriticPolicy.evaluate_actions``, also returning the distribution, so
        that the PPO loss and the distillation term share one forward pass."""
        policy = self.policy
        features = policy.extract_features(obs)
        if policy.share_features_extractor:
            latent_pi, latent_vf = policy.mlp_extractor(features)
        else:
            pi_features, vf_features = features
            latent_pi = policy.mlp_extractor.forward_actor(pi_features)
            latent_vf = policy.mlp_extractor.forward_critic(vf_features)
        distribution = policy._get_action_dist_from_latent(latent_pi)
        return (policy.value_net(latent_vf), distribution.log_prob(actions),
                distribution.entropy(), distribution)

    def train(self) -> None:  # noqa: C901 - SB3's PPO.train, lines marked ## added
        """
        Update policy using the currently gathered rollout buffer.
        """
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update optimizer learning rate
        self._update_learning_rate(self.policy.optimizer)
        # Compute current clip range
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        # Optional: clip range for the value function
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]

        lam = self.current_lambda()  ##
        distill_losses: list[float] = []  ##
        entropy_losses = []
        pg_losses, value_losses = [], []
        clip_fractions = []

        continue_training = True
        # train for n_epochs epochs
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            # Do a complete pass on the rollout buffer
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                actions = rollout_data.actions
                if isinstance(self.action_space, spaces.Discrete):
                    # Convert discrete action from float to long
                    actions = rollout_data.actions.long().flatten()

                values, log_prob, entropy, dist = self._evaluate_actions(rollout_data.observations, actions)  ##
                values = values.flatten()
                # Normalize advantage
                advantages = rollout_data.advantages
                # Normalization does not make sense if mini batchsize == 1, see GH issue #325
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

                # ratio between old and new policy, should be one at the first iteration
                ratio = th.exp(log_prob - rollout_data.old_log_prob)

                # clipped surrogate loss
                policy_loss_1 = advantages * ratio
                policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -th.min(policy_loss_1, policy_loss_2).mean()

                # Logging
                pg_losses.append(policy_loss.item())
                clip_fraction = th.mean((th.abs(ratio - 1) > clip_range).float()).item()
                clip_fractions.append(clip_fraction)

                if self.clip_range_vf is None:
                    # No clipping
                    values_pred = values
                else:
                    # Clip the difference between old and new value
                    # NOTE: this depends on the reward scaling
                    values_pred = rollout_data.old_values + th.clamp(
                        values - rollout_data.old_values, -clip_range_vf, clip_range_vf
                    )
                # Value loss using the TD(gae_lambda) target
                value_loss = F.mse_loss(rollout_data.returns, values_pred)
                value_losses.append(value_loss.item())

                # Entropy loss favor exploration
                if entropy is None:
                    # Approximate entropy when no analytical form
                    entropy_loss = -th.mean(-log_prob)
                else:
                    entropy_loss = -th.mean(entropy)

                entropy_losses.append(entropy_loss.item())

                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                if self.ks_teacher is not None:  ##
                    student_out = self.ks_teacher.head.sb3_student_out(dist)  ##
                    distill = self._distill_term(student_out, rollout_data.observations)  ##
                    distill_losses.append(distill.item())  ##
                    loss = loss + lam * distill  ##

                # Calculate approximate form of reverse KL Divergence for early stopping
                # see issue #417: https://github.com/DLR-RM/stable-baselines3/issues/417
                # and discussion in PR #419: https://github.com/DLR-RM/stable-baselines3/pull/419
                # and Schulman blog: http://joschu.net/blog/kl-approx.html
                with th.no_grad():
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                    approx_kl_divs.append(approx_kl_div)

                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl_div:.2f}")
                    break

                # Optimization step
                self.policy.optimizer.zero_grad()
                loss.backward()
                # Clip grad norm
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())

        # Logs
        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(pg_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        self.logger.record("train/loss", loss.item())
        self.logger.record("train/explained_variance", explained_var)
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if self.clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)
        self._ks_log(lam, distill_losses)  ##


class KickstartDQN(DistillMixin, DQN):
    """SB3 DQN whose loss is the Huber TD loss + lambda_t * distillation (QDagger)."""

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:  # SB3's, ## added
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update learning rate according to schedule
        self._update_learning_rate(self.policy.optimizer)

        lam = self.current_lambda()  ##
        distill_losses: list[float] = []  ##
        losses = []
        for _ in range(gradient_steps):
            # Sample replay buffer
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            # For n-step replay, discount factor is gamma**n_steps (when no early termination)
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma

            with th.no_grad():
                # Compute the next Q-values using the target network
                next_q_values = self.q_net_target(replay_data.next_observations)
                # Follow greedy policy: use the one with the highest value
                next_q_values, _ = next_q_values.max(dim=1)
                # Avoid potential broadcast issue
                next_q_values = next_q_values.reshape(-1, 1)
                # 1-step TD target
                target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q_values

            # Get current Q-values estimates
            current_q_values = self.q_net(replay_data.observations)
            all_q_values = current_q_values  ##

            # Retrieve the q-values for the actions from the replay buffer
            current_q_values = th.gather(current_q_values, dim=1, index=replay_data.actions.long())

            # Compute Huber loss (less sensitive to outliers)
            loss = F.smooth_l1_loss(current_q_values, target_q_values)
            losses.append(loss.item())
            if self.ks_teacher is not None:  ##
                # the student's policy is softmax(Q_S / tau), the same tau as the teacher's  ##
                q_teacher = self.ks_teacher.kind == "q"  ##
                student_logits = all_q_values / self.ks_temperature if q_teacher else all_q_values  ##
                distill = self._distill_term(student_logits, replay_data.observations)  ##
                distill_losses.append(distill.item())  ##
                loss = loss + lam * distill  ##

            # Optimize the policy
            self.policy.optimizer.zero_grad()
            loss.backward()
            # Clip gradient norm
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()

        # Increase update counter
        self._n_updates += gradient_steps

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", np.mean(losses))
        self._ks_log(lam, distill_losses)  ##


class KickstartSAC(DistillMixin, SAC):
    """SB3 SAC whose actor loss gets + lambda_t * KL(teacher || student), both tanh-squashed
    Gaussians compared in pre-squash space (the teacher's head's kl loss)."""

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:  # SAC's, ## added
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update optimizers learning rate
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers += [self.ent_coef_optimizer]

        # Update learning rate according to lr schedule
        self._update_learning_rate(optimizers)

        ent_coef_losses, ent_coefs = [], []
        actor_losses, critic_losses = [], []
        lam = self.current_lambda()  ##
        distill_losses: list[float] = []  ##

        for gradient_step in range(gradient_steps):
            # Sample replay buffer
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            # For n-step replay, discount factor is gamma**n_steps (when no early termination)
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma

            # We need to sample because `log_std` may have changed between two gradient steps
            if self.use_sde:
                self.actor.reset_noise()

            # Action by the current actor for the sampled state
            actions_pi, log_prob = self.actor.action_log_prob(replay_data.observations)
            log_prob = log_prob.reshape(-1, 1)
            pi_dist = self.actor.action_dist.distribution  # pre-squash, this batch ##

            ent_coef_loss = None
            if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                # Important: detach the variable from the graph
                # so we don't change it with other losses
                # see https://github.com/rail-berkeley/softlearning/issues/60
                ent_coef = th.exp(self.log_ent_coef.detach())
                assert isinstance(self.target_entropy, float)
                ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
                ent_coef_losses.append(ent_coef_loss.item())
            else:
                ent_coef = self.ent_coef_tensor

            ent_coefs.append(ent_coef.item())

            # Optimize entropy coefficient, also called
            # entropy temperature or alpha in the paper
            if ent_coef_loss is not None and self.ent_coef_optimizer is not None:
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()

            with th.no_grad():
                # Select action according to policy
                next_actions, next_log_prob = self.actor.action_log_prob(replay_data.next_observations)
                # Compute the next Q values: min over all critics targets
                next_q_values = th.cat(self.critic_target(replay_data.next_observations, next_actions), dim=1)
                next_q_values, _ = th.min(next_q_values, dim=1, keepdim=True)
                # add entropy term
                next_q_values = next_q_values - ent_coef * next_log_prob.reshape(-1, 1)
                # td error + entropy term
                target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q_values

            # Get current Q-values estimates for each critic network
            # using action from the replay buffer
            current_q_values = self.critic(replay_data.observations, replay_data.actions)

            # Compute critic loss
            critic_loss = 0.5 * sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
            assert isinstance(critic_loss, th.Tensor)  # for type checker
            critic_losses.append(critic_loss.item())  # type: ignore[union-attr]

            # Optimize the critic
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            # Compute actor loss
            # Alternative: actor_loss = th.mean(log_prob - qf1_pi)
            # Min over all critic networks
            q_values_pi = th.cat(self.critic(replay_data.observations, actions_pi), dim=1)
            min_qf_pi, _ = th.min(q_values_pi, dim=1, keepdim=True)
            actor_loss = (ent_coef * log_prob - min_qf_pi).mean()
            if self.ks_teacher is not None:  ##
                student_out = th.cat([pi_dist.mean, th.log(pi_dist.stddev)], -1)  ##
                distill = self._distill_term(student_out, replay_data.observations)  ##
                distill_losses.append(distill.item())  ##
                actor_loss = actor_loss + lam * distill  ##
            actor_losses.append(actor_loss.item())

            # Optimize the actor
            self.actor.optimizer.zero_grad()
            actor_loss.backward()
            self.actor.optimizer.step()

            # Update target networks
            if gradient_step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                # Copy running stats, see GH issue #996
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)

        self._n_updates += gradient_steps

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(ent_coefs))
        self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        if len(ent_coef_losses) > 0:
            self.logger.record("train/ent_coef_loss", np.mean(ent_coef_losses))
        self._ks_log(lam, distill_losses)  ##


ALGOS: dict[str, type] = {"ppo": KickstartPPO, "dqn": KickstartDQN, "sac": KickstartSAC}
