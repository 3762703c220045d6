"""Profile rldistill's loop (distill.train) with pyinstrument: LunarLander-v3, student driver.

    .venv/bin/pip install pyinstrument   # benchmark-only; not a dependency of rldistill
    .venv/bin/python benchmarks/profile_loop.py [--budget 10000] [--driver student]

"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=10_000)
    ap.add_argument("--driver", default="student")
    a = ap.parse_args()
    from pyinstrument import Profiler

    from rldistill.core.config import DistillConfig
    from rldistill.api import train

    with tempfile.TemporaryDirectory() as d:
        cfg = DistillConfig(teacher="zoo:LunarLander-v3-ppo", env="LunarLander-v3",
                            student_hidden="32", driver=a.driver, budget=a.budget, seed=0, out=d)
        train(cfg)  # warm-up: imports, Box2D, first-call costs
        prof = Profiler(interval=0.0005)
        prof.start()
        out = train(cfg).loop
        prof.stop()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    text = (f"# distill.train LunarLander-v3 driver={a.driver} budget={a.budget} "
            f"student [32]: wall_s {out.wall_s:.2f}, updates {out.updates}\n# load: {load}\n"
            + prof.output_text(unicode=False, color=False, show_all=False))
    res = HERE / "results"
    res.mkdir(exist_ok=True)
    (res / "profile.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
