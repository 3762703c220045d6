"""Vectorized Gymnasium environments, seeding, and the checks of teacher/student spaces against
an env."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from rldistill.envs.recipe import (EnvRecipe, atari_recipe, import_env_module, is_atari,
                                   register_namespace)
from rldistill.core.errors import UserError
from rldistill.heads import HEADS, env_rows
from rldistill.core.spaces import ActionSpec, SpaceSpec, dict_spec
from rldistill.envs.keys import FlatKeys, keys_of, obs_keys
from rldistill.envs.sim_warnings import mujoco_warnings_once
from rldistill.envs.views import TwoViews

__all__ = ["EnvRecipe", "import_env_module"]


def check_env_id(env_id: str) -> None:
    """Fail with a one-line message when ``env_id`` is not a registered Gymnasium env
    (``module:EnvId`` imports ``module`` first, as ``gym.make`` does; the namespaces of
    :data:`NAMESPACES`, and Atari's ``NoFrameskip`` ids, import their package)."""
    for module in getattr(env_id, "modules", ()):
        import_env_module(module)
    if ":" in env_id:
        module, _, env_id = env_id.partition(":")
        import_env_module(module)
    register_namespace(env_id)
    if env_id not in gym.registry:
        close = [k for k in gym.registry if k.split("-")[0].lower() == env_id.split("-")[0].lower()]
        hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
        raise UserError(f"unknown env id {env_id!r}{hint}: pass a registered Gymnasium id such "
                        "as LunarLander-v3 (ids of other packages: --env-module PKG, or "
                        "--env PKG:ID)")


Variant = dict[str, float]


def make_env(env_id: str, variant: Variant | None = None, render_mode: str | None = None,
             flat: bool = True) -> gym.Env:
    """``gym.make(env_id)`` with physical parameters changed: constructor arguments where the env
    takes them (LunarLander gravity, wind_power), attributes of the unwrapped env otherwise
    (CartPole length, masspole, gravity; Acrobot LINK_MASS_1, ...). An :class:`EnvRecipe` adds
    its constructor arguments, wrappers and frame stack. A Dict observation space comes as
    one vector (:mod:`rldistill.envs.keys`) unless ``flat`` is False (SB3's own env)."""
    check_env_id(env_id)
    mujoco_warnings_once(env_id)
    variant = dict(variant or {})
    ctor = _ctor_params(env_id) if variant else set()  # building an env to ask costs one more
    kwargs: dict[str, Any] = {k: v for k, v in variant.items() if k in ctor}
    if render_mode:
        kwargs["render_mode"] = render_mode
    env = _set_variant(gym.make(str(env_id), **{**getattr(env_id, "kwargs", {}), **kwargs}),
                       env_id, variant, ctor)
    if isinstance(env_id, EnvRecipe):  # its named wrappers see the env's own (Dict) space
        return env_id.wrap(env, flat=flat)
    return FlatKeys(env, f"env {env_id}") if flat and isinstance(
        env.observation_space, gym.spaces.Dict) else env


def _set_variant(env: gym.Env, env_id: str, variant: Variant, ctor: set[str]) -> gym.Env:
    u: Any = env.unwrapped
    for name, value in variant.items():
        if name in ctor:
            continue
        if not hasattr(u, name) or name.startswith("_"):
            known = sorted(k for k, v in {**vars(type(u)), **vars(u)}.items()
                           if isinstance(v, (int, float)) and not k.startswith("_")) + sorted(ctor)
            raise UserError(f"env {env_id} has no physical parameter {name!r}: choose one of "
                            f"{', '.join(known)}")
        setattr(u, name, type(getattr(u, name))(value))
    if hasattr(u, "polemass_length"):  # CartPole caches these products
        u.total_mass = u.masspole + u.masscart
        u.polemass_length = u.masspole * u.length
    return env


def _ctor_params(env_id: str) -> set[str]:
    import inspect

    env = gym.make(str(env_id), **getattr(env_id, "kwargs", {}))
    try:
        names = set(inspect.signature(type(env.unwrapped).__init__).parameters)
    finally:
        env.close()
    return names - {"self", "render_mode"}


def parse_variants(text: str) -> tuple[str, list[float]]:
    """'length=0.25,0.5,1.0' -> ('length', [0.25, 0.5, 1.0])."""
    name, _, values = str(text).partition("=")
    try:
        vals = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        vals = []
    if not name.strip() or not vals:
        raise UserError(f"variant {text!r} is not NAME=V1,V2,...: write e.g. length=0.25,0.5,1.0")
    return name.strip(), vals


class BatchEnv:
    """``n`` envs stepped one after another into one preallocated observation array.

    The same semantics as ``gym.vector.SyncVectorEnv`` with SAME_STEP autoreset (env ``i`` is
    first reset with ``seed + i``; the observation returned after a terminal step is already the
    first observation of the next episode, so every returned observation is one a policy acts
    on), without its per-step info merging and copies: 10-15 % faster on LunarLander-v3
    (benchmarks/README.md). Async vector envs were 6-17x slower on 2 cores.
    """

    def __init__(self, envs: list[gym.Env]) -> None:
        self.envs = envs
        self.num_envs = len(envs)
        self._obs = _obs_array(envs[0].observation_space, self.num_envs)
        # with a student view (rldistill.envs.views): the teacher's observations of the same steps
        first: Any = envs[0]
        views = isinstance(first, TwoViews)
        self.teacher_obs = _obs_array(first.teacher_space, self.num_envs) if views else None
        # envs with action_masks() (sb3-contrib's convention): each env's valid actions now
        self.masks = np.ones((self.num_envs, int(first.action_space.n)), bool) \
            if has_masks(first) and isinstance(first.action_space, gym.spaces.Discrete) else None

    def _mask(self, i: int, env: Any) -> None:
        if self.masks is not None:
            self.masks[i] = action_masks(env)

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict]:
        env: Any
        for i, env in enumerate(self.envs):
            self._obs[i] = env.reset(seed=None if seed is None else seed + i)[0]
            if self.teacher_obs is not None:
                self.teacher_obs[i] = env.teacher_obs
            self._mask(i, env)
        return self._obs.copy(), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                  dict]:
        n = self.num_envs
        rewards, terms, truncs = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
        env: Any
        for i, (env, a) in enumerate(zip(self.envs, env_rows(actions))):
            o, rewards[i], terms[i], truncs[i], _ = env.step(a)
            if terms[i] or truncs[i]:
                o, _ = env.reset()
            self._obs[i] = o
            if self.teacher_obs is not None:
                self.teacher_obs[i] = env.teacher_obs
            self._mask(i, env)
        return self._obs.copy(), rewards, terms, truncs, {}

    def close(self) -> None:
        for env in self.envs:
            env.close()


def has_masks(env: Any) -> bool:
    """Whether the env masks actions (``action_masks()``, on the env or a wrapper, where
    sb3-contrib's MaskablePPO reads them)."""
    try:
        return callable(env.get_wrapper_attr("action_masks"))
    except AttributeError:
        return False


def action_masks(env: Any) -> np.ndarray:
    """The valid actions of an env that :func:`has_masks`, now."""
    return np.asarray(env.get_wrapper_attr("action_masks")(), bool)


def _obs_array(space: gym.Space, n: int) -> np.ndarray:
    dtype = np.uint8 if space.dtype == np.uint8 else np.float32
    return np.zeros((n, *(space.shape or ())), dtype)


def teacher_env(env_id: str) -> str:
    """The env as the teacher sees it: ``env_id`` without the student's view."""
    return env_id.teacher() if isinstance(env_id, EnvRecipe) else env_id


def student_view(venv: BatchEnv, teacher: SpaceSpec) -> SpaceSpec | None:
    """The student's observation space (with the teacher's actions) where ``venv``'s envs show
    it a view of the teacher's observations; None where both see the same."""
    if venv.teacher_obs is None:
        return None
    space: Any = venv.envs[0].observation_space
    return SpaceSpec(tuple(int(d) for d in space.shape), teacher.action,
                     "uint8" if space.dtype == np.uint8 else "float32")


def make_vec_env(env_id: str, n_envs: int, seed: int, variants: list[Variant] | None = None
                 ) -> BatchEnv:
    """``n_envs`` copies of ``env_id`` as a :class:`BatchEnv`, reset with ``seed``.

    Env ``i`` gets ``variants[i % len(variants)]`` (training on several physical variants).
    """
    check_env_id(env_id)
    vs = variants or [{}]
    venv = BatchEnv([make_env(env_id, vs[i % len(vs)]) for i in range(n_envs)])
    venv.reset(seed=seed)
    return venv


def sb3_vec_env(env_id: str, n_envs: int, seed: int) -> Any:
    """SB3's ``make_vec_env`` (its Monitor and seeding) of envs :func:`make_env` builds (an
    :class:`EnvRecipe`'s wrappers, frame stack and kwargs): the envs of the SB3 models that
    kickstart, finetune and teacher training train."""
    from stable_baselines3.common.env_util import make_vec_env as sb3_make

    return sb3_make(lambda: make_env(env_id), n_envs=n_envs, seed=seed)


def env_spec(env_id: str) -> SpaceSpec:
    """The :class:`SpaceSpec` of ``env_id`` (one instance is built and closed)."""
    env = make_env(env_id)
    try:
        flat = keys_of(env)
        space = env.observation_space
        if flat and space.shape == (sum(k.size for k in flat),):  # a Dict space, flattened
            return dict_spec(flat, spec_of(space, env.action_space, f"env {env_id}").action)
        return spec_of(space, env.action_space, f"env {env_id}")
    finally:
        env.close()


def spec_of(obs_space: gym.Space, act_space: gym.Space, who: str) -> SpaceSpec:
    """The :class:`SpaceSpec` of a Gymnasium observation and action space; one-line errors for
    spaces rldistill has no head for."""
    if isinstance(act_space, gym.spaces.Discrete):
        action = ActionSpec("discrete", int(act_space.n))
    elif isinstance(act_space, gym.spaces.Box):
        action = ActionSpec("box", shape=tuple(int(d) for d in act_space.shape),
                            low=tuple(float(x) for x in act_space.low.flat),
                            high=tuple(float(x) for x in act_space.high.flat))
    elif isinstance(act_space, gym.spaces.MultiDiscrete) and act_space.nvec.ndim == 1 \
            and not act_space.start.any():
        action = ActionSpec("multi_discrete", nvec=tuple(int(n) for n in act_space.nvec))
    elif isinstance(act_space, gym.spaces.MultiBinary) and len(act_space.shape) == 1:
        action = ActionSpec("multi_binary", int(act_space.shape[0]))
    else:
        raise UserError(f"{who} has action space {act_space}; rldistill distils Discrete, Box, "
                        "MultiDiscrete (1-d, from 0) and MultiBinary (1-d) action spaces: use "
                        "an env with one of those")
    if not any(kind == action.kind for kind, _ in HEADS.values()):
        raise UserError(f"{who}: no action head for {action.describe()} yet")
    if isinstance(obs_space, gym.spaces.Dict):
        return dict_spec(obs_keys(obs_space, who), action)
    if not isinstance(obs_space, gym.spaces.Box):
        raise UserError(f"{who} has observation space {obs_space}; rldistill reads Box and Dict "
                        "(of Box keys) observations: wrap the env with a FlattenObservation "
                        "wrapper")
    dtype = "uint8" if obs_space.dtype == np.uint8 else "float32"
    return SpaceSpec(tuple(int(d) for d in obs_space.shape), action, dtype)


def map_env_id(env_id: str, teacher: SpaceSpec) -> str:
    """An env id this Gymnasium no longer builds (``LunarLander-v2``, MuJoCo ``-v2`` / ``-v3``)
    -> the newest version whose spaces are the teacher's, with a one-line notice on stderr;
    where every newer version has other spaces, a one-line error naming them. Ids it builds,
    and ids of other packages (``PKG:ID``), are kept."""
    import re
    import sys

    name = str(env_id)
    m = re.fullmatch(r"(.+)-v(\d+)", name)
    if ":" in name or not m:
        return env_id
    newer = sorted((int(k.rsplit("-v", 1)[1]), k) for k in gym.registry
                   if re.fullmatch(re.escape(m[1]) + r"-v\d+", k)
                   and int(k.rsplit("-v", 1)[1]) > int(m[2]))
    if name in gym.registry and (not newer or _makeable(name)):
        return env_id
    tried = []
    for _, candidate in reversed(newer):  # the newest first: what Gymnasium recommends
        spec = env_spec(_same_recipe(env_id, candidate))
        if spec == teacher:
            print(f"rldistill: env {name} is not available in this Gymnasium; using {candidate}, "
                  "which has the same spaces", file=sys.stderr)
            return _same_recipe(env_id, candidate)
        tried.append(f"{candidate} has {spec.describe()}")
    if not tried:
        return env_id  # unknown: check_env_id says so
    raise UserError(f"env {name} is not available in this Gymnasium and its successors differ "
                    f"from the teacher's {teacher.describe()} ({'; '.join(tried)}): pass --env "
                    "with an env of the teacher's spaces")


def _makeable(env_id: str) -> bool:
    """False for ids Gymnasium keeps registered but no longer builds (LunarLander-v2, MuJoCo
    -v2 / -v3: their dependency moved away)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "out of date" deprecation warnings
            gym.make(env_id).close()
    except (ImportError, gym.error.Error):
        return False
    return True


def _same_recipe(env_id: str, new_id: str) -> str:
    return env_id.evolve(env_id=new_id) if isinstance(env_id, EnvRecipe) else new_id


def task_env(env_id: str, teacher: Any, cfg: Any) -> str:
    """The env a task collects on and is scored on: the recipe the teacher's source names (RL
    Zoo's wrappers, frame stack, env kwargs) where it names this env, with --env-wrapper,
    --frame-stack and --env-module applied; the plain id where nothing is added."""
    from rldistill.envs.recipe import wrapper_entries

    members = getattr(teacher, "members", [teacher])
    named = [m.source.get("env_recipe") for m in members if hasattr(m, "source")]
    base = next((r for r in named if r is not None and r.split(":")[-1] ==
                 str(env_id).split(":")[-1]), None)
    recipe = base if base is not None else EnvRecipe(str(env_id))
    if isinstance(env_id, EnvRecipe):
        recipe = env_id
    if cfg.env_wrapper:
        recipe = recipe.evolve(wrappers=wrapper_entries(
            list(cfg.env_wrapper) if isinstance(cfg.env_wrapper, tuple) else cfg.env_wrapper,
            "--env-wrapper"))
    if cfg.frame_stack is not None:
        recipe = recipe.evolve(frame_stack=cfg.frame_stack)
    if cfg.env_modules:
        recipe = recipe.evolve(modules=tuple(cfg.env_modules))
    if getattr(cfg, "student_obs", None):
        from rldistill.envs.views import parse_view

        view = parse_view(cfg.student_obs)
        recipe = recipe.evolve(view=view)
        if any(name == "pixels" for name, _ in view):  # the view renders frames
            recipe = recipe.evolve(kwargs={**recipe.kwargs, "render_mode": "rgb_array"})
    spec = getattr(teacher, "spec", None)
    if spec is not None and len(spec.obs_shape) == 3:
        recipe = fit_frames(recipe, spec, cfg)
    return env_id if recipe.plain else recipe


def fit_frames(recipe: EnvRecipe, teacher: SpaceSpec, cfg: Any) -> EnvRecipe:
    """What a pixel teacher's frames need, where the env gives other ones: SB3 feeds CNN
    policies channel-first (its VecTransposeImage), and Atari teachers 84 x 84 grey frames
    (AtariWrapper) stacked as many as the teacher's channels. Added unless --env-wrapper or
    --frame-stack say otherwise; ALE/ ids skip frames themselves (AtariWrapper's frame_skip 1)."""
    t = teacher.obs_shape
    got = env_spec(recipe).obs_shape
    if got != t and is_atari(recipe) and not recipe.wrappers and t[1:] == (84, 84) \
            and not cfg.env_wrapper and cfg.frame_stack is None:
        recipe = atari_recipe(recipe, t[0])
        got = env_spec(recipe).obs_shape
    if got != t and len(got) == 3 and (got[2], got[0], got[1]) == t and not recipe.transpose:
        recipe = recipe.evolve(transpose=True)
    return recipe


def check_masks(cfg: Any, teacher: Any | None, env_id: str) -> None:
    """On an env with action masks (``action_masks()``, sb3-contrib's convention) the teacher's
    outputs and every policy's actions are masked (a MaskablePPO teacher's, or any Discrete
    teacher's); the options that do not mask yet are refused in one line."""
    env = make_env(env_id)
    try:
        masked = has_masks(env)
    finally:
        env.close()
    if not masked:
        return
    if teacher is not None and not hasattr(teacher.head, "mask"):  # the head masks, or not
        raise UserError(f"env {env_id} masks actions (action_masks()): rldistill masks Discrete "
                        f"actions only, this teacher has {teacher.spec.action.describe()}")
    for flag, on in (("--collectors", cfg.collectors), ("--perturb", cfg.perturb),
                     ("--loss mse", cfg.loss == "mse"),
                     ("--sobolev", cfg.sobolev), ("--dart", cfg.dart),
                     ("--teacher-train", cfg.teacher_train)):
        if on:
            raise UserError(f"env {env_id} masks actions (action_masks()) and {flag} does not "
                            f"mask them yet: drop {flag}")


def check_match(teacher: SpaceSpec, env: SpaceSpec, teacher_name: str, env_id: str) -> None:
    """One-line error naming both spaces when the teacher was trained on other spaces. A
    teacher of the flat vector of a Dict env (one trained by rldistill, on :class:`FlatKeys`)
    matches it."""
    flat = not teacher.keys and dataclasses.replace(env, keys=()) == teacher
    if teacher != env and not flat:
        hint = ("pass the env the teacher was trained on" if len(teacher.obs_shape) != 3
                or teacher.obs_shape == env.obs_shape else
                "add the wrappers it was trained with (e.g. --env-wrapper AtariWrapper "
                f"--frame-stack {teacher.obs_shape[0]}, or its RL Zoo folder as --teacher)")
        raise UserError(f"teacher {teacher_name} has {teacher.describe()} but env {env_id} has "
                        f"{env.describe()}: {hint}")

