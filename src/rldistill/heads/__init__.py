"""Action heads: everything that depends on the action space, in one object per space.

A head turns teacher outputs into training targets and losses, turns student outputs into
actions (greedy or sampled), measures agreement and divergence between student and teacher,
draws the random baseline, mixes ensemble members and names the exported graph's output. The
loop, evaluation, export and kick-starting ask the head; none of them branches on the space.

Discrete actions: :class:`~rldistill.heads.categorical.CategoricalHead` (teachers that output
logits or Q-values). Box actions (:mod:`rldistill.heads.continuous`): Gaussian (PPO, A2C),
tanh-squashed Gaussian (SAC, TQC) and deterministic (TD3, DDPG) heads; which one a Box teacher
gets depends on its policy (its output ``kind``), and the student takes its teacher's head.
MultiDiscrete and MultiBinary actions: :mod:`rldistill.heads.multi` (a categorical
distribution per component, a Bernoulli per bit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch

from rldistill.core.errors import UserError
from rldistill.core.spaces import ActionSpec


class TrainLoss(Protocol):
    """A loss split in two: ``prepare`` (teacher outputs -> per-row targets, once per round)
    and ``__call__`` (student outputs, prepared rows -> batch-mean loss, every minibatch)."""

    def fit(self, teacher: torch.Tensor) -> None:
        """Fit what the loss takes from the teacher's outputs (a Q teacher's temperature) on
        the whole buffer, once per round before ``prepare``."""
        ...

    def prepare(self, teacher: torch.Tensor) -> torch.Tensor: ...

    def __call__(self, student: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor: ...

    def terms(self, student: torch.Tensor, prepared: torch.Tensor) -> dict[str, torch.Tensor]:
        """The loss as named terms (``loss_<name>``, TorchRL's style): what the loop sums and
        logs."""
        ...


class ActionHead(Protocol):
    kind: str  # the ActionSpec kind it serves
    name: str  # the head itself: categorical, gaussian, squashed_gaussian, deterministic
    out_dim: int  # width of the student's output
    losses: tuple[str, ...]  # loss names it accepts
    default_loss: str
    default_driver: str  # who acts while collecting, unless --driver says
    default_beta: str  # the mix driver's schedule, unless --beta says
    onnx_output: str  # name of the exported graph's output
    greedy_rule: str  # how the exported output becomes an action
    ensemble_modes: tuple[str, ...]  # the --ensemble modes :meth:`mix` knows
    # --sobolev: the student's outputs are on the teacher's own scale, so their derivatives
    # compare (not logits against Q-values or temperature-scaled targets)
    derivatives_match: bool

    def target_shape(self) -> tuple[int, ...]:
        """Shape of one teacher output row (what the buffer stores)."""
        ...

    def default_temperature(self, teacher_kind: str) -> float: ...

    def update_rows(self, teacher_kind: str) -> int:
        """Rows of training (updates x batch) a run gets at least, unless --min-updates says."""
        ...

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

    def distance(self, s_out: torch.Tensor, t_out: torch.Tensor) -> torch.Tensor:
        """Per row, how far the greedy actions are apart (0 = the same), in [0, 1]."""
        ...

    def weak_student_hint(self, driver: str | None, min_updates: int | None) -> str | None:
        """What measurably lifts a student that fell short, unless the run did it already."""
        ...

    def export(self, out: torch.Tensor) -> torch.Tensor:
        """The exported graph's output from the student's (torch ops only)."""
        ...

    def exported_agreement(self, y: torch.Tensor, y_ref: torch.Tensor) -> torch.Tensor:
        """Per row, 1.0 where two exported graphs' outputs (``export``) act alike, as
        :meth:`agreement` judges it (the same action; Box: within its tolerance)."""
        ...

    def divergence(self, t_out: torch.Tensor, s_out: torch.Tensor,
                   teacher_kind: str) -> torch.Tensor:
        """Per row, KL(teacher policy || student policy)."""
        ...

    def random_actions(self, n: int, gen: torch.Generator) -> torch.Tensor: ...

    def noisy(self, actions: torch.Tensor, sigma: float, gen: torch.Generator) -> torch.Tensor:
        """The teacher's ``actions`` with DART noise of scale ``sigma`` (``--dart``)."""
        ...

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


def _multi_discrete(action: ActionSpec) -> ActionHead:
    from rldistill.heads.multi import MultiCategoricalHead

    return MultiCategoricalHead(action.nvec)  # type: ignore[return-value]


def _multi_binary(action: ActionSpec) -> ActionHead:
    from rldistill.heads.multi import MultiBinaryHead

    return MultiBinaryHead(action.n)  # type: ignore[return-value]


def _box(name: str) -> Callable[[ActionSpec], ActionHead]:
    def make(action: ActionSpec) -> ActionHead:
        from rldistill.heads import continuous

        cls = {"gaussian": continuous.GaussianHead,
               "squashed_gaussian": continuous.SquashedGaussianHead,
               "deterministic": continuous.DeterministicHead}[name]
        return cls(action)  # type: ignore[return-value]

    return make


# head name -> (the ActionSpec kind it serves, its constructor); a new head registers here
HEADS: dict[str, tuple[str, Callable[[ActionSpec], ActionHead]]] = {
    "categorical": ("discrete", _categorical),
    "gaussian": ("box", _box("gaussian")),
    "squashed_gaussian": ("box", _box("squashed_gaussian")),
    "deterministic": ("box", _box("deterministic")),
    "multi_categorical": ("multi_discrete", _multi_discrete),
    "multi_binary": ("multi_binary", _multi_binary),
}
# a teacher's output kind -> the head of its policy, for action spaces with several heads
KIND_HEADS = {"gaussian": "gaussian", "squashed": "squashed_gaussian",
              "deterministic": "deterministic"}


def head_name(action: ActionSpec, teacher_kind: str | None = None) -> str:
    """The head a policy of ``teacher_kind`` on ``action`` gets (a space's only head, or the
    one its teacher's kind names); a one-line error where there is none."""
    names = [n for n, (kind, _) in HEADS.items() if kind == action.kind]
    if len(names) == 1:
        return names[0]
    if teacher_kind in KIND_HEADS and KIND_HEADS[teacher_kind] in names:
        return KIND_HEADS[teacher_kind]
    if not names:
        raise UserError(f"no action head for {action.describe()} yet: rldistill distils "
                        "Discrete, Box, MultiDiscrete and MultiBinary action spaces")
    raise UserError(f"a teacher of kind {teacher_kind!r} on {action.describe()}: pass a "
                    f"Gaussian, squashed-Gaussian or deterministic policy ({', '.join(names)})")


def head_for(action: ActionSpec, teacher_kind: str | None = None,
             name: str | None = None) -> ActionHead:
    """The head ``name`` (or the one :func:`head_name` picks) on ``action``."""
    name = name or head_name(action, teacher_kind)
    if name not in HEADS or HEADS[name][0] != action.kind:
        raise UserError(f"action head {name!r} does not serve {action.describe()}")
    return HEADS[name][1](action)


def env_rows(actions: np.ndarray) -> list[Any]:
    """Per-env actions in the form ``env.step`` takes (ints for discrete, arrays otherwise)."""
    return actions.tolist() if actions.ndim == 1 else list(actions)
