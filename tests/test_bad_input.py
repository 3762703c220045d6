"""Bad input ends with one clear line and exit 2, and loses nothing (issue: never lose a run)."""

import subprocess
import sys

import pytest
import torch

from rldistill.engine.checkpoint import CKPT_NAME, load_checkpoint
from rldistill.core.config import DistillConfig
from rldistill.api import train
from rldistill.core.errors import UserError
from rldistill.sources import load_teacher


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "rldistill.cli", *args], capture_output=True,
                          text=True)


def _one_line(proc, needle):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_yaml_unknown_key_and_output_not_writable(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("teacher: zoo:CartPole-v1-ppo\nenv: CartPole-v1\nbudgit: 10\n")
    _one_line(_cli("distill", "--config", str(cfg)), "unknown key 'budgit'")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    _one_line(_cli("distill", "--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1",
                   "--out", str(blocker / "sub")), "not writable")


class _GoesNaN:
    """A teacher that turns to NaN after ``good`` calls."""

    def __init__(self, inner, good):
        self.inner, self.good, self.calls = inner, good, 0
        self.name, self.kind, self.spec, self.params = inner.name, inner.kind, inner.spec, 1
        self.head, self.obs_norm = inner.head, None

    def outputs(self, obs):
        self.calls += 1
        out = self.inner.outputs(obs)
        return out * float("nan") if self.calls > self.good else out

    def act(self, obs):
        return self.outputs(obs).argmax(-1)


def test_nan_teacher_stops_with_step_and_keeps_checkpoint(tmp_path):
    # student driver: the teacher labels each round of 100 states in one call; call 4 is NaN
    teacher = _GoesNaN(load_teacher("zoo:CartPole-v1-ppo"), good=3)
    cfg = DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=1000,
                        driver="student", rounds=10, min_updates=10, n_envs=8,
                        out=str(tmp_path))
    with pytest.raises(UserError, match="NaN/inf at labelled step 300"):
        train(cfg, teachers=[teacher])
    _, state = load_checkpoint(tmp_path / CKPT_NAME)
    assert state["labelled"] == 300 and state["round"] == 3  # the last good round boundary
    # mix driver: the teacher labels as it goes (8 envs: rounds of 100 = 13 calls, 12 x 8 + 4)
    teacher = _GoesNaN(load_teacher("zoo:CartPole-v1-ppo"), good=40)
    with pytest.raises(UserError, match="NaN/inf at labelled step 308"):
        train(DistillConfig(**{**cfg.to_dict(), "driver": "mix", "out": str(tmp_path / "m")}),
              teachers=[teacher])


def test_diverged_student_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    # round 2 of 3 trains at a learning rate that overflows the weights: one line naming the
    # round and the fix; the checkpoint stays at round 1 (never a NaN student on disk)
    import rldistill.engine.loop as loop_mod

    plain = loop_mod.Loop.update_round

    def blow_up_in_round_two(self):
        if self.round == 1:
            for group in self.opt.param_groups:
                group["lr"] = 1e30
        return plain(self)

    monkeypatch.setattr(loop_mod.Loop, "update_round", blow_up_in_round_two)
    cfg = DistillConfig(teacher="zoo:Pendulum-v1-sac", env="Pendulum-v1", budget=600, rounds=3,
                        min_updates=30, student_hidden="8", out=str(tmp_path))
    with pytest.raises(UserError, match="loss became nan in round 2: training diverged.*--lr"):
        train(cfg)
    _, state = load_checkpoint(tmp_path / CKPT_NAME)
    assert state["round"] == 1


def test_disk_full_keeps_previous_checkpoint(tmp_path, monkeypatch):
    """Each round writes a buffer chunk, then the main checkpoint; the disk fills up during the
    third round's chunk: the second checkpoint stays valid and a resumed run loses nothing."""
    import safetensors.torch

    real, calls = safetensors.torch.save_file, []

    def full_after_four(tensors, filename, metadata=None):
        calls.append(filename)
        if len(calls) > 4:
            raise OSError(28, "No space left on device")
        return real(tensors, filename, metadata=metadata)

    cfg = DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=500, rounds=5,
                        min_updates=5, out=str(tmp_path / "full"))
    ref = train(cfg.replace(out=str(tmp_path / "ref"))).student
    monkeypatch.setattr(safetensors.torch, "save_file", full_after_four)
    with pytest.raises(UserError, match="No space left.*previous checkpoint is kept"):
        train(cfg)
    _, state = load_checkpoint(tmp_path / "full" / CKPT_NAME)
    assert state["round"] == 2 and not list((tmp_path / "full").rglob(".*.tmp"))
    monkeypatch.setattr(safetensors.torch, "save_file", real)
    again = train(cfg, resume=True).student
    for (k, a), (_, b) in zip(ref.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k


def test_resume_with_other_options_is_refused(tmp_path, monkeypatch):
    cfg = DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=200, rounds=2,
                        min_updates=2, out=str(tmp_path))
    train(cfg)
    with pytest.raises(UserError, match="other options \\(--lr 0.003 there, 0.1 here\\)"):
        train(DistillConfig(**{**cfg.to_dict(), "lr": 0.1}), resume=True)
    with pytest.raises(UserError, match="--budget 100 is below the 200"):
        train(DistillConfig(**{**cfg.to_dict(), "budget": 100}), resume=True)
    with pytest.raises(UserError, match="no checkpoint"):
        train(DistillConfig(**{**cfg.to_dict(), "out": str(tmp_path / "none")}), resume=True)
    state = load_checkpoint(tmp_path / CKPT_NAME)[1]
    assert [len(t["chunks"]) for t in state["tasks"]] == [2]  # one buffer chunk per round
    default = DistillConfig(**{**cfg.to_dict(), "rounds": None, "min_updates": None})
    with pytest.raises(UserError, match="other options \\(--min-updates 2 there, None here; "
                                        "--rounds 2 there, None here\\)"):
        train(default, resume=True)
    # the checkpoint holds the plan as the loop resolved it: a version of rldistill whose
    # defaults resolve otherwise (here: another batch) is refused, naming the values
    assert state["plan"]["rounds"] == 2 and state["plan"]["batch"] == 256
    monkeypatch.setattr(DistillConfig, "batch", property(lambda self: 512))
    with pytest.raises(UserError, match="planned by another version of rldistill \\(batch 256 "
                                        "there, 512 now"):
        train(cfg, resume=True)
