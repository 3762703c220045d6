"""First layers for fast CNN students (issue 31), ranked offline: each layout is trained on one
distill run's checkpointed states (the Breakout PPO teacher's labels, KL, Adam 3e-3, batches of
1 024, EPOCHS passes) and judged on held-out agreement with the teacher (8 000 states), then
exported to ONNX float and static int8 (calibrated on 2 048 of the states) and timed at batch
1 024 on one thread against the torch teacher. EPOCHS 0 only times (untrained weights).

    .venv/bin/rldistill distill \
        --teacher benchmarks/bank/teachers/BreakoutNoFrameskip-v4-ppo-s0.zip \
        --env BreakoutNoFrameskip-v4 --param-ratio 0.07 --budget 50000 --seed 0 --out RUN
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pixels/layout_proxy.py RUN EPOCHS LAYOUT ...

A layout is ``[PRE|]CxKxS,...:DENSE``; PRE is ``pool-P`` (P x P average pooling first),
``mix-K`` (a 1x1 convolution mixing the 4 frames into K) or ``dw-MxKxSxC`` (a depthwise K x K
stride S convolution, M filters per frame, then 1x1 to C channels). Appends one JSON line per
layout to results/layout_proxy.jsonl. A proxy: ten passes train less than a distill run does
(the default 7 % student agrees 0.922 here, 0.96 in its run), so only the order counts.
It trains offline, beside the engine, because these layouts (pooling, depthwise, frame mixing)
are not students ``rldistill`` builds: a layout that won would be built into
``rldistill.students`` and measured with ``rusu_minatar.py`` as the others were.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_static)
from torch import nn

from rldistill.api import load_task_teachers
from rldistill.core.config import DistillConfig
from rldistill.engine.checkpoint import buffer_obs

TEACHER = "benchmarks/bank/teachers/BreakoutNoFrameskip-v4-ppo-s0.zip"
OUT = Path(__file__).resolve().parent / "results" / "layout_proxy.jsonl"


class Net(nn.Module):
    """A layout (see the module's docstring) on 4 x 84 x 84 uint8 frames, 4 actions."""

    def __init__(self, spec: str, n_out: int = 4) -> None:
        super().__init__()
        pre, _, rest = spec.rpartition("|")
        convs, dense = rest.split(":")
        layers: list[nn.Module] = []
        c, h = 4, 84
        for part in filter(None, pre.split(",")):
            kind, args = part.split("-")
            a = [int(v) for v in args.split("x")]
            if kind == "pool":
                layers.append(nn.AvgPool2d(a[0]))
                h //= a[0]
            elif kind == "mix":
                layers.append(nn.Conv2d(c, a[0], 1))
                c = a[0]
            elif kind == "dw":
                m, k, st, out = a
                layers += [nn.Conv2d(c, c * m, k, st, groups=c), nn.Conv2d(c * m, out, 1),
                           nn.ReLU()]
                c, h = out, (h - k) // st + 1
        for part in convs.split(","):
            out, k, st = (int(v) for v in part.split("x"))
            layers += [nn.Conv2d(c, out, k, st), nn.ReLU()]
            c, h = out, (h - k) // st + 1
        self.f = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * h * h, int(dense)),
                               nn.ReLU(), nn.Linear(int(dense), n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.f(x.float() / 255.0)


class Calibration(CalibrationDataReader):
    def __init__(self, xs: np.ndarray) -> None:
        self.it = iter([{"obs": xs[i:i + 128]} for i in range(0, len(xs), 128)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.it, None)


def best_us(call, n: int, blocks: int = 5) -> float:
    call()
    times = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(n):
            call()
        times.append((time.perf_counter() - t0) / n * 1e6)
    return min(times)


def session(data: bytes) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def agreement(out: torch.Tensor, want: torch.Tensor) -> float:
    return round((out.argmax(-1) == want.argmax(-1)).float().mean().item(), 4)


def main() -> None:
    run, epochs, specs = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    torch.set_num_threads(1)
    base = DistillConfig(teacher=TEACHER, env="BreakoutNoFrameskip-v4", out="/tmp/layout-proxy",
                         env_wrapper=["AtariWrapper"], frame_stack=4)
    t = load_task_teachers(base)[1][0]
    obs = buffer_obs(run, 0, 10**6 if epochs else 12_000, 0)
    gen = torch.Generator().manual_seed(0)
    obs = obs[torch.randperm(len(obs), generator=gen)]
    with torch.inference_mode():
        logits = torch.cat([t.outputs(obs[i:i + 1024]) for i in range(0, len(obs), 1024)])
        teacher_us = best_us(lambda: t.outputs(obs[:1024]), 2)
    n_train = len(obs) - 8000
    test = slice(n_train, None)
    x = obs[test][:1024].float().numpy()
    for spec in specs:
        torch.manual_seed(0)
        net = Net(spec)
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        t0 = time.time()
        for _ in range(epochs):
            idx = torch.randperm(n_train, generator=gen)
            for i in range(0, n_train, 1024):
                b = idx[i:i + 1024]
                loss = F.kl_div(F.log_softmax(net(obs[b]), -1), F.log_softmax(logits[b], -1),
                                log_target=True, reduction="batchmean")
                opt.zero_grad()
                loss.backward()
                opt.step()
        train_s = time.time() - t0
        net.eval()
        f = io.BytesIO()
        torch.onnx.export(net.f, (torch.from_numpy(x[:2]) / 255.0,), f, input_names=["obs"],
                          output_names=["out"], dynamic_axes={"obs": {0: "b"}}, dynamo=False)
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "f.onnx").write_bytes(f.getvalue())
            quantize_static(f"{d}/f.onnx", f"{d}/q.onnx",
                            Calibration(obs[:2048].float().numpy() / 255.0),
                            quant_format=QuantFormat.QDQ, weight_type=QuantType.QInt8,
                            activation_type=QuantType.QUInt8)
            q = (Path(d) / "q.onnx").read_bytes()
        sf, sq = session(f.getvalue()), session(q)
        us_f = best_us(lambda: sf.run(None, {"obs": x / 255.0}), 3)
        us_q = best_us(lambda: sq.run(None, {"obs": x / 255.0}), 3)
        row = {"spec": spec, "params": sum(p.numel() for p in net.parameters()),
               "epochs": epochs, "float_ms_1024": round(us_f / 1e3, 1),
               "int8_ms_1024": round(us_q / 1e3, 1), "teacher_ms_1024": round(teacher_us / 1e3, 1),
               "speedup_float": round(teacher_us / us_f, 2),
               "speedup_int8": round(teacher_us / us_q, 2), "train_s": round(train_s)}
        if epochs:
            with torch.inference_mode():
                xt = obs[test].float().numpy() / 255.0
                row |= {"agree_test": agreement(net(obs[test]), logits[test]),
                        "agree_train": agreement(net(obs[:8000]), logits[:8000]),
                        "int8_agree_test": agreement(
                            torch.from_numpy(sq.run(None, {"obs": xt})[0]), logits[test])}
        print(json.dumps(row), flush=True)
        with OUT.open("a") as fo:
            fo.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
