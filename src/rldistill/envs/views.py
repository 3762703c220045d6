"""Student views: the teacher is labelled on the env's full observation while the student learns
and acts on a view of it (``--student-obs``), as a privileged teacher in simulation teaches a
student that must act from what a real robot senses (e.g. Lee et al. 2020, "Learning quadrupedal
locomotion over challenging terrain").

A view is a chain of Gymnasium observation wrappers, written ``NAME:ARGS`` joined by ``+``:

- ``drop:1,3`` drops entries by index, or by name where :data:`ENTRY_NAMES` names the env's
  entries (``drop:velocities`` for CartPole and LunarLander);
- ``noise:0.1`` adds Gaussian noise of that standard deviation (in the observation's units),
  drawn from a generator seeded by the env's reset seed;
- ``delay:2`` shows the observation of 2 steps before (an episode's first observation until
  then);
- ``pixels:64`` the env's rendering, grey (inverted: objects bright on black), resized to
  64 x 64, as (1, 64, 64) uint8;
  ``stack:N`` stacks the last N (channel-first, zeros before an episode's first);
- ``mypkg.wrappers:MyView`` any ``gymnasium.ObservationWrapper`` subclass, imported by its
  Python path (the user names the code that runs: nothing is imported from a file).

:class:`TwoViews` sits on top: its observations are the student's, and ``teacher_obs`` the
observation below the view (the teacher's) of the same step. Both reach the loop's buffer
(:class:`rldistill.envs.make.BatchEnv`), evaluation and the run's ``env_recipe``.
"""

from __future__ import annotations

import importlib
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from rldistill.core.errors import UserError

ENTRY_NAMES: dict[str, dict[str, tuple[int, ...]]] = {
    "CartPole": {"cart_position": (0,), "cart_velocity": (1,), "pole_angle": (2,),
                 "pole_angular_velocity": (3,), "velocities": (1, 3)},
    "LunarLander": {"x": (0,), "y": (1,), "vx": (2,), "vy": (3,), "angle": (4,),
                    "angular_velocity": (5,), "left_leg": (6,), "right_leg": (7,),
                    "velocities": (2, 3, 5)},
    "Pendulum": {"cos_theta": (0,), "sin_theta": (1,), "theta_dot": (2,), "velocities": (2,)},
    "Acrobot": {"theta_dot1": (4,), "theta_dot2": (5,), "velocities": (4, 5)},
    "MountainCar": {"position": (0,), "velocity": (1,), "velocities": (1,)},
}
BUILT_IN = ("drop", "noise", "delay", "pixels", "stack")
View = tuple[tuple[str, str], ...]  # ((name or python path, argument text), ...)


def parse_view(text: str) -> View:
    """``drop:1,3+noise:0.1`` -> (("drop", "1,3"), ("noise", "0.1")); a Python path
    ``pkg.mod:Class`` is one entry (its argument is empty)."""
    out = []
    for part in str(text).split("+"):
        name, _, arg = part.strip().partition(":")
        if "." in name and arg and arg[:1].isupper():  # pkg.module:Class
            name, arg = f"{name}:{arg}", ""
        if name not in BUILT_IN and ":" not in name:
            raise UserError(f"--student-obs {text!r}: unknown view {name!r}; use drop:I,J, "
                            "noise:STD, delay:K, pixels:SIZE, stack:N (joined by +) or a "
                            "wrapper's Python path pkg.module:Class")
        out.append((name, arg))
    return tuple(out)


class Full(gym.Wrapper):  # type: ignore[misc]
    """Below the view: keeps the last observation it passed up (the teacher's)."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        self.last = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict]:
        obs, *rest = self.env.step(action)
        self.last = obs
        return (obs, *rest)  # type: ignore[return-value]


class TwoViews(gym.Wrapper):  # type: ignore[misc]
    """The student's view on top, the teacher's observation of the same step in
    :attr:`teacher_obs`; :attr:`teacher_space` is the observation space below the view."""

    def __init__(self, env: gym.Env, full: Full) -> None:
        super().__init__(env)
        self.full = full
        self.teacher_space = full.observation_space

    @property
    def teacher_obs(self) -> Any:
        return self.full.last


def apply_view(env: gym.Env, view: View, env_id: str) -> TwoViews:
    """``env`` under the view's wrappers, with :class:`TwoViews` on top."""
    full = Full(env)
    out: gym.Env = full
    for name, arg in view:
        out = _wrapper(out, name, arg, env_id)
    return TwoViews(out, full)


def teacher_obs(env: gym.Env, obs: Any) -> Any:
    """The teacher's observation of the step whose student observation is ``obs``."""
    return env.teacher_obs if isinstance(env, TwoViews) else obs


def _number(name: str, arg: str, kind: type, low: float) -> Any:
    try:
        value = kind(arg)
    except ValueError:
        value = None
    if value is None or value < low:
        raise UserError(f"--student-obs {name}:{arg}: {name} takes a number >= {low}, e.g. "
                        f"{name}:{2 if kind is int else 0.1}")
    return value


def _wrapper(env: gym.Env, name: str, arg: str, env_id: str) -> gym.Env:
    if name == "drop":
        return DropEntries(env, _indices(arg, env_id, env))
    if name == "noise":
        return GaussianNoise(env, _number(name, arg, float, 0.0))
    if name == "delay":
        return Delay(env, _number(name, arg, int, 1))
    if name == "pixels":
        return Pixels(env, _number(name, arg, int, 8))
    if name == "stack":
        return FrameStack(env, _number(name, arg, int, 1))
    module, _, cls = name.partition(":")
    try:
        wrapper = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as e:
        raise UserError(f"--student-obs {name}: cannot import it ({e}): give an installed "
                        "module's ObservationWrapper as pkg.module:Class") from None
    if not (isinstance(wrapper, type) and issubclass(wrapper, gym.ObservationWrapper)):
        raise UserError(f"--student-obs {name} is not a gymnasium.ObservationWrapper subclass")
    return wrapper(env)


def _indices(arg: str, env_id: str, env: gym.Env) -> tuple[int, ...]:
    dim = int(np.prod(env.observation_space.shape or ()))
    names = ENTRY_NAMES.get(str(env_id).split(":")[-1].split("-")[0], {})
    out: list[int] = []
    for item in (s.strip() for s in arg.split(",") if s.strip()):
        if item.lstrip("-").isdigit():
            if not -dim <= int(item) < dim:
                raise UserError(f"--student-obs drop:{arg}: index {item} is outside {env_id}'s "
                                f"{dim} entries (0..{dim - 1})")
            out.append(int(item) % dim)
        elif item in names:
            out.extend(names[item])
        else:
            known = f" (names: {', '.join(names)})" if names else ""
            raise UserError(f"--student-obs drop:{arg}: {item!r} is not an entry of {env_id}'s "
                            f"observation: give indices 0..{dim - 1}{known}")
    if not out or len(set(out)) >= dim:
        raise UserError(f"--student-obs drop:{arg}: drop at least one and at most "
                        f"{dim - 1} of the {dim} entries")
    return tuple(sorted(set(out)))


def _box(space: Any, low: Any, high: Any, shape: tuple[int, ...] | None = None) -> gym.spaces.Box:
    return gym.spaces.Box(low, high, shape=shape, dtype=space.dtype)


class DropEntries(gym.ObservationWrapper):  # type: ignore[misc]
    """Vector observations without the entries at ``drop``."""

    def __init__(self, env: gym.Env, drop: tuple[int, ...]) -> None:
        super().__init__(env)
        space: Any = env.observation_space
        self.keep = np.array([i for i in range(int(np.prod(space.shape))) if i not in drop])
        low, high = space.low.reshape(-1)[self.keep], space.high.reshape(-1)[self.keep]
        self.observation_space = _box(space, low, high)

    def observation(self, obs: np.ndarray) -> np.ndarray:
        return np.asarray(obs).reshape(-1)[self.keep]


class GaussianNoise(gym.ObservationWrapper):  # type: ignore[misc]
    """Observations plus N(0, std^2) noise; its generator is seeded at ``reset(seed=...)``
    (not the env's own, whose draws would change the episodes)."""

    def __init__(self, env: gym.Env, std: float) -> None:
        super().__init__(env)
        self.std, self.gen = std, np.random.default_rng(0)
        space: Any = env.observation_space
        self.observation_space = _box(space, -np.inf, np.inf, space.shape)

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        if kwargs.get("seed") is not None:
            self.gen = np.random.default_rng([int(kwargs["seed"]), 0x5EED])
        return super().reset(**kwargs)

    def observation(self, obs: np.ndarray) -> np.ndarray:
        noisy = obs + self.std * self.gen.standard_normal(np.shape(obs))
        return noisy.astype(self.observation_space.dtype)


class Delay(gym.ObservationWrapper):  # type: ignore[misc]
    """The observation of ``k`` steps before (the episode's first one until there is one)."""

    def __init__(self, env: gym.Env, k: int) -> None:
        super().__init__(env)
        self.k = k
        self.past: deque[np.ndarray] = deque(maxlen=k + 1)

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        self.past.clear()
        self.past.extend([obs] * self.k)
        return self.observation(obs), info

    def observation(self, obs: np.ndarray) -> np.ndarray:
        self.past.append(obs)
        return self.past[0]


class Pixels(gym.ObservationWrapper):  # type: ignore[misc]
    """The env's ``rgb_array`` rendering, grey, inverted (classic-control envs draw dark
    objects on white: inverted, the objects are the bright, sparse part, as in Atari and MinAtar
    frames) and resized to ``size`` x ``size`` (OpenCV's area interpolation), channel-first
    uint8 (1, size, size): what a CNN student reads."""

    def __init__(self, env: gym.Env, size: int) -> None:
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise UserError("--student-obs pixels needs an env that renders rgb_array frames")
        self.size = size
        self.observation_space = gym.spaces.Box(0, 255, (1, size, size), np.uint8)

    def observation(self, obs: Any) -> np.ndarray:
        try:
            import cv2
        except ImportError:
            raise UserError("--student-obs pixels needs OpenCV: pip install "
                            "'rldistill[pixels]'") from None
        frame = np.asarray(self.env.render())
        grey = 255 - cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, (self.size, self.size), interpolation=cv2.INTER_AREA)[None]


class FrameStack(gym.ObservationWrapper):  # type: ignore[misc]
    """SB3's ``VecFrameStack`` for one env: the last ``n`` observations concatenated on the
    channel axis (the last one, or the first for channel-first images), zeros before the
    first observation of an episode. A Dict space's keys are stacked each on its own axis, as
    SB3 stacks them (``axis`` is then a dict: 0 for channel-first image keys, else -1)."""

    def __init__(self, env: gym.Env, n: int) -> None:
        super().__init__(env)
        space: Any = env.observation_space
        self.n = n
        self.frames: deque[Any] = deque(maxlen=n)
        if isinstance(space, gym.spaces.Dict):
            from rldistill.envs.keys import obs_keys

            keys = obs_keys(space, "the env")  # Box keys only, else its one-line error
            self.axis: Any = {k.name: 0 if k.image and not k.channels_last else -1
                              for k in keys}
            self.observation_space = gym.spaces.Dict(
                {k: _stacked(space[k], n, a) for k, a in self.axis.items()})
            self._zero: Any = {k: np.zeros(space[k].shape, space[k].dtype) for k in self.axis}
            return
        shape = tuple(space.shape)
        self.axis = 0 if len(shape) == 3 and shape[0] < shape[-1] and shape[0] in (1, 3) else -1
        self.observation_space = _stacked(space, n, self.axis)
        self._zero = np.zeros(shape, dtype=space.dtype)

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        self.frames.extend([self._zero] * self.n)
        return self.observation(obs), info

    def observation(self, obs: Any) -> Any:
        self.frames.append(obs)
        if isinstance(self.axis, dict):
            return {k: np.concatenate([f[k] for f in self.frames], a)
                    for k, a in self.axis.items()}
        return np.concatenate(list(self.frames), self.axis)


def _stacked(space: Any, n: int, axis: int) -> gym.spaces.Box:
    return gym.spaces.Box(np.repeat(space.low, n, axis), np.repeat(space.high, n, axis),
                          dtype=space.dtype)
