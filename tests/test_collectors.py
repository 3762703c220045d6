"""--collectors N: the envs stepped by Ray actors give the same run, bit for bit, as local envs."""

import pytest

from rldistill.api import train
from rldistill.core.config import DistillConfig
from rldistill.core.errors import UserError


@pytest.mark.slow
def test_collectors_give_the_same_student_bit_for_bit(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    # without --ray-address the Ray is a local one, whatever cluster RAY_ADDRESS names
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    base = DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=300,
                         n_envs=3, rounds=3, min_updates=30, student_hidden="8",
                         student_obs="drop:velocities")  # both views come back from the actors
    local = train(base.replace(out=str(tmp_path / "local"))).student.state_dict()
    remote = train(base.replace(out=str(tmp_path / "remote"), collectors=2)).student.state_dict()
    assert local.keys() == remote.keys()
    for k in local:
        assert local[k].equal(remote[k]), k


def test_collectors_must_not_be_negative():
    with pytest.raises(UserError, match="--collectors"):
        DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", collectors=-1).validate()
