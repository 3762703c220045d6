"""One evaluation used everywhere: returns with 95 % CIs, agreement and KL to a reference teacher.

Episode ``e`` always starts from ``env.reset(seed=seed + e)``, so the student, the teacher and the
random policy are scored on the same start states, whatever the number of parallel envs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from rldistill.envs.recipe import game_scores
from rldistill.envs.make import Variant, check_env_id, make_env, teacher_env
from rldistill.envs.views import teacher_obs
from rldistill.heads import ActionHead, env_rows


class Actor(Protocol):
    @property
    def head(self) -> ActionHead: ...

    def act(self, obs: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class EvalResult:
    """Episode returns and, where a reference teacher was given, agreement and KL to it."""

    returns: list[float]
    agreement: float | None = None
    kl: float | None = None
    distance: float | None = None  # mean distance of the greedy actions (the head's measure)
    steps: int = 0
    wall_s: float = 0.0

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def ci95(self) -> tuple[float, float]:
        return mean_ci95(self.returns)


def t_quantile_975(dof: int) -> float:
    """Student-t 0.975 quantile (Cornish-Fisher expansion around z; < 0.2 % error for dof >= 3)."""
    if dof <= 0:
        return math.inf
    exact = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}
    if dof in exact:
        return exact[dof]
    z = 1.959964
    return (z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * dof**3))


def mean_ci95(values: list[float]) -> tuple[float, float]:
    """95 % confidence interval of the mean (Student t)."""
    x = np.asarray(values, dtype=np.float64)
    m = float(x.mean())
    if len(x) < 2:
        return (m, m)
    half = t_quantile_975(len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return (m - half, m + half)


class RandomActor:
    """Uniform-random actions from a seeded generator (the 'random' baseline of the score)."""

    def __init__(self, head: ActionHead, seed: int) -> None:
        self.head = head
        self.gen = torch.Generator().manual_seed(seed)

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head.random_actions(obs.shape[0], self.gen)


@torch.inference_mode()
def evaluate_policy(policy: Actor, env_id: str, episodes: int, seed: int,
                    reference: Any | None = None, n_parallel: int = 16,
                    variant: Variant | None = None) -> EvalResult:
    """Run ``episodes`` greedy episodes of ``policy``; batch its calls over parallel envs.
    An Atari episode is a whole game (all lives) and its return the game's unclipped score,
    though the policy acts on AtariWrapper's episodes as it was trained (:class:`GameScore`).

    With ``reference`` (a teacher), also measure on the visited states the head's agreement
    (greedy actions alike) and the mean KL(reference || policy) of the action distributions
    (policy must then have ``outputs``); the reference reads the teacher's observations where
    ``env_id`` shows the policy a view of them (:mod:`rldistill.envs.views`). A recurrent policy
    (``recurrent``) carries its state per env, reset at each episode's start.
    """
    check_env_id(env_id)
    t0 = time.perf_counter()
    n = max(1, min(n_parallel, episodes))
    envs = [make_env(env_id, variant) for _ in range(n)]
    games = [game_scores(env) for env in envs]
    returns = [0.0] * episodes
    obs_list: list[Any] = [None] * n
    episode_of = [-1] * n
    head = policy.head
    memory = policy.initial_state(n) if getattr(policy, "recurrent", False) else None  # type: ignore[attr-defined]
    next_ep, steps, agree, kl_sum, dist_sum = 0, 0, 0.0, 0.0, 0.0
    for i, env in enumerate(envs):
        if next_ep < episodes:
            obs_list[i], _ = env.reset(seed=seed + next_ep)
            episode_of[i], next_ep = next_ep, next_ep + 1
    while True:
        active = [i for i in range(n) if episode_of[i] >= 0]
        if not active:
            break
        obs = _batch([obs_list[i] for i in active])
        out = None
        if memory is not None:
            rows = torch.tensor(active)
            out, memory[rows] = policy.step(obs, memory[rows])  # type: ignore[attr-defined]
        elif reference is not None:
            out = policy.outputs(obs)  # type: ignore[attr-defined]
        actions = policy.act(obs) if out is None else head.act(out)
        if reference is not None:
            assert out is not None
            ref = reference.outputs(_batch([teacher_obs(envs[i], obs_list[i]) for i in active]))
            agree += float(head.agreement(out, ref).sum())
            dist_sum += float(head.distance(out, ref).sum())
            kl_sum += float(head.divergence(ref, out, reference.kind).sum())
        steps += len(active)
        for a, i in zip(env_rows(head.to_env(actions)), active):
            o, r, term, trunc, _ = envs[i].step(a)
            returns[episode_of[i]] += float(r)
            if (term or trunc) and memory is not None:
                memory[i] = 0.0
            done = games[i]
            if (term or trunc) and done is not None:  # a life lost, or the game over
                o, _ = envs[i].reset(seed=seed + next_ep)  # a new game only after game over
                if done:
                    returns[episode_of[i]] = done.pop()
                    episode_of[i], next_ep = ((next_ep, next_ep + 1) if next_ep < episodes
                                              else (-1, next_ep))
            elif term or trunc:
                if next_ep < episodes:
                    o, _ = envs[i].reset(seed=seed + next_ep)
                    episode_of[i], next_ep = next_ep, next_ep + 1
                else:
                    episode_of[i] = -1
            obs_list[i] = o
    for env in envs:
        env.close()
    return EvalResult(returns=returns,
                      agreement=agree / steps if reference is not None else None,
                      kl=kl_sum / steps if reference is not None else None,
                      distance=dist_sum / steps if reference is not None else None,
                      steps=steps, wall_s=time.perf_counter() - t0)


def _batch(rows: list[np.ndarray]) -> torch.Tensor:
    """Observations as one tensor: uint8 frames stay uint8, anything else becomes float32."""
    x = np.stack(rows)
    return torch.from_numpy(x if x.dtype == np.uint8 else x.astype(np.float32, copy=False))


def normalized_score(student: float, teacher: float, random: float) -> float | None:
    """(student - random) / (teacher - random); None where the teacher is no better than random."""
    gap = teacher - random
    return (student - random) / gap if gap > 1e-9 else None


def summary(res: EvalResult) -> dict[str, Any]:
    lo, hi = res.ci95
    return {"return_mean": round(res.mean, 3), "return_ci95": [round(lo, 3), round(hi, 3)],
            "episodes": len(res.returns),
            "length_mean": round(res.steps / max(1, len(res.returns)), 1)}


def score_student(student: Any, teacher: Any, env_id: str, episodes: int, seed: int,
                  cache: dict[tuple[Any, ...], EvalResult] | None = None,
                  variant: Variant | None = None) -> dict[str, Any]:
    """Student, teacher and random policy on the same episode seeds; the run's score block.

    ``cache`` keeps the teacher's and random policy's results between calls (the demo scores
    several students against one teacher).
    """
    cache = {} if cache is None else cache
    t0 = time.perf_counter()
    s = evaluate_policy(student, env_id, episodes, seed, reference=teacher, variant=variant)
    s_spec = getattr(student, "spec", teacher.spec)  # the student's own observations
    t_env = teacher_env(env_id)  # the teacher (and random policy) on the teacher's view
    key = (teacher.name, t_env, episodes, seed, repr(variant))
    if ("teacher", *key) not in cache:
        cache[("teacher", *key)] = evaluate_policy(teacher, t_env, episodes, seed,
                                                   variant=variant)
        cache[("random", *key)] = evaluate_policy(RandomActor(teacher.head, seed),
                                                  t_env, episodes, seed, variant=variant)
    t, r = cache[("teacher", *key)], cache[("random", *key)]
    score = normalized_score(s.mean, t.mean, r.mean)
    block = {
        "student": {**summary(s), "params": int(student.params)},
        "teacher": {**summary(t), "params": int(teacher.params), "name": teacher.name,
                    "kind": teacher.kind},
        "random": summary(r),
        "normalized_score": None if score is None else round(score, 4),
        "param_ratio": round(student.params / teacher.params, 4),
        "agreement": round(float(s.agreement or 0.0), 4),
        "action_distance": round(float(s.distance or 0.0), 5),
        "kl_to_teacher": round(float(s.kl or 0.0), 5),
        "latency_us": {"student": latency_us(student, s_spec.obs_shape, s_spec.obs_dtype),
                       "teacher": latency_us(teacher, teacher.spec.obs_shape,
                                             teacher.spec.obs_dtype)},
        "eval_s": round(time.perf_counter() - t0, 2),
    }
    if score is None:
        block["normalized_score_note"] = score_note(t.mean, r.mean)
    return block


def score_note(teacher: float, random: float) -> str:
    """Why a normalized score is undefined."""
    return (f"undefined: the teacher ({teacher:.1f}) is no better than the random policy "
            f"({random:.1f}) on these episodes, so there is no gap to measure the student in")


def latency_us(policy: Actor, obs_shape: tuple[int, ...], obs_dtype: str = "float32",
               calls: int = 300) -> float:
    """Microseconds per greedy action for one observation (batch 1, this process's threads)."""
    x = torch.zeros(1, *obs_shape, dtype=torch.uint8 if obs_dtype == "uint8" else torch.float32)
    return best_us(lambda: policy.act(x), calls)


@torch.inference_mode()
def best_us(call: Callable[[], Any], calls: int = 300, blocks: int = 3) -> float:
    """Microseconds per ``call()``: the best of ``blocks`` blocks of ``calls`` calls, after a
    warm-up."""
    for _ in range(20):
        call()
    best = math.inf
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - t0) / calls)
    return round(best * 1e6, 1)
