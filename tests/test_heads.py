"""Action heads: hand-computed values of each head's losses and metrics; the loop, its
checkpoints and the evaluation run a Box head on Pendulum-v1 as they run the discrete one."""

import math
import os
import signal

import pytest
import torch
from torch import nn

import rldistill
from rldistill import DistillConfig, UserError
from rldistill.heads import head_for
from rldistill.heads.categorical import CategoricalHead
from rldistill.heads.continuous import (DeterministicHead, GaussianHead, SquashedGaussianHead,
                                        gaussian_kl, gaussian_nll)
from rldistill.core.spaces import ActionSpec, SpaceSpec
from rldistill.sources import NetTeacher


def test_categorical_head_by_hand():
    h = CategoricalHead(3)
    s = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]])
    t = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
    assert h.act(s).tolist() == [1, 0] and h.teacher_act(t).tolist() == [1, 2]
    assert h.agreement(s, t).tolist() == [1.0, 0.0]
    # a Q-teacher's policy is its greedy one: KL = -log q(argmax) = -log softmax(s)[argmax]
    kl_q = h.divergence(t, s, "q")
    assert kl_q[1].item() == pytest.approx(-torch.log_softmax(s[1], -1)[2].item())
    assert h.random_actions(5, torch.Generator().manual_seed(0)).max() < 3
    assert h.to_env(torch.tensor([2, 0])).tolist() == [2, 0]


def test_a_box_head_runs_the_whole_engine(tmp_path):
    spec = SpaceSpec((3,), ActionSpec("box", shape=(1,), low=(-2.0,), high=(2.0,)))
    lin = nn.Linear(3, 1)  # a fixed linear torque policy, in the unit box after its tanh
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-1.0, -0.25, -0.5]]))
        lin.bias.zero_()
    teacher = NetTeacher("linear", "deterministic", spec, nn.Sequential(lin, nn.Tanh()))
    assert isinstance(teacher.head, DeterministicHead) and teacher.head.out_dim == 1
    cfg = DistillConfig(teacher="linear", env="Pendulum-v1", student_hidden="16",
                        driver="mix", budget=1200, rounds=3, n_envs=4, min_updates=300,
                        out=str(tmp_path / "a"))
    a = rldistill.train(cfg, teachers=[teacher])
    buf = a.tasks[0].buf
    assert buf.targets.shape == (1200, 1) and buf.size == 1200
    seen = [0]

    def interrupt_in_round_two(n):  # SIGINT half way through round 2 (rows 400..800)
        seen[0] += n
        if seen[0] - n < 600 <= seen[0]:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(rldistill.Interrupted):
        rldistill.train(cfg.replace(out=str(tmp_path / "b")), teachers=[teacher],
                        progress=interrupt_in_round_two)
    b = rldistill.train(cfg.replace(out=str(tmp_path / "b")), teachers=[teacher], resume=True)
    for (k, x), (_, y) in zip(a.student.state_dict().items(), b.student.state_dict().items()):
        assert torch.equal(x, y), k  # the float actions replayed from the chunks: bit-exact
    from rldistill.evaluation.scoring import score_tasks

    block = score_tasks(a.student, [("Pendulum-v1", teacher)], 4, seed=0)[0]
    t, st = block["teacher"]["return_mean"], block["student"]["return_mean"]
    assert block["agreement"] > 0.5 and abs(st - t) < 0.2 * abs(t), block  # acts like it


BOX = ActionSpec("box", shape=(2,), low=(-1.0, 0.0), high=(1.0, 4.0))


def test_gaussian_kl_and_nll_by_hand():
    # KL(N(0, 1) || N(1, 2^2)) = ln 2 + (1 + 1) / 8 - 1/2 = 0.443147 per dim
    z, one, ln2 = torch.zeros(1, 1), torch.ones(1, 1), torch.full((1, 1), math.log(2.0))
    assert gaussian_kl(z, z, one, ln2).item() == pytest.approx(math.log(2) - 0.25, abs=1e-6)
    assert gaussian_kl(one, ln2, one, ln2).item() == pytest.approx(0.0, abs=1e-7)
    # -log N(1; 0, 2^2) = ln 2 + 0.5 ln 2 pi + 1/8
    nll = math.log(2) + 0.5 * math.log(2 * math.pi) + 0.125
    assert gaussian_nll(one, z, ln2).item() == pytest.approx(nll, abs=1e-6)


def test_gaussian_losses_with_temperature_by_hand():
    h = GaussianHead(BOX)
    teacher = torch.tensor([[0.0, 2.0, 0.0, 0.0]])  # means (0, 2), log stds 0
    student = torch.tensor([[1.0, 2.0, math.log(2.0), 0.0]])
    kl = h.loss("kl", 1.0, "gaussian")
    assert kl(student, kl.prepare(teacher)).item() == pytest.approx(math.log(2) - 0.25, abs=1e-6)
    # temperature 2 doubles the teacher's std: KL(N(0, 2^2) || N(1, 2^2)) = 1/8 in dim 0,
    # KL(N(2, 2^2) || N(2, 1)) = -ln 2 + 4/2 - 1/2 in dim 1
    kl2 = h.loss("kl", 2.0, "gaussian")
    want = 0.125 + (-math.log(2) + 2.0 - 0.5)
    assert kl2(student, kl2.prepare(teacher)).item() == pytest.approx(want, abs=1e-6)
    # mse in the unit box: dim 0 means 0 vs 1 -> units 0 vs 1; dim 1 equal -> (1 + 0) / 2
    mse = h.loss("mse", None, "gaussian")
    assert mse(student, mse.prepare(teacher)).item() == pytest.approx(0.5)


def test_box_heads_act_like_sb3_and_measure_agreement():
    g, sq, det = GaussianHead(BOX), SquashedGaussianHead(BOX), DeterministicHead(BOX)
    out = torch.tensor([[2.0, 1.0, 0.0, 0.0]])
    assert g.act(out).tolist() == [[1.0, 1.0]]  # the mean clipped to [low, high]
    t = math.tanh(2.0), math.tanh(1.0)
    assert sq.act(out)[0].tolist() == pytest.approx([t[0], 2.0 + 2.0 * t[1]], abs=1e-6)
    assert det.act(torch.tensor([[0.0, 0.0]])).tolist() == [[0.0, 2.0]]  # tanh(0) -> middle
    # agreement: every dim within 5 % of its range; distance: mean share of the range
    a, b = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.09, 0.0]])  # 4.5 % apart in dim 0
    assert det.agreement(a, torch.tanh(b)).item() == 1.0
    c = torch.tensor([[0.0, 0.3]])
    assert det.agreement(a, torch.tanh(c)).item() == 0.0
    assert det.distance(a, torch.tanh(c)).item() == pytest.approx(math.tanh(0.3) / 4, abs=1e-6)
    gen = torch.Generator().manual_seed(0)
    r = g.random_actions(1000, gen)
    assert r[:, 0].min() >= -1 and r[:, 1].max() <= 4 and 1.8 < r[:, 1].mean() < 2.2
    with pytest.raises(UserError, match="does not apply to a deterministic"):
        det.loss("kl", None, "deterministic")
    assert head_for(BOX, "squashed").name == "squashed_gaussian"
