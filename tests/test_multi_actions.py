"""MultiDiscrete and MultiBinary actions (issue 29): the heads' math by hand, and SB3 PPO
teachers of both read from their zips, distilled, exported to ONNX (the torch-free runtime acts
as the student) and to SB3 (which acts as the student)."""

import json
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO

from rldistill.cli import main
from rldistill.core.errors import UserError
from rldistill.core.spaces import ActionSpec
from rldistill.heads import head_for
from rldistill.sources import load_teacher

KL_QUARTER = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)  # KL((1/4, 3/4) || (1/2, 1/2))


def test_multi_categorical_head_by_hand():
    head = head_for(ActionSpec("multi_discrete", nvec=(2, 3)))
    assert head.name == "multi_categorical" and head.out_dim == 5
    t = torch.tensor([[0.0, math.log(3), 1.0, 5.0, 1.0]])  # (1/4, 3/4), then action 1
    s = torch.tensor([[0.0, 0.0, 1.0, 5.0, 1.0]])  # (1/2, 1/2), then the teacher's own
    fn = head.loss("kl", None, "logits")
    assert float(fn(s, fn.prepare(t))) == pytest.approx(KL_QUARTER, abs=1e-6)
    assert float(head.divergence(t, s, "logits")[0]) == pytest.approx(KL_QUARTER, abs=1e-6)
    nll = head.loss("nll", None, "logits")  # -ln(1/2) for the first, -ln softmax for the second
    second = -math.log(math.exp(5) / (math.exp(1) + math.exp(5) + math.exp(1)))
    assert float(nll(s, nll.prepare(t))) == pytest.approx(math.log(2) + second, abs=1e-6)
    # a fresh loss reads targets another one prepared (a resumed run, a collector's labels)
    fresh = head.loss("nll", None, "logits")
    assert float(fresh(s, nll.prepare(t))) == pytest.approx(math.log(2) + second, abs=1e-6)
    assert head.act(t).tolist() == [[1, 1]] and head.act(s).tolist() == [[0, 1]]
    assert head.agreement(s, t).tolist() == [0.0] and head.distance(s, t).tolist() == [0.5]
    assert head.export(t).tolist() == [[1.0, 1.0]]
    r = head.random_actions(1000, torch.Generator().manual_seed(0))
    assert r.shape == (1000, 2) and set(r[:, 0].tolist()) == {0, 1} \
        and set(r[:, 1].tolist()) == {0, 1, 2}


def test_multi_binary_head_by_hand():
    head = head_for(ActionSpec("multi_binary", 2))
    t = torch.tensor([[math.log(3), -2.0]])  # bits on with 3/4, off
    s = torch.tensor([[0.0, -2.0]])  # 1/2, the teacher's own
    fn = head.loss("kl", None, "logits")
    assert float(fn(s, fn.prepare(t))) == pytest.approx(KL_QUARTER, abs=1e-6)
    assert float(head.divergence(t, s, "logits")[0]) == pytest.approx(KL_QUARTER, abs=1e-6)
    hot = head.loss("kl", 2.0, "logits")  # at T = 2: sigmoid(ln3 / 2) = 0.634, times T^2 = 4
    p = 1 / (1 + math.exp(-math.log(3) / 2))
    want = 4 * (p * math.log(p / 0.5) + (1 - p) * math.log((1 - p) / 0.5))
    assert float(hot(s, hot.prepare(t))) == pytest.approx(want, abs=1e-6)
    assert head.act(t).tolist() == [[1, 0]] and head.act(s).tolist() == [[0, 0]]
    assert head.agreement(s, t).tolist() == [0.0] and head.distance(s, t).tolist() == [0.5]
    with pytest.raises(UserError, match="--loss"):
        head.loss("huber", None, "logits")


class Choices(gym.Env):
    """Random 4-d observations; reward 1 per component that picks argmax(obs[:3]) and
    obs[3] > 0 (MultiDiscrete [3, 2]), or per bit that matches obs[i] > 0 (MultiBinary 3)."""

    def __init__(self, binary: bool = False) -> None:
        self.binary = binary
        self.observation_space = spaces.Box(-1, 1, (4,), np.float32)
        self.action_space = spaces.MultiBinary(3) if binary else spaces.MultiDiscrete([3, 2])

    def _obs(self) -> np.ndarray:
        self.o = self.np_random.uniform(-1, 1, 4).astype(np.float32)
        return self.o

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, a):
        o, self.t = self.o, self.t + 1
        want = (o[:3] > 0).astype(int) if self.binary else [int(np.argmax(o[:3])), int(o[3] > 0)]
        return self._obs(), float(np.sum(np.asarray(a) == want)), False, self.t >= 10, {}


for _b, _id in ((False, "ChoicesMD-v0"), (True, "ChoicesMB-v0")):
    if _id not in gym.registry:
        gym.register(_id, entry_point=Choices, kwargs={"binary": _b})


@pytest.mark.parametrize("env_id,head,nvec", [("ChoicesMD-v0", "multi_categorical", [3, 2]),
                                               ("ChoicesMB-v0", "multi_binary", None)])
def test_sb3_multi_action_teachers_distil_and_export(tmp_path, capsys, env_id, head, nvec):
    model = PPO("MlpPolicy", env_id, n_steps=256, batch_size=64, seed=0)
    model.learn(1024)
    model.save(tmp_path / "t.zip")
    t = load_teacher(str(tmp_path / "t.zip"))
    assert t.head.name == head and t.kind == "logits"
    obs = np.random.default_rng(0).uniform(-1, 1, (64, 4)).astype(np.float32)
    want, _ = model.predict(obs, deterministic=True)  # the zip read without unpickling acts
    np.testing.assert_array_equal(t.head.act(t.outputs(torch.from_numpy(obs))).numpy(), want)
    out = tmp_path / "run"
    assert main(["distill", "--teacher", str(tmp_path / "t.zip"), "--env", env_id,
                 "--budget", "2000", "--eval-episodes", "5", "--out", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["student"]["return_mean"] is not None and 0 <= r["agreement"] <= 1
    assert main(["export", "--student", str(out), "--out", str(tmp_path / "s.onnx")]) == 0
    from rldistill.deploy.runtime import Policy
    from rldistill.students.network import load_student

    student, _ = load_student(out)
    policy = Policy(tmp_path / "s.onnx")
    np.testing.assert_array_equal(policy.act(obs), student.act(torch.from_numpy(obs)).numpy())
    assert main(["export", "--student", str(out), "--format", "sb3",
                 "--out", str(tmp_path / "s.zip"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["action_agreement"] == 1.0
    sb3, _ = PPO.load(tmp_path / "s.zip").predict(obs, deterministic=True)
    np.testing.assert_array_equal(sb3, policy.act(obs))
    assert student.specs[0].action == t.spec.action  # nvec / bits read back from student.json
    assert student.specs[0].action.nvec == tuple(nvec or ())


def test_multi_action_spaces_without_a_head_are_one_line_errors():
    from rldistill.envs.make import spec_of

    box = spaces.Box(-1, 1, (4,), np.float32)
    assert spec_of(box, spaces.MultiDiscrete([3, 2]), "env").action.nvec == (3, 2)
    assert spec_of(box, spaces.MultiBinary(5), "env").action.n == 5
    for space in (spaces.MultiDiscrete([3, 2], start=[1, 0]), spaces.MultiBinary([2, 2]),
                  spaces.MultiDiscrete([[2, 2], [2, 2]])):
        with pytest.raises(UserError, match="MultiDiscrete .1-d, from 0. and MultiBinary"):
            spec_of(box, space, "env X")
