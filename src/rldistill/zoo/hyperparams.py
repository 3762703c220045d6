"""RL-Zoo-style hyperparameters for the teachers trained by ``rldistill teacher train``.

Taken from rl-baselines3-zoo (``hyperparams/{ppo,dqn,a2c}.yml``), with these deliberate changes,
each measured here: no ``VecNormalize`` (a teacher must act on raw observations so that the
student sees the same inputs); LunarLander DQN trained 3x longer than the zoo's 100k steps
(the zoo's 100k-step DQN scores ~120, below the 200 a "solved" Q-value teacher needs).
Values that the zoo writes as ``lin_X`` (linear decay to 0) are given as ("lin", X).
"""

from __future__ import annotations

from typing import Any

# algo -> env id -> (n_envs, kwargs for the SB3 constructor)
HYPERPARAMS: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {
    "ppo": {
        "CartPole-v1": (8, dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                                n_epochs=20, ent_coef=0.0, learning_rate=("lin", 1e-3),
                                clip_range=("lin", 0.2))),
        "Acrobot-v1": (16, dict(n_steps=256, gae_lambda=0.94, gamma=0.99, n_epochs=4,
                                ent_coef=0.0)),
        "LunarLander-v3": (16, dict(n_steps=1024, batch_size=64, gae_lambda=0.98, gamma=0.999,
                                    n_epochs=4, ent_coef=0.01)),
        "MountainCar-v0": (16, dict(n_steps=16, gae_lambda=0.98, gamma=0.99, n_epochs=4,
                                    ent_coef=0.0)),
    },
    "dqn": {
        "CartPole-v1": (1, dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                                learning_starts=1000, gamma=0.99, target_update_interval=10,
                                train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                                exploration_final_eps=0.04,
                                policy_kwargs=dict(net_arch=[256, 256]))),
        "Acrobot-v1": (1, dict(learning_rate=6.3e-4, batch_size=128, buffer_size=50_000,
                               learning_starts=0, gamma=0.99, target_update_interval=250,
                               train_freq=4, gradient_steps=-1, exploration_fraction=0.12,
                               exploration_final_eps=0.1,
                               policy_kwargs=dict(net_arch=[256, 256]))),
        "LunarLander-v3": (1, dict(learning_rate=6.3e-4, batch_size=128, buffer_size=50_000,
                                   learning_starts=0, gamma=0.99, target_update_interval=250,
                                   train_freq=4, gradient_steps=-1, exploration_fraction=0.12,
                                   exploration_final_eps=0.1,
                                   policy_kwargs=dict(net_arch=[256, 256]))),
    },
    "qrdqn": {  # rl-baselines3-zoo hyperparams/qrdqn.yml; other envs: SB3 defaults
        "CartPole-v1": (1, dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                                learning_starts=1000, gamma=0.99, target_update_interval=10,
                                train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                                exploration_final_eps=0.04,
                                policy_kwargs=dict(net_arch=[256, 256], n_quantiles=10))),
    },
    "a2c": {
        "CartPole-v1": (8, dict(ent_coef=0.0)),
        "Acrobot-v1": (16, dict(ent_coef=0.0)),
        "LunarLander-v3": (8, dict(gamma=0.995, n_steps=5, learning_rate=("lin", 8.3e-4),
                                   ent_coef=1e-5)),
    },
}

ALGOS = tuple(HYPERPARAMS)
OFF_POLICY = ("dqn", "qrdqn")  # one env by default


def lookup(algo: str, env_id: str) -> tuple[int, dict[str, Any]]:
    """(n_envs, constructor kwargs) for ``algo`` on ``env_id``; SB3 defaults for unknown envs."""
    table = HYPERPARAMS.get(algo, {})
    n_envs, kwargs = table.get(env_id, (1 if algo in OFF_POLICY else 8, {}))
    return n_envs, {k: _schedule(v) for k, v in kwargs.items()}


def _schedule(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "lin":
        start = float(value[1])
        return lambda progress_remaining: progress_remaining * start
    return value
