"""VecNormalize teachers: their statistics are found, read without running code, used by the
teacher, carried into the student (raw observations in, at evaluation and in ONNX)."""

import json
import pickle

import numpy as np
import pytest
import torch

import rldistill
from rldistill import DistillConfig, UserError
from rldistill.sources.normalize import load_vecnormalize


@pytest.fixture(scope="module")
def zoo_layout(tmp_path_factory):
    """A PPO CartPole teacher trained on VecNormalize, saved as RL Zoo saves it:
    DIR/CartPole-v1.zip and DIR/CartPole-v1/vecnormalize.pkl."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    d = tmp_path_factory.mktemp("zoo") / "ppo" / "CartPole-v1_1"
    (d / "CartPole-v1").mkdir(parents=True)
    venv = VecNormalize(make_vec_env("CartPole-v1", n_envs=4, seed=0), norm_reward=False)
    model = PPO("MlpPolicy", venv, n_steps=128, seed=0, verbose=0, device="cpu")
    model.learn(3000)
    model.save(d / "CartPole-v1.zip")
    venv.save(str(d / "CartPole-v1" / "vecnormalize.pkl"))
    venv.training = False
    return d, model, venv


def test_teacher_acts_through_its_statistics(zoo_layout):
    d, model, venv = zoo_layout
    teacher = rldistill.load_teacher(str(d / "CartPole-v1.zip"))
    assert teacher.source["normalize"].endswith("CartPole-v1/vecnormalize.pkl")
    raw = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32) * 2
    want, _ = model.predict(venv.normalize_obs(raw), deterministic=True)
    assert (teacher.act(torch.from_numpy(raw)).numpy() == want).all()
    plain = rldistill.load_teacher(str(d / "CartPole-v1.zip"), normalize="none")
    assert plain.obs_norm is None and "normalize" not in plain.source


def test_distilled_with_no_flags_student_takes_raw_observations(zoo_layout, tmp_path, capsys):
    d, _, _ = zoo_layout
    cfg = DistillConfig(teacher=str(d / "CartPole-v1.zip"), env="CartPole-v1", budget=2000,
                        student_hidden="32", eval_episodes=5, out=str(tmp_path / "s"))
    r = rldistill.run(cfg)
    assert r["teacher"]["name"] == "CartPole-v1.zip" and r["agreement"] > 0.9
    student, meta = rldistill.load_student(tmp_path / "s")
    assert meta["teacher"]["normalize"].endswith("vecnormalize.pkl")
    teacher = rldistill.load_teacher(str(d / "CartPole-v1.zip"))
    assert torch.equal(student.obs_norms[0].mean, teacher.obs_norm.mean)
    from rldistill.cli import main

    onnx = tmp_path / "s.onnx"
    assert main(["export", "--student", str(tmp_path / "s"), "--out", str(onnx), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["action_agreement"] == 1.0  # the normalisation is in the graph
    assert main(["evaluate", "--student", str(tmp_path / "s"), "--episodes", "5",
                 "--json"]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["teacher"]["return_mean"] == r["teacher"]["return_mean"]


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))  # would create a file if it ran


def test_crafted_vecnormalize_is_refused_and_runs_nothing(zoo_layout, tmp_path):
    d, _, _ = zoo_layout
    marker = tmp_path / "pwned"
    bad = tmp_path / "vecnormalize.pkl"
    bad.write_bytes(pickle.dumps({"obs_rms": _Payload(str(marker))}))
    with pytest.raises(UserError, match="io.open.*refused without running it"):
        load_vecnormalize(bad)
    assert not marker.exists()
    with pytest.raises(UserError, match="refused"):
        rldistill.load_teacher(str(d / "CartPole-v1.zip"), normalize=str(bad))
    bad.write_bytes(b"not a pickle")
    with pytest.raises(UserError, match="not a readable vecnormalize.pkl"):
        load_vecnormalize(bad)
