"""SB3 models as rldistill builds them: the algorithm class of a name, and RL Zoo's
hyperparameters for a student network (kickstart, export --format sb3, finetune)."""

from __future__ import annotations

from typing import Any

from rldistill.core.activations import ACTIVATIONS
from rldistill.core.errors import UserError
from rldistill.zoo.hyperparams import ALGOS


def sb3_class(algo: str) -> Any:
    """The SB3 (or sb3-contrib) algorithm class for ``algo``."""
    import sb3_contrib
    import stable_baselines3 as sb3

    classes = {"ppo": sb3.PPO, "dqn": sb3.DQN, "a2c": sb3.A2C, "qrdqn": sb3_contrib.QRDQN,
               "sac": sb3.SAC, "td3": sb3.TD3, "ddpg": sb3.DDPG, "tqc": sb3_contrib.TQC}
    if algo not in classes:
        raise UserError(f"unknown --algo {algo!r}: choose one of {', '.join(ALGOS)}")
    return classes[algo]


def sb3_kwargs(algo: str, env_id: str, hidden: tuple[int, ...], activation: str = "relu"
               ) -> tuple[int, dict[str, Any]]:
    """RL-Zoo hyperparameters (``zoo.hyperparams.lookup``) with the student's net and its
    activation (``rldistill.core.activations``; kick-starting's students: ReLU).

    Linear schedules become SB3's own ``LinearSchedule`` so that the saved zip pickles only SB3
    classes (the zoo's lambdas would pickle code from rldistill).
    """
    from stable_baselines3.common.utils import LinearSchedule

    from rldistill.zoo.hyperparams import HYPERPARAMS, lookup

    n_envs, kwargs = lookup(algo, env_id)
    # not constructor arguments (zoo/train.py); a gSDE student does not map onto a Student
    for key in ("normalize", "noise_std", "use_sde", "sde_sample_freq"):
        kwargs.pop(key, None)
    raw = HYPERPARAMS[algo].get(env_id, (n_envs, {}))[1]
    for k, v in raw.items():
        if isinstance(v, tuple) and len(v) == 2 and v[0] == "lin":
            kwargs[k] = LinearSchedule(float(v[1]), 0.0, 1.0)
    pk = dict(kwargs.pop("policy_kwargs", {}) or {})
    pk["activation_fn"] = ACTIVATIONS[activation]
    pk["net_arch"] = dict(pi=list(hidden), vf=list(hidden)) if algo == "ppo" else list(hidden)
    kwargs["policy_kwargs"] = pk
    return n_envs, kwargs
