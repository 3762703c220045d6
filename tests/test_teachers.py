import numpy as np
import pytest
import torch

from rldistill.errors import UserError
from rldistill.teachers import load_teacher


@pytest.mark.parametrize("name,kind", [("ppo", "logits"), ("a2c", "logits"), ("dqn", "q"),
                                       ("qrdqn", "q")])
def test_sb3_zip_acts_like_sb3(sb3_zips, name, kind):
    from sb3_contrib import QRDQN
    from stable_baselines3 import A2C, DQN, PPO

    cls = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "qrdqn": QRDQN}[name]
    model = cls.load(sb3_zips[name], device="cpu")
    teacher = load_teacher(str(sb3_zips[name]))
    assert teacher.kind == kind and teacher.spec.obs_shape == (4,) and teacher.spec.n_actions == 2
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    sb3_actions, _ = model.predict(obs, deterministic=True)
    assert (teacher.act(torch.from_numpy(obs)).numpy() == sb3_actions).all()


def test_acting_params_exclude_value_and_target_nets(sb3_zips):
    ppo = load_teacher(str(sb3_zips["ppo"]))  # net_arch [32, 16]: 4*32+32 + 32*16+16 + 16*2+2
    assert ppo.params == 160 + 528 + 34
    dqn = load_teacher(str(sb3_zips["dqn"]))  # q_net only, not q_net_target
    assert dqn.params == 4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2


def test_ppo_logits_match_sb3_distribution(sb3_zips):
    from stable_baselines3 import PPO

    model = PPO.load(sb3_zips["ppo"], device="cpu")
    obs = torch.randn(8, 4)
    sb3_logp = model.policy.get_distribution(obs).distribution.logits
    ours = torch.log_softmax(load_teacher(str(sb3_zips["ppo"])).outputs(obs), -1)
    assert torch.allclose(sb3_logp, ours, atol=1e-6)


def test_bad_teacher_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_teacher(str(tmp_path / "missing.zip"))
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(UserError, match="not a valid zip"):
        load_teacher(str(junk))
    with pytest.raises(UserError, match="no zoo teacher"):
        load_teacher("zoo:NoSuchTeacher")
