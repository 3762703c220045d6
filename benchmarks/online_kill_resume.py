"""Online distillation killed (SIGKILL) at random moments and resumed: how far from an
uninterrupted run does the student end?

    .venv/bin/python benchmarks/online_kill_resume.py --kills 10 --out benchmarks/measured/engine

Two uninterrupted runs (is the run itself deterministic?), then ``--kills`` runs, each killed
once at a random moment after its first checkpoint and resumed with ``--out DIR --resume`` alone.
Per run: the student's weights sha256, normalized score, return and agreement (100 episodes),
the teacher step it was killed at. Writes ``online_kill_resume.json`` and prints a summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARGS = ["distill", "--teacher-train", "ppo", "--env", "CartPole-v1", "--teacher-steps", "60000",
        "--param-ratio", "0.25", "--budget", "10000", "--seed", "0", "--eval-episodes", "100"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "rldistill.cli", *args]


def digest(out: Path) -> str:
    return hashlib.sha256((out / "student.safetensors").read_bytes()).hexdigest()


def summary(out: Path, **extra: object) -> dict:
    r = json.loads((out / "result.json").read_text())
    return {"sha256": digest(out), "normalized_score": r["normalized_score"],
            "student_return": r["student"]["return_mean"],
            "teacher_return": r["teacher"]["return_mean"], "agreement": r["agreement"],
            "final_teacher_steps": r["curves"][-1]["teacher_steps"], **extra}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--out", default="benchmarks/measured/engine")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    tmp = Path(tempfile.mkdtemp(prefix="online-kill-"))
    rows: dict[str, list[dict]] = {"uninterrupted": [], "killed": []}
    walls = []
    for i in range(2):
        out = tmp / f"ref{i}"
        t0 = time.perf_counter()
        subprocess.run(cli(*ARGS, "--out", str(out)), check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
        rows["uninterrupted"].append(summary(out, wall_s=round(walls[-1], 1)))
        print("uninterrupted", rows["uninterrupted"][-1], flush=True)
    for i in range(a.kills):
        out = tmp / f"k{i}"
        proc = subprocess.Popen(cli(*ARGS, "--out", str(out)), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        while not (out / "checkpoint.safetensors").exists() and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(rnd.uniform(0.0, 0.8 * statistics.mean(walls)))
        killed = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        from rldistill.engine.checkpoint import load_checkpoint

        state = load_checkpoint(out / "checkpoint.safetensors")[1]
        at = state["online"]["counters"]["num_timesteps"]
        if (out / "result.json").exists():
            (out / "result.json").unlink()
        done = subprocess.run(cli("distill", "--out", str(out), "--resume"),
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        rows["killed"].append(summary(out, killed_before_end=killed, resumed_from_round=
                                      state["round"], resumed_from_teacher_step=at))
        print("killed", rows["killed"][-1], flush=True)
    ref = rows["uninterrupted"][0]
    scores = [r["normalized_score"] for r in rows["killed"]]
    doc = {"command": "rldistill " + " ".join(ARGS), "rows": rows,
           "uninterrupted_identical": len({r["sha256"] for r in rows["uninterrupted"]}) == 1,
           "killed_identical_to_uninterrupted": sum(r["sha256"] == ref["sha256"]
                                                    for r in rows["killed"]),
           "killed_normalized_mean": round(statistics.mean(scores), 4),
           "killed_normalized_min": min(scores), "killed_normalized_max": max(scores),
           "uninterrupted_normalized": [r["normalized_score"] for r in rows["uninterrupted"]]}
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "online_kill_resume.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: v for k, v in doc.items() if k != "rows"}))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
