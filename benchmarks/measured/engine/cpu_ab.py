"""CPU seconds (time.process_time) of rldistill.train on LunarLander-v3 10k, [32] student, one
driver, seeds 0-4 twice, in this process: less sensitive than wall time to a busy machine.

    PYTHONPATH=CHECKOUT/src .venv/bin/python benchmarks/measured/engine/cpu_ab.py DRIVER
"""
import statistics
import sys
import tempfile
import time

import torch

torch.set_num_threads(1)
import rldistill  # noqa: E402
from rldistill import DistillConfig  # noqa: E402

driver = sys.argv[1]
ts = []
for rep in range(2):
    for seed in range(5):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = DistillConfig(teacher="zoo:LunarLander-v3-ppo", env="LunarLander-v3",
                                student_hidden="32", driver=driver, budget=10_000, seed=seed,
                                out=tmp)
            t0 = time.process_time()
            rldistill.train(cfg)
            ts.append(time.process_time() - t0)
print(f"{driver} cpu_s median {statistics.median(ts):.3f} min {min(ts):.3f} "
      f"({rldistill.__file__})")
