"""Several teachers: multi-task students (one head per task) and ensembles of one task."""

import json
import math

import pytest
import torch
import yaml

from rldistill.cli import main
from rldistill.core.config import DistillConfig
from rldistill.api import run
from rldistill.core.spaces import SpaceSpec
from rldistill.core.errors import UserError
from rldistill.heads import head_for
from rldistill.students.network import StudentArch, arch_for_ratio, build_student, load_student
from rldistill.sources import EnsembleTeacher


class FixedTeacher:
    """A teacher whose outputs are the same row for every observation."""

    def __init__(self, row, kind="logits", name="t", spec=SpaceSpec((4,), 2)):
        self.row, self.kind, self.name = torch.tensor(row), kind, name
        self.spec, self.params = spec, 10
        self.head, self.obs_norm = head_for(spec.action), None

    def outputs(self, obs):
        return self.row.expand(obs.shape[0], -1)

    def act(self, obs):
        return self.outputs(obs).argmax(-1)


def test_ensemble_mean_and_confident_by_hand():
    a = FixedTeacher([0.0, math.log(3.0)])  # probs (0.25, 0.75)
    b = FixedTeacher([math.log(9.0), 0.0])  # probs (0.9, 0.1): the more confident one
    obs = torch.zeros(3, 4)
    mean = EnsembleTeacher([a, b], "mean").outputs(obs).exp()
    assert torch.allclose(mean, torch.tensor([0.575, 0.425]).expand(3, 2), atol=1e-6)
    conf = EnsembleTeacher([a, b], "confident").outputs(obs).exp()
    assert torch.allclose(conf, torch.tensor([0.9, 0.1]).expand(3, 2), atol=1e-6)
    # a Q-teacher member counts as softmax(Q / 0.01): Q gap 0.01 -> probs (1/(1+e), e/(1+e))
    q = FixedTeacher([1.00, 1.01], kind="q")
    p = EnsembleTeacher([q], "mean").outputs(obs).exp()[0]
    assert p[1].item() == pytest.approx(math.e / (1 + math.e), abs=1e-5)
    e = EnsembleTeacher([a, b, q], "mean")
    assert e.params == 30 and e.kind == "logits" and e.name == "t+t+t"


def test_ensemble_of_other_spaces_is_refused():
    a = FixedTeacher([0.0, 1.0])
    b = FixedTeacher([0.0, 1.0, 2.0], spec=SpaceSpec((4,), 3), name="u")
    with pytest.raises(UserError, match="different spaces"):
        EnsembleTeacher([a, b])


def test_multitask_arch_counts_adapters_trunk_and_heads():
    specs = [SpaceSpec((4,), 2), SpaceSpec((6,), 3)]
    s = build_student(specs, (8, 8))
    # adapters 4*8+8 + 6*8+8, trunk 8*8+8, heads 8*2+2 + 8*3+3
    assert s.arch.params == s.params == 40 + 56 + 72 + 18 + 27
    assert s(torch.zeros(5, 4), 0).shape == (5, 2) and s(torch.zeros(5, 6), 1).shape == (5, 3)
    a = arch_for_ratio(specs, 2000, 0.1)
    assert a.params <= 200 < StudentArch(0, tuple(w + 1 for w in a.hidden), 0, a.tasks).params


def test_task_pairs_in_config_and_yaml(tmp_path):
    cfg = DistillConfig(teacher=("a", "b"), env=("X", "Y"))
    assert cfg.tasks == [(("a",), "X"), (("b",), "Y")]
    assert DistillConfig(teacher=["a", "b"], env=["X"]).tasks == [(("a", "b"), "X")]
    assert DistillConfig(teacher=["a"], env=["X"]).teacher == "a"  # one value stays a str
    with pytest.raises(UserError, match="one teacher per env"):
        DistillConfig(teacher=("a", "b", "c"), env=("X", "Y")).validate()
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"teacher": ["zoo:CartPole-v1-ppo", "zoo:Acrobot-v1-ppo"],
                                 "env": ["CartPole-v1", "Acrobot-v1"], "budget": 100}))
    assert main(["distill", "--config", str(p), "--ensemble", "vote", "--out",
                 str(tmp_path / "o")]) == 2


def test_three_tasks_one_student(tmp_path, capsys):
    """CartPole + Acrobot + LunarLander in one student smaller than the three teachers."""
    args = ["distill", "--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1",
            "--teacher", "zoo:Acrobot-v1-ppo", "--env", "Acrobot-v1",
            "--teacher", "zoo:LunarLander-v3-ppo", "--env", "LunarLander-v3",
            "--student-hidden", "48,48", "--budget", "24000", "--eval-episodes", "20",
            "--out", str(tmp_path), "--json"]
    assert main(args) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [t["env"] for t in r["tasks"]] == ["CartPole-v1", "Acrobot-v1", "LunarLander-v3"]
    assert r["student"]["params"] < sum(t["teacher_params"] for t in r["tasks"])
    assert r["teacher"]["params"] == sum(t["teacher_params"] for t in r["tasks"])
    # measured 1.0 / 1.0002 / 1.0016 with 30 000 steps, 30 episodes; the bound only tells a
    # student that learned each task from one that did not (a small run's score moves with the CPU)
    for t in r["tasks"]:
        assert t["normalized_score"] >= 0.5, t
        assert t["labelled_steps"] == 8000
    student, meta = load_student(tmp_path)
    assert len(student.arch.tasks) == 3 and meta["env"][2] == "LunarLander-v3"
    assert main(["evaluate", "--student", str(tmp_path), "--env", "CartPole-v1",
                 "--episodes", "5", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["student"]["return_mean"] >= 250  # the CartPole task learned (random ~22)


@pytest.mark.slow
def test_ensemble_run_reports_each_member(tmp_path):
    cfg = DistillConfig(teacher=("zoo:CartPole-v1-ppo", "zoo:CartPole-v1-dqn"), env="CartPole-v1",
                        ensemble="confident", student_hidden="32", budget=3000,
                        eval_episodes=10, out=str(tmp_path))
    r = run(cfg)
    assert [m["name"] for m in r["members"]] == ["zoo:CartPole-v1-ppo", "zoo:CartPole-v1-dqn"]
    assert r["teacher"]["params"] == sum(m["params"] for m in r["members"])
    assert r["normalized_score"] >= 0.5 and r["ensemble"] == "confident"  # learned, not how well


def test_multitask_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    """SIGINT half way (from the progress callback), then --resume: the same student, bit for
    bit."""
    import os
    import signal

    from rldistill.api import train
    from rldistill.core.errors import Interrupted

    cfg = dict(teacher=("zoo:CartPole-v1-ppo", "zoo:Acrobot-v1-ppo"),
               env=("CartPole-v1", "Acrobot-v1"), student_hidden="16,16", budget=1600,
               rounds=4, min_updates=40)
    ref = train(DistillConfig(**cfg, out=str(tmp_path / "ref"))).student
    seen = [0]

    def interrupt_once(n):
        seen[0] += n
        if seen[0] >= 700 and seen[0] - n < 700:  # in round 2 (of 4), inside the first task
            os.kill(os.getpid(), signal.SIGINT)

    out = DistillConfig(**cfg, out=str(tmp_path / "cut"))
    with pytest.raises(Interrupted):
        train(out, progress=interrupt_once)
    again = train(out, resume=True).student
    for (k, a), (_, b) in zip(ref.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k
