"""export --format sb3: any distilled student as an SB3 model that SB3 loads and keeps training,
acting as the student does."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.env_util import make_vec_env

from rldistill.cli import main
from rldistill.deploy.sb3 import export_sb3
from rldistill.core.spaces import ActionSpec, SpaceSpec
from rldistill.students.network import Student, StudentArch, build_student, save_student
from rldistill.sources import load_teacher

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


@pytest.mark.parametrize("config,fitted,scale", [
    ({}, None, 0.01), ({"loss": "mse"}, 0.05, 1.0), ({"loss": "kl", "temperature": 0.1}, 0.05, 0.1),
    ({}, 0.05, 0.05)])  # the last: the temperature the run fitted to the teacher's action gaps
def test_a_q_teachers_student_becomes_a_dqn_on_the_q_scale(tmp_path, capsys, config, fitted,
                                                           scale):
    """KL / CE at temperature T fits logits ~ Q / T: the DQN's q_net is T times the student."""
    teacher = {"kind": "q"} | ({"temperature": fitted} if fitted else {})
    student = _save(tmp_path, SpaceSpec((4,), 2),
                    meta={"env": "CartPole-v1", "teacher": teacher, "config": config})
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

    from rldistill.sources.normalize import load_vecnormalize
    from rldistill.students.network import load_student

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
    # the exported zip is a teacher again (a larger student teaching a smaller one), with the
    # statistics written beside it: it acts on raw observations as the student does
    teacher = load_teacher(str(tmp_path / "s.zip"))
    assert teacher.obs_norm is not None
    with torch.no_grad():
        np.testing.assert_allclose(teacher.outputs(x)[:, 0], load_student(tmp_path / "run")[0]
                                   .outputs(x)[:, 0], atol=1e-5)


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


class Frames(gym.Env):
    """Random uint8 frames of ``shape`` (Atari's 4 x 84 x 84 stack, channel-first or last), 6
    actions: SB3 sees an image space."""

    def __init__(self, shape=(4, 84, 84)):
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        self.action_space = spaces.Discrete(6)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


FRAMES = {"chw": (4, 84, 84), "hwc": (84, 84, 4), "small": (1, 36, 36), "rgb": (12, 12, 3)}
for _name, _shape in FRAMES.items():  # export builds the env from student.json's env id
    if f"RldistillTestFrames-{_name}-v0" not in gym.registry:
        gym.register(f"RldistillTestFrames-{_name}-v0", entry_point=Frames,
                     kwargs={"shape": _shape})
NATURE = ((32, 8, 4), (64, 4, 2), (64, 3, 1))


def _frames_student(tmp_path, name, convs, hidden, kind="logits", n_actions=6):
    """A CNN student on the frames of ``FRAMES[name]`` (channel-last ones read as such)."""
    from rldistill.students.build import cnn_arch

    shape = FRAMES[name]
    spec = SpaceSpec(shape, ActionSpec("discrete", n_actions), obs_dtype="uint8")
    torch.manual_seed(0)
    student = Student(cnn_arch(spec, None, convs, hidden, shape[-1] < shape[0]), [spec])
    save_student(student, tmp_path / "run", {"env": f"RldistillTestFrames-{name}-v0",
                                             "teacher": {"kind": kind}})
    return student


def _sb3_obs(model, x):
    """``x`` as SB3's policy takes it: channel-last frames moved first, as a tensor."""
    return model.policy.obs_to_tensor(x.numpy())[0]


@pytest.mark.parametrize("name,kind,hidden,cls,custom", [
    ("chw", "q", (512,), DQN, {"learning_starts": 0, "buffer_size": 64, "batch_size": 8}),
    ("hwc", "logits", (512,), PPO, {"n_steps": 16, "batch_size": 16}),
    ("small", "logits", (64, 32), A2C, {"n_steps": 8}),  # net_arch after NatureCNN's dense
])
def test_a_nature_cnn_student_becomes_a_cnn_policy_that_acts_alike_and_keeps_training(
        tmp_path, name, kind, hidden, cls, custom):
    student = _frames_student(tmp_path, name, NATURE, hidden, kind)
    report = export_sb3(tmp_path / "run", tmp_path / "s.zip", algo=cls.__name__.lower(),
                        check_rows=256)  # the CLI checks 4096 states: ~6 s on 2 cores
    assert report["policy"] == "CnnPolicy"
    assert report["action_agreement"] == 1.0 and report["check_states"] == "random uint8"
    assert report["hidden"] == list(hidden)
    env = make_vec_env(f"RldistillTestFrames-{name}-v0", 1)
    model = cls.load(tmp_path / "s.zip", env=env, device="cpu", custom_objects=custom)
    assert model.policy.normalize_images and model.observation_space.shape == (
        student.arch.frame)  # SB3 moved channel-last frames first, as the student does
    x = torch.randint(0, 256, (32, *FRAMES[name]), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        if cls is DQN:  # the q_net (and its target) on the teacher's Q scale
            q = model.q_net(_sb3_obs(model, x))
            torch.testing.assert_close(q, report["q_scale"] * student.outputs(x))
            torch.testing.assert_close(model.q_net_target(_sb3_obs(model, x)), q)
        else:  # SB3's distribution is the student's softmax
            got = model.policy.get_distribution(_sb3_obs(model, x)).distribution.logits
            torch.testing.assert_close(got, torch.log_softmax(student.outputs(x), -1))
    want = student.action_heads[0].to_env(student.act(x))
    np.testing.assert_array_equal(model.predict(x.numpy(), deterministic=True)[0], want)
    model.learn(16)
    assert model.num_timesteps >= 16 and model._n_updates > 0


@pytest.mark.parametrize("env_id,convs", [
    ("RldistillTestFrames-hwc-v0", ((8, 8, 4), (16, 4, 2), (16, 3, 1))),  # SB3 moves channels
    ("MinAtar/Breakout-v1", ((16, 3, 1),)),  # booleans, channel-last: the extractor moves them
])
def test_other_cnn_layouts_get_rldistills_extractor_act_alike_and_keep_training(
        tmp_path, env_id, convs):
    """A CNN student of any layout (with a dense layer) becomes a CnnPolicy whose features
    extractor is rldistill's StudentCNN with the student's convolutions: the same softmax on
    every frame, and SB3 keeps training it."""
    from rldistill.deploy.sb3_extractor import StudentCNN
    from rldistill.envs.make import env_spec
    from rldistill.students.build import cnn_arch

    if env_id.startswith("MinAtar"):
        pytest.importorskip("minatar")
        from rldistill.envs.recipe import register_namespace

        register_namespace(env_id)
    spec = env_spec(env_id)
    torch.manual_seed(0)
    student = Student(cnn_arch(spec, None, convs, (64,), True), [spec])
    save_student(student, tmp_path / "run", {"env": env_id, "teacher": {"kind": "logits"}})
    report = export_sb3(tmp_path / "run", tmp_path / "s.zip", check_rows=256)
    assert report["policy"] == "CnnPolicy" and report["action_agreement"] == 1.0
    model = PPO.load(tmp_path / "s.zip", env=make_vec_env(env_id, 1), device="cpu",
                     custom_objects={"n_steps": 16, "batch_size": 16})
    assert isinstance(model.policy.features_extractor, StudentCNN)
    dtype = torch.bool if spec.obs_dtype == "bool" else torch.uint8
    x = torch.randint(0, 2 if dtype is torch.bool else 256, (32, *spec.obs_shape),
                      generator=torch.Generator().manual_seed(1)).to(dtype)
    with torch.no_grad():
        got = model.policy.get_distribution(_sb3_obs(model, x)).distribution.logits
    torch.testing.assert_close(got, torch.log_softmax(student.outputs(x), -1))
    model.learn(16)
    assert model.num_timesteps >= 16 and model._n_updates > 0


@pytest.mark.parametrize("env_id,shape", [("RldistillTestFrames-rgb-v0", FRAMES["rgb"]),
                                          ("MinAtar/Breakout-v1", None)])
def test_mlp_students_of_frames_act_alike(tmp_path, capsys, env_id, shape):
    """Channel-last uint8 frames: SB3 moves their channels first before it flattens them (the
    student's first layer is reordered); MinAtar: the zoo's MinAtar extractor is not the
    student's."""
    from rldistill.envs.make import env_spec

    if env_id.startswith("MinAtar"):
        pytest.importorskip("minatar")
        from rldistill.envs.recipe import register_namespace

        register_namespace(env_id)
    spec = env_spec(env_id)
    student = _save(tmp_path, spec, meta={"env": env_id, "teacher": {"kind": "logits"}})
    report = _export(tmp_path, capsys)
    assert report["action_agreement"] == 1.0 and report["policy"] == "MlpPolicy"
    model = PPO.load(tmp_path / "s.zip", device="cpu")
    x = torch.randint(0, 256 if shape else 2, (64, *spec.obs_shape),
                      generator=torch.Generator().manual_seed(1)).to(
        torch.uint8 if shape else torch.bool)
    with torch.no_grad():
        got = model.policy.get_distribution(_sb3_obs(model, x)).distribution.logits
    torch.testing.assert_close(got, torch.log_softmax(student.outputs(x), -1))


def test_dense_less_cnn_and_recurrent_students_are_one_line_errors(tmp_path, capsys,
                                                                       monkeypatch):
    """Refused before any SB3 model is built, each naming what to use instead."""
    from rldistill.students.build import cnn_arch
    from rldistill.zoo import sb3 as train

    def no_model(algo):
        raise AssertionError("an SB3 model was built")

    monkeypatch.setattr(train, "sb3_class", no_model)
    minatar = SpaceSpec((10, 10, 4), ActionSpec("discrete", 3), obs_dtype="bool")
    atari = SpaceSpec((4, 84, 84), ActionSpec("discrete", 6), obs_dtype="uint8")
    gru = StudentArch(4, (16,), 2, cell="gru", cell_size=8)
    cases = [  # (arch, spec, env, message)
        (cnn_arch(minatar, None, ((16, 3, 1),), (), True), minatar,
         "MinAtar/Breakout-v1", "ends in a dense layer"),
        (cnn_arch(atari, None, NATURE, (), False), atari, "RldistillTestFrames-chw-v0",
         "dense none"),
        (gru, SpaceSpec((4,), 2), "CartPole-v1", "cannot hold a recurrent student (gru:8)"),
        (StudentArch(4, (), 2, cell="lstm", cell_size=8), SpaceSpec((4,), 2), "CartPole-v1",
         "SB3 has no recurrent DQN / PPO / A2C"),
        # NatureCNN's layout, but on channel-first frames that the env gives channel-last
        (cnn_arch(atari, None, NATURE, (512,), False), atari, "RldistillTestFrames-hwc-v0",
         "gives observations (84, 84, 4), the CNN student takes (4, 84, 84)"),
    ]
    for arch, spec, env_id, msg in cases:
        save_student(Student(arch, [spec]), tmp_path / "run", {"env": env_id,
                                                               "teacher": {"kind": "q"}})
        assert main(["export", "--student", str(tmp_path / "run"), "--format", "sb3", "--out",
                     str(tmp_path / "a.zip")]) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1, err
        assert "Traceback" not in err and f"--out {tmp_path / 'a.onnx'}" in err
    assert not list(tmp_path.glob("a.*"))


def test_a_tanh_student_becomes_a_tanh_policy_that_acts_alike(tmp_path, capsys):
    """A student of a tanh teacher (SB3's PPO default) is exported with activation_fn Tanh."""
    torch.manual_seed(0)
    arch = StudentArch(4, (16, 16), 2, activation="tanh")
    student = Student(arch, [SpaceSpec((4,), 2)])
    save_student(student, tmp_path / "run", {"env": "CartPole-v1",
                                             "teacher": {"kind": "logits"}})
    report = _export(tmp_path, capsys)
    assert report["action_agreement"] == 1.0
    model = PPO.load(tmp_path / "s.zip", env=make_vec_env("CartPole-v1", 1), device="cpu")
    assert model.policy.activation_fn is torch.nn.Tanh
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = model.policy.get_distribution(x).distribution.logits
    torch.testing.assert_close(got, torch.log_softmax(student.outputs(x), -1))
    assert load_teacher(str(tmp_path / "s.zip")).act(x).eq(student.act(x)).all()
