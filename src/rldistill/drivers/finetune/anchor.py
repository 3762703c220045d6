"""What ``rldistill finetune`` pulls the policy toward (the start student, or the run's
teacher) and with which loss: KL for stochastic heads, the squared action distance for TD3's
deterministic actor, DQfD's large margin for DQN's Q-values."""

from __future__ import annotations

from typing import Any

import torch

from rldistill.core.config import FinetuneConfig


class Anchor:
    """What the fine-tuned policy is pulled toward, as a teacher is for kick-starting:
    ``outputs(obs)`` in the head's format, on the SB3 model's (normalised) observations."""

    def __init__(self, algo: str, head: Any, policy: Any = None, teacher: Any = None,
                 venv: Any = None) -> None:
        self.algo, self.head, self.policy, self.teacher, self.venv = (algo, head, policy,
                                                                      teacher, venv)
        self.kind = "q" if algo == "dqn" else "logits"

    @torch.no_grad()
    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        if self.teacher is not None:
            raw = self.venv.unnormalize_obs(obs.numpy()) if self.venv is not None else obs
            return self.teacher.outputs(torch.as_tensor(raw, dtype=torch.float32))
        if self.algo == "dqn":
            return self.policy.q_net(obs)
        if self.algo == "td3":
            return self.policy.actor(obs)
        if self.algo == "sac":
            mean, log_std, _ = self.policy.actor.get_action_dist_params(obs)
            return torch.cat([mean, log_std], -1)
        return self.head.sb3_student_out(self.policy.get_distribution(obs))


def anchor_policy(model: Any) -> Any:
    """The SB3 policy the model is anchored to (a copy of the start's, which ``--anchor best``
    moves); None where the anchor is the teacher or there is none."""
    return getattr(getattr(model, "ks_teacher", None), "policy", None)


def move_anchor(model: Any, curve: list[dict[str, Any]]) -> bool:
    """``--anchor best``: where the curve's last evaluation beats every earlier one, the
    anchor becomes the model's policy as it is now (its weights copied); whether it moved."""
    anchor = anchor_policy(model)
    if anchor is None or len(curve) < 2 or \
            curve[-1]["return"] <= max(p["return"] for p in curve[:-1]):
        return False
    anchor.load_state_dict(model.policy.state_dict())
    return True


def anchor_loss(cfg: FinetuneConfig, algo: str, head: Any, teacher: Any) -> Any:
    from rldistill.heads.losses import ActionMSE, LargeMargin

    if algo == "dqn":
        return LargeMargin(cfg.margin)
    if algo == "td3":  # the actor's tanh output, as the teacher's TD3 actor gives it
        return ActionMSE()
    if teacher is not None:  # as kick-starting pulls toward it: the head's temperature
        return teacher.head.loss("kl", teacher.head.default_temperature(teacher.kind),
                                 teacher.kind)
    return head.loss("kl", 1.0, "logits")
