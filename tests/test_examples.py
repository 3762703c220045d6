"""The examples run, and the step-by-step loop of examples/distill_loop.py is the engine's own:
the same student, to the last bit of its score, as `rldistill distill` with the same options."""

import importlib.util
from pathlib import Path

import rldistill

EXAMPLES = Path(__file__).parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_step_by_step_loop_is_the_distill_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ex = _load("distill_loop").main(["--budget", "800", "--rounds", "2", "--episodes", "5"])
    out = capsys.readouterr().out
    assert out.count("\nround ") == 2 and "normalized" in out
    r = rldistill.run(rldistill.DistillConfig(
        teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=800, rounds=2,
        param_ratio=0.25, eval_episodes=5, out=str(tmp_path / "cli")))
    assert ex["labelled"] == r["labelled_steps"] == 800
    assert ex["student"] == r["student"]["return_mean"]
    assert ex["teacher"] == r["teacher"]["return_mean"]
    assert round(ex["agreement"], 4) == r["agreement"]
