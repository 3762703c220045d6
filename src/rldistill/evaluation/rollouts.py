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

from rldistill.core.signals import raise_pending
from rldistill.envs.recipe import game_scores
from rldistill.envs.make import (Variant, action_masks, check_env_id, has_masks, make_env,
                                 teacher_env)
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


class Episodes:
    """Which env plays which episode. Episode ``e`` starts from ``env.reset(seed=seed + e)``;
    an env takes the next episode when its own ends, and goes idle (episode -1) once all have
    started. An Atari episode is a whole game: AtariWrapper ends an episode at each lost life,
    :class:`GameScore` below it keeps the game's unclipped score, the episode's return."""

    def __init__(self, envs: list[Any], episodes: int, seed: int) -> None:
        self.envs, self.episodes, self.seed = envs, episodes, seed
        self.games = [game_scores(env) for env in envs]  # None where the env is no Atari game
        self.returns = [0.0] * episodes
        self.episode_of = [-1] * len(envs)
        self.obs: list[Any] = [None] * len(envs)
        self.next_ep = 0
        for i in range(len(envs)):
            if self.next_ep < episodes:
                self.obs[i], _ = envs[i].reset(seed=seed + self.next_ep)
                self._take_next(i)

    def active(self) -> list[int]:
        """The envs playing an episode."""
        return [i for i, e in enumerate(self.episode_of) if e >= 0]

    def step(self, i: int, action: Any) -> bool:
        """Env ``i`` acts; True where its episode (an Atari game's: a life) ended."""
        obs, reward, term, trunc, _ = self.envs[i].step(action)
        self.returns[self.episode_of[i]] += float(reward)
        if term or trunc:
            game = self.games[i]
            over = game is None or bool(game)  # an Atari episode is over with its game only
            if game:
                self.returns[self.episode_of[i]] = game.pop()
            if game is not None or self.next_ep < self.episodes:
                # the next episode's seed (AtariWrapper goes on with the game after a lost life)
                obs, _ = self.envs[i].reset(seed=self.seed + self.next_ep)
            if over:
                self._take_next(i)
        self.obs[i] = obs
        return bool(term or trunc)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def _take_next(self, i: int) -> None:
        """Env ``i`` plays the next episode, or goes idle when all have started."""
        if self.next_ep < self.episodes:
            self.episode_of[i], self.next_ep = self.next_ep, self.next_ep + 1
        else:
            self.episode_of[i] = -1


class Agreement:
    """Agreement (greedy actions alike), action distance and KL(reference || policy), summed
    over the visited states (the head's measures); their means per step at the end."""

    def __init__(self, head: ActionHead, reference: Any, n: int) -> None:
        self.head, self.reference = head, reference
        self.agree, self.distance, self.kl = 0.0, 0.0, 0.0
        # a recurrent reference (RecurrentPPO) carries its state per env, as the policy does
        self.memory = reference.initial_state(n) if getattr(reference, "recurrent", False) \
            else None

    def add(self, out: torch.Tensor, ref_obs: torch.Tensor, masks: torch.Tensor | None = None,
            active: list[int] | None = None) -> None:
        if self.memory is not None and active is not None:
            rows = torch.tensor(active)
            ref, self.memory[rows] = self.reference.step(ref_obs, self.memory[rows])
        else:
            ref = self.reference.outputs(ref_obs)
        ref = ref if masks is None else self.head.mask(ref, masks)
        self.agree += float(self.head.agreement(out, ref).sum())
        self.distance += float(self.head.distance(out, ref).sum())
        self.kl += float(self.head.divergence(ref, out, self.reference.kind).sum())

    def means(self, steps: int) -> dict[str, float]:
        return {"agreement": self.agree / steps, "kl": self.kl / steps,
                "distance": self.distance / steps}


def _act(policy: Any, obs: torch.Tensor, active: list[int], memory: torch.Tensor | None,
         want_outputs: bool, masks: torch.Tensor | None = None
         ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The greedy actions for the ``active`` envs' observations, and the head's outputs where
    they were computed: always for a recurrent policy (whose ``memory`` rows step along),
    else where ``want_outputs`` or where the env masks actions (``masks``: the outputs are
    masked; the random baseline draws among the valid actions)."""
    out = None
    if memory is not None:
        rows = torch.tensor(active)
        out, memory[rows] = policy.step(obs, memory[rows])
    elif want_outputs or (masks is not None and hasattr(policy, "outputs")):
        out = policy.outputs(obs)
    if masks is not None:
        if out is None:  # the random baseline
            uniform = policy.head.mask(torch.zeros(masks.shape), masks)
            return policy.head.act(uniform, policy.gen), None
        out = policy.head.mask(out, masks)
    return (policy.act(obs) if out is None else policy.head.act(out)), out


@torch.inference_mode()
def evaluate_policy(policy: Actor, env_id: str, episodes: int, seed: int,
                    reference: Any | None = None, n_parallel: int = 16,
                    variant: Variant | None = None) -> EvalResult:
    """Run ``episodes`` greedy episodes of ``policy``; batch its calls over parallel envs
    (:class:`Episodes`: seeds, and Atari games as episodes).

    With ``reference`` (a teacher), also measure on the visited states the head's agreement
    and KL (:class:`Agreement`; policy must then have ``outputs``); the reference reads the
    teacher's observations where ``env_id`` shows the policy a view of them
    (:mod:`rldistill.envs.views`). A recurrent policy (``recurrent``) carries its state per
    env, reset at each episode's start.
    """
    check_env_id(env_id)
    t0 = time.perf_counter()
    n = max(1, min(n_parallel, episodes))
    play = Episodes([make_env(env_id, variant) for _ in range(n)], episodes, seed)
    memory = policy.initial_state(n) if getattr(policy, "recurrent", False) else None  # type: ignore[attr-defined]
    metrics = None if reference is None else Agreement(policy.head, reference, n)
    masked = has_masks(play.envs[0]) and hasattr(policy.head, "mask")  # Discrete actions
    steps = 0
    try:
        while active := play.active():
            raise_pending()  # SIGINT during a final evaluation: here, between two env steps
            masks = torch.from_numpy(np.stack([action_masks(play.envs[i]) for i in active])) \
                if masked else None
            actions, out = _act(policy, _batch([play.obs[i] for i in active]), active, memory,
                                metrics is not None, masks)
            if metrics is not None:
                assert out is not None
                metrics.add(out, _batch([teacher_obs(play.envs[i], play.obs[i]) for i in active]),
                            masks, active)
            steps += len(active)
            for a, i in zip(env_rows(policy.head.to_env(actions)), active):
                if play.step(i, a):
                    for m in (memory, metrics and metrics.memory):
                        if m is not None:
                            m[i] = 0.0
    finally:
        play.close()
    return EvalResult(returns=play.returns, **(metrics.means(steps) if metrics else {}),
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
def best_us(call: Callable[[], Any], calls: int = 300, blocks: int = 3,
            block_s: float = 0.05) -> float:
    """Microseconds per ``call()``: the best of ``blocks`` blocks of ``calls`` calls, after a
    warm-up; fewer calls a block (at least 5) where ``calls`` of them would take more than
    ``block_s`` seconds (an Atari CNN's milliseconds: 9 blocks of 300 would take seconds and
    say no more)."""
    for _ in range(10):
        call()
    t0 = time.perf_counter()
    for _ in range(10):
        call()
    per_call = max((time.perf_counter() - t0) / 10, 1e-9)
    calls = min(calls, max(5, math.ceil(block_s / per_call)))
    best = math.inf
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - t0) / calls)
    return round(best * 1e6, 1)
