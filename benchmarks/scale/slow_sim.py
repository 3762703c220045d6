"""--collectors N on a slow simulator: an env whose step waits (``Slow<N>ms/<EnvId>``,
:mod:`rldistill.envs.slow`), so the CPUs stay free and N actors may give close to N x even on
2 cores. Labelled steps per second of the loop's collect_round calls (updates excluded), 8 envs,
the default driver, for each N, ``--repeats`` runs each; the median against the ideal
``max(N, 1) x`` the rate without collectors; whether the student is the same bit for bit for
every N (it is for the same N: engine/ahead.py).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale/slow_sim.py [--delay-ms 5]
        [--collectors 0,1,2,4,8] [--repeats 3] [--steps 8000] [--label L]

Writes a JSON line per run to results/slow_sim.jsonl and prints the summary table.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from collectors import measure


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default="zoo:LunarLander-v3-ppo")
    ap.add_argument("--env", default="LunarLander-v3")
    ap.add_argument("--delay-ms", type=float, default=5.0)
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--collectors", default="0,1,2,4,8")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    torch.set_num_threads(1)
    env = f"Slow{a.delay_ms:g}ms/{a.env}"
    out = Path(__file__).resolve().parent / "results" / "slow_sim.jsonl"
    rates: dict[int, list[float]] = {}
    shas: set[str] = set()
    for n in (int(x) for x in a.collectors.split(",")):
        for r in range(a.repeats):
            row = measure(a.teacher, env, n, a.steps, rounds=4)
            row.update(repeat=r, delay_ms=a.delay_ms, label=a.label)
            print(json.dumps(row), flush=True)
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            rates.setdefault(n, []).append(row["labelled_steps_per_s"])
            shas.add(row["student_sha256"])
    base = statistics.median(rates[min(rates)])
    print(f"\n{env}, {a.steps} labelled steps, 8 envs, median of {a.repeats} "
          f"(the same student for every N: {len(shas) == 1})\n")
    print("| collectors | labelled steps/s (median) | runs | x the 0 row | of the ideal max(N,1)x |")
    print("|---|---|---|---|---|")
    for n, xs in rates.items():
        m = statistics.median(xs)
        print(f"| {n} | {m:.0f} | {', '.join(f'{x:.0f}' for x in xs)} | {m / base:.2f} | "
              f"{m / base / max(n, 1):.2f} |")


if __name__ == "__main__":
    main()
