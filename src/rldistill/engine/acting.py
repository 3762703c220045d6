"""Who acts while the teacher labels: the driver, made once per run from ``--driver`` (or the
action heads' default) and asked by the collection at every step.

- ``teacher``: the teacher acts (teacher-driven, dataset distillation; Rusu et al. 2015);
- ``student``: the student acts (student-driven; Czarnecki et al. 2019), and the teacher labels
  the states it visits in batches;
- ``mix``: the teacher acts with probability beta, on a schedule over the rounds (DAgger; Ross
  et al. 2011).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from rldistill.core.errors import UserError
from rldistill.core.schedules import Schedule, parse_schedule
from rldistill.heads import ActionHead

@dataclass(frozen=True)
class Driver:
    """``name`` with, for ``mix``, its ``beta`` schedule; ``dart``: the noise on the teacher's
    actions where it acts (``--dart``; Laskey et al. 2017)."""

    name: str
    beta: Schedule | None = None
    dart: float = 0.0

    @classmethod
    def make(cls, name: str, beta: str, dart: float = 0.0) -> Driver:
        if dart and name == "student":
            raise UserError(f"--dart {dart} perturbs the teacher's actions, and with the student "
                            "driver the teacher never acts: add --driver teacher or mix")
        return cls(name, parse_schedule(beta) if name == "mix" else None, dart)

    @property
    def teacher_may_act(self) -> bool:
        """Whether the teacher's outputs are needed as the envs step (else they are labelled
        in batches after)."""
        return self.name != "student"

    @property
    def stoppable(self) -> bool:
        """Whether SIGINT may stop a round's collection half way. The student driver labels a
        round in one teacher call: it finishes the round (a fraction of a second), so that a
        resumed run labels the same batches as an uninterrupted one (the batch size changes
        float results)."""
        return self.name != "student"

    def teacher_share(self, progress: float, round_index: int) -> float:
        """The probability that the teacher acts, at ``progress`` of the budget."""
        if self.beta is not None:
            return self.beta(progress, round_index)
        return 1.0 if self.name == "teacher" else 0.0

    def actions(self, head: ActionHead, k: int, t_out: torch.Tensor | None, share: float,
                student: Callable[[int, int], torch.Tensor], rng: np.random.Generator,
                noise_gen: torch.Generator) -> np.ndarray:
        """The first ``k`` envs' actions: the teacher's greedy ones (from ``t_out``; with
        ``dart``, perturbed by the head from ``noise_gen``), the student's (``student(lo, hi)``:
        envs lo..hi), or per env a draw between them with the teacher's ``share``."""
        if share >= 1.0:
            return head.to_env(self.teacher_actions(head, t_out, noise_gen))
        actions = head.to_env(student(0, k))
        if share > 0.0:
            teacher_acts = rng.random(len(actions)) < share
            mask = teacher_acts.reshape(-1, *[1] * (actions.ndim - 1))
            actions = np.where(mask, head.to_env(self.teacher_actions(head, t_out, noise_gen)),
                               actions)
        return actions

    def all_actions(self, head: ActionHead, k: int, n: int, t_out: torch.Tensor | None,
                    share: float, student: Callable[[int, int], torch.Tensor],
                    rng: np.random.Generator, noise_gen: torch.Generator) -> np.ndarray:
        """Env actions for ``n`` envs: :meth:`actions` for the first ``k`` (the labelled ones;
        0 for none), the student's for the others (they act unlabelled)."""
        parts = [self.actions(head, k, t_out, share, student, rng, noise_gen)] if k else []
        return np.concatenate(parts + ([head.to_env(student(k, n))] if k < n else []))

    def teacher_actions(self, head: ActionHead, t_out: torch.Tensor | None,
                        noise_gen: torch.Generator) -> torch.Tensor:
        assert t_out is not None
        actions = head.teacher_act(t_out)
        return head.noisy(actions, self.dart, noise_gen) if self.dart else actions
