"""Engine parity: the same runs before and after a change of the loop, compared bit for bit.

    .venv/bin/python benchmarks/engine_parity.py weights --out FILE.json   # demo + LL PPO 5 seeds
    .venv/bin/python benchmarks/engine_parity.py wall --out FILE.json      # LL 10k train() wall

``weights``: the demo's three students (zoo:LunarLander-v3-dqn, mix, 50k) and the LunarLander
PPO ``--param-ratio 0.1 --driver student --budget 10000`` run on seeds 0-4, through the public
``rldistill.run``; per run the sha256 of the student's weights (tensor bytes in module order, so
that a renamed key does not count as a change) and the normalized score (100 episodes).
``wall``: ``rldistill.train`` on LunarLander-v3, budget 10k, [32] student, drivers teacher /
student / mix, seeds 0-4, three repeats each; the median wall per driver (what
``benchmarks/compare.py`` times, without evaluation). Run it on an idle machine.

Only the public API is used, so the script runs against any version of the package: point
``PYTHONPATH`` at another checkout's ``src`` to measure that one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch


def weights_sha(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for v in state.values():
        h.update(v.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def weights(episodes: int) -> list[dict]:
    import rldistill
    from rldistill import DistillConfig

    cases = [("demo", dict(teacher="zoo:LunarLander-v3-dqn", env="LunarLander-v3",
                           param_ratio=r, driver="mix", budget=50_000), 0) for r in
             (0.25, 0.07, 0.04)]
    cases += [("ll-ppo", dict(teacher="zoo:LunarLander-v3-ppo", env="LunarLander-v3",
                              param_ratio=0.1, driver="student", budget=10_000), s)
              for s in range(5)]
    rows = []
    for name, kw, seed in cases:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = DistillConfig(**kw, seed=seed, eval_episodes=episodes, out=tmp)
            r = rldistill.run(cfg)
            student, _ = rldistill.load_student(tmp)
        rows.append({"case": name, "seed": seed, **{k: kw[k] for k in ("param_ratio", "driver",
                                                                       "budget")},
                     "sha256": weights_sha(student.state_dict()),
                     "normalized_score": r["normalized_score"],
                     "student_return": r["student"]["return_mean"],
                     "params": r["student"]["params"], "wall_s": r["wall_s"]})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def wall(repeats: int) -> dict:
    import rldistill
    from rldistill import DistillConfig

    out: dict = {}
    for driver in ("teacher", "student", "mix"):
        times = []
        for seed in range(5):
            for _ in range(repeats):
                with tempfile.TemporaryDirectory() as tmp:
                    cfg = DistillConfig(teacher="zoo:LunarLander-v3-ppo", env="LunarLander-v3",
                                        student_hidden="32", driver=driver, budget=10_000,
                                        seed=seed, out=tmp)
                    t0 = time.perf_counter()
                    rldistill.train(cfg)
                    times.append(time.perf_counter() - t0)
        out[driver] = {"median_s": round(statistics.median(times), 4),
                       "min_s": round(min(times), 4), "max_s": round(max(times), 4),
                       "runs": len(times)}
        print(driver, out[driver], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["weights", "wall"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    import rldistill

    doc = {"package": str(Path(rldistill.__file__).parent), "python": sys.version.split()[0],
           "torch": torch.__version__}
    doc["results"] = weights(args.episodes) if args.what == "weights" else wall(args.repeats)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
