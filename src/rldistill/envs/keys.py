"""Dict observation spaces (goal-conditioned robotics, games with an image and a vector) as one
float vector, so that the buffer, the engine and the evaluation see one array.

:class:`FlatKeys` concatenates the keys in the space's order, each flattened (images moved to
channels first where the env gives them last, as SB3's ``VecTransposeImage`` does): the order
of Gymnasium's ``flatten`` and of SB3's ``CombinedExtractor``. The layout (:class:`ObsKey` per
key) travels in the :class:`~rldistill.core.spaces.SpaceSpec`, so networks split the vector
back (an MLP over the vector keys, a CNN per image key) and the ONNX export takes one named
input per key.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rldistill.core.errors import UserError
from rldistill.core.spaces import ObsKey


def obs_keys(space: gym.spaces.Dict, who: str) -> tuple[ObsKey, ...]:
    """The layout of a Dict space of Boxes; one-line errors for other keys."""
    keys = []
    for name, sub in space.spaces.items():
        if not isinstance(sub, gym.spaces.Box) or isinstance(sub, gym.spaces.Dict):
            raise UserError(f"{who} has a Dict observation space whose key {name!r} is {sub}; "
                            "rldistill reads Dict spaces of Box keys: wrap the env so that "
                            "each key is a Box")
        shape = tuple(int(d) for d in sub.shape)
        # SB3's is_image_space: uint8 in [0, 255] (other uint8 keys are flattened as numbers)
        image = sub.dtype == np.uint8 and bool(np.all(sub.low == 0) and np.all(sub.high == 255))
        dtype = "uint8" if image else "float32"
        # SB3's is_image_space_channels_first: the smallest dimension first, else moved there
        last = dtype == "uint8" and len(shape) == 3 and int(np.argmin(shape)) != 0
        keys.append(ObsKey(str(name), (shape[2], shape[0], shape[1]) if last else shape, dtype,
                           last))
    if not keys:
        raise UserError(f"{who} has an empty Dict observation space: nothing to distil")
    return tuple(keys)


def flatten_keys(obs: dict[str, Any], keys: tuple[ObsKey, ...]) -> np.ndarray:
    """One observation (a dict) as the flat float32 vector of :class:`FlatKeys`."""
    parts = []
    for k in keys:
        a = np.asarray(obs[k.name])
        parts.append((a.transpose(2, 0, 1) if k.channels_last else a).reshape(-1))
    return np.concatenate(parts).astype(np.float32, copy=False)


class FlatKeys(gym.ObservationWrapper):  # type: ignore[misc]
    """A Dict-observation env seen as one float32 vector (see the module docstring)."""

    def __init__(self, env: gym.Env, who: str = "env") -> None:
        super().__init__(env)
        self.keys = obs_keys(env.observation_space, who)
        size = sum(k.size for k in self.keys)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float32)

    def observation(self, obs: dict[str, Any]) -> np.ndarray:
        return flatten_keys(obs, self.keys)


def keys_of(env: gym.Env) -> tuple[ObsKey, ...]:
    """The layout of the Dict space ``env`` flattens (a :class:`FlatKeys` inside); () if none."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, FlatKeys):
            return env.keys
        env = env.env
    return ()
