"""The torch-free runtime: a student exported to ONNX plays its env in a process where torch
cannot be imported, and scores what ``rldistill evaluate`` scores on the same episodes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rldistill import DistillConfig, evaluate_run, run

ROOT = Path(__file__).resolve().parents[1]


def test_runtime_plays_without_torch_as_evaluate_scores(tmp_path):
    pytest.importorskip("onnxruntime")
    from rldistill.deploy.onnx import export_onnx

    out = tmp_path / "run"
    run(DistillConfig(teacher="zoo:LunarLander-v3-ppo", env="LunarLander-v3", student_hidden="16",
                      budget=1000, min_updates=50, eval_episodes=2, out=str(out)))
    export_onnx(out, tmp_path / "s.onnx")
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks/runtime/play.py"),
                        str(tmp_path / "s.onnx"), "--episodes", "5"],
                       capture_output=True, text=True, check=True)
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["torch_imported"] is False
    want = evaluate_run(out, episodes=5)["student"]["return_mean"]
    assert got["return_mean"] == pytest.approx(want, abs=1e-3)


def test_runtime_refuses_a_file_it_did_not_write(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from rldistill.deploy.runtime import Policy

    graph = helper.make_graph([helper.make_node("Identity", ["obs"], ["y"])], "g",
                              [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    onnx.save(helper.make_model(graph), str(tmp_path / "x.onnx"))
    with pytest.raises(ValueError, match="not a student exported by `rldistill export`"):
        Policy(tmp_path / "x.onnx")


def test_int8_export_is_checked_and_plays_with_the_runtime(tmp_path):
    pytest.importorskip("onnxruntime")
    from rldistill.deploy.onnx import export_onnx
    from rldistill.deploy.runtime import Policy

    out = tmp_path / "run"
    run(DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", student_hidden="16",
                      budget=1000, min_updates=50, eval_episodes=2, out=str(out)))
    for mode in ("dynamic", "static"):
        report = export_onnx(out, tmp_path / "s.onnx", int8=mode)
        q = report["int8"]
        assert report["check_states"] == "buffer" and q["mode"] == mode
        assert Path(q["onnx"]).name == "s.int8.onnx" and q["bytes"] > 0
        # measured 0.998 (dynamic) on a CartPole student's own states
        assert q["action_agreement_vs_float"] >= 0.95
        policy = Policy(q["onnx"])  # the metadata survives quantization
        assert policy.env == "CartPole-v1" and policy.act(np.zeros(4, np.float32)) in (0, 1)
        ops = {n.op_type for n in __import__("onnx").load(q["onnx"]).graph.node}
        # dynamic quantizes activations per call; static has fixed, calibrated ranges
        assert ("DynamicQuantizeLinear" in ops or "MatMulInteger" in ops) == (mode == "dynamic")


def test_latency_blocks_shrink_for_slow_calls_only():
    """best_us: a call of milliseconds gets blocks of ~50 ms (at least 5 calls), a fast one
    the calls asked for."""
    import time

    from rldistill.evaluation.rollouts import best_us

    n = [0]

    def slow():
        n[0] += 1
        time.sleep(0.002)

    assert best_us(slow, calls=300, blocks=3) >= 2000
    assert 20 + 3 * 5 <= n[0] <= 20 + 3 * 25  # 300 a block would be 920 calls
    n[0] = 0  # calls kept where they take less than block_s (10 s: no stall shrinks them)
    best_us(lambda: n.__setitem__(0, n[0] + 1), calls=10, blocks=3, block_s=10.0)
    assert n[0] == 20 + 3 * 10


def test_bench_latency_times_teacher_and_student_in_every_runtime(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    import torch

    from rldistill.cli import main
    from rldistill.core.spaces import SpaceSpec
    from rldistill.students.network import build_student, save_student

    save_student(build_student(SpaceSpec((4,), 2), (8,)), tmp_path / "run",
                 {"env": "CartPole-v1", "config": {"teacher": "zoo:CartPole-v1-ppo"}})
    assert main(["bench-latency", str(tmp_path / "run"), "--batch", "1,16", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["states"] == "random normal" and torch.get_num_threads() == 1
    rows = {(r["who"], r["runtime"]): r for r in report["rows"]}
    assert list(rows) == [("teacher", "torch"), ("student", "torch"),
                          ("student", "onnx float"), ("student", "onnx int8")]
    assert rows[("student", "torch")]["params"] == 4 * 8 + 8 + 8 * 2 + 2
    assert rows[("teacher", "torch")]["params"] > rows[("student", "torch")]["params"]
    for r in rows.values():
        assert r["bytes"] > 0
        for b, fig in r["batch"].items():
            assert fig["us_per_action"] == pytest.approx(fig["us_per_call"] / int(b), rel=1e-2)
    assert rows[("teacher", "torch")]["batch"]["16"]["speedup_vs_teacher"] == 1.0
    for argv, msg in [(["--batch", "0"], "give batch sizes >= 1"),
                      (["--batch", "x"], "give batch sizes as integers")]:
        assert main(["bench-latency", str(tmp_path / "run"), *argv]) == 2
        assert msg in capsys.readouterr().err
    save_student(build_student(SpaceSpec((4,), 2), (8,)), tmp_path / "bare", {})
    assert main(["bench-latency", str(tmp_path / "bare")]) == 2
    assert "does not name its teacher: pass --teacher SPEC" in capsys.readouterr().err
