"""What the loop keeps per task (:class:`Task`), reports per round (:class:`RoundMetrics`), and
what a driver adds to its rounds (:class:`Hook`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.engine.buffer import Buffer
from rldistill.envs.make import BatchEnv
from rldistill.heads import ActionHead
from rldistill.sources.base import Teacher


@dataclass
class Fresh:
    """Sums over a round's new rows, measured before the student trained on them (held out):
    its agreement with the teacher and KL(teacher || student), and the rows counted."""

    agreement: float = 0.0
    kl: float = 0.0
    rows: int = 0

    def means(self) -> tuple[float, float] | None:
        """(mean agreement, mean KL), or None before any row."""
        return (self.agreement / self.rows, self.kl / self.rows) if self.rows else None

    def to_list(self) -> list[float]:
        return [self.agreement, self.kl, self.rows]


@dataclass
class Task:
    """One (teacher, env) pair of the run: its envs, its part of the buffer, its plan.

    A run has one task, or several for multi-task distillation (Rusu et al. 2015): the budget is
    split evenly between them, and each update takes one minibatch from every task.
    """

    env: str
    teacher: Teacher
    head: ActionHead
    buf: Buffer
    venv: BatchEnv
    obs: np.ndarray
    starts: np.ndarray  # per env: its current obs is an episode's first
    ends: list[int]  # labelled steps at the end of each round
    labelled: int = 0
    env_steps: int = 0  # env steps of the collection: every env's, labelled or not
    actions: list[np.ndarray] = field(default_factory=list)  # since the last checkpoint
    losses: list[float] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)  # checkpointed buffer chunks
    saved_rows: int = 0
    fresh: Fresh = field(default_factory=Fresh)  # this round's held-out measures
    # the teacher's observations, where the student sees a view of them (rldistill.envs.views)
    tobs: np.ndarray | None = None
    # a recurrent student's acting state per env, and which envs' last step was not stored
    memory: torch.Tensor | None = None
    gap: np.ndarray | None = None
    # a recurrent teacher's state per env (RecurrentPPO), stepped on every env at every step
    t_memory: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if getattr(self.teacher, "recurrent", False):
            self.t_memory = self.teacher.initial_state(len(self.starts))

    def observe(self, obs: np.ndarray, terms: np.ndarray, truncs: np.ndarray) -> None:
        """The envs' new observations (both views) after a step."""
        self.obs, self.starts = obs, terms | truncs
        if self.venv.teacher_obs is not None:
            self.tobs = self.venv.teacher_obs.copy()

    def step(self, actions: np.ndarray) -> None:
        obs, _, terms, truncs, _ = self.venv.step(actions)  # obs: a new array
        self.observe(obs, terms, truncs)

    @property
    def teacher_obs(self) -> np.ndarray:
        return self.obs if self.tobs is None else self.tobs


@dataclass(frozen=True)
class RoundMetrics:
    """What a round did, given to every callback after the round's update."""

    round: int  # rounds done
    labelled: int  # labelled steps in all (several per env step with more than one env)
    updates: int  # student updates in all
    loss: float
    task_losses: list[float]
    wall_s: float
    # on the round's new states, before the student trained on them (held out): the share of
    # states where it acts as the teacher does, and the mean KL(teacher || student); the
    # worst task's where there are several
    fresh_agreement: float = math.nan
    fresh_kl: float = math.nan
    # the loss's named terms at the round's last update (``loss_kl``, ...; ``taskI/...`` where
    # there are several tasks): what the logs show
    terms: dict[str, float] = field(default_factory=dict)
    env_steps: int = 0  # env steps of the collection so far (what a user pays for)
    teacher_queries: int = 0  # states the teacher labelled so far (relabelling included)
    # the round's largest gradient norm before --grad-clip, and how many updates it clipped
    grad_norm_max: float = math.nan
    clipped: int = 0


def grad_norms(norms: list[torch.Tensor], clip: float) -> tuple[float, int]:
    """A round's largest gradient norm (NaN unclipped: not measured; inf where one was not
    finite) and the updates over ``clip`` (a non-finite norm counts), from each update's norm
    (one sync with the device per round, not per update)."""
    if not norms:
        return math.nan, 0
    norm = torch.stack(norms).nan_to_num(nan=math.inf)
    return float(norm.max()), int((norm > clip).sum())


class Hook:
    """What a driver adds to :meth:`~rldistill.engine.loop.Loop.run_round` (SB3's callback
    template): each method is called at its point of every round; the defaults do nothing."""

    def before_round(self, loop: Any) -> None:
        """Before a round's collection (online: the teacher learns on, the buffer is
        relabelled by it). May stop early when ``loop.interrupted`` is set."""

    def after_round(self, loop: Any, metrics: RoundMetrics) -> None:
        """After a round's update, before its checkpoint (--budget auto: enough?)."""

    def checkpoint(self, loop: Any, run_dir: Path) -> dict[str, Any]:
        """At every checkpoint: the hook's own files, and its state to keep in the loop's."""
        return {}
