"""Observation normalisation as SB3's ``VecNormalize`` does it, read from its ``vecnormalize.pkl``
without running code from the file.

A teacher trained with ``VecNormalize`` acts on ``clip((obs - mean) / sqrt(var + eps), +-clip)``;
fed raw observations it is another (usually much worse) policy. :class:`ObsNorm` is that
transform as a module: the teacher gets it in front of its network, and the student gets a copy
in front of its own, so the student learns from raw observations and takes them when deployed
(the statistics are buffers of its weights file and part of its exported ONNX graph).

``vecnormalize.pkl`` is a pickle. :func:`load_vecnormalize` reads it with an unpickler that
knows only what such a file holds (numpy arrays, dtypes and scalars; SB3's ``VecNormalize`` and
``RunningMeanStd``; gymnasium's spaces and their numpy random generators), turns the SB3,
gymnasium and generator objects into plain records
(their classes are never imported from the file) and refuses every other global with a
one-line error: nothing in the file can run code.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rldistill.core.errors import UserError

# (module, name) -> the real callable (numpy's array reconstruction: no side effects)
_NUMPY = {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray")
          for n in ("_reconstruct", "scalar")} | {("numpy", "ndarray"), ("numpy", "dtype"),
                                                   ("numpy._core.numeric", "_frombuffer"),
                                                   ("numpy.core.numeric", "_frombuffer")}
# (module, name) -> recorded as a plain object, never imported
_RECORDS = {("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"),
            ("stable_baselines3.common.running_mean_std", "RunningMeanStd")}
# the env's spaces (with a seeded space's numpy generator): recorded, never built
_RECORD_MODULES = ("gymnasium.spaces.", "numpy.random.")


class _Record:
    """A stand-in for an SB3 or gymnasium object: keeps the state it is given, runs nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__["_args"] = args

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


class _Restricted(pickle.Unpickler):
    def __init__(self, data: bytes, path: Path) -> None:
        super().__init__(io.BytesIO(data))
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY:
            return super().find_class(module, name)
        if (module, name) in _RECORDS or module.startswith(_RECORD_MODULES):
            return type(name, (_Record,), {})
        raise UserError(f"{self.path} refers to {module}.{name}, which a vecnormalize.pkl does "
                        "not hold: refused without running it (pass the file SB3's "
                        "VecNormalize.save wrote, or --teacher-normalize none)")


@dataclass(frozen=True)
class NormStats:
    """What VecNormalize applies to observations."""

    mean: np.ndarray
    var: np.ndarray
    clip: float
    epsilon: float
    source: str
    count: float = 0.0  # observations the statistics saw (to continue them)


def load_vecnormalize(path: Path) -> NormStats | None:
    """The observation statistics of an SB3 ``vecnormalize.pkl`` (None where it does not
    normalise observations); crafted or foreign files are one-line errors."""
    try:
        data = path.read_bytes()
        obj = _Restricted(data, path).load()
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged pickle raises many types
        raise UserError(f"{path} is not a readable vecnormalize.pkl ({type(e).__name__}): pass "
                        "the file SB3's VecNormalize.save wrote") from None
    state = getattr(obj, "__dict__", {})
    rms = state.get("obs_rms")
    if type(obj).__name__ != "VecNormalize" or rms is None:
        raise UserError(f"{path} holds no VecNormalize statistics: pass the file SB3's "
                        "VecNormalize.save wrote")
    if not state.get("norm_obs", True):
        return None
    mean, var = getattr(rms, "mean", None), getattr(rms, "var", None)
    if not isinstance(mean, np.ndarray) or not isinstance(var, np.ndarray):
        raise UserError(f"{path}: its observation statistics are not arrays (a Dict "
                        "observation space?): only Box observations are supported")
    return NormStats(mean.astype(np.float32), var.astype(np.float32),
                     float(state.get("clip_obs", 10.0)), float(state.get("epsilon", 1e-8)),
                     str(path), float(getattr(rms, "count", 0.0)))


def find_vecnormalize(zip_path: Path) -> Path | None:
    """The VecNormalize statistics beside a teacher zip: ``NAME.vecnormalize.pkl`` (what
    ``rldistill export --format sb3`` writes beside ``NAME.zip``), ``vecnormalize.pkl`` in its
    folder, or RL Zoo's layout (``logs/ALGO/ENV_1/ENV.zip`` with
    ``logs/ALGO/ENV_1/ENV/vecnormalize.pkl``)."""
    folder = zip_path.parent
    for candidate in (folder / f"{zip_path.stem}.vecnormalize.pkl", folder / "vecnormalize.pkl",
                      folder / zip_path.stem / "vecnormalize.pkl"):
        if candidate.is_file():
            return candidate
    return None


class ObsNorm(nn.Module):
    """``clip((obs - mean) / sqrt(var + eps), -clip, clip)`` with the statistics as buffers."""

    def __init__(self, shape: tuple[int, ...], stats: NormStats | None = None) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("std", torch.ones(shape))
        self.register_buffer("clip", torch.tensor(10.0))
        if stats is not None:
            if tuple(stats.mean.shape) != tuple(shape):
                raise UserError(f"{stats.source} normalises observations of shape "
                                f"{stats.mean.shape}, the teacher takes {shape}: pass the "
                                "teacher's own vecnormalize.pkl")
            self.mean.copy_(torch.from_numpy(stats.mean))
            self.std.copy_(torch.sqrt(torch.from_numpy(stats.var) + stats.epsilon))
            self.clip.fill_(stats.clip)

    mean: torch.Tensor
    std: torch.Tensor
    clip: torch.Tensor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = (obs.float() - self.mean) / self.std
        return torch.maximum(torch.minimum(x, self.clip), -self.clip)
