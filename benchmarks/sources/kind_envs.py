"""Envs and a policy class for benchmarks/sources/kinds.py, as a user's own module would
register them (``rldistill distill --env kind_envs:ID`` with this folder on PYTHONPATH):

- ``LunarLanderKeys-v0``: LunarLander-v3 whose 8 numbers come as a Dict of named keys,
  ``position`` (x, y), ``velocity`` (vx, vy), ``angle`` (angle, angular velocity) and ``legs``
  (2 contacts);
- ``LunarLanderCooldown-v0``: LunarLander-v3 whose main engine is masked (``action_masks()``)
  for 2 steps after each firing;
- :class:`LayerNormExtractor`: a features extractor class of the user's own.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

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


class Cooldown(gym.Wrapper):
    """The main engine (action 2) needs a rest: after it fires it is masked for the next
    ``rest`` steps (``action_masks()``, sb3-contrib's convention)."""

    def __init__(self, env: gym.Env, rest: int = 2) -> None:
        super().__init__(env)
        self.rest, self.wait = rest, 0

    def reset(self, **kwargs):
        self.wait = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        assert self.action_masks()[int(action)], "a masked action was taken"
        self.wait = self.rest if int(action) == 2 else max(0, self.wait - 1)
        return self.env.step(action)

    def action_masks(self) -> np.ndarray:
        return np.array([True, True, self.wait == 0, True])


if "LunarLanderCooldown-v0" not in gym.registry:
    gym.register("LunarLanderCooldown-v0",
                 entry_point=lambda **kw: Cooldown(gym.make("LunarLander-v3", **kw)))


class LayerNormExtractor(BaseFeaturesExtractor):
    """A user's own features extractor (a LayerNorm'd layer): SB3 saves its class by
    reference, so rldistill needs --trust-teacher (and this module importable) to run it."""

    def __init__(self, space: gym.Space, features_dim: int = 64) -> None:
        super().__init__(space, features_dim)
        n = int(np.prod(space.shape))
        self.net = torch.nn.Sequential(torch.nn.Linear(n, features_dim),
                                       torch.nn.LayerNorm(features_dim), torch.nn.Tanh())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)
