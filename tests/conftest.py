import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def sb3_zips(tmp_path_factory):
    """Untrained SB3 models saved as zips (PPO, A2C, DQN, QR-DQN on CartPole; PPO on
    LunarLander)."""
    from sb3_contrib import QRDQN
    from stable_baselines3 import A2C, DQN, PPO

    d = tmp_path_factory.mktemp("sb3")
    out = {}
    for name, cls, env, kw in [
        ("ppo", PPO, "CartPole-v1", {"n_steps": 64, "policy_kwargs": {"net_arch": [32, 16]}}),
        ("a2c", A2C, "CartPole-v1", {"policy_kwargs": {"activation_fn": torch.nn.ReLU}}),
        ("dqn", DQN, "CartPole-v1", {"policy_kwargs": {"net_arch": [64, 64]}}),
        ("qrdqn", QRDQN, "CartPole-v1", {"policy_kwargs": {"n_quantiles": 5}}),
        ("ppo_ll", PPO, "LunarLander-v3", {"n_steps": 64}),
    ]:
        model = cls("MlpPolicy", env, seed=0, verbose=0, **kw)
        model.save(d / f"{name}.zip")
        out[name] = d / f"{name}.zip"
    return out
