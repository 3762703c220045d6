"""The distillation term shared by the kick-starting SB3 subclasses (ppo.py, offpolicy.py):
the teacher, the lambda schedule and their bookkeeping, none of it pickled by ``save()``; and
the SB3 versions whose ``train()`` the subclasses copy."""

from __future__ import annotations

from typing import Any

import numpy as np
import stable_baselines3
import torch as th

from rldistill.core.errors import UserError
from rldistill.core.schedules import LambdaSchedule

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

    _KS_ATTRS = ["ks_teacher", "ks_lambda", "ks_loss", "ks_returns", "ks_last",
                 "ks_frozen_until"]

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
        self.ks_frozen_until = 0  # env steps before which the actor is not updated (finetune)
        super().__init__(*args, **kwargs)

    def set_anchor(self, anchor: Any, lam: LambdaSchedule, loss: Any, frozen_until: int = 0
                   ) -> None:
        """Fine-tuning (:mod:`rldistill.drivers.finetune`): the term pulls toward ``anchor``
        (anything with ``outputs(obs)``, ``head`` and ``kind``) with ``loss`` (prepare/call),
        at temperature 1; the actor stays frozen until ``frozen_until`` env steps."""
        self.ks_teacher, self.ks_lambda, self.ks_loss = anchor, lam, loss
        self.ks_temperature, self.ks_frozen_until = 1.0, frozen_until
        self.ks_returns, self.ks_last = None, {}

    def actor_frozen(self) -> bool:
        """Whether this update leaves the actor as it is (a critic warm-up)."""
        return self.num_timesteps < self.ks_frozen_until  # type: ignore[attr-defined]

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

    def _plus_distill(self, loss: th.Tensor, student_out: th.Tensor, obs: th.Tensor, lam: float,
                      distill_losses: list[float]) -> th.Tensor:
        """``loss + lam * KL(teacher || student)`` on ``obs``, the term's value recorded."""
        distill = self._distill_term(student_out, obs)
        distill_losses.append(distill.item())
        return loss + lam * distill

    def _ks_log(self, lam: float, distill_losses: list[float]) -> None:
        """Record this update's lambda and mean distillation KL (``ks_last`` and the logger)."""
        self.ks_last = {"lambda": lam}
        if distill_losses:
            self.ks_last["distill_kl"] = float(np.mean(distill_losses))
        for k, v in self.ks_last.items():
            self.logger.record(f"kickstart/{k}", v)  # type: ignore[attr-defined]
