"""CNN students against their teachers in time per batch (issue 31): the teacher in torch, the
student as ONNX float (onnxruntime), one thread each, batch 1 and 1024, for the students
``--param-ratio`` builds (the defaults of the day) and any layouts named on the command line.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pixels/cnn_latency.py TEACHER ENV
        [--ratios 0.25,0.07,0.04] [--layout 16x8x8,32x4x2:128 ...] [--mlp 14 ...] [--label L]

TEACHER ``atari-untrained`` makes an untrained SB3 PPO CnnPolicy for BreakoutNoFrameskip-v4
(NatureCNN, 1.69 M parameters; time does not depend on the weights) in /tmp. A layout is
``CxKxS,...:DENSE`` (channels x kernel x stride per convolution); ``--mlp WIDTHS`` an MLP
student on the flattened frame (``--student-hidden WIDTHS``). The inputs are random frames
of the env's dtype. Each figure is the best of 5 timed blocks after a warm-up. Appends one JSON
line per student to results/cnn_latency.jsonl: ``student_onnx_us`` is the graph `export`
writes, fed the env's frames as they come (uint8 Atari frames to a uint8 graph since issue 31's
change; ``student_onnx_before_us``: the float32 graph of before, fed the same frames cast to
float32, as the runtime then did; ``student_onnx_float_fed_us``: that graph fed float32 frames
cast beforehand, what rows before the change timed).
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ATARI = "/tmp/rldistill-atari-untrained.zip"


def atari_teacher() -> str:
    if not Path(ATARI).exists():
        import ale_py
        import gymnasium as gym
        from stable_baselines3 import PPO
        from stable_baselines3.common.env_util import make_atari_env
        from stable_baselines3.common.vec_env import VecFrameStack

        gym.register_envs(ale_py)
        env = VecFrameStack(make_atari_env("BreakoutNoFrameskip-v4", n_envs=1, seed=0), 4)
        PPO("CnnPolicy", env, seed=0, device="cpu").save(ATARI)
    return ATARI


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("teacher")
    ap.add_argument("env")
    ap.add_argument("--ratios", default="0.25,0.07,0.04")
    ap.add_argument("--layout", action="append", default=[])
    ap.add_argument("--mlp", action="append", default=[])
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    torch.set_num_threads(1)
    import onnxruntime as ort

    from rldistill.api import load_task_teachers
    from rldistill.core.config import DistillConfig
    from rldistill.deploy.onnx import _OneTask, frames_as_uint8
    from rldistill.evaluation.rollouts import best_us
    from rldistill.students.build import cnn_arch, make_student
    from rldistill.students.convs import teacher_layout
    from rldistill.students.network import Student

    teacher = atari_teacher() if a.teacher == "atari-untrained" else a.teacher
    atari = {"env_wrapper": ["AtariWrapper"], "frame_stack": 4} if "NoFrameskip" in a.env else {}
    base = DistillConfig(teacher=teacher, env=a.env, out="/tmp/cnn-latency", **atari)
    cfg, teachers, _ = load_task_teachers(base)
    t = teachers[0]
    rng = np.random.default_rng(0)
    shape = (1024, *t.spec.obs_shape)
    x = torch.from_numpy(rng.integers(0, 255, shape).astype(np.uint8) if t.spec.obs_dtype
                         == "uint8" else rng.integers(0, 2, shape).astype(np.float32))

    def us(call, b: int) -> float:
        return best_us(call, calls=max(5, 300 // b), blocks=5)

    def onnx_session(student: Student, u8: bool) -> object:
        f = io.BytesIO()
        torch.onnx.export(_OneTask(student, 0, frames_u8=u8).eval(),
                          (x[:2] if u8 else x[:2].float(),), f, input_names=["obs"],
                          output_names=["out"], dynamic_axes={"obs": {0: "b"}}, dynamo=False)
        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        return ort.InferenceSession(f.getvalue(), so, providers=["CPUExecutionProvider"])

    with torch.inference_mode():
        t_us = {b: us(lambda b=b: t.outputs(x[:b]), b) for b in (1, 1024)}
    students = [(f"--param-ratio {r}", make_student(cfg.replace(param_ratio=float(r)), [t]))
                for r in a.ratios.split(",") if r]
    channels_last = teacher_layout(t)[2]
    for text in a.layout:
        convs, dense = text.split(":")
        c = tuple(tuple(int(v) for v in part.split("x")) for part in convs.split(","))
        arch = cnn_arch(t.spec, t.head.name, c, (int(dense),), channels_last)
        students.append((text, Student(arch, [t.spec], [t.head.name])))
    students += [(f"--student-hidden {h}", make_student(cfg.replace(student_hidden=h), [t]))
                 for h in a.mlp]
    out = HERE / "results" / "cnn_latency.jsonl"
    for name, s in students:
        u8 = frames_as_uint8(s, 0)
        sess, before = onnx_session(s.eval(), u8), onnx_session(s.eval(), False)
        xe, xf = x.numpy(), x.float().numpy()  # the env's frames; float32 ones
        s_us = {b: us(lambda b=b: sess.run(None, {"obs": xe[:b].astype(
            np.uint8 if u8 else np.float32, copy=False)}), b) for b in (1, 1024)}
        b_us = {b: us(lambda b=b: before.run(None, {"obs": xe[:b].astype(np.float32)}), b)
                for b in (1, 1024)}
        f_us = {b: us(lambda b=b: before.run(None, {"obs": xf[:b]}), b) for b in (1, 1024)}
        row = {"teacher": a.teacher, "env": a.env, "student": name, "label": a.label,
               "conv": s.arch.conv, "dense": s.arch.hidden, "params": s.arch.params,
               "param_ratio": round(s.arch.params / t.params, 4),
               "teacher_torch_us": t_us, "student_onnx_us": s_us, "uint8_graph": u8,
               "student_onnx_before_us": b_us, "student_onnx_float_fed_us": f_us,
               "speedup": {b: round(t_us[b] / s_us[b], 2) for b in (1, 1024)}}
        print(json.dumps(row), flush=True)
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
