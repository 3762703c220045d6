"""How to build a teacher's env: its id, constructor arguments, wrappers and frame stack.

An SB3 zip does not store the wrappers its env had; RL Zoo writes them in ``config.yml``
(``env_wrapper``, ``frame_stack``) and ``args.yml`` / ``env_kwargs.yml`` (``env_kwargs``). An
:class:`EnvRecipe` is an env id (a ``str``: it prints, compares and serialises as the id) that
also carries those, so every place that builds an env from an id (collection, evaluation,
``--budget auto``'s checks, SB3 export) builds the teacher's. It is saved in ``student.json``
(``env_recipe``), so that evaluation and export rebuild the same env.

Wrappers are named, never imported by name from a file: only the classes of :data:`WRAPPERS`
(each under its full path and its class name) can be applied, with plain keyword arguments.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym
import numpy as np

from rldistill.core.errors import UserError
from rldistill.envs.views import FrameStack, Full, apply_view

# env id namespaces -> the installed package that registers them (imported, and its
# registration called, when such an id is asked for; the `pixels` extra installs them)
NAMESPACES = {"MinAtar": "minatar.gym", "ALE": "ale_py"}


def import_env_module(module: str) -> Any:
    """Import a package that registers env ids (``--env-module``, or ``module:EnvId``)."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # MinAtar logs that seaborn (for rendering) is missing
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise UserError(f"env module {module!r} cannot be imported ({e}): install it, or drop "
                        "it from --env / --env-module") from None
    finally:
        root.setLevel(level)


def register_namespace(env_id: str) -> None:
    """Register the ids of ``env_id``'s namespace (MinAtar/..., ALE/... and Atari's
    NoFrameskip ids, and ``Slow<N>ms/<EnvId>`` of :mod:`rldistill.envs.slow`) where they are
    not yet."""
    from rldistill.envs.slow import PATTERN, register_slow

    if env_id in gym.registry:
        return
    if m := PATTERN.match(env_id):  # the inner id's namespace first
        register_namespace(m[2])
        register_slow(env_id)
        return
    ns = env_id.split("/")[0] if "/" in env_id else "ALE" if "NoFrameskip" in env_id else ""
    if ns not in NAMESPACES:
        return
    module = import_env_module(NAMESPACES[ns])
    if ns == "ALE":
        gym.register_envs(module)
    elif not any(k.startswith(ns + "/") for k in gym.registry):
        module.register_envs()  # MinAtar registers on request


def build_env(env_id: str) -> gym.Env:
    """The env of an id or a recipe (its modules, kwargs, wrappers, stack, channel order),
    with numpy and gymnasium only (what the torch-free runtime uses; Atari's AtariWrapper comes
    from SB3, which needs torch)."""
    for module in getattr(env_id, "modules", ()):
        import_env_module(module)
    name = str(env_id)
    if ":" in name:
        import_env_module(name.split(":")[0])
    register_namespace(name.split(":")[-1])
    env = gym.make(name, **getattr(env_id, "kwargs", {}))
    return env_id.wrap(env) if isinstance(env_id, EnvRecipe) else env


# accepted name -> (module, class) of the wrapper applied
WRAPPERS: dict[str, tuple[str, str]] = {}
for _module, _name, _aliases in [
        ("stable_baselines3.common.atari_wrappers", "AtariWrapper", ()),
        ("sb3_contrib.common.wrappers", "TimeFeatureWrapper", ("rl_zoo3.wrappers",)),
        ("gymnasium.wrappers", "TimeLimit", ("gymnasium.wrappers.time_limit",)),
        ("gymnasium.wrappers", "FlattenObservation", ()),
        ("gymnasium.wrappers", "ClipAction", ()),
        ("gymnasium.wrappers", "RescaleAction", ())]:
    for _path in (_module, *_aliases):
        WRAPPERS[f"{_path}.{_name}"] = (_module, _name)
    WRAPPERS[_name] = (_module, _name)


def wrapper_entries(value: Any, where: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    """RL Zoo's ``env_wrapper`` value (a name, a {name: kwargs} or a list of them) as
    ((name, kwargs), ...), each name checked against :data:`WRAPPERS`."""
    if value in (None, "", "none", [], ()):
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if isinstance(item, str) and ":" in item:  # --env-wrapper NAME:KEY=VALUE,...
            item = {item.split(":")[0]: _keywords(item.split(":", 1)[1], where)}
        name, kwargs = (next(iter(item.items())) if isinstance(item, dict) and len(item) == 1
                        else (item, {}))
        if not isinstance(name, str) or not isinstance(kwargs, (dict, type(None))):
            raise UserError(f"{where}: env_wrapper entry {item!r} is not a name or "
                            "{name: {keyword: value}}")
        if name not in WRAPPERS:
            raise UserError(f"{where}: env wrapper {name!r} is not one rldistill applies (it "
                            f"never imports one named by a file); known: "
                            f"{', '.join(sorted(n for n in WRAPPERS if '.' not in n))}")
        out.append((name, dict(kwargs or {})))
    return tuple(out)


def _keywords(text: str, where: str) -> dict[str, Any]:
    """``max_episode_steps=100,x=1.5`` -> {"max_episode_steps": 100, "x": 1.5} (YAML values)."""
    import yaml

    out = {}
    for part in filter(None, text.split(",")):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise UserError(f"{where}: env wrapper keywords {text!r} are not KEY=VALUE,... (e.g. "
                            "TimeLimit:max_episode_steps=200)")
        out[key.strip()] = yaml.safe_load(value)
    return out


class TransposeImage(gym.ObservationWrapper):  # type: ignore[misc]
    """(H, W, C) frames -> (C, H, W), as SB3's ``VecTransposeImage`` feeds its CNN policies."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space: Any = env.observation_space
        self.observation_space = gym.spaces.Box(np.transpose(space.low, (2, 0, 1)),
                                                np.transpose(space.high, (2, 0, 1)),
                                                dtype=space.dtype)

    def observation(self, obs: np.ndarray) -> np.ndarray:
        return np.transpose(obs, (2, 0, 1))


def frame_layout(env: gym.Env) -> tuple[int, int] | None:
    """(n, axis) where ``env`` stacks its last ``n`` frames (its :class:`FrameStack`) on
    ``axis`` of the observations it returns; None where it stacks none."""
    transposed = False
    while isinstance(env, gym.Wrapper) and not isinstance(env, Full):  # the student's view's
        if isinstance(env, TransposeImage):
            transposed = True
        if isinstance(env, FrameStack):
            if isinstance(env.axis, dict):  # a Dict space's keys: its rows are stored whole
                return None
            ndim = len(env.observation_space.shape or ())
            return env.n, 0 if transposed else env.axis % ndim
        env = env.env
    return None


class GameScore(gym.Wrapper):  # type: ignore[misc]
    """Below ``AtariWrapper`` (whose episodes end at each lost life, with clipped rewards):
    each whole game's unclipped score, appended to ``finished`` when the game is over, so
    that evaluation reports game scores as the Atari literature and RL Zoo's ``enjoy`` do."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.score = 0.0
        self.finished: list[float] = []

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        self.score = 0.0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.score += float(reward)
        if terminated or truncated:
            self.finished.append(self.score)
            self.score = 0.0
        return obs, reward, terminated, truncated, info


def game_scores(env: gym.Env) -> list[float] | None:
    """The finished games' scores of an env with a :class:`GameScore` inside; None without."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, GameScore):
            return env.finished
        env = env.env
    return None


def is_atari(env_id: str) -> bool:
    """An Atari id of ALE (``BreakoutNoFrameskip-v4``, ``ALE/Breakout-v5``)."""
    return "NoFrameskip" in env_id or env_id.startswith("ALE/")


def atari_recipe(env_id: str, stack: int = 4) -> EnvRecipe:
    """The frames RL Zoo trains Atari policies on: AtariWrapper's 84 x 84 grey frames (ALE/ ids
    skip frames themselves: its frame_skip 1), ``stack`` of them stacked."""
    recipe = env_id if isinstance(env_id, EnvRecipe) else EnvRecipe(env_id)
    kwargs = {"frame_skip": 1} if recipe.startswith("ALE/") else {}
    return recipe.evolve(wrappers=(("AtariWrapper", kwargs),), frame_stack=stack)


class EnvRecipe(str):
    """An env id with the constructor arguments, wrappers, frame stack, channel order and
    modules (imported to register the id) its env needs; ``str(recipe)`` is the id."""

    kwargs: dict[str, Any]
    wrappers: tuple[tuple[str, dict[str, Any]], ...]
    frame_stack: int
    modules: tuple[str, ...]
    transpose: bool
    origin: dict[str, str]
    view: tuple[tuple[str, str], ...]  # the student's view (rldistill.envs.views), on top

    def __new__(cls, env_id: str, kwargs: dict[str, Any] | None = None,
                wrappers: tuple[tuple[str, dict[str, Any]], ...] = (), frame_stack: int = 0,
                modules: tuple[str, ...] = (), origin: dict[str, str] | None = None,
                transpose: bool = False, view: tuple[tuple[str, str], ...] = ()) -> EnvRecipe:
        self = super().__new__(cls, str(env_id))
        self.kwargs, self.wrappers = dict(kwargs or {}), tuple(wrappers)
        self.frame_stack, self.modules = int(frame_stack or 0), tuple(modules)
        self.transpose = bool(transpose)  # frames to channels-first, after the stack
        self.origin = dict(origin or {})  # which file said what (teacher info)
        self.view = tuple((str(n), str(a)) for n, a in view)
        return self

    @property
    def plain(self) -> bool:
        """Nothing beyond ``gym.make(id)``."""
        return not (self.kwargs or self.wrappers or self.frame_stack > 1 or self.modules
                    or self.transpose or self.view)

    def evolve(self, **changes: Any) -> EnvRecipe:
        fields = {"env_id": str(self), "kwargs": self.kwargs, "wrappers": self.wrappers,
                  "frame_stack": self.frame_stack, "modules": self.modules,
                  "origin": self.origin, "transpose": self.transpose, "view": self.view}
        return EnvRecipe(**{**fields, **changes})

    def wrap(self, env: gym.Env, flat: bool = False) -> gym.Env:
        """The recipe's wrappers around ``env``; with ``flat``, a Dict space still left after
        the named wrappers and the frame stack (each key stacked on its own, as SB3's
        ``VecFrameStack`` does) becomes one vector (:mod:`rldistill.envs.keys`) before the
        view."""
        for name, kwargs in self.wrappers:
            module, cls = WRAPPERS[name]
            env = GameScore(env) if cls == "AtariWrapper" else env
            try:
                env = getattr(importlib.import_module(module), cls)(env, **kwargs)
            except TypeError as e:
                raise UserError(f"env wrapper {name} does not take {kwargs} ({e}): give its "
                                f"keywords as --env-wrapper {name}:KEY=VALUE,...") from None
        env = FrameStack(env, self.frame_stack) if self.frame_stack > 1 else env
        if flat and isinstance(env.observation_space, gym.spaces.Dict):
            from rldistill.envs.keys import FlatKeys

            env = FlatKeys(env, f"env {self}")
        env = TransposeImage(env) if self.transpose else env
        return apply_view(env, self.view, str(self)) if self.view else env

    def teacher(self) -> str:
        """This env as the teacher sees it: without the student's view."""
        if not self.view:
            return self
        recipe = self.evolve(view=())
        return recipe if not recipe.plain else str(recipe)

    def to_json(self) -> dict[str, Any]:
        return {"id": str(self), "kwargs": self.kwargs,
                "wrappers": [[n, k] for n, k in self.wrappers],
                "frame_stack": self.frame_stack, "modules": list(self.modules),
                "transpose": self.transpose, **({"view": [list(v) for v in self.view]}
                                                 if self.view else {})}

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str) -> EnvRecipe:
        wrappers = wrapper_entries([{n: k} for n, k in doc.get("wrappers", [])], where)
        return cls(doc["id"], doc.get("kwargs"), wrappers, doc.get("frame_stack", 0),
                   tuple(doc.get("modules", ())), transpose=bool(doc.get("transpose", False)),
                   view=tuple(tuple(v) for v in doc.get("view", ())))

    def __reduce__(self) -> Any:  # pickles (e.g. to a subprocess) as a recipe, not a str
        return (_rebuild, (self.to_json(),))


def _rebuild(doc: dict[str, Any]) -> EnvRecipe:
    return EnvRecipe.from_json(doc, "recipe")
