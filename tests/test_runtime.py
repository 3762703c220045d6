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
    from rldistill.export import export_onnx

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

    from rldistill.runtime import Policy

    graph = helper.make_graph([helper.make_node("Identity", ["obs"], ["y"])], "g",
                              [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    onnx.save(helper.make_model(graph), str(tmp_path / "x.onnx"))
    with pytest.raises(ValueError, match="not a student exported by `rldistill export`"):
        Policy(tmp_path / "x.onnx")


def test_int8_export_is_checked_and_plays_with_the_runtime(tmp_path):
    pytest.importorskip("onnxruntime")
    from rldistill.export import export_onnx
    from rldistill.runtime import Policy

    out = tmp_path / "run"
    run(DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", student_hidden="16",
                      budget=1000, min_updates=50, eval_episodes=2, out=str(out)))
    report = export_onnx(out, tmp_path / "s.onnx", int8=True)
    q = report["int8"]
    assert Path(q["onnx"]).name == "s.int8.onnx" and q["bytes"] > 0
    assert q["action_agreement_vs_float"] >= 0.95  # measured 0.998 on a CartPole student
    policy = Policy(q["onnx"])  # the metadata survives quantization
    assert policy.env == "CartPole-v1" and policy.act(np.zeros(4, np.float32)) in (0, 1)
