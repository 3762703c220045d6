"""The episode seeds of every evaluation, in one place. Each kind of evaluation plays its own
range of seeds (offset from the run's ``--seed``), apart from the seeds the training envs were
reset with (``seed .. seed + n_envs``), so no score is measured on episodes a student trained
on, and a run evaluated again (``rldistill evaluate``) plays the episodes its final score did."""

from __future__ import annotations

FINAL = 1_000_000  # a run's final score (result.json) and `rldistill evaluate`'s default
ROUNDS = 2_000_000  # per-round evaluations: online runs' curves, --budget auto's quick checks
KICKSTART_CURVE = 1_000_000  # kick-starting's and fine-tuning's learning curves (every --seed)
KICKSTART_FINAL = 1_100_000  # kick-starting's and fine-tuning's final score


def final(seed: int) -> int:
    """The first episode seed of a run's final evaluation."""
    return seed + FINAL


def per_round(seed: int) -> int:
    """The first episode seed of the evaluations a run makes between its rounds."""
    return seed + ROUNDS
