"""``--collectors N``: the loop's envs stepped by N Ray actors (each a contiguous slice of the
envs, in its own process), for envs whose stepping dominates a run (slow simulators). Where the
actors may play a round on their own (:mod:`rldistill.engine.ahead`) they do; this module's
lockstep stepping is for recurrent students and student views, and for replaying a checkpoint.

:class:`RemoteVecEnv` has :class:`rldistill.envs.make.BatchEnv`'s interface and semantics: env ``i``
is first reset with ``seed + i`` and resets itself at an episode's end, whichever actor holds
it. Stepped in lock, the learner chooses every action and labels every step with the teacher
(one batched call): such a run is the same run, bit for bit, as one without collectors, for
every N; a checkpoint replays its logged actions through the actors as through local envs.
Each lockstep step is one round trip to every actor (about a millisecond with Ray on one
machine).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from rldistill.envs.make import BatchEnv, Variant, make_env
from rldistill.core.ray import ray_session


class _Collector:
    """One actor's envs: global env indices ``first .. first + n - 1`` of the vec env, and
    their current observations and episode starts (what a round played ahead starts from)."""

    def __init__(self, env_id: str, first: int, n: int, variants: list[Variant]) -> None:
        import torch

        torch.set_num_threads(1)
        self.first = first
        self.venv = BatchEnv([make_env(env_id, variants[(first + i) % len(variants)])
                              for i in range(n)])

    def _out(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        self.obs = obs
        tobs = self.venv.teacher_obs
        return obs, None if tobs is None else tobs.copy()

    def reset(self, seed: int | None) -> tuple[np.ndarray, np.ndarray | None]:
        self.starts = np.ones(self.venv.num_envs, dtype=bool)
        return self._out(self.venv.reset(seed=None if seed is None else seed + self.first)[0])

    def step(self, actions: np.ndarray) -> tuple[Any, ...]:
        obs, rewards, terms, truncs, _ = self.venv.step(actions)
        self.starts = terms | truncs
        return (*self._out(obs), rewards, terms, truncs)

    def run(self, fn: Any, *args: Any) -> Any:
        """``fn(self, *args)`` in this actor (:mod:`rldistill.engine.ahead` plays a round)."""
        return fn(self, *args)


class RemoteVecEnv:
    """:class:`BatchEnv`'s interface over ``n_actors`` Ray actors (see the module's text);
    ``envs`` holds one local env, never stepped, for what the loop reads off an env's wrappers
    (spaces, frame stack)."""

    def __init__(self, env_id: str, n_envs: int, n_actors: int,
                 variants: list[Variant] | None = None, address: str | None = None,
                 cpus: int | None = None) -> None:
        self._stack = contextlib.ExitStack()  # a local Ray: ``cpus`` (every task's actors)
        ray = self._stack.enter_context(ray_session(address, cpus=cpus or n_actors + 1))
        self.num_envs, vs = n_envs, variants or [{}]
        self.envs = [make_env(env_id, vs[0])]
        n_actors = max(1, min(n_actors, n_envs))
        bounds = [n_envs * k // n_actors for k in range(n_actors + 1)]
        remote = ray.remote(num_cpus=1)(_Collector)
        self.slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        self.actors = [remote.remote(env_id, s.start, s.stop - s.start, vs) for s in self.slices]
        self._ray = ray
        self.teacher_obs: np.ndarray | None = None
        self.masks = None  # envs with action masks are refused with --collectors

    def _gather(self, calls: list[Any]) -> list[Any]:
        parts = self._ray.get(calls)
        tobs = [p[1] for p in parts]
        self.teacher_obs = None if tobs[0] is None else np.concatenate(tobs)
        return parts

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict]:
        parts = self._gather([a.reset.remote(seed) for a in self.actors])
        return np.concatenate([p[0] for p in parts]), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray, dict]:
        parts = self._gather([a.step.remote(actions[s]) for a, s in zip(self.actors,
                                                                       self.slices)])
        obs, rewards, terms, truncs = (np.concatenate([p[i] for p in parts])
                                       for i in (0, 2, 3, 4))
        return obs, rewards, terms, truncs, {}

    def close(self) -> None:
        for env in self.envs:
            env.close()
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []
        self._stack.close()


def remote_vec_env(env_id: str, n_envs: int, seed: int, variants: Any, collectors: int,
                   address: str | None, cpus: int | None = None) -> Any:
    """``--collectors N``: the envs stepped by N Ray actors, reset as
    :func:`~rldistill.envs.make.make_vec_env` resets local ones."""
    venv = RemoteVecEnv(env_id, n_envs, collectors, variants, address, cpus)
    venv.reset(seed=seed)
    return venv
