"""Two envs with MultiDiscrete and MultiBinary actions for benchmarks/sources/multi_actions.py
(Gymnasium ships none): LunarLanderContinuous-v3 driven by discrete engine choices, as a user's
own env module would register them (``rldistill distill --env multi_envs:LunarLanderMD-v0``
with this folder on PYTHONPATH).

- ``LunarLanderMD-v0``: MultiDiscrete([3, 3]): main engine (off, off, on), side engine (left,
  none, right), each component -> -1 / 0 / +1 on the continuous action.
- ``LunarLanderMB-v0``: MultiBinary(3): bits (main, left, right) -> main +1 (on) or -1 (off),
  lateral right - left.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class Engines(gym.ActionWrapper):
    def __init__(self, env: gym.Env, binary: bool) -> None:
        super().__init__(env)
        self.binary = binary
        self.action_space = gym.spaces.MultiBinary(3) if binary else gym.spaces.MultiDiscrete(
            [3, 3])

    def action(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        if self.binary:
            return np.array([1.0 if a[0] else -1.0, float(a[2]) - float(a[1])], np.float32)
        return (a - 1).astype(np.float32)


def _make(binary: bool, **kwargs: object) -> gym.Env:
    return Engines(gym.make("LunarLanderContinuous-v3", **kwargs), binary)


for _id, _b in (("LunarLanderMD-v0", False), ("LunarLanderMB-v0", True)):
    if _id not in gym.registry:
        gym.register(_id, entry_point=_make, kwargs={"binary": _b})
