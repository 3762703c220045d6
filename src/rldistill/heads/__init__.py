"""Action heads: everything that depends on the action space, in one object per space.

A head turns teacher outputs into training targets and losses, turns student outputs into
actions (greedy or sampled), measures agreement and divergence between student and teacher,
draws the random baseline, mixes ensemble members and names the exported graph's output. The
loop, evaluation, export and kick-starting ask the head; none of them branches on the space.

Today: :class:`~rldistill.heads.categorical.CategoricalHead` (Discrete actions; teachers that
output logits or Q-values). The continuous heads (Gaussian, tanh-squashed Gaussian,
deterministic) and MultiDiscrete implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch

from rldistill.errors import UserError
from rldistill.spaces import ActionSpec


class TrainLoss(Protocol):
    """A loss split in two: ``prepare`` (teacher outputs -> per-row targets, once per round)
    and ``__call__`` (student outputs, prepared rows -> batch-mean loss, every minibatch)."""

    def prepare(self, teacher: torch.Tensor) -> torch.Tensor: ...

    def __call__(self, student: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor: ...


class ActionHead(Protocol):
    kind: str  # the ActionSpec kind it serves
    out_dim: int  # width of the student's output
    losses: tuple[str, ...]  # loss names it accepts
    onnx_output: str  # name of the exported graph's output
    greedy_rule: str  # how the exported output becomes an action

    def target_shape(self) -> tuple[int, ...]:
        """Shape of one teacher output row (what the buffer stores)."""
        ...

    def default_temperature(self, teacher_kind: str) -> float: ...

    def loss(self, name: str, temperature: float | None, teacher_kind: str,
             centred: bool = False) -> TrainLoss: ...

    def act(self, out: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """Actions from student outputs: greedy, or sampled with ``gen``."""
        ...

    def teacher_act(self, t_out: torch.Tensor) -> torch.Tensor:
        """The teacher's greedy actions from its outputs."""
        ...

    def agreement(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        """Per row, 1.0 where student and teacher act alike (greedy), else 0.0."""
        ...

    def divergence(self, t_out: torch.Tensor, s_out: torch.Tensor,
                   teacher_kind: str) -> torch.Tensor:
        """Per row, KL(teacher policy || student policy)."""
        ...

    def random_actions(self, n: int, gen: torch.Generator) -> torch.Tensor: ...

    def to_env(self, actions: torch.Tensor) -> np.ndarray:
        """Actions as the env takes them (one row per env)."""
        ...

    def mix(self, outs: Sequence[torch.Tensor], kinds: Sequence[str], mode: str) -> torch.Tensor:
        """One teacher output from several members' (an ensemble of one task)."""
        ...

    def sb3_student_out(self, distribution: Any) -> torch.Tensor:
        """The student output (as :meth:`act` reads it) of an SB3 action distribution."""
        ...


def _categorical(action: ActionSpec) -> ActionHead:
    from rldistill.heads.categorical import CategoricalHead

    return CategoricalHead(action.n)


# ActionSpec.kind -> the head's constructor; a new action space registers its head here
HEADS: dict[str, Callable[[ActionSpec], ActionHead]] = {"discrete": _categorical}


def head_for(action: ActionSpec) -> ActionHead:
    """The head of an action space; a one-line error for spaces without one yet."""
    if action.kind not in HEADS:
        raise UserError(f"no action head for {action.describe()} yet: rldistill distils "
                        f"{', '.join(HEADS)} action spaces in this version")
    return HEADS[action.kind](action)


def env_rows(actions: np.ndarray) -> list[Any]:
    """Per-env actions in the form ``env.step`` takes (ints for discrete, arrays otherwise)."""
    return actions.tolist() if actions.ndim == 1 else list(actions)
