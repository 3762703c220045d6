"""Options that get more out of each env step: --perturb SIGMA (the teacher labels noisy copies of
each minibatch's states at every update), --sobolev WEIGHT (derivatives matched along random
directions) and --dart SIGMA (noise on the teacher's actions where it acts)."""

import os
import signal

import pytest
import torch
from torch import nn

import rldistill
from rldistill import DistillConfig, Interrupted, UserError
from rldistill.cli import main
from rldistill.core.spaces import ActionSpec
from rldistill.engine.perturb import Perturbation, Sobolev
from rldistill.heads import head_for
from rldistill.heads.losses import Loss
from rldistill.sources.normalize import ObsNorm

CP = dict(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", student_hidden="8", budget=400,
          rounds=2, min_updates=20, eval_episodes=2)


class Linear:
    """A teacher whose outputs are a fixed linear map of its (raw) observations."""

    def __init__(self, norm=None):
        self.net, self.obs_norm = nn.Linear(3, 2), norm

    def outputs(self, obs):
        with torch.inference_mode():
            return self.net(obs)


def test_noise_is_sigma_times_each_dimensions_spread_and_labelled_by_the_teacher():
    teacher, loss = Linear(), Loss("mse")
    p = Perturbation(0.5, teacher, loss, torch.Generator().manual_seed(7))
    states = torch.tensor([[0.0, 10.0, 1.0], [2.0, 10.0, 3.0]])
    p.set_spread(states)  # the buffer's own std: sqrt(2), 0 (a dimension that never moved), sqrt(2)
    assert torch.allclose(p.spread, torch.tensor([2 ** 0.5, 0.0, 2 ** 0.5]))
    seen = []
    student = lambda obs: seen.append(obs) or teacher.net(obs).detach()  # noqa: E731
    x = torch.zeros(4, 3)
    (value,) = p.terms(student, x).values()
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(7))
    assert torch.allclose(seen[0], 0.5 * p.spread * noise)
    assert value.item() == pytest.approx(0.0, abs=1e-12)  # the student is the teacher there
    normed = Linear(ObsNorm((3,)))
    normed.obs_norm.std.copy_(torch.tensor([1.0, 2.0, 3.0]))  # VecNormalize's statistics win
    q = Perturbation(0.1, normed, loss, torch.Generator())
    q.set_spread(states)
    assert torch.equal(q.spread, torch.tensor([1.0, 2.0, 3.0]))


def test_perturb_adds_labels_and_resumes_bit_for_bit(tmp_path):
    plain = rldistill.run(DistillConfig(**CP, out=str(tmp_path / "plain")))
    a = rldistill.run(DistillConfig(**CP, perturb=0.1, out=str(tmp_path / "a")))
    # every update also labels a noisy copy of its minibatch: round 1, 10 minibatches of the
    # 200 rows; round 2, 10 of 256 and 144 rows in turn (one pass over 400 rows in two)
    assert a["updates"] == 20
    assert a["teacher_queries"] == plain["teacher_queries"] + 10 * 200 + 5 * (256 + 144)
    assert a["env_steps"] == plain["env_steps"]  # the same env steps pay for more labels
    wa = rldistill.load_student(tmp_path / "a")[0].state_dict()
    wp = rldistill.load_student(tmp_path / "plain")[0].state_dict()
    assert not all(torch.equal(wa[k], wp[k]) for k in wa)
    cfg = DistillConfig(**CP, perturb=0.1, out=str(tmp_path / "b"))
    seen = [0]

    def interrupt_in_round_two(n):
        seen[0] += n
        if 200 < seen[0] <= 200 + n:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted):
        rldistill.run(cfg, progress=interrupt_in_round_two)
    rldistill.run(cfg, resume=True)  # the noise generator is in the checkpoint
    wb = rldistill.load_student(tmp_path / "b")[0].state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize("extra,why", [
    (["--student-obs", "drop:velocities"], "view of the teacher's observations"),
    (["--student-arch", "gru:8", "--student-obs", "drop:velocities"], "view"),
    (["--student-arch", "lstm:8"], "recurrent students learn from sequences"),
])
def test_perturb_where_it_cannot_apply_is_one_line(tmp_path, capsys, extra, why):
    args = ["distill", "--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1", "--budget",
            "100", "--perturb", "0.1", "--out", str(tmp_path / "x"), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and why in err and "drop --perturb" in err
    with pytest.raises(UserError, match="--perturb must be >= 0"):
        DistillConfig(**CP, perturb=-1.0).validate()


# --sobolev WEIGHT: the student's derivatives along a random direction match the teacher's


def test_sobolev_term_is_weight_times_the_squared_gap_of_directional_derivatives():
    teacher = Linear()
    s = Sobolev(0.5, teacher, Loss("mse"), torch.Generator().manual_seed(3))
    s.spread = torch.tensor([1.0, 2.0, 0.0])
    student = nn.Linear(3, 2)
    x = torch.randn(5, 3)
    (value,) = s.terms(student, x).values()
    v = s.spread * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    gap = v @ (student.weight - teacher.net.weight).T  # linear maps: J v = W v at every state
    # the teacher's derivative by central differences: exact for a linear map (up to rounding)
    assert value.item() == pytest.approx(0.5 * (gap ** 2).mean().item(), rel=1e-4)
    value.backward()  # the term trains the student (through forward-mode AD)
    assert student.weight.grad is not None and student.weight.grad.abs().sum() > 0
    student.weight.data.copy_(teacher.net.weight.data)
    assert s.terms(student, x)["loss_sobolev"].item() == pytest.approx(0.0, abs=1e-8)


def test_sobolev_on_discrete_actions_is_one_line(tmp_path, capsys):
    args = ["distill", "--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1", "--budget",
            "100", "--sobolev", "0.1", "--out", str(tmp_path / "x")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "drop --sobolev" in err


# --dart SIGMA: noise on the teacher's actions where it acts (Laskey et al. 2017)


def test_dart_noise_on_box_and_discrete_actions():
    box = head_for(ActionSpec("box", shape=(2,), low=(-1.0, 0.0), high=(1.0, 4.0)),
                   name="gaussian")
    a = torch.tensor([[0.0, 2.0], [0.9, 3.9]])
    noisy = box.noisy(a, 0.1, torch.Generator().manual_seed(0))
    draw = torch.randn(a.shape, generator=torch.Generator().manual_seed(0))
    half = torch.tensor([1.0, 2.0])  # 0.1 x each dimension's half range, clipped to the bounds
    expect = torch.clamp(a + 0.1 * half * draw, torch.tensor([-1.0, 0.0]),
                         torch.tensor([1.0, 4.0]))
    assert torch.allclose(noisy, expect)
    disc = head_for(ActionSpec("discrete", n=4))
    acts = torch.zeros(1000, dtype=torch.long)
    assert torch.equal(disc.noisy(acts, 0.0, torch.Generator()), acts)
    swapped = disc.noisy(acts, 0.4, torch.Generator().manual_seed(1))
    # w.p. 0.4 a uniform draw over 4 actions (which is 0 a quarter of the time): 30 % change
    assert 0.25 < (swapped != 0).float().mean().item() < 0.35
    assert set(swapped.tolist()) == {0, 1, 2, 3}


def test_dart_needs_a_teacher_that_acts(tmp_path, capsys):
    args = ["distill", "--teacher", "zoo:Pendulum-v1-sac", "--env", "Pendulum-v1", "--budget",
            "100", "--dart", "0.1", "--driver", "student", "--out", str(tmp_path / "x")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--driver teacher or mix" in err
    with pytest.raises(UserError, match=r"--dart must be in \[0, 1\]"):
        DistillConfig(**CP, dart=1.5).validate()


def test_dart_and_sobolev_change_the_run_and_resume_bit_for_bit(tmp_path):
    pend = dict(CP, teacher="zoo:Pendulum-v1-sac", env="Pendulum-v1", driver="mix",
                beta="constant:1")
    plain = rldistill.run(DistillConfig(**pend, out=str(tmp_path / "plain")))
    cfg = dict(pend, dart=0.3, sobolev=0.1)
    a = rldistill.run(DistillConfig(**cfg, out=str(tmp_path / "a")))
    assert a["env_steps"] == plain["env_steps"]
    assert a["teacher_queries"] > plain["teacher_queries"]  # the derivatives ask the teacher
    wa = rldistill.load_student(tmp_path / "a")[0].state_dict()
    wp = rldistill.load_student(tmp_path / "plain")[0].state_dict()
    assert not all(torch.equal(wa[k], wp[k]) for k in wa)
    seen = [0]

    def interrupt_in_round_two(n):
        seen[0] += n
        if 200 < seen[0] <= 200 + n:
            os.kill(os.getpid(), signal.SIGINT)

    b = DistillConfig(**cfg, out=str(tmp_path / "b"))
    with pytest.raises(Interrupted):
        rldistill.run(b, progress=interrupt_in_round_two)
    rldistill.run(b, resume=True)  # the noise generator is in the checkpoint
    wb = rldistill.load_student(tmp_path / "b")[0].state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
