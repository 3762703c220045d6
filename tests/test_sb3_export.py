"""export --format sb3: any distilled student as an SB3 model that SB3 loads and keeps training,
acting as the student does."""

import json

import numpy as np
import pytest
import torch
from stable_baselines3 import DQN, PPO, SAC, TD3
from stable_baselines3.common.env_util import make_vec_env

from rldistill.cli import main
from rldistill.spaces import ActionSpec, SpaceSpec
from rldistill.students import build_student, save_student

PENDULUM = SpaceSpec((3,), ActionSpec("box", shape=(1,), low=(-2.0,), high=(2.0,)))


def _save(tmp_path, spec, head=None, meta=None, obs_norm=()):
    torch.manual_seed(0)
    student = build_student(spec, (16, 16), [head], obs_norm)
    save_student(student, tmp_path / "run", meta)
    return student


def _export(tmp_path, capsys, *extra):
    assert main(["export", "--student", str(tmp_path / "run"), "--format", "sb3", "--out",
                 str(tmp_path / "s.zip"), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_policy_students_ppo_loads_acts_alike_and_keeps_training(tmp_path, capsys):
    student = _save(tmp_path, SpaceSpec((4,), 2),
                    meta={"env": "CartPole-v1", "teacher": {"kind": "logits"}})
    report = _export(tmp_path, capsys)
    assert report["algo"] == "ppo" and report["action_agreement"] == 1.0
    assert report["check_states"] == "random normal"  # the run kept no buffer
    model = PPO.load(tmp_path / "s.zip", env=make_vec_env("CartPole-v1", 1), device="cpu")
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # an independent check: SB3's distribution is the student's softmax
        got = model.policy.get_distribution(x).distribution.logits
    torch.testing.assert_close(got, torch.log_softmax(student.outputs(x), -1))
    model.learn(128)
    assert model.num_timesteps >= 128


@pytest.mark.parametrize("config,scale", [({}, 0.01), ({"loss": "mse"}, 1.0),
                                          ({"loss": "kl", "temperature": 0.1}, 0.1)])
def test_a_q_teachers_student_becomes_a_dqn_on_the_q_scale(tmp_path, capsys, config, scale):
    """KL / CE at temperature T fits logits ~ Q / T: the DQN's q_net is T times the student."""
    student = _save(tmp_path, SpaceSpec((4,), 2),
                    meta={"env": "CartPole-v1", "teacher": {"kind": "q"}, "config": config})
    report = _export(tmp_path, capsys)
    assert report["algo"] == "dqn" and report["q_scale"] == scale
    assert report["action_agreement"] == 1.0
    model = DQN.load(tmp_path / "s.zip", device="cpu")
    x = torch.randn(32, 4)
    with torch.no_grad():
        torch.testing.assert_close(model.q_net(x), scale * student.outputs(x))
        torch.testing.assert_close(model.q_net_target(x), model.q_net(x))


@pytest.mark.parametrize("head,cls", [("squashed_gaussian", SAC), ("deterministic", TD3)])
def test_continuous_students_become_sac_and_td3(tmp_path, capsys, head, cls):
    student = _save(tmp_path, PENDULUM, head, meta={"env": "Pendulum-v1",
                                                     "teacher": {"kind": "x"}})
    report = _export(tmp_path, capsys)
    assert report["algo"] == cls.__name__.lower() and report["action_agreement"] == 1.0
    model = cls.load(tmp_path / "s.zip", env=make_vec_env("Pendulum-v1", 1), device="cpu")
    x = torch.randn(16, 3)
    want = student.action_heads[0].to_env(student.act(x))
    np.testing.assert_allclose(model.predict(x.numpy(), deterministic=True)[0], want, atol=1e-5)
    model.learn(150)  # past learning_starts (100): the critic and actor updates run
    assert model.num_timesteps >= 150


def test_a_gaussian_student_gets_its_mean_log_std_and_its_vecnormalize(tmp_path, capsys):
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from rldistill.normalize import load_vecnormalize
    from rldistill.students import load_student

    student = _save(tmp_path, PENDULUM, "gaussian", obs_norm=(True,),
                    meta={"env": "Pendulum-v1", "teacher": {"kind": "gaussian"}})
    with torch.no_grad():
        student.obs_norms[0].mean.copy_(torch.tensor([0.5, -0.5, 1.0]))
        student.obs_norms[0].std.copy_(torch.tensor([2.0, 3.0, 4.0]))
        student.obs_norms[0].clip.fill_(5.0)
    save_student(student, tmp_path / "run", {"env": "Pendulum-v1",
                                             "teacher": {"kind": "gaussian"}})
    report = _export(tmp_path, capsys)
    assert report["algo"] == "ppo" and report["action_agreement"] == 1.0
    x = torch.randn(4096, 3, generator=torch.Generator().manual_seed(0))  # the check states
    want_log_std = load_student(tmp_path / "run")[0].outputs(x)[:, 1].mean().item()
    assert report["log_std"] == [pytest.approx(want_log_std, abs=1e-4)]
    model = PPO.load(tmp_path / "s.zip", device="cpu")
    assert model.policy.log_std.item() == pytest.approx(want_log_std, abs=1e-4)
    # SB3 and rldistill's own restricted reader both read the statistics back
    vn = VecNormalize.load(report["vecnormalize"], DummyVecEnv([lambda: __import__(
        "gymnasium").make("Pendulum-v1")]))
    np.testing.assert_allclose(vn.obs_rms.mean, [0.5, -0.5, 1.0])
    assert vn.clip_obs == 5.0 and not vn.norm_reward
    stats = load_vecnormalize(tmp_path / "s.vecnormalize.pkl")
    assert stats is not None
    np.testing.assert_allclose(np.sqrt(stats.var + stats.epsilon), [2.0, 3.0, 4.0], rtol=1e-6)


def test_sb3_export_bad_input_is_one_line_exit_2(tmp_path, capsys):
    _save(tmp_path, PENDULUM, "gaussian", meta={"env": "Pendulum-v1", "teacher": {}})
    run = str(tmp_path / "run")
    cases = [(["--format", "sb3", "--algo", "dqn", "--out", str(tmp_path / "a.zip")],
              "--algo dqn cannot hold a gaussian student: choose one of ppo, a2c"),
             (["--format", "sb3", "--out", str(tmp_path / "a.onnx")], "should end in .zip"),
             (["--format", "sb3", "--int8", "--out", str(tmp_path / "a.zip")],
              "--int8 applies to --format onnx"),
             (["--algo", "ppo", "--out", str(tmp_path / "a.onnx")],
              "--algo applies to --format sb3")]
    for argv, msg in cases:
        assert main(["export", "--student", run, *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1
    assert not list(tmp_path.glob("a.*"))
