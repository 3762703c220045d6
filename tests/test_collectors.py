"""--collectors N: the envs stepped by Ray actors give the same run, bit for bit, as local envs."""

import os
import signal

import pytest

from rldistill.api import train
from rldistill.core.config import DistillConfig
from rldistill.core.errors import Interrupted, UserError
from rldistill.core.ray import ray_session
from rldistill.scale.sweep import run_sweep
from rldistill.students.network import load_student

# one pytest-xdist worker runs every test that starts a Ray (the README's test command: -n)
pytestmark = pytest.mark.xdist_group("ray")


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


class _Stop(Exception):
    pass


@pytest.mark.slow
def test_collectors_playing_ahead_are_the_same_run_for_the_same_n_and_resume(tmp_path):
    """Actors that play a round ahead (the student sees what the teacher sees): every labelled
    step stored once, the same student for the same N (in a sweep's trial too, its actors
    placed with it), and a run stopped after a round and resumed (its envs replayed through
    new actors) ends the same."""
    pytest.importorskip("ray")
    opts = dict(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=301, n_envs=3,
                rounds=3, min_updates=30, student_hidden="8", collectors=2, eval_episodes=2)
    base = DistillConfig(**opts)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base:\n" + "".join(f"  {k}: {v!r}\n" for k, v in opts.items())
                     + "grid:\n  seed: [0]\n")

    def stop(loop, m):
        if m.round == 2:
            raise _Stop

    # rounds of 2 100 rows on 8 envs: two segments each; a Ctrl-C after round 0's first
    big = base.replace(budget=4200, n_envs=8, rounds=2)
    sent: list[int] = []

    def ctrl_c(k):
        if not sent:
            sent.append(k)
            os.kill(os.getpid(), signal.SIGINT)

    with ray_session(None, 3):
        a = train(base.replace(out=str(tmp_path / "a")))
        s = run_sweep(sweep, tmp_path / "sw")
        with pytest.raises(_Stop):
            train(base.replace(out=str(tmp_path / "c")), callbacks=(stop,))
        c = train(base.replace(out=str(tmp_path / "c")), resume=True)
        with pytest.raises(Interrupted):  # the actors end the round; then the checkpoint
            train(big.replace(out=str(tmp_path / "d")), progress=ctrl_c)
        d = train(big.replace(out=str(tmp_path / "d")), resume=True)
        e = train(big.replace(out=str(tmp_path / "e")))
    assert sent == [2048]  # the first segment: 256 steps of the 8 envs
    for k, v in e.student.state_dict().items():
        assert v.equal(d.student.state_dict()[k]), k
    # rounds of 100, 100 and 101 labelled steps: 34 steps of the 3 envs each, as in one process
    assert a.loop.labelled == 301 and a.loop.env_steps == 306
    assert a.loop.teacher_queries == 301
    assert [t["status"] for t in s["trials"]] == ["done"]
    b, _ = load_student(s["trials"][0]["dir"])
    for other in (b, c.student):
        for k, v in a.student.state_dict().items():
            assert v.equal(other.state_dict()[k]), k


def test_slow_env_ids_wait_at_every_step():
    """``Slow<N>ms/<EnvId>`` (benchmarks/scale/slow_sim.py): the env, its every step N ms
    later; ids with a namespace inside are unknown ids."""
    import time

    from rldistill.envs.make import make_env

    env = make_env("Slow20ms/CartPole-v1")
    env.reset(seed=0)
    t0 = time.perf_counter()
    for _ in range(5):
        env.step(0)
    assert time.perf_counter() - t0 >= 0.1
    assert env.observation_space.shape == (4,)
    for bad in ("Slow1ms/MinAtar/Breakout-v1", "Slow0.5ms/CartPole-v1", "Slow5ms/Acrobat-v1"):
        with pytest.raises(UserError, match="unknown env id"):
            make_env(bad)
