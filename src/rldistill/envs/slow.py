"""``Slow<N>ms/<EnvId>``: any registered env (an id without a namespace: Gymnasium ids take one
namespace) whose every step first waits N milliseconds, as a
remote or heavy simulator does (a game server, a scene with many contacts), while the CPU stays
free. ``--collectors`` is measured on it (``benchmarks/scale/slow_sim.py``): there env steps, not
networks, are the cost. The ids register on first use, in every process (Ray actors too)."""

from __future__ import annotations

import re
import time
from typing import Any

import gymnasium as gym

PATTERN = re.compile(r"Slow(\d+)ms/([^/]+)$")  # Gymnasium ids: one namespace, no dots in it


class SlowStep(gym.Wrapper):
    """``env`` whose ``step`` sleeps ``delay_s`` seconds before stepping."""

    def __init__(self, env: gym.Env, delay_s: float) -> None:
        super().__init__(env)
        self.delay_s = delay_s

    def step(self, action: Any) -> Any:
        time.sleep(self.delay_s)
        return self.env.step(action)


def _make(inner: str, delay_ms: float, **kwargs: Any) -> gym.Env:
    return SlowStep(gym.make(inner, **kwargs), delay_ms / 1000)


def register_slow(env_id: str) -> str | None:
    """Register ``env_id`` if it is a ``Slow<N>ms/<EnvId>`` id of a registered inner id (the
    caller registers its namespace first) and return that inner id, else None."""
    m = PATTERN.match(env_id)
    if not m or m[2] not in gym.registry:  # an unknown inner id stays an unknown id
        return None
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=_make, disable_env_checker=True,
                     kwargs={"inner": m[2], "delay_ms": float(m[1])})
    return m[2]
