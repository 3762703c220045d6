"""RL-Zoo-style hyperparameters for the teachers trained by ``rldistill teacher train``.

Taken from rl-baselines3-zoo (``hyperparams/{ppo,dqn,qrdqn,a2c,sac,td3,ddpg,tqc}.yml``, v2.8),
with two deliberate changes: LunarLander DQN trained 3x longer than the zoo's 100k steps
(measured: the zoo's 100k-step DQN scores ~120, below the 200 a "solved" Q-value teacher
needs); Pendulum SAC with a [64, 64] network instead of [256, 256], so that the shipped zip
stays small (3.0 MB with [256, 256], which scored -130.6 over 100 episodes).
Values that the zoo writes as ``lin_X`` (linear decay to 0) are given as ("lin", X); two entries
are not constructor arguments: ``normalize`` (the env is wrapped in VecNormalize, whose
statistics are saved beside the teacher, RL Zoo's layout) and ``noise_std`` (Gaussian action
noise for TD3 / DDPG); ``"relu"`` stands for torch.nn.ReLU. The zoo's MuJoCo v4 entries are
used for v5 (the same observations and actions).
"""

from __future__ import annotations

from typing import Any

MUJOCO = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5")
# TD3's and DDPG's "mujoco-defaults" (the zoo's HalfCheetah-v4, which Ant, Hopper and Walker2d
# take whole)
_MUJOCO_TD3 = dict(learning_starts=10_000, noise_std=0.1, train_freq=1, gradient_steps=1,
                   learning_rate=1e-3, batch_size=256, policy_kwargs=dict(net_arch=[400, 300]))

# algo -> env id -> (n_envs, kwargs for the SB3 constructor)
HYPERPARAMS: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {
    "ppo": {
        # MinAtar: PPO as gymnax / purejaxrl tune it for MinAtar (lr 5e-4 linear, 128-step
        # rollouts, 4 epochs, entropy 0.01), on the MinAtar network; not in RL Zoo
        **{f"MinAtar/{game}-v1": (16, dict(
            n_steps=128, batch_size=512, n_epochs=4, gamma=0.99, gae_lambda=0.95,
            ent_coef=0.01, learning_rate=("lin", 5e-4), clip_range=0.2,
            policy_kwargs=dict(features_extractor_class="minatar_cnn", net_arch=[])))
           for game in ("Breakout", "SpaceInvaders", "Asterix", "Freeway", "Seaquest")},
        "CartPole-v1": (8, dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                                n_epochs=20, ent_coef=0.0, learning_rate=("lin", 1e-3),
                                clip_range=("lin", 0.2))),
        "Acrobot-v1": (16, dict(n_steps=256, gae_lambda=0.94, gamma=0.99, n_epochs=4,
                                ent_coef=0.0)),
        "LunarLander-v3": (16, dict(n_steps=1024, batch_size=64, gae_lambda=0.98, gamma=0.999,
                                    n_epochs=4, ent_coef=0.01)),
        "MountainCar-v0": (16, dict(n_steps=16, gae_lambda=0.98, gamma=0.99, n_epochs=4,
                                    ent_coef=0.0)),
        "Pendulum-v1": (4, dict(n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10,
                                ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, use_sde=True,
                                sde_sample_freq=4)),
        "LunarLanderContinuous-v3": (16, dict(n_steps=1024, batch_size=64, gae_lambda=0.98,
                                              gamma=0.999, n_epochs=4, ent_coef=0.01)),
        "HalfCheetah-v5": (1, dict(normalize=True, batch_size=64, n_steps=512, gamma=0.98,
                                   learning_rate=2.0633e-05, ent_coef=0.000401762,
                                   clip_range=0.1, n_epochs=20, gae_lambda=0.92,
                                   max_grad_norm=0.8, vf_coef=0.58096,
                                   policy_kwargs=dict(log_std_init=-2, ortho_init=False,
                                                      activation_fn="relu",
                                                      net_arch=dict(pi=[256, 256],
                                                                    vf=[256, 256])))),
        "Hopper-v5": (1, dict(normalize=True, batch_size=32, n_steps=512, gamma=0.999,
                              learning_rate=9.80828e-05, ent_coef=0.00229519, clip_range=0.2,
                              n_epochs=5, gae_lambda=0.99, max_grad_norm=0.7, vf_coef=0.835671,
                              policy_kwargs=dict(log_std_init=-2, ortho_init=False,
                                                 activation_fn="relu",
                                                 net_arch=dict(pi=[256, 256], vf=[256, 256])))),
        "Walker2d-v5": (1, dict(normalize=True, batch_size=32, n_steps=512, gamma=0.99,
                                learning_rate=5.05041e-05, ent_coef=0.000585045, clip_range=0.1,
                                n_epochs=20, gae_lambda=0.95, max_grad_norm=1, vf_coef=0.871923,
                                policy_kwargs=dict(log_std_init=-2, ortho_init=False,
                                                   activation_fn="relu",
                                                   net_arch=dict(pi=[256, 256],
                                                                 vf=[256, 256])))),
        "Ant-v5": (1, dict(normalize=True)),  # the zoo's "mujoco-defaults": SB3's PPO defaults
    },
    "dqn": {
        # MinAtar: the MinAtar paper's DQN (kenjyoung/MinAtar examples/dqn.py): its network,
        # replay of 100k, batches of 32, target every 1 000 steps, centred RMSprop (lr 2.5e-4,
        # alpha 0.95, eps 0.01), epsilon 1 -> 0.1 over the first 100k of its 5M frames (the
        # fraction assumes --steps 5000000); one update every 4 steps where the paper makes one
        # every step, so that a teacher sees ~4M frames in 45 min of one core
        **{f"MinAtar/{game}-v1": (1, dict(
            learning_rate=2.5e-4, batch_size=32, buffer_size=100_000, learning_starts=5000,
            gamma=0.99, target_update_interval=1000, train_freq=4, gradient_steps=1,
            exploration_fraction=0.02, exploration_initial_eps=1.0, exploration_final_eps=0.1,
            policy_kwargs=dict(features_extractor_class="minatar_cnn", net_arch=[],
                               optimizer_class="rmsprop",
                               optimizer_kwargs=dict(alpha=0.95, centered=True, eps=0.01))))
           for game in ("Breakout", "SpaceInvaders", "Asterix", "Freeway", "Seaquest")},
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
    "sac": {
        "Pendulum-v1": (1, dict(learning_rate=1e-3, policy_kwargs=dict(net_arch=[64, 64]))),
        "LunarLanderContinuous-v3": (1, dict(batch_size=256, learning_rate=("lin", 7.3e-4),
                                             buffer_size=1_000_000, ent_coef="auto", gamma=0.99,
                                             tau=0.01, train_freq=1, gradient_steps=1,
                                             learning_starts=10_000,
                                             policy_kwargs=dict(net_arch=[400, 300]))),
        "HalfCheetah-v5": (1, dict(learning_starts=10_000)),
        "Hopper-v5": (1, dict(learning_starts=10_000)),
        "Walker2d-v5": (1, dict(learning_starts=10_000)),
        "Ant-v5": (1, dict(learning_starts=10_000)),
    },
    "tqc": {
        "Pendulum-v1": (1, dict(learning_rate=1e-3)),
        **{env: (1, dict(learning_starts=10_000)) for env in MUJOCO},
        "Hopper-v5": (1, dict(learning_starts=10_000, top_quantiles_to_drop_per_net=5)),
    },
    "td3": {
        "Pendulum-v1": (1, dict(gamma=0.98, buffer_size=200_000, learning_starts=10_000,
                                noise_std=0.1, gradient_steps=1, train_freq=1,
                                learning_rate=1e-3, policy_kwargs=dict(net_arch=[400, 300]))),
        "LunarLanderContinuous-v3": (1, dict(gamma=0.98, buffer_size=200_000,
                                             learning_starts=10_000, noise_std=0.1,
                                             gradient_steps=1, train_freq=1, learning_rate=1e-3,
                                             policy_kwargs=dict(net_arch=[400, 300]))),
        **{env: (1, _MUJOCO_TD3) for env in MUJOCO},
    },
    "ddpg": {
        "Pendulum-v1": (1, dict(gamma=0.98, buffer_size=200_000, learning_starts=10_000,
                                noise_std=0.1, gradient_steps=1, train_freq=1,
                                learning_rate=1e-3, policy_kwargs=dict(net_arch=[400, 300]))),
        **{env: (1, _MUJOCO_TD3) for env in MUJOCO},
    },
    "a2c": {
        "CartPole-v1": (8, dict(ent_coef=0.0)),
        "Acrobot-v1": (16, dict(ent_coef=0.0)),
        "LunarLander-v3": (8, dict(gamma=0.995, n_steps=5, learning_rate=("lin", 8.3e-4),
                                   ent_coef=1e-5)),
        **{env: (1, dict(normalize=True)) for env in MUJOCO},
    },
}

# RL Zoo's "atari" hyperparameters (hyperparams/{dqn,ppo,a2c}.yml), for a CNN student where the
# zoo table has none for its env (SB3's defaults would give a DQN a replay buffer of a million
# frames: 56 GB for 4 x 84 x 84); off-policy continuous algorithms: a buffer of 100k frames
ATARI: dict[str, dict[str, Any]] = {
    "dqn": dict(buffer_size=100_000, learning_rate=1e-4, batch_size=32, learning_starts=100_000,
                target_update_interval=1000, train_freq=4, gradient_steps=1,
                exploration_fraction=0.1, exploration_final_eps=0.01),
    "ppo": dict(n_steps=128, n_epochs=4, batch_size=256, learning_rate=("lin", 2.5e-4),
                clip_range=("lin", 0.1), vf_coef=0.5, ent_coef=0.01),
    "a2c": dict(ent_coef=0.01, vf_coef=0.25, policy_kwargs="rmsprop_tf_like"),
    **{algo: dict(buffer_size=100_000) for algo in ("sac", "tqc", "td3", "ddpg")},
}

ALGOS = tuple(HYPERPARAMS)
OFF_POLICY = ("dqn", "qrdqn", "sac", "td3", "ddpg", "tqc")  # one env by default


def lookup(algo: str, env_id: str) -> tuple[int, dict[str, Any]]:
    """(n_envs, constructor kwargs) for ``algo`` on ``env_id``: RL Zoo's Atari values for
    Atari ids, SB3 defaults for other unknown envs."""
    from rldistill.envs.recipe import is_atari

    table = HYPERPARAMS.get(algo, {})
    default = ATARI.get(algo, {}) if is_atari(str(env_id)) else {}
    n_envs = 1 if algo in OFF_POLICY else 16 if algo == "a2c" and default else 8
    n_envs, kwargs = table.get(env_id, (n_envs, default))
    return n_envs, {k: _schedule(v) for k, v in kwargs.items()}


def rmsprop_tf_like() -> dict[str, Any]:
    """RL Zoo's A2C optimizer on Atari, as policy_kwargs."""
    from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

    return dict(optimizer_class=RMSpropTFLike, optimizer_kwargs=dict(eps=1e-5))


def _schedule(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "lin":
        start = float(value[1])
        return lambda progress_remaining: progress_remaining * start
    if isinstance(value, dict):
        return {k: _schedule(v) for k, v in value.items()}
    if value == "minatar_cnn":
        from rldistill.zoo.minatar import MinAtarCNN

        return MinAtarCNN
    if value == "rmsprop":
        import torch

        return torch.optim.RMSprop
    if value == "rmsprop_tf_like":
        return rmsprop_tf_like()
    if value == "relu":
        from torch import nn

        return nn.ReLU
    return value
