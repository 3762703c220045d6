"""MuJoCo's warnings once per process: its compiler warns at every model it builds (MuJoCo 4 on
Gymnasium's HalfCheetah: "compiler attribute 'settotalmass' is deprecated"), so a run that
makes dozens of envs printed the same two lines dozens of times. Each distinct warning now
comes once, as a Python ``RuntimeWarning`` (which ``-W`` and warning filters control). A
handler the user has set is left as it is."""

from __future__ import annotations

import warnings

import gymnasium as gym

_SEEN: set[str] = set()


def _once(message: str) -> None:
    if message not in _SEEN:
        _SEEN.add(message)
        warnings.warn_explicit(message, RuntimeWarning, "mujoco", 0, module="mujoco")


def mujoco_warnings_once(env_id: str) -> None:
    """Before ``gym.make(env_id)``: where the env is one of MuJoCo's, route MuJoCo's warnings
    through :func:`_once` (unless a handler is set already)."""
    try:
        entry = str(gym.spec(str(env_id)).entry_point)
    except Exception:  # noqa: BLE001 - an id gym.make itself will judge
        return
    if "mujoco" not in entry:
        return
    import mujoco

    if mujoco.get_mju_user_warning() is None:
        mujoco.set_mju_user_warning(_once)
