"""Statistics over seeds (and tasks) as the field now reports them (Agarwal et al. 2021): mean
and IQM (the mean of the middle half of all runs x tasks) with 95 % stratified-bootstrap
confidence intervals, computed by ``rliable``
(extra ``rldistill[stats]``), with a fixed bootstrap seed so that a result reads the same twice.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rldistill.core.errors import UserError

REPS = 2000  # bootstrap resamples


def aggregate(scores: list[list[float]], reps: int = REPS, seed: int = 0) -> dict[str, Any]:
    """``scores[run][task]`` -> {"mean": {"value", "ci95"}, "iqm": ..., "runs", "tasks"}.
    (rliable's "median" is the median over tasks of per-task means: not reported.)"""
    try:
        from rliable import library as rly
        from rliable import metrics
    except ImportError:
        raise UserError("statistics over seeds need rliable: pip install 'rldistill[stats]' "
                        "(the README's set-up installs it)") from None
    m = np.asarray(scores, dtype=float)
    names = ("mean", "iqm")

    def f(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_mean(x), metrics.aggregate_iqm(x)])

    state = np.random.get_state()
    np.random.seed(seed)  # rliable also draws from NumPy's global generator
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # arch: random_state is deprecated
            point, ci = rly.get_interval_estimates({"s": m}, f, reps=reps,
                                                   random_state=np.random.RandomState(seed))
    finally:
        np.random.set_state(state)
    return {name: {"value": round(float(point["s"][i]), 4),
                   "ci95": [round(float(ci["s"][0, i]), 4), round(float(ci["s"][1, i]), 4)]}
            for i, name in enumerate(names)} | {"runs": int(m.shape[0]),
                                                "tasks": int(m.shape[1])}
