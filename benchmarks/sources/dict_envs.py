"""A Dict-observation env for benchmarks/sources/dict_obs.py, as a user's own env module would
register it (``rldistill distill --env dict_envs:LunarLanderKeys-v0`` with this folder on
PYTHONPATH): LunarLander-v3 whose 8 numbers come as named keys, ``position`` (x, y),
``velocity`` (vx, vy), ``angle`` (angle, angular velocity) and ``legs`` (2 contacts).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

SLICES = {"position": slice(0, 2), "velocity": slice(2, 4), "angle": slice(4, 6),
          "legs": slice(6, 8)}


class Keys(gym.ObservationWrapper):
    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        box = env.observation_space
        self.observation_space = gym.spaces.Dict({
            k: gym.spaces.Box(box.low[s], box.high[s], dtype=np.float32)
            for k, s in SLICES.items()})

    def observation(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        return {k: obs[s].astype(np.float32) for k, s in SLICES.items()}


if "LunarLanderKeys-v0" not in gym.registry:
    gym.register("LunarLanderKeys-v0",
                 entry_point=lambda **kw: Keys(gym.make("LunarLander-v3", **kw)))
