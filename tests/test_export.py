"""ONNX export: the file onnxruntime runs gives the student's outputs; bad input is one line."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import torch

from rldistill.cli import main
from rldistill.core.spaces import SpaceSpec
from rldistill.students.network import build_student, save_student


def _save(tmp_path, specs, hidden=(16, 16), meta=None):
    torch.manual_seed(0)
    student = build_student(specs, hidden)
    save_student(student, tmp_path / "run",
                 meta or {"env": "CartPole-v1", "teacher": {"name": "t"}})
    return student


def test_export_matches_torch_and_carries_metadata(tmp_path, capsys):
    student = _save(tmp_path, SpaceSpec((4,), 2))
    assert main(["export", "--student", str(tmp_path / "run"), "--out",
                 str(tmp_path / "s.onnx"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["action_agreement"] == 1.0 and report["max_abs_diff"] < 1e-5
    assert report["params"] == student.params and report["latency_us"]["onnxruntime"] > 0
    assert not list(tmp_path.glob(".*.tmp"))
    # an independent check, outside the exporter's own report
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    got = ort.InferenceSession(str(tmp_path / "s.onnx")).run(None, {"obs": x.numpy()})[0]
    np.testing.assert_allclose(got, student.outputs(x).numpy(), atol=1e-5)
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "s.onnx")).metadata_props}
    assert meta["env"] == "CartPole-v1" and meta["out_dim"] == "2" and meta["output"] == "logits"
    assert json.loads(meta["spaces"])["action"] == {"kind": "discrete", "n": 2, "shape": [],
                                                  "low": [], "high": []}


def test_export_one_task_of_a_multitask_student(tmp_path, capsys):
    tasks = [{"env": "CartPole-v1", "teacher": {"name": "a"}},
             {"env": "Acrobot-v1", "teacher": {"name": "b"}}]
    student = _save(tmp_path, [SpaceSpec((4,), 2), SpaceSpec((6,), 3)],
                    meta={"env": ["CartPole-v1", "Acrobot-v1"], "tasks": tasks})
    assert main(["export", "--student", str(tmp_path / "run"), "--task", "1", "--out",
                 str(tmp_path / "t1.onnx"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (report["obs_dim"], report["out_dim"]) == (6, 3)
    # the file holds task 1's adapter, the shared trunk and task 1's head, not task 0's layers
    assert report["params"] == (6 * 16 + 16) + (16 * 16 + 16) + (16 * 3 + 3) < student.params
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "t1.onnx")).metadata_props}
    assert meta["env"] == "Acrobot-v1" and json.loads(meta["teacher"]) == {"name": "b"}
    x = torch.randn(8, 6)
    got = ort.InferenceSession(str(tmp_path / "t1.onnx")).run(None, {"obs": x.numpy()})[0]
    np.testing.assert_allclose(got, student.outputs(x, 1).numpy(), atol=1e-5)


def test_export_bad_input_is_one_line_exit_2(tmp_path, capsys):
    _save(tmp_path, SpaceSpec((4,), 2))
    cases = [(["--student", str(tmp_path / "nope"), "--out", str(tmp_path / "a.onnx")],
              "no student at"),
             (["--student", str(tmp_path / "run"), "--task", "3", "--out",
               str(tmp_path / "a.onnx")], "--task 3 is out of range"),
             (["--student", str(tmp_path / "run"), "--out", str(tmp_path / "a.zip")],
              "should end in .onnx"),
             (["--student", str(tmp_path / "run"), "--out", str(tmp_path / "run" / "student.json"
                                                                / "a.onnx")], "cannot write")]
    for argv, msg in cases:
        assert main(["export", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1
    assert not (tmp_path / "a.onnx").exists()
