"""Pixel observations: CNN teachers read from SB3 zips without unpickling act as SB3 predicts,
Atari teachers get their wrappers from their observation space, CNN students train, export and
play through the torch-free runtime."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DQN, PPO

from rldistill.cli import main
from rldistill.core.errors import UserError
from rldistill.sources import load_teacher


class Frames(gym.Env):
    """Random uint8 frames (H, W, C): what SB3 sees as an image space."""

    def __init__(self, shape=(36, 36, 1)):
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        self.action_space = spaces.Discrete(4)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def _agreement(model, path):
    t = load_teacher(str(path))
    x = np.stack([model.observation_space.sample() for _ in range(64)])
    want, _ = model.predict(x, deterministic=True)
    return t, float((t.act(torch.from_numpy(x)).numpy() == want).mean())


@pytest.mark.parametrize("cls,policy,shape,kw", [
    (DQN, "CnnPolicy", (36, 36, 1), {"buffer_size": 64}),
    (PPO, "CnnPolicy", (36, 36, 2), {"n_steps": 16, "batch_size": 16}),
    (A2C, "CnnPolicy", (36, 36, 1), {}),
    (PPO, "MlpPolicy", (6, 6, 3), {"n_steps": 16, "batch_size": 16}),  # /255 for MLPs too
])
def test_cnn_and_image_teachers_act_as_sb3_predicts(tmp_path, cls, policy, shape, kw):
    model = cls(policy, Frames(shape), seed=0, **kw)
    with torch.no_grad():  # spread the outputs so that argmax ties cannot hide a mismatch
        for p in model.policy.parameters():
            p.mul_(3.0)
    model.save(tmp_path / "m.zip")
    t, agree = _agreement(model, tmp_path / "m.zip")
    assert agree == 1.0
    assert t.spec.obs_shape == (shape[2], shape[0], shape[1])  # SB3 saved it channel-first
    assert t.params == sum(p.numel() for p in t.net.parameters())


def test_qrdqn_cnn_teacher_and_a_custom_extractor_is_refused(tmp_path):
    from sb3_contrib import QRDQN

    model = QRDQN("CnnPolicy", Frames(), seed=0, buffer_size=64,
                  policy_kwargs={"n_quantiles": 5})
    model.save(tmp_path / "q.zip")
    assert _agreement(model, tmp_path / "q.zip")[1] == 1.0
    # a 5x5 convolution is neither NatureCNN's nor MinAtar's: refused, nothing unpickled
    from stable_baselines3.common.torch_layers import NatureCNN

    class Odd(NatureCNN):
        def __init__(self, space, features_dim=32):
            super().__init__(space, features_dim)
            self.cnn[0] = torch.nn.Conv2d(space.shape[0], 32, 5, 4)
            self.linear[0] = torch.nn.Linear(self._flat(space), features_dim)

        def _flat(self, space):
            with torch.no_grad():
                return self.cnn(torch.zeros(1, *space.shape)).shape[1]

    PPO("CnnPolicy", Frames(), n_steps=16, batch_size=16,
        policy_kwargs={"features_extractor_class": Odd}).save(tmp_path / "odd.zip")
    with pytest.raises(UserError, match="5x5 convolution"):
        load_teacher(str(tmp_path / "odd.zip"))


@pytest.fixture(scope="module")
def atari_teacher(tmp_path_factory):
    pytest.importorskip("ale_py")
    pytest.importorskip("cv2")
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    from rldistill.envs.recipe import register_namespace

    register_namespace("BreakoutNoFrameskip-v4")
    venv = VecFrameStack(make_atari_env("BreakoutNoFrameskip-v4", n_envs=1, seed=0), 4)
    path = tmp_path_factory.mktemp("atari") / "ppo.zip"
    PPO("CnnPolicy", venv, seed=0, n_steps=16, batch_size=16).save(path)
    return path


def test_students_of_cnn_teachers_keep_their_kernels_and_strides_at_every_size():
    """``--param-ratio`` scales a CNN teacher's channels and dense width only: a first kernel
    cut to its stride was faster but less faithful on Atari (benchmarks/pixels/README.md)."""
    from types import SimpleNamespace

    from rldistill.core.spaces import SpaceSpec
    from rldistill.students.build import BUILDERS, Plan, Tasks

    nature = (((32, 8, 4), (64, 4, 2), (64, 3, 1)), 512, False)
    minatar = (((16, 3, 1),), 128, True)
    for spec, layout, params in ((SpaceSpec((4, 84, 84), 4, "uint8"), nature, 1_686_180),
                                 (SpaceSpec((10, 10, 6), 6, "bool"), minatar, 132_596)):
        for ratio in (0.04, 0.07, 0.25):
            t = Tasks([SimpleNamespace(params=params)], [spec], ["categorical"], (False,), layout)
            arch = BUILDERS["layout"](Plan("layout", ratio=ratio), t)
            assert [c[1:] for c in arch.conv] == [c[1:] for c in layout[0]]
            assert 0.8 * ratio * params <= arch.params <= ratio * params


def test_teacher_train_on_atari_takes_rl_zoos_frames_policy_and_hyperparameters(atari_teacher):
    """``teacher train`` on an Atari id: AtariWrapper's frames, 4 stacked (the frames a teacher
    made by SB3's own make_atari_env sees), a CNN policy and RL Zoo's Atari values."""
    from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

    from rldistill.drivers.teacher_train import make_model, training_env
    from rldistill.zoo.hyperparams import lookup

    model, _ = make_model("ppo", training_env("BreakoutNoFrameskip-v4"), seed=0)
    zoo_made = PPO.load(atari_teacher, device="cpu")
    assert model.observation_space == zoo_made.observation_space
    assert model.observation_space.shape == (4, 84, 84) and model.n_envs == 8
    assert type(model.policy) is type(zoo_made.policy) and (model.n_steps, model.batch_size,
                                                           model.ent_coef) == (128, 256, 0.01)
    model.get_env().close()
    n_envs, kwargs = lookup("a2c", "ALE/Pong-v5")
    assert n_envs == 16 and kwargs["policy_kwargs"]["optimizer_class"] is RMSpropTFLike
    assert lookup("ppo", "CartPole-v1")[0] == 8 and lookup("a2c", "Pendulum-v1") == (8, {})
    assert training_env("CartPole-v1") == "CartPole-v1"
    assert training_env("ALE/Pong-v5").wrappers == (("AtariWrapper", {"frame_skip": 1}),)


def test_an_atari_teacher_gets_its_wrappers_from_its_observation_space(tmp_path, capsys,
                                                                       atari_teacher):
    out = tmp_path / "run"
    fast = ["--min-updates", "40", "--eval-episodes", "1"]  # the update floor is not tested here
    assert main(["distill", "--teacher", str(atari_teacher), "--env", "BreakoutNoFrameskip-v4",
                 "--param-ratio", "0.1", "--budget", "64", *fast, "--out", str(out),
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["param_ratio"] <= 0.1 and r["student"]["params"] < r["teacher"]["params"]
    recipe = json.loads((out / "student.json").read_text())["env_recipe"]
    assert (recipe["wrappers"], recipe["frame_stack"], recipe["transpose"]) == (
        [["AtariWrapper", {}]], 4, True)
    arch = json.loads((out / "student.json").read_text())["arch"]
    assert [c[1:] for c in arch["conv"]] == [[8, 4], [4, 2], [3, 1]] and arch["image_scale"]
    # each 84 x 84 frame of the 4-frame stacks is stored once, in the buffer and its checkpoint
    from rldistill.engine.checkpoint import CHUNK_DIR, buffer_obs, read_tensors

    chunks = [read_tensors(p)[0] for p in sorted((out / CHUNK_DIR).glob("task0-*"))]
    rows, frames = sum(len(c["fidx"]) for c in chunks), sum(len(c["frames"]) for c in chunks)
    assert rows == 64 and 64 <= frames <= 64 + 3 * 8 and chunks[0]["frames"].shape[1:] == (
        1, 84, 84)
    assert buffer_obs(out, 0, 64).shape == (64, 4, 84, 84)
    assert main(["distill", "--teacher", str(atari_teacher), "--env", "BreakoutNoFrameskip-v4",
                 "--param-ratio", "0.1", "--budget", "96", *fast, "--out", str(out),
                 "--resume"]) == 0  # extended: the frames' chunks reloaded
    capsys.readouterr()
    # its ONNX graph takes the frames as the env gives them (uint8, the /255 folded into the
    # first convolution), float and static int8, and acts as the torch student does
    from rldistill.deploy.runtime import Policy
    from rldistill.students.network import load_student

    assert main(["export", "--student", str(out), "--out", str(tmp_path / "s.onnx"),
                 "--int8", "static", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["check_states"] == "buffer" and rep["max_abs_diff"] < 1e-4
    assert rep["int8"]["action_agreement_vs_float"] > 0.5  # the quantized graph runs on uint8
    frames = buffer_obs(out, 0, 96)
    assert frames.dtype == torch.uint8
    student, _ = load_student(out)
    for path in (tmp_path / "s.onnx", tmp_path / "s.int8.onnx"):
        policy = Policy(path)
        assert policy.session.get_inputs()[0].type == "tensor(uint8)"
        assert policy.meta["obs_dtype"] == "uint8" and policy.meta["format"].endswith("/4")
    policy = Policy(tmp_path / "s.onnx")
    with torch.inference_mode():
        want = student(frames, 0).numpy()
    np.testing.assert_allclose(policy.outputs(frames.numpy()), want, atol=1e-4)
    assert policy.act(frames[0].numpy()) == int(want[0].argmax())  # one frame stack
    # a run that kept no buffer: checked and timed on random uint8 frames, as the env gives
    import shutil

    from rldistill.deploy.latency import bench_latency

    shutil.rmtree(out / CHUNK_DIR)
    assert bench_latency(out, batches=(1, 4))["states"] == "random uint8"
    # the teacher's frames cannot come from another stack: one line naming the wrappers
    assert main(["distill", "--teacher", str(atari_teacher), "--env", "BreakoutNoFrameskip-v4",
                 "--frame-stack", "2", "--budget", "64", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--env-wrapper AtariWrapper --frame-stack 4" in err and len(err.splitlines()) == 1


def test_cnn_student_on_minatar_exports_and_plays_without_torch(tmp_path, capsys):
    """A MinAtar CNN teacher (the zoo's network: channel-last boolean frames), a CNN student
    by --student-arch, its ONNX graph and the runtime against the torch student."""
    pytest.importorskip("minatar")
    import subprocess
    import sys

    from rldistill.envs.recipe import register_namespace
    from rldistill.deploy.runtime import Policy
    from rldistill.students.network import load_student
    from rldistill.drivers.teacher_train import make_model

    register_namespace("MinAtar/Breakout-v1")
    model, _ = make_model("ppo", "MinAtar/Breakout-v1", 0)
    model.save(tmp_path / "t.zip")
    t = load_teacher(str(tmp_path / "t.zip"))
    assert t.spec.obs_shape == (10, 10, 4) and t.kind == "logits"
    out = tmp_path / "run"
    assert main(["distill", "--teacher", str(tmp_path / "t.zip"), "--env", "MinAtar/Breakout-v1",
                 "--student-arch", "cnn:8:32", "--budget", "400", "--min-updates", "200",
                 "--eval-episodes", "2", "--out", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    student, _ = load_student(out)
    assert student.arch.conv == ((8, 3, 1),) and student.arch.channels_last
    assert r["student"]["params"] == (4 * 8 * 9 + 8) + (8 * 8 * 8 * 32 + 32) + (32 * 3 + 3)
    assert main(["export", "--student", str(out), "--out", str(tmp_path / "s.onnx")]) == 0
    capsys.readouterr()
    policy = Policy(tmp_path / "s.onnx")
    x = (np.random.default_rng(0).random((32, 10, 10, 4)) < 0.3).astype(np.float32)
    want = student.act(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(policy.act(x), want)
    p = subprocess.run([sys.executable, "benchmarks/runtime/play.py", str(tmp_path / "s.onnx"),
                        "--episodes", "3"], capture_output=True, text=True, check=True)
    assert json.loads(p.stdout.strip().splitlines()[-1])["torch_imported"] is False


def test_student_arch_takes_a_kernel_and_stride_per_layer():
    from rldistill.core.options import parse_arch
    from rldistill.students.convs import conv_out, convs_for

    a = parse_arch("cnn:16x8x8,32:128")  # the first layer's own, the second by frame size
    assert (a.channels, a.kernels, a.dense) == ((16, 32), ((8, 8), None), (128,))
    assert convs_for(a.channels, (4, 84, 84), a.kernels) == ((16, 8, 8), (32, 4, 2))
    assert conv_out((4, 84, 84), ((16, 8, 8), (32, 4, 2))) == 32 * 4 * 4  # 84 -> 10 -> 4
    b = parse_arch("cnn:8x4x3:100")
    assert convs_for(b.channels, (6, 10, 10), b.kernels) == ((8, 4, 3),)
    assert parse_arch("cnn:16,32:256").kernels == ()
    for bad in ("cnn:8x4:10", "cnn:8x4x0:10", "cnn:0:10"):
        with pytest.raises(UserError, match="CxKxS"):
            parse_arch(bad)


def test_param_ratio_scales_a_cnn_teachers_layout():
    from rldistill.students.build import cnn_for_ratio
    from rldistill.core.spaces import SpaceSpec

    spec = SpaceSpec((4, 84, 84), 4, "uint8")
    layout = (((32, 8, 4), (64, 4, 2), (64, 3, 1)), 512, False)
    teacher = cnn_for_ratio(spec, None, layout, 10 ** 9, 1.0)
    assert teacher.params == 1_686_180  # NatureCNN + 4 logits, counted by hand below
    assert teacher.params == (4 * 32 * 64 + 32) + (32 * 64 * 16 + 64) + (64 * 64 * 9 + 64) + (
        3136 * 512 + 512) + (512 * 4 + 4)
    for ratio in (0.25, 0.07, 0.04):
        arch = cnn_for_ratio(spec, None, layout, teacher.params, ratio)
        assert arch.params <= ratio * teacher.params
        assert arch.conv[0][1:] == (8, 4) and arch.image_scale  # kernels and strides kept
        bigger = cnn_for_ratio(spec, None, layout, teacher.params, min(1.0, ratio * 1.2))
        assert bigger.params > arch.params


@pytest.mark.slow
def test_the_zoo_minatar_teacher_distils_into_a_quarter_size_cnn(tmp_path):
    """The shipped MinAtar Breakout teacher (PPO, the MinAtar network) into a CNN student of
    <= 25 % of its parameters, with no --env (the zoo's record names it)."""
    pytest.importorskip("minatar")
    from rldistill import DistillConfig, run

    # 2 000 updates, not the CNN floor's 16 000 (this teacher's policy is near-constant)
    r = run(DistillConfig(teacher="zoo:MinAtar-Breakout-v1-ppo", param_ratio=0.25,
                          budget=4000, min_updates=2000, eval_episodes=30,
                          out=str(tmp_path / "run")))
    assert r["env"] == "MinAtar/Breakout-v1" and r["param_ratio"] <= 0.25
    assert r["teacher"]["return_mean"] > 2 * r["random"]["return_mean"]
    # measured 1.0 at 4 000 labelled steps; the bound: learned, not how well (moves with the CPU)
    assert r["normalized_score"] >= 0.5, r


def test_atari_evaluation_scores_whole_games_not_lives():
    """AtariWrapper ends an episode at each lost life with clipped rewards; evaluation plays on
    to game over and reports the game's unclipped score (as RL Zoo's enjoy and the papers)."""
    pytest.importorskip("ale_py")
    pytest.importorskip("cv2")
    from rldistill.envs.recipe import EnvRecipe, game_scores
    from rldistill.envs.make import make_env
    from rldistill.evaluation.rollouts import RandomActor, evaluate_policy
    from rldistill.heads import head_for
    from rldistill.core.spaces import ActionSpec

    recipe = EnvRecipe("BreakoutNoFrameskip-v4", wrappers=(("AtariWrapper", {}),), frame_stack=4,
                       transpose=True)
    env = make_env(recipe)
    done, clipped, lives = game_scores(env), 0.0, 0
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    while not done:
        _, r, term, trunc, _ = env.step(int(rng.integers(4)))
        clipped += float(r)
        if term or trunc:
            lives += 1
            env.reset()
    assert lives == 5 and done[0] >= clipped  # five AtariWrapper episodes in one game
    zoo_named = recipe.evolve(wrappers=(("stable_baselines3.common.atari_wrappers.AtariWrapper",
                                         {}),))  # as RL Zoo's config.yml names it
    assert game_scores(make_env(zoo_named)) == []
    actor = RandomActor(head_for(ActionSpec("discrete", 4)), 0)
    res = evaluate_policy(actor, recipe, 2, seed=0)
    assert len(res.returns) == 2 and res.steps > 2 * 5 * 10
