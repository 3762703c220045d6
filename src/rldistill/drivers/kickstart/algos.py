"""SB3's PPO, A2C, DQN, SAC and TD3 with one extra loss term, ``lambda_t * distillation``
(kick-starting; fine-tuning's anchor).

- PPO and A2C (Schmitt et al. 2018, "Kickstarting deep RL"): ``lambda_t * KL(teacher ||
  student)`` between the teacher's action distribution and the student's, on each minibatch's
  observations, added to the RL loss (surrogate + value + entropy) before gradient clipping.
- SAC: ``lambda_t * KL(teacher || student)`` between tanh-squashed Gaussians in pre-squash
  space, added to the actor loss on each replay batch;
- DQN (QDagger, Agarwal et al. 2022): ``lambda_t * KL(softmax(Q_T / tau) || softmax(Q_S / tau))``
  added to the Huber TD loss on each replay batch (for a logits teacher: softmax(logits)
  against softmax(Q_S)).
- TD3 (fine-tuning only): the anchor's squared distance to the actor's action, added to the
  delayed actor loss.

SB3 has no loss hook, so ``train()`` is a copy of SB3's own, kept to its text: every line that
differs ends in ``##`` (tests/test_kickstart.py checks the copy against the installed SB3, whose
version must lie in :data:`CHECKED`, the range pinned in pyproject.toml). PPO's and A2C's copies
make one forward pass per minibatch for both terms. The teacher and schedule are excluded from what
``save()`` pickles, so a saved student is a plain SB3 zip (``PPO.load`` / ``DQN.load``).
"""

from __future__ import annotations

from rldistill.drivers.kickstart.mixin import CHECKED, DistillMixin, check_sb3_version
from rldistill.drivers.kickstart.offpolicy import KickstartDQN, KickstartSAC, KickstartTD3
from rldistill.drivers.kickstart.onpolicy import KickstartA2C, KickstartPPO

__all__ = ["ALGOS", "CHECKED", "DistillMixin", "KickstartA2C", "KickstartDQN", "KickstartPPO",
           "KickstartSAC", "KickstartTD3", "check_sb3_version"]

# kick-starting trains all but TD3 (rl_config.KICKSTART_ALGOS); finetune all five
ALGOS: dict[str, type] = {"ppo": KickstartPPO, "a2c": KickstartA2C, "dqn": KickstartDQN,
                          "sac": KickstartSAC, "td3": KickstartTD3}
