"""A distilled student without torch: ``Policy("student.onnx").act(obs)``.

Needs numpy and onnxruntime only (``import rldistill.deploy.runtime`` imports neither torch nor the
rest of rldistill). The file is what ``rldistill export`` writes: the graph takes raw
observations (a teacher's observation normalisation is inside it) and returns the action head's
output, which :meth:`Policy.act` turns into env actions as the metadata says: argmax of the
logits for discrete actions, the action itself (already within the bounds) for Box actions.
A recurrent student's graph also takes and returns its state: :class:`Policy` carries it
between calls, one row per env; :meth:`Policy.reset` zeroes it at episodes' starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def session(path: str | Path | bytes, threads: int = 1) -> Any:
    """An onnxruntime CPU session on ``threads`` threads, of a file or of a graph's bytes (export
    checks its graphs with it before it writes them)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError("rldistill.deploy.runtime needs onnxruntime: pip install onnxruntime"
                          ) from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = threads
    return ort.InferenceSession(path if isinstance(path, bytes) else str(path), opts,
                                providers=["CPUExecutionProvider"])


class Policy:
    def __init__(self, path: str | Path, threads: int = 1) -> None:
        self.session = session(path, threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        if not str(meta.get("format", "")).startswith("rldistill-student-onnx/"):
            raise ValueError(f"{path} is not a student exported by `rldistill export`")
        self.meta: dict[str, Any] = {k: _value(v) for k, v in meta.items()}
        self.output = str(self.meta["output"])
        spaces = self.meta["spaces"]
        self.obs_shape = tuple(spaces["obs_shape"])
        # a Dict space: one input per key, (name, shape as the env gives it, dtype the graph
        # takes: uint8 image keys from format /4, float32 before)
        dtypes = {i.name: input_dtype(i) for i in self.session.get_inputs()}
        self.keys = [(str(k[0]), _env_shape(k), dtypes[str(k[0])])
                     for k in spaces.get("obs_keys", ())]
        self.action_kind = spaces["action"]["kind"]
        self.env = self.meta.get("env")
        # what the graph takes per row: flat observations, or whole frames (CNN students), as
        # float32, or uint8 frames (Atari's; files of format /2 and before: float32 only)
        first = self.session.get_inputs()[0]
        self.in_shape = tuple(int(d) for d in first.shape[1:])
        self.in_dtype = input_dtype(first)
        self.state_size = int(self.meta.get("state_size", 0))  # recurrent students
        self.state: np.ndarray | None = None
        self.masked = bool(self.meta.get("action_masks", False))  # a "mask" input

    def reset(self, rows: Any = None) -> None:
        """A recurrent student's state back to an episode's start: all rows, or those of
        ``rows`` (indices or a boolean mask of the envs whose episodes start)."""
        if self.state is not None:
            if rows is None:
                self.state = None
            else:
                self.state[rows] = 0.0

    def make_env(self) -> Any:
        """The student's env, rebuilt from the file's metadata (its recipe: wrappers, frame
        stack, channel order) with gymnasium and numpy only."""
        from rldistill.envs.recipe import EnvRecipe, build_env

        recipe = self.meta.get("env_recipe")
        return build_env(EnvRecipe.from_json(recipe, "the ONNX metadata") if isinstance(
            recipe, dict) else str(self.env))

    def outputs(self, obs: Any, mask: np.ndarray | None = None) -> np.ndarray:
        """The graph's output for a batch (or one) of raw observations (a recurrent student
        steps its state: one call per env step); ``mask``: the valid actions, for a graph of
        an env that masks them (default: all valid). A student of a Dict space takes a dict
        of arrays, one per key, as the env (or a vector env) gives them."""
        if self.keys:
            first = np.asarray(obs[self.keys[0][0]])
            single = first.shape == self.keys[0][1]
            feed = {name: np.asarray(obs[name], dtype).reshape(-1, *shape)
                    for name, shape, dtype in self.keys}
            x = feed[self.keys[0][0]]
        else:
            x = np.asarray(obs, dtype=self.in_dtype)
            single = x.shape == self.obs_shape
            x = x.reshape(1 if single else x.shape[0], *self.in_shape)
            feed = {"obs": x}
        if self.masked:
            m = np.ones((len(x), int(self.meta["out_dim"])), bool) if mask is None else mask
            feed["mask"] = np.asarray(m, bool).reshape(len(x), -1)
        if not self.state_size:
            y = self.session.run([self.output], feed)[0]
            return y[0] if single else y
        if self.state is None or len(self.state) != len(x):
            self.state = np.zeros((len(x), self.state_size), np.float32)
        y, self.state = self.session.run([self.output, "state_out"],
                                         {**feed, "state": self.state})
        return y[0] if single else y

    def act(self, obs: Any, mask: np.ndarray | None = None) -> Any:
        """Greedy env actions for a batch of observations, or one action for one observation;
        with ``mask`` (Discrete actions: the env's ``action_masks()``, True where valid, per
        row) the best valid one."""
        y = self.outputs(obs, mask)
        if self.action_kind == "discrete":
            if mask is not None and not self.masked:
                y = np.where(np.asarray(mask, bool).reshape(y.shape), y, -np.inf)
            a = np.argmax(y, axis=-1)
            return int(a) if a.ndim == 0 else a
        if self.action_kind in ("multi_discrete", "multi_binary"):  # the graph's output acts
            return np.rint(y).astype(np.int64)
        return y


def input_dtype(arg: Any) -> Any:
    """The numpy dtype of a graph input (onnxruntime's NodeArg): uint8 frames or float32."""
    return np.uint8 if arg.type == "tensor(uint8)" else np.float32


def _env_shape(key: list[Any]) -> tuple[int, ...]:
    """A Dict space key's shape as the env gives it (rldistill.core.spaces.ObsKey's JSON:
    name, shape, dtype, channels_last)."""
    shape = tuple(int(d) for d in key[1])
    return (shape[1], shape[2], shape[0]) if key[3] else shape


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
