"""Action heads: the loop, its checkpoints and the evaluation ask the head and never branch on
the action space. A toy head for Box actions (what the continuous issue builds for real) runs
the whole engine on Pendulum-v1 without a change outside the head."""

import os
import signal

import numpy as np
import pytest
import torch
from torch import nn

import rldistill
from rldistill import DistillConfig
from rldistill.heads import HEADS, head_for
from rldistill.heads.categorical import CategoricalHead
from rldistill.spaces import ActionSpec, SpaceSpec
from rldistill.teachers import NetTeacher


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


class ToyBoxHead:
    """Deterministic actions in a box, MSE on them: the smallest head for Box actions."""

    kind, losses, onnx_output, greedy_rule = "box", ("mse",), "action", "action"

    def __init__(self, action):
        self.low, self.high = torch.tensor(action.low), torch.tensor(action.high)
        self.out_dim = len(action.low)

    def target_shape(self):
        return (self.out_dim,)

    def default_temperature(self, kind):
        return 1.0

    def loss(self, name, temperature, teacher_kind, centred=False):
        class Mse:
            prepare = staticmethod(lambda t: t)
            __call__ = staticmethod(lambda s, t: ((s - t) ** 2).mean())
        return Mse()

    def act(self, out, gen=None):
        return out.clamp(self.low, self.high)

    def teacher_act(self, t_out):
        return t_out.clamp(self.low, self.high)

    def agreement(self, s_out, t_out):
        tol = 0.05 * (self.high - self.low)
        return ((self.act(s_out) - self.act(t_out)).abs() <= tol).all(-1).float()

    def divergence(self, t_out, s_out, teacher_kind):
        return ((s_out - t_out) ** 2).sum(-1)

    def random_actions(self, n, gen):
        return self.low + (self.high - self.low) * torch.rand(n, self.out_dim, generator=gen)

    def to_env(self, actions):
        return actions.numpy().astype(np.float32)

    def mix(self, outs, kinds, mode):
        return torch.stack(list(outs)).mean(0)

    def sb3_student_out(self, distribution):
        return distribution.distribution.mean


def test_a_box_head_runs_the_whole_engine(tmp_path, monkeypatch):
    monkeypatch.setitem(HEADS, "box", ToyBoxHead)
    spec = SpaceSpec((3,), ActionSpec("box", shape=(1,), low=(-2.0,), high=(2.0,)))
    net = nn.Linear(3, 1)  # a fixed linear torque policy
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[-2.0, -0.5, -1.0]]))
        net.bias.zero_()
    teacher = NetTeacher("linear", "action", spec, net)
    assert isinstance(head_for(spec.action), ToyBoxHead)
    cfg = DistillConfig(teacher="linear", env="Pendulum-v1", loss="mse", student_hidden="16",
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
    from rldistill.api import score_tasks

    block = score_tasks(a.student, [("Pendulum-v1", teacher)], 4, seed=0)[0]
    t, st = block["teacher"]["return_mean"], block["student"]["return_mean"]
    assert block["agreement"] > 0.5 and abs(st - t) < 0.2 * abs(t), block  # acts like it
