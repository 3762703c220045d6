"""Distil, then fine-tune (issue 28): does RL on a distilled student keep what it was taught?

For each task a 10 % student of a zoo teacher (``rldistill distill --param-ratio 0.1``, the
defaults), then per seed: ``rldistill finetune`` with its defaults (``finetune``), the same with
no guard (``--warmup-steps 0 --anchor none``: ``unguarded``), and SB3's own continuation of the
exported student (``plain``: ``load`` + ``learn``, as ``benchmarks/runtime/sb3_continue.sh``
measured it, with the same evaluation curve). One JSON row per run.

    .venv/bin/python benchmarks/finetune/run.py run --tasks ll-ppo,pendulum-sac,ll-dqn \\
        --configs finetune,plain --seeds 3 --jobs 2
    .venv/bin/python benchmarks/finetune/run.py table
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STUDENTS = HERE / "students"  # not in git: `run` remakes them (seeded)
ROWS = HERE / "results" / "rows.jsonl"

# name: (zoo teacher, fine-tuning env steps, evaluation every)
TASKS = {
    "ll-ppo": ("LunarLander-v3-ppo", 100_000, 16_384),
    "ll-dqn": ("LunarLander-v3-dqn", 20_000, 2_000),
    "pendulum-sac": ("Pendulum-v1-sac", 10_000, 1_000),
    "llc-ppo": ("LunarLanderContinuous-v3-ppo", 100_000, 10_000),
    "breakout-ppo": ("MinAtar-Breakout-v1-ppo", 100_000, 10_000),
}
CONFIGS = {"finetune": {}, "unguarded": dict(warmup_steps=0, anchor="none"), "plain": {}}


def student(task: str) -> Path:
    out = STUDENTS / task
    if not (out / "result.json").exists():
        subprocess.run([str(ROOT / ".venv/bin/rldistill"), "distill", "--teacher",
                        f"zoo:{TASKS[task][0]}", "--param-ratio", "0.1", "--out", str(out),
                        "--overwrite", "--json"], check=True, stdout=subprocess.DEVNULL)
    return out


def run_one(task: str, config: str, seed: int) -> dict:
    import torch

    from rldistill.core.config import FinetuneConfig
    from rldistill.drivers import finetune

    torch.set_num_threads(1)
    _, steps, every = TASKS[task]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = FinetuneConfig(student=str(STUDENTS / task), steps=steps, eval_every=every,
                             seed=seed, out=tmp, **CONFIGS[config])  # type: ignore[arg-type]
        if config == "plain":
            setup = finetune.Setup(cfg, Path(tmp))
            r = finetune._train(cfg, setup, Path(tmp), "plain", None, {}, None)
            r |= {"algo": setup.algo, "teacher": {"return_mean": setup.returns[0]}}
        else:
            r = finetune.run(cfg, plot=False)
    return {"task": task, "config": config, "seed": seed, "algo": r["algo"], "steps": steps,
            "teacher_return": r["teacher"]["return_mean"],
            **{k: r[k] for k in ("start_normalized_score", "lowest_normalized_score",
                                 "lowest_over_start", "normalized_score", "final_return_mean",
                                 "train_wall_s", "curve")}}


def cmd_run(args: argparse.Namespace) -> None:
    done = {(r["task"], r["config"], r["seed"]) for r in _rows()}
    tasks = args.tasks.split(",")
    for t in tasks:
        student(t)
    todo = [(t, c, s) for t in tasks for c in args.configs.split(",")
            for s in range(args.seeds) if (t, c, s) not in done]
    print(f"{len(todo)} runs", flush=True)
    ROWS.parent.mkdir(exist_ok=True)
    with ProcessPoolExecutor(args.jobs, max_tasks_per_child=1) as pool:
        futures = {pool.submit(run_one, *job): job for job in todo}
        for f, job in futures.items():
            row = f.result()
            with ROWS.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(job, row["start_normalized_score"], row["lowest_normalized_score"],
                  row["normalized_score"], flush=True)


def _rows() -> list[dict]:
    return [json.loads(ln) for ln in ROWS.read_text().splitlines()] if ROWS.exists() else []


def cmd_table(args: argparse.Namespace) -> None:
    import numpy as np

    groups: dict[tuple[str, str], list[dict]] = {}
    for r in _rows():
        groups.setdefault((r["task"], r["config"]), []).append(r)
    print("| task | config | seeds | start | lowest | lowest / start (worst seed) | final |")
    print("|---|---|---|---|---|---|---|")
    for (task, config), rows in sorted(groups.items()):
        m = {k: float(np.mean([r[k] for r in rows])) for k in
             ("start_normalized_score", "lowest_normalized_score", "normalized_score")}
        worst = min(r["lowest_normalized_score"] / r["start_normalized_score"] for r in rows)
        print(f"| {task} ({rows[0]['algo']}, {rows[0]['steps']} steps) | {config} | {len(rows)} "
              f"| {m['start_normalized_score']:.3f} | {m['lowest_normalized_score']:.3f} | "
              f"{worst:.3f} | {m['normalized_score']:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--tasks", default="ll-ppo,pendulum-sac,ll-dqn")
    r.add_argument("--configs", default="finetune,plain")
    r.add_argument("--seeds", type=int, default=3)
    r.add_argument("--jobs", type=int, default=2)
    r.set_defaults(func=cmd_run)
    sub.add_parser("table").set_defaults(func=cmd_table)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
