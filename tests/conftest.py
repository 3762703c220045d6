import importlib
import os

import pytest
import torch

torch.set_num_threads(1)

if os.environ.get("CI") == "true":  # .ci/run: the set-up installed every extra the tests use,
    def _import_or_fail(modname, *args, **kwargs):  # so a missing one is a failure, not a skip
        return importlib.import_module(modname)

    pytest.importorskip = _import_or_fail

FIGURES = ("normalized_score", "agreement", "labelled_steps")


@pytest.fixture(autouse=True)
def _record_figures(request, monkeypatch):
    """With RLDISTILL_FIGURES=1 (scripts/cpu_check.py): each distill and kick-start run's
    headline figures become the test's properties (in --junitxml), to compare between CPUs."""
    if not os.environ.get("RLDISTILL_FIGURES"):
        yield
        return
    import rldistill.api
    import rldistill.drivers.kickstart

    def recorded(module, kind):
        real = module.run

        def run(*args, **kwargs):
            r = real(*args, **kwargs)
            for name, block in (("", r), ("student.", r.get("student")),
                                ("scratch.", r.get("scratch")), ("teacher.", r.get("teacher"))):
                for key in (*FIGURES, "return_mean", "final_return_mean"):
                    if isinstance(block, dict) and key in block:
                        request.node.user_properties.append((f"{kind} {name}{key}", block[key]))
            return r

        monkeypatch.setattr(module, "run", run)

    recorded(rldistill.api, "distill")
    recorded(rldistill.drivers.kickstart, "kickstart")
    yield


@pytest.fixture(scope="session")
def sb3_zips(tmp_path_factory):
    """Untrained SB3 models saved as zips (PPO, A2C, DQN, QR-DQN on CartPole; PPO on
    LunarLander)."""
    from sb3_contrib import QRDQN
    from stable_baselines3 import A2C, DQN, PPO

    d = tmp_path_factory.mktemp("sb3")
    out = {}
    for name, cls, env, kw in [
        ("ppo", PPO, "CartPole-v1", {"n_steps": 64, "policy_kwargs": {"net_arch": [32, 16]}}),
        ("a2c", A2C, "CartPole-v1", {"policy_kwargs": {"activation_fn": torch.nn.ReLU}}),
        ("dqn", DQN, "CartPole-v1", {"policy_kwargs": {"net_arch": [64, 64]}}),
        ("qrdqn", QRDQN, "CartPole-v1", {"policy_kwargs": {"n_quantiles": 5}}),
        ("ppo_ll", PPO, "LunarLander-v3", {"n_steps": 64}),
    ]:
        model = cls("MlpPolicy", env, seed=0, verbose=0, **kw)
        model.save(d / f"{name}.zip")
        out[name] = d / f"{name}.zip"
    return out


@pytest.fixture
def stopped_and_resumed(tmp_path):
    """``run(cfg)``: the run of ``cfg`` alone, and the same run stopped (a callback raising)
    after round ``at`` and resumed from its checkpoint, as (alone, resumed) outcomes for a
    resume test to compare."""
    from rldistill.api import train

    class Stop(Exception):
        pass

    def run(cfg, at=2):
        def stop(loop, m):
            if m.round == at:
                raise Stop

        alone = train(cfg.replace(out=str(tmp_path / "alone")))
        with pytest.raises(Stop):
            train(cfg.replace(out=str(tmp_path / "stopped")), callbacks=(stop,))
        return alone, train(cfg.replace(out=str(tmp_path / "stopped")), resume=True)

    return run
